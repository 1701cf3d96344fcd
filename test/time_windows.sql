-- Time windows re-checked on a schedule: segext.time_window_candidates finds
-- the customers whose last_purchase_n_days_before or anniversary window edge
-- was crossed between two times (day boundaries in the session's time zone,
-- 29 February, year ends, registrations indexed by their UTC date), reads
-- nothing for a company without such criteria; recheck_time_windows keeps
-- its last run per company, moves a customer out of a window that passed,
-- refuses a reader; refresh_all is for admins only.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SET LOCAL TimeZone = 'UTC';
SELECT plan(43);

DO $$
BEGIN
    EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
END $$;
CREATE ROLE time_windows_writer LOGIN IN ROLE segext_writer;
CREATE ROLE time_windows_reader LOGIN IN ROLE segext_reader;
CREATE ROLE time_windows_admin LOGIN IN ROLE segext_admin;

SELECT segext.create_company('Windows A') AS a \gset
SELECT segext.create_company('Windows B') AS b \gset
SELECT segext.grant_company(:'a', 'time_windows_writer', 'writer') \g /dev/null
SELECT segext.grant_company(:'a', 'time_windows_reader', 'reader') \g /dev/null

-- candidates(from, to): the sorted first names of company A's candidates.
CREATE FUNCTION pg_temp.candidates(company segext.objectid, from_at timestamptz, to_at timestamptz) RETURNS text[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(DISTINCT c.first_name ORDER BY c.first_name), '{}')
      FROM segext.time_window_candidates(company, from_at, to_at) AS t(id)
      JOIN segext.customers AS c ON c.company_id OPERATOR(pg_catalog.=) company AND c.id OPERATOR(pg_catalog.=) t.id $$;

-- Customers of A: purchases (p*), birthdays (b*), registrations (r*).
INSERT INTO segext.customers (company_id, id, first_name, birth_date, registered_at)
SELECT :'a', lpad(to_hex(row_number() OVER ()), 24, '0')::segext.objectid, v.name, v.birth::date, v.registered::timestamptz
  FROM (VALUES ('p1', NULL, '2010-05-05 12:00+00'), ('p2', NULL, '2010-05-05 12:00+00'),
               ('p3', NULL, '2010-05-05 12:00+00'), ('p4', NULL, '2010-05-05 12:00+00'),
               ('p5', NULL, '2010-05-05 12:00+00'), ('p6', NULL, '2010-05-05 12:00+00'),
               ('b1', '1990-06-13', '2010-05-05 12:00+00'), ('b2', '1990-06-12', '2010-05-05 12:00+00'),
               ('b3', '1985-06-19', '2010-05-05 12:00+00'), ('b4', '1992-02-29', '2010-05-05 12:00+00'),
               ('b5', '2000-01-02', '2010-05-05 12:00+00'), ('b6', '1970-12-31', '2010-05-05 12:00+00'),
               ('b7', '1993-02-28', '2010-05-05 12:00+00'),
               ('r1', NULL, '2019-03-15 23:30+00'), ('r2', NULL, '2019-03-16 12:00+00')) AS v(name, birth, registered);
SELECT id AS p1 FROM segext.customers WHERE company_id = :'a' AND first_name = 'p1' \gset
SELECT id AS p6 FROM segext.customers WHERE company_id = :'a' AND first_name = 'p6' \gset
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount)
SELECT :'a', c.id, v.at::timestamptz, 10
  FROM (VALUES ('p1', '2025-06-10 00:00+00'), ('p2', '2025-06-09 23:59:59+00'), ('p3', '2025-06-12 12:00+00'),
               ('p4', '2025-06-09 10:00+00'), ('p5', '2025-06-01 10:00+00'), ('p5', '2025-06-09 12:00+00'))
       AS v(name, at)
  JOIN segext.customers AS c ON c.company_id = :'a' AND c.first_name = v.name;
-- p5's later sale is fully returned: its last counted sale is the earlier one
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, returns_id)
SELECT :'a', t.customer_id, '2025-06-09 13:00+00', -10, t.id
  FROM segext.transactions AS t JOIN segext.customers AS c ON c.company_id = t.company_id AND c.id = t.customer_id
 WHERE t.company_id = :'a' AND c.first_name = 'p5' AND t.occurred_at = '2025-06-09 12:00+00';

SELECT is((SELECT last_sale_at FROM segext.customer_states WHERE company_id = :'a' AND customer_id = :'p1'),
          '2025-06-10 00:00+00'::timestamptz, 'last_sale_at is the latest counted sale');
SELECT is((SELECT last_sale_at FROM segext.customer_states s JOIN segext.customers c ON c.company_id = s.company_id AND c.id = s.customer_id
            WHERE s.company_id = :'a' AND c.first_name = 'p5'),
          '2025-06-01 10:00+00'::timestamptz, 'last_sale_at skips a fully returned sale');
SELECT is(segext.customer_state_last_sale(NULL), NULL, 'customer_state_last_sale of no figures is NULL');
SELECT is(segext.month_day('2024-02-29'), 229, 'month_day of 29 February');
SELECT is(segext.month_day('infinity'), NULL, 'month_day of an infinite date is NULL');
SELECT is(segext.utc_month_day('2019-03-15 23:30-02'), 316, 'utc_month_day takes the UTC date');

-- A company without time criteria: no candidate, and nothing read.
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'buyers', '[{"type": "transaction_count", "min": 1, "max": 100}]');
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'any birthday', '[{"type": "anniversary", "anniversaryType": "birthday", "days": 366}]');
CREATE TEMP TABLE scans AS
    SELECT relid, seq_scan, idx_scan FROM pg_stat_xact_user_tables
     WHERE relid IN ('segext.customers'::regclass, 'segext.customer_states'::regclass);
SELECT is(pg_temp.candidates(:'a', '2000-01-01', '2030-01-01'), '{}',
          'no time criteria (a window of 366 days holds every birthday all year): no candidate');
SELECT is((SELECT count(*) FROM pg_stat_xact_user_tables x JOIN scans s USING (relid)
            WHERE (x.seq_scan, x.idx_scan) IS DISTINCT FROM (s.seq_scan, s.idx_scan)), 0::bigint,
          'no time criteria: neither customers nor customer states were scanned');

-- Last purchase within 3 days.  Between 12 June 10:00 and 13 June 10:00 the
-- window start moves from 9 June 00:00 to 10 June 00:00.
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'recent', '[{"type": "last_purchase_n_days_before", "days": 3}]');
SELECT is(pg_temp.candidates(:'a', '2025-06-12 10:00+00', '2025-06-13 10:00+00'), '{p2,p3,p4}',
          'last purchase: the sales of 9 June left the window, the sale after the last run entered it');
SELECT is(pg_temp.candidates(:'a', '2025-06-13 00:00+00', '2025-06-13 23:59:59+00'), '{}',
          'last purchase: no day boundary crossed, no candidate');
SELECT is(pg_temp.candidates(:'a', '2025-06-13 23:59:59+00', '2025-06-14 00:00:01+00'), '{p1}',
          'last purchase: crossing midnight by two seconds moves the window past the sale at midnight');
SET LOCAL TimeZone = 'Asia/Tokyo';
SELECT is(pg_temp.candidates(:'a', '2025-06-12 14:00+00', '2025-06-12 16:00+00'), '{p4}',
          'last purchase: the day boundary is midnight in the session''s time zone (Tokyo)');
SET LOCAL TimeZone = 'UTC';
SELECT is(pg_temp.candidates(:'a', '2025-06-04 10:00+00', '2025-06-05 10:00+00'), '{p1,p2,p3,p4,p5}',
          'last purchase: p5 (its sale of 9 June fully returned) left on 5 June, the others bought after the last run');

-- Birthdays within 7 days: [today, today + 7).
UPDATE segext.segments SET active = false WHERE company_id = :'a' AND name = 'recent';
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'birthday', '[{"type": "anniversary", "anniversaryType": "birthday", "days": 7}]');
SELECT is(pg_temp.candidates(:'a', '2020-06-12 10:00+00', '2020-06-13 10:00+00'), '{b2,b3}',
          'birthday: the one of 12 June left the window, the one of 19 June entered it');
SELECT is(pg_temp.candidates(:'a', '2020-06-13 01:00+00', '2020-06-13 23:00+00'), '{}',
          'birthday: same day, no candidate');
SELECT is(pg_temp.candidates(:'a', '2025-02-28 10:00+00', '2025-03-01 10:00+00'), '{b4,b7}',
          'birthday: 28 February of a common year passes the 29 February birthdays too');
SELECT is(pg_temp.candidates(:'a', '2024-02-28 10:00+00', '2024-02-29 10:00+00'), '{b7}',
          'birthday: 28 February of a leap year passes only its own');
SELECT is(pg_temp.candidates(:'a', '2024-02-29 10:00+00', '2024-03-01 10:00+00'), '{b4}',
          'birthday: 29 February of a leap year');
SELECT is(pg_temp.candidates(:'a', '2025-12-26 10:00+00', '2025-12-27 10:00+00'), '{b5}',
          'birthday: across the year end, 2 January enters the window on 27 December');
SELECT is(pg_temp.candidates(:'a', '2025-12-31 10:00+00', '2026-01-01 10:00+00'), '{b6}',
          'birthday: 31 December leaves the window on 1 January');
SELECT is(pg_temp.candidates(:'a', '2024-01-01 10:00+00', '2025-06-01 10:00+00'), '{b1,b2,b3,b4,b5,b6,b7}',
          'birthday: more than a year since the last run: every birthday');

-- Registration anniversaries within 30 days, indexed by the UTC date.
UPDATE segext.segments SET active = false WHERE company_id = :'a' AND name = 'birthday';
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'registered', '[{"type": "anniversary", "anniversaryType": "registration", "days": 30}]');
SET LOCAL TimeZone = 'Asia/Tokyo';
SELECT ok(pg_temp.candidates(:'a', '2025-03-16 12:00+09', '2025-03-17 12:00+09') @> '{r1,r2}',
          'registration: registered 15 March 23:30 UTC is 16 March in Tokyo, a candidate when 16 March passes');
SET LOCAL TimeZone = 'UTC';
SELECT ok(NOT pg_temp.candidates(:'a', '2025-05-01 10:00+00', '2025-05-02 10:00+00') && '{r1,r2}',
          'registration: far from the anniversary, no candidate');
SELECT is(pg_temp.candidates(:'a', NULL, '2025-03-17 10:00+00'), '{r1,r2}',
          'first run: the span of the longest window before now');
SET LOCAL enable_seqscan = off;
SELECT ok((SELECT count(*) > 0 FROM pg_temp.candidates(:'a', '2025-03-16 10:00+00', '2025-03-17 10:00+00')), 'planned without sequential scans');
SELECT is((SELECT count(*) FROM pg_stat_xact_user_tables x JOIN scans s USING (relid)
            WHERE x.relid = 'segext.customers'::regclass AND x.idx_scan > s.idx_scan), 1::bigint,
          'the customers were read through an index');
RESET enable_seqscan;
UPDATE segext.segments SET active = true WHERE company_id = :'a' AND name IN ('recent', 'birthday');

-- recheck_time_windows moves a customer out of a window that passed: p6
-- bought 4 days ago, the last run was 2 days ago, when it was a member.
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount)
VALUES (:'a', :'p6', now() - interval '4 days', 10);
SELECT id AS recent FROM segext.segments WHERE company_id = :'a' AND name = 'recent' \gset
SELECT segext.refresh_company(:'a') \g /dev/null
-- (a superuser may write members directly: the member of 2 days ago)
INSERT INTO segext.memberships (company_id, segment_id, customer_id)
SELECT :'a', :'recent', :'p6' WHERE NOT EXISTS (
    SELECT FROM segext.memberships WHERE company_id = :'a' AND segment_id = :'recent' AND customer_id = :'p6');
INSERT INTO segext.time_window_checks (company_id, checked_at) VALUES (:'a', now() - interval '2 days');
SELECT cmp_ok(segext.recheck_time_windows(:'a'), '>=', 1::int8, 'recheck: returns the membership changes');
SELECT ok(NOT EXISTS (SELECT FROM segext.memberships WHERE company_id = :'a' AND segment_id = :'recent' AND customer_id = :'p6'),
          'recheck: the customer whose window passed left the segment');
SELECT is((SELECT kind FROM segext.membership_history WHERE company_id = :'a' AND segment_id = :'recent' AND customer_id = :'p6'
            ORDER BY id DESC LIMIT 1), 'left', 'recheck: history says it left');
SELECT is((SELECT checked_at FROM segext.time_window_checks WHERE company_id = :'a'), now(),
          'recheck: the last run of A moved to the transaction start');
SELECT ok((SELECT customers >= 1 FROM segext.time_window_checks WHERE company_id = :'a'),
          'recheck: it counts the customers it re-evaluated');

-- Two companies: B's run is its own row; a run of every company covers both.
SELECT is(segext.recheck_time_windows(:'b'), 0::int8, 'recheck of B (no time criteria): no change');
SELECT is((SELECT count(*) FROM segext.time_window_checks WHERE company_id IN (:'a', :'b')), 2::bigint,
          'one last-run row per company');
SELECT is(segext.recheck_time_windows(), 0::int8, 'recheck of every company just after: no change');
SELECT segext.create_company('Windows C') AS c \gset
SET LOCAL ROLE time_windows_admin;
SELECT set_config('segext.company_id', :'a', true) \g /dev/null
SELECT segext.recheck_time_windows() \g /dev/null
RESET ROLE;
SELECT is((SELECT count(*) FROM segext.time_window_checks WHERE company_id = :'c'), 0::bigint,
          'an admin acting for A rechecks A alone');
SELECT set_config('segext.company_id', '', true) \g /dev/null
SET LOCAL ROLE time_windows_admin;
SELECT segext.recheck_time_windows() \g /dev/null
RESET ROLE;
SELECT is((SELECT count(*) FROM segext.time_window_checks WHERE company_id = :'c'), 1::bigint,
          'an admin with no current company rechecks every company');
DELETE FROM segext.companies WHERE id = :'b';
SELECT is((SELECT count(*) FROM segext.time_window_checks WHERE company_id = :'b'), 0::bigint,
          'a deleted company takes its last-run row with it');

-- A reader is refused, a writer may recheck its company, only admins refresh all.
SET LOCAL ROLE time_windows_reader;
SELECT set_config('segext.company_id', :'a', true) \g /dev/null
SELECT throws_ok($$SELECT segext.recheck_time_windows()$$, '42501',
                 format('permission denied to change rows of company "%s"', :'a'), 'recheck as a reader: refused');
SELECT is((SELECT count(*) FROM segext.time_window_checks), 1::bigint, 'a reader sees the last run of its company only');
SELECT throws_ok($$SELECT segext.refresh_all()$$, '42501', 'permission denied to refresh every company',
                 'refresh_all as a reader: refused');
RESET ROLE;
SET LOCAL ROLE time_windows_writer;
SELECT set_config('segext.company_id', :'a', true) \g /dev/null
SELECT is(segext.recheck_time_windows(), 0::int8, 'recheck as a writer of the company: allowed');
SELECT throws_ok($$SELECT segext.refresh_all()$$, '42501', 'permission denied to refresh every company',
                 'refresh_all as a writer: refused');
RESET ROLE;
SELECT set_config('segext.company_id', '', true) \g /dev/null
SET LOCAL ROLE time_windows_admin;
SELECT lives_ok($$SELECT segext.refresh_all()$$, 'refresh_all as an admin');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
