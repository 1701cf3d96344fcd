-- Statements segext prepares once per backend (rules, returns, membership)
-- are prepared again when the extension is dropped and created in the same
-- session, whose segext.objectid is then a new type: the same steps work
-- before and after (test/helpers/kept_plan_steps.sql).
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(8);

SELECT oid AS old_type FROM pg_catalog.pg_type WHERE typname = 'objectid' \gset
\set label 'before'
\ir helpers/kept_plan_steps.sql

SET LOCAL segext.drop_with_data = on;
DROP EXTENSION segext CASCADE;
CREATE EXTENSION segext;
SELECT isnt((SELECT oid FROM pg_catalog.pg_type WHERE typname = 'objectid'), :'old_type'::oid,
            'the extension created again has a new objectid type');
SELECT is((SELECT count(*) FROM segext.companies), 0::bigint, 'and no company');
\set label 'after'
\ir helpers/kept_plan_steps.sql

SELECT * FROM finish();
ROLLBACK;
