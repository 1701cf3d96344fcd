\set ECHO none
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;

SELECT plan(49);

-- pgTAP records results in temporary tables: let the segext roles write them.
DO $$
BEGIN
    EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
    EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
END $$;

-- Roles and row level security.
SELECT ok(EXISTS (SELECT FROM pg_roles WHERE rolname = 'segext_reader' AND NOT rolcanlogin), 'role segext_reader exists (NOLOGIN)');
SELECT ok(EXISTS (SELECT FROM pg_roles WHERE rolname = 'segext_writer' AND NOT rolcanlogin), 'role segext_writer exists (NOLOGIN)');
SELECT ok(EXISTS (SELECT FROM pg_roles WHERE rolname = 'segext_admin' AND NOT rolcanlogin), 'role segext_admin exists (NOLOGIN)');
SELECT results_eq(
    $$SELECT relname::text COLLATE "default", relrowsecurity FROM pg_class WHERE relnamespace = 'segext'::regnamespace AND relkind = 'r' ORDER BY relname$$,
    $$VALUES ('channel_segments', true), ('channels', true), ('cluster_secret', true), ('companies', true), ('company_roles', true), ('customer_states', true), ('customers', true),
             ('membership_history', true), ('membership_notices', true), ('memberships', true), ('segment_groups', true), ('segment_member_counts', true), ('segments', true),
             ('time_window_checks', true), ('transactions', true)$$,
    'row level security is enabled on every segext table');

-- Two companies with segments, a group, a channel and its mix.
SELECT segext.create_company('Company A') AS a \gset
SELECT segext.create_company('Company B') AS b \gset
INSERT INTO segext.segments (company_id, name) VALUES (:'a', 'A gold'), (:'a', 'A silver'), (:'b', 'B gold'), (:'b', 'B silver');
INSERT INTO segext.segment_groups (company_id, name) VALUES (:'a', 'A group'), (:'b', 'B group');
INSERT INTO segext.channels (company_id, name) VALUES (:'a', 'A channel'), (:'a', 'A events'), (:'b', 'B channel'), (:'b', 'B events');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;

-- A writer granted A to write and B to read, and a reader granted A.
CREATE ROLE tenancy_writer NOLOGIN IN ROLE segext_writer;
CREATE ROLE tenancy_reader NOLOGIN IN ROLE segext_reader;
SELECT segext.grant_company(:'a', 'tenancy_writer', 'writer');
SELECT segext.grant_company(:'b', 'tenancy_writer', 'reader');
SELECT segext.grant_company(:'a', 'tenancy_reader');

-- The current company.
SELECT is(segext.current_company_id(), NULL, 'without a company set, the current company is NULL');
SELECT set_config('segext.company_id', :'a', true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'segext.company_id sets the current company');
SELECT set_config('request.jwt.claims', json_build_object('company_id', :'b', 'role', 'segext_writer')::text, true);
SELECT is(segext.current_company_id(), :'b'::segext.objectid, 'the company_id claim of request.jwt.claims takes precedence');
SELECT set_config('request.jwt.claims', '{"role": "segext_writer"}', true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'claims without company_id fall back to segext.company_id');
SELECT set_config('request.jwt.claims', '{"company_id": ""}', true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'an empty company_id claim falls back to segext.company_id');
SELECT set_config('request.jwt.claims', '{"company_id": "nothex"}', true);
SELECT throws_ok('SELECT count(*) FROM segext.segments', '22P02',
    'invalid company id "nothex" in the company_id claim of request.jwt.claims', 'an invalid company_id claim is 22P02 when a query on segext''s tables starts');
SELECT is(segext.current_company_id(), NULL, 'and meanwhile names no company, whatever row a lookup finds');
SELECT set_config('request.jwt.claims', '{"company_id": 42}', true);
SELECT throws_ok('SELECT count(*) FROM segext_api.segments', '22P02', 'invalid company_id claim in request.jwt.claims',
    'a company_id claim that is not a string is 22P02');
SELECT set_config('request.jwt.claims', '', true);
SELECT throws_ok($$SET LOCAL segext.company_id = '12345'$$, '22P02', NULL, 'segext.company_id refuses a value that is not an objectid');
SELECT throws_ok($$SET LOCAL segext.nonexistent = 'x'$$, '42602', NULL, 'the segext. settings prefix is reserved');

-- A writer of company A.
SET LOCAL ROLE tenancy_writer;
SELECT set_config('segext.company_id', :'a', true);
SELECT results_eq('SELECT name FROM segext.companies', $$VALUES ('Company A')$$, 'a writer sees only its company');
SELECT results_eq('SELECT name FROM segext.segments ORDER BY number',
    $$VALUES ('All'), ('Default'), ('A gold'), ('A silver')$$, 'a writer sees only its segments');
SELECT results_eq('SELECT name FROM segext.segment_groups ORDER BY id', $$VALUES ('Ungrouped'), ('A group')$$,
    'a writer sees only its segment groups');
SELECT results_eq('SELECT name FROM segext.channels ORDER BY name', $$VALUES ('A channel'), ('A events')$$,
    'a writer sees only its channels');
SELECT is((SELECT count(*)::int FROM segext.channel_segments WHERE company_id <> :'a'), 0, 'a writer sees no mix of another company');
SELECT is((SELECT count(*)::int FROM segext.channel_segments), 2, 'a writer sees its own mixes');

SELECT lives_ok(format($$UPDATE segext.segments SET name = 'hacked' WHERE company_id = %L$$, :'b'), 'an update of B''s segments runs');
SELECT lives_ok(format($$DELETE FROM segext.channels WHERE company_id = %L$$, :'b'), 'a delete of B''s channels runs');
SELECT lives_ok(format($$DELETE FROM segext.segment_groups WHERE company_id = %L$$, :'b'), 'a delete of B''s groups runs');
SELECT lives_ok(format($$UPDATE segext.companies SET name = 'hacked' WHERE id = %L$$, :'b'), 'an update of company B runs');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'planted')$$, :'b'),
    '42501', 'permission denied for company "' || :'b' || '"',
    'a writer cannot insert into another company (refused before the rules read that company)');
SELECT throws_ok(format($$INSERT INTO segext.channels (company_id, name) VALUES (%L, 'planted')$$, :'b'),
    '42501', NULL, 'a writer cannot insert a channel into another company');
SELECT throws_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[2])$$, :'b'),
    '22023', NULL, 'a writer cannot reorder another company''s segments');
SELECT throws_ok(format($$UPDATE segext.companies SET max_segments = 100 WHERE id = %L$$, :'a'),
    '42501', NULL, 'a writer cannot raise its own limits');
SELECT throws_ok($$SELECT segext.create_company('Mine')$$, '42501', NULL, 'a writer cannot create companies');

-- The writer works on its own company.
SELECT lives_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'A bronze')$$, :'a'), 'a writer inserts its own segments');
SELECT lives_ok($$UPDATE segext.segments SET description = 'gold customers' WHERE name = 'A gold'$$, 'a writer updates its own segments');
SELECT lives_ok($$DELETE FROM segext.segments WHERE name = 'A bronze'$$, 'a writer deletes its own segments');
SELECT lives_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[3, 2])$$, :'a'), 'a writer reorders its own segments');
SELECT lives_ok($$UPDATE segext.companies SET name = 'Company A Ltd' WHERE true$$, 'a writer renames its own company');
SELECT throws_ok($$DELETE FROM segext.segments WHERE name = 'A gold'$$, '23503', NULL,
    'the rules hold for a writer: A gold is in the mix of its channels');
SELECT throws_ok($$DELETE FROM segext.channels$$, 'PT403', NULL, 'the rules count rows the writer cannot see too: last channel');

-- Without a company set, and granted two companies, nothing is visible.
SELECT set_config('segext.company_id', '', true);
SELECT is((SELECT count(*)::int FROM segext.companies) + (SELECT count(*)::int FROM segext.segments)
          + (SELECT count(*)::int FROM segext.segment_groups) + (SELECT count(*)::int FROM segext.channels)
          + (SELECT count(*)::int FROM segext.channel_segments), 0, 'without a company set, a writer sees no row');

-- The JWT claim selects the company for PostgREST requests (this session
-- is a superuser's, a member of segext_gateway).
SELECT set_config('request.jwt.claims', json_build_object('company_id', :'b')::text, true);
SELECT results_eq('SELECT name FROM segext.segments WHERE number >= 2 ORDER BY number', $$VALUES ('B gold'), ('B silver')$$,
    'with the company_id claim of B, the writer sees B''s segments');
SELECT set_config('request.jwt.claims', '', true);
RESET ROLE;

SELECT results_eq(format($$SELECT name FROM segext.segments WHERE company_id = %L AND number >= 2 ORDER BY number$$, :'b'),
    $$VALUES ('B gold'), ('B silver')$$, 'B''s segments were not changed by the writer of A');
SELECT is((SELECT count(*)::int FROM segext.channels WHERE company_id = :'b'), 2, 'B''s channels were not deleted by the writer of A');
SELECT is((SELECT count(*)::int FROM segext.segment_groups WHERE company_id = :'b'), 2, 'B''s groups were not deleted by the writer of A');
SELECT is((SELECT name FROM segext.companies WHERE id = :'b'), 'Company B', 'company B was not renamed by the writer of A');

-- A reader reads but cannot write.
SET LOCAL ROLE tenancy_reader;
SELECT set_config('segext.company_id', :'a', true);
SELECT is((SELECT count(*)::int FROM segext.segments), 4, 'a reader reads its company''s segments');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'x')$$, :'a'), '42501', NULL, 'a reader cannot insert');
SELECT throws_ok($$UPDATE segext.channels SET commission = 1$$, '42501', NULL, 'a reader cannot update');
SELECT throws_ok($$DELETE FROM segext.segment_groups WHERE id = 1$$, '42501', NULL, 'a reader cannot delete');
SELECT throws_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[2])$$, :'a'), '42501', NULL, 'a reader cannot reorder');
RESET ROLE;

-- An admin sees every company and creates companies.
SET LOCAL ROLE segext_admin;
SELECT set_config('segext.company_id', '', true);
SELECT is((SELECT count(*)::int FROM segext.companies WHERE id IN (:'a', :'b')), 2, 'an admin sees every company');
SELECT lives_ok($$SELECT segext.create_company('Company C', 5, 5)$$, 'an admin creates a company with its built-ins');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
