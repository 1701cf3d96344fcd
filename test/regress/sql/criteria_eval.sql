-- The criteria evaluator: field operators on events (criteria_match_event)
-- and customer criteria on per-customer facts (criteria_match_facts), at
-- their boundaries; AND across parts, OR within a part.
SET TIME ZONE 'UTC';

-- Field operators: each row is (op, value, event) -> matches?
SELECT op, v AS value, e AS event,
       segext.criteria_match_event(
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('field', 'f', 'op', op, 'value', v::jsonb)))::segext.criteria,
           e::jsonb) AS matches
FROM (VALUES
    ('eq', '"abc"', '{"f": "abc"}'), ('eq', '"abc"', '{"f": "ABC"}'), ('eq', '"abc"', '{}'),
    ('eq', '5', '{"f": "5.0"}'), ('eq', '5', '{"f": 5}'), ('eq', '5', '{"f": "x"}'), ('eq', '"5"', '{"f": "5.0"}'),
    ('neq', '"abc"', '{"f": "abc"}'), ('neq', '"abc"', '{"f": "abd"}'), ('neq', '"abc"', '{}'),
    ('neq', '"abc"', '{"f": null}'), ('neq', '5', '{"f": "x"}'),
    ('begins', '"ab"', '{"f": "abc"}'), ('begins', '"ab"', '{"f": "Abc"}'), ('begins', '"ab"', '{}'),
    ('nbegins', '"ab"', '{"f": "abc"}'), ('nbegins', '"ab"', '{"f": "xab"}'), ('nbegins', '"ab"', '{}'),
    ('ends', '"bc"', '{"f": "abc"}'), ('ends', '"bc"', '{"f": "c"}'), ('ends', '"bc"', '{}'),
    ('nends', '"bc"', '{"f": "abc"}'), ('nends', '"bc"', '{"f": "bcx"}'), ('nends', '"bc"', '{}'),
    ('contains', '"b"', '{"f": "abc"}'), ('contains', '"B"', '{"f": "abc"}'), ('contains', '"b"', '{}'),
    ('ncontains', '"b"', '{"f": "abc"}'), ('ncontains', '"z"', '{"f": "abc"}'), ('ncontains', '"b"', '{}'),
    ('regex', '"^a.c$"', '{"f": "abc"}'), ('regex', '"^a.c$"', '{"f": "ABC"}'), ('regex', '"\\d+"', '{"f": "x12"}'),
    ('regex', '"^a"', '{}'),
    ('nregex', '"^a.c$"', '{"f": "abc"}'), ('nregex', '"^a.c$"', '{"f": "xbc"}'), ('nregex', '"^a"', '{}'),
    ('gt', '10', '{"f": "10.5"}'), ('gt', '10', '{"f": 10}'), ('gt', '10', '{"f": "9"}'), ('gt', '10', '{"f": "1e2"}'),
    ('gt', '10', '{"f": "abc"}'), ('gt', '10', '{}'), ('gt', '-1', '{"f": "-0.5"}'),
    ('gte', '10', '{"f": "10.00"}'), ('gte', '10', '{"f": "9.999"}'), ('gte', '10', '{}'),
    ('lt', '0.1', '{"f": "0.09"}'), ('lt', '0.1', '{"f": " 0.1 "}'), ('lt', '0.1', '{"f": "-5"}'), ('lt', '0.1', '{}'),
    ('lte', '100', '{"f": "100"}'), ('lte', '100', '{"f": "100.000001"}'), ('lte', '100', '{"f": ""}'),
    ('in', '["a", "b", 3]', '{"f": "b"}'), ('in', '["a", "b", 3]', '{"f": "3.0"}'), ('in', '["a", "b", 3]', '{"f": "c"}'),
    ('in', '["a"]', '{}'),
    ('nin', '["a", "b", 3]', '{"f": "b"}'), ('nin', '["a", "b", 3]', '{"f": "c"}'), ('nin', '["a"]', '{}'),
    ('exists', NULL, '{"f": ""}'), ('exists', NULL, '{"f": null}'), ('exists', NULL, '{}'),
    ('nexists', NULL, '{"f": "x"}'), ('nexists', NULL, '{}')
) AS t(op, v, e);

-- AND across parts, OR within a part.
SELECT e AS event, segext.criteria_match_event(
    '[{"criteria": [{"field": "country", "op": "eq", "value": "PL"}, {"field": "country", "op": "eq", "value": "DE"}]},
      {"criteria": [{"field": "amount", "op": "gte", "value": 100}]}]', e::jsonb) AS matches
FROM (VALUES ('{"country": "PL", "amount": 150}'), ('{"country": "DE", "amount": "100"}'),
             ('{"country": "FR", "amount": 150}'), ('{"country": "PL", "amount": 99}'), ('{"country": "PL"}')) AS t(e);

-- A customer criterion never matches an event.
SELECT segext.criteria_match_event('[{"type": "transaction_count", "min": 0, "max": 0}]', '{}');
SELECT segext.criteria_match_event('[{"field": "a", "op": "exists"}]', '[1]');

-- Customer criteria: (criterion, facts) -> matches?  today 2024-03-10,
-- now 2024-03-10 12:00 UTC.
CREATE FUNCTION pg_temp.m(c text, f text, today date DEFAULT '2024-03-10',
                          now timestamptz DEFAULT '2024-03-10 12:00:00+00') RETURNS bool
    LANGUAGE sql AS $$ SELECT segext.criteria_match_facts(('[' || c || ']')::segext.criteria, f::jsonb, today, now) $$;

-- transaction_count: inclusive ends; 0 transactions match a range containing 0.
SELECT c, f, pg_temp.m(c, f) FROM (VALUES
    ('{"type": "transaction_count", "min": 2, "max": 4}', '{"transaction_count": 1}'),
    ('{"type": "transaction_count", "min": 2, "max": 4}', '{"transaction_count": 2}'),
    ('{"type": "transaction_count", "min": 2, "max": 4}', '{"transaction_count": 4}'),
    ('{"type": "transaction_count", "min": 2, "max": 4}', '{"transaction_count": 5}'),
    ('{"type": "transaction_count", "min": 0, "max": 0}', '{}'),
    ('{"type": "transaction_count", "min": 0, "max": 0}', '{"active": false}'),
    -- transaction_amount: exact inclusive ends, floor at 0
    ('{"type": "transaction_amount", "fromAmount": 10.01, "toAmount": 20}', '{"amount": 10.01}'),
    ('{"type": "transaction_amount", "fromAmount": 10.01, "toAmount": 20}', '{"amount": 10.00}'),
    ('{"type": "transaction_amount", "fromAmount": 10.01, "toAmount": 20}', '{"amount": 20.00}'),
    ('{"type": "transaction_amount", "fromAmount": 10.01, "toAmount": 20}', '{"amount": 20.01}'),
    ('{"type": "transaction_amount", "fromAmount": 0, "toAmount": 0}', '{"amount": -35.5}'),
    ('{"type": "transaction_amount", "fromAmount": 0, "toAmount": 0}', '{}'),
    -- average_transaction_amount: amount / count, exact; 0 when count 0
    ('{"type": "average_transaction_amount", "fromAmount": 3.33, "toAmount": 5}', '{"amount": 10, "transaction_count": 3}'),
    ('{"type": "average_transaction_amount", "fromAmount": 3.34, "toAmount": 5}', '{"amount": 10, "transaction_count": 3}'),
    ('{"type": "average_transaction_amount", "fromAmount": 1, "toAmount": 3.333333}', '{"amount": 10, "transaction_count": 3}'),
    ('{"type": "average_transaction_amount", "fromAmount": 1, "toAmount": 3.333334}', '{"amount": 10, "transaction_count": 3}'),
    ('{"type": "average_transaction_amount", "fromAmount": 0, "toAmount": 5}', '{"transaction_count": 0}'),
    ('{"type": "average_transaction_amount", "fromAmount": 0.01, "toAmount": 5}', '{"transaction_count": 0}'),
    ('{"type": "average_transaction_amount", "fromAmount": 0, "toAmount": 0}', '{"amount": -5, "transaction_count": 1}'),
    -- bought_in_pos
    ('{"type": "bought_in_pos", "posIds": ["p1", "p2"]}', '{"pos_counts": {"p2": 1}}'),
    ('{"type": "bought_in_pos", "posIds": ["p1", "p2"]}', '{"pos_counts": {"p3": 4, "p1": 0}}'),
    ('{"type": "bought_in_pos", "posIds": ["p1"]}', '{"pos_counts": {"P1": 4}}'),
    -- bought_skus / makers / labels: case-insensitive, label key and value on the same label
    ('{"type": "bought_skus", "skuIds": ["SKU-1"]}', '{"skus": ["sku-1"]}'),
    ('{"type": "bought_skus", "skuIds": ["SKU-1"]}', '{"skus": ["sku-2"]}'),
    ('{"type": "bought_makers", "makers": ["acme"]}', '{"makers": ["ACME"]}'),
    ('{"type": "bought_makers", "makers": ["acme"]}', '{}'),
    ('{"type": "bought_labels", "labels": [{"key": "color", "value": "red"}]}', '{"item_labels": [{"key": "Color", "value": "RED"}]}'),
    ('{"type": "bought_labels", "labels": [{"key": "color", "value": "red"}]}', '{"item_labels": [{"key": "color", "value": "blue"}, {"key": "size", "value": "red"}]}'),
    -- last_purchase_n_days_before: window [today 00:00 - days, now]
    ('{"type": "last_purchase_n_days_before", "days": 3}', '{"last_purchase": "2024-03-07 00:00:00+00"}'),
    ('{"type": "last_purchase_n_days_before", "days": 3}', '{"last_purchase": "2024-03-06 23:59:59.999999+00"}'),
    ('{"type": "last_purchase_n_days_before", "days": 3}', '{"last_purchase": "2024-03-10 12:00:00+00"}'),
    ('{"type": "last_purchase_n_days_before", "days": 3}', '{"last_purchase": "2024-03-10 12:00:01+00"}'),
    ('{"type": "last_purchase_n_days_before", "days": 3}', '{"purchases": ["2024-03-08 10:00:00+00", "2024-03-11 10:00:00+00"]}'),
    ('{"type": "last_purchase_n_days_before", "days": 3}', '{"purchases": ["2024-03-11 10:00:00+00"]}'),
    ('{"type": "last_purchase_n_days_before", "days": 3}', '{}'),
    -- purchase_period: inclusive ends; a date-only toDate covers its whole day
    ('{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-01-31"}', '{"purchases": ["2024-01-31 23:59:59+00"]}'),
    ('{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-01-31"}', '{"purchases": ["2024-02-01 00:00:00+00"]}'),
    ('{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-01-31"}', '{"purchases": ["2023-12-31 23:59:59.999999+00"]}'),
    ('{"type": "purchase_period", "fromDate": "2024-01-01T10:00:00Z", "toDate": "2024-01-01T11:00:00Z"}', '{"purchases": ["2024-01-01 11:00:00+00"]}'),
    ('{"type": "purchase_period", "fromDate": "2024-01-01T10:00:00Z", "toDate": "2024-01-01T11:00:00Z"}', '{"purchases": ["2024-01-01 11:00:00.000001+00"]}'),
    -- transaction_percent_in_pos: share >= percent, never with 0 transactions
    ('{"type": "transaction_percent_in_pos", "posId": "p1", "percent": 0.5}', '{"transaction_count": 4, "pos_counts": {"p1": 2}}'),
    ('{"type": "transaction_percent_in_pos", "posId": "p1", "percent": 0.5}', '{"transaction_count": 5, "pos_counts": {"p1": 2}}'),
    ('{"type": "transaction_percent_in_pos", "posId": "p1", "percent": 0}', '{"transaction_count": 0}'),
    ('{"type": "transaction_percent_in_pos", "posId": "p1", "percent": 0}', '{"transaction_count": 1}'),
    ('{"type": "transaction_percent_in_pos", "posId": "p1", "percent": 1}', '{"transaction_count": 3, "pos_counts": {"p1": 3}}'),
    -- customer labels
    ('{"type": "customer_has_labels", "labels": [{"key": "VIP"}]}', '{"labels": [{"key": "vip", "value": "x"}]}'),
    ('{"type": "customer_has_labels", "labels": [{"key": "VIP"}]}', '{"labels": [{"key": "vipx", "value": "vip"}]}'),
    ('{"type": "customer_with_labels_values", "labels": [{"key": "tier", "value": "gold"}]}', '{"labels": [{"key": "TIER", "value": "Gold"}]}'),
    ('{"type": "customer_with_labels_values", "labels": [{"key": "tier", "value": "gold"}]}', '{"labels": [{"key": "tier", "value": "silver"}, {"key": "old", "value": "gold"}]}'),
    -- customer_list
    ('{"type": "customer_list", "customers": ["507f1f77bcf86cd799439011", "507f1f77bcf86cd799439012"]}', '{"id": "507F1F77BCF86CD799439012"}'),
    ('{"type": "customer_list", "customers": ["507f1f77bcf86cd799439011"]}', '{"id": "507f1f77bcf86cd799439013"}'),
    ('{"type": "customer_list", "customers": ["507f1f77bcf86cd799439011"]}', '{"id": "507f1f77bcf86cd799439011", "active": false}'),
    -- field criteria on customer fields
    ('{"field": "city", "op": "eq", "value": "Kraków"}', '{"fields": {"city": "Kraków"}}'),
    ('{"field": "city", "op": "nexists"}', '{}')
) AS t(c, f);

-- anniversary: [today, today + days); across year end; 29 February.
SELECT c, f, today, pg_temp.m(c, f, today::date) FROM (VALUES
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 1}', '{"birth_date": "1990-03-10"}', '2024-03-10'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 1}', '{"birth_date": "1990-03-11"}', '2024-03-10'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 2}', '{"birth_date": "1990-03-11"}', '2024-03-10'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 7}', '{"birth_date": "1990-03-09"}', '2024-03-10'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 7}', '{"birth_date": "1990-01-02"}', '2024-12-28'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 5}', '{"birth_date": "1990-01-02"}', '2024-12-28'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 1}', '{"birth_date": "2000-02-29"}', '2023-02-28'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 1}', '{"birth_date": "2000-02-29"}', '2024-02-28'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 1}', '{"birth_date": "2000-02-29"}', '2024-02-29'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 1}', '{"birth_date": "2000-02-29"}', '2023-03-01'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 400}', '{"birth_date": "2000-06-01"}', '2023-03-01'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 30}', '{}', '2024-03-10'),
    ('{"type": "anniversary", "anniversaryType": "registration", "days": 3}', '{"registration_date": "2020-03-12"}', '2024-03-10'),
    ('{"type": "anniversary", "anniversaryType": "registration", "days": 3}', '{"registration_date": "2020-03-13"}', '2024-03-10'),
    ('{"type": "anniversary", "anniversaryType": "registration", "days": 3}', '{"registration_date": "2020-03-12", "active": false}', '2024-03-10')
) AS t(c, f, today);

-- AND across parts, OR within a part, for customers.
SELECT f, segext.criteria_match_facts(
    '[{"criteria": [{"type": "transaction_count", "min": 5, "max": 100}, {"type": "customer_has_labels", "labels": [{"key": "vip"}]}]},
      {"criteria": [{"type": "bought_in_pos", "posIds": ["p1"]}]}]', f::jsonb, '2024-03-10', '2024-03-10 12:00+00')
FROM (VALUES ('{"transaction_count": 5, "pos_counts": {"p1": 1}}'),
             ('{"transaction_count": 1, "labels": [{"key": "VIP", "value": ""}], "pos_counts": {"p1": 1}}'),
             ('{"transaction_count": 1, "pos_counts": {"p1": 1}}'),
             ('{"transaction_count": 9, "pos_counts": {"p2": 1}}'),
             ('{"transaction_count": 9, "pos_counts": {"p1": 1}, "active": false}')) AS t(f);

-- Bad facts documents.
SELECT segext.criteria_match_facts('[{"type": "transaction_count", "min": 0, "max": 1}]', '{"bogus": 1}');
SELECT segext.criteria_match_facts('[{"type": "transaction_count", "min": 0, "max": 1}]', '{"transaction_count": -1}');
SELECT segext.criteria_match_facts('[{"type": "transaction_count", "min": 0, "max": 1}]', '{"amount": 0.0000001}');
RESET TIME ZONE;
