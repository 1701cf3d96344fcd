-- test/citus/company_delete.sql: deleting a company through the coordinator
-- deletes its grants (segext.company_roles, a reference table that Citus
-- does not let reference companies), as the foreign key's ON DELETE CASCADE
-- does on one node: for a superuser, for an admin, in a writable CTE, not
-- when the DELETE is rolled back, and only those of the companies the
-- DELETE removed (not those of companies its role does not see).
SET search_path = segext, public;
SELECT plan(9);

SET client_min_messages = warning;
DROP ROLE IF EXISTS segext_citus_granted, segext_citus_deleting_admin, segext_citus_deleting_writer;
RESET client_min_messages;
CREATE ROLE segext_citus_granted LOGIN;
CREATE ROLE segext_citus_deleting_admin LOGIN IN ROLE segext_admin;
CREATE ROLE segext_citus_deleting_writer LOGIN IN ROLE segext_writer;
GRANT DELETE ON segext.companies TO segext_citus_deleting_writer;

SELECT segext.create_company('Deleted by postgres') AS a \gset
SELECT segext.create_company('Deleted by an admin') AS b \gset
SELECT segext.create_company('Deleted in a CTE') AS c \gset
SELECT segext.create_company('Deleted and rolled back') AS d \gset
SELECT segext.create_company('Deleted by its writer') AS e \gset
SELECT segext.create_company('Kept') AS k \gset
SELECT segext.grant_company(x, 'segext_citus_granted', 'reader')
  FROM unnest(ARRAY[:'a', :'b', :'c', :'d', :'e', :'k']::segext.objectid[]) AS x \g /dev/null
SELECT segext.grant_company(:'a', 'segext_citus_deleting_admin', 'writer') \g /dev/null
SELECT segext.grant_company(:'e', 'segext_citus_deleting_writer', 'writer') \g /dev/null

DELETE FROM segext.companies WHERE id = :'a';
SELECT (SELECT count(*) FROM segext.company_roles WHERE company_id = :'a') AS v1 \gset
SELECT is(:'v1'::int, 0, 'a superuser deletes a company: its grants go, to every role');
SELECT (SELECT string_agg(g.role::text || ':' || g.level, ',' ORDER BY g.role::text) FROM segext.company_roles AS g
        WHERE g.company_id = :'k') AS v2 \gset
SELECT is(:'v2'::text, 'segext_citus_granted:reader'::text, 'the grants of the other companies stay');
SELECT (SELECT count(*) FROM pg_catalog.run_command_on_workers(
            format($$SELECT count(*) FROM segext.company_roles WHERE company_id = %L$$, :'a'))
        WHERE result::int = 0 AND success) AS v3 \gset
SELECT is(:'v3'::int, 2, 'on both workers too');

SET ROLE segext_citus_deleting_admin;
DELETE FROM segext.companies WHERE id = :'b';
RESET ROLE;
SELECT (SELECT count(*) FROM segext.company_roles WHERE company_id = :'b') AS v4 \gset
SELECT is(:'v4'::int, 0, 'an admin deletes a company: its grants go (an admin may not read every grant itself)');

WITH gone AS (DELETE FROM segext.companies WHERE id = :'c' RETURNING id) SELECT count(*) FROM gone \g /dev/null
SELECT (SELECT count(*) FROM segext.company_roles WHERE company_id = :'c') AS v5 \gset
SELECT is(:'v5'::int, 0, 'a DELETE in a writable CTE: its grants go');

BEGIN;
DELETE FROM segext.companies WHERE id = :'d';
ROLLBACK;
SELECT (SELECT string_agg(g.role::text || ':' || g.level, ',' ORDER BY g.role::text) FROM segext.company_roles AS g
        WHERE g.company_id = :'d') AS v6 \gset
SELECT is(:'v6'::text, 'segext_citus_granted:reader'::text, 'a DELETE rolled back keeps the grants');

BEGIN;
SAVEPOINT s;
DELETE FROM segext.companies WHERE id = :'d';
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT (SELECT string_agg(g.role::text || ':' || g.level, ',' ORDER BY g.role::text) FROM segext.company_roles AS g
        WHERE g.company_id = :'d') AS v7 \gset
SELECT is(:'v7'::text, 'segext_citus_granted:reader'::text, 'so does a DELETE rolled back to a savepoint');

-- A role that deletes without seeing every company (a writer given DELETE on
-- companies): it deletes its current company only, and only that company's
-- grants go.
SET ROLE segext_citus_deleting_writer;
DELETE FROM segext.companies;
RESET ROLE;
SELECT (SELECT count(*) FROM segext.company_roles WHERE company_id = :'e') AS v8 \gset
SELECT is(:'v8'::int, 0, 'a writer allowed to delete deletes its company, with its grants');
SELECT (SELECT pg_catalog.string_agg(c.name, ',' ORDER BY c.name) FROM segext.companies AS c
        JOIN segext.company_roles AS g ON g.company_id = c.id AND g.role::text = 'segext_citus_granted'
        WHERE c.id IN (:'d', :'k')) AS v9 \gset
SELECT is(:'v9'::text, 'Deleted and rolled back,Kept'::text, 'the grants of the companies it does not see stay');

DELETE FROM segext.companies WHERE id IN (:'d', :'k');
REVOKE DELETE ON segext.companies FROM segext_citus_deleting_writer;
DROP ROLE segext_citus_granted, segext_citus_deleting_admin, segext_citus_deleting_writer;

SELECT * FROM finish();
