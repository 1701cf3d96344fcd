-- bench/segments_more.sql: 30 more segments of the bench company (numbers
-- 22-51), so that with bench/segments.sql 50 segments are active, using
-- every criterion kind again with other values, field criteria on the
-- customer row and its attributes, and groups that combine kinds.  Run after
-- segments.sql; running it again resets them.
\set ON_ERROR_STOP 1
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
('65000000000000000000b001', 22, 'one purchase',               '[{"type": "transaction_count", "min": 1, "max": 1}]'),
('65000000000000000000b001', 23, 'never bought',               '[{"type": "transaction_count", "min": 0, "max": 0}]'),
('65000000000000000000b001', 24, '10-19 purchases',            '[{"type": "transaction_count", "min": 10, "max": 19}]'),
('65000000000000000000b001', 25, 'spent under 100',            '[{"type": "transaction_amount", "fromAmount": 0.01, "toAmount": 100}]'),
('65000000000000000000b001', 26, 'spent 5000+',                '[{"type": "transaction_amount", "fromAmount": 5000, "toAmount": 10000000}]'),
('65000000000000000000b001', 27, 'small basket under 100',     '[{"type": "average_transaction_amount", "fromAmount": 0, "toAmount": 100}]'),
('65000000000000000000b001', 28, 'large basket 250+',          '[{"type": "average_transaction_amount", "fromAmount": 250, "toAmount": 100000}]'),
('65000000000000000000b001', 29, 'bought at POS-010/020/030',  '[{"type": "bought_in_pos", "posIds": ["POS-010", "POS-020", "POS-030"]}]'),
('65000000000000000000b001', 30, 'bought at POS-050',          '[{"type": "bought_in_pos", "posIds": ["pos-050"]}]'),
('65000000000000000000b001', 31, 'bought SKU-00007',           '[{"type": "bought_skus", "skuIds": ["SKU-00007"]}]'),
('65000000000000000000b001', 32, 'bought one of 5 SKUs',       '[{"type": "bought_skus", "skuIds": ["SKU-00500", "SKU-01500", "SKU-02500", "SKU-03500", "SKU-04500"]}]'),
('65000000000000000000b001', 33, 'bought Maker-001 or 002',    '[{"type": "bought_makers", "makers": ["Maker-001", "MAKER-002"]}]'),
('65000000000000000000b001', 34, 'bought something blue',      '[{"type": "bought_labels", "labels": [{"key": "color", "value": "blue"}]}]'),
('65000000000000000000b001', 35, 'bought black or white',      '[{"type": "bought_labels", "labels": [{"key": "Color", "value": "Black"}, {"key": "color", "value": "white"}]}]'),
('65000000000000000000b001', 36, 'bought in the last 7 days',  '[{"type": "last_purchase_n_days_before", "days": 7}]'),
('65000000000000000000b001', 37, 'bought in the last year',    '[{"type": "last_purchase_n_days_before", "days": 365}]'),
('65000000000000000000b001', 38, 'bought in summer 2025',      '[{"type": "purchase_period", "fromDate": "2025-06-01", "toDate": "2025-08-31"}]'),
('65000000000000000000b001', 39, 'bought in January 2026',     '[{"type": "purchase_period", "fromDate": "2026-01-01", "toDate": "2026-01-31"}]'),
('65000000000000000000b001', 40, 'POS-005 regulars (50%+)',    '[{"type": "transaction_percent_in_pos", "posId": "POS-005", "percent": 0.5}]'),
('65000000000000000000b001', 41, 'birthday within 30 days',    '[{"type": "anniversary", "anniversaryType": "birthday", "days": 30}]'),
('65000000000000000000b001', 42, 'registered this week',       '[{"type": "anniversary", "anniversaryType": "registration", "days": 7}]'),
('65000000000000000000b001', 43, 'has a region',               '[{"type": "customer_has_labels", "labels": [{"key": "region"}]}]'),
('65000000000000000000b001', 44, 'tier gold',                  '[{"type": "customer_with_labels_values", "labels": [{"key": "tier", "value": "gold"}]}]'),
('65000000000000000000b001', 45, 'second list',                '[{"type": "customer_list", "customers": ["650000000100000000000002", "650000000100000000000003", "650000000100000000000004", "650000000100000000000005"]}]'),
('65000000000000000000b001', 46, 'named Anna or Emma',         '[{"field": "first_name", "op": "in", "value": ["Anna", "Emma"]}]'),
('65000000000000000000b001', 47, 'score 90+',                  '[{"field": "score", "op": "gte", "value": 90}]'),
('65000000000000000000b001', 48, 'frequent and recent',        '[{"criteria": [{"type": "transaction_count", "min": 15, "max": 100000}]}, {"criteria": [{"type": "last_purchase_n_days_before", "days": 60}]}]'),
('65000000000000000000b001', 49, 'red or Maker-050, big',      '[{"criteria": [{"type": "bought_labels", "labels": [{"key": "color", "value": "red"}]}, {"type": "bought_makers", "makers": ["Maker-050"]}]}, {"criteria": [{"type": "transaction_amount", "fromAmount": 1500, "toAmount": 1000000}]}]'),
('65000000000000000000b001', 50, 'north, POS-004',             '[{"criteria": [{"type": "customer_with_labels_values", "labels": [{"key": "region", "value": "north"}]}]}, {"criteria": [{"type": "bought_in_pos", "posIds": ["POS-004"]}]}]'),
('65000000000000000000b001', 51, '2024 buyers who still count', '[{"criteria": [{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-12-31"}]}, {"criteria": [{"type": "transaction_count", "min": 1, "max": 100000}]}]')
ON CONFLICT (company_id, number) DO UPDATE SET name = excluded.name, criteria = excluded.criteria, active = true;
