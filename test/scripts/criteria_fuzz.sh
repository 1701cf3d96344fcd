#!/usr/bin/env bash
# test/scripts/criteria_fuzz.sh: fuzz the segext.criteria input functions.
# From a seed, generate SEGEXT_FUZZ_INPUTS documents (default 30000): valid
# criteria documents in every shape (flat, parts, trees of groups), the
# same mutated (characters deleted, inserted, replaced, truncated), nested
# deeply (arrays, parts or groups of a tree, up to 100000 levels), with odd Unicode in the strings, with huge, tiny and odd
# numbers and with bad or odd dates.  Two thirds go to the text input
# function, one third, as a version byte and the document's bytes (often
# with a wrong version byte or with NUL, invalid UTF-8 or truncated bytes), to
# the binary receive function.  An accepted value must print a fixpoint
# (text -> criteria -> text -> criteria, via jsonb too), its binary form must
# come back unchanged, and it must evaluate against an event and customer
# facts without error; a valid document must be accepted.  A refused input
# must fail with a SQLSTATE from the lists below.  No server process may
# die.  Prints the count of inputs and the histogram of outcomes.
set -euo pipefail
source "$(dirname "$0")/../helpers/fuzz.sh"

# SQLSTATEs a refused input may fail with:
#   22P02  invalid JSON
#   22023  valid JSON that is not valid criteria (shape, kind, value, limit)
# and, for binary input only:
#   22P03  a missing or unsupported format version byte, or a tree after version 1
#   22021  bytes that are not valid UTF-8, or a zero byte
allowed_text=22P02,22023
allowed_binary=$allowed_text,22P03,22021

db=segext_criteria_fuzz_$$
cleanup() {
    dropdb --if-exists "$db" >/dev/null 2>&1 || true
    rm -rf "$fuzz_work"
}
trap cleanup EXIT
createdb "$db"
fuzz_build_player

psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION segext;

-- One random valid criterion.
CREATE FUNCTION fuzz_criterion() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n int := (random() * 1000)::int;
    m int := n + (random() * 1000)::int;
    k int := floor(random() * 19)::int;
    ops text[] := ARRAY['eq','neq','begins','nbegins','ends','nends','contains','ncontains',
                        'regex','nregex','gt','gte','lt','lte','in','nin','exists','nexists'];
    op text := ops[1 + floor(random() * 18)::int];
BEGIN
    RETURN CASE k
        WHEN 0 THEN format('{"type": "transaction_count", "min": %s, "max": %s}', n, m)
        WHEN 1 THEN format('{"type": "transaction_amount", "fromAmount": %s.%s, "toAmount": %s}', n, n % 100, m + 1)
        WHEN 2 THEN format('{"type": "average_transaction_amount", "fromAmount": %s, "toAmount": %s.5}', n, m)
        WHEN 3 THEN format('{"type": "bought_in_pos", "posIds": ["p%s", "p%s"]}', n, m)
        WHEN 4 THEN format('{"type": "bought_skus", "skuIds": ["Sku%s"]}', n)
        WHEN 5 THEN format('{"type": "bought_makers", "makers": ["Mk%s", "mk%s"]}', n, n)
        WHEN 6 THEN format('{"type": "bought_labels", "labels": [{"key": "K%s", "value": "V"}]}', n)
        WHEN 7 THEN format('{"type": "last_purchase_n_days_before", "days": %s}', n + 1)
        WHEN 8 THEN format('{"type": "purchase_period", "fromDate": "2024-01-%s", "toDate": "2024-02-01T10:%s:00Z"}',
                           lpad((1 + n % 28)::text, 2, '0'), lpad((n % 60)::text, 2, '0'))
        WHEN 9 THEN format('{"type": "transaction_percent_in_pos", "posId": "p%s", "percent": 0.%s}', n, n)
        WHEN 10 THEN format('{"type": "anniversary", "anniversaryType": "%s", "days": %s}',
                            CASE WHEN n % 2 = 0 THEN 'birthday' ELSE 'registration' END, n + 1)
        WHEN 11 THEN format('{"type": "customer_has_labels", "labels": [{"key": "k%s"}]}', n)
        WHEN 12 THEN format('{"type": "customer_with_labels_values", "labels": [{"key": "k", "value": "v%s"}]}', n)
        WHEN 13 THEN format('{"type": "customer_list", "customers": ["%s"]}', lpad(to_hex(n), 24, '0'))
        ELSE format('{"field": "f%s", "op": "%s"%s}', n % 3, op,
                    CASE WHEN op IN ('exists', 'nexists') THEN ''
                         WHEN op IN ('gt', 'gte', 'lt', 'lte') THEN format(', "value": %s', n - 500)
                         WHEN op IN ('in', 'nin') THEN format(', "value": ["a%s", %s]', n, m)
                         WHEN op IN ('regex', 'nregex') THEN format(', "value": "^a%s(b|c)*$"', n)
                         ELSE format(', "value": "a%s"', n) END)
    END;
END $$;

-- One random valid tree of groups, up to depth groups deep below its root.
CREATE FUNCTION fuzz_tree(depth int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    k int := floor(random() * 3)::int;
    children text[] := '{}';
BEGIN
    IF k = 2 THEN
        RETURN '{"not": ' || CASE WHEN depth > 0 AND random() < 0.5 THEN fuzz_tree(depth - 1)
                                  ELSE fuzz_criterion() END || '}';
    END IF;
    FOR i IN 1..1 + floor(random() * 3)::int LOOP
        children := children || CASE WHEN depth > 0 AND random() < 0.4 THEN fuzz_tree(depth - 1)
                                     ELSE fuzz_criterion() END;
    END LOOP;
    RETURN '{"' || CASE k WHEN 0 THEN 'all' ELSE 'any' END || '": [' || array_to_string(children, ', ') || ']}';
END $$;

-- One random valid document, in any shape (flat, parts or a tree).
CREATE FUNCTION fuzz_document() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    parts text[] := '{}';
    crits text[];
    i int;
    j int;
BEGIN
    IF random() < 0.3 THEN
        RETURN fuzz_tree(floor(random() * 5)::int);
    END IF;
    IF random() < 0.4 THEN
        FOR i IN 1..1 + floor(random() * 3)::int LOOP
            parts := parts || fuzz_criterion();
        END LOOP;
        RETURN '[' || array_to_string(parts, ', ') || ']';
    END IF;
    FOR i IN 1..1 + floor(random() * 3)::int LOOP
        crits := '{}';
        FOR j IN 1..1 + floor(random() * 3)::int LOOP
            crits := crits || fuzz_criterion();
        END LOOP;
        parts := parts || ('{"criteria": [' || array_to_string(crits, ', ') || ']}');
    END LOOP;
    RETURN '[' || array_to_string(parts, ', ') || ']';
END $$;

-- Mutate a document: delete, insert, replace characters, or truncate it.
CREATE FUNCTION fuzz_mutate(doc text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    alphabet text[] := ARRAY['{', '}', '[', ']', '"', ',', ':', '-', '0', '9', '.', 'e', '\', 'a', ' ',
                             'x', 'é', 'null', 'true', '1e400', '-1', '\u0000', '\ud800', '"type"', '"op"', '"criteria"',
                             '😀', E'\u200b', E'\ufeff', E'\uffff', '\ud83d\ude00', '\udc00', E'\x01', '1e1000000',
                             '"min"', '"max"', '"days"', '"fromDate"', '"value"', '[]', '{}', '""'];
    i int;
    pos int;
BEGIN
    FOR i IN 1..1 + floor(random() * 3)::int LOOP
        pos := 1 + floor(random() * greatest(length(doc), 1))::int;
        CASE floor(random() * 4)::int
            WHEN 0 THEN doc := overlay(doc PLACING '' FROM pos FOR 1);
            WHEN 1 THEN doc := overlay(doc PLACING alphabet[1 + floor(random() * array_length(alphabet, 1))::int] FROM pos FOR 0);
            WHEN 2 THEN doc := overlay(doc PLACING alphabet[1 + floor(random() * array_length(alphabet, 1))::int] FROM pos FOR 1);
            ELSE doc := left(doc, pos);
        END CASE;
    END LOOP;
    RETURN doc;
END $$;

-- fuzz_wrap nests a valid document depth levels deep, in arrays, in parts
-- or in groups of a tree (all, any or not).
CREATE FUNCTION fuzz_wrap(doc text, depth int) RETURNS text LANGUAGE sql AS $$
    SELECT CASE floor(random() * 5)::int
                WHEN 0 THEN repeat('[', depth) || doc || repeat(']', depth)
                WHEN 1 THEN repeat('[{"criteria": ', depth) || doc || repeat('}]', depth)
                WHEN 2 THEN repeat('{"not": ', depth) || doc || repeat('}', depth)
                WHEN 3 THEN repeat('{"all": [', depth) || doc || repeat(']}', depth)
                ELSE repeat('{"any": [{"field": "a", "op": "exists"}, ', depth) || doc || repeat(']}', depth) END
$$;

-- fuzz_odd_string returns a string of odd Unicode, as JSON string content.
CREATE FUNCTION fuzz_odd_string() RETURNS text LANGUAGE sql AS $$
    SELECT (ARRAY['😀', 'é', E'e\u0301', E'\u200b', E'\u202eabc', E'\ufeff', E'\uffff', E'\U0010ffff',
                  '\ud83d\ude00', '\ud800', '\udc00x', '\u0000', '\u001f', '\\', '\"', '\/', '\t',
                  E'\x7f', '中文', 'Ωμέγα', '', ' ', repeat('ß', 3000), repeat('a', 100000)])
           [1 + floor(random() * 24)::int]
$$;

-- fuzz_odd_number returns a JSON number, or something in its place.
CREATE FUNCTION fuzz_odd_number() RETURNS text LANGUAGE sql AS $$
    SELECT (ARRAY['0', '-0', '-1', '1e400', '-1e400', '1e-400', '1e1000000', '1e-1000000',
                  '123456789012345678901234567890', '9223372036854775807', '9223372036854775808',
                  '-9223372036854775809', '2147483648', '0.000000000000000000001', '1.5', '0.5e1',
                  '1000000000000', '1000000000000.01', '999999999999.999', 'NaN', 'Infinity', '"12"',
                  'true', 'null', '[]', '{}', '01', '.5', '1.', '+1', '0x10'])
           [1 + floor(random() * 31)::int]
$$;

-- fuzz_odd_date returns a JSON string holding a bad or odd date.
CREATE FUNCTION fuzz_odd_date() RETURNS text LANGUAGE sql AS $$
    SELECT '"' || (ARRAY['2024-02-30', '2023-02-29', '2024-02-29', '0000-01-01', '0001-01-01', '9999-12-31',
                         '10000-01-01', '2024-13-01', '2024-00-10', '2024-01-32', '2024-1-1', '24-01-01',
                         '2024-01-01T24:00:00Z', '2024-01-01T23:59:60Z', '2024-01-01T25:00:00Z',
                         '2024-01-01T10:00:00', '2024-01-01 10:00:00+02', '2024-01-01T10:00:00+99:00',
                         '9999-12-31T23:59:59-15:00', '0001-01-01T00:00:00+15:00', '9999-12-31T23:59:59Z',
                         '0001-01-01T00:00:00Z', 'infinity', '-infinity', 'epoch', 'now', 'today',
                         'tomorrow', 'allballs', 'J2451187', '2024-01-01 BC', '294277-01-01', '-2024-01-01',
                         ' 2024-01-01', '2024-01-01 ', '2024-01-01T10:00:00.123456789Z', '2024-W01-1',
                         '2024-001', '20240101', 'Jan 1 2024', '2024-01-01T10:00:00 PST', ''])
                  [1 + floor(random() * 42)::int] || '"'
$$;

-- fuzz_special returns one document of a special kind: deep, odd strings,
-- odd numbers or odd dates.
CREATE FUNCTION fuzz_special(k int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    depths int[] := ARRAY[1, 2, 3, 5, 10, 15, 16, 17, 30, 31, 32, 33, 64, 65, 66, 100, 1000, 10000];
BEGIN
    RETURN CASE k
        WHEN 0 THEN fuzz_wrap(fuzz_document(), CASE WHEN random() < 0.01 THEN 100000
                                                    ELSE depths[1 + floor(random() * 18)::int] END)
        WHEN 1 THEN format((ARRAY['[{"field": "%1$s", "op": "eq", "value": "%1$s"}]',
                                  '[{"field": "f0", "op": "regex", "value": "%s"}]',
                                  '[{"type": "bought_skus", "skuIds": ["%s"]}]',
                                  '[{"type": "bought_labels", "labels": [{"key": "%1$s", "value": "%1$s"}]}]',
                                  '[{"type": "customer_list", "customers": ["%s"]}]',
                                  '[{"%s": 1}]'])[1 + floor(random() * 6)::int], fuzz_odd_string())
        WHEN 2 THEN format((ARRAY['[{"type": "transaction_count", "min": %s, "max": %s}]',
                                  '[{"type": "transaction_amount", "fromAmount": %s, "toAmount": %s}]',
                                  '[{"type": "average_transaction_amount", "fromAmount": %s, "toAmount": %s}]',
                                  '[{"type": "last_purchase_n_days_before", "days": %s}, {"field": "f1", "op": "gt", "value": %s}]',
                                  '[{"type": "transaction_percent_in_pos", "posId": "p", "percent": %s}, {"type": "anniversary", "anniversaryType": "birthday", "days": %s}]'])
                           [1 + floor(random() * 5)::int], fuzz_odd_number(), fuzz_odd_number())
        ELSE format('[{"type": "purchase_period", "fromDate": %s, "toDate": %s}]',
                    CASE WHEN random() < 0.5 THEN fuzz_odd_date() ELSE '"2024-01-01"' END,
                    CASE WHEN random() < 0.7 THEN fuzz_odd_date() ELSE '"2024-12-31T23:59:59Z"' END)
    END;
END $$;

-- fuzz_mutate_bytes mutates the bytes of a binary input: a wrong version
-- byte, NUL or invalid UTF-8 bytes inserted, or a cut in the middle.
CREATE FUNCTION fuzz_mutate_bytes(b bytea) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    pos int := 1 + floor(random() * greatest(length(b), 1))::int;
    bad bytea[] := ARRAY['\x00', '\xff', '\xc3', '\x80', '\xeda080', '\xf4908080', '\xc0af', '\xe282']::bytea[];
BEGIN
    CASE floor(random() * 4)::int
        WHEN 0 THEN RETURN overlay(b PLACING (ARRAY['\x00', '\x02', '\xff', '\x7b']::bytea[])[1 + floor(random() * 4)::int] FROM 1 FOR 1);
        WHEN 1 THEN RETURN overlay(b PLACING bad[1 + floor(random() * 8)::int] FROM pos FOR 0);
        WHEN 2 THEN RETURN overlay(b PLACING bad[1 + floor(random() * 8)::int] FROM pos FOR 1);
        ELSE RETURN substr(b, 1, pos - 1);
    END CASE;
END $$;

-- fuzz_check_value checks what must hold for an accepted value (doc is the
-- text it came from, or NULL); any failure is raised as FZ001.
CREATE FUNCTION fuzz_check_value(c segext.criteria, doc text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t1 text;
    t2 text;
BEGIN
    t1 := c::text;
    t2 := t1::segext.criteria::text;
    IF t1 IS DISTINCT FROM t2 THEN
        RAISE EXCEPTION 'no fixpoint: % then %', t1, t2;
    END IF;
    IF NOT (c::jsonb::segext.criteria OPERATOR(pg_catalog.=) c) THEN
        RAISE EXCEPTION 'jsonb round trip differs for %', t1;
    END IF;
    IF doc IS NOT NULL AND NOT (doc::jsonb::segext.criteria OPERATOR(pg_catalog.=) c) THEN
        RAISE EXCEPTION 'the jsonb cast of the input differs from its text input: %', t1;
    END IF;
    PERFORM segext.criteria_match_event(c, '{"f0": "a12", "f1": "7", "f2": ""}');
    PERFORM segext.criteria_match_facts(c, '{"transaction_count": 3, "amount": 10, "pos_counts": {"p1": 1}}',
                                        '2024-03-10', '2024-03-10 12:00+00');
EXCEPTION WHEN others THEN
    RAISE EXCEPTION USING ERRCODE = 'FZ001',
        MESSAGE = format('accepted value fails a check: %s: %s (value %s)', SQLSTATE, SQLERRM, left(t1, 300));
END $$;

-- fuzz_check_text parses one document (its error is what the player sees)
-- and checks the value.
CREATE FUNCTION fuzz_check_text(doc text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c segext.criteria := doc::segext.criteria;
BEGIN
    PERFORM fuzz_check_value(c, doc);
    RETURN 'ok';
END $$;

-- fuzz_check_binary checks a value received in binary form and returns its
-- binary form, which the player sends again.
CREATE FUNCTION fuzz_check_binary(c segext.criteria, raw bytea) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fuzz_check_value(c, NULL);
    RETURN segext.criteria_send(c);
END $$;
SQL

# The generators draw from one seeded sequence in one session, in order:
# per ten inputs, two valid documents, four mutated ones and one of each
# special kind.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v inputs="$fuzz_inputs" <<SQL
$(fuzz_setseed 20240310)
CREATE TABLE fuzz_corpus (n int PRIMARY KEY, is_binary bool NOT NULL, must_parse bool, input bytea NOT NULL);
CREATE TEMP TABLE docs AS
SELECT n, CASE WHEN n % 10 < 2 THEN d WHEN n % 10 < 6 THEN fuzz_mutate(d) ELSE fuzz_special(n % 10 - 6) END AS doc,
       n % 10 < 2 AS valid
FROM (SELECT n, fuzz_document() AS d FROM generate_series(1, :inputs) AS n) AS s;
INSERT INTO fuzz_corpus
SELECT n, n > (:inputs * 2) / 3,
       CASE WHEN valid THEN true END,
       CASE WHEN n <= (:inputs * 2) / 3 THEN convert_to(doc, 'UTF8')
            WHEN valid OR random() < 0.6 THEN version || convert_to(doc, 'UTF8')
            ELSE fuzz_mutate_bytes(version || convert_to(doc, 'UTF8')) END
FROM (SELECT *, CASE WHEN doc LIKE '{%' THEN '\x02' ELSE '\x01' END::bytea AS version FROM docs) AS d;
SELECT format('criteria corpus: %s inputs, %s valid documents', count(*), count(*) FILTER (WHERE must_parse))
FROM fuzz_corpus \gset
\echo :format
SQL

status=0
out=$(fuzz_play "$db" segext.criteria "$allowed_text" "$allowed_binary") || status=$?
echo "$out"
[ "$status" -eq 0 ] || exit "$status"
okcount=$(echo "$out" | awk '$3 == "ok" {s += $4} END {print s + 0}')
if [ "$okcount" -lt "$((fuzz_inputs / 5))" ]; then
    echo "criteria_fuzz: only $okcount of $fuzz_inputs inputs were accepted; the corpus is too broken to test much" >&2
    exit 1
fi
fuzz_check_server
