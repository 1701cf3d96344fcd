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

SELECT plan(59);

-- Company creation and its built-ins.
SELECT segext.create_company('Acme') AS c \gset
SELECT isnt(:'c'::segext.objectid, NULL, 'create_company returns the new company id');
SELECT results_eq(
    $$SELECT number, name, position, group_id, active FROM segext.segments WHERE company_id = '$$ || :'c' || $$' ORDER BY number$$,
    $$VALUES (0, 'All', 0, 0, true), (1, 'Default', 0, 0, true)$$,
    'a new company has built-in segments 0 "All" and 1 "Default" at position 0 in group 0');
SELECT results_eq(
    $$SELECT id, name, status FROM segext.segment_groups WHERE company_id = '$$ || :'c' || $$'$$,
    $$VALUES (0, 'Ungrouped', 200)$$,
    'a new company has built-in segment group 0 "Ungrouped"');
SELECT results_eq(
    $$SELECT max_segments, max_channels FROM segext.companies WHERE id = '$$ || :'c' || $$'$$,
    $$VALUES (50, 50)$$, 'max_segments and max_channels default to 50');

-- Seed example: Platinum, Gold and Silver, numbered automatically.
INSERT INTO segext.segments (company_id, name) VALUES (:'c', 'Platinum'), (:'c', 'Gold'), (:'c', 'Silver');
SELECT results_eq(
    $$SELECT number, name FROM segext.segments WHERE company_id = '$$ || :'c' || $$' AND number >= 2 ORDER BY number$$,
    $$VALUES (2, 'Platinum'), (3, 'Gold'), (4, 'Silver')$$,
    'segment numbers are assigned from 2 when not given');

-- Infinity example: explicit number, ref, order and org id; the next number follows the highest.
SELECT lives_ok(
    format($$INSERT INTO segext.segments (company_id, number, ref, name, position, org_id, group_id)
             VALUES (%L, 400, 'Ref Segment', 'Test Segment 11', 0, 2, 0)$$, :'c'),
    'a segment with an explicit number 400, ref, position and org id is created');
INSERT INTO segext.segments (company_id, ref, name, position) VALUES (:'c', 'Ref Segment 401', 'Test Segment 12', 1);
SELECT number AS got FROM segext.segments WHERE company_id = :'c' AND name = 'Test Segment 12' \gset
SELECT is(:'got'::int, 401,
    'the next assigned number is the highest plus one');

-- Built-in numbers and the number range.
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, number, name) VALUES (%L, 1, 'Fake default')$$, :'c'),
    'PT403', 'segment number 1 is reserved for built-in segment "Default"', 'number 1 cannot be taken by a user segment');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, number, name) VALUES (%L, 0, 'Fake all')$$, :'c'),
    'PT403', NULL, 'number 0 cannot be taken by a user segment');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, number, name) VALUES (%L, 65536, 'Too high')$$, :'c'),
    '22023', 'segment number 65536 is out of range', 'numbers above 65535 are refused');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, number, name) VALUES (%L, -5, 'Negative')$$, :'c'),
    '22023', NULL, 'negative numbers are refused');
SELECT lives_ok(format($$INSERT INTO segext.segments (company_id, number, name) VALUES (%L, 65535, 'Highest')$$, :'c'),
    'number 65535 is allowed');
INSERT INTO segext.segments (company_id, name) VALUES (:'c', 'Gap filler');
SELECT number AS got FROM segext.segments WHERE company_id = :'c' AND name = 'Gap filler' \gset
SELECT is(:'got'::int, 5,
    'when 65535 is taken, the lowest free number is assigned');

-- Uniqueness of number, name and ref per company.
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, number, name) VALUES (%L, 2, 'Another')$$, :'c'),
    '23505', NULL, 'a segment number is unique per company');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'Gold')$$, :'c'),
    '23505', NULL, 'a segment name is unique per company');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name, ref) VALUES (%L, 'Ref clash', 'Ref Segment')$$, :'c'),
    '23505', NULL, 'a segment ref is unique per company');
SELECT is((rules_error(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'Gold')$$, :'c')))[2],
    'duplicate key value violates unique constraint "segments_company_id_name_key"',
    'the duplicate-name error names the constraint segments_company_id_name_key');
SELECT lives_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'No ref 1'), (%L, 'No ref 2')$$, :'c', :'c'),
    'several segments may have no ref');

-- Name and ref lengths.
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, '')$$, :'c'),
    '22023', 'segment name must have 1 to 100 characters', 'an empty name is refused');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, repeat('x', 101))$$, :'c'),
    '22023', 'segment name must have 1 to 100 characters', 'a name of 101 characters is refused');
SELECT lives_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, repeat('é', 100))$$, :'c'),
    'a name of 100 (multibyte) characters is allowed');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name, ref) VALUES (%L, 'Long ref', repeat('r', 101))$$, :'c'),
    '22023', 'segment ref must have 1 to 100 characters', 'a ref of 101 characters is refused');
SELECT throws_ok(format($$UPDATE segext.segments SET name = '' WHERE company_id = %L AND number = 2$$, :'c'),
    '22023', NULL, 'an update to an empty name is refused');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name, position) VALUES (%L, 'Far', 65536)$$, :'c'),
    '22023', 'segment position 65536 is out of range', 'a position above 65535 is refused');

-- Built-ins cannot be updated or deleted.
SELECT throws_ok(format($$UPDATE segext.segments SET name = 'Everyone' WHERE company_id = %L AND number = 0$$, :'c'),
    'PT403', 'built-in segment 0 "All" cannot be updated', 'built-in segment 0 cannot be renamed');
SELECT throws_ok(format($$UPDATE segext.segments SET position = 3 WHERE company_id = %L AND number = 1$$, :'c'),
    'PT403', 'built-in segment 1 "Default" cannot be updated', 'built-in segment 1 cannot be moved');
SELECT is(rules_error(format($$UPDATE segext.segments SET active = false WHERE company_id = %L AND number = 1$$, :'c')),
    ARRAY['PT403', 'built-in segment 1 "Default" cannot be updated',
          'Column "active" of built-in segment 1 "Default" cannot change: segments 0 "All" and 1 "Default" are maintained by segext and always have position 0.',
          'Update user segments only (numbers 2 to 65535).'],
    'the built-in update error has a DETAIL naming the column and a HINT');
SELECT throws_ok(format($$UPDATE segext.segments SET customers_count = 7 WHERE company_id = %L AND number = 0$$, :'c'),
    '42703', NULL, 'a segment row has no count to write: segext keeps it in segment_member_counts');
SELECT segext.segment_customers_count(company_id, id) AS got FROM segext.segments WHERE company_id = :'c' AND number = 0 \gset
SELECT is(:'got'::int8, 0::int8,
    'customers_count of built-in segment 0 is still segext''s count');
SELECT throws_ok(format($$DELETE FROM segext.segments WHERE company_id = %L AND number = 0$$, :'c'),
    'PT403', 'built-in segment 0 "All" cannot be deleted', 'built-in segment 0 cannot be deleted');
SELECT throws_ok(format($$DELETE FROM segext.segments WHERE company_id = %L AND number = 1$$, :'c'),
    'PT403', 'built-in segment 1 "Default" cannot be deleted', 'built-in segment 1 cannot be deleted');
SELECT throws_ok(format($$UPDATE segext.segments SET number = 1 WHERE company_id = %L AND number = 2$$, :'c'),
    'PT403', NULL, 'a user segment cannot take number 1');
SELECT throws_ok(format($$UPDATE segext.segments SET number = 70000 WHERE company_id = %L AND number = 2$$, :'c'),
    '22023', NULL, 'a user segment cannot take a number above 65535');
SELECT lives_ok(format($$UPDATE segext.segments SET number = 300, name = 'Platinum+' WHERE company_id = %L AND number = 2$$, :'c'),
    'a user segment can be renumbered and renamed');
UPDATE segext.segments SET number = 2, name = 'Platinum' WHERE company_id = :'c' AND number = 300;

-- updated_at is maintained.
UPDATE segext.segments SET updated_at = '2000-01-01', description = 'best customers' WHERE company_id = :'c' AND number = 2;
SELECT updated_at AS got FROM segext.segments WHERE company_id = :'c' AND number = 2 \gset
SELECT is(:'got'::timestamptz, now(),
    'updated_at is set to now() by every update');

-- A segment cannot move to another company.
SELECT segext.create_company('Other') AS o \gset
SELECT throws_ok(format($$UPDATE segext.segments SET company_id = %L WHERE company_id = %L AND number = 3$$, :'o', :'c'),
    '22023', 'cannot move segment "Gold" to another company', 'company_id of a segment cannot change');

-- Reorder: position = array index.
SELECT lives_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[4, 3, 2])$$, :'c'), 'reorder of user segments succeeds');
SELECT results_eq(
    $$SELECT number, position FROM segext.segments WHERE company_id = '$$ || :'c' || $$' AND number IN (2, 3, 4, 401) ORDER BY number$$,
    $$VALUES (2, 2), (3, 1), (4, 0), (401, 1)$$,
    'reorder sets position to the array index and leaves unlisted segments alone');
SELECT throws_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[4, 1, 3])$$, :'c'),
    'PT403', 'built-in segment 1 "Default" cannot be reordered', 'reorder refuses built-in segment 1');
SELECT throws_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[0])$$, :'c'),
    'PT403', 'built-in segment 0 "All" cannot be reordered', 'reorder refuses built-in segment 0');
SELECT throws_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[4, 3, 4])$$, :'c'),
    '22023', 'segment 4 appears more than once in the segment order', 'reorder refuses a repeated number');
SELECT throws_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[4, 999])$$, :'c'),
    '22023', 'segment 999 does not exist', 'reorder refuses an unknown number');
SELECT is(rules_error(format($$SELECT segext.reorder_segments(%L, ARRAY[4, 999])$$, :'c')),
    ARRAY['22023', 'segment 999 does not exist', format('Company "%s" has no segment numbered 999.', :'c'),
          'List only numbers of existing user segments of the company.'],
    'reorder names the company and the number of the unknown segment');
SELECT throws_ok(format($$SELECT segext.reorder_segments(%L, ARRAY[4, NULL])$$, :'c'),
    '22004', NULL, 'reorder refuses a null');
SELECT position AS got FROM segext.segments WHERE company_id = :'c' AND number = 4 \gset
SELECT is(:'got'::int, 0,
    'a refused reorder changes nothing');
SELECT lives_ok(format($$SELECT segext.reorder_segments(%L, '{}')$$, :'c'), 'an empty reorder does nothing');
SELECT position AS got FROM segext.segments WHERE company_id = :'c' AND number = 0 \gset
SELECT is(:'got'::int, 0,
    'built-ins keep position 0');

-- max_segments.
SELECT segext.create_company('Small', 2) AS s \gset
SELECT lives_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'One'), (%L, 'Two')$$, :'s', :'s'),
    'a company can have max_segments user segments');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'Three')$$, :'s'),
    'PT403', 'company "Small" already has its maximum of 2 segments', 'one more than max_segments is refused');
SELECT is((rules_error(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'Three')$$, :'s')))[3:4],
    ARRAY['Company "Small" has 2 user segments and its max_segments is 2, so segment "Three" cannot be created.',
          'Delete a segment of company "Small" first, or have an administrator raise its max_segments.'],
    'the limit error has a DETAIL and a HINT naming the company');
SELECT throws_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'Three'), (%L, 'Four')$$, :'o', :'s'),
    'PT403', NULL, 'a multi-row insert past the limit is refused as a whole');
UPDATE segext.companies SET max_segments = 3 WHERE id = :'s';
SELECT lives_ok(format($$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'Three')$$, :'s'),
    'raising max_segments makes room');

-- The last user segment.
SELECT lives_ok(format($$DELETE FROM segext.segments WHERE company_id = %L AND name IN ('One', 'Two')$$, :'s'),
    'user segments can be deleted while another remains');
SELECT throws_ok(format($$DELETE FROM segext.segments WHERE company_id = %L AND name = 'Three'$$, :'s'),
    'PT403', 'cannot delete the last segment of company "Small"', 'the last user segment cannot be deleted');
SELECT is((rules_error(format($$DELETE FROM segext.segments WHERE company_id = %L AND number >= 2$$, :'c')))[1],
    'PT403', 'deleting every user segment at once is refused');

-- A segment in a channel mix.
INSERT INTO segext.channels (company_id, name) VALUES (:'c', 'Events');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(rules_error(format($$DELETE FROM segext.segments WHERE company_id = %L AND number = 4$$, :'c')),
    ARRAY['23503', 'segment "Silver" is still used by the segment mix of channel "Events"',
          'Segment 4 "Silver" has a share in the segment mix of 1 channel(s) of company "Acme", among them "Events".',
          'Remove segment "Silver" from the mix of channel "Events", giving its share to other segments, then delete it.'],
    'a segment in a mix cannot be deleted; the error names the channel');
SELECT lives_ok(format($$DELETE FROM segext.segments WHERE company_id = %L AND number = 3$$, :'c'),
    'a segment in no mix can be deleted');

-- Deleting a company removes everything, built-ins and last rows included.
SELECT lives_ok(format($$DELETE FROM segext.companies WHERE id = %L$$, :'c'), 'a company with segments and channels can be deleted');
SELECT (SELECT count(*)::int FROM segext.segments WHERE company_id = :'c')
          + (SELECT count(*)::int FROM segext.segment_groups WHERE company_id = :'c')
          + (SELECT count(*)::int FROM segext.channels WHERE company_id = :'c')
          + (SELECT count(*)::int FROM segext.channel_segments WHERE company_id = :'c') AS got \gset
SELECT is(:'got'::int, 0,
    'deleting a company deletes its segments, groups, channels and mixes');

SELECT * FROM finish();
ROLLBACK;
