\set ECHO none
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

-- A writer's own SECURITY DEFINER function (here in pg_temp) writes rows as
-- the writer: the rule triggers check the company of a new row for the user
-- who is really acting, before they read that company as the table owner, so
-- their errors never name another company's name, limits or channels, nor
-- tell whether one of its ids exists.

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
\ir helpers/errors.sql

SELECT plan(13);

DO $$
BEGIN
    EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
    EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
END $$;

-- Company B is at its limits: 2 user segments of 2, 1 channel of 1.
SELECT segext.create_company('Company A') AS a \gset
SELECT segext.create_company('Secret B Corp', 2, 1) AS b \gset
INSERT INTO segext.segments (company_id, name) VALUES (:'a', 'A gold'), (:'b', 'B gold'), (:'b', 'B silver');
INSERT INTO segext.channels (company_id, name) VALUES (:'a', 'A channel'), (:'b', 'Hidden B channel');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT id AS b_gold FROM segext.segments WHERE company_id = :'b' AND name = 'B gold' \gset
SELECT id AS b_channel FROM segext.channels WHERE company_id = :'b' \gset
GRANT SELECT ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;

-- leaks returns the parts of an error report that name something of B.
CREATE FUNCTION pg_temp.leaks(report text[]) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(w) FROM unnest(ARRAY['Secret B Corp', 'Hidden B channel', 'B gold', 'B silver',
        'maximum of 2', 'maximum of 1', 'max_segments', 'max_channels']) AS w
    WHERE array_to_string(report, ' ') LIKE '%' || w || '%' $$;

-- A login granted company A for writing.
CREATE ROLE tenancy_definer_writer LOGIN IN ROLE segext_writer;
SELECT segext.grant_company(:'a', 'tenancy_definer_writer', 'writer');
SET LOCAL ROLE tenancy_definer_writer;
SELECT set_config('segext.company_id', :'a', true);
CREATE FUNCTION pg_temp.as_definer(sql text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ BEGIN EXECUTE sql; END $$;

-- B's name and segment limit.
SELECT coalesce(rules_error(format($$SELECT pg_temp.as_definer(%L)$$,
    format($q$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'probe')$q$, :'b'))), '{}') AS e \gset
SELECT is((:'e'::text[])[1], '42501', 'a new segment of another company, written in a security definer function: 42501');
SELECT is(pg_temp.leaks(:'e'), NULL, 'the refusal names neither B''s name nor its segment limit');

-- B's channel limit.
SELECT coalesce(rules_error(format($$SELECT pg_temp.as_definer(%L)$$,
    format($q$INSERT INTO segext.channels (company_id, name) VALUES (%L, 'probe')$q$, :'b'))), '{}') AS e \gset
SELECT is((:'e'::text[])[1], '42501', 'a new channel of another company, written in a security definer function: 42501');
SELECT is(pg_temp.leaks(:'e'), NULL, 'the refusal names neither B''s name nor its channel limit');

-- B's channel name, through an invalid distribution.
SELECT coalesce(rules_error(format($$SELECT pg_temp.as_definer(%L)$$,
    format($q$INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution) VALUES (%L, %L, %L, 2)$q$,
           :'b', :'b_channel', :'b_gold'))), '{}') AS e \gset
SELECT is((:'e'::text[])[1], '42501', 'a mix row of another company, written in a security definer function: 42501');
SELECT is(pg_temp.leaks(:'e'), NULL, 'the refusal does not name B''s channel');

-- B's segment ids: an id B uses and one it does not are refused alike.
SELECT coalesce(rules_error(format($$SELECT pg_temp.as_definer(%L)$$,
    format($q$INSERT INTO segext.segments (company_id, id, name) VALUES (%L, %L, 'probe')$q$, :'b', :'b_gold'))), '{}') AS used \gset
SELECT coalesce(rules_error(format($$SELECT pg_temp.as_definer(%L)$$,
    format($q$INSERT INTO segext.segments (company_id, id, name) VALUES (%L, %L, 'probe')$q$, :'b', segext.objectid_generate()))), '{}') AS unused \gset
SELECT is((:'used'::text[])[1:2], (:'unused'::text[])[1:2],
    'an id B uses and an unused one give the same SQLSTATE and message (no existence oracle)');
SELECT is((:'used'::text[])[1], '42501', 'both are 42501');

-- B's group ids and segment groups.
SELECT coalesce(rules_error(format($$SELECT pg_temp.as_definer(%L)$$,
    format($q$INSERT INTO segext.segment_groups (company_id, name) VALUES (%L, 'probe')$q$, :'b'))), '{}') AS e \gset
SELECT is((:'e'::text[])[1], '42501', 'a new group of another company, written in a security definer function: 42501');

-- The writer's own company still works through its definer function.
SELECT lives_ok(format($$SELECT pg_temp.as_definer(%L)$$,
    format($q$INSERT INTO segext.segments (company_id, name) VALUES (%L, 'A silver')$q$, :'a')),
    'a security definer function of the writer still writes the writer''s company');
SELECT is((SELECT count(*)::int FROM segext.segments WHERE name = 'A silver'), 1, 'the segment was written');
RESET ROLE;

SELECT is((SELECT count(*)::int FROM segext.segments WHERE company_id = :'b'), 4, 'B still has its 4 segments');
SELECT is((SELECT count(*)::int FROM segext.channel_segments WHERE company_id = :'b'), 1, 'B still has its one mix row');

SELECT * FROM finish();
ROLLBACK;
