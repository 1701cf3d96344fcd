-- customer states: the figures a state row holds, every write path that
-- keeps them (returns that make a sale stop and start counting again, a sale
-- and its return in one statement, INSERT ... SELECT, COPY, UPDATE of many
-- rows and of the customer, DELETE of a customer with transactions,
-- TRUNCATE, rolled-back work), item labels whose key or value holds U+001F,
-- privileges and row level security, and the errors of the functions.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(37);
\ir helpers/member_mismatch.sql

SELECT segext.create_company('state a') AS a \gset
SELECT segext.create_company('state b') AS b \gset
INSERT INTO segext.customers (company_id, id, first_name) VALUES
    (:'a', '0000000000000000000000a1', 'ann'), (:'a', '0000000000000000000000a2', 'bob'),
    (:'a', '0000000000000000000000a3', 'cid'), (:'b', '0000000000000000000000b1', 'dan');

-- state(customer): the row of a customer as text (NULL when it has none).
-- (The helpers reading segext's tables are PL/pgSQL planned with the
-- arguments' values, which Citus can plan.)
CREATE FUNCTION pg_temp.state(c pg_catalog.text) RETURNS pg_catalog.text LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN (SELECT s.transactions || '/' || s.sales || '/' || s.amount
    FROM segext.customer_states AS s WHERE s.customer_id OPERATOR(pg_catalog.=) c::segext.objectid);
END $$;
-- figures(customer): its figures as jsonb.
CREATE FUNCTION pg_temp.figures(c pg_catalog.text) RETURNS pg_catalog.jsonb LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN (SELECT segext.customer_state_figures(s.figures)
    FROM segext.customer_states AS s WHERE s.customer_id OPERATOR(pg_catalog.=) c::segext.objectid);
END $$;
-- matches_rebuild(): the kept states equal a rebuild of both companies.
CREATE FUNCTION pg_temp.matches_rebuild() RETURNS pg_catalog.bool LANGUAGE plpgsql AS $$
DECLARE
    n pg_catalog.int8;
BEGIN
    CREATE TEMP TABLE kept AS SELECT * FROM segext.customer_states;
    PERFORM segext.rebuild_customer_states(c.id) FROM segext.companies AS c;
    SELECT pg_catalog.count(*) INTO n FROM (
        (SELECT * FROM kept EXCEPT ALL SELECT * FROM segext.customer_states)
        UNION ALL (SELECT * FROM segext.customer_states EXCEPT ALL SELECT * FROM kept)) AS d;
    DROP TABLE kept;
    RETURN n OPERATOR(pg_catalog.=) 0;
END
$$;

-- Sales and returns.
INSERT INTO segext.transactions (company_id, id, customer_id, occurred_at, amount, pos_id, items) VALUES
    (:'a', '0000000000000000000000d1', '0000000000000000000000a1', '2024-05-01 10:00+00', 10, 'p1',
     '[{"sku": "ABC", "maker": "Acme", "labels": [{"key": "Color", "value": "Red"}]}, {"sku": "abc"}]'),
    (:'a', '0000000000000000000000d2', '0000000000000000000000a1', '2024-05-01 10:00+00', 5.25, 'p1', '[{"sku": "x"}]');
SELECT is(pg_temp.state('0000000000000000000000a1'), '2/2/15250000', 'two sales: two transactions, two counted sales, the amount in millionths');
SELECT is(pg_temp.figures('0000000000000000000000a1'),
    '{"pos": [{"value": "p1", "sales": 2}], "skus": [{"value": "abc", "sales": 1}, {"value": "x", "sales": 1}],
      "makers": [{"value": "acme", "sales": 1}], "sale_times": [{"at": "2024-05-01 10:00:00+00", "sales": 2}],
      "item_labels": [{"key": "color", "value": "red", "sales": 1}]}'::pg_catalog.jsonb,
    'figures: equal times and POS add up, an SKU counts once per sale, values folded');
INSERT INTO segext.transactions (company_id, id, customer_id, amount, returns_id)
VALUES (:'a', '0000000000000000000000e1', '0000000000000000000000a1', -4, '0000000000000000000000d1');
SELECT is(pg_temp.state('0000000000000000000000a1'), '3/2/11250000', 'a partial return: the sale still counts, the amount drops');
INSERT INTO segext.transactions (company_id, id, customer_id, amount, returns_id)
VALUES (:'a', '0000000000000000000000e2', '0000000000000000000000a1', -6, '0000000000000000000000d1');
SELECT is(pg_temp.state('0000000000000000000000a1'), '4/1/5250000', 'the return that completes it: the sale stops counting');
SELECT is(pg_temp.figures('0000000000000000000000a1') -> 'skus', '[{"value": "x", "sales": 1}]'::pg_catalog.jsonb,
    'a fully returned sale''s items leave the figures');
DELETE FROM segext.transactions WHERE id = '0000000000000000000000e2';
SELECT is(pg_temp.state('0000000000000000000000a1'), '3/2/11250000', 'a deleted return: the sale counts again');
DELETE FROM segext.transactions WHERE returns_id IS NOT NULL;
DELETE FROM segext.transactions WHERE id = '0000000000000000000000d1';
SELECT is(pg_temp.state('0000000000000000000000a1'), '1/1/5250000', 'a deleted sale leaves the state');
DELETE FROM segext.transactions WHERE id = '0000000000000000000000d2';
SELECT is(pg_temp.state('0000000000000000000000a1'), NULL, 'a customer without transactions has no state row');

-- A sale and its full return in one statement.
INSERT INTO segext.transactions (company_id, id, customer_id, amount, returns_id) VALUES
    (:'a', '0000000000000000000000d3', '0000000000000000000000a2', 8, NULL),
    (:'a', '0000000000000000000000e3', '0000000000000000000000a2', -8, '0000000000000000000000d3');
SELECT is(pg_temp.state('0000000000000000000000a2'), '2/0/0', 'a sale returned in the same statement: no counted sale, no figures');
SELECT is((SELECT figures FROM segext.customer_states WHERE customer_id = '0000000000000000000000a2'), NULL,
    'its figures are NULL');

-- Rolled-back work leaves nothing.
SAVEPOINT s;
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (:'a', '0000000000000000000000a3', 1);
UPDATE segext.transactions SET amount = 9 WHERE id = '0000000000000000000000d3';
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.state('0000000000000000000000a3'), NULL, 'a rolled-back sale leaves no state');
SELECT is(pg_temp.state('0000000000000000000000a2'), '2/0/0', 'a rolled-back update leaves the state as it was');

-- Bulk paths: INSERT ... SELECT, COPY, UPDATE of many rows and of the customer.
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
SELECT :'a', CASE WHEN i % 3 = 0 THEN '0000000000000000000000a1' ELSE '0000000000000000000000a3' END::segext.objectid,
       '2024-01-01 00:00+00'::pg_catalog.timestamptz + pg_catalog.make_interval(hours => i), (i % 50 + 1)::pg_catalog.numeric / 4,
       'p' || (i % 4), pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('sku', 'S' || (i % 7), 'maker', 'M' || (i % 2)))
FROM pg_catalog.generate_series(1, 20000) AS i;
SELECT is(pg_temp.state('0000000000000000000000a3'), '13334/13334/' || (SELECT pg_catalog.sum(amount) * 1000000 FROM segext.transactions
    WHERE customer_id = '0000000000000000000000a3')::pg_catalog.int8, 'INSERT ... SELECT of 20,000 sales');
SELECT ok(pg_temp.matches_rebuild(), 'after INSERT ... SELECT the state equals a rebuild');

-- COPY (through a program, to name the company): 5,000 sales of bob.
SELECT pg_catalog.format($$COPY segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items) FROM PROGRAM %L$$,
    'seq 1 5000 | awk ''{printf "' || :'a' || '\t0000000000000000000000a2\t2024-02-01 00:00:%02d+00\t%d.50\tp9\t[{\"sku\": \"Copy\"}]\n", $1 % 60, $1 % 9}''') AS copy_sql \gset
:copy_sql;
SELECT is(pg_temp.state('0000000000000000000000a2'), '5002/5000/' || (SELECT pg_catalog.sum(amount) * 1000000 FROM segext.transactions
    WHERE customer_id = '0000000000000000000000a2')::pg_catalog.int8, 'COPY of 5,000 sales');
SELECT is(pg_temp.figures('0000000000000000000000a2') -> 'skus', '[{"value": "copy", "sales": 5000}]'::pg_catalog.jsonb,
    'COPY: the SKU multiset counts every sale');

UPDATE segext.transactions SET customer_id = '0000000000000000000000a2', pos_id = 'moved'
WHERE company_id = :'a' AND customer_id = '0000000000000000000000a3' AND occurred_at < '2024-02-01';
SELECT is(pg_temp.state('0000000000000000000000a3'), (SELECT pg_catalog.count(*) || '/' || pg_catalog.count(*) || '/' || (pg_catalog.sum(amount) * 1000000)::pg_catalog.int8
    FROM segext.transactions WHERE customer_id = '0000000000000000000000a3'), 'UPDATE moving many sales to another customer: the old one keeps the rest');
SELECT ok(pg_temp.matches_rebuild(), 'after COPY and UPDATE of many rows the state equals a rebuild');

-- DELETE of a customer with transactions, TRUNCATE.
DELETE FROM segext.transactions WHERE returns_id IS NOT NULL;
DELETE FROM segext.customers WHERE id = '0000000000000000000000a2';
SELECT is(pg_temp.state('0000000000000000000000a2'), NULL, 'a deleted customer''s state is gone');
SELECT ok(pg_temp.matches_rebuild(), 'after the delete of a customer with transactions the state equals a rebuild');

-- Item labels whose key or value holds U+001F stay apart.
INSERT INTO segext.transactions (company_id, customer_id, amount, items) VALUES
    (:'b', '0000000000000000000000b1', 1, '[{"sku": "s", "labels": [{"key": "A\u001fB", "value": "C"}]}]'),
    (:'b', '0000000000000000000000b1', 1, '[{"sku": "s", "labels": [{"key": "a", "value": "b\u001fc"}, {"key": "k", "value": "v"}]}]');
SELECT is(pg_temp.figures('0000000000000000000000b1') -> 'item_labels',
    '[{"key": "a", "value": "b\u001fc", "sales": 1}, {"key": "a\u001fb", "value": "c", "sales": 1}, {"key": "k", "value": "v", "sales": 1}]'::pg_catalog.jsonb,
    'item labels with U+001F in the key or the value are kept apart');
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'b', 'label k', '[{"type": "bought_labels", "labels": [{"key": "K", "value": "V"}]}]'),
    (:'b', 'label a b', '[{"type": "bought_labels", "labels": [{"key": "a", "value": "b"}]}]');
SELECT is((SELECT pg_catalog.array_agg(m.customer_id::pg_catalog.text) FROM segext.segments AS s,
           segext.segment_members(s.id) AS m WHERE s.name = 'label k'),
    ARRAY['0000000000000000000000b1'], 'segment_members (from the state): the other label of that item matches');
SELECT is((SELECT pg_catalog.count(*) FROM segext.segments AS s,
           segext.segment_members(s.id) AS m WHERE s.name = 'label a b'),
    0::pg_catalog.int8, 'segment_members (from the state): no false match across the key and the value');
SELECT ok(pg_temp.matches_rebuild(), 'with such labels the state equals a rebuild');

-- Privileges and row level security.
SELECT segext.grant_company(:'b', 'segext_reader', 'reader') \g /dev/null
SELECT segext.grant_company(:'b', 'segext_writer', 'writer') \g /dev/null
SET LOCAL ROLE segext_reader;
SELECT set_config('segext.company_id', :'b', true);
SELECT is((SELECT pg_catalog.count(*) FROM segext.customer_states), 1::pg_catalog.int8,
    'a reader sees the states of its company only');
RESET ROLE;
SET LOCAL ROLE segext_writer;
SELECT throws_ok(pg_catalog.format($$INSERT INTO segext.customer_states (company_id, customer_id) VALUES (%L, '0000000000000000000000b1')$$, :'b'),
    '42501', NULL, 'a writer cannot write states');
SELECT throws_ok($$UPDATE segext.customer_states SET sales = 0$$, '42501', NULL, 'a writer cannot change states');
SELECT throws_ok($$SELECT segext.customer_state_merge(NULL, NULL)$$, '42501', NULL, 'the merge function is not for calling');
SELECT lives_ok(pg_catalog.format($$INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (%L, '0000000000000000000000b1', 2)$$, :'b'),
    'a writer''s sale keeps the state');
SELECT throws_ok(pg_catalog.format($$SELECT segext.rebuild_customer_states(%L)$$, :'a'), '22023', NULL,
    'a writer cannot rebuild another company''s states');
SELECT is(segext.rebuild_customer_states(), 1::pg_catalog.int8, 'a writer rebuilds its own company''s states');
RESET ROLE;
SELECT is(pg_temp.state('0000000000000000000000b1'), '3/3/4000000', 'the writer''s sale is in the rebuilt state');

-- Errors.
SELECT throws_ok($$SELECT segext.segment_members('0000000000000000000000ff')$$, '22023', NULL,
    'segment_members (from the state) of an unknown segment: 22023');
SELECT throws_ok($$SELECT segext.customer_state_figures('\x02')$$, '22P03', 'invalid customer state figures',
    'figures of an unknown format version: 22P03');
SELECT throws_ok($$SELECT segext.customer_state_figures('\x01ff')$$, '22P03', 'invalid customer state figures',
    'figures that end early: 22P03');

SELECT set_config('segext.company_id', '', true);
TRUNCATE segext.transactions;
SELECT is((SELECT pg_catalog.count(*) FROM segext.customer_states), 0::pg_catalog.int8, 'TRUNCATE of the transactions empties the states');
SELECT is((SELECT pg_catalog.count(*) FROM segext.segments AS s WHERE pg_temp.members_differ(s)),
          0::pg_catalog.int8, 'TRUNCATE of the transactions: every company''s members follow (buyers leave)');

SELECT * FROM finish();
ROLLBACK;
