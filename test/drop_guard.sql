-- DROP EXTENSION segext and DROP SCHEMA segext CASCADE are refused while a
-- company exists (2BP01, with the count and how to confirm), and work when
-- segext.drop_with_data is on or no company is left.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(11);

SELECT lives_ok('DROP EXTENSION segext', 'with no company, DROP EXTENSION segext works');
CREATE EXTENSION segext;

SELECT segext.create_company('kept one') AS c1 \gset
SELECT segext.create_company('kept two') AS c2 \gset
INSERT INTO segext.customers (company_id, id, first_name) VALUES (:'c1', '0000000000000000000000d1', 'dora');

SELECT throws_ok('DROP EXTENSION segext CASCADE', '2BP01',
                 'cannot drop extension segext because it holds 2 companies',
                 'DROP EXTENSION segext CASCADE is refused while companies exist');
SELECT throws_ok('DROP EXTENSION IF EXISTS pgtap, segext', '2BP01', NULL,
                 'so is a drop that names segext among others');
SELECT throws_ok('DROP SCHEMA segext CASCADE', '2BP01', NULL,
                 'and DROP SCHEMA segext CASCADE');

-- The DETAIL and HINT say what would be lost and how to confirm.
CREATE FUNCTION pg_temp.drop_error() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
    hint text;
BEGIN
    DROP EXTENSION segext;
    RETURN 'dropped';
EXCEPTION WHEN dependent_objects_still_exist THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN detail || ' | ' || hint;
END
$$;
SELECT matches(pg_temp.drop_error(), 'deletes every company.* \| .*SET segext\.drop_with_data = on',
               'DETAIL names what is deleted, HINT how to confirm');
SELECT is((SELECT count(*) FROM segext.customers), 1::bigint, 'nothing was deleted');

SELECT throws_ok('DROP SCHEMA no_such_schema', '3F000', NULL,
                 'a DROP SCHEMA of another schema is not touched');

-- One company: the message says "company".
DELETE FROM segext.companies WHERE id = :'c2';
SELECT throws_ok('DROP EXTENSION segext', '2BP01',
                 'cannot drop extension segext because it holds 1 company', 'one company');

SET LOCAL segext.drop_with_data = on;
SELECT lives_ok('DROP EXTENSION segext CASCADE', 'with segext.drop_with_data on, the drop goes ahead');
SELECT is((SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'segext'), 0::bigint,
          'and segext is gone');
SELECT is(pg_catalog.to_regclass('segext.companies'), NULL, 'with its tables');

SELECT * FROM finish();
ROLLBACK;
