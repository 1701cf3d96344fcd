-- Every object of the extension, every column of the segext_api views and
-- every trigger on them has a comment (PostgREST's OpenAPI output and psql's
-- \d+ read them).
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;

SELECT plan(4);

SELECT is(ARRAY(
    SELECT pg_catalog.pg_describe_object(d.classid, d.objid, 0)
      FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'segext')
       AND d.deptype = 'e'
       AND pg_catalog.obj_description(d.objid, d.classid::regclass::text) IS NULL
       -- the operator family that CREATE OPERATOR CLASS makes implicitly is named after it
       AND NOT (d.classid = 'pg_catalog.pg_opfamily'::regclass
                AND EXISTS (SELECT FROM pg_catalog.pg_opclass c WHERE c.opcfamily = d.objid
                              AND pg_catalog.obj_description(c.oid, 'pg_opclass') IS NOT NULL))
     ORDER BY 1), '{}'::text[],
    'every member of extension segext has a comment');

SELECT is(ARRAY(
    SELECT c.relname || '.' || a.attname
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'segext_api'::regnamespace
       AND pg_catalog.col_description(c.oid, a.attnum) IS NULL
     ORDER BY 1), '{}'::text[],
    'every column of every segext_api relation has a comment');

SELECT is(ARRAY(
    SELECT t.tgname || ' on ' || t.tgrelid::regclass::text
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace IN ('segext_api'::regnamespace, 'segext'::regnamespace)
       AND NOT t.tgisinternal
       AND pg_catalog.obj_description(t.oid, 'pg_trigger') IS NULL
     ORDER BY 1), '{}'::text[],
    'every trigger on segext and segext_api relations has a comment');

SELECT is(ARRAY(
    SELECT p.oid::regprocedure::text
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'segext_api'::regnamespace
       AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL
    UNION ALL
    SELECT c.relname
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'segext_api'::regnamespace
       AND pg_catalog.obj_description(c.oid, 'pg_class') IS NULL
     ORDER BY 1), '{}'::text[],
    'every function and relation in segext_api has a comment');

SELECT * FROM finish();
ROLLBACK;
