-- membership of transaction criteria at their boundaries, evaluated now
-- (segment_members) and materialized (refresh_company): both must agree
-- with the expected members.  Counting rules: returns subtract, a fully
-- returned sale no longer counts, amount floored at 0, customers with 0
-- transactions have count and amount 0, inactive customers match nothing.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SET LOCAL TimeZone = 'UTC';
SELECT plan(39);

SELECT segext.create_company('membership transactions') AS c \gset
\ir helpers/member_names.sql

-- Customers:
--   zero:     no transactions
--   one:      one sale of 10 at POS A, today 00:00 - 7 days exactly
--   two:      sales of 10 and 20 at A and B
--   returned: a sale of 50 yesterday fully returned, one of 5 at B in 2023
--   partial:  a sale of 40 eight days ago with 15 returned (count 1, amount 25) at A
--   sleeper:  inactive, two sales at A
--   future:   one sale at A dated tomorrow
INSERT INTO segext.customers (company_id, id, first_name, active) VALUES
    (:'c', '0000000000000000000000c1', 'zero', true),
    (:'c', '0000000000000000000000c2', 'one', true),
    (:'c', '0000000000000000000000c3', 'two', true),
    (:'c', '0000000000000000000000c4', 'returned', true),
    (:'c', '0000000000000000000000c5', 'partial', true),
    (:'c', '0000000000000000000000c6', 'sleeper', false),
    (:'c', '0000000000000000000000c7', 'future', true);
INSERT INTO segext.transactions (company_id, id, customer_id, occurred_at, amount, pos_id) VALUES
    (:'c', '0000000000000000000000d1', '0000000000000000000000c2', current_date - 7, 10, 'A'),
    (:'c', '0000000000000000000000d2', '0000000000000000000000c3', '2024-01-01 00:00:00+00', 10, 'A'),
    (:'c', '0000000000000000000000d3', '0000000000000000000000c3', '2024-01-31 23:59:59.999999+00', 20, 'B'),
    (:'c', '0000000000000000000000d4', '0000000000000000000000c4', current_date - 1, 50, 'A'),
    (:'c', '0000000000000000000000d5', '0000000000000000000000c4', '2023-06-01', 5, 'B'),
    (:'c', '0000000000000000000000d6', '0000000000000000000000c5', current_date - 8, 40, 'A'),
    (:'c', '0000000000000000000000d7', '0000000000000000000000c6', current_date, 10, 'A'),
    (:'c', '0000000000000000000000d8', '0000000000000000000000c6', current_date, 10, 'A'),
    (:'c', '0000000000000000000000d9', '0000000000000000000000c7', current_date + 1, 10, 'A');
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, returns_id) VALUES
    (:'c', '0000000000000000000000c4', current_date, -50, 'A', '0000000000000000000000d4'),
    (:'c', '0000000000000000000000c5', current_date, -15, 'A', '0000000000000000000000d6');

INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'count 0-0',   '[{"type": "transaction_count", "min": 0, "max": 0}]'),
    (:'c', 'count 1-1',   '[{"type": "transaction_count", "min": 1, "max": 1}]'),
    (:'c', 'count 2-5',   '[{"type": "transaction_count", "min": 2, "max": 5}]'),
    (:'c', 'amount 0-0',  '[{"type": "transaction_amount", "fromAmount": 0, "toAmount": 0}]'),
    (:'c', 'amount 5-25', '[{"type": "transaction_amount", "fromAmount": 5, "toAmount": 25}]'),
    (:'c', 'amount 30-30','[{"type": "transaction_amount", "fromAmount": 30, "toAmount": 30}]'),
    (:'c', 'avg 15-25',   '[{"type": "average_transaction_amount", "fromAmount": 15, "toAmount": 25}]'),
    (:'c', 'avg 0-0',     '[{"type": "average_transaction_amount", "fromAmount": 0, "toAmount": 0}]'),
    (:'c', 'pos B',       '[{"type": "bought_in_pos", "posIds": ["B"]}]'),
    (:'c', 'percent A 1', '[{"type": "transaction_percent_in_pos", "posId": "A", "percent": 1}]'),
    (:'c', 'percent A .5','[{"type": "transaction_percent_in_pos", "posId": "A", "percent": 0.5}]'),
    (:'c', 'last 7 days', '[{"type": "last_purchase_n_days_before", "days": 7}]'),
    (:'c', 'last 6 days', '[{"type": "last_purchase_n_days_before", "days": 6}]'),
    (:'c', 'january 2024','[{"type": "purchase_period", "fromDate": "2024-01-01T00:00:00Z", "toDate": "2024-01-31T23:59:59.999999Z"}]'),
    (:'c', 'after jan 1', '[{"type": "purchase_period", "fromDate": "2024-01-01T00:00:00.000001Z", "toDate": "2024-01-31T23:59:59.999998Z"}]'),
    (:'c', 'and parts',   '[{"criteria": [{"type": "transaction_count", "min": 1, "max": 1}]}, {"criteria": [{"type": "bought_in_pos", "posIds": ["A"]}]}]'),
    (:'c', 'or part',     '[{"criteria": [{"type": "bought_in_pos", "posIds": ["B"]}, {"type": "transaction_count", "min": 0, "max": 0}]}]'),
    (:'c', 'A and recent','[{"criteria": [{"type": "bought_in_pos", "posIds": ["A"]}]}, {"criteria": [{"type": "last_purchase_n_days_before", "days": 7}, {"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-01-31"}]}]'),
    (:'c', 'listed at B', '[{"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000c3", "0000000000000000000000c5", "0000000000000000000000c6"]}]}, {"criteria": [{"type": "bought_in_pos", "posIds": ["B"]}]}]');

SELECT is(segext.refresh_company(:'c'), 0::bigint, 'the writes stored the members: refresh_company changes nothing');

SELECT is(pg_temp.now_members('count 0-0'), ARRAY['zero'], 'count 0-0: only the customer without transactions');
SELECT is(pg_temp.now_members('count 1-1'), ARRAY['future', 'one', 'partial', 'returned'], 'count 1-1: a partly returned sale counts, a fully returned one does not, a future one does');
SELECT is(pg_temp.now_members('count 2-5'), ARRAY['two'], 'count 2-5: inclusive lower end, inactive excluded');
SELECT is(pg_temp.now_members('amount 0-0'), ARRAY['zero'], 'amount 0-0: customers without transactions');
SELECT is(pg_temp.now_members('amount 5-25'), ARRAY['future', 'one', 'partial', 'returned'], 'amount 5-25: returns subtract, both ends inclusive');
SELECT is(pg_temp.now_members('amount 30-30'), ARRAY['two'], 'amount 30-30: exact amount');
SELECT is(pg_temp.now_members('avg 15-25'), ARRAY['partial', 'two'], 'average 15-25: amount / counted sales');
SELECT is(pg_temp.now_members('avg 0-0'), ARRAY['zero'], 'average 0 with 0 transactions');
SELECT is(pg_temp.now_members('pos B'), ARRAY['returned', 'two'], 'bought in POS B');
SELECT is(pg_temp.now_members('percent A 1'), ARRAY['future', 'one', 'partial'], 'percent in POS A = 1 (fully returned sale ignored, never with 0 transactions)');
SELECT is(pg_temp.now_members('percent A .5'), ARRAY['future', 'one', 'partial', 'two'], 'percent in POS A >= 0.5 (inclusive)');
SELECT is(pg_temp.now_members('last 7 days'), ARRAY['one'], 'last purchase within 7 days: today 00:00 - 7 days inclusive; a future sale, a refunded sale yesterday and a sale 8 days ago do not count');
SELECT is(pg_temp.now_members('last 6 days'), '{}'::text[], 'last purchase within 6 days excludes a sale at today 00:00 - 7 days');
SELECT is(pg_temp.now_members('january 2024'), ARRAY['two'], 'purchase period: both ends inclusive');
SELECT is(pg_temp.now_members('after jan 1'), '{}'::text[], 'purchase period: a microsecond inside each end excludes both sales');
SELECT is(pg_temp.now_members('and parts'), ARRAY['future', 'one', 'partial'], 'parts are ANDed');
SELECT is(pg_temp.now_members('or part'), ARRAY['returned', 'two', 'zero'], 'criteria of a part are ORed');
SELECT is(pg_temp.now_members('A and recent'), ARRAY['one', 'two'], 'parts of sale criteria: a sale matching each part (not the future or returned one)');
SELECT is(pg_temp.now_members('listed at B'), ARRAY['two'], 'a customer list part ANDed with a sale part');

SELECT array_agg(name ORDER BY number) AS names FROM segext.segments WHERE company_id = :'c' AND number > 1 \gset
SELECT is(pg_temp.stored_members(name), pg_temp.now_members(name), 'refresh agrees with segment_members: ' || name)
FROM unnest(:'names'::text[]) WITH ORDINALITY AS s (name, number) ORDER BY number;

SELECT * FROM finish();
ROLLBACK;
