#!/usr/bin/env bash
# test/scripts/objectid_sort.sh: proves that large objectid sorts take both
# abbreviated-key paths, reading the server's trace_sort messages: ids made
# by one backend within one second keep their abbreviated keys (the keys
# follow the counter), and ids that tie on everything an abbreviated key
# holds make the sort give abbreviation up.  Both sorts must come out in
# byte order.
set -euo pipefail

db=segext_oid_sort_$$
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION segext;
CREATE TABLE burst AS SELECT segext.objectid_generate() AS id FROM generate_series(1, 50000);
CREATE TABLE ties AS
    SELECT decode('65000000' || '00' || lpad(to_hex((n * 7919) % 50021), 8, '0')
                  || lpad(to_hex(n % 4096), 6, '0'), 'hex')::segext.objectid AS id
    FROM generate_series(1, 50000) n;
SQL

# sort_trace sorts one table and prints the objectid_abbrev trace lines and
# whether the result is in byte order.
sort_trace() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -At 2>&1 <<SQL
SET trace_sort = on;
SET client_min_messages = log;
CREATE TEMP TABLE sorted AS SELECT row_number() OVER () AS pos, id FROM (SELECT id FROM $1 ORDER BY id OFFSET 0) s;
RESET client_min_messages;
SELECT 'byte order: ' || bool_and(prev < b)
FROM (SELECT id::bytea AS b, lag(id::bytea) OVER (ORDER BY pos) AS prev FROM sorted) s WHERE prev IS NOT NULL;
SQL
}

fail=0
burst=$(sort_trace burst)
ties=$(sort_trace ties)
echo "$burst" | grep -E 'objectid_abbrev|byte order'
echo "$ties" | grep -E 'objectid_abbrev|byte order'

if grep -q 'objectid_abbrev: aborting' <<<"$burst"; then
    echo "FAIL: abbreviation was abandoned for ids from one backend"; fail=1
elif ! grep -q 'objectid_abbrev: \(cardinality\|estimation ends\)' <<<"$burst"; then
    echo "FAIL: no abbreviated-key trace for the burst sort"; fail=1
else
    echo "ok: ids from one backend in one second keep abbreviated keys"
fi
if grep -q 'objectid_abbrev: aborting abbreviation' <<<"$ties"; then
    echo "ok: ids that tie on the abbreviated key abort abbreviation"
else
    echo "FAIL: the tied ids did not abort abbreviation"; fail=1
fi
for out in "$burst" "$ties"; do
    if ! grep -q '^byte order: true$' <<<"$out"; then
        echo "FAIL: a sort is not in byte order"; fail=1
    fi
done
[ "$fail" = 0 ] && echo "ok: both sorts are in byte order"
exit "$fail"
