-- bench/handwritten.sql: the best single query a competent user would write
-- to compute the 20 segments of bench/segments.sql: every per-customer
-- figure in ONE GROUP BY pass over the company's transactions (aggregates
-- with FILTER), joined to the active customers, emitting (segment number,
-- customer id) for each segment a customer belongs to.  Same counting rules
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
), a AS (
    -- next birthday / registration anniversary on or after today (29 Feb -> 28 Feb in common years)
    SELECT f.*, y.y,
           (SELECT pg_catalog.min(d) FROM (VALUES
               (pg_catalog.make_date(y.y, pg_catalog.date_part('month', f.birth_date)::int,
                    CASE WHEN pg_catalog.to_char(f.birth_date, 'MMDD') = '0229' AND NOT (y.y % 4 = 0 AND (y.y % 100 <> 0 OR y.y % 400 = 0)) THEN 28 ELSE pg_catalog.date_part('day', f.birth_date)::int END)),
               (pg_catalog.make_date(y.y + 1, pg_catalog.date_part('month', f.birth_date)::int,
                    CASE WHEN pg_catalog.to_char(f.birth_date, 'MMDD') = '0229' AND NOT ((y.y + 1) % 4 = 0 AND ((y.y + 1) % 100 <> 0 OR (y.y + 1) % 400 = 0)) THEN 28 ELSE pg_catalog.date_part('day', f.birth_date)::int END))) AS v(d)
            WHERE d >= CURRENT_DATE) AS next_birthday,
           (SELECT pg_catalog.min(d) FROM (VALUES
               (pg_catalog.make_date(y.y, pg_catalog.date_part('month', f.registered)::int,
                    CASE WHEN pg_catalog.to_char(f.registered, 'MMDD') = '0229' AND NOT (y.y % 4 = 0 AND (y.y % 100 <> 0 OR y.y % 400 = 0)) THEN 28 ELSE pg_catalog.date_part('day', f.registered)::int END)),
               (pg_catalog.make_date(y.y + 1, pg_catalog.date_part('month', f.registered)::int,
                    CASE WHEN pg_catalog.to_char(f.registered, 'MMDD') = '0229' AND NOT ((y.y + 1) % 4 = 0 AND ((y.y + 1) % 100 <> 0 OR (y.y + 1) % 400 = 0)) THEN 28 ELSE pg_catalog.date_part('day', f.registered)::int END))) AS v(d)
            WHERE d >= CURRENT_DATE) AS next_registration
    FROM f, (SELECT pg_catalog.date_part('year', CURRENT_DATE)::int AS y) AS y
)
SELECT s.number, a.id
FROM a CROSS JOIN LATERAL (VALUES
    (2, a.cnt BETWEEN 1 AND 5),
    (3, a.cnt BETWEEN 20 AND 100000),
    (4, a.amount BETWEEN 2000 AND 5000),
    (5, a.cnt > 0 AND a.amount >= 180 * a.cnt AND a.amount <= 220 * a.cnt),
    (6, a.pos007 > 0),
    (7, a.sku42 > 0),
    (8, a.maker17 > 0),
    (9, a.red > 0),
    (10, a.last_purchase >= CURRENT_DATE - 30),
    (11, a.dec2025 > 0),
    (12, a.cnt > 0 AND a.pos001 >= 0.3 * a.cnt),
    (13, a.next_birthday < CURRENT_DATE + 7),
    (14, a.next_registration < CURRENT_DATE + 30),
    (15, EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(a.labels) AS l(v) WHERE pg_catalog.lower(l.v ->> 'key') = 'tier')),
    (16, EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(a.labels) AS l(v)
                 WHERE pg_catalog.lower(l.v ->> 'key') = 'region' AND pg_catalog.lower(l.v ->> 'value') = 'north')),
    (17, a.id = ANY ('{650000000100000000000001,650000000100000000000064,6500000001000000000003e8,650000000100000000002710,6500000001000000000186a0}'::segext.objectid[])),
    (18, a.cnt >= 5 AND a.pos002_003 > 0),
    (19, a.amount >= 2500 AND a.last_purchase >= CURRENT_DATE - 90),
    (20, a.fan100 > 0 AND EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(a.labels) AS l(v) WHERE pg_catalog.lower(l.v ->> 'key') = 'source')),
    (21, a.y2024 > 0 AND a.amount >= 100 * a.cnt AND a.amount <= 200 * a.cnt)
) AS s(number, ok)
WHERE s.ok
