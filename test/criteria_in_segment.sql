-- The in_segment criterion (a segment built from other segments): its
-- input, canonical output and binary form; the rules when criteria are
-- saved (the named segment must be one of the company's, numbers become
-- ids, no cycle of length 1, 2 or 3, never segment 1 "Default", no delete
-- of a named segment), on SQL and through the API view; and its meaning on
-- every path: a sale, a customer edit, a change of a named segment's
-- criteria or active flag, manual members, refresh, segment_members and
-- preview_criteria all decide it from the named segment's members as the
-- same pass computes them.  Event classification skips such segments.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
\ir helpers/errors.sql
\ir helpers/member_mismatch.sql
SELECT plan(70);

-- Input and canonical output.
SELECT is('{"not": {"type": "in_segment", "segment": 7}}'::segext.criteria::text,
          '{"not": {"type": "in_segment", "segment": 7}}', 'a segment number prints as a number until saved');
SELECT is('[{"type": "in_segment", "segment": "00000000000000000000000A"}]'::segext.criteria::text,
          '[{"criteria": [{"type": "in_segment", "segment": "00000000000000000000000a"}]}]',
          'a segment id prints in lower case, in parts');
SELECT is('[{"criteria": [{"type": "in_segment", "segment": 0}, {"type": "transaction_count", "min": 1, "max": 2}]}]'::segext.criteria::text,
          '[{"criteria": [{"type": "in_segment", "segment": 0}, {"type": "transaction_count", "max": 2, "min": 1}]}]',
          'in_segment inside a part');
SELECT is(public.rules_error($$SELECT '{"not": {"type": "in_segment", "segment": 65536}}'::segext.criteria$$),
          ARRAY['22023', 'invalid segment criteria: $.not ("in_segment"): "segment" must be a segment number from 0 to 65535 or a segment id (24 hexadecimal digits)',
                '', 'A in_segment criterion looks like {"type": "in_segment", "segment": 5}, with a segment number (0 to 65535) or a segment id (24 hexadecimal digits) of the same company.'],
          'a number beyond 65535 is refused');
SELECT is((public.rules_error($$SELECT '[{"type": "in_segment", "segment": "abc"}]'::segext.criteria$$))[1:2],
          ARRAY['22023', 'invalid segment criteria: part 1, criterion 1 ("in_segment"): "segment" must be a segment number from 0 to 65535 or a segment id (24 hexadecimal digits)'],
          'a malformed id is refused');
SELECT is((public.rules_error($$SELECT '[{"type": "in_segment", "segment": 2.5}]'::segext.criteria$$))[1], '22023',
          'a fractional number is refused');
SELECT is((public.rules_error($$SELECT '[{"type": "in_segment"}]'::segext.criteria$$))[2],
          'invalid segment criteria: part 1, criterion 1 ("in_segment"): "segment" is missing', 'the segment is required');
SELECT is((public.rules_error($$SELECT '[{"type": "in_segment", "segment": 2, "x": 1}]'::segext.criteria$$))[1], '22023',
          'an unknown key is refused');

-- Round trips: text, jsonb and binary (send writes the format version of
-- the shape; in_segment is a new kind within formats 1 and 2).
CREATE TEMP TABLE vals (i int, c segext.criteria);
INSERT INTO vals VALUES
    (1, '{"all": [{"type": "in_segment", "segment": 2}, {"not": {"type": "in_segment", "segment": "0123456789abcdef01234567"}}]}'),
    (2, '[{"criteria": [{"type": "in_segment", "segment": 65535}, {"field": "a", "op": "exists"}]}]');
SELECT is(c::text::segext.criteria::text, c::text, 'text round trip of value ' || i) FROM vals ORDER BY i;
SELECT ok(c::jsonb::segext.criteria OPERATOR(pg_catalog.=) c, 'jsonb round trip of value ' || i) FROM vals ORDER BY i;
SELECT is(pg_catalog.get_byte(segext.criteria_send(c), 0), 3 - i, 'send writes format version ' || (3 - i) || ' for value ' || i)
FROM vals ORDER BY i;
CREATE TEMP TABLE criteria_raw (c segext.criteria);
CREATE FUNCTION pg_temp.binary_round_trip(v segext.criteria) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
    f text := pg_catalog.current_setting('data_directory') || '/criteria_in_segment_raw.bin';
    back segext.criteria;
BEGIN
    EXECUTE pg_catalog.format('COPY (SELECT %L::segext.criteria) TO %L WITH (FORMAT binary)', v, f);
    DELETE FROM criteria_raw;
    EXECUTE pg_catalog.format('COPY criteria_raw FROM %L WITH (FORMAT binary)', f);
    SELECT c INTO back FROM criteria_raw;
    RETURN back OPERATOR(pg_catalog.=) v;
END $$;
SELECT ok(pg_temp.binary_round_trip(c), 'binary round trip of value ' || i) FROM vals ORDER BY i;

-- Facts: in_segment reads the segments the customer is a member of.
SELECT is(ARRAY[segext.criteria_match_facts('{"all": [{"type": "in_segment", "segment": 5}]}', '{"segments": [5, 6]}'),
                segext.criteria_match_facts('{"all": [{"type": "in_segment", "segment": 5}]}', '{"segments": [6]}'),
                segext.criteria_match_facts('{"not": {"type": "in_segment", "segment": "0123456789abcdef01234567"}}', '{"segments": ["0123456789ABCDEF01234567"]}'),
                segext.criteria_match_facts('{"not": {"type": "in_segment", "segment": "0123456789abcdef01234567"}}', '{}')],
          ARRAY[true, false, false, true], 'criteria_match_facts: segments by number or id');

-- Events: a segment using in_segment cannot be decided from an event; it
-- is skipped like every segment with customer criteria.
SELECT ok(NOT segext.event_criteria_usable('[{"type": "in_segment", "segment": 2}]'), 'in_segment is not usable for events');
SELECT ok(NOT segext.criteria_match_event('{"not": {"not": {"type": "in_segment", "segment": 2}}}', '{"a": 1}'),
          'on an event row in_segment is false, as every non-field criterion');

-- Two companies.
CREATE FUNCTION pg_temp.cust(i int) RETURNS segext.objectid LANGUAGE sql AS
$$ SELECT lpad(to_hex(i), 24, '0')::segext.objectid $$;
SELECT segext.create_company('in_segment A') AS a \gset
SELECT segext.create_company('in_segment B') AS b \gset
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    (:'a', 2, 'buyers', '[{"type": "transaction_count", "min": 2, "max": 1000}]');
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    (:'b', 2, 'other buyers', '[{"type": "transaction_count", "min": 1, "max": 1000}]');
SELECT id AS a2 FROM segext.segments WHERE company_id = :'a' AND number = 2 \gset
SELECT id AS b2 FROM segext.segments WHERE company_id = :'b' AND number = 2 \gset

-- Saved by number: stored with the segment's id.
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    (:'a', 3, 'buyers again', '{"all": [{"type": "in_segment", "segment": 2}]}');
-- (values of one company are read, then asserted: Citus runs a statement
-- reading one company whole on a worker, where pgTAP has no plan)
SELECT criteria::text AS got FROM segext.segments WHERE company_id = :'a' AND number = 3 \gset
SELECT is(:'got'::text, '{"all": [{"type": "in_segment", "segment": "' || :'a2' || '"}]}',
          'a number is stored as the id of that segment of the company');
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    (:'a', 4, 'not buyers again', ('{"not": {"type": "in_segment", "segment": "' || :'a2' || '"}}')::segext.criteria);

-- Unknown segments, and another company's.
SELECT is(public.rules_error(format($$INSERT INTO segext.segments (company_id, number, name, criteria) VALUES (%L, 9, 'nine', '[{"type": "in_segment", "segment": 8}]')$$, :'a')),
          ARRAY['23503', 'segment 8 named by an in_segment criterion does not exist',
                'Company "in_segment A" has no segment number 8, which segment 9 "nine" names.',
                'Name a segment of the same company in "segment", by its number or its id.'],
          'an unknown segment number is refused (23503)');
SELECT is(public.rules_error(format($$INSERT INTO segext.segments (company_id, number, name, criteria) VALUES (%L, 9, 'nine', '[{"type": "in_segment", "segment": %s}]')$$, :'a', to_json(:'b2'::text))),
          ARRAY['23503', 'segment "' || :'b2' || '" named by an in_segment criterion does not exist',
                'Company "in_segment A" has no segment with id "' || :'b2' || '", which segment 9 "nine" names.',
                'Name a segment of the same company in "segment", by its number or its id.'],
          'a segment of another company is refused (23503)');
SELECT is((public.rules_error(format($$INSERT INTO segext.segments (company_id, number, name, criteria) VALUES (%L, 9, 'nine', '[{"type": "in_segment", "segment": 1}]')$$, :'a')))[1:3],
          ARRAY['23514', 'in_segment cannot name segment 1 "Default"',
                'Segment 1 "Default" holds the active customers in no other active segment, so it depends on every segment: segment 9 -> segment 1 -> segment 9.'],
          'segment 1 "Default" cannot be named (it depends on every segment)');

SELECT is((public.rules_error(format($$INSERT INTO segext.segments (company_id, id, number, name, criteria) VALUES (%L, NULL, 9, 'nine', '[{"type": "in_segment", "segment": 2}]')$$, :'a')))[1],
          '23502', 'a row without an id is left to its NOT NULL constraint');

-- Cycles of length 1, 2 and 3.
SELECT is(public.rules_error(format($$INSERT INTO segext.segments (company_id, number, name, criteria) VALUES (%L, 9, 'nine', '{"not": {"type": "in_segment", "segment": 9}}')$$, :'a')),
          ARRAY['23514', 'in_segment criteria of segment 9 "nine" would make a cycle',
                'The segments refer to each other in a cycle: segment 9 -> segment 9.',
                'Remove an in_segment criterion of the cycle: a segment cannot depend on its own members.'],
          'a segment naming itself (by number) is a cycle of length 1');
SELECT is((public.rules_error(format($$UPDATE segext.segments SET criteria = '[{"type": "in_segment", "segment": %s}]' WHERE company_id = %L AND number = 2$$, to_json(:'a2'::text), :'a')))[1:3],
          ARRAY['23514', 'in_segment criteria of segment 2 "buyers" would make a cycle',
                'The segments refer to each other in a cycle: segment 2 -> segment 2.'],
          'a segment naming itself (by id) is a cycle of length 1');
SELECT is((public.rules_error(format($$UPDATE segext.segments SET criteria = '[{"type": "in_segment", "segment": 3}]' WHERE company_id = %L AND number = 2$$, :'a')))[1:3],
          ARRAY['23514', 'in_segment criteria of segment 2 "buyers" would make a cycle',
                'The segments refer to each other in a cycle: segment 2 -> segment 3 -> segment 2.'],
          'a cycle of length 2');
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    (:'a', 5, 'buyers in 3', ('{"any": [{"type": "in_segment", "segment": 3}, {"type": "customer_list", "customers": ["' || pg_temp.cust(1) || '"]}]}')::segext.criteria);
SELECT is((public.rules_error(format($$UPDATE segext.segments SET criteria = '{"all": [{"type": "transaction_count", "min": 2, "max": 1000}, {"not": {"type": "in_segment", "segment": 5}}]}' WHERE company_id = %L AND number = 2$$, :'a')))[1:3],
          ARRAY['23514', 'in_segment criteria of segment 2 "buyers" would make a cycle',
                'The segments refer to each other in a cycle: segment 2 -> segment 5 -> segment 3 -> segment 2.'],
          'a cycle of length 3, under "not"');
SELECT criteria::text AS got FROM segext.segments WHERE company_id = :'a' AND number = 2 \gset
SELECT is(:'got'::text, '[{"criteria": [{"type": "transaction_count", "max": 1000, "min": 2}]}]', 'a refused update leaves the criteria');

-- Deleting a named segment is refused, naming who names it.
SELECT is(public.rules_error(format($$DELETE FROM segext.segments WHERE company_id = %L AND number = 2$$, :'a')),
          ARRAY['23503', 'segment "buyers" is still named by the in_segment criteria of segment "buyers again"',
                'Segment 2 "buyers" of company "in_segment A" is named by the in_segment criteria of 2 segment(s): segment 3 "buyers again", segment 4 "not buyers again".',
                'Remove the in_segment criteria naming segment 2 from those segments (or delete them first), then delete it.'],
          'deleting a named segment is refused (23503), naming the segments that name it');

-- The API view: the same rules.
SET LOCAL segext.company_id = :'a';
SELECT is((public.rules_error($$INSERT INTO segext_api.segments (name, criteria) VALUES ('api', '[{"type": "in_segment", "segment": 77}]')$$))[1:2],
          ARRAY['23503', 'segment 77 named by an in_segment criterion does not exist'], 'API create: an unknown segment is refused');
SELECT is((public.rules_error($$UPDATE segext_api.segments SET criteria = '{"not": {"type": "in_segment", "segment": 4}}' WHERE number = 2$$))[1:3],
          ARRAY['23514', 'in_segment criteria of segment 2 "buyers" would make a cycle',
                'The segments refer to each other in a cycle: segment 2 -> segment 4 -> segment 2.'],
          'API update: a cycle is refused');
SELECT is((public.rules_error($$DELETE FROM segext_api.segments WHERE number = 3$$))[1:2],
          ARRAY['23503', 'segment "buyers again" is still named by the in_segment criteria of segment "buyers in 3"'],
          'API delete: a named segment is refused');
RESET segext.company_id;

-- Customers and sales.  Segments of company A now: 2 buyers (2+ sales),
-- 3 = in 2, 4 = not in 2, 5 = in 3 or customer 1; a manual segment 6 and
-- 7 = in 6 and in 2.
INSERT INTO segext.segments (company_id, number, name) VALUES (:'a', 6, 'hand picked');
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    (:'a', 7, 'picked buyers', '{"all": [{"type": "in_segment", "segment": 6}, {"type": "in_segment", "segment": 2}]}');
INSERT INTO segext.customers (company_id, id, first_name, active)
SELECT :'a', pg_temp.cust(i), 'c' || i, i <> 10 FROM generate_series(1, 10) AS i;
INSERT INTO segext.customers (company_id, id, first_name) SELECT :'b', pg_temp.cust(100 + i), 'b' FROM generate_series(1, 3) AS i;
INSERT INTO segext.transactions (company_id, customer_id, amount)
SELECT :'a', pg_temp.cust(i), 10 FROM generate_series(1, 10) AS i, generate_series(1, 2) AS k WHERE i <= 4 OR (i = 10);
INSERT INTO segext.transactions (company_id, customer_id, amount) SELECT :'a', pg_temp.cust(5), 10;
INSERT INTO segext.transactions (company_id, customer_id, amount) SELECT :'b', pg_temp.cust(101), 10;

-- members(n): the stored members of segment n of company A (the helpers
-- reading segext's tables are PL/pgSQL planned with the arguments' values,
-- which Citus can plan).
CREATE FUNCTION pg_temp.members(n int) RETURNS text LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    company segext.objectid := (SELECT id FROM segext.companies WHERE name = 'in_segment A');
BEGIN
    RETURN ARRAY(SELECT m.customer_id FROM segext.memberships m JOIN segext.segments s
                   ON s.company_id = m.company_id AND s.id = m.segment_id
                 WHERE s.company_id = company AND m.company_id = company AND s.number = n
                 ORDER BY 1)::text;
END $$;
CREATE FUNCTION pg_temp.ids(VARIADIC i int[]) RETURNS text LANGUAGE sql AS $$
    SELECT ARRAY(SELECT pg_temp.cust(x) FROM unnest(i) x ORDER BY 1)::text $$;
-- consistent(): every segment of company A has stored members equal to
-- segment_members (each segment checked here, not where Citus keeps its row).
CREATE FUNCTION pg_temp.consistent() RETURNS bool LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    company segext.objectid := (SELECT id FROM segext.companies WHERE name = 'in_segment A');
    s segext.segments;
    differ bool;
BEGIN
    FOR s IN SELECT * FROM segext.segments WHERE company_id = company LOOP
        differ := coalesce(differ, false) OR pg_temp.members_differ(s) OR pg_temp.count_differs(s);
    END LOOP;
    RETURN NOT differ;
END $$;

SELECT is(ARRAY[pg_temp.members(2), pg_temp.members(3), pg_temp.members(4), pg_temp.members(5), pg_temp.members(7)],
          ARRAY[pg_temp.ids(1, 2, 3, 4), pg_temp.ids(1, 2, 3, 4), pg_temp.ids(5, 6, 7, 8, 9), pg_temp.ids(1, 2, 3, 4),
                '{}'],
          'members after the sales: in_segment follows its segment, "not" takes the rest of the active customers');
SELECT ok(pg_temp.consistent(), 'stored members equal segment_members for every segment');

-- A sale makes customer 5 enter 2: 3 and 5 follow, 4 loses it, in the same statement.
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (:'a', pg_temp.cust(5), 3);
SELECT is(ARRAY[pg_temp.members(2), pg_temp.members(3), pg_temp.members(4), pg_temp.members(5)],
          ARRAY[pg_temp.ids(1, 2, 3, 4, 5), pg_temp.ids(1, 2, 3, 4, 5), pg_temp.ids(6, 7, 8, 9), pg_temp.ids(1, 2, 3, 4, 5)],
          'a sale: the segments naming the segment the customer entered follow in the same statement');
-- A return makes customer 5 leave again.
SELECT pg_temp.cust(5) AS c5 \gset
SELECT id AS sale5 FROM segext.transactions WHERE company_id = :'a' AND customer_id = :'c5' AND amount = 3 \gset
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES (:'a', :'c5', -3, :'sale5');
SELECT is(ARRAY[pg_temp.members(3), pg_temp.members(4)], ARRAY[pg_temp.ids(1, 2, 3, 4), pg_temp.ids(5, 6, 7, 8, 9)],
          'a return: the customer leaves the naming segments too');

-- A customer edit: customer 2 made inactive leaves everything; back again.
SELECT pg_temp.cust(2) AS c2 \gset
UPDATE segext.customers SET active = false WHERE company_id = :'a' AND id = :'c2';
SELECT is(ARRAY[pg_temp.members(3), pg_temp.members(4)], ARRAY[pg_temp.ids(1, 3, 4), pg_temp.ids(5, 6, 7, 8, 9)],
          'an inactive customer is in no segment, "not in_segment" included');
UPDATE segext.customers SET active = true WHERE company_id = :'a' AND id = :'c2';
SELECT is(pg_temp.members(3), pg_temp.ids(1, 2, 3, 4), 'reactivated, the customer is back');

-- Manual members: 7 = in 6 and in 2 follows add/remove_segment_members.
SET LOCAL segext.company_id = :'a';
SELECT id AS a6 FROM segext.segments WHERE company_id = :'a' AND number = 6 \gset
SELECT is(segext.add_segment_members(:'a6',
                                     pg_temp.ids(1, 2, 6)::segext.objectid[]), 3::bigint, 'three manual members added');
SELECT is(pg_temp.members(7), pg_temp.ids(1, 2), 'a segment naming a manual segment follows its explicit members');
SELECT is(segext.remove_segment_members(:'a6',
                                        pg_temp.ids(2)::segext.objectid[]), 1::bigint, 'one manual member removed');
SELECT is(pg_temp.members(7), pg_temp.ids(1), 'and the naming segment follows the removal');

-- preview_criteria: unsaved in_segment criteria, by number or id, equal
-- the members once saved.
SELECT is((segext.preview_criteria('{"not": {"type": "in_segment", "segment": 3}}', 100)).sample_ids::text,
          pg_temp.ids(5, 6, 7, 8, 9), 'preview of "not in_segment 3" by number');
SELECT is((segext.preview_criteria(('[{"type": "in_segment", "segment": "' || :'a2' || '"}, {"type": "customer_list", "customers": ["' || pg_temp.cust(2) || '", "' || pg_temp.cust(7) || '"]}]')::segext.criteria, 100)).sample_ids::text,
          pg_temp.ids(2), 'preview of in_segment by id with a customer list');
SELECT is((segext.preview_criteria('{"all": [{"type": "in_segment", "segment": 7}, {"type": "in_segment", "segment": 5}]}', 100)).sample_ids::text,
          pg_temp.ids(1), 'preview naming a segment that names a manual one');
SELECT is((public.rules_error($$SELECT segext.preview_criteria('[{"type": "in_segment", "segment": 42}]')$$))[1:3],
          ARRAY['23503', 'segment 42 named by an in_segment criterion does not exist',
                'Company "in_segment A" has no segment number 42, which the criteria name.'],
          'preview: an unknown segment is refused');
SELECT is((public.rules_error(format($$SELECT segext.preview_criteria('[{"type": "in_segment", "segment": %s}]')$$, to_json(:'b2'::text))))[1], '23503',
          'preview: another company''s segment is refused');
SELECT is((public.rules_error($$SELECT segext.preview_criteria('[{"type": "in_segment", "segment": 1}]')$$))[1], '23514',
          'preview: segment 1 "Default" is refused');
SELECT is((segext.preview_criteria('[{"type": "in_segment", "segment": 0}]', 0)).member_count, 9::bigint,
          'in_segment 0 "All": every active customer');

-- A change of the named segment's criteria (through the API view) moves
-- the naming segments in the same statement.
UPDATE segext_api.segments SET criteria = '[{"type": "transaction_count", "min": 1, "max": 1000}]' WHERE number = 2;
SELECT is(ARRAY[pg_temp.members(3), pg_temp.members(4), pg_temp.members(5)],
          ARRAY[pg_temp.ids(1, 2, 3, 4, 5), pg_temp.ids(6, 7, 8, 9), pg_temp.ids(1, 2, 3, 4, 5)],
          'criteria of the named segment changed: the chain 2 -> 3 -> 5 and "not" follow');
SELECT ok(pg_temp.consistent(), 'stored members still equal segment_members');

-- Deactivating the named segment: it has no members, so in_segment is
-- false and "not in_segment" true for every active customer; activating
-- brings them back.
SELECT ok(segext.deactivate_segment(:'a2') > 0, 'segment 2 deactivated');
SELECT is(ARRAY[pg_temp.members(2), pg_temp.members(3), pg_temp.members(4), pg_temp.members(5)],
          ARRAY['{}', '{}', pg_temp.ids(1, 2, 3, 4, 5, 6, 7, 8, 9), pg_temp.ids(1)],
          'an inactive segment has no members for in_segment');
SELECT ok(pg_temp.consistent(), 'segment_members agrees with the stored members of every segment');
SELECT ok(segext.activate_segment(:'a2') > 0, 'segment 2 activated');
SELECT is(ARRAY[pg_temp.members(3), pg_temp.members(4)], ARRAY[pg_temp.ids(1, 2, 3, 4, 5), pg_temp.ids(6, 7, 8, 9)],
          'activated again: the naming segments follow');

-- refresh_segment of a naming segment, and refresh_company: nothing to change.
SELECT id AS a5 FROM segext.segments WHERE company_id = :'a' AND number = 5 \gset
SELECT is(segext.refresh_segment(:'a5'), 0::bigint, 'refresh_segment(5) finds nothing to change');
SELECT is(segext.refresh_company(:'a'), 0::bigint, 'refresh_company finds nothing to change');
SELECT ok(pg_temp.consistent(), 'consistent after the refreshes');

-- Dependency order is not number order: 3 names a later segment, 10, and
-- 5 names 3; a sale moves the customer through 10, 3 and 5 at once.
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    (:'a', 10, 'any sale', '[{"type": "transaction_count", "min": 1, "max": 1000}]');
UPDATE segext.segments SET criteria = '[{"type": "in_segment", "segment": 10}]' WHERE company_id = :'a' AND number = 3;
SELECT is(ARRAY[pg_temp.members(3), pg_temp.members(5)], ARRAY[pg_temp.ids(1, 2, 3, 4, 5), pg_temp.ids(1, 2, 3, 4, 5)],
          'a segment naming a later segment, and one naming it');
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (:'a', pg_temp.cust(6), 4);
SELECT is(ARRAY[pg_temp.members(10), pg_temp.members(3), pg_temp.members(5)],
          ARRAY[pg_temp.ids(1, 2, 3, 4, 5, 6), pg_temp.ids(1, 2, 3, 4, 5, 6), pg_temp.ids(1, 2, 3, 4, 5, 6)],
          'a sale: the named segments are decided first, whatever their numbers');
SELECT ok(pg_temp.consistent(), 'consistent with segments named out of number order');

-- explain_membership: the in_segment node and the overall answer equal the
-- stored membership, for members and non-members of segments 3, 4 and 5.
SELECT id AS a3 FROM segext.segments WHERE company_id = :'a' AND number = 3 \gset
SELECT id AS a4 FROM segext.segments WHERE company_id = :'a' AND number = 4 \gset
SELECT is((SELECT pg_catalog.array_agg(x.matched ORDER BY x.ordinal) FROM segext.explain_membership(s.id, pg_temp.cust(c)) AS x
           WHERE x.path IN ('1', 'segment')),
          ARRAY[pg_temp.members(s.number) LIKE '%' || pg_temp.cust(c)::text || '%',
                pg_temp.members(s.number) LIKE '%' || pg_temp.cust(c)::text || '%'],
          'explain_membership of segment ' || s.number || ' for customer ' || c)
FROM (VALUES (:'a3'::segext.objectid, 3), (:'a4'::segext.objectid, 4)) AS s(id, number) CROSS JOIN (VALUES (1), (7)) AS v(c);

-- Events: classification skips the in_segment segments of company A.
SELECT is(segext.classify(:'a', '{"x": 1}'), 1, 'an event falls to Default: in_segment segments are skipped');

-- The criteria no longer naming segment 2 let it be deleted.
UPDATE segext.segments SET criteria = '[{"type": "transaction_count", "min": 5, "max": 6}]'
WHERE company_id = :'a' AND number IN (3, 4, 7);
SELECT is(public.rules_error(format($$DELETE FROM segext.segments WHERE company_id = %L AND number = 2$$, :'a')), NULL,
          'a segment no longer named can be deleted');
SELECT ok(pg_temp.consistent(), 'consistent after the delete');

SELECT * FROM finish();
ROLLBACK;
