-- membership of item and label criteria: SKUs, makers and item labels
-- (case-insensitive, key and value on the same label, refunded sales are not
-- purchases), customer labels, customer lists and inactive customers;
-- evaluated now and materialized, which must agree.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(21);

SELECT segext.create_company('membership items') AS c \gset
\ir helpers/member_names.sql

INSERT INTO segext.customers (company_id, id, first_name, active, labels) VALUES
    (:'c', '0000000000000000000000c1', 'ann', true, '[{"key": "Tier", "value": "Gold"}]'),
    (:'c', '0000000000000000000000c2', 'bob', true, '[{"key": "tier", "value": "silver"}, {"key": "region", "value": "GOLD"}]'),
    (:'c', '0000000000000000000000c3', 'cid', true, '[]'),
    (:'c', '0000000000000000000000c4', 'dan', false, '[{"key": "tier", "value": "gold"}]'),
    (:'c', '0000000000000000000000c5', 'eve', true, '[]');
INSERT INTO segext.transactions (company_id, id, customer_id, amount, items) VALUES
    (:'c', '0000000000000000000000d1', '0000000000000000000000c1', 10,
     '[{"sku": "ABC-1", "maker": "Acme", "labels": [{"key": "Color", "value": "Red"}]}]'),
    (:'c', '0000000000000000000000d2', '0000000000000000000000c2', 10,
     '[{"sku": "xyz", "maker": "Other", "labels": [{"key": "color", "value": "blue"}, {"key": "size", "value": "red"}]}]'),
    (:'c', '0000000000000000000000d3', '0000000000000000000000c3', 10,
     '[{"sku": "abc-1", "maker": "ACME", "labels": [{"key": "COLOR", "value": "RED"}]}]'),
    (:'c', '0000000000000000000000d4', '0000000000000000000000c4', 10, '[{"sku": "abc-1", "maker": "acme"}]'),
    (:'c', '0000000000000000000000d5', '0000000000000000000000c5', 10, '[{"sku": "abc-1", "maker": "acme"}]');
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES
    (:'c', '0000000000000000000000c3', -10, '0000000000000000000000d3'),
    (:'c', '0000000000000000000000c5', -4, '0000000000000000000000d5');

INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'sku', '[{"type": "bought_skus", "skuIds": ["Abc-1", "nothing"]}]'),
    (:'c', 'maker', '[{"type": "bought_makers", "makers": ["aCmE"]}]'),
    (:'c', 'item label', '[{"type": "bought_labels", "labels": [{"key": "color", "value": "red"}]}]'),
    (:'c', 'label key', '[{"type": "customer_has_labels", "labels": [{"key": "TIER"}]}]'),
    (:'c', 'label value', '[{"type": "customer_with_labels_values", "labels": [{"key": "tier", "value": "GOLD"}]}]'),
    (:'c', 'list', '[{"type": "customer_list", "customers": ["0000000000000000000000c2", "0000000000000000000000c4"]}]'),
    (:'c', 'region gold', '[{"type": "customer_with_labels_values", "labels": [{"key": "region", "value": "gold"}]}]'),
    (:'c', 'sku and label', '[{"criteria": [{"type": "bought_skus", "skuIds": ["abc-1"]}]}, {"criteria": [{"type": "customer_has_labels", "labels": [{"key": "tier"}]}]}]'),
    (:'c', 'field', '[{"field": "first_name", "op": "begins", "value": "e"}]');

SELECT is(segext.refresh_company(:'c'), 0::bigint, 'the writes stored the members: refresh_company changes nothing');
SELECT is(pg_temp.now_members('sku'), ARRAY['ann', 'eve'], 'bought_skus: case-insensitive; a refunded sale is no purchase; a partly returned one is; inactive excluded');
SELECT is(pg_temp.now_members('maker'), ARRAY['ann', 'eve'], 'bought_makers: case-insensitive');
SELECT is(pg_temp.now_members('item label'), ARRAY['ann'], 'bought_labels: key and value on the same label (color=blue + size=red does not match)');
SELECT is(pg_temp.now_members('label key'), ARRAY['ann', 'bob'], 'customer_has_labels: key case-insensitive, inactive excluded');
SELECT is(pg_temp.now_members('label value'), ARRAY['ann'], 'customer_with_labels_values: key and value on the same label');
SELECT is(pg_temp.now_members('region gold'), ARRAY['bob'], 'customer_with_labels_values: value case-insensitive');
SELECT is(pg_temp.now_members('list'), ARRAY['bob'], 'customer_list: listed and active');
SELECT is(pg_temp.now_members('sku and label'), ARRAY['ann'], 'bought_skus AND customer_has_labels');
SELECT is(pg_temp.now_members('field'), ARRAY['eve'], 'field criterion on a customer column');
SELECT is(pg_temp.now_members('All'), ARRAY['ann', 'bob', 'cid', 'eve'], 'segment 0: every active customer');
SELECT is(pg_temp.now_members('Default'), ARRAY['cid'], 'segment 1: active customers in no other active segment');

SELECT array_agg(name ORDER BY number) AS names FROM segext.segments WHERE company_id = :'c' AND number > 1 \gset
SELECT is(pg_temp.stored_members(name), pg_temp.now_members(name), 'refresh agrees with segment_members: ' || name)
FROM unnest(:'names'::text[]) WITH ORDINALITY AS s (name, number) ORDER BY number;

SELECT * FROM finish();
ROLLBACK;
