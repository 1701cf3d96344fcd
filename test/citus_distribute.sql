-- test/citus_distribute.sql: on a server without Citus, segext.distribute()
-- refuses with 55000 and a hint, and only superusers and members of
-- segext_admin may call it (test/citus/ runs it on Citus).
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SELECT plan(3);
SELECT throws_like('SELECT segext.distribute()', 'extension "citus" is not installed',
                   'distribute() refuses without Citus');
SELECT throws_ok('SELECT segext.distribute()', '55000', NULL, 'with SQLSTATE 55000');
CREATE ROLE segext_distribute_nobody;
SET LOCAL ROLE segext_distribute_nobody;
SELECT throws_ok('SELECT segext.distribute()', '42501', NULL, 'a role without segext_admin may not call it');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
