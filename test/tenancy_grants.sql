-- Companies are granted, not claimed: segext.company_id names only a company
-- granted to the current role (or a role it is a member of); with no
-- setting the one granted company is current; JWT claims count only in a
-- session of a member of segext_gateway; a reader grant never writes, even
-- with segext_writer's table privileges; grant and revoke count from the
-- next statement; grant_company and revoke_company are for admins and
-- refuse bad input.
\set ECHO none
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(49);

DO $$
BEGIN
    EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
    EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
END $$;

SELECT segext.create_company('Grant A') AS a \gset
SELECT segext.create_company('Grant B') AS b \gset
INSERT INTO segext.segments (company_id, name) VALUES (:'a', 'A one'), (:'b', 'B one');
SELECT set_config('grants.b', :'b', true);

-- bi: a BI login with segext_reader; mixed: segext_writer, granted A to
-- write and B to read; team: a group role granted B, whose member is member.
CREATE ROLE grants_bi LOGIN IN ROLE segext_reader;
CREATE ROLE grants_mixed LOGIN IN ROLE segext_writer;
CREATE ROLE grants_team NOLOGIN;
CREATE ROLE grants_member LOGIN IN ROLE segext_writer, grants_team;
CREATE ROLE grants_gateway LOGIN NOINHERIT IN ROLE segext_gateway, segext_writer, segext_reader;
CREATE ROLE grants_admin LOGIN IN ROLE segext_admin;

-- grant_company and revoke_company: input and privileges.
SELECT lives_ok(format($$SELECT segext.grant_company(%L, 'grants_bi')$$, :'a'), 'an admin grants a company (reader by default)');
SELECT lives_ok(format($$SELECT segext.grant_company(%L, 'grants_mixed', 'writer')$$, :'a'), 'a writer grant');
SELECT lives_ok(format($$SELECT segext.grant_company(%L, 'grants_mixed', 'writer')$$, :'b'), 'a second grant');
SELECT lives_ok(format($$SELECT segext.grant_company(%L, 'grants_mixed', 'reader')$$, :'b'), 'granting again changes the level');
SELECT lives_ok(format($$SELECT segext.grant_company(%L, 'grants_team', 'writer')$$, :'b'), 'a grant to a group role');
SELECT results_eq(format($$SELECT role::text, level FROM segext.company_roles WHERE company_id = %L ORDER BY 1$$, :'b'),
    $$VALUES ('grants_mixed', 'reader'), ('grants_team', 'writer')$$, 'one row per company and role, with the last level');
SELECT throws_ok(format($$SELECT segext.grant_company(%L, 'grants_bi', 'owner')$$, :'a'), '22023',
    'invalid company grant level "owner"', 'an unknown level is 22023');
SELECT throws_ok($$SELECT segext.grant_company('ffffffffffffffffffffffff', 'grants_bi')$$, '23503',
    'company "ffffffffffffffffffffffff" does not exist', 'an unknown company is 23503');
SELECT throws_ok(format($$SELECT segext.grant_company(%L, 'no_such_role')$$, :'a'), '42704', NULL, 'an unknown role is 42704');
SELECT throws_ok(format($$SELECT segext.grant_company(%L, NULL)$$, :'a'), '22004', NULL, 'a NULL role is 22004');
SELECT throws_ok(format($$SELECT segext.grant_company(%L, '-')$$, :'a'), '22023', NULL, 'no role (oid 0) is 22023');
SELECT throws_ok($$SELECT segext.revoke_company('ffffffffffffffffffffffff', 'grants_bi')$$, '23503', NULL,
    'revoking an unknown company is 23503');
SELECT ok(has_function_privilege('segext_admin', 'segext.grant_company(segext.objectid, regrole, text)', 'EXECUTE')
      AND NOT has_function_privilege('segext_writer', 'segext.grant_company(segext.objectid, regrole, text)', 'EXECUTE')
      AND NOT has_function_privilege('segext_writer', 'segext.revoke_company(segext.objectid, regrole)', 'EXECUTE')
      AND NOT has_function_privilege('segext_writer', 'segext_api.grant_company(segext.objectid, regrole, text)', 'EXECUTE'),
    'grant_company and revoke_company: EXECUTE for segext_admin only');

-- A BI login granted one company: it is current without a setting.
SET LOCAL SESSION AUTHORIZATION grants_bi;
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'with no setting, the one granted company is current');
SELECT is(segext.current_company_writable(), false, 'through a reader grant');
SELECT results_eq('SELECT name FROM segext.segments WHERE number >= 2', $$VALUES ('A one')$$, 'the BI login reads its company');
SELECT set_config('segext.company_id', :'b', true);
SELECT throws_ok('SELECT count(*) FROM segext.segments', '42501', 'permission denied for company "' || :'b' || '"',
    'naming a company that is not granted is 42501');
SELECT throws_ok(format($$SELECT set_config('segext.company_id', %L, false), count(*) FROM segext_api.segments$$, :'b'),
    '42501', NULL, 'set_config inside the query is refused the same way');
SELECT set_config('segext.company_id', '', true);
-- The error names the company and the role, and the fix.
CREATE TEMP TABLE grants_error (detail text, hint text);
DO $$
DECLARE
    d text;
    h text;
BEGIN
    PERFORM set_config('segext.company_id', current_setting('grants.b'), true);
    PERFORM count(*) FROM segext.segments;
EXCEPTION WHEN insufficient_privilege THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    INSERT INTO grants_error VALUES (d, h);
END $$;
SELECT is(detail, format('Company "%s" is not granted to role "grants_bi" nor to a role it is a member of, so segext.company_id cannot name it.', :'b'),
    'DETAIL names the company and the role') FROM grants_error;
SELECT is(hint, format('A member of segext_admin can grant it: SELECT segext.grant_company(''%s'', ''grants_bi'', ''reader'');', :'b'),
    'HINT names segext.grant_company') FROM grants_error;
SELECT set_config('segext.company_id', '', true);
-- Claims from a session that is not a gateway's give nothing.
SELECT set_config('request.jwt.claims', json_build_object('role', 'segext_reader', 'company_id', :'b')::text, true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'request.jwt.claims of a non-gateway session is ignored');
SELECT set_config('request.jwt.claims', 'not json', true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'a claim that is not JSON is ignored too');
SELECT set_config('request.jwt.claims', '', true);
SELECT set_config('jwt.claims.company_id', :'b', true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'jwt.claims.company_id of a non-gateway session is ignored');
SELECT set_config('jwt.claims.company_id', '', true);
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'x')$$, :'a'), '42501', NULL,
    'a BI login cannot write');
RESET SESSION AUTHORIZATION;

-- A writer of A that reads B: the reader grant never writes.
SET LOCAL SESSION AUTHORIZATION grants_mixed;
SELECT is(segext.current_company_id(), NULL, 'two granted companies and no setting: no current company');
SELECT set_config('segext.company_id', :'b', true);
SELECT is((SELECT count(*)::int FROM segext.segments WHERE number >= 2), 1, 'it reads B');
SELECT is(segext.current_company_writable(), false, 'B is not writable for it');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'planted')$$, :'b'), '42501',
    'permission denied to change rows of company "' || :'b' || '"', 'insert into B is refused by the rules trigger');
SELECT throws_ok($$INSERT INTO segext_api.segment_groups (name) VALUES ('planted')$$, '42501',
    'permission denied to change rows of company "' || :'b' || '"', 'insert through the API is refused');
SELECT throws_ok($$UPDATE segext.segments SET name = 'hacked' WHERE number = 2$$, '42501',
    'permission denied to change rows of company "' || :'b' || '"', 'update of B is refused');
SELECT throws_ok($$DELETE FROM segext.segments WHERE number = 2$$, '42501', NULL, 'delete of B is refused');
SELECT throws_ok($$UPDATE segext.companies SET name = 'hacked'$$, '42501', NULL, 'renaming B is refused');
SELECT set_config('segext.company_id', :'a', true);
SELECT lives_ok($$UPDATE segext.segments SET description = 'mine' WHERE number = 2$$, 'it writes A');
SELECT is(segext.current_company_writable(), true, 'A is writable for it');
SELECT set_config('segext.company_id', '', true);
RESET SESSION AUTHORIZATION;
SELECT is((SELECT name FROM segext.segments WHERE company_id = :'b' AND number = 2), 'B one', 'B''s segment is unchanged');

-- A member of a granted group role has the group's grant.
SET LOCAL SESSION AUTHORIZATION grants_member;
SELECT is(segext.current_company_id(), :'b'::segext.objectid, 'the grant of a group role counts for its members');
SELECT is(segext.current_company_writable(), true, 'at the group''s level');
RESET SESSION AUTHORIZATION;

-- A gateway session: its claims name the company, for the JWT's role.
SET LOCAL SESSION AUTHORIZATION grants_gateway;
SET LOCAL ROLE segext_writer;
SELECT set_config('request.jwt.claims', json_build_object('role', 'segext_writer', 'company_id', :'b')::text, true);
SELECT is(segext.current_company_id(), :'b'::segext.objectid, 'a gateway session''s request.jwt.claims names the company');
SELECT set_config('request.jwt.claims', '{"role": "segext_writer"}', true);
SELECT set_config('jwt.claims.company_id', :'a', true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'and jwt.claims.company_id (PostGraphile)');
SELECT set_config('jwt.claims.company_id', '', true);
SELECT is(segext.current_company_id(), NULL, 'without a claim, nothing is granted to the JWT role');
SELECT set_config('request.jwt.claims', 'not json', true);
SELECT throws_ok('SELECT count(*) FROM segext.segments', '22P02', 'invalid request.jwt.claims: not a JSON text', 'a gateway''s claims that are not JSON are 22P02');
SELECT set_config('request.jwt.claims', '', true);
RESET ROLE;
RESET SESSION AUTHORIZATION;

-- An admin acts for every company.
SET LOCAL SESSION AUTHORIZATION grants_admin;
SELECT set_config('segext.company_id', :'b', true);
SELECT is(segext.current_company_id(), :'b'::segext.objectid, 'an admin names any company');
SELECT is((SELECT count(*)::int FROM segext_api.company_roles), 4, 'an admin sees every grant');
SELECT lives_ok(format($$SELECT segext_api.revoke_company(%L, 'grants_bi')$$, :'a'), 'an admin revokes through the API');
SELECT set_config('segext.company_id', '', true);
RESET SESSION AUTHORIZATION;

-- Grant and revoke count from the next statement, also in one transaction.
SET LOCAL SESSION AUTHORIZATION grants_bi;
SELECT is(segext.current_company_id(), NULL, 'after the revoke, the BI login has no company');
SELECT is((SELECT count(*)::int FROM segext_api.company_roles), 0, 'and sees no grant');
RESET SESSION AUTHORIZATION;
SELECT segext.grant_company(:'b', 'grants_bi');
SET LOCAL SESSION AUTHORIZATION grants_bi;
SELECT is(segext.current_company_id(), :'b'::segext.objectid, 'after a new grant, the next statement sees it');
SELECT results_eq('SELECT company_id::text, role::text, level FROM segext_api.company_roles',
    format($$VALUES (%L, 'grants_bi', 'reader')$$, :'b'), 'a role sees its own grants in the API');
RESET SESSION AUTHORIZATION;
DELETE FROM segext.companies WHERE id = :'b';
SELECT is((SELECT count(*)::int FROM segext.company_roles WHERE company_id = :'b'), 0, 'deleting a company deletes its grants');

SELECT * FROM finish();
ROLLBACK;
