-- Columns segext maintains and the keys of rows, at the table level, for a
-- writer: a written created_at or updated_at is replaced by segext's value
-- (refresh still counts exactly, and only segext's membership trigger writes
-- a count), company_id and id never
-- change, a row of another company is refused before any rule reads that
-- company, and INSERT ... ON CONFLICT DO UPDATE on an existing key is an
-- update, not held to the rules of a new row.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;

SELECT plan(33);

INSERT INTO segext.companies (id, name, max_segments) VALUES
    ('c0c0c0c0c0c0c0c0c0c0c0c0', 'Maintained', 50), ('0d0d0d0d0d0d0d0d0d0d0d0d', 'Other', 1);
INSERT INTO segext.customers (company_id, id, first_name) VALUES
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000c1', 'Ann'),
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000c2', 'Bob');
INSERT INTO segext.transactions (company_id, id, customer_id, amount) VALUES
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000d1', '0000000000000000000000c1', 100),
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000d2', '0000000000000000000000c2', 50);
INSERT INTO segext.transactions (company_id, id, customer_id, amount, returns_id) VALUES
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000e1', '0000000000000000000000c1', -100, '0000000000000000000000d1');
INSERT INTO segext.segments (company_id, id, name, criteria) VALUES
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000a2', 'Buyers',
     '[{"type": "transaction_count", "min": 1, "max": 10}]');
INSERT INTO segext.segments (company_id, id, name) VALUES
    ('0d0d0d0d0d0d0d0d0d0d0d0d', '0000000000000000000000b2', 'Only');
INSERT INTO segext.segment_groups (company_id, id, name) VALUES ('c0c0c0c0c0c0c0c0c0c0c0c0', 3, 'Retail');
INSERT INTO segext.channels (company_id, id, name) VALUES
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000f1', 'Web');
SELECT segext.refresh_company('c0c0c0c0c0c0c0c0c0c0c0c0') \g /dev/null

-- maintained_writer: segext_writer granted company Maintained.
CREATE ROLE maintained_writer NOLOGIN IN ROLE segext_writer;
SELECT segext.grant_company('c0c0c0c0c0c0c0c0c0c0c0c0', 'maintained_writer', 'writer');

-- as_writer runs sql as segext_writer of company Maintained and returns the
-- SQLSTATE and message of its error, or NULL.
CREATE FUNCTION pg_temp.as_writer(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE st text; msg text;
BEGIN
    PERFORM set_config('role', 'maintained_writer', true),
            set_config('segext.company_id', 'c0c0c0c0c0c0c0c0c0c0c0c0', true);
    BEGIN
        EXECUTE sql;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
    PERFORM set_config('role', 'none', true), set_config('segext.company_id', '', true);
    RETURN CASE WHEN st IS NULL THEN NULL ELSE ARRAY[st, msg] END;
END $$;
-- counts_exact says whether every segment of company Maintained has the
-- count of its stored members.
CREATE FUNCTION pg_temp.counts_exact() RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(segext.segment_customers_count(s.company_id, s.id) = (SELECT count(*) FROM segext.memberships m
                                          WHERE m.company_id = s.company_id AND m.segment_id = s.id))
      FROM segext.segments s WHERE s.company_id = 'c0c0c0c0c0c0c0c0c0c0c0c0' $$;

SELECT is((SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE id = '0000000000000000000000a2'), 1::int8,
    'refresh: Buyers has one member (Ann''s sale is fully returned)');
SELECT ok(pg_temp.counts_exact(), 'refresh: every count equals the stored members');

-- Creation times in the past, written with the triggers off (as pg_restore
-- does): segext's triggers keep created_at from anyone else.
SET LOCAL session_replication_role = replica;
UPDATE segext.segments SET created_at = '2001-01-01', updated_at = '2001-01-01'
 WHERE id = '0000000000000000000000a2';
UPDATE segext.segment_groups SET created_at = '2001-01-01' WHERE company_id = 'c0c0c0c0c0c0c0c0c0c0c0c0' AND id = 3;
UPDATE segext.channels SET created_at = '2001-01-01' WHERE id = '0000000000000000000000f1';
UPDATE segext.customers SET created_at = '2001-01-01' WHERE id = '0000000000000000000000c2';
SET LOCAL session_replication_role = origin;

-- created_at and updated_at of a segment; its count is not a column of it.
SELECT is(pg_temp.as_writer($$UPDATE segext.segments SET created_at = '2000-01-01',
                                     updated_at = '2000-01-01', description = 'best'
                               WHERE id = '0000000000000000000000a2'$$), NULL,
    'a writer''s UPDATE writing created_at and updated_at of a segment succeeds');
SELECT is((SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE id = '0000000000000000000000a2'), 1::int8,
    'the count is still segext''s');
SELECT is((SELECT created_at FROM segext.segments WHERE id = '0000000000000000000000a2'), '2001-01-01'::timestamptz,
    'the written created_at is replaced by the one segext kept');
SELECT is((SELECT updated_at FROM segext.segments WHERE id = '0000000000000000000000a2'), now(),
    'updated_at is the time of the change, not the value written');
SELECT is((SELECT description FROM segext.segments WHERE id = '0000000000000000000000a2'), 'best',
    'the other columns of the same UPDATE are written');
SELECT is(pg_temp.as_writer($$INSERT INTO segext.segments (company_id, id, name, created_at, updated_at)
                              VALUES ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000a3', 'Fresh', '2000-01-01', '2000-01-01')$$),
    NULL, 'a writer''s INSERT writing created_at succeeds');
SELECT is((SELECT ARRAY[segext.segment_customers_count(company_id, id)::text, (created_at = now())::text, (updated_at = now())::text]
             FROM segext.segments WHERE id = '0000000000000000000000a3'), ARRAY['0', 'true', 'true'],
    'a new segment has 0 members and was created and updated now, whatever was written');
INSERT INTO segext.customers (company_id, id, first_name) VALUES
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000c3', 'Cy');
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000c3', 5);
SELECT is(segext.refresh_company('c0c0c0c0c0c0c0c0c0c0c0c0'), 0::int8,
    'the new customer and sale moved Cy into All and Buyers: the refresh changes nothing');
SELECT ok(pg_temp.counts_exact(), 'refresh after the writes: every count still equals the stored members');
SELECT is((SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE id = '0000000000000000000000a2'), 2::int8,
    'refresh: Buyers counts Bob and Cy');
SELECT is(pg_temp.as_writer($$INSERT INTO segext.segment_member_counts (company_id, segment_id, delta) VALUES ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000a2', 5)$$),
    ARRAY['42501', 'permission denied for table segment_member_counts'],
    'a writer cannot write a member count');

-- created_at of the other tables is kept, updated_at set.
SELECT is(pg_temp.as_writer($$UPDATE segext.segment_groups SET created_at = '2000-01-01', name = 'Retail 2' WHERE id = 3$$), NULL,
    'a writer''s UPDATE of a segment group writing created_at succeeds');
SELECT is(pg_temp.as_writer($$UPDATE segext.channels SET created_at = '2000-01-01', commission = 0.5$$), NULL,
    'a writer''s UPDATE of a channel writing created_at succeeds');
SELECT is(pg_temp.as_writer($$UPDATE segext.customers SET created_at = '2000-01-01', last_name = 'Berg'
                               WHERE id = '0000000000000000000000c2'$$), NULL,
    'a writer''s UPDATE of a customer writing created_at succeeds');
SELECT is(ARRAY[(SELECT created_at FROM segext.segment_groups WHERE company_id = 'c0c0c0c0c0c0c0c0c0c0c0c0' AND id = 3),
                (SELECT created_at FROM segext.channels WHERE id = '0000000000000000000000f1'),
                (SELECT created_at FROM segext.customers WHERE id = '0000000000000000000000c2')],
          ARRAY['2001-01-01', '2001-01-01', '2001-01-01']::timestamptz[],
    'created_at of the group, the channel and the customer is kept');
SELECT is((SELECT updated_at FROM segext.customers WHERE id = '0000000000000000000000c2'), now(),
    'updated_at of the customer is the time of the change');

-- Keys never change.
SELECT is(pg_temp.as_writer($$UPDATE segext.segments SET id = '0000000000000000000000a9' WHERE id = '0000000000000000000000a3'$$),
    ARRAY['22023', 'cannot change the id of segment "Fresh"'], 'the id of a segment cannot change');
SELECT is(pg_temp.as_writer($$UPDATE segext.segments SET company_id = '0d0d0d0d0d0d0d0d0d0d0d0d' WHERE id = '0000000000000000000000a3'$$),
    ARRAY['22023', 'cannot move segment "Fresh" to another company'], 'a segment cannot move to another company');
SELECT is(pg_temp.as_writer($$UPDATE segext.segment_groups SET id = 4 WHERE id = 3$$),
    ARRAY['22023', 'cannot change the id of segment group "Retail 2"'], 'the id of a segment group cannot change');
SELECT is(pg_temp.as_writer($$UPDATE segext.channels SET id = '0000000000000000000000f9'$$),
    ARRAY['22023', 'cannot change the id of channel "Web"'], 'the id of a channel cannot change');
SELECT is(pg_temp.as_writer($$UPDATE segext.customers SET id = '0000000000000000000000c9' WHERE id = '0000000000000000000000c2'$$),
    ARRAY['22023', 'cannot change the id of customer "0000000000000000000000c2"'], 'the id of a customer cannot change');
SELECT is(pg_temp.as_writer($$UPDATE segext.customers SET company_id = '0d0d0d0d0d0d0d0d0d0d0d0d' WHERE id = '0000000000000000000000c2'$$),
    ARRAY['22023', 'cannot move customer "0000000000000000000000c2" to another company'], 'a customer cannot move to another company');
SELECT is(pg_temp.as_writer($$UPDATE segext.transactions SET id = '0000000000000000000000d9' WHERE id = '0000000000000000000000d2'$$),
    ARRAY['22023', 'cannot change the id of transaction "0000000000000000000000d2"'], 'the id of a transaction cannot change');

-- A row of another company is refused before a rule reads that company.
SELECT is(pg_temp.as_writer($$INSERT INTO segext.segments (company_id, name) VALUES ('0d0d0d0d0d0d0d0d0d0d0d0d', 'Stolen')$$),
    ARRAY['42501', 'permission denied for company "0d0d0d0d0d0d0d0d0d0d0d0d"'],
    'a segment for another company: 42501, not that company''s segment limit');
SELECT is(pg_temp.as_writer($$INSERT INTO segext.segment_groups (company_id, name) VALUES ('0d0d0d0d0d0d0d0d0d0d0d0d', 'Stolen')$$),
    ARRAY['42501', 'permission denied for company "0d0d0d0d0d0d0d0d0d0d0d0d"'], 'a segment group for another company: 42501');
SELECT is(pg_temp.as_writer($$INSERT INTO segext.channels (company_id, name) VALUES ('0d0d0d0d0d0d0d0d0d0d0d0d', 'Stolen')$$),
    ARRAY['42501', 'permission denied for company "0d0d0d0d0d0d0d0d0d0d0d0d"'], 'a channel for another company: 42501');

-- INSERT ... ON CONFLICT DO UPDATE on an existing key is an update.
SELECT lives_ok($$INSERT INTO segext.segments (company_id, id, name) VALUES ('0d0d0d0d0d0d0d0d0d0d0d0d', '0000000000000000000000b2', 'Only one')
                  ON CONFLICT (company_id, id) DO UPDATE SET name = EXCLUDED.name$$,
    'an upsert of an existing segment is not refused by max_segments (Other has 1 of 1)');
SELECT is((SELECT number || ' ' || name FROM segext.segments WHERE id = '0000000000000000000000b2'), '2 Only one',
    'the upsert renamed the segment and kept its number');
SELECT throws_ok($$INSERT INTO segext.segments (company_id, id, number, name) VALUES ('0d0d0d0d0d0d0d0d0d0d0d0d', '0000000000000000000000b3', 3, 'Second')
                  ON CONFLICT (company_id, id) DO UPDATE SET name = EXCLUDED.name$$,
    'PT403', 'company "Other" already has its maximum of 1 segments', 'an upsert of a new segment is held to max_segments');
SELECT lives_ok($$INSERT INTO segext.transactions (company_id, id, customer_id, amount, returns_id, pos_id)
                  VALUES ('c0c0c0c0c0c0c0c0c0c0c0c0', '0000000000000000000000e1', '0000000000000000000000c1', -100, '0000000000000000000000d1', 'P9')
                  ON CONFLICT (company_id, id) DO UPDATE SET amount = EXCLUDED.amount, pos_id = EXCLUDED.pos_id$$,
    'an upsert of an existing return of the whole sale is not refused as returning more than is left');
SELECT is((SELECT ARRAY[returned_amount::text, (SELECT pos_id FROM segext.transactions WHERE id = '0000000000000000000000e1')]
             FROM segext.transactions WHERE id = '0000000000000000000000d1'), ARRAY['100.00', 'P9'],
    'the upsert updated the return, and the sale''s returned amount is unchanged');

SELECT * FROM finish();
ROLLBACK;
