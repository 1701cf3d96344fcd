-- bench/handwritten.sql: the best single query a competent user would write
-- to compute the 20 segments of bench/segments.sql: every per-customer
-- figure in ONE GROUP BY pass over the company's transactions (aggregates
-- with FILTER), joined to the active customers, emitting (segment number,
-- customer id) for each segment a customer belongs to: every condition is
-- evaluated once per customer into one array of segment numbers (unnest),
-- and anniversaries compare the customer's 'MMDD' with the few 'MMDD' keys
-- of the days in the window (computed once; 29 February matches 28
-- February in common years), with no per-customer subquery.  Same counting rules
-- as segext: a sale counts unless fully returned, returns subtract from the
-- amount, the amount is floored at 0, "today" is the session's.
WITH t AS (
    SELECT x.customer_id,
           pg_catalog.count(*) FILTER (WHERE x.counted) AS cnt,
           pg_catalog.sum(x.amount) AS amount,
           pg_catalog.count(*) FILTER (WHERE x.counted AND x.pos_id = 'POS-007') AS pos007,
           pg_catalog.count(*) FILTER (WHERE x.counted AND x.pos_id = 'POS-001') AS pos001,
           pg_catalog.count(*) FILTER (WHERE x.counted AND x.pos_id IN ('POS-002', 'POS-003')) AS pos002_003,
           pg_catalog.count(*) FILTER (WHERE x.counted AND x.item_skus && '{sku-00042,sku-01234}') AS sku42,
           pg_catalog.count(*) FILTER (WHERE x.counted AND x.item_makers && '{maker-017}') AS maker17,
           pg_catalog.count(*) FILTER (WHERE x.counted AND x.item_labels && ARRAY['color' || pg_catalog.chr(31) || 'red']) AS red,
           pg_catalog.count(*) FILTER (WHERE x.counted AND (x.item_skus && '{sku-00100}' OR x.item_makers && '{maker-100}')) AS fan100,
           pg_catalog.max(x.occurred_at) FILTER (WHERE x.counted AND x.occurred_at <= pg_catalog.now()) AS last_purchase,
           pg_catalog.count(*) FILTER (WHERE x.counted AND x.occurred_at >= DATE '2025-12-01' AND x.occurred_at < DATE '2026-01-01') AS dec2025,
           pg_catalog.count(*) FILTER (WHERE x.counted AND x.occurred_at >= DATE '2024-01-01' AND x.occurred_at < DATE '2025-01-01') AS y2024
    FROM (SELECT tr.customer_id, tr.amount, tr.pos_id, tr.occurred_at, tr.item_skus, tr.item_makers, tr.item_labels,
                 tr.returns_id IS NULL AND tr.returned_amount < tr.amount AS counted
          FROM segext.transactions AS tr
          WHERE tr.company_id = '65000000000000000000b001') AS x
    GROUP BY x.customer_id
), f AS (
    SELECT c.id,
           COALESCE(t.cnt, 0) AS cnt,
           GREATEST(COALESCE(t.amount, 0), 0) AS amount,
           COALESCE(t.pos007, 0) AS pos007, COALESCE(t.pos001, 0) AS pos001,
           COALESCE(t.pos002_003, 0) AS pos002_003, COALESCE(t.sku42, 0) AS sku42,
           COALESCE(t.maker17, 0) AS maker17, COALESCE(t.red, 0) AS red,
           COALESCE(t.fan100, 0) AS fan100, t.last_purchase,
           COALESCE(t.dec2025, 0) AS dec2025, COALESCE(t.y2024, 0) AS y2024,
           c.birth_date, c.registered_at::date AS registered, c.labels
    FROM segext.customers AS c LEFT JOIN t ON t.customer_id = c.id
    WHERE c.company_id = '65000000000000000000b001' AND c.active
), keys AS (
    -- the 'MMDD' of every day in a window starting today; a 28 February
    -- followed by 1 March (a common year) also stands for 29 February
    SELECT w.days, pg_catalog.array_agg(k.k) AS keys
    FROM (VALUES (7), (30)) AS w(days)
    CROSS JOIN LATERAL pg_catalog.generate_series(0, w.days - 1) AS g(i)
    CROSS JOIN LATERAL (VALUES (pg_catalog.to_char(CURRENT_DATE + g.i, 'MMDD')),
                               (CASE WHEN pg_catalog.to_char(CURRENT_DATE + g.i, 'MMDD') = '0228'
                                      AND pg_catalog.to_char(CURRENT_DATE + g.i + 1, 'MMDD') = '0301' THEN '0229' END)) AS k(k)
    WHERE k.k IS NOT NULL
    GROUP BY w.days
), a AS (
    SELECT f.id, ARRAY[
        CASE WHEN f.cnt BETWEEN 1 AND 5 THEN 2 END,
        CASE WHEN f.cnt BETWEEN 20 AND 100000 THEN 3 END,
        CASE WHEN f.amount BETWEEN 2000 AND 5000 THEN 4 END,
        CASE WHEN f.cnt > 0 AND f.amount >= 180 * f.cnt AND f.amount <= 220 * f.cnt THEN 5 END,
        CASE WHEN f.pos007 > 0 THEN 6 END,
        CASE WHEN f.sku42 > 0 THEN 7 END,
        CASE WHEN f.maker17 > 0 THEN 8 END,
        CASE WHEN f.red > 0 THEN 9 END,
        CASE WHEN f.last_purchase >= CURRENT_DATE - 30 THEN 10 END,
        CASE WHEN f.dec2025 > 0 THEN 11 END,
        CASE WHEN f.cnt > 0 AND f.pos001 >= 0.3 * f.cnt THEN 12 END,
        CASE WHEN pg_catalog.to_char(f.birth_date, 'MMDD') = ANY (b.keys) THEN 13 END,
        CASE WHEN pg_catalog.to_char(f.registered, 'MMDD') = ANY (r.keys) THEN 14 END,
        CASE WHEN EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(f.labels) AS l(v) WHERE pg_catalog.lower(l.v ->> 'key') = 'tier') THEN 15 END,
        CASE WHEN EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(f.labels) AS l(v)
                          WHERE pg_catalog.lower(l.v ->> 'key') = 'region' AND pg_catalog.lower(l.v ->> 'value') = 'north') THEN 16 END,
        CASE WHEN f.id = ANY ('{650000000100000000000001,650000000100000000000064,6500000001000000000003e8,650000000100000000002710,6500000001000000000186a0}'::segext.objectid[]) THEN 17 END,
        CASE WHEN f.cnt >= 5 AND f.pos002_003 > 0 THEN 18 END,
        CASE WHEN f.amount >= 2500 AND f.last_purchase >= CURRENT_DATE - 90 THEN 19 END,
        CASE WHEN f.fan100 > 0 AND EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(f.labels) AS l(v) WHERE pg_catalog.lower(l.v ->> 'key') = 'source') THEN 20 END,
        CASE WHEN f.y2024 > 0 AND f.amount >= 100 * f.cnt AND f.amount <= 200 * f.cnt THEN 21 END] AS numbers
    FROM f, keys AS b, keys AS r
    WHERE b.days = 7 AND r.days = 30
)
SELECT s.number, a.id
FROM a CROSS JOIN LATERAL pg_catalog.unnest(a.numbers) AS s(number)
WHERE s.number IS NOT NULL
