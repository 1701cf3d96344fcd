-- The cached current company answers only while every input it depends on
-- is unchanged: the claims are compared only in a session of a member of
-- segext_gateway (elsewhere they do not count), so a change of the claims
-- inside a gateway's statement, a grant of segext_gateway to a login, a
-- change of role or of segext.company_id inside one statement are all
-- seen; statements of another user in between (a security definer
-- function) do not mix the answers; a cached refusal is raised by every
-- query on segext's tables; the
-- per-row policies of a distributed installation (no InitPlan) give the
-- same rows.
\set ECHO none
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(17);

SELECT segext.create_company('Cache A') AS a \gset
SELECT segext.create_company('Cache B') AS b \gset
INSERT INTO segext.segments (company_id, name) VALUES (:'a', 'A one'), (:'b', 'B one'), (:'b', 'B two');
SELECT set_config('cache.a', :'a', true), set_config('cache.b', :'b', true);

CREATE ROLE cache_login LOGIN IN ROLE segext_writer;
CREATE ROLE cache_gateway LOGIN NOINHERIT IN ROLE segext_gateway, segext_writer;
SELECT segext.grant_company(:'a', 'cache_login', 'writer');

-- A login that is no gateway: claims are ignored, whatever they say.
SET LOCAL SESSION AUTHORIZATION cache_login;
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'a login with one grant: its company');
SELECT set_config('request.jwt.claims', json_build_object('company_id', :'b')::text, true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'its claims do not count');
SELECT is((SELECT count(*)::int FROM segext.segments WHERE number >= 2), 1, 'it reads its own company only');
RESET SESSION AUTHORIZATION;

-- Made a member of segext_gateway, its claims count from the next statement.
GRANT segext_gateway TO cache_login;
SET LOCAL SESSION AUTHORIZATION cache_login;
SELECT is(segext.current_company_id(), :'b'::segext.objectid, 'once a gateway member, the same claims name the company');
RESET SESSION AUTHORIZATION;
REVOKE segext_gateway FROM cache_login;
SET LOCAL SESSION AUTHORIZATION cache_login;
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'and no longer once revoked');
SELECT set_config('request.jwt.claims', '', true);

-- segext.company_id changed inside one statement counts for the rest of it.
SELECT is((SELECT set_config('segext.company_id', current_setting('cache.b'), true) IS NOT NULL
              AND segext.current_company_id() IS NULL),
          true, 'an ungranted company named inside a statement: no current company for the rest of it');
SELECT throws_ok('SELECT count(*) FROM segext.segments', '42501', NULL, 'the next query on segext''s tables is refused');
SELECT throws_ok('SELECT count(*) FROM segext_api.segments', '42501', NULL, 'and the one after it, from the cached refusal');
SELECT set_config('segext.company_id', '', true);
RESET SESSION AUTHORIZATION;

-- Statements of another user (a security definer function of a superuser)
-- between the caller's get that user's answer, and the caller keeps its own.
CREATE FUNCTION pg_temp.cache_as_owner() RETURNS segext.objectid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'SELECT segext.current_company_id()';
SET LOCAL SESSION AUTHORIZATION cache_login;
SELECT is(pg_temp.cache_as_owner(), NULL, 'a superuser without a setting has no current company');
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'the caller keeps its own company');
SELECT is((SELECT pg_temp.cache_as_owner() IS NULL AND segext.current_company_id() OPERATOR(pg_catalog.=) current_setting('cache.a')::segext.objectid),
          true, 'both in one statement');
RESET SESSION AUTHORIZATION;

-- A gateway session: claims changed inside a statement count at once.
SET LOCAL SESSION AUTHORIZATION cache_gateway;
SET LOCAL ROLE segext_writer;
SELECT set_config('request.jwt.claims', json_build_object('company_id', :'a')::text, true);
SELECT is(segext.current_company_id(), :'a'::segext.objectid, 'a gateway''s claim names the company');
SELECT is((SELECT set_config('request.jwt.claims', json_build_object('company_id', current_setting('cache.b'))::text, true) IS NOT NULL
              AND segext.current_company_id() OPERATOR(pg_catalog.=) current_setting('cache.b')::segext.objectid),
          true, 'a claim changed inside a statement counts for the rest of it');
SELECT is((SELECT set_config('jwt.claims.company_id', current_setting('cache.a'), true) IS NOT NULL
              AND set_config('request.jwt.claims', '{}', true) IS NOT NULL
              AND segext.current_company_id() OPERATOR(pg_catalog.=) current_setting('cache.a')::segext.objectid),
          true, 'so does jwt.claims.company_id');
SELECT set_config('jwt.claims.company_id', '', true), set_config('request.jwt.claims', '', true);
RESET ROLE;
RESET SESSION AUTHORIZATION;

-- The policies of a distributed installation call the functions per row.
DO $$
DECLARE
    pol record;
    subquery text := '\( SELECT ((?:[^()]|\([^()]*\))*) AS \w+\)';
BEGIN
    FOR pol IN
        SELECT p.polname, p.polrelid::regclass AS rel, pg_get_expr(p.polqual, p.polrelid) AS qual
        FROM pg_policy p
        WHERE p.polrelid = 'segext.segments'::regclass AND pg_get_expr(p.polqual, p.polrelid) ~ 'SELECT'
    LOOP
        EXECUTE format('ALTER POLICY %I ON %s USING (%s)', pol.polname, pol.rel,
            regexp_replace(pol.qual, subquery, '(\1)', 'g'));
    END LOOP;
END $$;
SET LOCAL SESSION AUTHORIZATION cache_login;
SELECT results_eq('SELECT name FROM segext.segments WHERE number >= 2 ORDER BY name', $$VALUES ('A one')$$,
    'per-row policies: the rows of the current company');
SELECT is((SELECT count(*)::int FROM segext.segments
            WHERE set_config('segext.company_id', current_setting('cache.b'), true) IS NOT NULL
              AND company_id OPERATOR(pg_catalog.=) current_setting('cache.b')::segext.objectid),
    0, 'an ungranted company named per row gives none of its rows');
SELECT set_config('segext.company_id', '', true);
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*)::int FROM segext.segments WHERE number >= 2), 3, 'a superuser (admin) sees every company''s rows');

SELECT * FROM finish();
ROLLBACK;
