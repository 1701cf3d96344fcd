-- segment_members of segments made only of customer lists, which run one
-- statement planned once per backend: the customers listed in every part
-- (a part lists the union of its lists), active and of the segment's company
-- only; the same as the stored membership; a list part next to a sale part;
-- tenancy; and the statements prepared again after the extension is dropped
-- and created in the same session.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(12);

SELECT segext.create_company('lists') AS c \gset
SELECT segext.create_company('lists, other company') AS o \gset
\ir helpers/member_names.sql

INSERT INTO segext.customers (company_id, id, first_name, active) VALUES
    (:'c', '0000000000000000000000a1', 'ann', true),
    (:'c', '0000000000000000000000a2', 'bob', true),
    (:'c', '0000000000000000000000a3', 'cid', true),
    (:'c', '0000000000000000000000a4', 'dee', false),
    (:'o', '0000000000000000000000a5', 'eve', true);
INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id) VALUES
    (:'c', '0000000000000000000000a2', 10, 'P1');

INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'one list', '[{"type": "customer_list", "customers": ["0000000000000000000000a1", "0000000000000000000000A1", "0000000000000000000000a4", "0000000000000000000000a5", "0000000000000000000000ff"]}]'),
    (:'c', 'union in a part', '[{"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000a1"]}, {"type": "customer_list", "customers": ["0000000000000000000000a2"]}]}]'),
    (:'c', 'intersection of parts', '[{"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000a1", "0000000000000000000000a2", "0000000000000000000000a3"]}]}, {"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000a3", "0000000000000000000000a2"]}, {"type": "customer_list", "customers": ["0000000000000000000000a4"]}]}, {"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000a2", "0000000000000000000000a3", "0000000000000000000000a9"]}]}]'),
    (:'c', 'empty intersection', '[{"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000a1"]}]}, {"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000a2"]}]}]'),
    (:'c', 'list and a sale', '[{"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000a1", "0000000000000000000000a2"]}]}, {"criteria": [{"type": "bought_in_pos", "posIds": ["P1"]}]}]');

SELECT is(pg_temp.now_members('one list'), '{ann}',
          'one list: listed twice counts once; inactive, another company''s and unknown customers are not members');
SELECT is(pg_temp.now_members('union in a part'), '{ann,bob}', 'two lists in one part: a customer of either list');
SELECT is(pg_temp.now_members('intersection of parts'), '{bob,cid}', 'three parts: the customers every part lists');
SELECT is(pg_temp.now_members('empty intersection'), '{}', 'parts listing different customers: no member');
SELECT is(pg_temp.now_members('list and a sale'), '{bob}', 'a list part and a sale part: listed customers with such a sale');
SELECT is(pg_temp.now_members('one list'), '{ann}', 'the second call (the prepared statement) gives the same members');

-- The stored membership agrees.
SELECT is(segext.refresh_company(:'c'), 0::bigint, 'refresh_company finds nothing to change: the membership was kept fresh');
-- stale_lists(company): how many of its list segments have stored members
-- other than those evaluated now (each segment evaluated here, not where
-- Citus keeps its row; PL/pgSQL planned with the values).
CREATE FUNCTION pg_temp.stale_lists(company segext.objectid) RETURNS pg_catalog.int8 LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s segext.segments;
    n pg_catalog.int8 := 0;
BEGIN
    FOR s IN SELECT * FROM segext.segments WHERE company_id OPERATOR(pg_catalog.=) company AND number OPERATOR(pg_catalog.>) 1 LOOP
        IF (SELECT coalesce(pg_catalog.array_agg(m.customer_id ORDER BY m.customer_id), '{}') FROM segext.memberships m
            WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id)
           IS DISTINCT FROM
           (SELECT coalesce(pg_catalog.array_agg(n.customer_id ORDER BY n.customer_id), '{}') FROM segext.segment_members(s.id) n) THEN
            n := n OPERATOR(pg_catalog.+) 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;
SELECT is(pg_temp.stale_lists(:'c'), 0::bigint, 'every list segment: stored members = members evaluated now');

-- A customer who becomes inactive leaves at once (the statement is not stale).
UPDATE segext.customers SET active = false WHERE company_id = :'c' AND id = '0000000000000000000000a1';
SELECT is(pg_temp.now_members('union in a part'), '{bob}', 'an inactivated customer is no longer a member');

-- Tenancy: another company's reader does not see the segment.
SELECT id AS seg FROM segext.segments WHERE company_id = :'c' AND name = 'union in a part' \gset
CREATE ROLE lists_other_reader NOLOGIN IN ROLE segext_reader;
SELECT segext.grant_company(:'o', 'lists_other_reader');
SET LOCAL segext.company_id = :'o';
SET LOCAL ROLE lists_other_reader;
SELECT throws_ok(pg_catalog.format('SELECT * FROM segext.segment_members(%L)', :'seg'), '22023', NULL,
                 'another company''s reader: the segment does not exist');
RESET ROLE;
RESET segext.company_id;

-- Dropped and created again in this session: the statements are prepared again.
-- (On Citus segext is installed and distributed once for the database: there
-- the extension stays, and the same statements run in a new company.)
SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') AS on_citus \gset
\if :on_citus
\else
SET LOCAL segext.drop_with_data = on;
DROP EXTENSION segext CASCADE;
CREATE EXTENSION segext;
\endif
SELECT segext.create_company('lists again') AS c \gset
INSERT INTO segext.customers (company_id, id, first_name) VALUES (:'c', '0000000000000000000000b1', 'fay');
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'list again', '[{"type": "customer_list", "customers": ["0000000000000000000000b1"]}]');
-- (counts read, then asserted: Citus runs a statement reading one company
-- whole on a worker, where pgTAP has no plan)
SELECT count(*) AS n FROM segext.segments s CROSS JOIN LATERAL segext.segment_members(s.id) m
    WHERE s.company_id = :'c' AND s.name = 'list again' \gset
SELECT is(:'n'::bigint, 1::bigint, 'after DROP and CREATE EXTENSION in the session: a list segment is evaluated');
SELECT count(*) AS n FROM segext.segments s CROSS JOIN LATERAL segext.segment_members(s.id) m
    WHERE s.company_id = :'c' AND s.number = 0 \gset
SELECT is(:'n'::bigint, 1::bigint, 'and the segment row of a built-in is read');

SELECT * FROM finish();
ROLLBACK;
