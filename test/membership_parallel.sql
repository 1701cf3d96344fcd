-- membership figures aggregated by parallel workers: segext.customer_facts
-- is planned as a Partial/Finalize HashAggregate when parallel plans are
-- cheap, its combined states equal the serial ones byte for byte, and
-- segment_members and refresh_company give the same members with parallel
-- workers as without.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(11);

SELECT segext.create_company('membership parallel') AS c \gset
INSERT INTO segext.customers (company_id, id, first_name, active)
SELECT :'c', segext.objectid_from_time(pg_catalog.to_timestamp(1700000000 + i)), 'c' || i, i % 10 <> 0
FROM pg_catalog.generate_series(1, 40) AS i;
CREATE TEMP TABLE ids AS
SELECT row_number() OVER (ORDER BY id) AS n, id FROM segext.customers WHERE company_id = :'c';
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
SELECT :'c', ids.id, TIMESTAMPTZ '2024-01-01' + (g * 7 % 900) * INTERVAL '1 day', 1 + g % 97,
       'POS-' || (g % 5),
       pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('sku', 'SKU-' || (g % 300), 'maker', 'Maker-' || (g % 40),
           'labels', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('key', 'color', 'value', CASE WHEN g % 11 = 0 THEN 'red' ELSE 'blue' END))))
FROM pg_catalog.generate_series(1, 4000) AS g JOIN ids ON ids.n = 1 + (g * 13) % 40;
-- full returns of some sales, partial of others
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
SELECT t.company_id, t.customer_id, CASE WHEN t.amount::int % 2 = 0 THEN -t.amount ELSE -1 END, t.id
FROM segext.transactions AS t WHERE t.company_id = :'c' AND t.returns_id IS NULL AND t.amount::int % 7 = 0;
ANALYZE segext.transactions;

INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'count', '[{"type": "transaction_count", "min": 90, "max": 94}]'),
    (:'c', 'amount', '[{"type": "transaction_amount", "fromAmount": 4300, "toAmount": 4600}]'),
    (:'c', 'average', '[{"type": "average_transaction_amount", "fromAmount": 48, "toAmount": 50}]'),
    (:'c', 'pos', '[{"type": "transaction_percent_in_pos", "posId": "POS-3", "percent": 0.21}]'),
    (:'c', 'sku', '[{"type": "bought_skus", "skuIds": ["sku-7", "SKU-11"]}]'),
    (:'c', 'maker and red', '[{"criteria": [{"type": "bought_makers", "makers": ["maker-3", "maker-4"]}]}, {"criteria": [{"type": "bought_labels", "labels": [{"key": "color", "value": "red"}]}]}]'),
    (:'c', 'period', '[{"type": "purchase_period", "fromDate": "2024-03-01", "toDate": "2024-03-05"}]'),
    (:'c', 'recent', '[{"type": "last_purchase_n_days_before", "days": 700}]');

CREATE TEMP TABLE facts_args AS
SELECT pg_catalog.array_agg(s.criteria ORDER BY s.number) AS crit FROM segext.segments AS s
WHERE s.company_id = :'c' AND s.criteria IS NOT NULL;
SELECT crit FROM facts_args \gset
\set facts_query 'SELECT t.customer_id, segext.customer_facts(' :'crit' '::segext.criteria[], TIMESTAMPTZ ''2026-01-01'', t.amount, t.returned_amount, t.returns_id IS NULL, t.occurred_at, t.pos_id, t.item_skus, t.item_makers, t.item_labels) FROM segext.transactions AS t GROUP BY t.customer_id'

\ir helpers/plan_of.sql
CREATE FUNCTION pg_temp.members() RETURNS TABLE (segment pg_catalog.text, customer segext.objectid) LANGUAGE sql AS $$
    SELECT s.name, m.customer_id FROM segext.segments AS s CROSS JOIN LATERAL segext.segment_members(s.id) AS m
    WHERE s.company_id OPERATOR(segext.=) (SELECT id FROM segext.companies WHERE name = 'membership parallel') $$;
CREATE FUNCTION pg_temp.stored() RETURNS TABLE (segment pg_catalog.text, customer segext.objectid) LANGUAGE sql AS $$
    SELECT s.name, m.customer_id FROM segext.segments AS s JOIN segext.memberships AS m
        ON m.company_id OPERATOR(segext.=) s.company_id AND m.segment_id OPERATOR(segext.=) s.id
    WHERE s.company_id OPERATOR(segext.=) (SELECT id FROM segext.companies WHERE name = 'membership parallel') $$;

-- serial first
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_facts AS :facts_query;
CREATE TEMP TABLE serial_members AS SELECT * FROM pg_temp.members();
SELECT ok(segext.refresh_company(:'c') > 0, 'serial refresh stores members');
CREATE TEMP TABLE serial_stored AS SELECT * FROM pg_temp.stored();
SELECT ok((SELECT count(DISTINCT segment) FROM serial_members WHERE segment NOT IN ('All', 'Default')) >= 6,
          'most test segments have members (the comparison below is not vacuous)');

-- then with parallel plans made cheap
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL parallel_leader_participation = off;
SELECT matches(pg_temp.plan_of(:'facts_query'), 'Partial (Hash|Group)Aggregate',
               'customer_facts is planned as a partial aggregate');
SELECT matches(pg_temp.plan_of(:'facts_query'), 'Finalize (Hash|Group)Aggregate',
               'partial states are combined by a Finalize aggregate');
SELECT set_eq(:'facts_query', 'SELECT * FROM serial_facts',
              'combined states equal the serial states byte for byte');
SELECT pg_catalog.current_setting('jit') AS jit_before \gset
SELECT set_eq('SELECT * FROM pg_temp.members()', 'SELECT * FROM serial_members',
              'segment_members gives the same members with parallel workers');
-- it plans its semi-joins with settings of its own, for the call only
SELECT is(ARRAY[pg_catalog.current_setting('jit'), pg_catalog.current_setting('enable_hashagg'),
                pg_catalog.current_setting('parallel_tuple_cost')],
          ARRAY[:'jit_before', 'on', '0'],
          'segment_members leaves the session''s jit, enable_hashagg and parallel_tuple_cost as they were');
-- the count segment's own setting (parallel_tuple_cost 0) ends with the call too
SET LOCAL parallel_tuple_cost = 0.5;
SELECT pg_catalog.count(*) AS count_members FROM segext.segment_members(
    (SELECT id FROM segext.segments WHERE company_id = :'c' AND name = 'count')) \gset
SELECT is(pg_catalog.current_setting('parallel_tuple_cost'), '0.5',
          'segment_members of a count segment leaves the session''s parallel_tuple_cost as it was');
SET LOCAL parallel_tuple_cost = 0;
DELETE FROM segext.memberships WHERE company_id = :'c';
SELECT ok(segext.refresh_company(:'c') > 0, 'parallel refresh stores members again');
SELECT set_eq('SELECT * FROM pg_temp.stored()', 'SELECT * FROM serial_stored',
              'refresh_company stores the same members with parallel workers');
SELECT throws_ok($$SELECT segext.customer_facts_combine('\x00'::bytea, '\x00'::bytea)$$, '0A000', NULL,
                 'the support functions refuse to run outside an aggregate');

SELECT * FROM finish();
ROLLBACK;
