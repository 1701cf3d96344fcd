-- materialized membership management: customers_count always exact,
-- history of entered/left, activate computes members at once, deactivate
-- removes them at once, manual segments take explicit members, segments 0
-- and 1, the member listing with filters, sort and pagination.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(31);

SELECT segext.create_company('membership manage') AS c \gset
\ir helpers/member_names.sql
\ir helpers/plan_of.sql
-- count_of(segment name): its member count (PL/pgSQL planned with the
-- argument's value, which Citus can plan).
CREATE FUNCTION pg_temp.count_of(seg pg_catalog.text) RETURNS pg_catalog.int8 LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN (SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE name = seg);
END $$;

INSERT INTO segext.customers (company_id, id, first_name, last_name, email, phone) VALUES
    (:'c', '0000000000000000000000c1', 'Anna', 'Smith', 'anna@example.com', '+48 100'),
    (:'c', '0000000000000000000000c2', 'Ben', 'Smithers', 'ben@example.com', '+48 200'),
    (:'c', '0000000000000000000000c3', 'Carla', 'Jones', 'carla_j@example.com', '+49 300'),
    (:'c', '0000000000000000000000c4', 'David', 'Smith', 'david@example.org', '+48 400');
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    (:'c', '0000000000000000000000c1', 100), (:'c', '0000000000000000000000c2', 100), (:'c', '0000000000000000000000c4', 5);
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'buyers', '[{"type": "transaction_amount", "fromAmount": 50, "toAmount": 1000}]') RETURNING id AS buyers \gset
INSERT INTO segext.segments (company_id, name, criteria) VALUES (:'c', 'hand picked', NULL) RETURNING id AS manual \gset

SELECT is(pg_temp.stored_members('All') || pg_temp.stored_members('buyers') || pg_temp.stored_members('Default'),
          ARRAY['Anna', 'Ben', 'Carla', 'David', 'Anna', 'Ben', 'Carla', 'David'],
          'the writes stored the members: 4 in All, 2 in buyers, 2 in Default');
SELECT is(segext.refresh_company(:'c'), 0::int8, 'a refresh changes nothing');
SELECT is(pg_temp.count_of('All'), 4::int8, 'customers_count of All');
SELECT is(pg_temp.count_of('buyers'), 2::int8, 'customers_count of buyers');
SELECT is(pg_temp.count_of('Default'), 2::int8, 'customers_count of Default');
SELECT is((SELECT count(*) FROM segext.membership_history WHERE kind = 'entered'), 10::int8,
          'history records every entry (4 into All and Default as customers were inserted, 2 into buyers as it was created)');

-- A change in the data: one leaves, one enters, in the statements that change it.
SELECT max(id) AS h0 FROM segext.membership_history \gset
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (:'c', '0000000000000000000000c4', 60);
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
    SELECT company_id, customer_id, -100, id FROM segext.transactions WHERE customer_id = '0000000000000000000000c1';
SELECT is(segext.refresh_segment(:'buyers'), 0::int8, 'refresh_segment: nothing left to change');
SELECT is(pg_temp.stored_members('buyers'), ARRAY['Ben', 'David'], 'buyers after the sale and the return: Anna left, David entered');
SELECT is(pg_temp.stored_members('Default'), ARRAY['Anna', 'Carla'], 'Default after the sale and the return');
SELECT is((SELECT array_agg(c.first_name || ' ' || h.kind ORDER BY c.first_name, h.kind)
           FROM segext.membership_history h JOIN segext.customers c ON c.company_id = h.company_id AND c.id = h.customer_id
           WHERE h.segment_id = :'buyers' AND h.id > :h0),
          ARRAY['Anna left', 'David entered'], 'history records entered and left');

-- Deactivate and activate.
SELECT is(segext.deactivate_segment(:'buyers'), 4::int8, 'deactivate removes both members, who enter Default');
SELECT is(pg_temp.count_of('buyers'), 0::int8, 'deactivated segment has no members');
SELECT is(pg_temp.stored_members('Default'), ARRAY['Anna', 'Ben', 'Carla', 'David'], 'Default takes everyone in no other active segment');
SELECT is(pg_temp.now_members('buyers'), '{}'::text[], 'an inactive segment has no members now either');
SELECT is(segext.activate_segment(:'buyers'), 4::int8, 'activate computes the members at once');
SELECT is(pg_temp.stored_members('buyers'), ARRAY['Ben', 'David'], 'members after activation');

-- Manual members.
SELECT is(segext.add_segment_members(:'manual', ARRAY['0000000000000000000000c3', '0000000000000000000000c1']::segext.objectid[]), 2::int8,
    'add_segment_members adds explicit members');
SELECT is(pg_temp.stored_members('hand picked'), ARRAY['Anna', 'Carla'], 'manual members stored');
SELECT is(pg_temp.now_members('hand picked'), ARRAY['Anna', 'Carla'], 'manual members evaluated now');
SELECT is(pg_temp.stored_members('Default'), '{}'::text[], 'manual members leave Default');
SELECT is(segext.refresh_company(:'c'), 0::int8, 'refresh keeps manual members');
SELECT throws_ok(format('SELECT segext.add_segment_members(%L, ARRAY[%L]::segext.objectid[])', :'buyers', '0000000000000000000000c3'),
    '22023', 'segment "buyers" is not a manual segment', 'members of a segment with criteria are computed');
SELECT throws_ok(format('SELECT segext.add_segment_members(%L, ARRAY[%L]::segext.objectid[])', :'manual', '0000000000000000000000ff'),
    '23503', NULL, 'unknown customers are refused');
SELECT is(segext.remove_segment_members(:'manual', ARRAY['0000000000000000000000c3']::segext.objectid[]), 1::int8,
    'remove_segment_members');
SELECT is(pg_temp.stored_members('Default'), ARRAY['Carla'], 'a removed manual member returns to Default');
SELECT is(pg_temp.count_of('Default'), 1::int8, 'customers_count follows every change');

-- Listing.
SELECT id AS everyone FROM segext.segments WHERE company_id = :'c' AND name = 'All' \gset
SELECT is((SELECT array_agg(first_name || ':' || total_count) FROM segext.segment_customers(:'everyone', last_name => 'SMITH'))
          , ARRAY['Anna:3', 'David:3', 'Ben:3'], 'filter last name: case-insensitive substring; default sort by name');
SELECT is((SELECT array_agg(first_name) FROM segext.segment_customers(:'everyone', email => '_j@', sort => 'email', direction => 'desc')),
          ARRAY['Carla'], 'filter email: _ is matched literally');
SELECT is((SELECT array_agg(first_name || ':' || total_count) FROM segext.segment_customers(:'everyone', phone => '+48', sort => 'firstName', direction => 'DESC', page_limit => 2, page_offset => 1)),
          ARRAY['Ben:3', 'Anna:3'], 'pagination keeps the total count');
SELECT throws_ok(format('SELECT * FROM segext.segment_customers(%L, sort => %L)', :'buyers', 'password'),
    '22023', 'unrecognized sort column "password"', 'unknown sort column');

-- A segment is looked up by its id within the current company, or by its id
-- alone with no current company (segment_members, refresh_segment,
-- activation): with many companies visible, that reads one index entry, not
-- every company's segments.
INSERT INTO segext.companies (name) SELECT 'lookup ' || g FROM generate_series(1, 300) AS g;
ANALYZE segext.segments;
-- On Citus each of the 32 shards holds some 20 of these segments, where a
-- sequential scan is the plan: there the lookup is checked to find the segment.
SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') AS on_citus \gset
\if :on_citus
SELECT pg_catalog.string_agg(company_id || '/' || name, ', ') AS found FROM (
    SELECT company_id, number, criteria, active, name FROM segext.segments WHERE id OPERATOR(pg_catalog.=) :'buyers'
    AND company_id OPERATOR(pg_catalog.=) COALESCE(segext.current_company_id(), company_id) LIMIT 2) AS s \gset
SELECT is(:'found', :'c' || '/buyers', 'a segment by its id alone: found among 600 segments of 301 companies');
\else
SELECT matches(pg_temp.plan_of(format(
    'SELECT company_id, number, criteria, active, name FROM segext.segments WHERE id OPERATOR(pg_catalog.=) %L '
    'AND company_id OPERATOR(pg_catalog.=) COALESCE(segext.current_company_id(), company_id) LIMIT 2', :'buyers')),
    'Index Scan using segments_id_idx', 'a segment by its id alone: an index scan among 600 segments of 301 companies');
\endif

SELECT * FROM finish();
ROLLBACK;
