-- test/citus/errors.sql: an error that segext or PostgreSQL raises on a
-- worker's shard reaches the client through the coordinator as on one node:
-- the SQLSTATE and HINT also where Citus sends rows with COPY (an INSERT ...
-- SELECT through the coordinator), the names of the table and constraint
-- (not of the shard: customers_pkey, not customers_pkey_102008) in the
-- message, the DETAIL and the error's fields, which an exception handler on
-- the coordinator sees too.  And an INSERT ... SELECT ... FROM
-- generate_series() into segext's tables works through the coordinator.
SET search_path = segext, public;
SELECT plan(11);
DELETE FROM segext.companies WHERE name = 'Errors A';
INSERT INTO segext.companies (id, name) VALUES ('0000000000000000000e0a01', 'Errors A');
INSERT INTO segext.segments (company_id, name, criteria)
VALUES ('0000000000000000000e0a01', 'Buyers', '[{"type": "transaction_count", "min": 1, "max": 100}]');

-- INSERT ... SELECT ... FROM generate_series (Citus collects the rows on
-- the coordinator and copies them to the shard).
INSERT INTO segext.customers (company_id, id, first_name)
SELECT '0000000000000000000e0a01', pg_catalog.lpad(pg_catalog.to_hex(i), 24, '0')::segext.objectid, 'c' || i
  FROM pg_catalog.generate_series(1, 5) AS i;
INSERT INTO segext.transactions (company_id, customer_id, amount)
SELECT '0000000000000000000e0a01', pg_catalog.lpad(pg_catalog.to_hex(i), 24, '0')::segext.objectid, 10 * i
  FROM pg_catalog.generate_series(1, 3) AS i;
SELECT pg_catalog.string_agg(s.customer_id::text || ':' || s.transactions, ',' ORDER BY s.customer_id) AS states
  FROM segext.customer_states AS s WHERE s.company_id = '0000000000000000000e0a01' AND s.transactions > 0 \gset
SELECT is(:'states'::text, '000000000000000000000001:1,000000000000000000000002:1,000000000000000000000003:1',
          'INSERT ... SELECT ... FROM generate_series() keeps the customer states');
SELECT pg_catalog.count(*) AS members FROM segext.memberships AS m JOIN segext.segments AS s
    ON s.company_id = m.company_id AND s.id = m.segment_id
 WHERE s.company_id = '0000000000000000000e0a01' AND s.name = 'Buyers' \gset
SELECT is(:'members'::int, 3, 'and the members, in the same statement');

-- A trigger's error through Citus's COPY path: its SQLSTATE and HINT.
SELECT throws_ok(
    $$INSERT INTO segext.transactions (company_id, customer_id, amount)
      SELECT '0000000000000000000e0a01', '000000000000000000000001', 0 FROM pg_catalog.generate_series(1, 2)$$,
    '23514', 'sale amount must be greater than zero',
    'INSERT ... SELECT of a sale of 0: 23514, not XX000');
DO $$
DECLARE
    hint pg_catalog.text;
BEGIN
    INSERT INTO segext.transactions (company_id, customer_id, amount)
    SELECT '0000000000000000000e0a01', '000000000000000000000001', 0 FROM pg_catalog.generate_series(1, 2);
EXCEPTION WHEN check_violation THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    PERFORM pg_catalog.set_config('segext_test.hint', hint, false);
END
$$;
SELECT pg_catalog.current_setting('segext_test.hint') AS hint \gset
SELECT is(:'hint'::text, 'Record a return with a negative amount and "returns_id" set to the sale it returns.',
          'and its HINT');

-- A unique violation routed to one shard, and through the COPY path.
SELECT throws_ok(
    $$INSERT INTO segext.customers (company_id, id, first_name)
      VALUES ('0000000000000000000e0a01', '000000000000000000000001', 'again')$$,
    '23505', 'duplicate key value violates unique constraint "customers_pkey"',
    'a unique violation names the table''s constraint, not the shard''s');
SELECT throws_ok(
    $$INSERT INTO segext.customers (company_id, id, first_name)
      SELECT '0000000000000000000e0a01', '000000000000000000000002', 'again' FROM pg_catalog.generate_series(1, 1)$$,
    '23505', 'duplicate key value violates unique constraint "customers_pkey"',
    'also through the COPY path, with its SQLSTATE');
SET client_min_messages = error;  -- Citus: a function in pg_temp is created on this node only
CREATE FUNCTION pg_temp.error_fields(statement pg_catalog.text) RETURNS pg_catalog.text
LANGUAGE plpgsql AS $$
DECLARE
    c pg_catalog.text;
    t pg_catalog.text;
    s pg_catalog.text;
    d pg_catalog.text;
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, t = TABLE_NAME, s = SCHEMA_NAME, d = PG_EXCEPTION_DETAIL;
    RETURN pg_catalog.concat_ws(' | ', SQLSTATE, s, t, c, d);
END
$$;
RESET client_min_messages;
SELECT pg_temp.error_fields($$INSERT INTO segext.customers (company_id, id, first_name)
      VALUES ('0000000000000000000e0a01', '000000000000000000000001', 'again')$$) AS routed \gset
SELECT is(:'routed'::text,
          '23505 | segext | customers | customers_pkey | Key (company_id, id)=(0000000000000000000e0a01, 000000000000000000000001) already exists.',
          'the error''s schema, table and constraint fields and DETAIL, as on one node');
SELECT pg_temp.error_fields($$INSERT INTO segext.customers (company_id, id, first_name)
      SELECT '0000000000000000000e0a01', '000000000000000000000001', 'again' FROM pg_catalog.generate_series(1, 1)$$) AS copied \gset
SELECT is(:'copied'::text,
          '23505 | segext | customers | customers_pkey | Key (company_id, id)=(0000000000000000000e0a01, 000000000000000000000001) already exists.',
          'the same through the COPY path');

-- A foreign key violation names both tables and the constraint.
SELECT pg_temp.error_fields($$INSERT INTO segext.transactions (company_id, customer_id, amount)
      VALUES ('0000000000000000000e0a01', '000000000000000000000009', 5)$$) AS fk \gset
SELECT is(:'fk'::text,
          '23503 | segext | transactions | transactions_company_id_customer_id_fkey | Key (company_id, customer_id)=(0000000000000000000e0a01, 000000000000000000000009) is not present in table "customers".',
          'a foreign key violation names the tables and the constraint');
SELECT throws_ok(
    $$INSERT INTO segext.transactions (company_id, customer_id, amount)
      VALUES ('0000000000000000000e0a01', '000000000000000000000009', 5)$$,
    '23503', 'insert or update on table "transactions" violates foreign key constraint "transactions_company_id_customer_id_fkey"',
    'in its message too');

SELECT pg_catalog.count(*) AS left_over FROM segext.companies WHERE name = 'Errors A' \gset
DELETE FROM segext.companies WHERE name = 'Errors A';
SELECT is(:'left_over'::int, 1, 'one company was used');
SELECT * FROM finish();
