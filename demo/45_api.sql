-- demo/45_api.sql: the API schema segext_api as an application uses it: a
-- login granted one company writes through the views with its company set,
-- is told of membership changes by NOTIFY, and reads the report views.
\set ECHO queries
SELECT id AS shop FROM segext.companies WHERE name = 'Corner Books' \gset
SELECT id AS acme FROM segext.companies WHERE name = 'Acme Coffee' \gset

\echo '--- the API path: a login granted Corner Books as a writer, with segext.company_id set for the session'
CREATE ROLE demo_shop_app LOGIN IN ROLE segext_writer;
SELECT segext.grant_company(:'shop', 'demo_shop_app', 'writer') \g /dev/null
SET ROLE demo_shop_app;
SET segext.company_id = :'shop';

\echo '--- the views show the current company only, and fill in company_id on writes'
SELECT number, name, active, customers_count FROM segext_api.segments ORDER BY number;
INSERT INTO segext_api.segments (name, criteria)
VALUES ('Two or more sales', '[{"type": "transaction_count", "min": 2, "max": 1000000}]')
RETURNING id, number, name;
INSERT INTO segext_api.customers (external_id, first_name, last_name, email)
VALUES ('c9', 'Iris', 'Irwin', 'iris@example.com')
RETURNING id, external_id, first_name;

\echo '--- LISTEN: each statement that changes members sends NOTIFY segext_membership with the range of history ids it wrote'
\echo '--- (psql prints "Asynchronous notification ... received" after the statement)'
LISTEN segext_membership;
INSERT INTO segext_api.transactions (customer_id, amount, pos_id)
SELECT id, 25, 'online' FROM segext_api.customers WHERE external_id = 'c9'
RETURNING id, amount;
INSERT INTO segext_api.transactions (customer_id, amount, pos_id)
SELECT id, 30, 'downtown' FROM segext_api.customers WHERE external_id = 'c9'
RETURNING id, amount;
\echo '--- a listener reads those history rows; row level security shows it its own company only'
SELECT id, segment_name, external_id, kind FROM segext_api.report_membership_history
WHERE external_id = 'c9' ORDER BY id;
UNLISTEN segext_membership;

\echo '--- a channel with its forecast mix, written in one statement; two customers came through it'
INSERT INTO segext_api.channels (name, commission, segment_mix)
SELECT 'Book fair', 0.05, pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('segment_id', id, 'distribution', share))
FROM (SELECT id, 0.5 AS share
      FROM segext_api.segments WHERE name IN ('Big spenders', 'Penguin readers')) AS mix
RETURNING id, name, segment_mix;
UPDATE segext_api.customers SET channel_id = (SELECT id FROM segext_api.channels WHERE name = 'Book fair')
WHERE external_id IN ('c1', 'c2');

\echo '--- report views (what a BI tool reads): segment sizes, and the forecast mix against the actual members'
SELECT segment_number, segment_name, group_name, customers_count
FROM segext_api.report_segment_sizes ORDER BY segment_number;
SELECT channel_name, segment_name, forecast_distribution, channel_customers, actual_customers, actual_distribution
FROM segext_api.report_channel_mix ORDER BY segment_number;

\echo '--- the writer cannot write for another company'
\set ON_ERROR_STOP 0
\echo '(expected error: 42501, Acme Coffee is not granted to demo_shop_app)'
INSERT INTO segext_api.segments (company_id, name) VALUES (:'acme', 'Not mine');
\set ON_ERROR_STOP 1

RESET segext.company_id;
RESET ROLE;
