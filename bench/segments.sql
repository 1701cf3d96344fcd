-- bench/segments.sql: 20 realistic segments of the bench company covering
-- every customer criterion kind (numbers 2-21).  Run after generate.sql;
-- running it again resets them.
\set ON_ERROR_STOP 1
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
('65000000000000000000b001',  2, 'occasional (1-5 purchases)', '[{"type": "transaction_count", "min": 1, "max": 5}]'),
('65000000000000000000b001',  3, 'frequent (20+ purchases)',   '[{"type": "transaction_count", "min": 20, "max": 100000}]'),
('65000000000000000000b001',  4, 'big spenders 2000-5000',     '[{"type": "transaction_amount", "fromAmount": 2000, "toAmount": 5000}]'),
('65000000000000000000b001',  5, 'average basket 180-220',     '[{"type": "average_transaction_amount", "fromAmount": 180, "toAmount": 220}]'),
('65000000000000000000b001',  6, 'bought at POS-007',          '[{"type": "bought_in_pos", "posIds": ["POS-007"]}]'),
('65000000000000000000b001',  7, 'bought SKU-00042 or 01234',  '[{"type": "bought_skus", "skuIds": ["SKU-00042", "sku-01234"]}]'),
('65000000000000000000b001',  8, 'bought Maker-017',           '[{"type": "bought_makers", "makers": ["Maker-017"]}]'),
('65000000000000000000b001',  9, 'bought something red',       '[{"type": "bought_labels", "labels": [{"key": "color", "value": "RED"}]}]'),
('65000000000000000000b001', 10, 'bought in the last 30 days', '[{"type": "last_purchase_n_days_before", "days": 30}]'),
('65000000000000000000b001', 11, 'bought in December 2025',    '[{"type": "purchase_period", "fromDate": "2025-12-01", "toDate": "2025-12-31"}]'),
('65000000000000000000b001', 12, 'POS-001 regulars (30%+)',    '[{"type": "transaction_percent_in_pos", "posId": "POS-001", "percent": 0.3}]'),
('65000000000000000000b001', 13, 'birthday this week',         '[{"type": "anniversary", "anniversaryType": "birthday", "days": 7}]'),
('65000000000000000000b001', 14, 'registered a year ago',      '[{"type": "anniversary", "anniversaryType": "registration", "days": 30}]'),
('65000000000000000000b001', 15, 'has a tier',                 '[{"type": "customer_has_labels", "labels": [{"key": "tier"}]}]'),
('65000000000000000000b001', 16, 'region north',               '[{"type": "customer_with_labels_values", "labels": [{"key": "region", "value": "north"}]}]'),
('65000000000000000000b001', 17, 'hand-picked list',           '[{"type": "customer_list", "customers": ["650000000100000000000001", "650000000100000000000064", "6500000001000000000003e8", "650000000100000000002710", "6500000001000000000186a0"]}]'),
('65000000000000000000b001', 18, 'loyal at POS-002/003',       '[{"criteria": [{"type": "transaction_count", "min": 5, "max": 100000}]}, {"criteria": [{"type": "bought_in_pos", "posIds": ["POS-002"]}, {"type": "bought_in_pos", "posIds": ["POS-003"]}]}]'),
('65000000000000000000b001', 19, 'active VIP',                 '[{"criteria": [{"type": "transaction_amount", "fromAmount": 2500, "toAmount": 1000000}]}, {"criteria": [{"type": "last_purchase_n_days_before", "days": 90}]}]'),
('65000000000000000000b001', 20, 'Maker-100 fans with source', '[{"criteria": [{"type": "bought_skus", "skuIds": ["SKU-00100"]}, {"type": "bought_makers", "makers": ["maker-100"]}]}, {"criteria": [{"type": "customer_has_labels", "labels": [{"key": "source"}]}]}]'),
('65000000000000000000b001', 21, '2024 buyers, mid basket',    '[{"criteria": [{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-12-31"}]}, {"criteria": [{"type": "average_transaction_amount", "fromAmount": 100, "toAmount": 200}]}]')
ON CONFLICT (company_id, number) DO UPDATE SET name = excluded.name, criteria = excluded.criteria, active = true;
