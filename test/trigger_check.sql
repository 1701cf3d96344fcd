\set ECHO none
\set ON_ERROR_STOP 1
-- Trigger functions attached the wrong way: every C trigger function of segext
-- refuses with 39P01 in one style, function "name" must be fired ..., with a
-- DETAIL naming the trigger, its relation and how it was fired.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext, pg_catalog;
\ir helpers/errors.sql
SELECT plan(11);

CREATE TABLE public.wrong (id pg_catalog.int4);
INSERT INTO public.wrong VALUES (0);

-- fired_error attaches a function of segext as a trigger, runs a statement and
-- returns its SQLSTATE, message and DETAIL (the trigger is dropped again).
CREATE FUNCTION public.fired_error(func text, timing_event text, level text, stmt text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE r text[];
BEGIN
    EXECUTE pg_catalog.format('CREATE TRIGGER w %s ON public.wrong FOR EACH %s EXECUTE FUNCTION segext.%s()',
                              timing_event, level, func);
    r := public.rules_error(stmt);
    DROP TRIGGER w ON public.wrong;
    RETURN r[1:3];
END $$;

SELECT is(public.fired_error('transactions_check', 'AFTER INSERT', 'ROW', 'INSERT INTO public.wrong VALUES (1)'),
    ARRAY['39P01', 'function "transactions_check" must be fired BEFORE ROW',
          'Trigger "w" on relation "wrong" was fired AFTER ROW for INSERT.'],
    'a BEFORE ROW function fired AFTER ROW');
SELECT is(public.fired_error('segments_rules', 'BEFORE INSERT', 'STATEMENT', 'INSERT INTO public.wrong VALUES (1)'),
    ARRAY['39P01', 'function "segments_rules" must be fired BEFORE ROW',
          'Trigger "w" on relation "wrong" was fired BEFORE STATEMENT for INSERT.'],
    'a BEFORE ROW function fired BEFORE STATEMENT');
SELECT is(public.fired_error('segments_rules', 'BEFORE TRUNCATE', 'STATEMENT', 'TRUNCATE public.wrong'),
    ARRAY['39P01', 'function "segments_rules" must be fired BEFORE ROW',
          'Trigger "w" on relation "wrong" was fired BEFORE STATEMENT for TRUNCATE.'],
    'a row function fired for TRUNCATE');
SELECT is(public.fired_error('channel_mix_sync', 'BEFORE UPDATE', 'STATEMENT', 'UPDATE public.wrong SET id = 2'),
    ARRAY['39P01', 'function "channel_mix_sync" must be fired AFTER STATEMENT',
          'Trigger "w" on relation "wrong" was fired BEFORE STATEMENT for UPDATE.'],
    'an AFTER STATEMENT function fired BEFORE STATEMENT');
SELECT is(public.fired_error('memberships_guard', 'AFTER DELETE', 'STATEMENT', 'DELETE FROM public.wrong'),
    ARRAY['39P01', 'function "memberships_guard" must be fired BEFORE STATEMENT',
          'Trigger "w" on relation "wrong" was fired AFTER STATEMENT for DELETE.'],
    'a BEFORE STATEMENT function fired AFTER STATEMENT');
SELECT is(public.fired_error('companies_rules', 'BEFORE INSERT', 'ROW', 'INSERT INTO public.wrong VALUES (1)'),
    ARRAY['39P01', 'function "companies_rules" must be fired for UPDATE',
          'Trigger "w" on relation "wrong" was fired BEFORE ROW for INSERT.'],
    'an event the function does not handle');
SELECT is(public.fired_error('customers_state', 'AFTER INSERT', 'STATEMENT', 'INSERT INTO public.wrong VALUES (1)'),
    ARRAY['39P01', 'function "customers_state" must be fired for DELETE',
          'Trigger "w" on relation "wrong" was fired AFTER STATEMENT for INSERT.'],
    'a DELETE function fired for INSERT');
SELECT is(public.fired_error('customers_state', 'AFTER DELETE', 'STATEMENT', 'DELETE FROM public.wrong'),
    ARRAY['39P01', 'function "customers_state" must be fired REFERENCING OLD TABLE',
          'Trigger "w" on relation "wrong" was fired AFTER STATEMENT for DELETE.'],
    'a function that reads the old rows fired without them');
SELECT is(public.fired_error('restore_load_begin', 'BEFORE UPDATE', 'STATEMENT', 'UPDATE public.wrong SET id = 2'),
    ARRAY['39P01', 'function "restore_load_begin" must be fired for INSERT',
          'Trigger "w" on relation "wrong" was fired BEFORE STATEMENT for UPDATE.'],
    'an INSERT function fired for UPDATE');

-- Each allowed event is named, the last after "or".
SELECT is(public.fired_error('channel_segments_rules', 'BEFORE DELETE', 'ROW', 'DELETE FROM public.wrong'),
    ARRAY['39P01', 'function "channel_segments_rules" must be fired for INSERT or UPDATE',
          'Trigger "w" on relation "wrong" was fired BEFORE ROW for DELETE.'],
    'two allowed events');

-- A function with no requirement beyond being a trigger runs as any trigger.
CREATE TRIGGER w AFTER INSERT ON public.wrong FOR EACH ROW EXECUTE FUNCTION segext.segment_cache_invalidate();
SELECT lives_ok($$INSERT INTO public.wrong VALUES (3)$$, 'segment_cache_invalidate runs as any trigger');

SELECT * FROM finish();
ROLLBACK;
