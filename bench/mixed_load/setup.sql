-- bench/mixed_load/setup.sql: data and the step function of the mixed-load
-- run (bench/mixed_load.sh).  :companies companies, each with 300 customers,
-- 3,000 sales, six criteria segments (numbers 2-7), two manual segments
-- (8, 9) and three channels whose mixes use the criteria segments.
--
-- mixed_step(kind, company number) performs one write of the given kind on a
-- random row of that company and returns NULL, or the SQLSTATE of the error
-- it caught; every caught error is also logged in mixed_errors, so a run
-- keeps going whatever a write meets (pgbench would end a client instead).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segext;
SET search_path = public, segext;
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET search_path = public, segext;

CREATE TABLE mixed_companies (n int PRIMARY KEY, id segext.objectid NOT NULL);
CREATE UNLOGGED TABLE mixed_errors (
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind text NOT NULL,
    sqlstate text NOT NULL,
    message text NOT NULL,
    detail text,
    context text);

INSERT INTO mixed_companies (n, id)
SELECT g, segext.create_company('mixed ' || g, max_segments => 40, max_channels => 10)
FROM generate_series(1, :companies) AS g;

INSERT INTO segext.segments (company_id, number, name, criteria)
SELECT c.id, s.number, s.name, s.criteria::segext.criteria
FROM mixed_companies AS c
CROSS JOIN (VALUES
    (2, 'crit-2', '[{"type": "transaction_count", "min": 12, "max": 1000}]'),
    (3, 'crit-3', '[{"type": "transaction_amount", "fromAmount": 1000, "toAmount": 100000}]'),
    (4, 'crit-4', '[{"type": "bought_in_pos", "posIds": ["pos-1"]}]'),
    (5, 'crit-5', '[{"type": "average_transaction_amount", "fromAmount": 0, "toAmount": 95}]'),
    (6, 'crit-6', '[{"type": "transaction_percent_in_pos", "posId": "pos-2", "percent": 0.4}]'),
    (7, 'crit-7', '[{"criteria": [{"type": "transaction_count", "min": 0, "max": 8}]}, {"criteria": [{"type": "bought_in_pos", "posIds": ["pos-3"]}]}]'),
    (8, 'manual-8', NULL),
    (9, 'manual-9', NULL)) AS s(number, name, criteria);

INSERT INTO segext.customers (company_id, external_id, first_name, last_name, active)
SELECT c.id, 'c-' || g, 'first ' || g, 'last ' || g, g % 10 <> 0
FROM mixed_companies AS c CROSS JOIN generate_series(1, 300) AS g;

INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id, occurred_at)
SELECT cu.company_id, cu.id, (1 + (g * 37 + length(cu.external_id) * 11) % 200)::numeric(14,2),
       'pos-' || (1 + g % 3), now() - (g || ' hours')::interval
FROM segext.customers AS cu CROSS JOIN generate_series(1, 10) AS g
WHERE cu.company_id IN (SELECT id FROM mixed_companies);

INSERT INTO segext.channels (company_id, name, commission)
SELECT c.id, 'channel-' || g, 0.1 FROM mixed_companies AS c CROSS JOIN generate_series(1, 3) AS g;

SELECT segext.refresh_company(id) FROM mixed_companies \g /dev/null
ANALYZE;

-- mixed_segment returns the id of a random segment of a company whose name
-- begins with prefix.
CREATE FUNCTION mixed_segment(company segext.objectid, prefix text) RETURNS segext.objectid
LANGUAGE sql AS $$
    SELECT s.id FROM segext.segments AS s
    WHERE s.company_id OPERATOR(pg_catalog.=) company AND s.name LIKE prefix || '%'
    ORDER BY random() LIMIT 1
$$;

-- mixed_customer returns the id of a random customer of a company.
CREATE FUNCTION mixed_customer(company segext.objectid) RETURNS segext.objectid
LANGUAGE sql AS $$
    SELECT cu.id FROM segext.customers AS cu
    WHERE cu.company_id OPERATOR(pg_catalog.=) company
      AND cu.external_id = (SELECT 'c-' || (1 + floor(random() * 300))::int)
$$;

CREATE FUNCTION mixed_step(kind text, c int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    company segext.objectid := (SELECT m.id FROM mixed_companies AS m WHERE m.n = c);
    -- the random rows are picked before the write: a volatile function in
    -- its WHERE clause would be evaluated once per row and pick several
    seg segext.objectid;
    cust segext.objectid := mixed_customer(company);
    a segext.objectid;
    b segext.objectid;
    sale record;
BEGIN
    -- the mix rules run at the end of each statement, inside the block
    SET CONSTRAINTS ALL IMMEDIATE;
    CASE kind
    WHEN 'sale' THEN
        INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id)
        VALUES (company, cust, (1 + floor(random() * 200))::numeric(14,2),
                'pos-' || (1 + floor(random() * 3))::int);
    WHEN 'return' THEN
        SELECT t.id, t.customer_id, t.amount - t.returned_amount AS left_amount INTO sale
        FROM segext.transactions AS t
        WHERE t.company_id OPERATOR(pg_catalog.=) company AND t.customer_id OPERATOR(pg_catalog.=) cust
          AND t.returns_id IS NULL AND t.returned_amount < t.amount
        LIMIT 1;
        IF FOUND THEN
            INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
            VALUES (company, sale.customer_id, -least(sale.left_amount, 10), sale.id);
        END IF;
    WHEN 'customer_update' THEN
        UPDATE segext.customers SET last_name = md5(random()::text),
               labels = jsonb_build_array(jsonb_build_object('key', 'tier', 'value', (floor(random() * 3))::text))
        WHERE company_id OPERATOR(pg_catalog.=) company AND id OPERATOR(pg_catalog.=) cust;
    WHEN 'customer_active' THEN
        UPDATE segext.customers SET active = random() < 0.8
        WHERE company_id OPERATOR(pg_catalog.=) company AND id OPERATOR(pg_catalog.=) cust;
    WHEN 'activate' THEN
        PERFORM segext.activate_segment(mixed_segment(company, 'crit-'));
    WHEN 'deactivate' THEN
        PERFORM segext.deactivate_segment(mixed_segment(company, 'crit-'));
    WHEN 'add_members' THEN
        PERFORM segext.add_segment_members(mixed_segment(company, 'manual-'),
            ARRAY[mixed_customer(company), mixed_customer(company), mixed_customer(company)]);
    WHEN 'remove_members' THEN
        PERFORM segext.remove_segment_members(mixed_segment(company, 'manual-'),
            ARRAY[mixed_customer(company), mixed_customer(company), mixed_customer(company)]);
    WHEN 'refresh_segment' THEN
        PERFORM segext.refresh_segment(mixed_segment(company, CASE WHEN random() < 0.7 THEN 'crit-' ELSE 'manual-' END));
    WHEN 'refresh_company' THEN
        PERFORM segext.refresh_company(company);
    WHEN 'reorder' THEN
        PERFORM segext.reorder_segments(company, (SELECT array_agg(n ORDER BY random()) FROM generate_series(2, 9) AS n));
    WHEN 'segment_create' THEN
        INSERT INTO segext.segments (company_id, name, criteria)
        VALUES (company, 'tmp-' || md5(random()::text),
                '[{"type": "transaction_amount", "fromAmount": 500, "toAmount": 100000}]');
    WHEN 'segment_delete' THEN
        seg := mixed_segment(company, 'tmp-');
        DELETE FROM segext.segments
        WHERE company_id OPERATOR(pg_catalog.=) company AND id OPERATOR(pg_catalog.=) seg;
    WHEN 'channel_mix' THEN
        a := mixed_segment(company, 'crit-');
        b := mixed_segment(company, 'manual-');
        UPDATE segext.channels
        SET segment_mix = jsonb_build_array(jsonb_build_object('segment_id', a, 'distribution', 0.5),
                                            jsonb_build_object('segment_id', b, 'distribution', 0.5))
        WHERE company_id OPERATOR(pg_catalog.=) company
          AND name = (SELECT 'channel-' || (1 + floor(random() * 3))::int);
    ELSE
        RAISE EXCEPTION 'unknown step %', kind;
    END CASE;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    DECLARE
        detail text;
        context text;
    BEGIN
        GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, context = PG_EXCEPTION_CONTEXT;
        INSERT INTO mixed_errors (kind, sqlstate, message, detail, context)
        VALUES (kind, SQLSTATE, SQLERRM, detail, context);
        RETURN SQLSTATE;
    END;
END
$$;
