-- Member counts kept in segext.segment_member_counts: after every kind of
-- membership change the count of each segment equals its member rows; a
-- membership change writes no segment row; compaction keeps the sums.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(16);

SELECT segext.create_company('member counts') AS c \gset
-- counts_exact: every segment of the company counts its member rows, in
-- the API views too.
CREATE FUNCTION pg_temp.counts_exact(company segext.objectid) RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(segext.segment_customers_count(s.company_id, s.id) = (SELECT count(*) FROM segext.memberships m
                      WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id))
      FROM segext.segments s WHERE s.company_id OPERATOR(pg_catalog.=) company $$;
SELECT set_config('segext.company_id', :'c', true) \g /dev/null

INSERT INTO segext.customers (company_id, id, first_name)
SELECT :'c', lpad(to_hex(g), 24, '0')::segext.objectid, 'c' || g FROM generate_series(1, 40) g;
INSERT INTO segext.transactions (company_id, customer_id, amount)
SELECT :'c', lpad(to_hex(g), 24, '0')::segext.objectid, g FROM generate_series(1, 30) g;
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'big', '[{"type": "transaction_amount", "fromAmount": 10, "toAmount": 1000}]') RETURNING id AS big \gset
INSERT INTO segext.segments (company_id, name, criteria) VALUES (:'c', 'picked', NULL) RETURNING id AS picked \gset

SELECT ok(segext.refresh_company(:'c') = 0 AND pg_temp.counts_exact(:'c'), 'members kept by the writes: the refresh changes nothing, counts equal the member rows');
SELECT is((SELECT customers_count FROM segext_api.segments WHERE id = :'big'), 21::int8, 'the API view shows the count of big');
SELECT is((SELECT customers_count FROM segext_api.report_segment_sizes WHERE segment_id = :'big'), 21::int8, 'report_segment_sizes shows it too');

-- A membership change writes no segment row.
CREATE TEMP TABLE before_rows AS SELECT id, xmin::text AS x FROM segext.segments WHERE company_id = :'c';
SELECT is(segext.add_segment_members(:'picked', ARRAY(SELECT lpad(to_hex(g), 24, '0')::segext.objectid FROM generate_series(1, 10) g)),
          10::int8, 'manual members added');
SELECT ok(pg_temp.counts_exact(:'c'), 'manual members: counts exact');
SELECT is((SELECT count(*) FROM segext.segments s JOIN before_rows b ON b.id = s.id WHERE s.xmin::text <> b.x), 0::bigint,
          'adding members updated no segment row (every xmin unchanged)');
SELECT is(segext.remove_segment_members(:'picked', ARRAY[lpad(to_hex(1), 24, '0')::segext.objectid]), 1::int8, 'a member removed');
SELECT ok(pg_temp.counts_exact(:'c'), 'removal: counts exact');

SELECT ok(segext.deactivate_segment(:'big') > 0 AND pg_temp.counts_exact(:'c'), 'deactivation: counts exact');
SELECT ok(segext.activate_segment(:'big') > 0 AND pg_temp.counts_exact(:'c'), 'activation: counts exact');
DELETE FROM segext.customers WHERE company_id = :'c' AND first_name IN ('c2', 'c20', 'c35');
SELECT ok(pg_temp.counts_exact(:'c'), 'customer deletes cascading to members: counts exact');
DELETE FROM segext.segments WHERE id = :'picked';
SELECT is((SELECT count(*) FROM segext.segment_member_counts WHERE segment_id = :'picked'), 0::bigint,
          'a deleted segment takes its count rows with it');
SELECT ok(pg_temp.counts_exact(:'c'), 'segment delete: counts exact');

-- Many small changes: the trigger compacts a segment past 64 rows.
INSERT INTO segext.segments (company_id, name, criteria) VALUES (:'c', 'busy', NULL) RETURNING id AS busy \gset
SELECT segext.add_segment_members(:'busy', ARRAY[lpad(to_hex(g), 24, '0')::segext.objectid]) FROM generate_series(3, 19) g, generate_series(1, 5) r \g /dev/null
SELECT segext.remove_segment_members(:'busy', ARRAY[lpad(to_hex(g), 24, '0')::segext.objectid]) FROM generate_series(3, 10) g \g /dev/null
SELECT ok((SELECT count(*) FROM segext.segment_member_counts WHERE segment_id = :'busy') <= 65 AND pg_temp.counts_exact(:'c'),
          'many changes: at most 65 count rows, counts exact');
SELECT cmp_ok(segext.compact_member_counts(:'c'), '>=', 0::int8, 'compact_member_counts runs');
SELECT ok((SELECT count(*) FROM segext.segment_member_counts WHERE company_id = :'c' GROUP BY segment_id ORDER BY 1 DESC LIMIT 1) = 1
          AND pg_temp.counts_exact(:'c'), 'after compaction: one row per segment, counts exact');

SELECT * FROM finish();
ROLLBACK;
