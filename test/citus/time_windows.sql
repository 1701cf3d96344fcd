-- test/citus/time_windows.sql: segext.recheck_time_windows through the
-- coordinator gives one node's results (test/time_windows.sql): a customer
-- whose last_purchase_n_days_before window passed since the last run leaves
-- the segment, with history; the run is recorded for its company only; a
-- second run changes nothing, nor does a run of every company;
-- a reader is refused.  Each step commits (Citus refuses switching role
-- after a write in one transaction); values are read, then asserted.
SET search_path = segext, public;
SELECT plan(8);

SET client_min_messages = warning;
DELETE FROM segext.companies WHERE name IN ('Windows on Citus', 'Windows on Citus B');
DROP ROLE IF EXISTS citus_windows_reader;
RESET client_min_messages;
CREATE ROLE citus_windows_reader LOGIN IN ROLE segext_reader;
SELECT segext.create_company('Windows on Citus') AS a \gset
SELECT segext.create_company('Windows on Citus B') AS b \gset
SELECT segext.grant_company(:'a', 'citus_windows_reader', 'reader') \g /dev/null
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'recent', '[{"type": "last_purchase_n_days_before", "days": 3}]');
SELECT id AS recent FROM segext.segments WHERE company_id = :'a' AND name = 'recent' \gset
INSERT INTO segext.customers (company_id, id, first_name) VALUES (:'a', '0000000000000000000000e6', 'p6');
-- p6 bought 4 days ago; at the last run, 2 days ago, it was a member
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount)
VALUES (:'a', '0000000000000000000000e6', now() - interval '4 days', 10);
INSERT INTO segext.memberships (company_id, segment_id, customer_id) VALUES (:'a', :'recent', '0000000000000000000000e6');
INSERT INTO segext.time_window_checks (company_id, checked_at) VALUES (:'a', now() - interval '2 days');

SELECT segext.recheck_time_windows(:'a') AS changes \gset
SELECT :'changes'::int8 >= 1 AS changed \gset
SELECT ok(:'changed'::bool, 'recheck through the coordinator: returns the membership changes');
SELECT (SELECT count(*) FROM segext.memberships
         WHERE company_id = :'a' AND segment_id = :'recent' AND customer_id = '0000000000000000000000e6') AS still \gset
SELECT is(:'still'::int, 0, 'recheck: the customer whose window passed left the segment');
SELECT (SELECT kind FROM segext.membership_history
         WHERE company_id = :'a' AND segment_id = :'recent' AND customer_id = '0000000000000000000000e6'
         ORDER BY id DESC LIMIT 1) AS kind \gset
SELECT is(:'kind'::text, 'left', 'recheck: history says it left');
SELECT (SELECT checked_at > now() - interval '1 minute' AND customers >= 1
          FROM segext.time_window_checks WHERE company_id = :'a') AS recorded \gset
SELECT ok(:'recorded'::bool, 'recheck: the run of the company is recorded, with the customers it re-evaluated');
SELECT segext.recheck_time_windows(:'a') AS again \gset
SELECT is(:'again'::int8, 0::int8, 'a second recheck: no change');
SELECT segext.recheck_time_windows(:'b') AS b_changes \gset
SELECT (SELECT count(*) FROM segext.time_window_checks WHERE company_id IN (:'a', :'b')) AS runs \gset
SELECT is(:'b_changes' || ' ' || :'runs', '0 2', 'recheck of a company without time criteria: no change, its own run row');
-- (other files' companies may be there too: only A's members are checked)
SELECT segext.recheck_time_windows() \g /dev/null
SELECT (SELECT count(*) FROM segext.memberships WHERE company_id = :'a' AND segment_id = :'recent') AS recent_members \gset
SELECT is(:'recent_members'::int, 0, 'recheck of every company just after: A''s members unchanged');

-- A reader of the company is refused.
BEGIN;
SET LOCAL ROLE citus_windows_reader;
SELECT set_config('segext.company_id', :'a', true) \g /dev/null
DO $$
BEGIN
    PERFORM segext.recheck_time_windows();
    PERFORM set_config('citus_windows.refused', 'no error', false);
EXCEPTION WHEN OTHERS THEN
    PERFORM set_config('citus_windows.refused', SQLSTATE || ' ' || SQLERRM, false);
END $$;
COMMIT;
SELECT is(current_setting('citus_windows.refused'), format('42501 permission denied to change rows of company "%s"', :'a'),
          'recheck as a reader: refused');

SELECT * FROM finish();
