\set ECHO none
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;

\ir helpers/errors.sql
-- Values of one company are read (\gset), then asserted: Citus runs a
-- statement that reads one company whole on a worker, where pgTAP has no plan.

SELECT plan(25);

SELECT segext.create_company('Acme') AS c \gset
SELECT segext.create_company('Other') AS o \gset

-- Ids are assigned (highest plus one) when not given.
INSERT INTO segext.segment_groups (company_id, name) VALUES (:'c', 'Retail'), (:'c', 'Wholesale');
SELECT results_eq(
    $$SELECT id, name, status FROM segext.segment_groups WHERE company_id = '$$ || :'c' || $$' ORDER BY id$$,
    $$VALUES (0, 'Ungrouped', 200), (1, 'Retail', 200), (2, 'Wholesale', 200)$$,
    'group ids are assigned from 1 and status defaults to 200');
-- Infinity example: group 400.
SELECT lives_ok(format($$INSERT INTO segext.segment_groups (company_id, id, name) VALUES (%L, 400, 'Segment Group Name 400')$$, :'c'),
    'a group with an explicit id 400 is created');
INSERT INTO segext.segment_groups (company_id, name) VALUES (:'c', 'Segment Group Name 401');
SELECT id AS got FROM segext.segment_groups WHERE company_id = :'c' AND name = 'Segment Group Name 401' \gset
SELECT is(:'got'::int, 401,
    'the next assigned id follows the highest');
INSERT INTO segext.segment_groups (company_id, name) VALUES (:'o', 'Retail');
SELECT id AS got FROM segext.segment_groups WHERE company_id = :'o' AND name = 'Retail' \gset
SELECT is(:'got'::int, 1,
    'group ids are per company');

-- Id range, built-in id 0, uniqueness.
SELECT throws_ok(format($$INSERT INTO segext.segment_groups (company_id, id, name) VALUES (%L, 0, 'Fake')$$, :'c'),
    'PT403', 'segment group id 0 is reserved for built-in group "Ungrouped"', 'group id 0 cannot be created');
SELECT throws_ok(format($$INSERT INTO segext.segment_groups (company_id, id, name) VALUES (%L, 65536, 'Far')$$, :'c'),
    '22023', 'segment group id 65536 is out of range', 'a group id above 65535 is refused');
SELECT throws_ok(format($$INSERT INTO segext.segment_groups (company_id, id, name) VALUES (%L, -1, 'Negative')$$, :'c'),
    '22023', NULL, 'a negative group id is refused');
SELECT throws_ok(format($$INSERT INTO segext.segment_groups (company_id, id, name) VALUES (%L, 1, 'Again')$$, :'c'),
    '23505', NULL, 'a group id is unique per company');
SELECT lives_ok(format($$INSERT INTO segext.segment_groups (company_id, id, name) VALUES (%L, 65535, 'Last')$$, :'c'),
    'group id 65535 is allowed');
INSERT INTO segext.segment_groups (company_id, name) VALUES (:'c', 'Gap');
SELECT id AS got FROM segext.segment_groups WHERE company_id = :'c' AND name = 'Gap' \gset
SELECT is(:'got'::int, 3,
    'when 65535 is taken, the lowest free id is assigned');

-- Name and status.
SELECT throws_ok(format($$INSERT INTO segext.segment_groups (company_id, name) VALUES (%L, '')$$, :'c'),
    '22023', 'segment group name must have 1 to 100 characters', 'an empty group name is refused');
SELECT lives_ok(format($$UPDATE segext.segment_groups SET status = 410 WHERE company_id = %L AND id = 2$$, :'c'),
    'a group can get status 410');
SELECT throws_ok(format($$UPDATE segext.segment_groups SET status = 300 WHERE company_id = %L AND id = 2$$, :'c'),
    '22023', 'invalid status 300 for segment group "Wholesale"', 'a status other than 200 or 410 is refused');
UPDATE segext.segment_groups SET updated_at = '2000-01-01', name = 'Retail shops' WHERE company_id = :'c' AND id = 1;
SELECT updated_at AS got FROM segext.segment_groups WHERE company_id = :'c' AND id = 1 \gset
SELECT is(:'got'::timestamptz, now(),
    'updated_at of a group is maintained');
SELECT throws_ok(format($$UPDATE segext.segment_groups SET company_id = %L WHERE company_id = %L AND id = 2$$, :'o', :'c'),
    '22023', NULL, 'a group cannot move to another company');

-- Built-in group 0.
SELECT throws_ok(format($$UPDATE segext.segment_groups SET name = 'Misc' WHERE company_id = %L AND id = 0$$, :'c'),
    'PT403', 'built-in segment group 0 "Ungrouped" cannot be updated', 'group 0 cannot be renamed');
SELECT is(rules_error(format($$DELETE FROM segext.segment_groups WHERE company_id = %L AND id = 0$$, :'c')),
    ARRAY['PT403', 'built-in segment group 0 "Ungrouped" cannot be deleted',
          'Segment group 0 exists as long as company "Acme" does.',
          'Delete segment groups of your own only (ids 1 to 65535).'],
    'group 0 cannot be deleted (PT403) with a DETAIL and a HINT');

-- A group that still contains segments.
INSERT INTO segext.segments (company_id, name, group_id) VALUES (:'c', 'Platinum', 1), (:'c', 'Gold', 1), (:'c', 'Silver', 0);
SELECT is(rules_error(format($$DELETE FROM segext.segment_groups WHERE company_id = %L AND id = 1$$, :'c')),
    ARRAY['23503', 'segment group 1 "Retail shops" still contains segments',
          'Segment group 1 "Retail shops" of company "Acme" contains 2 segment(s), among them "Gold".',
          'Move the segments of group "Retail shops" to another group (such as 0 "Ungrouped") or delete them first.'],
    'a group with segments cannot be deleted (23503); the error names a segment and the fix');
SELECT lives_ok(format($$DELETE FROM segext.segment_groups WHERE company_id = %L AND id = 2$$, :'c'),
    'an empty group can be deleted');
UPDATE segext.segments SET group_id = 0 WHERE company_id = :'c' AND group_id = 1;
SELECT lives_ok(format($$DELETE FROM segext.segment_groups WHERE company_id = %L AND id = 1$$, :'c'),
    'once its segments moved, the group can be deleted');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name, group_id) VALUES (%L, 'Lost', 1)$$, :'c'),
    '23503', NULL, 'a segment cannot join a group that does not exist');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name, group_id) VALUES (%L, 'Elsewhere', 1)$$, :'c'),
    '23503', NULL, 'a segment cannot join a group of another company');

-- Deleting a company removes its groups, group 0 and groups with segments included.
INSERT INTO segext.segments (company_id, name, group_id) VALUES (:'o', 'Other gold', 1);
SELECT lives_ok(format($$DELETE FROM segext.companies WHERE id = %L$$, :'o'), 'a company with groups and segments can be deleted');
SELECT count(*)::int AS got FROM segext.segment_groups WHERE company_id = :'o' \gset
SELECT is(:'got'::int, 0, 'its groups are gone');
SELECT count(*)::int AS got FROM segext.segment_groups WHERE company_id = :'c' \gset
SELECT is(:'got'::int, 5, 'other companies keep theirs');

SELECT * FROM finish();
ROLLBACK;
