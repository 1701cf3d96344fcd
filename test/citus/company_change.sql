-- test/citus/company_change.sql: an UPDATE through the coordinator that
-- moves a row to another company (a segment, a segment group, a channel, a
-- customer, a transaction) is refused with the error of one node (22023
-- "cannot move <what> "<name or id>" to another company", its DETAIL and
-- HINT), not Citus's 0A000 "modifying the partition value of rows is not
-- allowed", as postgres and as a writer through segext_api; nothing
-- changes; a WHERE that matches no row (also one that excludes a row of
-- the other company value) raises nothing; setting a row's own company
-- works as on one node, on one shard group.  The set-up is committed as
-- postgres first (Citus refuses to read placements that another role
-- modified in the same transaction).
SET search_path = segext, public;
SELECT plan(24);
\ir ../helpers/task_count.sql

-- error_of runs a statement and returns its SQLSTATE, message, DETAIL and
-- HINT (a temporary function: Citus creates it on the coordinator only).
SET client_min_messages = error;
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hint text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RETURN ARRAY[st, msg, det, hint];
END $$;
-- moved is what one node raises when a row moves to another company.
CREATE FUNCTION pg_temp.moved(what text, label text) RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY['22023', format('cannot move %s "%s" to another company', what, label),
                 format('The company_id of a %s never changes.', what),
                 format('Create the %s in the other company and delete this one.', what)]
$$;
-- rows_of counts the rows of company c in segext's five tables whose rules keep it.
CREATE FUNCTION pg_temp.rows_of(c segext.objectid) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN concat_ws(',',
        (SELECT count(*) FROM segext.segments WHERE company_id = c),
        (SELECT count(*) FROM segext.segment_groups WHERE company_id = c),
        (SELECT count(*) FROM segext.channels WHERE company_id = c),
        (SELECT count(*) FROM segext.customers WHERE company_id = c),
        (SELECT count(*) FROM segext.transactions WHERE company_id = c));
END $$;
RESET client_min_messages;

DELETE FROM segext.companies WHERE name IN ('Company change A', 'Company change B');
SELECT segext.create_company('Company change A') AS a \gset
SELECT segext.create_company('Company change B') AS b \gset
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'a', 'Gold', '[{"type": "transaction_count", "min": 1, "max": 1000}]');
SELECT id AS gold FROM segext.segments WHERE company_id = :'a' AND name = 'Gold' \gset
INSERT INTO segext.segment_groups (company_id, id, name) VALUES (:'a', 7, 'Silver');
INSERT INTO segext.channels (company_id, id, name, segment_mix)
    VALUES (:'a', '0000000000000000000000a1', 'Web', pg_catalog.jsonb_build_array(
        pg_catalog.jsonb_build_object('segment_id', :'gold', 'distribution', 1)));
INSERT INTO segext.customers (company_id, id, external_id) VALUES (:'a', '0000000000000000000000b1', 'company-change-b1');
INSERT INTO segext.transactions (company_id, id, customer_id, amount)
    VALUES (:'a', '0000000000000000000000c1', '0000000000000000000000b1', 10);
SELECT pg_temp.rows_of(:'a') AS rows_a, pg_temp.rows_of(:'b') AS rows_b \gset

-- As postgres, with the company in the WHERE (one shard group).
SELECT is(pg_temp.error_of(format($$UPDATE segext.segments SET company_id = %L WHERE company_id = %L AND name = 'Gold'$$, :'b', :'a')),
          pg_temp.moved('segment', 'Gold'), 'moving a segment: one node''s error');
SELECT is(pg_temp.error_of(format($$UPDATE segext.segment_groups SET company_id = %L WHERE company_id = %L AND id = 7$$, :'b', :'a')),
          pg_temp.moved('segment group', 'Silver'), 'moving a segment group: one node''s error');
SELECT is(pg_temp.error_of(format($$UPDATE segext.channels SET company_id = %L, name = 'Moved' WHERE company_id = %L AND name = 'Web'$$, :'b', :'a')),
          pg_temp.moved('channel', 'Web'), 'moving a channel: one node''s error');
SELECT is(pg_temp.error_of(format($$UPDATE segext.customers SET company_id = %L WHERE company_id = %L AND external_id = 'company-change-b1'$$, :'b', :'a')),
          pg_temp.moved('customer', '0000000000000000000000b1'), 'moving a customer: one node''s error, with its id');
SELECT is(pg_temp.error_of(format($$UPDATE segext.transactions SET company_id = %L WHERE company_id = %L AND id = '0000000000000000000000c1'$$, :'b', :'a')),
          pg_temp.moved('transaction', '0000000000000000000000c1'), 'moving a transaction: one node''s error, with its id');
-- Without the company in the WHERE (every shard), and to no company.
SELECT is(pg_temp.error_of($$UPDATE segext.segments SET company_id = NULL WHERE name = 'Gold'$$),
          pg_temp.moved('segment', 'Gold'), 'to no company, on every shard: one node''s error');
SELECT is(pg_temp.error_of(format($$UPDATE segext.segments SET company_id = %L WHERE name = 'Gold' AND company_id = %L$$, :'a', :'b')),
          NULL, 'a WHERE that matches no row raises nothing');
SELECT is(pg_temp.error_of(format($$UPDATE segext.segments SET company_id = %L WHERE company_id = %L AND pg_catalog.length(description) > 10000$$, :'b', :'a')),
          NULL, 'nor one whose condition excludes a row of the other company value');
SELECT is(pg_temp.task_count(format($$UPDATE segext.segments SET company_id = %L WHERE company_id = %L AND name = 'Gold'$$, :'b', :'a')),
          1, 'an UPDATE of one company''s row that moves it is one task');
SELECT is(pg_temp.rows_of(:'a') || ' ' || pg_temp.rows_of(:'b'), :'rows_a' || ' ' || :'rows_b', 'nothing moved');

-- Setting a row's own company works, as on one node.
UPDATE segext.segments SET company_id = :'a', description = 'kept' WHERE company_id = :'a' AND name = 'Gold';
SELECT description FROM segext.segments WHERE company_id = :'a' AND name = 'Gold' \gset
SELECT is(:'description'::text, 'kept', 'setting a segment''s own company updates it');
SELECT is(pg_temp.error_of(format($$UPDATE segext.customers SET company_id = %L::segext.objectid, first_name = 'Kept' WHERE external_id = 'company-change-b1'$$, :'a')),
          NULL, 'also without the company in the WHERE');
SELECT first_name FROM segext.customers WHERE company_id = :'a' AND external_id = 'company-change-b1' \gset
SELECT is(:'first_name'::text, 'Kept', 'and it updates the customer');

-- As a writer of company A through segext_api, as PostgREST sends a PATCH.
SET client_min_messages = warning;
DROP ROLE IF EXISTS company_change_auth;
DROP ROLE IF EXISTS company_change_writer;
RESET client_min_messages;
CREATE ROLE company_change_writer LOGIN IN ROLE segext_writer;
CREATE ROLE company_change_auth LOGIN NOINHERIT;
GRANT segext_gateway, company_change_writer TO company_change_auth;
SELECT format('{"role":"company_change_writer","company_id":"%s"}', :'a') AS claims \gset
\set as_writer 'SELECT set_config(''session_authorization'', ''company_change_auth'', true), set_config(''search_path'', ''"segext_api", "public", "segext"'', true), set_config(''role'', ''company_change_writer'', true), set_config(''request.jwt.claims'', :''claims'', true) \\g /dev/null'

BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$UPDATE segext_api.segments SET company_id = %L WHERE name = 'Gold'$$, :'b')),
          pg_temp.moved('segment', 'Gold'), 'a writer moving a segment through segext_api: one node''s error');
COMMIT;
BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$UPDATE segext_api.segment_groups SET company_id = %L WHERE id = 7$$, :'b')),
          pg_temp.moved('segment group', 'Silver'), 'a segment group');
COMMIT;
BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$UPDATE segext_api.channels SET company_id = %L WHERE name = 'Web'$$, :'b')),
          pg_temp.moved('channel', 'Web'), 'a channel');
COMMIT;
BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$UPDATE segext_api.customers SET company_id = %L WHERE external_id = 'company-change-b1'$$, :'b')),
          pg_temp.moved('customer', '0000000000000000000000b1'), 'a customer');
COMMIT;
BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$UPDATE segext_api.transactions SET company_id = %L WHERE id = '0000000000000000000000c1'$$, :'b')),
          pg_temp.moved('transaction', '0000000000000000000000c1'), 'a transaction');
COMMIT;
BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$UPDATE segext_api.segments SET company_id = %L WHERE name = 'No such segment'$$, :'b')),
          NULL, 'a writer''s WHERE that matches no row raises nothing');
COMMIT;
BEGIN;
:as_writer
SELECT is(pg_temp.task_count(format($$UPDATE segext_api.segments SET company_id = %L WHERE name = 'Gold'$$, :'b')),
          1, 'a writer''s UPDATE that moves a row is one task');
COMMIT;
BEGIN;
:as_writer
UPDATE segext_api.segments SET company_id = :'a', description = 'writer kept' WHERE name = 'Gold';
COMMIT;
SELECT description FROM segext.segments WHERE company_id = :'a' AND name = 'Gold' \gset
SELECT is(:'description'::text, 'writer kept', 'a writer setting a segment''s own company updates it');
SELECT is(pg_temp.rows_of(:'a') || ' ' || pg_temp.rows_of(:'b'), :'rows_a' || ' ' || :'rows_b', 'nothing moved');

-- A row of company B that the writer of A does not see: nothing, as on one node.
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'b', 'Hidden', '[{"type": "transaction_count", "min": 1, "max": 1000}]');
BEGIN;
:as_writer
SELECT is(pg_temp.error_of(format($$UPDATE segext.segments SET company_id = %L WHERE name = 'Hidden'$$, :'a')),
          NULL, 'a writer moving a row of another company it does not see: nothing');
COMMIT;
SELECT count(*) AS hidden FROM segext.segments WHERE company_id = :'b' AND name = 'Hidden' \gset
SELECT is(:'hidden'::int, 1, 'and it stays where it is');

DELETE FROM segext.companies WHERE id IN (:'a', :'b');
DROP ROLE company_change_auth;
DROP ROLE company_change_writer;

SELECT * FROM finish();
