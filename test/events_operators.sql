\set ECHO none
\set ON_ERROR_STOP 1
-- Every field operator on strings, numbers and missing fields, through classify() (fields =
-- the keys of a jsonb object) and through the trigger (fields = columns, NULL = missing).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext, pg_catalog;
SELECT plan(75);

INSERT INTO segext.companies (id, name) VALUES ('0e0e0e0e0e0e0e0e0e0e0e0e', 'Operators Co');
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    ('0e0e0e0e0e0e0e0e0e0e0e0e', 2, 'probe', '[{"field":"s","op":"exists"}]');

-- m sets segment 2's criteria to {field s, op, value} and tells whether the event lands in it.
CREATE FUNCTION pg_temp.m(op text, value jsonb, event jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE segext.segments
       SET criteria = pg_catalog.jsonb_build_array(
               pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('field', 's', 'op', op, 'value', value)))::text::segext.criteria
     WHERE company_id = '0e0e0e0e0e0e0e0e0e0e0e0e' AND number = 2;
    RETURN segext.classify('0e0e0e0e0e0e0e0e0e0e0e0e', event) = 2;
END
$$;

SELECT is(pg_temp.m('eq', '"abc"', '{"s":"abc"}'), true, 'eq: equal string');
SELECT is(pg_temp.m('eq', '"abc"', '{"s":"abd"}'), false, 'eq: different string');
SELECT is(pg_temp.m('eq', '"ABC"', '{"s":"abc"}'), false, 'eq: case-sensitive');
SELECT is(pg_temp.m('eq', '"abc"', '{}'), false, 'eq: missing field');
SELECT is(pg_temp.m('neq', '"abc"', '{"s":"abd"}'), true, 'neq: different string');
SELECT is(pg_temp.m('neq', '"abc"', '{"s":"abc"}'), false, 'neq: equal string');
SELECT is(pg_temp.m('neq', '"abc"', '{}'), true, 'neq: missing field');
SELECT is(pg_temp.m('begins', '"ab"', '{"s":"abc"}'), true, 'begins: prefix');
SELECT is(pg_temp.m('begins', '"ab"', '{"s":"xab"}'), false, 'begins: not a prefix');
SELECT is(pg_temp.m('begins', '"ab"', '{}'), false, 'begins: missing field');
SELECT is(pg_temp.m('nbegins', '"ab"', '{"s":"xab"}'), true, 'nbegins: not a prefix');
SELECT is(pg_temp.m('nbegins', '"ab"', '{"s":"abc"}'), false, 'nbegins: prefix');
SELECT is(pg_temp.m('nbegins', '"ab"', '{}'), true, 'nbegins: missing field');
SELECT is(pg_temp.m('ends', '"bc"', '{"s":"abc"}'), true, 'ends: suffix');
SELECT is(pg_temp.m('ends', '"bc"', '{"s":"bca"}'), false, 'ends: not a suffix');
SELECT is(pg_temp.m('ends', '"bc"', '{}'), false, 'ends: missing field');
SELECT is(pg_temp.m('nends', '"bc"', '{"s":"bca"}'), true, 'nends: not a suffix');
SELECT is(pg_temp.m('nends', '"bc"', '{"s":"abc"}'), false, 'nends: suffix');
SELECT is(pg_temp.m('nends', '"bc"', '{}'), true, 'nends: missing field');
SELECT is(pg_temp.m('contains', '"b"', '{"s":"abc"}'), true, 'contains: substring');
SELECT is(pg_temp.m('contains', '"B"', '{"s":"abc"}'), false, 'contains: case-sensitive');
SELECT is(pg_temp.m('contains', '"b"', '{}'), false, 'contains: missing field');
SELECT is(pg_temp.m('ncontains', '"z"', '{"s":"abc"}'), true, 'ncontains: no substring');
SELECT is(pg_temp.m('ncontains', '"b"', '{"s":"abc"}'), false, 'ncontains: substring');
SELECT is(pg_temp.m('ncontains', '"b"', '{}'), true, 'ncontains: missing field');
SELECT is(pg_temp.m('regex', '"^a[0-9]+$"', '{"s":"a123"}'), true, 'regex: matches');
SELECT is(pg_temp.m('regex', '"^a[0-9]+$"', '{"s":"a12b"}'), false, 'regex: does not match');
SELECT is(pg_temp.m('regex', '"^(ab|cd){2}\\M"', '{"s":"abcd x"}'), true, 'regex: ARE syntax (alternation, bound, \M word end)');
SELECT is(pg_temp.m('regex', '"^a"', '{}'), false, 'regex: missing field');
SELECT is(pg_temp.m('nregex', '"^a[0-9]+$"', '{"s":"a12b"}'), true, 'nregex: does not match');
SELECT is(pg_temp.m('nregex', '"^a[0-9]+$"', '{"s":"a123"}'), false, 'nregex: matches');
SELECT is(pg_temp.m('nregex', '"^a"', '{}'), true, 'nregex: missing field');
SELECT is(pg_temp.m('gt', '10', '{"s":11}'), true, 'gt: greater number');
SELECT is(pg_temp.m('gt', '10', '{"s":10}'), false, 'gt: equal number');
SELECT is(pg_temp.m('gt', '9', '{"s":"10"}'), true, 'gt: compares numerically, not as text');
SELECT is(pg_temp.m('gt', '10', '{}'), false, 'gt: missing field');
SELECT is(pg_temp.m('gte', '10', '{"s":10}'), true, 'gte: equal number');
SELECT is(pg_temp.m('gte', '10', '{"s":9.99}'), false, 'gte: smaller number');
SELECT is(pg_temp.m('gte', '10', '{}'), false, 'gte: missing field');
SELECT is(pg_temp.m('lt', '10', '{"s":9.99}'), true, 'lt: smaller number');
SELECT is(pg_temp.m('lt', '10', '{"s":10}'), false, 'lt: equal number');
SELECT is(pg_temp.m('lt', '10', '{"s":"abc"}'), false, 'lt: a value that is not a number');
SELECT is(pg_temp.m('lt', '10', '{}'), false, 'lt: missing field');
SELECT is(pg_temp.m('lte', '10', '{"s":10}'), true, 'lte: equal number');
SELECT is(pg_temp.m('lte', '10', '{"s":10.01}'), false, 'lte: greater number');
SELECT is(pg_temp.m('lte', '-1.5', '{"s":-2}'), true, 'lte: negative numbers');
SELECT is(pg_temp.m('lte', '10', '{}'), false, 'lte: missing field');
SELECT is(pg_temp.m('in', '["a","b"]', '{"s":"b"}'), true, 'in: listed string');
SELECT is(pg_temp.m('in', '["a","b"]', '{"s":"c"}'), false, 'in: unlisted string');
SELECT is(pg_temp.m('in', '["a","b"]', '{}'), false, 'in: missing field');
SELECT is(pg_temp.m('nin', '["a","b"]', '{"s":"c"}'), true, 'nin: unlisted string');
SELECT is(pg_temp.m('nin', '["a","b"]', '{"s":"a"}'), false, 'nin: listed string');
SELECT is(pg_temp.m('nin', '["a","b"]', '{}'), true, 'nin: missing field');
SELECT is(pg_temp.m('exists', NULL, '{"s":"x"}'), true, 'exists: present field');
SELECT is(pg_temp.m('exists', NULL, '{"s":""}'), true, 'exists: present empty string');
SELECT is(pg_temp.m('exists', NULL, '{"s":null}'), false, 'exists: JSON null is missing');
SELECT is(pg_temp.m('exists', NULL, '{}'), false, 'exists: missing field');
SELECT is(pg_temp.m('nexists', NULL, '{}'), true, 'nexists: missing field');
SELECT is(pg_temp.m('nexists', NULL, '{"s":"x"}'), false, 'nexists: present field');

-- The same operators through the trigger: text and numeric columns, NULL as missing.
CREATE TABLE public.op_events (company_id segext.objectid, s text, n numeric, segment int4, segment_group int4);
CREATE TRIGGER stamp BEFORE INSERT ON public.op_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group');
CREATE FUNCTION pg_temp.t(field text, op text, value jsonb, s text, n numeric) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    seg int4;
BEGIN
    UPDATE segext.segments
       SET criteria = pg_catalog.jsonb_build_array(
               pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('field', field, 'op', op, 'value', value)))::text::segext.criteria
     WHERE company_id = '0e0e0e0e0e0e0e0e0e0e0e0e' AND number = 2;
    INSERT INTO public.op_events (company_id, s, n) VALUES ('0e0e0e0e0e0e0e0e0e0e0e0e', s, n) RETURNING segment INTO seg;
    RETURN seg = 2;
END
$$;

SELECT is(pg_temp.t('s', 'eq', '"abc"', 'abc', NULL), true, 'trigger eq on a text column');
SELECT is(pg_temp.t('s', 'neq', '"abc"', NULL, NULL), true, 'trigger neq on a NULL column (missing)');
SELECT is(pg_temp.t('s', 'eq', '"abc"', NULL, NULL), false, 'trigger eq on a NULL column (missing)');
SELECT is(pg_temp.t('s', 'begins', '"ab"', 'abc', NULL), true, 'trigger begins');
SELECT is(pg_temp.t('s', 'ends', '"bc"', 'abc', NULL), true, 'trigger ends');
SELECT is(pg_temp.t('s', 'contains', '"b"', 'abc', NULL), true, 'trigger contains');
SELECT is(pg_temp.t('s', 'regex', '"^a.c$"', 'abc', NULL), true, 'trigger regex');
SELECT is(pg_temp.t('s', 'nregex', '"^a.c$"', 'abcd', NULL), true, 'trigger nregex');
SELECT is(pg_temp.t('n', 'gt', '10', NULL, 10.5), true, 'trigger gt on a numeric column');
SELECT is(pg_temp.t('n', 'gte', '10', NULL, 10), true, 'trigger gte on a numeric column');
SELECT is(pg_temp.t('n', 'lt', '10', NULL, 10), false, 'trigger lt on an equal numeric column');
SELECT is(pg_temp.t('n', 'lte', '10', NULL, NULL), false, 'trigger lte on a NULL numeric column');
SELECT is(pg_temp.t('s', 'in', '["x","abc"]', 'abc', NULL), true, 'trigger in');
SELECT is(pg_temp.t('s', 'nin', '["x","abc"]', 'abc', NULL), false, 'trigger nin');
SELECT is(pg_temp.t('s', 'exists', NULL, 'abc', NULL), true, 'trigger exists');
SELECT is(pg_temp.t('nope', 'nexists', NULL, 'abc', NULL), true, 'trigger nexists on a field that is no column');

SELECT * FROM finish();
ROLLBACK;
