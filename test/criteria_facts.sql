-- criteria_match_facts reports bad facts as criteria errors (22023), and
-- the support functions of segext.customer_facts refuse to run outside the
-- aggregate (0A000) or on a state or criteria they did not make (22023).
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
\ir helpers/errors.sql
SELECT plan(16);

SELECT is((public.rules_error(pg_catalog.format(
           'SELECT segext.criteria_match_facts(%L, %L)', c, f)))[1:2],
          ARRAY['22023', 'invalid customer facts: ' || m], 'bad fact: ' || f)
FROM (VALUES
    ('[{"type": "transaction_amount", "fromAmount": 1, "toAmount": 2}]', '{"amount": 1.0000001}',
     '"amount" must be a number with at most 6 decimal places from -9223372036854.775807 to 9223372036854.775807'),
    ('[{"type": "transaction_amount", "fromAmount": 1, "toAmount": 2}]', '{"amount": 1e20}',
     '"amount" must be a number with at most 6 decimal places from -9223372036854.775807 to 9223372036854.775807'),
    ('[{"type": "anniversary", "anniversaryType": "birthday", "days": 2}]', '{"birth_date": "2020-02-30"}',
     '"birth_date" must be a date such as "1990-02-28"'),
    ('[{"type": "anniversary", "anniversaryType": "birthday", "days": 2}]', '{"birth_date": "5874898-01-01"}',
     '"birth_date" must be a date such as "1990-02-28"'),
    ('[{"type": "anniversary", "anniversaryType": "registration", "days": 2}]', '{"registration_date": "soon"}',
     '"registration_date" must be a date such as "1990-02-28"'),
    ('[{"type": "last_purchase_n_days_before", "days": 2}]', '{"last_purchase": "2020-01-01 00:00 +25:00"}',
     '"last_purchase" must be a timestamp with a time zone such as "2024-05-01T10:00:00Z"'),
    ('[{"type": "last_purchase_n_days_before", "days": 2}]', '{"last_purchase": "294277-01-01"}',
     '"last_purchase" must be a timestamp with a time zone such as "2024-05-01T10:00:00Z"'),
    ('[{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-02-01"}]', '{"purchases": ["2024-13-01"]}',
     '"purchases" must be a timestamp with a time zone such as "2024-05-01T10:00:00Z"')
) AS t(c, f, m);
SELECT ok(segext.criteria_match_facts('[{"type": "anniversary", "anniversaryType": "birthday", "days": 2}]',
                                      '{"birth_date": "infinity"}') IS FALSE,
          'an infinite birth date is a date and never has an anniversary');

-- The support functions outside an aggregate.
SELECT throws_ok($$SELECT segext.customer_facts_combine('\x00', '\x00')$$, '0A000',
                 'function customer_facts_combine can only be called by an aggregate', 'combine called directly');
SELECT throws_ok($$SELECT segext.customer_facts_step(NULL, ARRAY['[{"type": "transaction_count", "min": 0, "max": 1}]'::segext.criteria],
                 pg_catalog.now(), 1, 0, true, pg_catalog.now(), 'p', NULL, NULL, NULL)$$, '0A000', NULL, 'step called directly');

-- Aggregates of a user's own over the support functions.
CREATE AGGREGATE pg_temp.my_combine(bytea) (SFUNC = segext.customer_facts_combine, STYPE = bytea, INITCOND = '\x01');
CREATE AGGREGATE pg_temp.my_facts(segext.criteria[], timestamptz, numeric, numeric, bool, timestamptz, text, text[], text[], text[])
    (SFUNC = segext.customer_facts_step, STYPE = bytea);
CREATE AGGREGATE pg_temp.my_facts_init(segext.criteria[], timestamptz, numeric, numeric, bool, timestamptz, text, text[], text[], text[])
    (SFUNC = segext.customer_facts_step, STYPE = bytea, INITCOND = '\x0000000000');
SELECT throws_ok($$SELECT pg_temp.my_combine(x) FROM (VALUES ('\x0102'::bytea)) v(x)$$, '22023',
                 'invalid segext.customer_facts state', 'combine over a state too short for its header');
SELECT throws_ok($$SELECT pg_temp.my_facts_init(ARRAY['[{"type": "transaction_count", "min": 0, "max": 1}]'::segext.criteria],
                 pg_catalog.now(), 1, 0, true, pg_catalog.now(), 'p', NULL, NULL, NULL)$$, '22023',
                 'invalid segext.customer_facts state', 'step over an initial state it did not make');
SELECT throws_ok($$SELECT pg_temp.my_facts(ARRAY[c::segext.criteria], pg_catalog.now(), 1, 0, true, pg_catalog.now(), 'p', NULL, NULL, NULL)
                 FROM (VALUES ('[{"type": "transaction_count", "min": 0, "max": 1}]'), ('[{"type": "bought_in_pos", "posIds": ["a", "b"]}]')) v(c)$$,
                 '22023', 'invalid segext.customer_facts state', 'step with criteria that change between rows');
SELECT throws_ok($$SELECT pg_temp.my_facts(ARRAY['[{"type": "transaction_count", "min": 0, "max": 1}]'::segext.criteria],
                 pg_catalog.now(), 9000000000000, NULL, true, pg_catalog.now(), 'p', NULL, NULL, NULL) FROM generate_series(1, 2)$$,
                 '22003', 'the total amount of a customer''s transactions is out of range', 'an overflowing total amount');
SELECT is(pg_catalog.length(pg_temp.my_facts(ARRAY['[{"type": "bought_in_pos", "posIds": ["a", "b"]}]'::segext.criteria],
          pg_catalog.now(), 1, 0, true, pg_catalog.now(), 'a', NULL, NULL, NULL)), 56,
          'the same criteria on every row: a state with two POS counters');

SELECT * FROM finish();
ROLLBACK;
