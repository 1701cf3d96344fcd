#!/usr/bin/env bash
# test/scripts/criteria_fuzz.sh: fuzz the segext.criteria parser.  From a
# fixed seed, build thousands of criteria documents (valid ones, then
# mutated: characters deleted, inserted, replaced, truncated) and check
# that each either parses, prints a fixpoint (text -> criteria -> text ->
# criteria, via jsonb too) and evaluates against an event without error, or
# fails with exactly 22P02 or 22023.  Any other SQLSTATE or a crash fails.
set -euo pipefail

db=segext_criteria_fuzz_$$
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT

out=$(psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" <<'SQL'
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

-- One random valid document, in either shape.
CREATE FUNCTION fuzz_document() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    parts text[] := '{}';
    crits text[];
    i int;
    j int;
BEGIN
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
                             'x', 'é', 'null', 'true', '1e400', '-1', '\u0000', '\ud800', '"type"', '"op"', '"criteria"'];
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

-- Parse one document and check what must hold; returns 'ok' or SQLSTATE.
CREATE FUNCTION fuzz_check(doc text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c segext.criteria;
    t1 text;
    t2 text;
BEGIN
    BEGIN
        c := doc::segext.criteria;
    EXCEPTION WHEN others THEN
        RETURN SQLSTATE;
    END;
    t1 := c::text;
    t2 := t1::segext.criteria::text;
    IF t1 IS DISTINCT FROM t2 THEN
        RAISE EXCEPTION 'no fixpoint for %: % then %', doc, t1, t2;
    END IF;
    IF NOT (c::jsonb::segext.criteria OPERATOR(segext.=) c) THEN
        RAISE EXCEPTION 'jsonb round trip differs for %', doc;
    END IF;
    PERFORM segext.criteria_match_event(c, '{"f0": "a12", "f1": "7", "f2": ""}');
    PERFORM segext.criteria_match_facts(c, '{"transaction_count": 3, "amount": 10, "pos_counts": {"p1": 1}}',
                                        '2024-03-10', '2024-03-10 12:00+00');
    RETURN 'ok';
END $$;

SELECT setseed(0.20240310);
CREATE TEMP TABLE results AS
SELECT g, CASE WHEN g % 4 = 0 THEN d ELSE fuzz_mutate(d) END AS doc
FROM (SELECT g, fuzz_document() AS d FROM generate_series(1, 4000) AS g) AS s;
SELECT r, count(*) FROM (SELECT fuzz_check(doc) AS r FROM results) AS x GROUP BY r ORDER BY r;
SQL
)
echo "$out"
bad=$(echo "$out" | awk -F'|' '$1 != "ok" && $1 != "22P02" && $1 != "22023" {print}')
if [ -n "$bad" ]; then
    echo "criteria_fuzz: unexpected outcomes: $bad" >&2
    exit 1
fi
total=$(echo "$out" | awk -F'|' '{s += $2} END {print s}')
okcount=$(echo "$out" | awk -F'|' '$1 == "ok" {print $2}')
if [ "$total" != 4000 ] || [ -z "$okcount" ] || [ "$okcount" -lt 1000 ]; then
    echo "criteria_fuzz: expected 4000 documents with at least 1000 valid, got $total and ${okcount:-0}" >&2
    exit 1
fi
echo "criteria_fuzz: $total documents, $okcount valid, the rest rejected with 22P02 or 22023"
