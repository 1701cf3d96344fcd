-- test/citus/view_check.sql: an INSERT through a segext_api view on the
-- coordinator is held to the view's CHECK OPTION as on one node (Citus
-- drops the check; the coordinator makes it): an admin or a superuser acting
-- for one company who names another's company_id gets 44000, in a single
-- row, a multi-row VALUES and PostgREST's INSERT ... SELECT; a writer gets
-- the 42501 of one node; and a row without a company gets the errors of one
-- node (42501 "no current company", row level security, NOT NULL) instead
-- of Citus's 22004.
SET search_path = segext, public;
SELECT plan(17);

SET client_min_messages = warning;
DROP ROLE IF EXISTS segext_citus_check_admin, segext_citus_check_writer;
RESET client_min_messages;
CREATE ROLE segext_citus_check_admin LOGIN IN ROLE segext_admin;
CREATE ROLE segext_citus_check_writer LOGIN IN ROLE segext_writer;
SELECT segext.create_company('Checked') AS a \gset
SELECT segext.create_company('Other') AS b \gset
SELECT segext.grant_company(:'a', 'segext_citus_check_writer', 'writer') \g /dev/null
SELECT segext.grant_company(:'b', 'segext_citus_check_writer', 'writer') \g /dev/null

-- An admin acting for company a.
SET ROLE segext_citus_check_admin;
SET segext.company_id = :'a';
SELECT throws_ok(format($$INSERT INTO segext_api.segments (company_id, name) VALUES (%L, 'Planted')$$, :'b'),
                 '44000', 'new row violates check option for view "segments"',
                 'an admin POSTs a segment naming another company: 44000, as on one node');
SELECT throws_ok(format($$INSERT INTO segext_api.customers (company_id, external_id) VALUES (%L, 'ok'), (%L, 'planted')$$, :'a', :'b'),
                 '44000', 'new row violates check option for view "customers"',
                 'one row of another company in a multi-row VALUES: 44000');
SELECT throws_ok(format($$INSERT INTO segext_api.channels (company_id, name) VALUES (%L, 'Planted')
                          ON CONFLICT (company_id, id) DO UPDATE SET name = EXCLUDED.name$$, :'b'),
                 '44000', 'new row violates check option for view "channels"', 'an upsert (PUT) too');
SELECT lives_ok(format($$INSERT INTO segext_api.segments (company_id, name) VALUES (%L, 'Mine')$$, :'a'),
                'an admin POSTs a segment of its current company');
SELECT lives_ok($$INSERT INTO segext_api.customers (external_id) VALUES ('c1'), ('c2')$$,
                'and customers with the default company');
RESET segext.company_id;
SELECT throws_ok(format($$INSERT INTO segext_api.segments (company_id, name) VALUES (%L, 'Planted')$$, :'b'),
                 '44000', 'new row violates check option for view "segments"',
                 'an admin with no current company names a company: 44000 (the view shows no company)');
RESET ROLE;

-- A superuser acting for company a.
SET segext.company_id = :'a';
SELECT throws_ok(format($$INSERT INTO segext_api.transactions (company_id, customer_id, amount) VALUES (%L, '0000000000000000000000c1', 1)$$, :'b'),
                 '44000', 'new row violates check option for view "transactions"',
                 'a superuser POSTs a sale naming another company: 44000');
SELECT throws_ok(format($$INSERT INTO segext_api.segment_groups (company_id, name)
                          SELECT b.company_id, b.name FROM json_to_recordset(%L::json) AS b (company_id segext.objectid, name text)$$,
                        json_build_array(json_build_object('company_id', :'b', 'name', 'Planted'))),
                 '44000', 'new row violates check option for view "segment_groups"',
                 'PostgREST''s INSERT ... SELECT of a row of another company (a superuser: Citus runs it with COPY, which row level security refuses to others): 44000');
RESET segext.company_id;
SELECT (SELECT count(*) FROM segext.segments WHERE company_id = :'b' AND name = 'Planted')
     + (SELECT count(*) FROM segext.customers WHERE company_id = :'b')
     + (SELECT count(*) FROM segext.segment_groups WHERE company_id = :'b' AND name = 'Planted')
     + (SELECT count(*) FROM segext.channels WHERE company_id = :'b') AS v1 \gset
SELECT is(:'v1'::int, 0, 'nothing was written into the other company');
SELECT (SELECT pg_catalog.string_agg(c.external_id, ',' ORDER BY c.external_id) FROM segext.customers AS c WHERE c.company_id = :'a') AS v2 \gset
SELECT is(:'v2'::text, 'c1,c2'::text, 'the company''s own rows were');

-- A writer of both companies: the 42501 of one node.
SET ROLE segext_citus_check_writer;
SET segext.company_id = :'a';
SELECT throws_ok(format($$INSERT INTO segext_api.segments (company_id, name) VALUES (%L, 'Planted')$$, :'b'),
                 '42501', format('permission denied for company "%s"', :'b'),
                 'a writer POSTs a segment naming its other company: 42501, as on one node');
SELECT throws_ok($$INSERT INTO segext.segments (company_id, name) VALUES (NULL, 's')$$, '42501',
                 'new row violates row-level security policy for table "segments"',
                 'an explicit NULL company_id with a current company: row level security refuses it');
RESET segext.company_id;
SELECT throws_ok($$INSERT INTO segext_api.segments (name) VALUES ('s')$$, '42501', 'no current company',
                 'no current company: a POST through the view');
SELECT throws_ok($$INSERT INTO segext_api.customers (external_id) VALUES ('x'), ('y')$$, '42501', 'no current company',
                 'a multi-row POST');
SELECT throws_ok($$INSERT INTO segext.segments (name) VALUES ('s')$$, '42501', 'no current company',
                 'a row of the table without company_id');
RESET ROLE;
SELECT throws_ok($$INSERT INTO segext.segments (company_id, name) VALUES (NULL, 's')$$, '23502',
                 'null value in column "company_id" of relation "segments" violates not-null constraint',
                 'a superuser''s NULL company_id: the NOT NULL error');
SELECT (SELECT count(*) FROM segext.segments WHERE name = 's') AS v3 \gset
SELECT is(:'v3'::int, 0, 'no row without a company was written');

DELETE FROM segext.companies WHERE id IN (:'a', :'b');
DROP ROLE segext_citus_check_admin, segext_citus_check_writer;

SELECT * FROM finish();
