-- test/citus/api_upsert_count.sql: PostgREST's PUT and its POST with
-- Prefer: resolution=merge-duplicates through the coordinator, as PostgREST
-- v12 sends them (the INSERT of test/helpers/pgrst_upsert.sql's upsert_query,
-- whose SELECT adds 1 to pgrst.inserted for each row and whose ON CONFLICT
-- DO UPDATE takes 1 off it again), as a writer and an admin of the JWT's
-- company through an authenticator trusted as a gateway, each request a
-- transaction of its own: the rows, the RETURNING and pgrst.inserted as on
-- one node (201 for a new key, 200 for an existing one; a merge-duplicates
-- POST counts its inserted rows only), the errors of one node, one shard
-- group per request.  Any other WHERE of an ON CONFLICT is refused by Citus
-- as before.
SET search_path = segext, public;
SELECT plan(22);
\ir ../helpers/task_count.sql

SELECT segext.create_company('Upserts') AS w \gset
SET client_min_messages = warning;
DROP ROLE IF EXISTS api_upsert_auth;
DROP ROLE IF EXISTS api_upsert_writer;
DROP ROLE IF EXISTS api_upsert_admin;
RESET client_min_messages;
CREATE ROLE api_upsert_writer LOGIN IN ROLE segext_writer;
CREATE ROLE api_upsert_admin LOGIN IN ROLE segext_admin;
CREATE ROLE api_upsert_auth LOGIN NOINHERIT;
GRANT segext_gateway, api_upsert_writer, api_upsert_admin TO api_upsert_auth;
SELECT format('{"role":"api_upsert_writer","company_id":"%s"}', :'w') AS claims_writer \gset
SELECT format('{"role":"api_upsert_admin","company_id":"%s"}', :'w') AS claims_admin \gset

-- Temporary functions: Citus creates them on the coordinator only.
SET client_min_messages = error;

\ir ../helpers/pgrst_upsert.sql

-- upsert_request builds PostgREST v12's write of an upsert into view: the
-- INSERT of helpers/pgrst_upsert.sql (returning the rows) in the CTE
-- pgrst_source, and the final SELECT that reads pgrst.inserted.
CREATE FUNCTION pg_temp.upsert_request(view text, cols text[], types text[], body text, conflict text[],
                                       put_cols text[] DEFAULT NULL, put_vals text[] DEFAULT NULL) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'WITH pgrst_source AS (' || pg_temp.upsert_query(view, cols, types, body, conflict, put_cols, put_vals) || ') '
        || 'SELECT '''' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, '
        || 'coalesce(json_agg(_postgrest_t), ''[]'') AS body, '
        || 'nullif(current_setting(''pgrst.inserted'', true),'''')::int AS response_inserted '
        || 'FROM (SELECT ' || pg_temp.ident(view) || '.* FROM "pgrst_source" AS ' || pg_temp.ident(view) || ') _postgrest_t'
$$;

-- request runs a statement as PostgREST does after the authenticator's
-- login (the JWT's role and claims, transaction-local) and returns
-- "<page_total> <names of the rows> <pgrst.inserted>", or the error's
-- SQLSTATE and message.
CREATE FUNCTION pg_temp.request(role text, claims text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record; st text; msg text;
BEGIN
    PERFORM set_config('session_authorization', 'api_upsert_auth', true),
            set_config('search_path', '"segext_api", "public", "segext"', true),
            set_config('role', role, true),
            set_config('request.jwt.claims', claims, true);
    EXECUTE stmt INTO r;
    RETURN r.page_total || ' '
        || coalesce((SELECT string_agg(e ->> 'name', ',' ORDER BY e ->> 'name') FROM json_array_elements(r.body) AS e), '-')
        || ' ' || coalesce(r.response_inserted::text, 'null');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ' ' || msg;
END $$;
RESET client_min_messages;

-- PUT /segments?company_id=eq.W&id=eq.S1: a new key (201), then the same key again (200).
SELECT format('{"company_id":"%s","id":"a00000000000000000000001","name":"Emerald","description":"green"}', :'w') AS put_new \gset
BEGIN;
SELECT pg_temp.request('api_upsert_writer', :'claims_writer',
    pg_temp.upsert_request('segments', ARRAY['company_id', 'description', 'id', 'name'],
                         ARRAY['segext.objectid', 'text', 'segext.objectid', 'text'], :'put_new',
                         ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', 'a00000000000000000000001'])) AS put1 \gset
COMMIT;
SELECT is(:'put1'::text, '1 Emerald 1', 'a writer PUTs a new segment: it comes back, pgrst.inserted 1 (201 Created)');
SELECT (SELECT name || ' ' || description FROM segext.segments WHERE company_id = :'w' AND id = 'a00000000000000000000001') AS row1 \gset
SELECT is(:'row1'::text, 'Emerald green', 'the PUT inserted the row');
SELECT format('{"company_id":"%s","id":"a00000000000000000000001","name":"Emerald II"}', :'w') AS put_again \gset
BEGIN;
SELECT pg_temp.request('api_upsert_writer', :'claims_writer',
    pg_temp.upsert_request('segments', ARRAY['company_id', 'id', 'name'],
                         ARRAY['segext.objectid', 'segext.objectid', 'text'], :'put_again',
                         ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', 'a00000000000000000000001'])) AS put2 \gset
COMMIT;
SELECT is(:'put2'::text, '1 Emerald II 0', 'a writer PUTs the same key again: it comes back, pgrst.inserted 0 (200 OK)');
SELECT (SELECT count(*) || ' ' || string_agg(name || ' ' || description, ',') FROM segext.segments
         WHERE company_id = :'w' AND id = 'a00000000000000000000001') AS row2 \gset
SELECT is(:'row2'::text, '1 Emerald II green', 'the PUT updated the row in place, the body''s columns only');

-- The same as an admin of the JWT's company: an update (200).
SELECT format('{"company_id":"%s","id":"a00000000000000000000001","name":"Emerald III"}', :'w') AS put_admin \gset
BEGIN;
SELECT pg_temp.request('api_upsert_admin', :'claims_admin',
    pg_temp.upsert_request('segments', ARRAY['company_id', 'id', 'name'],
                         ARRAY['segext.objectid', 'segext.objectid', 'text'], :'put_admin',
                         ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', 'a00000000000000000000001'])) AS put3 \gset
COMMIT;
SELECT is(:'put3'::text, '1 Emerald III 0', 'an admin PUTs an existing segment: pgrst.inserted 0 (200 OK)');

-- POST /segments with resolution=merge-duplicates: three rows, one of them existing.
BEGIN;
SELECT pg_temp.request('api_upsert_writer', :'claims_writer',
    pg_temp.upsert_request('segments', ARRAY['id', 'name'], ARRAY['segext.objectid', 'text'],
                         '[{"id":"a00000000000000000000001","name":"Emerald IV"},{"id":"a00000000000000000000002","name":"Ruby"},{"id":"a00000000000000000000003","name":"Topaz"}]',
                         ARRAY['company_id', 'id'])) AS post1 \gset
COMMIT;
SELECT is(:'post1'::text, '3 Emerald IV,Ruby,Topaz 2',
          'a merge-duplicates POST of three segments, one existing: all come back, pgrst.inserted counts the two inserted');
BEGIN;
SELECT pg_temp.request('api_upsert_writer', :'claims_writer',
    pg_temp.upsert_request('segments', ARRAY['id', 'name'], ARRAY['segext.objectid', 'text'],
                         '[{"id":"a00000000000000000000002","name":"Ruby II"},{"id":"a00000000000000000000003","name":"Topaz II"}]',
                         ARRAY['company_id', 'id'])) AS post2 \gset
COMMIT;
SELECT is(:'post2'::text, '2 Ruby II,Topaz II 0', 'a merge-duplicates POST updating only: pgrst.inserted 0 (200 OK)');
SELECT (SELECT string_agg(name, ',' ORDER BY name) FROM segext.segments WHERE company_id = :'w' AND id::text LIKE 'a0%') AS rows3 \gset
SELECT is(:'rows3'::text, 'Emerald IV,Ruby II,Topaz II', 'the merge-duplicates POSTs wrote their rows');

-- PUT /customers: a new customer (201), then the same again (200), as the admin.
SELECT format('{"company_id":"%s","id":"0000000000000000000000c1","external_id":"c1"}', :'w') AS put_customer \gset
BEGIN;
SELECT pg_temp.request('api_upsert_admin', :'claims_admin',
    pg_temp.upsert_request('customers', ARRAY['company_id', 'external_id', 'id'],
                         ARRAY['segext.objectid', 'text', 'segext.objectid'], :'put_customer',
                         ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', '0000000000000000000000c1'])) AS putc1 \gset
COMMIT;
SELECT is(:'putc1'::text, '1 - 1', 'an admin PUTs a new customer: pgrst.inserted 1 (201 Created)');
BEGIN;
SELECT pg_temp.request('api_upsert_writer', :'claims_writer',
    pg_temp.upsert_request('customers', ARRAY['company_id', 'external_id', 'id'],
                         ARRAY['segext.objectid', 'text', 'segext.objectid'], :'put_customer',
                         ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', '0000000000000000000000c1'])) AS putc2 \gset
COMMIT;
SELECT is(:'putc2'::text, '1 - 0', 'a writer PUTs the same customer: pgrst.inserted 0 (200 OK)');
SELECT (SELECT count(*) FROM segext.customers WHERE company_id = :'w') AS customers \gset
SELECT is(:'customers'::bigint, 1::bigint, 'one customer');

-- A PUT that breaks a rule: the error of one node, nothing written.
SELECT format('{"company_id":"%s","id":"a00000000000000000000002","name":""}', :'w') AS put_bad \gset
BEGIN;
SELECT pg_temp.request('api_upsert_writer', :'claims_writer',
    pg_temp.upsert_request('segments', ARRAY['company_id', 'id', 'name'],
                         ARRAY['segext.objectid', 'segext.objectid', 'text'], :'put_bad',
                         ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', 'a00000000000000000000002'])) AS bad \gset
COMMIT;
SELECT is(:'bad'::text, '23514 new row for relation "segments" violates check constraint "segments_name_check"',
          'a PUT of an empty name for an existing segment: the 23514 of one node, with the table''s constraint');
SELECT (SELECT name FROM segext.segments WHERE company_id = :'w' AND id = 'a00000000000000000000002') AS row4 \gset
SELECT is(:'row4'::text, 'Ruby II', 'the refused PUT changed nothing');

-- In a transaction: a refused PUT in a subtransaction leaves no count
-- behind, the next one counts as on one node.
BEGIN;
SELECT pg_temp.request('api_upsert_writer', :'claims_writer',
    pg_temp.upsert_request('segments', ARRAY['company_id', 'id', 'name'],
                         ARRAY['segext.objectid', 'segext.objectid', 'text'], :'put_bad',
                         ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', 'a00000000000000000000002'])) AS bad2 \gset
SELECT pg_temp.request('api_upsert_writer', :'claims_writer',
    pg_temp.upsert_request('segments', ARRAY['company_id', 'id', 'name'],
                         ARRAY['segext.objectid', 'segext.objectid', 'text'], :'put_again',
                         ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', 'a00000000000000000000001'])) AS put4 \gset
COMMIT;
SELECT is(:'bad2' || ' / ' || :'put4', '23514 new row for relation "segments" violates check constraint "segments_name_check" / 1 Emerald II 0',
          'after a refused PUT, an update in the same transaction: pgrst.inserted 0');

-- A superuser acting for the company with segext.company_id, no warning left over.
BEGIN;
SET LOCAL segext.company_id = :'w';
SET LOCAL client_min_messages = warning;
SELECT pg_temp.upsert_request('segments', ARRAY['company_id', 'id', 'name'],
                            ARRAY['segext.objectid', 'segext.objectid', 'text'], :'put_again',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', 'a00000000000000000000001']) AS put_sql \gset
:put_sql \gset sql_
COMMIT;
SELECT is(:'sql_page_total' || ' ' || :'sql_response_inserted', '1 0', 'postgres PUTs an existing segment: pgrst.inserted 0');

-- One shard group: the plan of a PUT has one task, and it runs on one shard
-- (membership notifications off: their read after a write in a CTE is not
-- routed by company and reads every shard's outbox).
BEGIN;
SET LOCAL segext.company_id = :'w';
SELECT pg_temp.task_count(:'put_sql') AS tasks \gset
COMMIT;
SELECT is(:'tasks'::int, 1, 'EXPLAIN of a PUT: one task');
SET citus.enable_stat_counters = on;
SET segext.notify_membership = off;
SELECT query_execution_single_shard AS single0, query_execution_multi_shard AS multi0
  FROM pg_catalog.citus_stat_counters((SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) \gset
SELECT pg_temp.upsert_request('segments', ARRAY['company_id', 'id', 'name'],
                            ARRAY['segext.objectid', 'segext.objectid', 'text'], :'put_admin',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY[:'w', 'a00000000000000000000001']) AS put_routed \gset
BEGIN;
SELECT set_config('session_authorization', 'api_upsert_auth', true), set_config('search_path', '"segext_api", "public", "segext"', true),
       set_config('role', 'api_upsert_writer', true), set_config('request.jwt.claims', :'claims_writer', true) \g /dev/null
:put_routed \gset routed_
COMMIT;
SELECT query_execution_single_shard AS single1, query_execution_multi_shard AS multi1
  FROM pg_catalog.citus_stat_counters((SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) \gset
RESET citus.enable_stat_counters;
RESET segext.notify_membership;
SELECT is(:'routed_page_total' || ' ' || :'routed_response_inserted', '1 0', 'a PUT as PostgREST sends it, counted');
SELECT ok(:'single1'::bigint > :'single0'::bigint, 'its steps ran on one shard');
SELECT is(:'multi1'::bigint - :'multi0'::bigint, 0::bigint, 'and none on several shards');

-- Any other WHERE of an ON CONFLICT with a volatile function: refused by Citus as before.
BEGIN;
SET LOCAL segext.company_id = :'w';
SELECT throws_ok(format($$INSERT INTO segext_api.segments (company_id, id, name) VALUES (%L, 'a00000000000000000000001', 'X')
    ON CONFLICT (company_id, id) DO UPDATE SET name = EXCLUDED.name
    WHERE set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) - 2)::text, true) <> '-1'$$, :'w'),
    '0A000', 'functions used in the WHERE clause of the ON CONFLICT clause of INSERTs on distributed tables must be marked IMMUTABLE',
    'an ON CONFLICT WHERE that is not PostgREST''s count: Citus''s 0A000');
SELECT throws_ok(format($$INSERT INTO segext_api.segments (company_id, id, name)
    SELECT b.company_id, b.id, b.name FROM json_to_record(json_build_object('company_id', %L::text, 'id', 'a00000000000000000000001', 'name', 'X'))
        AS b(company_id segext.objectid, id segext.objectid, name text)
    ON CONFLICT (company_id, id) DO UPDATE SET name = EXCLUDED.name
    WHERE set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) - 1)::text, true) <> '-1'$$, :'w'),
    '0A000', 'functions used in the WHERE clause of the ON CONFLICT clause of INSERTs on distributed tables must be marked IMMUTABLE',
    'PostgREST''s decrement without its increment in the SELECT: Citus''s 0A000');
COMMIT;
SELECT (SELECT name FROM segext.segments WHERE company_id = :'w' AND id = 'a00000000000000000000001') AS row5 \gset
SELECT is(:'row5'::text, 'Emerald III', 'the refused statements changed nothing');

DELETE FROM segext.companies WHERE id = :'w';
DROP ROLE api_upsert_auth;
DROP ROLE api_upsert_writer;
DROP ROLE api_upsert_admin;

SELECT * FROM finish();
