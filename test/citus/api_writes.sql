-- test/citus/api_writes.sql: writes through the segext_api views on Citus,
-- as PostgREST sends them (POST, PATCH, PUT, DELETE), run through the
-- coordinator on the company's shard group with the results, rules and
-- privileges of one node.
SET search_path = segext, public;
SELECT plan(14);

SELECT segext.create_company('Writes') AS w \gset
SET segext.company_id = :'w';

-- POST: INSERT ... SELECT from the request body in a WITH, returning the new
-- row, as PostgREST sends it.
WITH r AS (
    INSERT INTO segext_api.segments (name, criteria)
    SELECT b.name, b.criteria FROM pg_catalog.json_populate_recordset(NULL::segext_api.segments,
        '[{"name": "Buyers", "criteria": [{"type": "transaction_count", "min": 1, "max": 1000}]}]') AS b
    RETURNING number)
SELECT pg_catalog.string_agg(r.number::text, ',') AS v1 FROM r \gset
SELECT is(:'v1'::text, '2', 'POST /segments creates a segment through the view');
SELECT id AS buyers FROM segext.segments WHERE company_id = :'w' AND name = 'Buyers' \gset
INSERT INTO segext_api.customers (id, external_id) VALUES ('0000000000000000000000c1', 'c1'), ('0000000000000000000000c2', 'c2');
INSERT INTO segext_api.transactions (customer_id, amount) VALUES ('0000000000000000000000c1', 10);
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || s.customers_count, ',' ORDER BY s.number) FROM segext_api.segments AS s) AS v2 \gset
SELECT is(:'v2'::text, 'All:2,Default:1,Buyers:1', 'customers and a sale written through the views keep the members fresh');

-- PATCH: UPDATE with the view's conditions.
WITH r AS (
    UPDATE segext_api.segments SET description = 'bought once' WHERE number = 2 RETURNING description)
SELECT pg_catalog.string_agg(r.description, ',') AS v3 FROM r \gset
SELECT is(:'v3'::text, 'bought once', 'PATCH /segments updates through the view');
UPDATE segext_api.customers SET active = false WHERE id = '0000000000000000000000c1';
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || s.customers_count, ',' ORDER BY s.number) FROM segext_api.segments AS s) AS v4 \gset
SELECT is(:'v4'::text, 'All:1,Default:1,Buyers:0', 'PATCH /customers (a customer made inactive) moves the members');

-- PUT: INSERT ... ON CONFLICT DO UPDATE, on an existing row and a new one.
WITH r AS (
    INSERT INTO segext_api.segments (company_id, id, name)
    SELECT b.company_id, b.id, b.name FROM pg_catalog.json_populate_recordset(NULL::segext_api.segments,
        pg_catalog.json_build_array(pg_catalog.json_build_object('company_id', :'w', 'id', :'buyers', 'name', 'Shoppers'))) AS b
    ON CONFLICT (company_id, id) DO UPDATE SET name = EXCLUDED.name RETURNING name)
SELECT pg_catalog.string_agg(r.name, ',') AS v5 FROM r \gset
SELECT is(:'v5'::text, 'Shoppers', 'PUT /segments of an existing segment updates it');
WITH r AS (
    INSERT INTO segext_api.segments (company_id, id, name)
    SELECT b.company_id, b.id, b.name FROM pg_catalog.json_populate_recordset(NULL::segext_api.segments,
        pg_catalog.json_build_array(pg_catalog.json_build_object('company_id', :'w', 'id', '0000000000000000000000e1', 'name', 'Manual'))) AS b
    ON CONFLICT (company_id, id) DO UPDATE SET name = EXCLUDED.name RETURNING number)
SELECT pg_catalog.string_agg(r.number::text, ',') AS v6 FROM r \gset
SELECT is(:'v6'::text, '3', 'PUT /segments of a new id creates it');

-- DELETE, and a rule refusing one on the shard reaches the client.
WITH r AS (
    DELETE FROM segext_api.segments WHERE number = 3 RETURNING number)
SELECT pg_catalog.string_agg(r.number::text, ',') AS v7 FROM r \gset
SELECT is(:'v7'::text, '3', 'DELETE /segments deletes through the view');
SELECT throws_ok($$DELETE FROM segext_api.segments WHERE number = 2$$, 'PT403',
                 'cannot delete the last segment of company "Writes"',
                 'the rule refusing to delete the last segment, with its message');
SELECT (SELECT count(*) FROM segext_api.transactions) AS v8 \gset
DELETE FROM segext_api.transactions;
SELECT (SELECT count(*) FROM segext.transactions WHERE company_id = :'w') AS v9 \gset
SELECT is(:'v8'::int || '->' || :'v9'::int, '1->0', 'DELETE /transactions');

-- A writer of the company writes its rows through the views, and the rows of
-- no other company (refused on the shard, with the message of one node).
SELECT segext.create_company('Writes other') AS other \gset
SET client_min_messages = warning;
DROP ROLE IF EXISTS segext_citus_view_writer;
RESET client_min_messages;
CREATE ROLE segext_citus_view_writer LOGIN IN ROLE segext_writer;
SELECT segext.grant_company(:'w', 'segext_citus_view_writer', 'writer') \g /dev/null
SET ROLE segext_citus_view_writer;
SELECT lives_ok($$INSERT INTO segext_api.segments (name) VALUES ('Writer''s')$$, 'a writer POSTs a segment of its company');
SELECT throws_ok(format($$INSERT INTO segext_api.segments (company_id, name) VALUES (%L, 'Not mine')$$, :'other'), '42501',
                 format('permission denied for company "%s"', :'other'), 'but not one of another company');
RESET ROLE;
SELECT segext.revoke_company(:'w', 'segext_citus_view_writer') \g /dev/null
DROP ROLE segext_citus_view_writer;

-- Privileges of the view are checked as on one node: a reader writes nothing.
SET client_min_messages = warning;
DROP ROLE IF EXISTS segext_citus_view_reader;
RESET client_min_messages;
CREATE ROLE segext_citus_view_reader LOGIN IN ROLE segext_reader;
SELECT segext.grant_company(:'w', 'segext_citus_view_reader') \g /dev/null
SET ROLE segext_citus_view_reader;
SELECT throws_ok($$INSERT INTO segext_api.segments (name) VALUES ('Nope')$$, '42501',
                 'permission denied for view segments', 'a reader cannot POST');
SELECT throws_ok($$UPDATE segext_api.segments SET name = 'Nope' WHERE number = 2$$, '42501',
                 'permission denied for view segments', 'nor PATCH');
SELECT throws_ok($$DELETE FROM segext_api.customers$$, '42501',
                 'permission denied for view customers', 'nor DELETE');
RESET ROLE;
RESET segext.company_id;
SELECT segext.revoke_company(:'w', 'segext_citus_view_reader') \g /dev/null
DROP ROLE segext_citus_view_reader;

SELECT * FROM finish();
