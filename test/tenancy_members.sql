\set ECHO none
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

-- Members are written by segext only, and every lookup by a segment id is
-- scoped by the current company.  A writer cannot insert or delete rows of
-- segext.memberships directly (42501, with a hint naming the functions), but
-- manages manual segments through add_segment_members and
-- remove_segment_members and (de)activates segments.  Companies A and B both
-- use one segment id and one channel id (ids are unique per company only): an
-- admin acting for A reaches A's segment and channel only; an admin with no
-- current company is refused when the id is ambiguous.

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
\ir helpers/errors.sql
\ir helpers/plan_of.sql

SELECT plan(42);

DO $$
BEGIN
    EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
    EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA %I TO PUBLIC', pg_my_temp_schema()::regnamespace);
END $$;

-- Logins of the test (rolled back with it).
CREATE ROLE tenancy_members_writer LOGIN IN ROLE segext_writer;
CREATE ROLE tenancy_members_reader LOGIN IN ROLE segext_reader;
CREATE ROLE tenancy_members_admin LOGIN IN ROLE segext_admin;

-- Two companies sharing a segment id (a manual segment) and a channel id.
SELECT segext.create_company('Members A') AS a \gset
SELECT segext.create_company('Members B') AS b \gset
SELECT '5e9a00000000000000000001' AS shared, '5e9a00000000000000000002' AS shared_channel \gset
INSERT INTO segext.customers (company_id, id, first_name, active) VALUES
    (:'a', '0000000000000000000000a1', 'Ann', true), (:'a', '0000000000000000000000a2', 'Abe', true),
    (:'a', '0000000000000000000000a3', 'Asleep', false),
    (:'b', '0000000000000000000000b1', 'Bea', true), (:'b', '0000000000000000000000b2', 'Bob', true);
INSERT INTO segext.segments (company_id, id, name, criteria, active) VALUES
    (:'a', :'shared', 'A picked', NULL, true),
    (:'b', :'shared', 'B picked', NULL, true);
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'A everyone', '[{"type": "transaction_count", "min": 0, "max": 1000}]');
SELECT id AS a_everyone FROM segext.segments WHERE company_id = :'a' AND name = 'A everyone' \gset
SELECT id AS a_default FROM segext.segments WHERE company_id = :'a' AND number = 1 \gset
INSERT INTO segext.channels (company_id, id, name, commission) VALUES
    (:'a', :'shared_channel', 'A web', 0.1), (:'b', :'shared_channel', 'B web', 0.5);
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT segext.grant_company(:'a', 'tenancy_members_writer', 'writer');
SELECT segext.grant_company(:'a', 'tenancy_members_reader', 'reader');
SELECT segext.refresh_company(:'a') \g /dev/null
SELECT segext.refresh_company(:'b') \g /dev/null
-- (a superuser may write members directly)
INSERT INTO segext.memberships (company_id, segment_id, customer_id) VALUES
    (:'b', :'shared', '0000000000000000000000b1'), (:'b', :'shared', '0000000000000000000000b2');
SELECT segext.refresh_company(:'b') \g /dev/null

CREATE FUNCTION pg_temp.members(company segext.objectid, segment segext.objectid) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(c.first_name ORDER BY c.first_name), '{}')
    FROM segext.memberships m JOIN segext.customers c ON c.company_id = m.company_id AND c.id = m.customer_id
    WHERE m.company_id = company AND m.segment_id = segment $$;
GRANT EXECUTE ON FUNCTION pg_temp.members(segext.objectid, segext.objectid) TO PUBLIC;
CREATE TABLE pg_temp.snapshot AS
    SELECT company_id, segment_id, customer_id FROM segext.memberships WHERE company_id = :'b';

-- Direct writes of members are refused to a writer, with a hint.
SET LOCAL ROLE tenancy_members_writer;
SELECT set_config('segext.company_id', :'a', true) \g /dev/null
SELECT coalesce(rules_error(format($$INSERT INTO segext.memberships (company_id, segment_id, customer_id) VALUES (%L, %L, %L)$$,
    :'a', :'a_everyone', '0000000000000000000000a3')), '{}') AS e \gset
SELECT is((:'e'::text[])[1], '42501', 'a writer cannot put an inactive customer into a segment with criteria');
SELECT matches((:'e'::text[])[4], 'add_segment_members', 'the hint names add_segment_members');
SELECT matches((:'e'::text[])[4], 'remove_segment_members', 'the hint names remove_segment_members');
SELECT throws_ok(format($$INSERT INTO segext.memberships (company_id, segment_id, customer_id) VALUES (%L, %L, %L)$$,
    :'a', :'a_default', '0000000000000000000000a3'), '42501', NULL, 'a writer cannot put a customer into Default');
SELECT throws_ok(format($$INSERT INTO segext.memberships (company_id, segment_id, customer_id) VALUES (%L, %L, %L)$$,
    :'a', :'shared', '0000000000000000000000a1'), '42501', NULL, 'nor into a manual segment, directly');
SELECT throws_ok($$DELETE FROM segext.memberships$$, '42501',
    'permission denied to delete from segext.memberships directly', 'a writer cannot delete members directly');
CREATE FUNCTION pg_temp.definer_delete() RETURNS void LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ DELETE FROM segext.memberships $$;
SELECT throws_ok($$SELECT pg_temp.definer_delete()$$, '42501', NULL,
    'nor from a security definer function of its own');
SELECT is((SELECT count(*)::int FROM segext.memberships WHERE customer_id = '0000000000000000000000a3'), 0,
    'the inactive customer is in no segment');

-- The functions work for the writer, on its company's segment.
SELECT is(segext.add_segment_members(:'shared', '{0000000000000000000000a1,0000000000000000000000a3}'), 1::int8,
    'add_segment_members adds the active customer (the inactive one is skipped)');
SELECT is(pg_temp.members(:'a', :'shared'), '{Ann}', 'A''s manual segment holds Ann');
SELECT is(pg_temp.members(:'a', :'a_default'), '{}', 'Ann left Default (Abe is in A everyone)');
SELECT is(segext.remove_segment_members(:'shared', '{0000000000000000000000a1}'), 1::int8, 'remove_segment_members removes her');
SELECT is(segext_api.add_segment_members(:'shared', '{0000000000000000000000a2}'), 1::int8, 'the API adds members too');
SELECT throws_ok(format($$SELECT segext.add_segment_members(%L, '{0000000000000000000000b1}')$$, :'shared'),
    '23503', NULL, 'a customer of B is no customer of A');
SELECT is(segext.deactivate_segment(:'a_everyone'), 3::int8,
    'deactivate_segment removes the members (Ann, Abe); Ann enters Default (Abe is in the manual segment)');
SELECT is(pg_temp.members(:'a', :'a_everyone'), '{}', 'the deactivated segment has no members');
SELECT is(segext.activate_segment(:'a_everyone'), 3::int8, 'activate_segment computes them again (Ann leaves Default)');
SELECT throws_ok(format($$SELECT segext.refresh_company(%L)$$, :'b'), '22023', NULL, 'a writer of A cannot refresh B');
SELECT throws_ok(format($$SELECT segext.add_segment_members(%L, '{0000000000000000000000b1}')$$, segext.objectid_generate()),
    '22023', NULL, 'an unknown segment id: 22023');
RESET ROLE;

-- A reader may not manage members.
SET LOCAL ROLE tenancy_members_reader;
SELECT set_config('segext.company_id', :'a', true) \g /dev/null
SELECT throws_ok(format($$SELECT segext.add_segment_members(%L, '{0000000000000000000000a1}')$$, :'shared'),
    '42501', NULL, 'a reader cannot add members');
SELECT throws_ok(format($$INSERT INTO segext.memberships (company_id, segment_id, customer_id) VALUES (%L, %L, %L)$$,
    :'a', :'shared', '0000000000000000000000a1'), '42501', NULL, 'a reader cannot insert members');
RESET ROLE;

SELECT set_eq($$SELECT company_id, segment_id, customer_id FROM segext.memberships WHERE company_id = '$$ || :'b' || $$'$$,
    'SELECT * FROM pg_temp.snapshot', 'B''s members are untouched by the writer of A');

-- An admin acting for A reaches A's segment and channel by the shared ids.
SET LOCAL ROLE tenancy_members_admin;
SELECT set_config('segext.company_id', :'a', true) \g /dev/null
SELECT is((SELECT array_agg(c.first_name ORDER BY c.first_name) FROM segext.segment_members(:'shared') m
           JOIN segext.customers c ON c.company_id = :'a' AND c.id = m.customer_id), '{Abe}',
    'segment_members: A''s members, not B''s');
SELECT is((SELECT array_agg(first_name ORDER BY first_name) FROM segext.segment_customers(:'shared')), '{Abe}',
    'segment_customers: A''s members only');
SELECT is((SELECT array_agg(first_name ORDER BY first_name) FROM segext_api.segment_customers(:'shared')), '{Abe}',
    'segext_api.segment_customers: A''s members only');
SELECT is(segext.refresh_segment(:'shared'), 0::int8, 'refresh_segment refreshes A''s segment');
SELECT is(segext.add_segment_members(:'shared', '{0000000000000000000000a1}'), 1::int8, 'add_segment_members: A''s segment');
SELECT is(segext.remove_segment_members(:'shared', '{0000000000000000000000b1,0000000000000000000000a1}'), 1::int8,
    'remove_segment_members: A''s segment (B''s customer id is no member of it)');
SELECT is(segext.deactivate_segment(:'shared'), 1::int8, 'deactivate_segment: A''s segment (Abe leaves it)');
SELECT is((SELECT array_agg(company_id::text || active::text ORDER BY company_id) FROM segext.segments WHERE id = :'shared'),
    ARRAY[:'a' || 'false', :'b' || 'true'], 'only A''s segment was deactivated');
SELECT is(segext.activate_segment(:'shared'), 0::int8, 'activate_segment: A''s segment (a manual segment starts empty)');
SELECT is((SELECT array_agg(company_id::text || active::text ORDER BY company_id) FROM segext.segments WHERE id = :'shared'),
    ARRAY[:'a' || 'true', :'b' || 'true'], 'A''s segment is active again, B''s untouched');
SELECT is(segext_api.commission_value(:'shared_channel', 100), 10.0, 'commission_value: A''s channel');
SELECT is((SELECT count(*)::int FROM segext_api.channel_forecast(:'shared_channel', 100)), 1, 'channel_forecast: A''s channel mix');

-- With no current company the shared id is ambiguous; an id of one company is not.
SELECT set_config('segext.company_id', '', true) \g /dev/null
SELECT coalesce(rules_error(format('SELECT count(*) FROM segext.segment_members(%L)', :'shared')), '{}') AS e \gset
SELECT is((:'e'::text[])[1:2], ARRAY['22023', format('segment id "%s" is ambiguous', :'shared')],
    'segment_members of a shared id with no current company: ambiguous');
SELECT matches((:'e'::text[])[4], 'segext\.company_id', 'the hint says to set segext.company_id');
SELECT throws_ok(format('SELECT segext.activate_segment(%L)', :'shared'), '22023', format('segment id "%s" is ambiguous', :'shared'),
    'activate_segment of a shared id: ambiguous');
SELECT throws_ok(format('SELECT * FROM segext.segment_customers(%L)', :'shared'), '22023', format('segment id "%s" is ambiguous', :'shared'),
    'segment_customers of a shared id: ambiguous');
SELECT throws_ok(format('SELECT segext.add_segment_members(%L, %L)', :'shared', '{0000000000000000000000b1}'), '22023',
    format('segment id "%s" is ambiguous', :'shared'), 'add_segment_members of a shared id: ambiguous');
SELECT is(segext.refresh_segment(:'a_everyone'), 0::int8, 'an id of one company alone needs no current company');
RESET ROLE;

SELECT is(pg_temp.members(:'b', :'shared'), '{Bea,Bob}', 'B''s manual segment kept its members');

-- The lookup reads one index entry among many companies' segments.
INSERT INTO segext.companies (name) SELECT 'lookup ' || g FROM generate_series(1, 300) AS g;
ANALYZE segext.segments;
SELECT matches(pg_temp.plan_of(format(
    'SELECT company_id, number, criteria, active, name FROM segext.segments WHERE id OPERATOR(pg_catalog.=) %L '
    'AND company_id OPERATOR(pg_catalog.=) COALESCE(segext.current_company_id(), company_id) LIMIT 2', :'shared')),
    'Index Scan using segments_id_idx', 'the scoped lookup of a segment id is an index scan among 600 segments');

SELECT * FROM finish();
ROLLBACK;
