-- test/citus/api_writes_roles.sql: PostgREST's POST and PUT through the
-- segext_api views on Citus as the roles PostgREST switches to (a writer
-- and an admin of the JWT's company), each request a transaction of its
-- own through an authenticator trusted as a gateway, as PostgREST sends it
-- (test/contract/README.md): the rows come back as on one node, the members
-- stay fresh, a write of another company and a rule violation are refused
-- with the errors of one node, and a request runs on the company's shard
-- group alone.  The set-up is written as postgres and committed first
-- (Citus refuses to read placements that another role modified in the same
-- transaction; PostgREST never meets that).
SET search_path = segext, public;
SELECT plan(21);
\ir ../helpers/task_count.sql

-- error_of runs a statement and returns its SQLSTATE, message and DETAIL
-- (a temporary function: Citus creates it on the coordinator only).
SET client_min_messages = error;
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN ARRAY[st, msg, det];
END $$;
RESET client_min_messages;

SELECT segext.create_company('Roles writes') AS w \gset
SELECT segext.create_company('Roles writes other') AS o \gset
SET client_min_messages = warning;
DROP ROLE IF EXISTS api_roles_auth;
DROP ROLE IF EXISTS api_roles_writer;
DROP ROLE IF EXISTS api_roles_admin;
RESET client_min_messages;
-- Web roles of the JWT (LOGIN: Citus connects to the workers as the
-- current role) and PostgREST's authenticator.
CREATE ROLE api_roles_writer LOGIN IN ROLE segext_writer;
CREATE ROLE api_roles_admin LOGIN IN ROLE segext_admin;
CREATE ROLE api_roles_auth LOGIN NOINHERIT;
GRANT segext_gateway, api_roles_writer, api_roles_admin TO api_roles_auth;
SELECT format('{"role":"api_roles_writer","company_id":"%s"}', :'w') AS claims_writer \gset
SELECT format('{"role":"api_roles_admin","company_id":"%s"}', :'w') AS claims_admin \gset

-- The set_config statement PostgREST starts each request with, after the
-- authenticator's login.
\set as_writer 'SELECT set_config(''session_authorization'', ''api_roles_auth'', true), set_config(''search_path'', ''"segext_api", "public", "segext"'', true), set_config(''role'', ''api_roles_writer'', true), set_config(''request.jwt.claims'', :''claims_writer'', true) \\g /dev/null'
\set as_admin 'SELECT set_config(''session_authorization'', ''api_roles_auth'', true), set_config(''search_path'', ''"segext_api", "public", "segext"'', true), set_config(''role'', ''api_roles_admin'', true), set_config(''request.jwt.claims'', :''claims_admin'', true) \\g /dev/null'

-- POST /segments, one object, Prefer: return=representation.
BEGIN;
:as_writer
WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name", "criteria")
    SELECT "pgrst_body"."name", "pgrst_body"."criteria"
    FROM (SELECT '{"name": "Buyers", "criteria": [{"type": "transaction_count", "min": 1, "max": 1000}]}'::json AS json_data) pgrst_payload,
    LATERAL (SELECT CASE WHEN json_typeof(pgrst_payload.json_data) = 'array'
       THEN pgrst_payload.json_data ELSE json_build_array(pgrst_payload.json_data) END AS val) pgrst_uniform_json,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."segments", pgrst_uniform_json.val)) pgrst_body
    RETURNING "segext_api"."segments".*)
SELECT '' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, array[]::text[] AS header,
       (SELECT string_agg(_postgrest_t.name || ':' || _postgrest_t.number || ':' || _postgrest_t.customers_count, ',')) AS body,
       '' AS response_inserted
FROM (SELECT "segments".* FROM "pgrst_source" AS "segments") _postgrest_t \gset post1_
COMMIT;
SELECT is(:'post1_page_total'::int || ' ' || :'post1_body', '1 Buyers:2:0',
          'a writer POSTs a segment: the row comes back with its number and customers_count');
SELECT id AS buyers FROM segext.segments WHERE company_id = :'w' AND name = 'Buyers' \gset

-- POST /customers, an array of two, as the admin.
BEGIN;
:as_admin
WITH pgrst_source AS (INSERT INTO "segext_api"."customers"("id", "external_id")
    SELECT "pgrst_body"."id", "pgrst_body"."external_id"
    FROM (SELECT '[{"id": "0000000000000000000000c1", "external_id": "c1"}, {"id": "0000000000000000000000c2", "external_id": "c2"}]'::json AS json_data) pgrst_payload,
    LATERAL (SELECT CASE WHEN json_typeof(pgrst_payload.json_data) = 'array'
       THEN pgrst_payload.json_data ELSE json_build_array(pgrst_payload.json_data) END AS val) pgrst_uniform_json,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."customers", pgrst_uniform_json.val)) pgrst_body
    RETURNING "segext_api"."customers".*)
SELECT pg_catalog.count(_postgrest_t) AS page_total,
       (SELECT string_agg(_postgrest_t.external_id || '@' || (_postgrest_t.company_id OPERATOR(pg_catalog.=) :'w'::segext.objectid), ',' ORDER BY _postgrest_t.external_id)) AS body
FROM (SELECT "customers".* FROM "pgrst_source" AS "customers") _postgrest_t \gset post2_
COMMIT;
SELECT is(:'post2_page_total'::int || ' ' || :'post2_body', '2 c1@true,c2@true',
          'an admin POSTs two customers: both come back, in the JWT''s company');

-- POST /transactions, two sales, as the writer: the members follow.
BEGIN;
:as_writer
WITH pgrst_source AS (INSERT INTO "segext_api"."transactions"("customer_id", "amount")
    SELECT "pgrst_body"."customer_id", "pgrst_body"."amount"
    FROM (SELECT '[{"customer_id": "0000000000000000000000c1", "amount": 10}, {"customer_id": "0000000000000000000000c1", "amount": 5}]'::json AS json_data) pgrst_payload,
    LATERAL (SELECT CASE WHEN json_typeof(pgrst_payload.json_data) = 'array'
       THEN pgrst_payload.json_data ELSE json_build_array(pgrst_payload.json_data) END AS val) pgrst_uniform_json,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."transactions", pgrst_uniform_json.val)) pgrst_body
    RETURNING "segext_api"."transactions".*)
SELECT pg_catalog.count(_postgrest_t) AS page_total, (SELECT sum(_postgrest_t.amount)) AS body
FROM (SELECT "transactions".* FROM "pgrst_source" AS "transactions") _postgrest_t \gset post3_
COMMIT;
SELECT is(:'post3_page_total'::int || ' ' || :'post3_body', '2 15.00', 'a writer POSTs two sales: both come back');
SET segext.company_id = :'w';
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || s.customers_count, ',' ORDER BY s.number) FROM segext_api.segments AS s) AS counts \gset
RESET segext.company_id;
SELECT is(:'counts'::text, 'All:2,Default:1,Buyers:1', 'the customers and sales POSTed keep the members fresh');

-- PUT /segments?company_id=eq.W&id=eq.<Buyers>: an existing segment, as the admin.
BEGIN;
:as_admin
WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("company_id", "id", "name")
    SELECT "pgrst_body"."company_id", "pgrst_body"."id", "pgrst_body"."name"
    FROM (SELECT json_build_object('company_id', :'w', 'id', :'buyers', 'name', 'Shoppers') AS json_data) pgrst_payload,
    LATERAL (SELECT "company_id", "id", "name" FROM json_to_record(pgrst_payload.json_data)
             AS _("company_id" segext.objectid, "id" segext.objectid, "name" text)) pgrst_body
    WHERE "pgrst_body"."company_id" = :'w' AND "pgrst_body"."id" = :'buyers'
    ON CONFLICT("company_id", "id") DO UPDATE SET "company_id" = EXCLUDED."company_id", "id" = EXCLUDED."id", "name" = EXCLUDED."name"
    RETURNING "segext_api"."segments".*)
SELECT pg_catalog.count(_postgrest_t) AS page_total,
       (SELECT string_agg(_postgrest_t.name || ':' || _postgrest_t.number || ':' || _postgrest_t.customers_count, ',')) AS body
FROM (SELECT "segments".* FROM "pgrst_source" AS "segments") _postgrest_t \gset put1_
COMMIT;
SELECT is(:'put1_page_total'::int || ' ' || :'put1_body', '1 Shoppers:2:1',
          'an admin PUTs an existing segment: it is updated, with its members');

-- PUT /customers?company_id=eq.W&id=eq.c3: a new customer, as the writer.
BEGIN;
:as_writer
WITH pgrst_source AS (INSERT INTO "segext_api"."customers"("company_id", "external_id", "id")
    SELECT "pgrst_body"."company_id", "pgrst_body"."external_id", "pgrst_body"."id"
    FROM (SELECT json_build_object('company_id', :'w', 'id', '0000000000000000000000c3', 'external_id', 'c3') AS json_data) pgrst_payload,
    LATERAL (SELECT "company_id", "external_id", "id" FROM json_to_record(pgrst_payload.json_data)
             AS _("company_id" segext.objectid, "external_id" text, "id" segext.objectid)) pgrst_body
    WHERE "pgrst_body"."company_id" = :'w' AND "pgrst_body"."id" = '0000000000000000000000c3'
    ON CONFLICT("company_id", "id") DO UPDATE SET "company_id" = EXCLUDED."company_id", "external_id" = EXCLUDED."external_id", "id" = EXCLUDED."id"
    RETURNING "segext_api"."customers".*)
SELECT pg_catalog.count(_postgrest_t) AS page_total, (SELECT string_agg(_postgrest_t.external_id, ',')) AS body
FROM (SELECT "customers".* FROM "pgrst_source" AS "customers") _postgrest_t \gset put2_
COMMIT;
SELECT is(:'put2_page_total'::int || ' ' || :'put2_body', '1 c3', 'a writer PUTs a new customer: it is created');

-- PUT /transactions: a new sale of c2, as the writer, then the same id again (an update);
-- PostgREST's statement, prepared once, with the amount of the body as its parameter.
PREPARE put_sale(numeric) AS
WITH pgrst_source AS (INSERT INTO "segext_api"."transactions"("amount", "company_id", "customer_id", "id")
    SELECT "pgrst_body"."amount", "pgrst_body"."company_id", "pgrst_body"."customer_id", "pgrst_body"."id"
    FROM (SELECT json_build_object('amount', $1, 'company_id', :'w', 'customer_id', '0000000000000000000000c2', 'id', '0000000000000000000000f1') AS json_data) pgrst_payload,
    LATERAL (SELECT "amount", "company_id", "customer_id", "id" FROM json_to_record(pgrst_payload.json_data)
             AS _("amount" numeric, "company_id" segext.objectid, "customer_id" segext.objectid, "id" segext.objectid)) pgrst_body
    WHERE "pgrst_body"."company_id" = :'w' AND "pgrst_body"."id" = '0000000000000000000000f1'
    ON CONFLICT("company_id", "id") DO UPDATE SET "amount" = EXCLUDED."amount", "company_id" = EXCLUDED."company_id", "customer_id" = EXCLUDED."customer_id", "id" = EXCLUDED."id"
    RETURNING "segext_api"."transactions".*)
SELECT pg_catalog.count(_postgrest_t) AS page_total, (SELECT string_agg(_postgrest_t.amount::text, ',')) AS body
FROM (SELECT "transactions".* FROM "pgrst_source" AS "transactions") _postgrest_t;
BEGIN;
:as_writer
EXECUTE put_sale(7) \gset put3_
COMMIT;
SELECT is(:'put3_page_total'::int || ' ' || :'put3_body', '1 7.00', 'a writer PUTs a new sale: it is created');
SET segext.company_id = :'w';
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || s.customers_count, ',' ORDER BY s.number) FROM segext_api.segments AS s) AS counts \gset
RESET segext.company_id;
SELECT is(:'counts'::text, 'All:3,Default:1,Shoppers:2', 'the sale PUT makes c2 a member: the members stay fresh');
BEGIN;
:as_writer
EXECUTE put_sale(9) \gset put4_
COMMIT;
SELECT is(:'put4_page_total'::int || ' ' || :'put4_body', '1 9.00', 'a writer PUTs the same sale again: it is updated');
SELECT (SELECT count(*) || ' ' || sum(amount) FROM segext.transactions WHERE company_id = :'w') AS sales \gset
SELECT is(:'sales'::text, '3 24.00', 'the PUT updated the sale in place');

-- An INSERT ... SELECT without RETURNING (an SQL user's; PostgREST always
-- sends one): Citus would COPY its rows into the shards, refused under row
-- level security.
BEGIN;
:as_writer
INSERT INTO segext_api.customers (external_id)
    SELECT b.external_id FROM json_populate_recordset(NULL::segext_api.customers, '[{"external_id": "c4"}, {"external_id": "c5"}]') AS b;
COMMIT;
SELECT (SELECT string_agg(external_id, ',' ORDER BY external_id) FROM segext.customers WHERE company_id = :'w') AS customers \gset
SELECT is(:'customers'::text, 'c1,c2,c3,c4,c5', 'a writer''s INSERT ... SELECT without RETURNING inserts its rows');
BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$INSERT INTO segext.customers (company_id, external_id)
    SELECT %L, b.external_id FROM json_populate_recordset(NULL::segext_api.customers, '[{"external_id": "x1"}]') AS b$$, :'o')),
    ARRAY['42501', format('permission denied for company "%s"', :'o'),
          'The current company of role "api_roles_writer" in this session is another company.'],
    'the same of another company''s rows is refused as on one node');
COMMIT;

-- A write of another company, and the rules, refuse as on one node.
BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$WITH pgrst_source AS (INSERT INTO "segext_api"."customers"("company_id", "external_id")
    SELECT "pgrst_body"."company_id", "pgrst_body"."external_id"
    FROM (SELECT json_build_object('company_id', %L, 'external_id', 'x1') AS json_data) pgrst_payload,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."customers", json_build_array(pgrst_payload.json_data))) pgrst_body
    RETURNING "segext_api"."customers".*) SELECT count(*) FROM pgrst_source$$, :'o')),
    ARRAY['42501', format('permission denied for company "%s"', :'o'),
          'The current company of role "api_roles_writer" in this session is another company.'],
    'a writer POSTing a customer of another company: 42501 as on one node');
SELECT is(pg_temp.error_of($$WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name")
    SELECT "pgrst_body"."name" FROM (SELECT '{"name": "Shoppers"}'::json AS json_data) pgrst_payload,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."segments", json_build_array(pgrst_payload.json_data))) pgrst_body
    RETURNING "segext_api"."segments".*) SELECT count(*) FROM pgrst_source$$),
    ARRAY['23505', 'duplicate key value violates unique constraint "segments_company_id_name_key"', ''],
    'a writer POSTing a duplicate segment name: 23505, without the key''s values (row level security applies) as on one node');
SELECT is(pg_temp.error_of($$WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name")
    SELECT "pgrst_body"."name" FROM (SELECT '{"name": ""}'::json AS json_data) pgrst_payload,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."segments", json_build_array(pgrst_payload.json_data))) pgrst_body
    RETURNING "segext_api"."segments".*) SELECT count(*) FROM pgrst_source$$),
    ARRAY['22023', 'segment name must have 1 to 100 characters', 'The segment name given has 0 characters.'],
    'a writer POSTing an empty segment name: the rule''s 22023 with its DETAIL');
COMMIT;
BEGIN;
:as_admin
SELECT is((pg_temp.error_of(format($$WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("company_id", "name")
    SELECT "pgrst_body"."company_id", "pgrst_body"."name"
    FROM (SELECT json_build_object('company_id', %L, 'name', 'Elsewhere') AS json_data) pgrst_payload,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."segments", json_build_array(pgrst_payload.json_data))) pgrst_body
    RETURNING "segext_api"."segments".*) SELECT count(*) FROM pgrst_source$$, :'o')))[1:2],
    ARRAY['44000', 'new row violates check option for view "segments"'],
    'an admin POSTing a segment of another company than the JWT''s: the view''s check option');
COMMIT;
SELECT (SELECT count(*) FROM segext.segments WHERE company_id = :'o') || ' ' ||
       (SELECT count(*) FROM segext.customers WHERE company_id = :'o') AS other_rows \gset
SELECT is(:'other_rows'::text, '2 0', 'the other company got nothing');

-- One shard group: the request's plan has one task, and no step of it runs
-- on more than one shard.
BEGIN;
:as_writer
SELECT pg_temp.task_count($$WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name")
    SELECT "pgrst_body"."name" FROM (SELECT '{"name": "Planned"}'::json AS json_data) pgrst_payload,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."segments", json_build_array(pgrst_payload.json_data))) pgrst_body
    RETURNING "segext_api"."segments".*) SELECT count(*) FROM pgrst_source$$) AS tasks \gset
COMMIT;
SELECT is(:'tasks'::int, 1, 'EXPLAIN of a POST: one task');
SET citus.enable_stat_counters = on;
SELECT query_execution_single_shard AS single0, query_execution_multi_shard AS multi0
  FROM pg_catalog.citus_stat_counters((SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) \gset
BEGIN;
:as_writer
WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name")
    SELECT "pgrst_body"."name" FROM (SELECT '[{"name": "Routed 1"}, {"name": "Routed 2"}]'::json AS json_data) pgrst_payload,
    LATERAL (SELECT * FROM json_populate_recordset(null::"segext_api"."segments", pgrst_payload.json_data)) pgrst_body
    RETURNING "segext_api"."segments".*) SELECT count(*) AS routed FROM pgrst_source \gset
INSERT INTO segext_api.customers (external_id)
    SELECT b.external_id FROM json_populate_recordset(NULL::segext_api.customers, '[{"external_id": "c6"}]') AS b;
COMMIT;
SELECT query_execution_single_shard AS single1, query_execution_multi_shard AS multi1
  FROM pg_catalog.citus_stat_counters((SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) \gset
RESET citus.enable_stat_counters;
SELECT is(:'routed'::int, 2, 'a POST of two segments, counted');
SELECT ok(:'single1'::bigint > :'single0'::bigint, 'its steps ran on one shard');
SELECT is(:'multi1'::bigint - :'multi0'::bigint, 0::bigint, 'and none on several shards');

DELETE FROM segext.companies WHERE id = :'o';
DROP ROLE api_roles_auth;
DROP ROLE api_roles_writer;
DROP ROLE api_roles_admin;

SELECT * FROM finish();
