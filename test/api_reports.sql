-- Reporting views: segment sizes over time and membership history from
-- segext.membership_history, channel forecast against the actual mix of the
-- customers each channel brought; current company only.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;

SET LOCAL search_path = public, segext;
SELECT plan(9);

INSERT INTO segext.companies (id, name) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'Reports A'), ('bbbbbbbbbbbbbbbbbbbbbbbb', 'Reports B');
SET LOCAL TimeZone = 'UTC';
SET LOCAL segext.company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa';
INSERT INTO segext.segments (company_id, id, number, name, criteria) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000002', 2, 'Buyers', '[{"type":"transaction_count","min":1,"max":100}]'),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000003', 3, 'Big', '[{"type":"transaction_amount","fromAmount":100,"toAmount":100000}]');
INSERT INTO segext_api.channels (name, segment_mix) VALUES ('Web',
    '[{"segment_id":"a00000000000000000000002","distribution":0.75},{"segment_id":"a00000000000000000000003","distribution":0.25}]');
INSERT INTO segext.customers (company_id, id, external_id, channel_id)
SELECT 'aaaaaaaaaaaaaaaaaaaaaaaa', ('a0000000000000000000000' || i)::segext.objectid, 'a-' || i,
       (SELECT id FROM segext.channels WHERE name = 'Web')
  FROM generate_series(1, 4) i;
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000001', 10),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000002', 150);
-- B's history must not show up in A's reports.
INSERT INTO segext.customers (company_id, id, external_id) VALUES ('bbbbbbbbbbbbbbbbbbbbbbbb', 'b00000000000000000000001', 'b-1');
SELECT segext.refresh_company('bbbbbbbbbbbbbbbbbbbbbbbb');

-- Day 1: the customers and their sales (members change with each statement;
-- the refresh changes nothing); day 2: customer 1 buys big, customer 2's sale
-- is returned.
SELECT segext.refresh_company('aaaaaaaaaaaaaaaaaaaaaaaa');
UPDATE segext.membership_history SET at = '2024-03-01 12:00+00';
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000001', 200);
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
SELECT company_id, customer_id, -150, id FROM segext.transactions WHERE customer_id = 'a00000000000000000000002';
SELECT segext.refresh_company('aaaaaaaaaaaaaaaaaaaaaaaa');
UPDATE segext.membership_history SET at = '2024-03-02 12:00+00' WHERE at > '2024-03-01 12:00+00';

SELECT results_eq(
    $$SELECT segment_number, day, entered, exited, net, size FROM segext_api.report_segment_size_history
       ORDER BY segment_number, day$$,
    $$VALUES (0, '2024-03-01'::date, 4::bigint, 0::bigint, 4::bigint, 4::bigint),
             (1, '2024-03-01', 4, 2, 2, 2),
             (1, '2024-03-02', 1, 0, 1, 3),
             (2, '2024-03-01', 2, 0, 2, 2),
             (2, '2024-03-02', 0, 1, -1, 1),
             (3, '2024-03-01', 1, 0, 1, 1),
             (3, '2024-03-02', 1, 1, 0, 1)$$,
    'report_segment_size_history: entered, exited and end-of-day size per segment and day');
SELECT is((SELECT size FROM segext_api.report_segment_size_history WHERE segment_number = 2 ORDER BY day DESC LIMIT 1),
          (SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE id = 'a00000000000000000000002'),
          'report_segment_size_history: the last size is the current customers_count');
SELECT results_eq(
    $$SELECT external_id, kind FROM segext_api.report_membership_history
       WHERE segment_number = 3 ORDER BY id$$,
    $$VALUES ('a-2', 'entered'), ('a-1', 'entered'), ('a-2', 'left')$$,
    'report_membership_history: who entered and left segment 3, in the order of the statements that moved them');
-- B has history too (its customer entered All and Default): the view shows
-- as many rows as A has (history ids are unique within a company, not
-- across the shards of a distributed table); counted first, then asserted
SELECT (SELECT count(*) FROM segext_api.report_membership_history) AS shown \gset
SELECT (SELECT count(*) FROM segext.membership_history WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa') AS a_rows \gset
SELECT is(:'shown'::bigint, :'a_rows'::bigint, 'report_membership_history: only the current company''s history');

SELECT results_eq(
    $$SELECT segment_number, forecast_distribution, channel_customers, expected_customers, actual_customers, actual_distribution
        FROM segext_api.report_channel_mix WHERE channel_name = 'Web' ORDER BY segment_number$$,
    $$VALUES (0, 0::numeric, 4::bigint, 0::numeric, 4::bigint, 1.0000::numeric),
             (1, 0, 4, 0, 3, 0.7500),
             (2, 0.75, 4, 3.00, 1, 0.2500),
             (3, 0.25, 4, 1.00, 1, 0.2500)$$,
    'report_channel_mix: forecast against the actual segments of the channel''s customers');
SELECT ok(pg_catalog.has_table_privilege('segext_reader', 'segext_api.' || v, 'SELECT'),
          'segext_reader can read segext_api.' || v)
  FROM unnest(ARRAY['report_segment_size_history', 'report_membership_history', 'report_channel_mix']) v;

SET LOCAL segext.company_id = 'bbbbbbbbbbbbbbbbbbbbbbbb';
-- read first, then asserted: Citus runs a statement that reads one company
-- whole on a worker, where pgTAP has no plan
SELECT array_agg(DISTINCT segment_name) AS b_names FROM segext_api.report_segment_size_history \gset
SELECT is(:'b_names'::text[], ARRAY['All', 'Default'],
          'report_segment_size_history as B: B''s built-ins only');

SELECT * FROM finish();
ROLLBACK;
