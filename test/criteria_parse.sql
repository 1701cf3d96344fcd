\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SELECT plan(83);

-- Invalid documents with the wrong shape or malformed JSON: 22P02.
SELECT throws_ok(pg_catalog.format('SELECT %L::segext.criteria', t), '22P02', NULL, 'shape: ' || t)
FROM unnest(ARRAY[
    '', '[', '{}', '"x"', '1', 'null', 'true', '[1]', '["a"]', '[[]]', '[null]',
    '[{"criteria": {}}]', '[{"criteria": "x"}]', '[{"criteria": [1]}]', '[{"criteria": [[]]}]',
    '[{"criteria": [{"field": "a", "op": "exists"}]}, {"field": "a", "op": "exists"}]',
    '[{"field": "a", "op": "exists"}, {"criteria": [{"field": "a", "op": "exists"}]}]',
    '[{"field": "a", "op": "exists"}] x', '[{"field": "a", "op": "eq", "value": "\u0000"}]'
]) AS t;

-- Semantically invalid documents: 22023.
SELECT throws_ok(pg_catalog.format('SELECT %L::segext.criteria', t), '22023', NULL, 'invalid: ' || t)
FROM unnest(ARRAY[
    '[]', '[{"criteria": []}]', '[{"criteria": [{"field": "a", "op": "exists"}], "name": "x"}]', '[{}]',
    '[{"type": "transaction_count", "min": 1, "max": 2, "criterionid": "x"}]',
    '[{"type": "Transaction_Count", "min": 1, "max": 2}]', '[{"type": null}]',
    '[{"type": "transaction_count", "min": 1}]', '[{"type": "transaction_count", "min": null, "max": 1}]',
    '[{"type": "transaction_count", "min": -1, "max": 1}]', '[{"type": "transaction_count", "min": 0.5, "max": 1}]',
    '[{"type": "transaction_count", "min": 2, "max": 1}]', '[{"type": "transaction_count", "min": 1e30, "max": 1e31}]',
    '[{"type": "transaction_amount", "fromAmount": "1", "toAmount": 2}]',
    '[{"type": "transaction_amount", "fromAmount": 3, "toAmount": 2}]',
    '[{"type": "average_transaction_amount", "fromAmount": 0.1234567, "toAmount": 2}]',
    '[{"type": "bought_in_pos", "posIds": []}]', '[{"type": "bought_in_pos", "posIds": [1]}]',
    '[{"type": "bought_skus", "skuIds": null}]', '[{"type": "bought_makers", "makers": {}}]',
    '[{"type": "bought_labels", "labels": []}]', '[{"type": "bought_labels", "labels": [{"key": "", "value": "v"}]}]',
    '[{"type": "last_purchase_n_days_before", "days": 0}]', '[{"type": "last_purchase_n_days_before", "days": 1000001}]',
    '[{"type": "purchase_period", "fromDate": "2024-01-02", "toDate": "2024-01-01"}]',
    '[{"type": "purchase_period", "fromDate": "2024-13-01", "toDate": "2025-01-01"}]',
    '[{"type": "purchase_period", "fromDate": "2024-01-01 10:00", "toDate": "2025-01-01"}]',
    '[{"type": "transaction_percent_in_pos", "posId": "", "percent": 0.5}]',
    '[{"type": "transaction_percent_in_pos", "posId": "p", "percent": 1.000001}]',
    '[{"type": "anniversary", "anniversaryType": "Birthday", "days": 1}]',
    '[{"type": "anniversary", "anniversaryType": "birthday", "days": 1.5}]',
    '[{"type": "customer_has_labels", "labels": [{}]}]',
    '[{"type": "customer_list", "customers": ["507f1f77bcf86cd79943901g"]}]',
    '[{"field": 1, "op": "eq", "value": "a"}]', '[{"field": "a", "op": "EQ", "value": "a"}]',
    '[{"field": "a", "op": "lt", "value": "1"}]', '[{"field": "a", "op": "nin", "value": [{}]}]',
    '[{"field": "a", "op": "nexists", "value": null}]', '[{"field": "a", "op": "regex", "value": "a{3,2}"}]',
    '[{"field": "a", "op": "contains", "value": ["a"]}]'
]) AS t;

-- Valid documents parse.
SELECT lives_ok(pg_catalog.format('SELECT %L::segext.criteria', t), 'valid: ' || t)
FROM unnest(ARRAY[
    '[{"type": "transaction_count", "min": 0, "max": 0}]',
    '[{"criteria": [{"type": "transaction_count", "min": 0, "max": 0, "criterionId": "x"}], "segmentPartId": "y"}]',
    '[{"type": "transaction_amount", "fromAmount": 0, "toAmount": 1000000000000}]',
    '[{"type": "average_transaction_amount", "fromAmount": 0.000001, "toAmount": 0.000001}]',
    '[{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-01-01"}]',
    '[{"type": "purchase_period", "fromDate": "2024-01-01T00:00Z", "toDate": "2024-01-01 14:00:00.000001+14:00"}]',
    '[{"type": "transaction_percent_in_pos", "posId": "p", "percent": 0}]',
    '[{"type": "transaction_percent_in_pos", "posId": "p", "percent": 1}]',
    '[{"type": "anniversary", "anniversaryType": "registration", "days": 1000000}]',
    '[{"type": "customer_with_labels_values", "labels": [{"key": "k", "value": ""}]}]',
    '[{"field": "a", "op": "eq", "value": ""}]', '[{"field": "a", "op": "regex", "value": "^(a|b)*\\d{2}$"}]',
    '[{"field": "a", "op": "in", "value": [1, "1", 1.0]}]', '[{"field": "a b", "op": "nexists"}]',
    '[{"field": "a", "op": "gte", "value": -1e-5}]'
]) AS t;

-- Fixpoint: text -> criteria -> text -> criteria prints the same.
SELECT is(t::segext.criteria::text::segext.criteria::text, t::segext.criteria::text, 'fixpoint: ' || t)
FROM unnest(ARRAY[
    '[{"type": "purchase_period", "fromDate": "2024-01-01T00:00Z", "toDate": "2024-01-01 14:00:00.000001+14:00"}]',
    '[{"field": "a", "op": "in", "value": [1, "1", 1.0, "\u00e9x"]}]',
    '[{"type": "bought_labels", "labels": [{"key": "ÄB", "value": "Ç"}, {"key": "äb", "value": "ç"}]}]',
    '[{"criteria": [{"type": "transaction_amount", "fromAmount": 1.10, "toAmount": 2.000000}, {"field": "x\"y", "op": "eq", "value": "\t"}]}]'
]) AS t;

-- Both shapes mean the same: flat items are parts of their own.
SELECT ok('[{"field": "a", "op": "exists"}, {"field": "b", "op": "exists"}]'::segext.criteria
          OPERATOR(pg_catalog.=)
          '[{"criteria": [{"field": "a", "op": "exists"}]}, {"criteria": [{"field": "b", "op": "exists"}]}]'::segext.criteria,
          'flat shape equals the parts shape');
SELECT is(pg_catalog.jsonb_typeof('[{"type": "transaction_count", "min": 0, "max": 1}]'::segext.criteria::jsonb), 'array',
          'criteria cast to jsonb');
SELECT throws_ok($$SELECT '{"a": 1}'::jsonb::segext.criteria$$, '22P02', 'invalid input syntax for type criteria',
                 'jsonb cast validates the shape');
SELECT throws_ok($$SELECT '[{"type": "transaction_count", "min": 2, "max": 1}]'::jsonb::segext.criteria$$, '22023',
                 'invalid segment criteria: part 1, criterion 1 ("transaction_count"): "min" must not be greater than "max"',
                 'jsonb cast validates the criteria');
SELECT throws_ok($$SELECT '[{"criteria": [{"field": "a", "op": "exists"}]}, {"criteria": [{"field": "a", "op": "exists"}, {"type": "bought_skus", "skuIds": []}]}]'::segext.criteria$$,
                 '22023', 'invalid segment criteria: part 2, criterion 2 ("bought_skus"): "skuIds" must be a non-empty array of strings',
                 'message names part, criterion and key');

SELECT * FROM finish();
ROLLBACK;
