-- test/citus/api_reports.sql: the segext_api views that count members and
-- the reports run for the current company on one shard group (one task) on
-- Citus, with the rows of one node.
\ir ../helpers/task_count.sql
SET search_path = segext, public;
SELECT plan(9);

-- A company with a channel whose customers are members of two segments.
SELECT segext.create_company('Reports') AS r \gset
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'r', 'Buyers', '[{"type": "transaction_count", "min": 1, "max": 1000}]');
SELECT id AS buyers FROM segext.segments WHERE company_id = :'r' AND name = 'Buyers' \gset
INSERT INTO segext.channels (company_id, id, name, segment_mix)
    VALUES (:'r', '0000000000000000000000a1', 'Web', pg_catalog.jsonb_build_array(
        pg_catalog.jsonb_build_object('segment_id', :'buyers', 'distribution', 1)));
INSERT INTO segext.customers (company_id, id, external_id, channel_id) VALUES
    (:'r', '0000000000000000000000b1', 'b1', '0000000000000000000000a1'),
    (:'r', '0000000000000000000000b2', 'b2', '0000000000000000000000a1'),
    (:'r', '0000000000000000000000b3', 'b3', NULL);
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (:'r', '0000000000000000000000b1', 10);

SET segext.company_id = :'r';
SELECT is(pg_temp.task_count('SELECT * FROM segext_api.segments'), 1,
          'segext_api.segments (with its member counts) for one company: one task');
SELECT is(pg_temp.task_count('SELECT * FROM segext_api.report_segment_sizes'), 1,
          'segext_api.report_segment_sizes: one task');
SELECT is(pg_temp.task_count('SELECT * FROM segext_api.report_channel_mix'), 1,
          'segext_api.report_channel_mix: one task');
-- (values are read into variables first: Citus runs a single-company query
-- whole on the worker, where pgTAP has no plan)
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || s.customers_count, ',' ORDER BY s.number)
        FROM segext_api.segments AS s) AS v1 \gset
SELECT (SELECT pg_catalog.string_agg(s.segment_name || ':' || s.customers_count, ',' ORDER BY s.segment_number)
        FROM segext_api.report_segment_sizes AS s) AS v2 \gset
SELECT (SELECT pg_catalog.string_agg(m.channel_name || '/' || m.segment_name || ':' || m.forecast_distribution || ':'
                                     || m.channel_customers || ':' || m.actual_customers || ':' || m.actual_distribution,
                                     ',' ORDER BY m.segment_number)
        FROM segext_api.report_channel_mix AS m) AS v3 \gset
RESET segext.company_id;
SELECT is(:'v1'::text, 'All:3,Default:2,Buyers:1', 'segments with their member counts');
SELECT is(:'v2'::text, 'All:3,Default:2,Buyers:1', 'report_segment_sizes');
SELECT is(:'v3'::text, 'Web/All:0:2:2:1.0000,Web/Default:0:2:1:0.5000,Web/Buyers:1:2:1:0.5000',
          'report_channel_mix: the forecast and the actual segments of the channel''s customers');

-- With no current company the reports are empty, as on one node.
SELECT (SELECT count(*) FROM segext_api.report_channel_mix) AS v4 \gset
SELECT (SELECT count(*) FROM segext_api.segments) AS v5 \gset
SELECT (SELECT count(*) FROM segext_api.report_segment_sizes) AS v6 \gset
SELECT is(:'v4'::int, 0, 'no current company: no channel mix');
SELECT is(:'v5'::int, 0, 'no current company: no segments');
SELECT is(:'v6'::int, 0, 'no current company: no sizes');

SELECT * FROM finish();
