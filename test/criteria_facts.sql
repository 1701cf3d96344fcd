-- criteria_match_facts reports bad facts as criteria errors (22023).
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
\ir helpers/errors.sql
SELECT plan(9);

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

SELECT * FROM finish();
ROLLBACK;
