-- demo/20_criteria.sql: the criteria type and its evaluator.
\set ECHO queries
\echo '--- criteria: both input shapes print in one canonical form'
SELECT '[{"criteria": [{"max": 10, "type": "transaction_count", "min": 2},
                       {"type": "bought_skus", "skuIds": ["SKU-2", "sku-1", "Sku-2"]}]}]'::segext.criteria AS parts_shape;
SELECT '[{"field": "country", "op": "eq", "value": "PL"}, {"field": "amount", "op": "gte", "value": 100.00}]'::segext.criteria AS flat_shape;

\echo '--- criteria: matching events (AND across parts, OR within a part)'
SELECT e AS event,
       segext.criteria_match_event('[{"criteria": [{"field": "country", "op": "eq", "value": "PL"},
                                                   {"field": "country", "op": "eq", "value": "DE"}]},
                                     {"criteria": [{"field": "amount", "op": "gte", "value": 100}]}]', e) AS matches
FROM (VALUES ('{"country": "PL", "amount": 150}'::jsonb), ('{"country": "FR", "amount": 150}'),
             ('{"country": "DE", "amount": "99.99"}')) AS t(e);

\echo '--- criteria: previewing customer facts'
SELECT segext.criteria_match_facts('[{"type": "average_transaction_amount", "fromAmount": 10, "toAmount": 20}]',
                                   '{"transaction_count": 3, "amount": 30}') AS average_10_is_in_10_to_20;

\echo '--- criteria: invalid input names the part, the criterion and the key'
\set ON_ERROR_STOP 0
\echo '(expected error: 22023, "min" is greater than "max")'
SELECT '[{"field": "a", "op": "exists"}, {"type": "transaction_count", "min": 5, "max": 1}]'::segext.criteria;
\set ON_ERROR_STOP 1
