\set ECHO none
\set ON_ERROR_STOP 1
-- Event stamping: first match by position, ties to the lower number, Default fallback,
-- inactive / manual / customer-aggregate segments skipped, group stamped and kept after a
-- move, columns versus jsonb keys, company id checks, classify(), and trigger misuse
-- refused at CREATE TRIGGER (event trigger) and when fired.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext, pg_catalog;
SELECT plan(43);

-- A company (inserting it creates its built-ins: segments 0 and 1, group 0).
INSERT INTO segext.companies (id, name) VALUES ('e0e0e0e0e0e0e0e0e0e0e0e0', 'Stamp Co');
INSERT INTO segext.segment_groups (company_id, id, name) VALUES
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 7, 'Web'), ('e0e0e0e0e0e0e0e0e0e0e0e0', 8, 'Shop');
INSERT INTO segext.segments (company_id, number, name, position, group_id, active, criteria) VALUES
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 10, 'act 12', 2, 7, true, '[{"field":"act","op":"begins","value":"12"}]'),
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 11, 'act 1', 1, 8, true, '[{"field":"act","op":"begins","value":"1"}]'),
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 13, 'nz b', 3, 8, true, '[{"field":"country","op":"eq","value":"NZ"}]'),
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 12, 'nz a', 3, 7, true, '[{"field":"country","op":"eq","value":"NZ"}]'),
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 14, 'fr off', 0, 7, false, '[{"field":"country","op":"eq","value":"FR"}]'),
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 15, 'manual', 0, 7, true, NULL),
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 16, 'buyers', 0, 7, true, '[{"type":"transaction_count","min":0,"max":100}]'),
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 17, 'gold', 4, 8, true, '[{"field":"plan","op":"eq","value":"gold"}]');

CREATE TABLE public.stamp_events (
    id              pg_catalog.int4 GENERATED ALWAYS AS IDENTITY,
    company_id      segext.objectid,
    act             pg_catalog.text,
    country         pg_catalog.varchar(2),
    amount          pg_catalog.numeric,
    props           pg_catalog.jsonb,
    segment         pg_catalog.int4,
    segment_group   pg_catalog.int8
);
SELECT lives_ok($$CREATE TRIGGER stamp BEFORE INSERT ON public.stamp_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group', 'props')$$,
    'a trigger with correct arguments is accepted');

-- e inserts one event and returns its stamp as "segment/group".
CREATE FUNCTION pg_temp.e(act text, country text DEFAULT NULL, props jsonb DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
    INSERT INTO public.stamp_events (company_id, act, country, props)
    VALUES ('e0e0e0e0e0e0e0e0e0e0e0e0', $1, $2, $3)
    RETURNING segment || '/' || segment_group
$$;

SELECT is(pg_temp.e('12x'), '11/8', 'first match by position: position 1 beats position 2');
SELECT is(pg_temp.e('99', 'NZ'), '12/7', 'a tie in position goes to the lower number');
SELECT is(pg_temp.e('99', 'XX'), '1/0', 'no match falls back to Default and its group');
SELECT is(pg_temp.e('99', 'FR'), '1/0', 'an inactive segment is skipped');
SELECT is(pg_temp.e(NULL), '1/0', 'manual and customer-aggregate segments never match an event');
SELECT is(pg_temp.e('99', NULL, '{"plan": "gold"}'), '17/8', 'a key of the jsonb column is a field');
SELECT is(pg_temp.e('99', NULL, '{"country": "NZ"}'), '1/0',
    'a column wins over a jsonb key of the same name, even when NULL');
SELECT is(pg_temp.e('99', NULL, '{"plan": null}'), '1/0', 'a JSON null is a missing field');
SELECT is(pg_temp.e('99', NULL, '["plan", "gold"]'), '1/0', 'a jsonb value that is not an object has no keys');

-- Changes in this session are seen by the next insert.
UPDATE segext.segments SET position = 0 WHERE company_id = 'e0e0e0e0e0e0e0e0e0e0e0e0' AND number = 10;
SELECT is(pg_temp.e('12x'), '10/7', 'a reorder is seen by the next insert');
UPDATE segext.segments SET active = false WHERE company_id = 'e0e0e0e0e0e0e0e0e0e0e0e0' AND number = 10;
SELECT is(pg_temp.e('12x'), '11/8', 'a deactivation is seen by the next insert');
UPDATE segext.segments SET criteria = '[{"field":"act","op":"eq","value":"777"}]'
 WHERE company_id = 'e0e0e0e0e0e0e0e0e0e0e0e0' AND number = 11;
SELECT is(pg_temp.e('12x'), '1/0', 'a criteria change is seen by the next insert');
SELECT is(pg_temp.e('777'), '11/8', 'the new criteria match');

-- The group is stamped at insert and kept when the segment moves.
SELECT is((SELECT count(*) FROM public.stamp_events WHERE segment = 11 AND segment_group = 8), 3::pg_catalog.int8,
    'three events stamped with segment 11 in group 8');
UPDATE segext.segments SET group_id = 7 WHERE company_id = 'e0e0e0e0e0e0e0e0e0e0e0e0' AND number = 11;
SELECT is(pg_temp.e('777'), '11/7', 'after the move, new events get the new group');
SELECT is((SELECT count(*) FROM public.stamp_events WHERE segment = 11 AND segment_group = 8), 3::pg_catalog.int8,
    'events stamped before the move keep the old group');

-- Non-text columns are compared through their text form.
INSERT INTO segext.segments (company_id, number, name, position, criteria) VALUES
    ('e0e0e0e0e0e0e0e0e0e0e0e0', 18, 'big', 0, '[{"field":"amount","op":"gte","value":100}]');
CREATE FUNCTION pg_temp.e_amount(amount numeric) RETURNS int4 LANGUAGE sql AS $$
    INSERT INTO public.stamp_events (company_id, act, amount) VALUES ('e0e0e0e0e0e0e0e0e0e0e0e0', 'a', $1)
    RETURNING segment
$$;
SELECT is(pg_temp.e_amount(100.50), 18, 'a numeric column matches a numeric criterion');
SELECT is(pg_temp.e_amount(99.99), 1, 'a numeric column below the bound does not match');

-- Company ids.
SELECT throws_ok($$INSERT INTO public.stamp_events (company_id, act) VALUES (NULL, 'a')$$,
    '23502', 'null company id in column "company_id" of relation "stamp_events"', 'a null company id is refused');
SELECT throws_ok($$INSERT INTO public.stamp_events (company_id, act) VALUES ('ffffffffffffffffffffffff', 'a')$$,
    '23503', 'company "ffffffffffffffffffffffff" does not exist', 'an unknown company is refused');

CREATE TABLE public.stamp_text_events (company text, seg int8, grp int4, act text);
CREATE TRIGGER stamp BEFORE INSERT ON public.stamp_text_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company', 'seg', 'grp');
CREATE FUNCTION pg_temp.e_text(company text, act text) RETURNS text LANGUAGE sql AS $$
    INSERT INTO public.stamp_text_events (company, act) VALUES ($1, $2) RETURNING seg || '/' || grp
$$;
SELECT is(pg_temp.e_text('E0E0E0E0E0E0E0E0E0E0E0E0', '777'), '11/7', 'a text company column and bigint segment column work');
SELECT throws_ok($$INSERT INTO public.stamp_text_events (company, act) VALUES ('nope', 'a')$$,
    '22P02', NULL, 'a text company id that is not an objectid is refused');

-- classify() uses the same cache and evaluator.
SELECT is(segext.classify('e0e0e0e0e0e0e0e0e0e0e0e0', '{"act": "777"}'), 11, 'classify finds the matching segment');
SELECT is(segext.classify('e0e0e0e0e0e0e0e0e0e0e0e0', '{"country": "NZ"}'), 12, 'classify resolves ties like the trigger');
SELECT is(segext.classify('e0e0e0e0e0e0e0e0e0e0e0e0', '{}'), 1, 'classify falls back to Default');
SELECT throws_ok($$SELECT segext.classify('e0e0e0e0e0e0e0e0e0e0e0e0', '[1]')$$,
    '22023', 'event must be a JSON object', 'classify refuses an event that is not an object');
SELECT throws_ok($$SELECT segext.classify('ffffffffffffffffffffffff', '{}')$$,
    '23503', NULL, 'classify refuses an unknown company');

-- Segments that event stamping leaves out are listed.
SELECT results_eq(
    $$SELECT number, reason FROM segext.check_event_segments('e0e0e0e0e0e0e0e0e0e0e0e0')$$,
    $$VALUES (15, 'manual segment: members are assigned explicitly'),
             (16, 'criteria on customer aggregates: an event cannot match them')$$,
    'check_event_segments lists the manual and the customer-aggregate segment');

-- Misuse is refused at CREATE TRIGGER.
CREATE TABLE public.stamp_bad (company_id segext.objectid, seg int4, grp int4, name text, n int2, j json);
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'seg')$$,
    '22023', 'trigger function segext.stamp_event() on relation "stamp_bad" needs 3 or 4 arguments, got 2',
    'too few arguments');
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'grp')$$,
    '42703', 'column "segment" of relation "stamp_bad" does not exist', 'a table without the named column');
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('seg', 'grp', 'name')$$,
    '42804', 'column "seg" of relation "stamp_bad" must be of type segext.objectid or text', 'a company column of the wrong type');
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'name', 'grp')$$,
    '42804', 'column "name" of relation "stamp_bad" must be of type integer or bigint', 'a segment column of the wrong type');
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'seg', 'n')$$,
    '42804', 'column "n" of relation "stamp_bad" must be of type integer or bigint', 'a smallint group column');
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'seg', 'grp', 'j')$$,
    '42804', 'column "j" of relation "stamp_bad" must be of type jsonb', 'a fields column that is not jsonb');
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'seg', 'seg')$$,
    '22023', 'trigger function segext.stamp_event() on relation "stamp_bad" names one column twice', 'one column named twice');
SELECT throws_ok($$CREATE TRIGGER t AFTER INSERT ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'seg', 'grp')$$,
    '39P01', 'trigger "t" on relation "stamp_bad" must be BEFORE INSERT FOR EACH ROW', 'an AFTER trigger');
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT OR UPDATE ON public.stamp_bad FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'seg', 'grp')$$,
    '39P01', NULL, 'an UPDATE trigger');

-- ... and when fired (the event trigger disabled, or the table changed afterwards).
ALTER EVENT TRIGGER segext_check_event_trigger DISABLE;
CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW EXECUTE FUNCTION segext.stamp_event('company_id');
SELECT throws_ok($$INSERT INTO public.stamp_bad (company_id) VALUES ('e0e0e0e0e0e0e0e0e0e0e0e0')$$,
    '22023', 'trigger function segext.stamp_event() on relation "stamp_bad" needs 3 or 4 arguments, got 1',
    'wrong arguments are reported when fired');
DROP TRIGGER t ON public.stamp_bad;
CREATE TRIGGER t AFTER INSERT ON public.stamp_bad FOR EACH ROW EXECUTE FUNCTION segext.stamp_event('company_id', 'seg', 'grp');
SELECT throws_ok($$INSERT INTO public.stamp_bad (company_id) VALUES ('e0e0e0e0e0e0e0e0e0e0e0e0')$$,
    '39P01', 'function "stamp_event" must be fired BEFORE ROW', 'an AFTER trigger is refused when fired');
DROP TRIGGER t ON public.stamp_bad;
CREATE TRIGGER t BEFORE UPDATE ON public.stamp_bad FOR EACH ROW EXECUTE FUNCTION segext.stamp_event('company_id', 'seg', 'grp');
INSERT INTO public.stamp_bad (company_id) VALUES ('e0e0e0e0e0e0e0e0e0e0e0e0');
SELECT throws_ok($$UPDATE public.stamp_bad SET name = 'x'$$,
    '39P01', 'function "stamp_event" must be fired for INSERT', 'an UPDATE trigger is refused when fired');
DROP TRIGGER t ON public.stamp_bad;
ALTER EVENT TRIGGER segext_check_event_trigger ENABLE;

CREATE TRIGGER t BEFORE INSERT ON public.stamp_bad FOR EACH ROW EXECUTE FUNCTION segext.stamp_event('company_id', 'seg', 'grp');
SELECT lives_ok($$INSERT INTO public.stamp_bad (company_id) VALUES ('e0e0e0e0e0e0e0e0e0e0e0e0')$$,
    'the trigger works before the table changes');
ALTER TABLE public.stamp_bad RENAME COLUMN seg TO seg_renamed;
SELECT throws_ok($$INSERT INTO public.stamp_bad (company_id) VALUES ('e0e0e0e0e0e0e0e0e0e0e0e0')$$,
    '42703', 'column "seg" of relation "stamp_bad" does not exist', 'a renamed column is reported when fired');

SELECT * FROM finish();
ROLLBACK;
