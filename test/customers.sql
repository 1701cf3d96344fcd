-- customers and transactions: labels and items validation, derived item
-- arrays, the rules of returns and the returned amount of sales.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(31);

INSERT INTO segext.companies (id, name) VALUES
    ('00000000000000000000c001', 'cust A'), ('00000000000000000000c002', 'cust B');
INSERT INTO segext.customers (company_id, id, external_id, first_name, labels) VALUES
    ('00000000000000000000c001', '0000000000000000000000a1', 'ext-1', 'Ann', '[{"key": "VIP", "value": "Gold"}]'),
    ('00000000000000000000c001', '0000000000000000000000a2', 'ext-2', 'Bob', '[]'),
    ('00000000000000000000c002', '0000000000000000000000b1', 'ext-1', 'Cid', '[]');

SELECT has_table('segext', 'customers', 'customers table exists');
SELECT has_table('segext', 'transactions', 'transactions table exists');
SELECT col_is_pk('segext', 'customers', ARRAY['company_id', 'id'], 'customers key leads with company_id');
SELECT col_is_pk('segext', 'transactions', ARRAY['company_id', 'id'], 'transactions key leads with company_id');
SELECT throws_ok($$INSERT INTO segext.customers (company_id, external_id) VALUES ('00000000000000000000c001', 'ext-1')$$,
    '23505', NULL, 'external_id is unique per company');
SELECT throws_ok($$INSERT INTO segext.customers (company_id, labels) VALUES ('00000000000000000000c001', '[{"key": "a"}]')$$,
    '22023', 'invalid label 1 of customer', 'a label needs a value');
SELECT throws_ok($$INSERT INTO segext.customers (company_id, labels) VALUES ('00000000000000000000c001', '{"key": "a"}')$$,
    '22023', 'invalid labels of customer', 'labels must be an array');
SELECT throws_ok($$INSERT INTO segext.customers (company_id, labels) VALUES ('00000000000000000000c001', '[{"key": "a", "value": "b", "x": 1}]')$$,
    '22023', 'invalid label 1 of customer', 'a label has no other keys');
SELECT throws_ok($$INSERT INTO segext.customers (company_id, attributes) VALUES ('00000000000000000000c001', '[1]')$$,
    '23514', NULL, 'attributes must be an object');
SELECT lives_ok($$UPDATE segext.customers SET first_name = 'Anne' WHERE id = '0000000000000000000000a1'$$, 'customer update');

-- Items.
INSERT INTO segext.transactions (company_id, id, customer_id, amount, pos_id, items) VALUES
    ('00000000000000000000c001', '0000000000000000000000f1', '0000000000000000000000a1', 100, 'POS-1',
     '[{"sku": "SKU-1", "maker": "Acme", "labels": [{"key": "Color", "value": "Red"}], "quantity": 1, "amount": 60},
       {"sku": "sku-1", "maker": "ACME", "quantity": 2, "amount": 40}, {"sku": "B", "maker": null}]');
SELECT is((SELECT item_skus FROM segext.transactions WHERE id = '0000000000000000000000f1'), ARRAY['b', 'sku-1'],
    'SKUs are lower-cased and distinct');
SELECT is((SELECT item_makers FROM segext.transactions WHERE id = '0000000000000000000000f1'), ARRAY['acme'],
    'makers are lower-cased and distinct');
SELECT is((SELECT item_labels FROM segext.transactions WHERE id = '0000000000000000000000f1'), ARRAY['color' || chr(31) || 'red'],
    'item labels are lower-cased key U+001F value');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, items) VALUES ('00000000000000000000c001', '0000000000000000000000a1', 5, '[{"maker": "x"}]')$$,
    '22023', 'invalid item 1 of transaction', 'an item needs an SKU');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, items) VALUES ('00000000000000000000c001', '0000000000000000000000a1', 5, '[{"sku": "x", "quantity": "2"}]')$$,
    '22023', 'invalid item 1 of transaction', 'quantity is a number');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, items) VALUES ('00000000000000000000c001', '0000000000000000000000a1', 5, '[{"sku": "x", "labels": [{"key": "k"}]}]')$$,
    '22023', 'invalid label 1 of item 1', 'item labels need key and value');
UPDATE segext.transactions SET item_skus = '{forged}' WHERE id = '0000000000000000000000f1';
SELECT is((SELECT item_skus FROM segext.transactions WHERE id = '0000000000000000000000f1'), ARRAY['b', 'sku-1'],
    'derived arrays cannot be forged');

-- Sales and returns.
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES ('00000000000000000000c001', '0000000000000000000000a1', 0)$$,
    '23514', 'sale amount must be greater than zero', 'a sale has a positive amount');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES ('00000000000000000000c001', '0000000000000000000000a1', 10, '0000000000000000000000f1')$$,
    '23514', 'return amount must be less than zero', 'a return has a negative amount');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES ('00000000000000000000c001', '0000000000000000000000a2', -10, '0000000000000000000000f1')$$,
    '23503', 'return refers to sale "0000000000000000000000f1" of another customer', 'a return refers to a sale of the same customer');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES ('00000000000000000000c001', '0000000000000000000000a1', -10, '0000000000000000000000ff')$$,
    '23503', 'return refers to sale "0000000000000000000000ff", which does not exist', 'a return refers to an existing sale');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES ('00000000000000000000c002', '0000000000000000000000b1', -10, '0000000000000000000000f1')$$,
    '23503', NULL, 'a return cannot refer to a sale of another company');
INSERT INTO segext.transactions (company_id, id, customer_id, amount, returns_id) VALUES
    ('00000000000000000000c001', '0000000000000000000000f2', '0000000000000000000000a1', -40, '0000000000000000000000f1');
SELECT is((SELECT returned_amount FROM segext.transactions WHERE id = '0000000000000000000000f1'), 40.00::numeric,
    'a return adds to the returned amount of its sale');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES ('00000000000000000000c001', '0000000000000000000000a1', -10, '0000000000000000000000f2')$$,
    '23514', 'return refers to transaction "0000000000000000000000f2", which is a return', 'a return cannot refer to a return');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES ('00000000000000000000c001', '0000000000000000000000a1', -60.01, '0000000000000000000000f1')$$,
    '23514', 'return of 60.01 exceeds what is left of sale "0000000000000000000000f1"', 'cannot return more than remains');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) SELECT '00000000000000000000c001', '0000000000000000000000a1', -35, '0000000000000000000000f1' FROM generate_series(1, 2)$$,
    '23514', NULL, 'two returns in one statement cannot exceed the sale together');
SELECT throws_ok($$INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES ('00000000000000000000c002', '0000000000000000000000a1', 10)$$,
    '23503', NULL, 'a transaction belongs to a customer of the same company');
UPDATE segext.transactions SET returned_amount = 0 WHERE id = '0000000000000000000000f1';
SELECT is((SELECT returned_amount FROM segext.transactions WHERE id = '0000000000000000000000f1'), 40.00::numeric,
    'returned_amount cannot be set by users');
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES
    ('00000000000000000000c001', '0000000000000000000000a1', -60, '0000000000000000000000f1');
SELECT ok((SELECT returned_amount = amount FROM segext.transactions WHERE id = '0000000000000000000000f1'),
    'a sale can be fully returned');
SELECT throws_ok($$UPDATE segext.transactions SET amount = 50 WHERE id = '0000000000000000000000f1'$$,
    '23514', 'sale amount 50 is less than its returned amount 100', 'a sale cannot shrink below its returns');
DELETE FROM segext.transactions WHERE id = '0000000000000000000000f2';
SELECT is((SELECT returned_amount FROM segext.transactions WHERE id = '0000000000000000000000f1'), 60.00::numeric,
    'deleting a return takes it off its sale');

SELECT * FROM finish();
ROLLBACK;
