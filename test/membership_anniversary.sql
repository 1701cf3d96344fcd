-- membership of anniversary criteria: the window [today, today + days) is
-- half-open, crosses the year end, and a 29 February birthday or
-- registration falls on 28 February in years without one.  Dates are
-- computed from today so the test holds on any day.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(12);

SELECT segext.create_company('membership anniversary') AS c \gset
\ir helpers/member_names.sql

-- next_anniversary: the first day >= today on which a date's anniversary falls.
CREATE FUNCTION pg_temp.next_anniversary(d date) RETURNS date LANGUAGE sql AS $$
    SELECT min(a) FROM (
        SELECT CASE WHEN extract(month FROM d) = 2 AND extract(day FROM d) = 29
                         AND NOT (y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0))
                    THEN make_date(y, 2, 28)
                    ELSE make_date(y, extract(month FROM d)::int, extract(day FROM d)::int) END AS a
        FROM generate_series(extract(year FROM current_date)::int, extract(year FROM current_date)::int + 8) AS y) s
    WHERE a >= current_date $$;
SELECT pg_temp.next_anniversary('2000-02-29') - current_date AS feb29, 
       pg_temp.next_anniversary('1990-01-01') - current_date AS jan1 \gset

INSERT INTO segext.customers (company_id, first_name, birth_date, registered_at, active) VALUES
    (:'c', 'leap', '2000-02-29', '2020-06-01', true),
    (:'c', 'newyear', '1990-01-01', '2020-06-01', true),
    (:'c', 'regleap', NULL, '2016-02-29 12:00:00', true),
    (:'c', 'sleeper', '1990-01-01', '2020-06-01', false),
    (:'c', 'nobirth', NULL, '2020-06-01', true);

INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'feb29 in', pg_catalog.format('[{"type": "anniversary", "anniversaryType": "birthday", "days": %s}]', :feb29 + 1)::segext.criteria),
    (:'c', 'feb29 out', pg_catalog.format('[{"type": "anniversary", "anniversaryType": "birthday", "days": %s}]', greatest(:feb29, 1))::segext.criteria),
    (:'c', 'jan1 in', pg_catalog.format('[{"type": "anniversary", "anniversaryType": "birthday", "days": %s}]', :jan1 + 1)::segext.criteria),
    (:'c', 'jan1 out', pg_catalog.format('[{"type": "anniversary", "anniversaryType": "birthday", "days": %s}]', greatest(:jan1, 1))::segext.criteria),
    (:'c', 'reg in', pg_catalog.format('[{"type": "anniversary", "anniversaryType": "registration", "days": %s}]', :feb29 + 1)::segext.criteria);

SELECT is(segext.refresh_company(:'c'), 0::bigint, 'the writes stored the members: refresh_company changes nothing');
SELECT is(pg_temp.now_members('feb29 in'),
          CASE WHEN :jan1 <= :feb29 THEN ARRAY['leap', 'newyear'] ELSE ARRAY['leap'] END,
          'a 29 February birthday falls in a window ending the day after its anniversary (28 February in common years)');
SELECT ok(NOT ('leap' = ANY (pg_temp.now_members('feb29 out'))) OR :feb29 = 0,
          'a window ending on the anniversary day excludes it (half-open)');
SELECT ok('newyear' = ANY (pg_temp.now_members('jan1 in')), 'a 1 January birthday is in a window reaching it across the year end');
SELECT ok(NOT ('newyear' = ANY (pg_temp.now_members('jan1 out'))) OR :jan1 = 0, 'and not in a window ending on it');
SELECT ok(NOT ('sleeper' = ANY (pg_temp.now_members('jan1 in'))), 'inactive customers never match');
SELECT ok('regleap' = ANY (pg_temp.now_members('reg in')), 'a 29 February registration has its anniversary on 28 February in common years');

SELECT array_agg(name ORDER BY number) AS names FROM segext.segments WHERE company_id = :'c' AND number > 1 \gset
SELECT is(pg_temp.stored_members(name), pg_temp.now_members(name), 'refresh agrees with segment_members: ' || name)
FROM unnest(:'names'::text[]) WITH ORDINALITY AS s (name, number) ORDER BY number;

SELECT * FROM finish();
ROLLBACK;
