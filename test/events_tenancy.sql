\set ECHO none
\set ON_ERROR_STOP 1
-- Event stamping and classify() respect tenancy: a user acts only for the
-- current company (segext.company_id among the companies granted to it, or
-- the company_id claim of a gateway session); reading the segments is
-- enough, so a reader grant stamps too; members of segext_admin and
-- superusers act for any.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SELECT plan(11);

INSERT INTO segext.companies (id, name) VALUES
    ('a1a1a1a1a1a1a1a1a1a1a1a1', 'Tenant A'), ('b2b2b2b2b2b2b2b2b2b2b2b2', 'Tenant B');
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
    ('a1a1a1a1a1a1a1a1a1a1a1a1', 20, 'a web', '[{"field":"act","op":"eq","value":"web"}]'),
    ('b2b2b2b2b2b2b2b2b2b2b2b2', 30, 'b web', '[{"field":"act","op":"eq","value":"web"}]');

CREATE TABLE public.tenancy_events (
    company_id      segext.objectid,
    act             pg_catalog.text,
    segment         pg_catalog.int4,
    segment_group   pg_catalog.int4
);
CREATE TRIGGER stamp BEFORE INSERT ON public.tenancy_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group');
GRANT INSERT, SELECT ON public.tenancy_events TO segext_writer;
GRANT EXECUTE ON FUNCTION segext.classify(segext.objectid, pg_catalog.jsonb) TO segext_reader;
-- A writer role granted A to write and B to read.
CREATE ROLE events_writer NOLOGIN IN ROLE segext_writer;
SELECT segext.grant_company('a1a1a1a1a1a1a1a1a1a1a1a1', 'events_writer', 'writer');
SELECT segext.grant_company('b2b2b2b2b2b2b2b2b2b2b2b2', 'events_writer', 'reader');

-- As a writer of company A.
SET LOCAL ROLE events_writer;
SELECT set_config('segext.company_id', 'a1a1a1a1a1a1a1a1a1a1a1a1', true);
SELECT is(segext.classify('a1a1a1a1a1a1a1a1a1a1a1a1', '{"act": "web"}'), 20,
    'classify works for the current company');
SELECT throws_ok($$SELECT segext.classify('b2b2b2b2b2b2b2b2b2b2b2b2', '{"act": "web"}')$$,
    '42501', 'permission denied for company "b2b2b2b2b2b2b2b2b2b2b2b2"',
    'classify refuses another company');
SELECT lives_ok($$INSERT INTO public.tenancy_events (company_id, act) VALUES ('a1a1a1a1a1a1a1a1a1a1a1a1', 'web')$$,
    'an event of the current company is stamped');
SELECT throws_ok($$INSERT INTO public.tenancy_events (company_id, act) VALUES ('b2b2b2b2b2b2b2b2b2b2b2b2', 'web')$$,
    '42501', NULL, 'an event of another company is refused, not stamped');
-- The same trigger, again for company A after B was refused: the remembered company is rechecked.
SELECT lives_ok($$INSERT INTO public.tenancy_events (company_id, act) VALUES ('a1a1a1a1a1a1a1a1a1a1a1a1', 'web')$$,
    'a later event of the current company is still stamped');

-- A reader grant is enough to classify (the segments are read, not written).
SELECT set_config('segext.company_id', 'b2b2b2b2b2b2b2b2b2b2b2b2', true);
SELECT is(segext.classify('b2b2b2b2b2b2b2b2b2b2b2b2', '{"act": "web"}'), 30,
    'a reader grant of B classifies for B');

-- The company_id claim of a PostgREST token counts like the setting (this
-- session is a superuser's, a member of segext_gateway).
SELECT set_config('segext.company_id', '', true);
SELECT set_config('request.jwt.claims', '{"role": "segext_writer", "company_id": "b2b2b2b2b2b2b2b2b2b2b2b2"}', true);
SELECT is(segext.classify('b2b2b2b2b2b2b2b2b2b2b2b2', '{"act": "web"}'), 30,
    'the company_id claim makes company B current');
SELECT throws_ok($$SELECT segext.classify('a1a1a1a1a1a1a1a1a1a1a1a1', '{"act": "web"}')$$,
    '42501', NULL, 'and company A is then refused');

-- No company at all.
SELECT set_config('request.jwt.claims', '', true);
SELECT throws_ok($$SELECT segext.classify('a1a1a1a1a1a1a1a1a1a1a1a1', '{"act": "web"}')$$,
    '42501', NULL, 'without a current company no company is open');

-- An admin acts for any company.
RESET ROLE;
SET LOCAL ROLE segext_admin;
SELECT is(segext.classify('b2b2b2b2b2b2b2b2b2b2b2b2', '{"act": "web"}'), 30,
    'a member of segext_admin classifies for any company');
RESET ROLE;
SELECT results_eq($$SELECT company_id::text, segment FROM public.tenancy_events ORDER BY 1$$,
    $$VALUES ('a1a1a1a1a1a1a1a1a1a1a1a1', 20), ('a1a1a1a1a1a1a1a1a1a1a1a1', 20)$$,
    'only the events of the current company were stored, stamped with its segment');

SELECT * FROM finish();
ROLLBACK;
