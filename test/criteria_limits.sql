-- criteria limits: every accepted value prints as text that input accepts
-- again (text, jsonb and binary round trips over every kind and bound);
-- purchase_period bounds outside years 1-9999 in UTC, regex patterns past
-- their limits and nesting past 16 levels are refused with 22023; binary
-- input names a zero byte.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
\ir helpers/errors.sql
SELECT plan(110);

CREATE TEMP TABLE rt (n serial, t text);
INSERT INTO rt (t) VALUES
    ('[{"type": "transaction_count", "min": 0, "max": 0}]'),
    ('[{"type": "transaction_count", "min": 9223372036854, "max": 9223372036854}]'),
    ('[{"type": "transaction_amount", "fromAmount": 0, "toAmount": 1000000000000}]'),
    ('[{"type": "transaction_amount", "fromAmount": 0.000001, "toAmount": 999999999999.999999}]'),
    ('[{"type": "average_transaction_amount", "fromAmount": 0, "toAmount": 1000000000000}]'),
    ('[{"type": "average_transaction_amount", "fromAmount": 12.5, "toAmount": 12.500000}]'),
    ('[{"type": "bought_in_pos", "posIds": ["\"q\" \\ /", "\u0001\u001f\t\n", "é 日本 😀", "p"]}]'),
    ('[{"type": "bought_skus", "skuIds": ["ÀBC-1", "x\ty", "\u007f"]}]'),
    ('[{"type": "bought_makers", "makers": ["Ünïcode", "\\"]}]'),
    ('[{"type": "bought_labels", "labels": [{"key": "K é \"", "value": ""}, {"key": "k", "value": "\u0002"}]}]'),
    ('[{"type": "last_purchase_n_days_before", "days": 1}]'),
    ('[{"type": "last_purchase_n_days_before", "days": 1000000}]'),
    ('[{"type": "purchase_period", "fromDate": "0001-01-01", "toDate": "9999-12-31"}]'),
    ('[{"type": "purchase_period", "fromDate": "0001-01-01T15:00:00+15:00", "toDate": "9999-12-31T08:59:59.999999-15:00"}]'),
    ('[{"type": "purchase_period", "fromDate": "0001-01-01T00:00:00Z", "toDate": "9999-12-31T23:59:59.999999Z"}]'),
    ('[{"type": "purchase_period", "fromDate": "0001-01-01T23:59:59-15:00", "toDate": "9999-12-31T00:00:00+15:00"}]'),
    ('[{"type": "purchase_period", "fromDate": "2024-02-29T12:00:00.000001+01:30", "toDate": "2024-03-01"}]'),
    ('[{"type": "transaction_percent_in_pos", "posId": "\u001f x", "percent": 0}]'),
    ('[{"type": "transaction_percent_in_pos", "posId": "p", "percent": 1}]'),
    ('[{"type": "transaction_percent_in_pos", "posId": "p", "percent": 0.000001}]'),
    ('[{"type": "anniversary", "anniversaryType": "birthday", "days": 1}]'),
    ('[{"type": "anniversary", "anniversaryType": "registration", "days": 1000000}]'),
    ('[{"type": "customer_has_labels", "labels": [{"key": "\u001f"}, {"key": "Ä"}]}]'),
    ('[{"type": "customer_with_labels_values", "labels": [{"key": "a\u001fb", "value": "c\u001f"}]}]'),
    ('[{"type": "customer_list", "customers": ["000000000000000000000000", "FFFFFFFFFFFFFFFFFFFFFFFF"]}]'),
    ('[{"field": "f \"x\"", "op": "eq", "value": "\u0001 é \\ 😀"}]'),
    ('[{"field": "f", "op": "eq", "value": 1e1000}]'),
    ('[{"field": "f", "op": "neq", "value": -0.0000001}]'),
    ('[{"field": "f", "op": "gte", "value": 123.4500}]'),
    ('[{"field": "f", "op": "lt", "value": -1e-300}]'),
    ('[{"field": "f", "op": "in", "value": [1, "1", 1.0, "", "\u001f"]}]'),
    ('[{"field": "f", "op": "nin", "value": [0]}]'),
    ('[{"field": "f", "op": "regex", "value": "^(a|b)*[[:alpha:]]{1,100}\\d+$"}]'),
    ('[{"field": "f", "op": "nregex", "value": "***=((((*+?{|"}]'),
    ('[{"field": "f", "op": "begins", "value": "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{"}]'),
    ('[{"field": "f", "op": "exists"}, {"field": "g", "op": "nexists"}]'),
    ('[{"criteria": [{"type": "transaction_count", "min": 1, "max": 2}, {"field": "f", "op": "ends", "value": "x"}]},
      {"criteria": [{"type": "bought_skus", "skuIds": ["a"]}]}]');

-- text -> value -> text -> value, and the jsonb cast, for every row.
SELECT is(t::segext.criteria::text::segext.criteria::text, t::segext.criteria::text,
          'text round trip is a fixpoint: row ' || n) FROM rt ORDER BY n;
SELECT ok(t::segext.criteria::jsonb::segext.criteria OPERATOR(pg_catalog.=) t::segext.criteria,
          'jsonb round trip: row ' || n) FROM rt ORDER BY n;

-- Binary COPY out and back in of every row.
CREATE TEMP TABLE rt_bin (n int, c segext.criteria);
CREATE TEMP TABLE rt_back (n int, c segext.criteria);
INSERT INTO rt_bin SELECT n, t::segext.criteria FROM rt;
DO $$
DECLARE
    f text := pg_catalog.current_setting('data_directory') || '/criteria_limits.bin';
BEGIN
    EXECUTE pg_catalog.format('COPY rt_bin TO %L WITH (FORMAT binary)', f);
    EXECUTE pg_catalog.format('COPY rt_back FROM %L WITH (FORMAT binary)', f);
END $$;
SELECT is((SELECT count(*) FROM rt_bin a JOIN rt_back b ON b.n = a.n AND b.c OPERATOR(pg_catalog.=) a.c),
          (SELECT count(*) FROM rt), 'binary COPY round trip keeps every value');

-- purchase_period bounds whose UTC value leaves years 1-9999: 22023.
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::segext.criteria', t)))[1:2],
          ARRAY['22023', 'invalid segment criteria: part 1, criterion 1 ("purchase_period"): "' || k ||
                '" must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z in UTC ("' || v || '" is outside)'],
          'refused bound ' || v)
FROM (VALUES
    ('toDate', '9999-12-31T23:59:59-15:00'),
    ('toDate', '9999-12-31T23:59:59.999999-00:01'),
    ('toDate', '9999-12-31T15:00:00-09:00'),
    ('fromDate', '0001-01-01T00:00:00+00:01'),
    ('fromDate', '0001-01-01T14:59:59.999999+15:00')
) AS b(k, v),
LATERAL (SELECT CASE k WHEN 'toDate'
             THEN pg_catalog.format('[{"type": "purchase_period", "fromDate": "2000-01-01", "toDate": "%s"}]', v)
             ELSE pg_catalog.format('[{"type": "purchase_period", "fromDate": "%s", "toDate": "2000-01-01"}]', v) END) AS d(t);
SELECT throws_ok($$SELECT '[{"type": "purchase_period", "fromDate": "2000-01-01", "toDate": "9999-12-31T23:59:59-15:00"}]'::jsonb::segext.criteria$$,
                 '22023', NULL, 'the jsonb cast refuses the same bound');

-- Regex limits: 500 bytes, 32 operators, size 500.
SELECT lives_ok(pg_catalog.format('SELECT %L::jsonb::segext.criteria',
                pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('field', 'f', 'op', 'regex', 'value', p))),
                'accepted pattern: ' || d)
FROM (VALUES
    ('500 bytes', repeat('a', 500)),
    ('32 operators', repeat('(a|b)*', 16)),
    ('size 500', 'a{1,250}b{250}'),
    ('two classes, size 4 x 125', '\d{1,100}\w{25}'),
    ('operators in brackets and escapes do not count', repeat('[*+?{|]\*', 40)),
    ('a literal director', '***=' || repeat('(a|b)*', 80)),
    ('a literal option', '(?q)' || repeat('(a|b)*', 80)),
    ('an expanded-mode comment', '(?x) # (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)* (a|b)*
        ^ab+ $')
) AS r(d, p);
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::jsonb::segext.criteria',
           pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('field', 'f', 'op', 'regex', 'value', p)))))[1:2],
          ARRAY['22023', 'invalid segment criteria: part 1, criterion 1 (field "f"): "value" is ' || m],
          'refused pattern: ' || d)
FROM (VALUES
    ('501 bytes', repeat('a', 501), 'a regular expression of 501 bytes, more than the limit of 500'),
    ('33 operators', repeat('(a|b)*', 16) || '?', 'a regular expression with 33 quantifiers and alternations (* + ? { |), more than the limit of 32'),
    ('size 501', 'a{1,250}b{251}', 'a regular expression whose size, with bounded repetitions multiplied out and each character class counted once per distinct class, is more than the limit of 500'),
    ('nested bounds', '((a{1,10}){1,10}){1,10}', 'a regular expression whose size, with bounded repetitions multiplied out and each character class counted once per distinct class, is more than the limit of 500'),
    ('two classes, size 4 x 126', '\d{1,100}\w{26}', 'a regular expression whose size, with bounded repetitions multiplied out and each character class counted once per distinct class, is more than the limit of 500'),
    ('a parenthesis in brackets', '([)](a{1,100})){1,5}', 'a regular expression whose size, with bounded repetitions multiplied out and each character class counted once per distinct class, is more than the limit of 500'),
    ('an expanded-mode bracket in a comment', E'(?x)#[\n' || repeat('(a|b)*', 17), 'a regular expression with 34 quantifiers and alternations (* + ? { |), more than the limit of 32'),
    ('basic syntax', '(?b)a\{1,2\}', 'a regular expression that asks for basic or extended syntax; only advanced syntax (ARE) is accepted'),
    ('extended syntax', '(?e)a', 'a regular expression that asks for basic or extended syntax; only advanced syntax (ARE) is accepted'),
    ('the pattern that took 1.4 s to compile', repeat('(a|b)*', 333), 'a regular expression of 1998 bytes, more than the limit of 500')
) AS r(d, p, m);
SELECT throws_ok($$SELECT '[{"field": "f", "op": "regex", "value": "(a"}]'::segext.criteria$$, '22023',
                 'invalid segment criteria: part 1, criterion 1 (field "f"): "value" is not a valid regular expression: parentheses () not balanced',
                 'a bad pattern within the limits is still refused');

-- Nesting: 65 levels (what a tree of groups at its level limit may need)
-- are parsed (and refused for what they are), 66 are refused before
-- parsing, also 100000 levels, through text and jsonb.
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::segext.criteria',
           '[{"field": "f", "op": "in", "value": ' || repeat('[', k) || repeat(']', k) || '}]')))[1:2],
          ARRAY['22023', CASE WHEN k + 2 > 65
              THEN 'invalid segment criteria: arrays and objects nested more than 65 levels deep'
              ELSE 'invalid segment criteria: part 1, criterion 1 (field "f"): "value" item 1 must be a string or a number' END],
          'text nested ' || (k + 2) || ' levels')
FROM unnest(ARRAY[63, 64, 100000]) AS k;
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::jsonb::segext.criteria',
           '[{"field": "f", "op": "in", "value": ' || repeat('[', k) || repeat(']', k) || '}]')))[1:2],
          ARRAY['22023', CASE WHEN k + 2 > 65
              THEN 'invalid segment criteria: arrays and objects nested more than 65 levels deep'
              ELSE 'invalid segment criteria: part 1, criterion 1 (field "f"): "value" item 1 must be a string or a number' END],
          'jsonb nested ' || (k + 2) || ' levels')
FROM unnest(ARRAY[63, 64, 1000]) AS k;
SELECT lives_ok($$SELECT '[{"field": "f", "op": "eq", "value": "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{\"\\"}]'::segext.criteria$$,
                'brackets inside strings are not nesting');

-- Binary input: a zero byte in the JSON text is named (22021).
CREATE TEMP TABLE criteria_raw (c segext.criteria);
CREATE FUNCTION pg_temp.recv(b bytea) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    f text := pg_catalog.current_setting('data_directory') || '/criteria_limits_raw.bin';
BEGIN
    EXECUTE pg_catalog.format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, f);
    TRUNCATE criteria_raw;
    RETURN public.rules_error(pg_catalog.format('COPY criteria_raw FROM %L WITH (FORMAT binary)', f));
END $$;
SELECT is((pg_temp.recv('\x01' || pg_catalog.convert_to('[{"field": "a",', 'UTF8') || '\x00'::bytea
           || pg_catalog.convert_to('"op": "exists"}]', 'UTF8')))[1:3],
          ARRAY['22021', 'invalid binary criteria: the JSON text contains a zero byte',
                'Byte 16 of the JSON text (after the format version byte) is 0x00.'],
          'recv names the zero byte and where it is');
SELECT is((pg_temp.recv('\x01' || pg_catalog.convert_to('[{"field": "a", "op": "exists", "value": 1}]', 'UTF8')))[1],
          '22023', 'recv validates the text like text input');
SELECT is((pg_temp.recv('\x01' || '\xc3'::bytea))[1], '22021', 'recv refuses text that is not UTF-8');

SELECT * FROM finish();
ROLLBACK;
