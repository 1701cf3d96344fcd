-- segext.criteria: text input in both shapes, canonical output, round
-- trips, jsonb casts, equality, and every validation error.

-- Parts shape: (c1 OR c2) AND c3; vendor decorations are dropped.
SELECT '[{"segmentPartId": "p1", "criteria": [
          {"criterionId": "c1", "type": "transaction_count", "min": 10, "max": 20},
          {"type": "average_transaction_amount", "fromAmount": 1, "toAmount": 10000}]},
         {"criteria": [{"type": "bought_in_pos", "posIds": ["pos-2", "pos-1", "pos-2"]}]}]'::segext.criteria;

-- Flat (Infinity) shape: each item is a part of its own.
SELECT '[{"field": "act", "op": "begins", "value": "12"},
         {"field": "href", "op": "nbegins", "value": "/action/do"}]'::segext.criteria;

-- Every criterion kind, printed canonically ("type" first, then parameters
-- alphabetically; lists sorted and deduplicated; case-insensitive strings
-- folded; amounts without trailing zeros; timestamps in UTC).
SELECT '[{"type": "transaction_count", "min": 0, "max": 5},
         {"type": "transaction_amount", "fromAmount": 10.50, "toAmount": 1e3},
         {"type": "average_transaction_amount", "fromAmount": 0.000001, "toAmount": 99.99},
         {"type": "bought_in_pos", "posIds": ["POS-b", "POS-a"]},
         {"type": "bought_skus", "skuIds": ["SKU-1", "sku-1", "Sku-2"]},
         {"type": "bought_makers", "makers": ["Acme", "ACME", "Zeta"]},
         {"type": "bought_labels", "labels": [{"key": "Color", "value": "Red"}, {"key": "color", "value": "red"}]},
         {"type": "last_purchase_n_days_before", "days": 30},
         {"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-06-30T23:59:59.250+02:00"},
         {"type": "transaction_percent_in_pos", "posId": "pos-1", "percent": 0.50},
         {"type": "anniversary", "anniversaryType": "birthday", "days": 7},
         {"type": "anniversary", "anniversaryType": "registration", "days": 1},
         {"type": "customer_has_labels", "labels": [{"key": "VIP"}]},
         {"type": "customer_with_labels_values", "labels": [{"key": "Tier", "value": "Gold"}]},
         {"type": "customer_list", "customers": ["507F1F77BCF86CD799439011", "000000000000000000000001"]}]'::segext.criteria;

-- Every field operator.
SELECT '[{"criteria": [
          {"field": "f", "op": "eq", "value": "a"}, {"field": "f", "op": "eq", "value": 1.50},
          {"field": "f", "op": "neq", "value": "a"}, {"field": "f", "op": "begins", "value": "a"},
          {"field": "f", "op": "nbegins", "value": "a"}, {"field": "f", "op": "ends", "value": "a"},
          {"field": "f", "op": "nends", "value": "a"}, {"field": "f", "op": "contains", "value": "a"},
          {"field": "f", "op": "ncontains", "value": "a"}, {"field": "f", "op": "regex", "value": "^a+$"},
          {"field": "f", "op": "nregex", "value": "^a+$"}, {"field": "f", "op": "gt", "value": 1},
          {"field": "f", "op": "gte", "value": -2.5}, {"field": "f", "op": "lt", "value": 1e2},
          {"field": "f", "op": "lte", "value": 0}, {"field": "f", "op": "in", "value": ["b", "a", 2, 10, "a"]},
          {"field": "f", "op": "nin", "value": [1]}, {"field": "f", "op": "exists"},
          {"field": "g", "op": "nexists"}]}]'::segext.criteria;

-- Round trips: text -> criteria -> text -> criteria is a fixpoint, and the
-- canonical form survives jsonb in both directions.
WITH v(t) AS (VALUES
    ('[{"type": "transaction_amount", "fromAmount": 10.50, "toAmount": 20}]'),
    ('[{"criteria": [{"field": "a\"b", "op": "eq", "value": "\u00e9\n"}]}]'),
    ('[{"type": "purchase_period", "fromDate": "2024-01-01T00:00:00-05:30", "toDate": "2024-01-02"}]'),
    ('[{"type": "bought_labels", "labels": [{"key": "K", "value": "V"}]}, {"field": "x", "op": "exists"}]'))
SELECT t::segext.criteria::text = t::segext.criteria::text::segext.criteria::text AS fixpoint,
       t::segext.criteria::jsonb::segext.criteria OPERATOR(pg_catalog.=) t::segext.criteria AS via_jsonb,
       t::jsonb::segext.criteria OPERATOR(pg_catalog.=) t::segext.criteria AS from_jsonb
FROM v;

-- Equal conditions print equally; = compares canonical forms.
SELECT '[{"type": "bought_skus", "skuIds": ["A", "b"]}]'::segext.criteria
     OPERATOR(pg_catalog.=) '[{"criteria": [{"skuIds": ["B", "a", "a"], "type": "bought_skus"}]}]'::segext.criteria AS same,
       '[{"type": "transaction_count", "min": 1, "max": 2}]'::segext.criteria
    OPERATOR(pg_catalog.<>) '[{"type": "transaction_count", "min": 1, "max": 3}]'::segext.criteria AS differ;
SELECT '[{"type": "transaction_count", "min": 1, "max": 2}]'::segext.criteria::jsonb;
SELECT '[{"criteria": [{"field": "x", "op": "eq", "value": 1}]}]'::jsonb::segext.criteria;

-- Invalid input: one error per line, SQLSTATE first.
CREATE FUNCTION pg_temp.try_criteria(t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM t::segext.criteria;
    RETURN 'ok';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT t AS input, pg_temp.try_criteria(t) AS result FROM (VALUES
    -- malformed JSON and wrong shapes (22P02)
    (''), ('['), ('{}'), ('"x"'), ('1'), ('null'), ('[1]'), ('[[]]'),
    ('[{"criteria": {}}]'), ('[{"criteria": [1]}]'),
    ('[{"criteria": [{"field": "a", "op": "exists"}]}, {"field": "a", "op": "exists"}]'),
    -- empty list, empty part, unknown keys
    ('[]'), ('[{"criteria": []}]'), ('[{"criteria": [{"field": "a", "op": "exists"}], "x": 1}]'),
    ('[{}]'), ('[{"type": "transaction_count", "min": 1, "max": 2, "extra": 1}]'),
    ('[{"type": 1}]'), ('[{"type": "nope"}]'),
    -- transaction_count
    ('[{"type": "transaction_count", "max": 2}]'), ('[{"type": "transaction_count", "min": -1, "max": 2}]'),
    ('[{"type": "transaction_count", "min": 1.5, "max": 2}]'), ('[{"type": "transaction_count", "min": "1", "max": 2}]'),
    ('[{"type": "transaction_count", "min": 3, "max": 2}]'),
    -- amounts
    ('[{"type": "transaction_amount", "fromAmount": -1, "toAmount": 2}]'),
    ('[{"type": "transaction_amount", "fromAmount": 1.0000001, "toAmount": 2}]'),
    ('[{"type": "average_transaction_amount", "fromAmount": 5, "toAmount": 2}]'),
    ('[{"type": "average_transaction_amount", "fromAmount": 5}]'),
    ('[{"type": "transaction_amount", "fromAmount": 0, "toAmount": 1e13}]'),
    -- lists
    ('[{"type": "bought_in_pos", "posIds": []}]'), ('[{"type": "bought_in_pos", "posIds": "p"}]'),
    ('[{"type": "bought_skus", "skuIds": [""]}]'), ('[{"type": "bought_makers", "makers": [1]}]'),
    ('[{"type": "bought_labels", "labels": [{"key": "k"}]}]'),
    ('[{"type": "bought_labels", "labels": [{"key": "k", "value": "v", "x": 1}]}]'),
    ('[{"type": "customer_has_labels", "labels": [{"key": "k", "value": "v"}]}]'),
    ('[{"type": "customer_has_labels", "labels": ["k"]}]'),
    ('[{"type": "customer_with_labels_values", "labels": [{"value": "v"}]}]'),
    ('[{"type": "customer_list", "customers": ["xyz"]}]'),
    ('[{"type": "customer_list", "customers": []}]'),
    -- days
    ('[{"type": "last_purchase_n_days_before", "days": 0}]'),
    ('[{"type": "last_purchase_n_days_before", "days": -3}]'),
    ('[{"type": "anniversary", "anniversaryType": "wedding", "days": 3}]'),
    ('[{"type": "anniversary", "anniversaryType": "birthday", "days": 0}]'),
    -- dates
    ('[{"type": "purchase_period", "fromDate": "2024-02-01", "toDate": "2024-01-01"}]'),
    ('[{"type": "purchase_period", "fromDate": "2024-02-30", "toDate": "2024-03-01"}]'),
    ('[{"type": "purchase_period", "fromDate": "2024-01-01T10:00:00", "toDate": "2024-03-01"}]'),
    ('[{"type": "purchase_period", "fromDate": "yesterday", "toDate": "2024-03-01"}]'),
    ('[{"type": "purchase_period", "fromDate": "2024-01-02T00:00:00Z", "toDate": "2024-01-01"}]'),
    -- percent
    ('[{"type": "transaction_percent_in_pos", "posId": "p", "percent": 1.5}]'),
    ('[{"type": "transaction_percent_in_pos", "posId": "p", "percent": -0.1}]'),
    ('[{"type": "transaction_percent_in_pos", "percent": 0.5}]'),
    -- field criteria
    ('[{"field": "", "op": "eq", "value": "a"}]'), ('[{"field": "a", "op": "like", "value": "a"}]'),
    ('[{"field": "a", "value": "a"}]'), ('[{"field": "a", "op": "eq"}]'),
    ('[{"field": "a", "op": "eq", "value": true}]'), ('[{"field": "a", "op": "gt", "value": "5"}]'),
    ('[{"field": "a", "op": "begins", "value": 5}]'), ('[{"field": "a", "op": "in", "value": "a"}]'),
    ('[{"field": "a", "op": "in", "value": []}]'), ('[{"field": "a", "op": "nin", "value": [null]}]'),
    ('[{"field": "a", "op": "exists", "value": "a"}]'), ('[{"field": "a", "op": "regex", "value": "(a"}]'),
    ('[{"criteria": [{"field": "a", "op": "exists"}]}, {"criteria": [{"field": "a", "op": "exists"}, {"field": "b", "op": "nregex", "value": "[z-a]"}]}]'),
    ('[{"field": "a", "op": "eq", "value": "a", "type": "transaction_count"}]')
) AS v(t);

-- A full error report: message, detail and hint.
SELECT '[{"type": "transaction_count", "min": 1}]'::segext.criteria;
SELECT '[{"criteria": [{"field": "a", "op": "exists"}]}, {"criteria": [{"type": "transaction_count", "min": -1, "max": 1}]}]'::segext.criteria;
SELECT '{"criteria": []}'::segext.criteria;
SELECT '[{"field": "a", "op": "regex", "value": "(a"}]'::segext.criteria;
SELECT '[{"type": "transaction_count", "min": 1}]'::jsonb::segext.criteria;
