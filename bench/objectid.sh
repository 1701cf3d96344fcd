#!/usr/bin/env bash
# bench/objectid.sh: objectid against uuid and text holding the same ids.
#
# Generates 5,000,000 ids once with segext.objectid_generate() (one backend,
# so time-ordered, a few seconds' worth) and stores them, in the same
# shuffled row order, as:
#   objectid   segext.objectid (12 bytes)
#   uuid_pad   uuid: the same 12 bytes followed by 4 zero bytes (same order)
#   uuid_rand  uuid: gen_random_uuid() (what a uuid key usually holds)
#   text       text, 24 hex digits, database default collation (C.UTF-8)
#   text_c     text, 24 hex digits, COLLATE "C"
# Then, in one run, for each table: a plain count(*) (the floor), a sort of
# the key (ORDER BY with OFFSET 0, so the Sort node really runs), a join of
# the table with a copy of itself on the key, and CREATE INDEX (btree), each
# 3 times, reporting the median; plus the index size.
#
#   bash bench/objectid.sh               builds, starts a throwaway cluster, runs, stops
#   SEGEXT_SKIP_INSTALL=1                skip apt-get
#   BENCH_ROWS=1000000                   fewer rows
#
# Settings: work_mem 1GB and maintenance_work_mem 1GB (sorts in memory),
# parallel query off (one core per measurement, less noise on 2 cores).

source "$(dirname "$0")/../scripts/lib.sh"
cd "$SEGEXT_ROOT"
ROWS=${BENCH_ROWS:-5000000}
REPS=3
KINDS="objectid uuid_pad uuid_rand text text_c"

[ "${SEGEXT_SKIP_INSTALL:-0}" = 1 ] || install_prerequisites
build_extension
start_cluster
mkdir -p bench/out
raw=bench/out/objectid_raw.txt
createdb segext_bench

settings="SET work_mem = '1GB'; SET maintenance_work_mem = '1GB';
SET max_parallel_workers_per_gather = 0; SET max_parallel_maintenance_workers = 0;
SET jit = off;"

log "generating $ROWS ids"
psql -X -q -v ON_ERROR_STOP=1 -d segext_bench <<SQL
$settings
CREATE EXTENSION segext;
CREATE TABLE src AS SELECT n, segext.objectid_generate() AS id, random() AS r
    FROM generate_series(1, $ROWS) n;
CREATE TABLE t_objectid AS SELECT id FROM src ORDER BY r;
CREATE TABLE t_uuid_pad AS SELECT (encode(id::bytea, 'hex') || '00000000')::uuid AS id FROM src ORDER BY r;
CREATE TABLE t_uuid_rand AS SELECT gen_random_uuid() AS id FROM src ORDER BY r;
CREATE TABLE t_text AS SELECT id::text AS id FROM src ORDER BY r;
CREATE TABLE t_text_c AS SELECT id::text COLLATE "C" AS id FROM src ORDER BY r;
DROP TABLE src;
VACUUM ANALYZE;
SQL

# The measurement script: MEASURE lines mark the next "Time:" line.
{
    echo "$settings"
    echo "SET search_path = public, segext;"
    echo '\timing on'
    echo '\o /dev/null'
    for k in $KINDS; do
        echo "CREATE TABLE j_$k AS SELECT * FROM t_$k;"
        echo "VACUUM ANALYZE j_$k;"
    done
    for rep in $(seq 1 $REPS); do
        for k in $KINDS; do
            echo "SELECT count(*) FROM t_$k;"   # warm the cache
            echo "\\echo MEASURE $k seq $rep"
            echo "SELECT count(*) FROM t_$k;"
            echo "\\echo MEASURE $k sort $rep"
            echo "SELECT count(*) FROM (SELECT id FROM t_$k ORDER BY id OFFSET 0) s;"
            echo "\\echo MEASURE $k join $rep"
            echo "SELECT count(*) FROM t_$k a JOIN j_$k b ON a.id = b.id;"
            echo "\\echo MEASURE $k index $rep"
            echo "CREATE INDEX i_$k ON t_$k (id);"
            echo '\o'
            echo "SELECT 'SIZE $k ' || pg_relation_size('i_$k') || ' ' || pg_relation_size('t_$k');"
            echo '\o /dev/null'
            echo "DROP INDEX i_$k;"
        done
    done
    echo '\o'
    for k in $KINDS; do
        echo "EXPLAIN (COSTS OFF) SELECT count(*) FROM (SELECT id FROM t_$k ORDER BY id OFFSET 0) s;"
        echo "EXPLAIN (COSTS OFF) SELECT count(*) FROM t_$k a JOIN j_$k b ON a.id = b.id;"
    done
} > bench/out/objectid_measure.sql

log "measuring ($REPS repetitions)"
psql -X -q -At -v ON_ERROR_STOP=1 -d segext_bench -f bench/out/objectid_measure.sql > "$raw"
grep -A12 '^Aggregate' "$raw" | grep -E 'Sort Key|Join|Hash Cond|Merge Cond' | sort | uniq -c || true

# Print medians and ratios.
awk -v kinds="$KINDS" '
/^MEASURE / { kind = $2; what = $3; want = 1; next }
/^Time: / && want { t[kind, what, ++n[kind, what]] = $2; want = 0; next }
/^SIZE / { isize[$2] = $3; tsize[$2] = $4 }
function median(kind, what,   a, b, c) {
    a = t[kind, what, 1]; b = t[kind, what, 2]; c = t[kind, what, 3]
    if (n[kind, what] < 3) return a
    if ((a <= b && b <= c) || (c <= b && b <= a)) return b
    if ((b <= a && a <= c) || (c <= a && a <= b)) return a
    return c
}
END {
    split(kinds, K, " ")
    split("seq sort join index", W, " ")
    printf "%-10s %10s %10s %10s %12s %10s %10s\n", "key", "seq ms", "sort ms", "join ms", "index ms", "index MB", "table MB"
    for (i = 1; i <= 5; i++) {
        k = K[i]
        for (j = 1; j <= 4; j++) m[k, W[j]] = median(k, W[j])
        printf "%-10s %10.0f %10.0f %10.0f %12.0f %10.1f %10.1f\n", k, m[k, "seq"], m[k, "sort"], m[k, "join"], m[k, "index"], isize[k] / 1048576, tsize[k] / 1048576
    }
    printf "\nratios (objectid / other; below 1 means objectid is faster or smaller)\n"
    printf "%-22s %8s %8s %8s %8s %8s\n", "", "seq", "sort", "join", "index", "size"
    for (i = 2; i <= 5; i++) {
        k = K[i]
        printf "%-22s %8.2f %8.2f %8.2f %8.2f %8.2f\n", "objectid / " k, m["objectid", "seq"] / m[k, "seq"], m["objectid", "sort"] / m[k, "sort"], m["objectid", "join"] / m[k, "join"], m["objectid", "index"] / m[k, "index"], isize["objectid"] / isize[k]
    }
}' "$raw" | tee bench/out/objectid_result.txt

dropdb segext_bench
stop_cluster
trap - EXIT
