\set ECHO none
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off

-- Fuzz the objectid input function: 20000 random and mutated strings, each
-- must either parse and round-trip (lower(input) = output) or fail with
-- exactly 22P02; then bytea of every length 0..40 through the cast.

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;

SELECT plan(7);

CREATE TEMP TABLE fuzz_input (n int, s text);

-- random_hex returns len random hex digits in mixed case.
CREATE FUNCTION pg_temp.random_hex(len int) RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(string_agg(substr('0123456789abcdefABCDEF', 1 + floor(random() * 22)::int, 1), ''), '')
    FROM generate_series(1, len)
$$;

-- mutate applies one random edit to s: flip case, insert, delete or replace a
-- character (hex, non-hex, whitespace, NUL-free control or non-ASCII), or pad.
CREATE FUNCTION pg_temp.mutate(s text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    pos int := 1 + floor(random() * greatest(length(s), 1))::int;
    pool text[] := ARRAY['0', '9', 'a', 'F', 'g', 'G', 'z', ' ', E'\t', E'\n', E'\r', '-', '+', 'x',
                         'é', '５', 'ß', '€', '😀', E'\u00a0', E'\u200b', '.', ',', '''', '"', '\'];
    c text := pool[1 + floor(random() * array_length(pool, 1))::int];
BEGIN
    CASE floor(random() * 7)::int
        WHEN 0 THEN RETURN upper(s);
        WHEN 1 THEN RETURN overlay(s PLACING c FROM pos FOR 0);
        WHEN 2 THEN RETURN overlay(s PLACING '' FROM pos FOR 1);
        WHEN 3 THEN RETURN overlay(s PLACING c FROM pos FOR 1);
        WHEN 4 THEN RETURN c || s;
        WHEN 5 THEN RETURN s || c;
        ELSE RETURN translate(s, 'abcdefABCDEF', 'ABCDEFabcdef');
    END CASE;
END
$$;

SELECT setseed(0.4242);
-- 5000 random hex strings of random lengths 0..30 (many of length 23..25)
INSERT INTO fuzz_input
    SELECT n, pg_temp.random_hex(CASE WHEN n % 2 = 0 THEN 22 + floor(random() * 5)::int
                                      ELSE floor(random() * 31)::int END)
    FROM generate_series(1, 5000) n;
-- 3000 valid ids (generated and random), as they are
INSERT INTO fuzz_input
    SELECT 5000 + n, CASE WHEN n % 2 = 0 THEN segext.objectid_generate()::text
                          ELSE pg_temp.random_hex(24) END
    FROM generate_series(1, 3000) n;
-- 9000 single mutations and 3000 double mutations of valid ids
INSERT INTO fuzz_input
    SELECT 8000 + n, pg_temp.mutate(pg_temp.random_hex(24)) FROM generate_series(1, 9000) n;
INSERT INTO fuzz_input
    SELECT 17000 + n, pg_temp.mutate(pg_temp.mutate(segext.objectid_generate()::text))
    FROM generate_series(1, 3000) n;

SELECT is(count(*), 20000::bigint, '20000 fuzz inputs') FROM fuzz_input;

-- Run every input through the type input function and the text cast.
CREATE TEMP TABLE fuzz_result (n int, s text, parsed bool, failure text);
DO $$
DECLARE
    r record;
    out_in text;
    out_cast text;
BEGIN
    FOR r IN SELECT n, s FROM fuzz_input ORDER BY n LOOP
        BEGIN
            EXECUTE format('SELECT %L::segext.objectid::text', r.s) INTO out_in;
            out_cast := r.s::text::segext.objectid::text;
            IF out_in IS DISTINCT FROM lower(r.s) OR out_cast IS DISTINCT FROM lower(r.s) THEN
                INSERT INTO fuzz_result VALUES (r.n, r.s, true, 'parsed but does not round-trip: ' || out_in);
            ELSE
                INSERT INTO fuzz_result VALUES (r.n, r.s, true, NULL);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE = '22P02' AND SQLERRM LIKE 'invalid input syntax for type objectid: %' THEN
                INSERT INTO fuzz_result VALUES (r.n, r.s, false, NULL);
            ELSE
                INSERT INTO fuzz_result VALUES (r.n, r.s, false, SQLSTATE || ': ' || SQLERRM);
            END IF;
        END;
    END LOOP;
END
$$;

SELECT is(count(*) FILTER (WHERE failure IS NOT NULL), 0::bigint,
          'every fuzz input parses and round-trips or fails with 22P02') FROM fuzz_result;
SELECT is(array_agg(format('%s %L %s', n, s, failure) ORDER BY n) FILTER (WHERE failure IS NOT NULL), NULL,
          'no fuzz failures to list') FROM fuzz_result;
-- the corpus exercises both outcomes in bulk
SELECT cmp_ok(count(*) FILTER (WHERE parsed), '>=', 3000::bigint, 'thousands of inputs parse')
FROM fuzz_result;
SELECT cmp_ok(count(*) FILTER (WHERE NOT parsed), '>=', 10000::bigint, 'thousands of inputs are rejected')
FROM fuzz_result;
-- exactly the strings of 24 hex digits parse
SELECT is(count(*) FILTER (WHERE parsed <> (s ~ '^[0-9a-fA-F]{24}$')), 0::bigint,
          'an input parses if and only if it is 24 hex digits') FROM fuzz_result;

-- bytea of every length 0..40: exactly 12 bytes cast, the rest fail with 22P02
CREATE TEMP TABLE fuzz_bytea (len int, ok bool);
DO $$
DECLARE
    b bytea;
    back bytea;
BEGIN
    FOR len IN 0..40 LOOP
        b := decode(pg_temp.random_hex(2 * len), 'hex');
        BEGIN
            back := b::segext.objectid::bytea;
            INSERT INTO fuzz_bytea VALUES (len, len = 12 AND back = b);
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO fuzz_bytea VALUES (len, len <> 12 AND SQLSTATE = '22P02');
        END;
    END LOOP;
END
$$;
SELECT is(array_agg(len ORDER BY len) FILTER (WHERE NOT ok), NULL,
          'bytea of length 12 round-trips, lengths 0..11 and 13..40 fail with 22P02')
FROM fuzz_bytea;

SELECT * FROM finish();
ROLLBACK;
