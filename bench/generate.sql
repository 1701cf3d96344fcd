-- bench/generate.sql: reproducible benchmark data for one company.
--   psql -v customers=1000000 -v transactions=10000000 -f bench/generate.sql
-- Defaults: 1M customers, 10M transactions (about 2.5% of them returns,
-- half of those returning the whole sale).  Set-based SQL with setseed, so
-- the same scale gives the same rows.  Triggers are bypassed for the bulk
-- load (session_replication_role = replica); the derived columns the triggers
-- keep (item_skus, item_makers, item_labels, returned_amount) are computed
-- here with the same rules, and checked against the trigger at the end.
\set ON_ERROR_STOP 1
\if :{?customers}
\else
\set customers 1000000
\endif
\if :{?transactions}
\else
\set transactions 10000000
\endif
\timing on
SET maintenance_work_mem = '512MB';
SET work_mem = '256MB';
SET synchronous_commit = off;
SET gin_pending_list_limit = '256MB';

DELETE FROM segext.companies WHERE id OPERATOR(pg_catalog.=) '65000000000000000000b001'::segext.objectid;
INSERT INTO segext.companies (id, name, max_segments) VALUES ('65000000000000000000b001', 'bench', 100);

SET session_replication_role = replica;
SELECT pg_catalog.setseed(0.42);

-- Customers: 95% active, 30% with labels, birth dates over 60 years
-- (29 February included), registration over 5 years.
INSERT INTO segext.customers (company_id, id, external_id, first_name, last_name, email, phone,
                              birth_date, registered_at, active, labels, attributes)
SELECT '65000000000000000000b001',
       ('\x6500000001'::bytea || pg_catalog.substr(pg_catalog.int8send(i), 2))::segext.objectid,
       'c' || i,
       (ARRAY['Anna','Ben','Carla','David','Emma','Felix','Greta','Hugo','Ida','Jonas','Klara','Leo','Mia','Noah','Olga','Paul'])[1 + (i % 16)],
       (ARRAY['Smith','Jones','Brown','Miller','Davis','Garcia','Wilson','Moore','Taylor','Thomas','White','Harris','Martin','Lee'])[1 + ((i / 16) % 14)],
       'user' || i || '@example.com',
       '+48' || (500000000 + i),
       CASE WHEN i % 500 = 0 THEN DATE '1992-02-29'
            WHEN i % 10 = 3 THEN NULL
            ELSE DATE '1950-01-01' + (r1 * 22000)::int END,
       TIMESTAMPTZ '2021-01-01' + r2 * INTERVAL '1826 days',
       i % 20 <> 0,
       CASE WHEN i % 10 < 3 THEN pg_catalog.jsonb_build_array(
                pg_catalog.jsonb_build_object('key', (ARRAY['tier','Tier','region','source'])[1 + (i % 4)],
                                              'value', (ARRAY['gold','Silver','north','web','App'])[1 + (i % 5)]))
            ELSE '[]'::jsonb END,
       pg_catalog.jsonb_build_object('score', i % 100)
FROM (SELECT i, pg_catalog.random() AS r1, pg_catalog.random() AS r2
      FROM pg_catalog.generate_series(1, :customers) AS i) AS g;

-- Baskets: 50000 item lists of 1-3 items (5000 SKUs, 200 makers, a colour
-- label each) with their derived arrays; every sale takes one of them.
CREATE TEMP TABLE bench_baskets AS
SELECT b, it.items, it.skus, it.makers, it.labels
FROM (SELECT b, 1 + (pg_catalog.random() * 2)::int AS nitems, (pg_catalog.random() * 4999)::int AS sku0
      FROM pg_catalog.generate_series(0, 49999) AS b) AS g
CROSS JOIN LATERAL (
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'sku', 'SKU-' || pg_catalog.lpad(((g.sku0 + k * 37) % 5000)::text, 5, '0'),
               'maker', 'Maker-' || pg_catalog.lpad((((g.sku0 + k * 37) % 5000) % 200)::text, 3, '0'),
               'labels', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                   'key', 'Color', 'value', (ARRAY['Red','Green','Blue','Black','White'])[1 + ((g.sku0 + k * 37) % 5)])),
               'quantity', 1 + k % 2, 'amount', 10 + k)) AS items,
           ARRAY(SELECT DISTINCT 'sku-' || pg_catalog.lpad(((g.sku0 + j * 37) % 5000)::text, 5, '0') COLLATE "C"
                 FROM pg_catalog.generate_series(0, g.nitems - 1) AS j ORDER BY 1) AS skus,
           ARRAY(SELECT DISTINCT 'maker-' || pg_catalog.lpad((((g.sku0 + j * 37) % 5000) % 200)::text, 3, '0') COLLATE "C"
                 FROM pg_catalog.generate_series(0, g.nitems - 1) AS j ORDER BY 1) AS makers,
           ARRAY(SELECT DISTINCT 'color' || pg_catalog.chr(31) || (ARRAY['red','green','blue','black','white'])[1 + ((g.sku0 + j * 37) % 5)] COLLATE "C"
                 FROM pg_catalog.generate_series(0, g.nitems - 1) AS j ORDER BY 1) AS labels
    FROM pg_catalog.generate_series(0, g.nitems - 1) AS k) AS it;
CREATE UNIQUE INDEX ON bench_baskets (b);

-- Sales: customers drawn from the first 90% (the last 10% never buy), so
-- some customers have 0 transactions; 50 POS; occurred over the last 3
-- years (1 in 5000 up to 30 days in the future); numbered (and so given
-- ids) in time order, as objectids are.
CREATE TEMP TABLE bench_sales AS
SELECT pg_catalog.row_number() OVER (ORDER BY occurred_at, cust) AS n, *
FROM (
SELECT 1 + (pg_catalog.random() * (:customers * 0.9 - 1))::int8 AS cust,
       pg_catalog.now() - pg_catalog.random() * INTERVAL '1095 days' + CASE WHEN g % 5000 = 0 THEN INTERVAL '30 days' ELSE INTERVAL '0' END AS occurred_at,
       (5 + pg_catalog.random() * 295)::numeric(14,2) AS amount,
       'POS-' || pg_catalog.lpad((1 + (pg_catalog.random() * 49)::int)::text, 3, '0') AS pos_id,
       (pg_catalog.random() * 49999)::int AS basket
FROM pg_catalog.generate_series(1, (:transactions * 0.975)::int8) AS g) AS r;

INSERT INTO segext.transactions (company_id, id, customer_id, occurred_at, amount, pos_id, items,
                                 item_skus, item_makers, item_labels)
SELECT '65000000000000000000b001',
       ('\x6600000001'::bytea || pg_catalog.substr(pg_catalog.int8send(s.n), 2))::segext.objectid,
       ('\x6500000001'::bytea || pg_catalog.substr(pg_catalog.int8send(s.cust), 2))::segext.objectid,
       s.occurred_at, s.amount, s.pos_id, k.items, k.skus, k.makers, k.labels
FROM bench_sales AS s JOIN bench_baskets AS k ON k.b = s.basket
ORDER BY s.n;

-- Returns: 1 sale in 39 is returned, every other one of them in full.
INSERT INTO segext.transactions (company_id, id, customer_id, occurred_at, amount, pos_id, returns_id)
SELECT '65000000000000000000b001',
       ('\x6700000001'::bytea || pg_catalog.substr(pg_catalog.int8send(s.n), 2))::segext.objectid,
       ('\x6500000001'::bytea || pg_catalog.substr(pg_catalog.int8send(s.cust), 2))::segext.objectid,
       s.occurred_at + INTERVAL '3 days',
       CASE WHEN s.n % 78 = 44 THEN -s.amount ELSE -pg_catalog.round(s.amount * 0.3, 2) END,
       s.pos_id,
       ('\x6600000001'::bytea || pg_catalog.substr(pg_catalog.int8send(s.n), 2))::segext.objectid
FROM bench_sales AS s
WHERE s.n % 39 = 5;

UPDATE segext.transactions AS t SET returned_amount = -r.amount
FROM segext.transactions AS r
WHERE r.company_id OPERATOR(pg_catalog.=) '65000000000000000000b001' AND r.returns_id IS NOT NULL
  AND t.company_id OPERATOR(pg_catalog.=) r.company_id AND t.id OPERATOR(pg_catalog.=) r.returns_id;

RESET session_replication_role;
DROP TABLE bench_sales, bench_baskets;
VACUUM (ANALYZE) segext.customers;
VACUUM (ANALYZE) segext.transactions;

-- The derived columns match what the triggers compute (sample of 1000 sales,
-- re-inserted through the trigger and removed again).
DO $$
DECLARE
    src record;
    got record;
    mismatches int := 0;
BEGIN
    FOR src IN SELECT * FROM segext.transactions
               WHERE company_id OPERATOR(pg_catalog.=) '65000000000000000000b001' AND returns_id IS NULL
               LIMIT 1000 LOOP
        INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
        VALUES (src.company_id, src.customer_id, src.occurred_at, src.amount, src.pos_id, src.items)
        RETURNING id, item_skus, item_makers, item_labels INTO got;
        IF (got.item_skus, got.item_makers, got.item_labels) IS DISTINCT FROM
           (src.item_skus, src.item_makers, src.item_labels) THEN
            mismatches := mismatches + 1;
        END IF;
        DELETE FROM segext.transactions
        WHERE company_id OPERATOR(pg_catalog.=) src.company_id AND id OPERATOR(pg_catalog.=) got.id;
    END LOOP;
    IF mismatches > 0 THEN
        RAISE EXCEPTION 'derived item arrays differ from the trigger for % rows', mismatches;
    END IF;
END $$;

SELECT pg_catalog.count(*) AS customers FROM segext.customers WHERE company_id OPERATOR(pg_catalog.=) '65000000000000000000b001';
SELECT pg_catalog.count(*) FILTER (WHERE returns_id IS NULL) AS sales,
       pg_catalog.count(*) FILTER (WHERE returns_id IS NOT NULL) AS returns,
       pg_catalog.count(*) FILTER (WHERE returns_id IS NULL AND returned_amount = amount) AS fully_returned
FROM segext.transactions WHERE company_id OPERATOR(pg_catalog.=) '65000000000000000000b001';
