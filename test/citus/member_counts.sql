-- test/citus/member_counts.sql: segext.segment_customers_count() and
-- segext.compact_member_counts() called on the coordinator (test/citus/run.sh
-- has distributed segext) give the results of one node: a count called with
-- constants, repeatedly in one session (past PL/pgSQL's custom plans), and a
-- compaction of one company, of the current company and of every company
-- (other files' companies may be there too).
SET search_path = segext, public;
SELECT plan(8);

INSERT INTO segext.companies (id, name) VALUES ('0000000000000000000c0c01', 'Counts A'), ('0000000000000000000c0c02', 'Counts B');
-- one statement each: a count row per statement and segment
INSERT INTO segext.customers (company_id, id, first_name) VALUES ('0000000000000000000c0c01', '0000000000000000000c0c11', 'ann');
INSERT INTO segext.customers (company_id, id, first_name) VALUES ('0000000000000000000c0c01', '0000000000000000000c0c12', 'bob');
INSERT INTO segext.customers (company_id, id, first_name) VALUES ('0000000000000000000c0c01', '0000000000000000000c0c13', 'cy');
INSERT INTO segext.customers (company_id, id, first_name) VALUES ('0000000000000000000c0c02', '0000000000000000000c0c21', 'dee');
INSERT INTO segext.customers (company_id, id, first_name) VALUES ('0000000000000000000c0c02', '0000000000000000000c0c22', 'eve');
SELECT s.id AS all_a FROM segext.segments AS s
 WHERE s.company_id = '0000000000000000000c0c01' AND s.name = 'All' \gset
SELECT s.id AS all_b FROM segext.segments AS s
 WHERE s.company_id = '0000000000000000000c0c02' AND s.name = 'All' \gset

SELECT segext.segment_customers_count('0000000000000000000c0c01', :'all_a') AS n1 \gset
SELECT segext.segment_customers_count('0000000000000000000c0c01', :'all_a') AS n2 \gset
SELECT segext.segment_customers_count('0000000000000000000c0c01', :'all_a') AS n3 \gset
SELECT segext.segment_customers_count('0000000000000000000c0c01', :'all_a') AS n4 \gset
SELECT segext.segment_customers_count('0000000000000000000c0c01', :'all_a') AS n5 \gset
SELECT segext.segment_customers_count('0000000000000000000c0c01', :'all_a') AS n6 \gset
SELECT segext.segment_customers_count('0000000000000000000c0c01', :'all_a') AS n7 \gset
SELECT is(:'n1' || ',' || :'n7', '3,3', 'segment_customers_count with constants on the coordinator, seven times in a session');
SELECT segext.segment_customers_count('0000000000000000000c0c02', :'all_b') AS nb \gset
SELECT is(:'nb'::int, 2, 'and of another company''s segment');

SELECT count(*) AS rows_a FROM segext.segment_member_counts WHERE company_id = '0000000000000000000c0c01' \gset
SELECT cmp_ok(:'rows_a'::int, '>', 2, 'company A has several count rows');
SELECT segext.compact_member_counts('0000000000000000000c0c01') AS folded_a \gset
SELECT is(:'folded_a'::int, :'rows_a'::int, 'compact_member_counts(company) folds all of them');
SELECT count(*) AS left_a FROM segext.segment_member_counts WHERE company_id = '0000000000000000000c0c01' \gset
SELECT is(:'left_a'::int, 2, 'one row per segment of A is left (All, Default)');
SELECT segext.segment_customers_count('0000000000000000000c0c01', :'all_a') AS after_a \gset
SELECT is(:'after_a'::int, 3, 'with the same count');

SET segext.company_id = '0000000000000000000c0c02';
SELECT segext.compact_member_counts() AS folded_b \gset
SELECT cmp_ok(:'folded_b'::int, '>', 0, 'compact_member_counts() folds the current company''s rows');
RESET segext.company_id;
SELECT segext.compact_member_counts() AS folded_all \gset
SELECT count(*) AS left_ab FROM segext.segment_member_counts
 WHERE company_id IN ('0000000000000000000c0c01', '0000000000000000000c0c02') \gset
SELECT is(:'left_ab'::int, 4, 'compact_member_counts() of every company leaves one row per segment of A and B');

DELETE FROM segext.companies WHERE id IN ('0000000000000000000c0c01', '0000000000000000000c0c02');
SELECT * FROM finish();
