-- customer states and members: the write paths of the maintenance itself.  A statement
-- that touches one customer with a state row (an update in place) or
-- without one (an insert), with and without figures; a bulk statement that
-- touches one customer many times; statements whose changes cross the
-- memory threshold (segext.test_state_flush_kb, a setting for tests only),
-- so that the changes of most customers are spilled to files per class of
-- customers and folded class by class, and, when a class alone exceeds it,
-- written in several batches; COPY; and the merge of figures, in order and
-- out of order.  After each, the state equals a rebuild and the stored
-- members of every segment (kept by the same statements) equal
-- segment_members, with exact counts.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(18);
\ir helpers/member_mismatch.sql

SELECT segext.create_company('paths a') AS a \gset
SELECT segext.create_company('paths b') AS b \gset
INSERT INTO segext.customers (company_id, id, first_name)
SELECT :'a', pg_catalog.lpad(pg_catalog.to_hex(i), 24, '0')::segext.objectid, 'c' || i
FROM pg_catalog.generate_series(1, 300) AS i;
INSERT INTO segext.customers (company_id, id, first_name) VALUES (:'b', '0000000000000000000000b1', 'bee');
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'one sale', '[{"type": "transaction_count", "min": 1, "max": 1}]'),
    (:'a', 'many sales', '[{"type": "transaction_count", "min": 20, "max": 100000}]'),
    (:'a', 'spent', '[{"type": "transaction_amount", "fromAmount": 50, "toAmount": 1000000}]'),
    (:'a', 'sku s3', '[{"type": "bought_skus", "skuIds": ["s3"]}]'),
    (:'a', 'pos q', '[{"type": "bought_in_pos", "posIds": ["q"]}]'),
    (:'a', 'label', '[{"type": "bought_labels", "labels": [{"key": "k1", "value": "v2"}]}]');

-- state(customer): the row of a customer as text (NULL when it has none).
-- (PL/pgSQL planned with the argument's value, which Citus can plan.)
CREATE FUNCTION pg_temp.state(c pg_catalog.int4) RETURNS pg_catalog.text LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN (SELECT s.transactions || '/' || s.sales || '/' || s.amount
    FROM segext.customer_states AS s WHERE s.customer_id OPERATOR(pg_catalog.=) pg_catalog.lpad(pg_catalog.to_hex(c), 24, '0')::segext.objectid);
END $$;
-- matches_rebuild(): the kept states equal a rebuild of both companies, and
-- the stored members and counts of every segment are true.
CREATE FUNCTION pg_temp.matches_rebuild() RETURNS pg_catalog.bool LANGUAGE plpgsql AS $$
DECLARE
    n pg_catalog.int8;
    s segext.segments;
BEGIN
    CREATE TEMP TABLE kept AS SELECT * FROM segext.customer_states;
    PERFORM segext.rebuild_customer_states(c.id) FROM segext.companies AS c;
    SELECT pg_catalog.count(*) INTO n FROM (
        (SELECT * FROM kept EXCEPT ALL SELECT * FROM segext.customer_states)
        UNION ALL (SELECT * FROM segext.customer_states EXCEPT ALL SELECT * FROM kept)) AS d;
    DROP TABLE kept;
    IF n OPERATOR(pg_catalog.<>) 0 THEN
        RETURN false;
    END IF;
    -- the stored members of every segment equal an evaluation, counts equal
    -- rows (each segment checked here, not where Citus keeps its row)
    FOR s IN SELECT * FROM segext.segments LOOP
        IF pg_temp.members_differ(s) OR pg_temp.count_differs(s) THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;
-- sales(first, last, per_customer): INSERT ... SELECT of sales for customers first..last.
CREATE FUNCTION pg_temp.sales(first pg_catalog.int4, last pg_catalog.int4, per_customer pg_catalog.int4) RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
    SELECT (SELECT id FROM segext.companies WHERE name OPERATOR(pg_catalog.=) 'paths a'),
           pg_catalog.lpad(pg_catalog.to_hex(c), 24, '0')::segext.objectid,
           '2024-03-01 00:00+00'::pg_catalog.timestamptz OPERATOR(pg_catalog.+) pg_catalog.make_interval(mins => c * 7 + j),
           ((c * j) % 40 + 1)::pg_catalog.numeric / 4, 'p' || (j % 5),
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('sku', 'S' || ((c + j) % 11), 'maker', 'M' || (j % 3),
               'labels', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('key', 'k' || (j % 2), 'value', 'v' || (c % 3)))),
               pg_catalog.jsonb_build_object('sku', 'T' || (c % 13)))
    FROM pg_catalog.generate_series(first, last) AS c, pg_catalog.generate_series(1, per_customer) AS j;
END $$;

-- One customer per statement: insert of its row, then updates in place.
INSERT INTO segext.transactions (company_id, id, customer_id, occurred_at, amount, pos_id, items)
VALUES (:'a', '0000000000000000000000d1', '000000000000000000000001', '2024-05-01 10:00+00', 10, 'p1', '[{"sku": "A"}]');
SELECT is(pg_temp.state(1), '1/1/10000000', 'a first sale of a customer inserts its state row');
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
VALUES (:'a', '000000000000000000000001', '2024-05-02 10:00+00', 2, 'p2', '[{"sku": "B"}, {"sku": "A"}]');
SELECT is(pg_temp.state(1), '2/2/12000000', 'a second sale updates the row in place');
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
VALUES (:'a', '000000000000000000000001', -10, '0000000000000000000000d1');
SELECT is(segext.customer_state_figures((SELECT figures FROM segext.customer_states
    WHERE customer_id OPERATOR(pg_catalog.=) '000000000000000000000001')) -> 'skus',
    '[{"value": "a", "sales": 1}, {"value": "b", "sales": 1}]'::pg_catalog.jsonb,
    'a full return (a statement of one customer whose sale stops counting) takes its figures off in place');
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
SELECT :'a', '000000000000000000000001', -1, id FROM segext.transactions
WHERE customer_id OPERATOR(pg_catalog.=) '000000000000000000000001' AND amount OPERATOR(pg_catalog.=) 2;
SELECT is(pg_temp.state(1), '4/1/1000000', 'a partial return (no figures change) updates counts and amount in place');
SELECT ok(pg_temp.matches_rebuild(), 'after single-customer statements the state equals a rebuild');

-- One customer many times in one statement.
SELECT pg_temp.sales(2, 2, 3000);
SELECT is(pg_temp.state(2), '3000/3000/' || (SELECT (pg_catalog.sum(amount) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8
    FROM segext.transactions WHERE customer_id OPERATOR(pg_catalog.=) '000000000000000000000002'),
    'a statement of 3,000 sales of one customer');
SELECT ok(pg_temp.matches_rebuild(), 'after it the state equals a rebuild');

-- Changes crossing the threshold: classes of customers spilled to files.
SET LOCAL segext.test_state_flush_kb = 64;
SELECT pg_temp.sales(3, 300, 20);
SELECT pg_catalog.count(*) AS states FROM segext.customer_states WHERE company_id OPERATOR(pg_catalog.=) :'a' \gset
SELECT is(:states::pg_catalog.int8, 300::pg_catalog.int8,
    'a statement larger than the threshold: every customer has its row');
SELECT ok(pg_temp.matches_rebuild(), 'after a statement spilled by class the state equals a rebuild');
UPDATE segext.transactions SET amount = amount OPERATOR(pg_catalog.+) 1, pos_id = 'q'
WHERE company_id OPERATOR(pg_catalog.=) :'a' AND returns_id IS NULL;
SELECT ok(pg_temp.matches_rebuild(), 'after an UPDATE of every sale, spilled by class, the state equals a rebuild');

-- The smallest threshold: as many classes as there can be, and classes
-- whose changes alone exceed it are written in several batches.
SET LOCAL segext.test_state_flush_kb = 1;
SELECT pg_temp.sales(2, 40, 30);
SELECT ok(pg_temp.matches_rebuild(), 'with a 1 kB threshold the state equals a rebuild');
DELETE FROM segext.transactions WHERE customer_id OPERATOR(pg_catalog.=) '000000000000000000000002'
    AND occurred_at OPERATOR(pg_catalog.<) '2024-03-01 00:30+00';
SELECT ok(pg_temp.matches_rebuild(), 'a DELETE of one customer''s many sales in batches: the state equals a rebuild');
SAVEPOINT s;
SELECT pg_temp.sales(41, 60, 10);
ROLLBACK TO SAVEPOINT s;
SELECT ok(pg_temp.matches_rebuild(), 'a rolled-back statement spilled by class leaves nothing');
DELETE FROM segext.customers WHERE company_id OPERATOR(pg_catalog.=) :'a'
    AND id OPERATOR(pg_catalog.<=) '000000000000000000000064'::segext.objectid;
SELECT pg_catalog.count(*) AS states FROM segext.customer_states WHERE company_id OPERATOR(pg_catalog.=) :'a' \gset
SELECT is(:states::pg_catalog.int8, 200::pg_catalog.int8,
    'deleting 100 customers with their transactions, spilled by class, leaves the others'' states');
SELECT ok(pg_temp.matches_rebuild(), 'and the state equals a rebuild');

-- COPY of sales, spilled by class.
CREATE TEMP TABLE copied (company_id segext.objectid, customer_id segext.objectid, amount pg_catalog.numeric,
                          pos_id pg_catalog.text, items pg_catalog.jsonb);
INSERT INTO copied SELECT :'a', pg_catalog.lpad(pg_catalog.to_hex(c), 24, '0')::segext.objectid, 7, 'q',
    '[{"sku": "S3"}]' FROM pg_catalog.generate_series(101, 300) AS c, pg_catalog.generate_series(1, 3);
SELECT '/tmp/segext_paths_copy_' || pg_catalog.pg_backend_pid() || '.csv' AS copy_file \gset
COPY copied TO :'copy_file' WITH (FORMAT csv);
COPY segext.transactions (company_id, customer_id, amount, pos_id, items) FROM :'copy_file' WITH (FORMAT csv);
SELECT ok(pg_temp.matches_rebuild(), 'COPY of 600 sales of 200 customers: the state equals a rebuild');
RESET segext.test_state_flush_kb;

-- The merge of figures: normalized inputs merge in one pass, others are sorted.
SELECT is(segext.customer_state_merge('\x010002020162020161000000'::pg_catalog.bytea, NULL),
    '\x010002020161020162000000'::pg_catalog.bytea, 'figures out of order are sorted by the merge');
SELECT is(segext.customer_state_merge('\x010002020161020162000000'::pg_catalog.bytea, '\x010001010161000000'::pg_catalog.bytea),
    '\x010001020162000000'::pg_catalog.bytea, 'a merge adds counts and drops those that reach zero');

SELECT * FROM finish();
ROLLBACK;
