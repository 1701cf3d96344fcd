#!/usr/bin/env bash
# test/scripts/objectid_unique.sh: 8 backends generate 200000 objectids each,
# at the same time, into one table.  Proves that generation never repeats
# across backends, that ids strictly increase within each backend in the
# order they were made, and that each id carries the time it was made.
set -euo pipefail

db=segext_oid_unique_$$
workers=8
per_worker=200000
psql_q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

cleanup() {
    [ -n "${holder:-}" ] && kill "$holder" 2>/dev/null || true
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT

createdb "$db"
# objectid's operators live in schema segext.
psql -X -q -d postgres -c "ALTER DATABASE $db SET search_path = public, segext"
psql_q <<'SQL'
CREATE EXTENSION segext;
CREATE UNLOGGED TABLE ids (backend int, seq int, id segext.objectid);
CREATE TABLE runs (backend int, started timestamptz, finished timestamptz);
SQL

# A barrier: workers wait for a shared advisory lock until the holder lets go.
psql_q -c "SELECT pg_advisory_lock(4242); SELECT pg_sleep(3);" >/dev/null &
holder=$!
until [ "$(psql_q -At -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted")" = 1 ]; do
    sleep 0.1
done

start=$(psql_q -At -c "SELECT clock_timestamp()")
pids=()
for i in $(seq 1 "$workers"); do
    psql_q >/dev/null <<SQL &
SELECT pg_advisory_lock_shared(4242);
INSERT INTO runs VALUES (pg_backend_pid(), clock_timestamp(), NULL);
INSERT INTO ids SELECT pg_backend_pid(), n, segext.objectid_generate() FROM generate_series(1, $per_worker) n;
UPDATE runs SET finished = clock_timestamp() WHERE backend = pg_backend_pid();
SQL
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || { echo "FAIL: a generating backend failed"; exit 1; }
done
wait "$holder"
holder=
finish=$(psql_q -At -c "SELECT clock_timestamp()")

fail=0
check() {
    local what=$1 query=$2 got
    got=$(psql_q -At -c "$query")
    if [ "$got" = t ]; then
        echo "ok: $what"
    else
        echo "FAIL: $what ($got)"
        fail=1
    fi
}

total=$((workers * per_worker))
check "$workers backends each generated $per_worker ids" \
    "SELECT count(*) = $workers AND bool_and(c = $per_worker) FROM (SELECT backend, count(*) AS c FROM ids GROUP BY backend) b"
check "the backends ran at the same time" \
    "SELECT max(started) < min(finished) FROM runs"
check "count(*) = count(DISTINCT id) = $total" \
    "SELECT count(*) = $total AND count(DISTINCT id) = $total FROM ids"
check "no id repeats (by hash as well as by sort)" \
    "SELECT NOT EXISTS (SELECT 1 FROM ids GROUP BY id HAVING count(*) > 1)"
check "within each backend ids strictly increase in generation order" \
    "SELECT bool_and(prev < id) FROM (SELECT id, lag(id) OVER (PARTITION BY backend ORDER BY seq) AS prev FROM ids) s WHERE prev IS NOT NULL"
check "each backend used one set of 5 random bytes, different from the others" \
    "SELECT count(*) = $workers AND count(DISTINCT r) = $workers AND bool_and(k = 1)
     FROM (SELECT backend, min(encode(substr(id::bytea, 5, 5), 'hex')) AS r, count(DISTINCT substr(id::bytea, 5, 5)) AS k
           FROM ids GROUP BY backend) b"
# A 24-bit counter that wraps within a second moves that backend's clock one
# second ahead (so that its ids still increase); allow that one second.
check "objectid_timestamp lies within the run's time window" \
    "SELECT min(segext.objectid_timestamp(id)) >= date_trunc('second', '$start'::timestamptz)
        AND max(segext.objectid_timestamp(id)) <= '$finish'::timestamptz + interval '1 second' FROM ids"

[ "$fail" = 0 ] || exit 1
echo "objectid_unique: $total ids from $workers concurrent backends, all distinct"
