\set ECHO none
\set ON_ERROR_STOP 1
-- Event stamping's dispatch index never changes a stamp: random segment sets (fixed seed) with
-- and without indexable parts (eq/in/begins on one field with string values), several
-- indexable parts per segment (some on the same field), begins prefixes of lengths 0 to 4
-- (longer than some values), empty-string values, numeric eq, mixed in-lists, negations,
-- missing fields, JSON keys and position ties; random events are stamped through the
-- trigger and each stamp is compared with a brute-force evaluation of the segments in order
-- (position, number) with segext.criteria_match_event().
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext, pg_catalog;
SELECT plan(18);

SELECT setseed(0.11);

-- pick returns a random element of an array.
CREATE FUNCTION pg_temp.pick(a text[]) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT a[1 + floor(random() * pg_catalog.array_length(a, 1))::int]
$$;

-- atom returns one random field criterion as JSON; indexable: only eq/in with strings and
-- begins; indexable NULL: only eq/in (with strings or numbers, compared as numbers) and begins.
CREATE FUNCTION pg_temp.atom(field text, indexable boolean) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    strs text[] := ARRAY['"x"', '"y"', '"z"', '"5"', '"05"', '"5.0"', '"xy"', '""'];
    op text;
BEGIN
    IF indexable IS NULL THEN
        op := pg_temp.pick(ARRAY['eq', 'eqnum', 'in', 'inmixed', 'begins']);
    ELSIF indexable THEN
        op := pg_temp.pick(ARRAY['eq', 'eq', 'in', 'begins', 'begins']);
    ELSE
        op := pg_temp.pick(ARRAY['eq', 'eqnum', 'in', 'inmixed', 'ends', 'neq', 'nin', 'gt',
                                 'exists', 'nexists', 'contains']);
    END IF;
    RETURN CASE op
        WHEN 'eq' THEN format('{"field":"%s","op":"eq","value":%s}', field, pg_temp.pick(strs))
        WHEN 'eqnum' THEN format('{"field":"%s","op":"eq","value":%s}', field, pg_temp.pick(ARRAY['5', '5.0', '7']))
        WHEN 'in' THEN format('{"field":"%s","op":"in","value":[%s,%s]}', field, pg_temp.pick(strs), pg_temp.pick(strs))
        WHEN 'inmixed' THEN format('{"field":"%s","op":"in","value":[%s,5]}', field, pg_temp.pick(strs))
        WHEN 'begins' THEN format('{"field":"%s","op":"begins","value":"%s"}', field,
                                  pg_temp.pick(ARRAY['', 'x', 'y', '0', '5', 'xy', 'ya', '5.', 'xyz', 'yaa', 'xyzw']))
        WHEN 'nbegins' THEN format('{"field":"%s","op":"nbegins","value":"%s"}', field, pg_temp.pick(ARRAY['x', '0', '5']))
        WHEN 'ends' THEN format('{"field":"%s","op":"ends","value":"%s"}', field, pg_temp.pick(ARRAY['x', 'y', '0']))
        WHEN 'neq' THEN format('{"field":"%s","op":"neq","value":%s}', field, pg_temp.pick(strs))
        WHEN 'nin' THEN format('{"field":"%s","op":"nin","value":[%s,%s]}', field, pg_temp.pick(strs), pg_temp.pick(strs))
        WHEN 'gt' THEN format('{"field":"%s","op":"gt","value":4}', field)
        WHEN 'exists' THEN format('{"field":"%s","op":"exists"}', field)
        WHEN 'nexists' THEN format('{"field":"%s","op":"nexists"}', field)
        ELSE format('{"field":"%s","op":"contains","value":"y"}', field)
    END;
END
$$;

-- criteria returns random criteria of 1-3 parts.  mode 'none': no part is indexable;
-- 'all': the first part is indexable; 'mixed': each part is indexable half of the time;
-- 'multi': every part is indexable (several indexable parts per segment);
-- 'eq': every part is eq/in/begins on one field, with string and numeric values.
CREATE FUNCTION pg_temp.criteria(mode text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    fields text[] := ARRAY['a', 'b', 'n', 'c', 'd'];
    parts text[] := '{}';
    atoms text[];
    field text;
    indexable boolean;
BEGIN
    FOR p IN 1 .. 1 + floor(random() * 3)::int LOOP
        atoms := '{}';
        indexable := CASE mode WHEN 'none' THEN false WHEN 'all' THEN p = 1 WHEN 'multi' THEN true
                               WHEN 'eq' THEN NULL ELSE random() < 0.5 END;
        field := pg_temp.pick(fields);
        FOR i IN 1 .. 1 + floor(random() * 3)::int LOOP
            -- an indexable part keeps to one field; others mix fields
            IF NOT coalesce(indexable, true) AND random() < 0.5 THEN
                field := pg_temp.pick(fields);
            END IF;
            atoms := atoms || pg_temp.atom(field, indexable);
        END LOOP;
        parts := parts || format('{"criteria":[%s]}', pg_catalog.array_to_string(atoms, ','));
    END LOOP;
    RETURN '[' || pg_catalog.array_to_string(parts, ',') || ']';
END
$$;

CREATE TABLE public.dispatch_events (
    id          pg_catalog.int4 GENERATED ALWAYS AS IDENTITY,
    round       pg_catalog.int4,
    company_id  segext.objectid,
    a           pg_catalog.text,
    b           pg_catalog.varchar,
    n           pg_catalog.numeric,
    props       pg_catalog.jsonb,
    segment     pg_catalog.int4,
    segment_group pg_catalog.int4
);
CREATE TRIGGER stamp BEFORE INSERT ON public.dispatch_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group', 'props');

-- run_round makes a company with nsegs random segments (positions 0-5, so ties are common),
-- inserts nevents random events and returns the number of events whose stamp differs from
-- the brute-force evaluation.
CREATE FUNCTION pg_temp.run_round(round int, company segext.objectid, mode text, nsegs int, nevents int)
RETURNS pg_catalog.int8 LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    vals text[] := ARRAY['x', 'y', 'z', '5', '05', '5.0', 'xy', 'ya', '', 'xyz', 'yaa'];
    wrong pg_catalog.int8;
BEGIN
    INSERT INTO segext.companies (id, name, max_segments) VALUES (company, 'Dispatch ' || round, 1000);
    INSERT INTO segext.segments (company_id, number, name, position, group_id, active, criteria)
    SELECT company, k + 1, 'seg ' || k, floor(random() * 6)::int, 0, random() < 0.9,
           pg_temp.criteria(mode)::segext.criteria
      FROM pg_catalog.generate_series(1, nsegs) k;
    INSERT INTO public.dispatch_events (round, company_id, a, b, n, props)
    SELECT round, company,
           CASE WHEN random() < 0.15 THEN NULL ELSE pg_temp.pick(vals) END,
           CASE WHEN random() < 0.15 THEN NULL ELSE pg_temp.pick(vals) END,
           (ARRAY[5, 5.0, 7, 4.5, NULL])[1 + floor(random() * 5)::int],
           CASE WHEN random() < 0.2 THEN NULL
                ELSE pg_catalog.jsonb_build_object(
                    'c', (ARRAY['"x"', '"y"', '"5"', '5', 'null', '"05"', '""', '"xyz"'])[1 + floor(random() * 8)::int]::pg_catalog.jsonb,
                    'd', (ARRAY['5', '5.0', '"5"', '"x"', 'true', 'null'])[1 + floor(random() * 6)::int]::pg_catalog.jsonb)
           END
      FROM pg_catalog.generate_series(1, nevents);
    SELECT count(*) INTO wrong
      FROM public.dispatch_events e
     WHERE e.round = run_round.round
       AND e.segment IS DISTINCT FROM coalesce(
           (SELECT s.number
              FROM segext.segments s
             WHERE s.company_id OPERATOR(pg_catalog.=) company AND s.active AND s.number >= 2
               AND s.criteria IS NOT NULL
               AND segext.criteria_match_event(s.criteria,
                       pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('a', e.a, 'b', e.b, 'n', e.n))
                       || coalesce(e.props, '{}'))
             ORDER BY s.position, s.number LIMIT 1), 1);
    RETURN wrong;
END
$$;

SELECT is(pg_temp.run_round(1, 'd1d1d1d1d1d1d1d1d1d1d1d1', 'mixed', 60, 3000), 0::pg_catalog.int8,
    'mixed segments (indexable parts half of the time): every stamp equals brute force');
SELECT cmp_ok((SELECT count(DISTINCT segment) FROM public.dispatch_events WHERE round = 1), '>=', 8::pg_catalog.int8,
    'mixed segments: the events spread over many segments');
SELECT cmp_ok((SELECT max(c) FROM (SELECT count(*) AS c FROM public.dispatch_events WHERE round = 1
                                    GROUP BY segment) t), '<', 1500::pg_catalog.int8,
    'mixed segments: no single segment takes half of the events');

SELECT is(pg_temp.run_round(2, 'd2d2d2d2d2d2d2d2d2d2d2d2', 'all', 80, 3000), 0::pg_catalog.int8,
    'every segment has an indexable part: every stamp equals brute force');
SELECT cmp_ok((SELECT count(DISTINCT segment) FROM public.dispatch_events WHERE round = 2), '>=', 8::pg_catalog.int8,
    'indexable segments: the events spread over many segments');
SELECT cmp_ok((SELECT count(*) FROM public.dispatch_events WHERE round = 2 AND segment = 1), '>', 0::pg_catalog.int8,
    'indexable segments: some events fall to Default');

SELECT is(pg_temp.run_round(3, 'd3d3d3d3d3d3d3d3d3d3d3d3', 'none', 40, 2000), 0::pg_catalog.int8,
    'no segment has an indexable part: every stamp equals brute force');
SELECT cmp_ok((SELECT count(DISTINCT segment) FROM public.dispatch_events WHERE round = 3), '>=', 4::pg_catalog.int8,
    'no indexable part: the events spread over several segments');

SELECT is(pg_temp.run_round(6, 'd6d6d6d6d6d6d6d6d6d6d6d6', 'eq', 30, 3000), 0::pg_catalog.int8,
    'eq/in parts with string and numeric values (5, 5.0, "5"): every stamp equals brute force');
SELECT cmp_ok((SELECT count(DISTINCT segment) FROM public.dispatch_events WHERE round = 6), '>=', 10::pg_catalog.int8,
    'eq/in parts: the events spread over many segments');

-- Several indexable parts per segment (eq, in and begins, prefixes of several lengths).
SELECT is(pg_temp.run_round(7, 'd7d7d7d7d7d7d7d7d7d7d7d7', 'multi', 80, 3000), 0::pg_catalog.int8,
    'every part indexable, several per segment: every stamp equals brute force');
SELECT cmp_ok((SELECT count(DISTINCT segment) FROM public.dispatch_events WHERE round = 7), '>=', 10::pg_catalog.int8,
    'several indexable parts: the events spread over many segments');
SELECT cmp_ok((SELECT count(*) FROM public.dispatch_events WHERE round = 7 AND segment = 1), '>', 0::pg_catalog.int8,
    'several indexable parts: some events fall to Default');
SELECT cmp_ok((SELECT count(*) FROM segext.segments
                WHERE company_id = 'd7d7d7d7d7d7d7d7d7d7d7d7' AND number >= 2
                  AND pg_catalog.jsonb_path_exists(segext.criteria_to_jsonb(criteria),
                          '$.** ? (@.op == "begins" && @.value == "")')
                  AND pg_catalog.jsonb_array_length(segext.criteria_to_jsonb(criteria)) >= 2),
              '>', 0::pg_catalog.int8,
    'several indexable parts: the data has segments of two or more parts, one with an empty prefix');

-- More than 64 segments (several bitmap words), in one company, eq/in parts only.
SELECT is(pg_temp.run_round(4, 'd4d4d4d4d4d4d4d4d4d4d4d4', 'eq', 200, 3000), 0::pg_catalog.int8,
    '200 segments (several bitmap words): every stamp equals brute force');
SELECT cmp_ok((SELECT max(segment) FROM public.dispatch_events WHERE round = 4), '>', 64,
    '200 segments: segments beyond the first bitmap word are stamped');

-- The index follows segment changes: drop every indexable segment's index entry by
-- replacing criteria, and stamp again.
UPDATE segext.segments SET criteria = pg_temp.criteria('mixed')::segext.criteria
 WHERE company_id = 'd1d1d1d1d1d1d1d1d1d1d1d1' AND number >= 2 AND number % 2 = 0;
INSERT INTO public.dispatch_events (round, company_id, a, b, n, props)
SELECT 5, 'd1d1d1d1d1d1d1d1d1d1d1d1', a, b, n, props FROM public.dispatch_events WHERE round = 1;
SELECT is((SELECT count(*) FROM public.dispatch_events e
            WHERE e.round = 5
              AND e.segment IS DISTINCT FROM coalesce(
                  (SELECT s.number FROM segext.segments s
                    WHERE s.company_id OPERATOR(pg_catalog.=) 'd1d1d1d1d1d1d1d1d1d1d1d1' AND s.active
                      AND s.number >= 2 AND s.criteria IS NOT NULL
                      AND segext.criteria_match_event(s.criteria,
                              pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('a', e.a, 'b', e.b, 'n', e.n))
                              || coalesce(e.props, '{}'))
                    ORDER BY s.position, s.number LIMIT 1), 1)),
    0::pg_catalog.int8, 'after half the criteria change, every stamp equals brute force');

-- classify() uses the same index.
SELECT is((SELECT count(*) FROM public.dispatch_events e
            WHERE e.round = 5
              AND e.segment IS DISTINCT FROM segext.classify('d1d1d1d1d1d1d1d1d1d1d1d1',
                  pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('a', e.a, 'b', e.b, 'n', e.n))
                  || coalesce(e.props, '{}'))),
    0::pg_catalog.int8, 'classify() agrees with the trigger on every event');

SELECT * FROM finish();
ROLLBACK;
