#!/usr/bin/env bash
# test/scripts/objectid_fuzz.sh: fuzz the segext.objectid input functions.
# From a seed, generate SEGEXT_FUZZ_INPUTS inputs (default 30000): two thirds
# text (random hex strings of many lengths, valid ids in mixed case, single
# and double mutations of valid ids: case flips, inserted, deleted and
# replaced characters, whitespace, non-ASCII, punctuation) sent to the text
# input function, one third binary (random bytes, most of them 12 long) sent
# as a binary parameter to the receive function.  Each input must be
# accepted exactly when it is 24 hex digits (text) or 12 bytes (binary), an
# accepted one must print as lower(input) (text) or send the same 12 bytes
# (binary), and a refused one must fail with 22P02 (text) or 22P03 (binary).
# Then bytea of every length 0..40 goes through the cast.  No server process
# may die.  Prints the count of inputs and the histogram of outcomes.
set -euo pipefail
source "$(dirname "$0")/../helpers/fuzz.sh"

db=segext_objectid_fuzz_$$
cleanup() {
    dropdb --if-exists "$db" >/dev/null 2>&1 || true
    rm -rf "$fuzz_work"
}
trap cleanup EXIT
createdb "$db"
fuzz_build_player

psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE EXTENSION segext;
-- random_hex returns len random hex digits in mixed case.
CREATE FUNCTION random_hex(len int) RETURNS text
LANGUAGE sql AS \$\$
    SELECT coalesce(string_agg(substr('0123456789abcdefABCDEF', 1 + floor(random() * 22)::int, 1), ''), '')
    FROM generate_series(1, len)
\$\$;

-- mutate applies one random edit to s: flip case, insert, delete or replace a
-- character (hex, non-hex, whitespace, control or non-ASCII), or pad.
CREATE FUNCTION mutate(s text) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
    pos int := 1 + floor(random() * greatest(length(s), 1))::int;
    pool text[] := ARRAY['0', '9', 'a', 'F', 'g', 'G', 'z', ' ', E'\t', E'\n', E'\r', E'\x01', E'\x7f',
                         '-', '+', 'x', '0x', 'é', '５', 'ß', '€', '😀', E'\u00a0', E'\u200b', E'\ufeff',
                         E'\u0301', '.', ',', '''', '"', '\', '%', '{', '}'];
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
\$\$;

-- random_bytes returns len random bytes.
CREATE FUNCTION random_bytes(len int) RETURNS bytea
LANGUAGE sql AS \$\$ SELECT decode(random_hex(2 * len), 'hex') \$\$;

-- fuzz_check_text parses s and checks the accepted value; the player sees
-- the input function's error or FZ001 for a failed check.
CREATE FUNCTION fuzz_check_text(s text) RETURNS text
LANGUAGE plpgsql AS \$\$
DECLARE
    v segext.objectid := s::segext.objectid;
BEGIN
    IF v::text IS DISTINCT FROM lower(s) OR s::text::segext.objectid::text IS DISTINCT FROM lower(s)
       OR v::bytea::segext.objectid OPERATOR(pg_catalog.<>) v THEN
        RAISE EXCEPTION USING ERRCODE = 'FZ001', MESSAGE = format('%L parses as %s', s, v);
    END IF;
    RETURN 'ok';
END
\$\$;

-- fuzz_check_binary checks a received value against the bytes sent.
CREATE FUNCTION fuzz_check_binary(v segext.objectid, raw bytea) RETURNS bytea
LANGUAGE plpgsql AS \$\$
BEGIN
    IF segext.objectid_send(v) IS DISTINCT FROM raw OR raw::segext.objectid OPERATOR(pg_catalog.<>) v THEN
        RAISE EXCEPTION USING ERRCODE = 'FZ001', MESSAGE = format('%s received as %s', raw, v);
    END IF;
    RETURN segext.objectid_send(v);
END
\$\$;
SQL

# The generators draw from one seeded sequence in one session, in order.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v inputs="$fuzz_inputs" <<SQL
$(fuzz_setseed 4242)
CREATE TABLE fuzz_corpus (n int PRIMARY KEY, is_binary bool NOT NULL, must_parse bool, input bytea NOT NULL);
CREATE TEMP TABLE text_input AS
SELECT n, CASE n % 8
            -- random hex strings of random lengths 0..30, many of length 22..26
            WHEN 0 THEN random_hex(floor(random() * 31)::int)
            WHEN 1 THEN random_hex(22 + floor(random() * 5)::int)
            -- valid ids as they are
            WHEN 2 THEN random_hex(24)
            -- single and double mutations of valid ids
            WHEN 7 THEN mutate(mutate(random_hex(24)))
            ELSE mutate(random_hex(24))
          END AS s
FROM generate_series(1, (:inputs * 2) / 3) AS n;
INSERT INTO fuzz_corpus
SELECT n, false, s ~ '^[0-9a-fA-F]{24}\$', convert_to(s, 'UTF8') FROM text_input;
INSERT INTO fuzz_corpus
SELECT n, true, length(b) = 12, b
FROM (SELECT n, random_bytes(CASE WHEN random() < 0.5 THEN 12 ELSE floor(random() * 41)::int END) AS b
      FROM generate_series((:inputs * 2) / 3 + 1, :inputs) AS n) AS s;
SELECT format('objectid corpus: %s inputs, %s to be accepted', count(*), count(*) FILTER (WHERE must_parse))
FROM fuzz_corpus \gset
\echo :format
SQL

fuzz_play "$db" segext.objectid 22P02 22P03

# bytea of every length 0..40 through the cast: exactly 12 bytes cast and
# come back unchanged, the rest fail with 22P02.
bad=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE TEMP TABLE bytea_cast (len int, ok bool);
DO $$
DECLARE
    b bytea;
    back bytea;
BEGIN
    FOR len IN 0..40 LOOP
        b := random_bytes(len);
        BEGIN
            back := b::segext.objectid::bytea;
            INSERT INTO bytea_cast VALUES (len, len = 12 AND back = b);
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO bytea_cast VALUES (len, len <> 12 AND SQLSTATE = '22P02');
        END;
    END LOOP;
END
$$;
SELECT coalesce(string_agg(len::text, ',' ORDER BY len), '') FROM bytea_cast WHERE NOT ok;
SQL
)
if [ -n "$bad" ]; then
    echo "objectid_fuzz: bytea casts of these lengths misbehave: $bad" >&2
    exit 1
fi
echo "objectid_fuzz: bytea of lengths 0..40 cast as expected"
fuzz_check_server
