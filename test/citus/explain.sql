-- test/citus/explain.sql: explain_membership and its API function through
-- the coordinator give the same rows as on one node.
SET search_path = segext, public;
SELECT plan(3);
DELETE FROM segext.companies WHERE name = 'Explain on Citus';
SELECT segext.create_company('Explain on Citus') AS c \gset
INSERT INTO segext.customers (company_id, id, first_name) VALUES (:'c', '0000000000000000000e0c01', 'ann');
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (:'c', '0000000000000000000e0c01', 5);
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'c', 'Buyers', '[{"type": "transaction_count", "min": 1, "max": 9}]');
SELECT id AS s FROM segext.segments WHERE company_id = :'c' AND name = 'Buyers' \gset
SET segext.company_id = :'c';
SELECT pg_catalog.string_agg(explanation, ' | ' ORDER BY ordinal) AS direct
  FROM segext.explain_membership(:'s', '0000000000000000000e0c01') \gset
SELECT pg_catalog.string_agg(explanation, ' | ' ORDER BY ordinal) AS api
  FROM segext_api.explain_membership(:'s', '0000000000000000000e0c01') \gset
SELECT matches(:'direct'::text, 'transaction_count: 1 \(needs 1\.\.9\) -> true', 'explain_membership through the coordinator');
SELECT is(:'api'::text, :'direct'::text, 'segext_api.explain_membership gives the same rows');
SELECT throws_ok(pg_catalog.format('SELECT * FROM segext_api.explain_membership(%L, %L)', :'s', '0000000000000000000e0cff'),
                 'PT404', NULL, 'an unknown customer is 404');
RESET segext.company_id;
DELETE FROM segext.companies WHERE name = 'Explain on Citus';
