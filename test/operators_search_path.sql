-- objectid and criteria compare, and objectid filters use the indexes, in a
-- session whose search_path is "$user", public (segext's operators live in
-- pg_catalog, which every session searches).
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = "$user", public;
SELECT plan(9);

SELECT segext.create_company('paste') AS c \gset
INSERT INTO segext.customers (company_id, first_name)
SELECT :'c', 'customer ' || g FROM pg_catalog.generate_series(1, 300) AS g;
ANALYZE segext.customers;

SELECT ok('650000000000000000000001'::segext.objectid < '650000000000000000000002'::segext.objectid,
          'objectid < with segext off the search_path');
SELECT ok('650000000000000000000001'::segext.objectid = '650000000000000000000001',
          'objectid = an unknown literal');
SELECT ok('650000000000000000000001'::segext.objectid <> '650000000000000000000002',
          'objectid <>');
SELECT is((SELECT count(*) FROM segext.customers
            WHERE company_id = :'c' AND id >= segext.objectid_from_time(pg_catalog.now() - interval '1 day')),
          300::bigint, 'WHERE id >= segext.objectid_from_time(...) as in the README');
SELECT is((SELECT count(*) FROM segext.customers WHERE company_id = :'c' AND id BETWEEN
             segext.objectid_from_time(pg_catalog.now() - interval '1 day') AND segext.objectid_from_time(pg_catalog.now() + interval '1 day')),
          300::bigint, 'BETWEEN');
SELECT ok('[{"type": "transaction_count", "min": 1, "max": 5}]'::segext.criteria = '[{"max": 5, "min": 1, "type": "transaction_count"}]',
          'criteria =');
SELECT ok('[{"type": "transaction_count", "min": 1, "max": 5}]'::segext.criteria <> '[{"type": "transaction_count", "min": 2, "max": 5}]',
          'criteria <>');

-- The filter is an index condition, not a filter over every row.
SET LOCAL enable_seqscan = off;
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END
$$;
CREATE TABLE public.paste_t (id segext.objectid PRIMARY KEY DEFAULT segext.objectid_generate(), note text);
INSERT INTO public.paste_t (note) SELECT 'n' || g FROM pg_catalog.generate_series(1, 500) AS g;
ANALYZE public.paste_t;
SELECT matches(pg_temp.plan_of('SELECT * FROM paste_t WHERE id >= segext.objectid_from_time(''2026-01-01'')'),
    'Index Cond: \(id >= ', 'WHERE id >= objectid_from_time(...) is an index condition');
SELECT matches(pg_temp.plan_of('SELECT * FROM paste_t ORDER BY id LIMIT 5'),
    'Index Scan using paste_t_pkey', 'ORDER BY id reads the primary key');

SELECT * FROM finish();
ROLLBACK;
