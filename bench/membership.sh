#!/usr/bin/env bash
# bench/membership.sh: membership evaluation against hand-written SQL, on the
# same data in one run.
#
#   (a) segext.segment_members(segment) against the best hand-written query
#       for that one segment, for 6 segments;
#   (b) segext.refresh_company (20 active segments, one pass, writes the
#       differences) against the one-query hand-written evaluation of the
#       same 20 segments (bench/handwritten.sql) and against one GROUP BY
#       customer aggregate scan of the transactions;
#   every figure also against the floor: a plain sequential read of the
#   company's transactions (count, sum, max, no grouping).
# Each query runs BENCH_RUNS (default 3) times in fresh sessions, in
# interleaved rounds; the median is reported.  (a) is also measured on kept
# connections, as PostgREST, a pool or a BI tool runs it: pgbench, one
# client, BENCH_POOLED_SECONDS (default 5) per side and round, BENCH_RUNS
# rounds after a warm-up round, the median of the round ratios.  Both sides
# are cross-checked to return the same members.  Peak memory is the VmHWM of
# the backend that ran the query (read from /proc/self/status by that
# backend right after it; parallel workers of the hand-written side are not
# included).
#
# Needs a running server (PGHOST/PGPORT/PGUSER, e.g. `source scripts/lib.sh;
# start_cluster`) and superuser (pg_read_file of /proc).  Creates database
# segext_bench with bench/generate.sql unless it exists (BENCH_DB to choose
# another, BENCH_SCALE=0.1 for 100k customers / 1M transactions).
# BENCH_PART=a runs only (a) (and the floor), BENCH_PART=b only (b).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${BENCH_DB:-segext_bench}
SCALE=${BENCH_SCALE:-1}
RUNS=${BENCH_RUNS:-3}
POOLED_SECONDS=${BENCH_POOLED_SECONDS:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
COMPANY=65000000000000000000b001
PART=${BENCH_PART:-ab}

# Every session: the segext schema first, and work_mem large enough that the
# SQL sides' hash aggregates do not spill (the default 4MB makes the
# hand-written query spill about 800MB per process to disk).
export PGOPTIONS="${PGOPTIONS:-} -c search_path=segext,public -c work_mem=${BENCH_WORK_MEM:-256MB}"

psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

if ! psql -X -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" -d postgres | grep -q 1; then
    createdb "$DB"
    psql_db -c 'CREATE EXTENSION segext'
    customers=$(awk "BEGIN { printf \"%d\", 1000000 * $SCALE }")
    transactions=$(awk "BEGIN { printf \"%d\", 10000000 * $SCALE }")
    echo "generating $customers customers, $transactions transactions"
    /usr/bin/time -f "generate.sql: %e s" psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v customers="$customers" -v transactions="$transactions" -f bench/generate.sql >/dev/null
fi
psql_db -f bench/segments.sql >/dev/null

# timed SQL: runs it in a fresh session, prints "<ms> <VmHWM kB>".
timed() {
    local sql=$1
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" <<SQL | awk '/^Time:/ { t = $2 } /^VmHWM/ { m = $2 } END { print t, m }'
SET search_path = segext, public;
\timing on
$sql;
\timing off
SELECT regexp_replace(l, '\s+', ' ', 'g') FROM regexp_split_to_table(pg_read_file('/proc/self/status'), E'\n') AS l WHERE l LIKE 'VmHWM%';
SQL
}


ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

FLOOR="SELECT count(*), sum(amount), max(occurred_at) FROM segext.transactions WHERE company_id = '$COMPANY'"
# The GROUP BY's figures are consumed (summed), so the planner computes them:
# with a bare count(*) over the subquery it drops the unused aggregates and
# only counts the groups (GROUPKEYS, an index-only scan; shown for reference).
GROUPBY="SELECT count(*), sum(g.n), sum(g.s), max(g.m) FROM (SELECT customer_id, count(*) AS n, sum(amount) AS s, max(occurred_at) AS m FROM segext.transactions WHERE company_id = '$COMPANY' GROUP BY customer_id) AS g"
GROUPKEYS="SELECT count(*) FROM (SELECT customer_id, count(*), sum(amount), max(occurred_at) FROM segext.transactions WHERE company_id = '$COMPANY' GROUP BY customer_id) AS g"
HAND="SELECT count(*) FROM ($(grep -v '^--' bench/handwritten.sql)) AS h"
REFRESH="SELECT segext.refresh_company('$COMPANY')"

echo "== data"
psql_db -At -c "SELECT 'customers: ' || count(*) FROM segext.customers WHERE company_id = '$COMPANY'" \
    -c "SELECT 'transactions: ' || count(*) || ', returns: ' || count(*) FILTER (WHERE returns_id IS NOT NULL) FROM segext.transactions WHERE company_id = '$COMPANY'" \
    -c "SELECT 'server: ' || version()" -c "SELECT 'jit: ' || current_setting('jit') || ', max_parallel_workers_per_gather: ' || current_setting('max_parallel_workers_per_gather') || ', work_mem: ' || current_setting('work_mem')"

declare -A T M
# median_of COLUMN: the median of that column of standard input (blank lines skipped).
median_of() { awk -v c="$1" 'NF { print $c }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# med NAME: the median of the times recorded for query NAME.
med() { printf '%s\n' ${T[$1]} | median_of 1; }
if [[ $PART != *b* ]]; then
    # (a) alone: only the floor, for the "/floor" column
    timed "$FLOOR" >/dev/null
    for ((round = 0; round < RUNS; round++)); do
        read -r ms mem <<<"$(timed "$FLOOR")"; T[FLOOR]+="$ms "
    done
    floor_ms=$(med FLOOR)
    echo "floor runs (ms): ${T[FLOOR]}"
else
echo "== warm-up (caches; the first refresh stores every membership)"
first=$(timed "$REFRESH")
echo "warm-up refresh_company: ${first% *} ms (on an empty membership table this first run also inserts every membership)"
timed "$FLOOR" >/dev/null

# Rounds interleave the queries, so a busy neighbour slows every side alike.
for ((round = 0; round < RUNS; round++)); do
    for q in FLOOR GROUPKEYS GROUPBY HAND REFRESH; do
        read -r ms mem <<<"$(timed "${!q}")"
        T[$q]+="$ms "
        M[$q]=$(( ${M[$q]:-0} > mem ? ${M[$q]:-0} : mem ))
    done
done
floor_ms=$(med FLOOR); floor_mem=${M[FLOOR]}
group_ms=$(med GROUPBY); group_mem=${M[GROUPBY]}
keys_ms=$(med GROUPKEYS); keys_mem=${M[GROUPKEYS]}
hand_ms=$(med HAND); hand_mem=${M[HAND]}
refresh_ms=$(med REFRESH); refresh_mem=${M[REFRESH]}
echo "runs (ms): floor ${T[FLOOR]}| group keys only ${T[GROUPKEYS]}| group by ${T[GROUPBY]}| hand-written ${T[HAND]}| refresh ${T[REFRESH]}"

echo "== cross-check: refresh_company members = hand-written members"
diff=$(psql_db -At -c "
    WITH h AS ($(grep -v '^--' bench/handwritten.sql)),
    r AS (SELECT s.number, m.customer_id AS id FROM segext.memberships m
          JOIN segext.segments s ON s.company_id = m.company_id AND s.id = m.segment_id
          WHERE m.company_id = '$COMPANY' AND s.number > 1)
    SELECT (SELECT count(*) FROM (SELECT * FROM h EXCEPT SELECT * FROM r) x) + (SELECT count(*) FROM (SELECT * FROM r EXCEPT SELECT * FROM h) y)
           || ' differences over ' || (SELECT count(*) FROM r) || ' memberships'")
echo "$diff"
case $diff in 0\ *) ;; *) echo "MISMATCH"; exit 1 ;; esac

echo
echo "== (b) all 20 segments, one pass (median of $RUNS, ms; peak backend memory)"
printf '%-44s %10s %8s %8s %10s\n' query ms "/floor" "/groupby" "VmHWM kB"
printf '%-44s %10s %8s %8s %10s\n' "floor: plain read (count, sum, max)" "$floor_ms" 1.00 - "$floor_mem"
printf '%-44s %10s %8s %8s %10s\n' "GROUP BY customer, groups only (reference)" "$keys_ms" "$(ratio "$keys_ms" "$floor_ms")" "$(ratio "$keys_ms" "$group_ms")" "$keys_mem"
printf '%-44s %10s %8s %8s %10s\n' "one GROUP BY customer aggregate scan" "$group_ms" "$(ratio "$group_ms" "$floor_ms")" 1.00 "$group_mem"
printf '%-44s %10s %8s %8s %10s\n' "hand-written one query, 20 segments" "$hand_ms" "$(ratio "$hand_ms" "$floor_ms")" "$(ratio "$hand_ms" "$group_ms")" "$hand_mem"
printf '%-44s %10s %8s %8s %10s\n' "segext.refresh_company, 20 segments" "$refresh_ms" "$(ratio "$refresh_ms" "$floor_ms")" "$(ratio "$refresh_ms" "$group_ms")" "$refresh_mem"
echo "refresh_company / hand-written: $(ratio "$refresh_ms" "$hand_ms")   (target for refresh / GROUP BY: <= 1.5)"
fi
[[ $PART == *a* ]] || exit 0

echo
echo "== (a) single segments: segment_members vs hand-written (median of $RUNS, ms)"
# Both sides hand every member to the session's process, as a client asking
# for the members gets them: segment_members produces its rows there, and the
# hand-written query is kept whole by OFFSET 0.  Without it the planner would
# count the members inside the parallel workers (Partial Aggregate below the
# Gather) and never produce them, which answers "how many" (that is
# segments.customers_count) rather than "who".
declare -A SINGLE
SINGLE[2]="SELECT c.id FROM segext.customers c LEFT JOIN (SELECT customer_id, count(*) AS n FROM segext.transactions WHERE company_id = '$COMPANY' AND returns_id IS NULL AND returned_amount < amount GROUP BY customer_id) t ON t.customer_id = c.id WHERE c.company_id = '$COMPANY' AND c.active AND coalesce(t.n, 0) BETWEEN 1 AND 5"
SINGLE[6]="SELECT c.id FROM segext.customers c WHERE c.company_id = '$COMPANY' AND c.active AND c.id IN (SELECT customer_id FROM segext.transactions WHERE company_id = '$COMPANY' AND pos_id = 'POS-007' AND returns_id IS NULL AND returned_amount < amount)"
SINGLE[7]="SELECT c.id FROM segext.customers c WHERE c.company_id = '$COMPANY' AND c.active AND c.id IN (SELECT customer_id FROM segext.transactions WHERE company_id = '$COMPANY' AND item_skus && '{sku-00042,sku-01234}' AND returns_id IS NULL AND returned_amount < amount)"
SINGLE[10]="SELECT c.id FROM segext.customers c WHERE c.company_id = '$COMPANY' AND c.active AND c.id IN (SELECT customer_id FROM segext.transactions WHERE company_id = '$COMPANY' AND occurred_at >= CURRENT_DATE - 30 AND occurred_at <= now() AND returns_id IS NULL AND returned_amount < amount)"
SINGLE[15]="SELECT c.id FROM segext.customers c WHERE c.company_id = '$COMPANY' AND c.active AND EXISTS (SELECT FROM jsonb_array_elements(c.labels) l(v) WHERE lower(l.v ->> 'key') = 'tier')"
SINGLE[17]="SELECT c.id FROM segext.customers c WHERE c.company_id = '$COMPANY' AND c.active AND c.id = ANY ('{650000000100000000000001,650000000100000000000064,6500000001000000000003e8,650000000100000000002710,6500000001000000000186a0}'::segext.objectid[])"
# pooled SQL1 SQL2: each side on one kept connection (as PostgREST, a
# connection pool or a BI tool runs it), timed by pgbench: BENCH_RUNS rounds,
# each running SQL1 then SQL2 for BENCH_POOLED_SECONDS (at least one call),
# after one unmeasured round.  Prints the median latency of each side (ms) and
# the median of the per-round ratios.
pooled() {
    local a b rounds=""
    printf '%s;\n' "$1" >"$WORK/pooled_a.sql"
    printf '%s;\n' "$2" >"$WORK/pooled_b.sql"
    for ((round = -1; round < RUNS; round++)); do
        a=$(pgbench -n -T "$POOLED_SECONDS" -f "$WORK/pooled_a.sql" "$DB" 2>&1 | awk '/^latency average/ { print $4 }')
        b=$(pgbench -n -T "$POOLED_SECONDS" -f "$WORK/pooled_b.sql" "$DB" 2>&1 | awk '/^latency average/ { print $4 }')
        [ -n "$a" ] && [ -n "$b" ] || { echo "pgbench failed" >&2; exit 1; }
        ((round < 0)) || rounds+="$a $b"$'\n'
    done
    echo "$(median_of 1 <<<"$rounds") $(median_of 2 <<<"$rounds") $(awk 'NF == 2 { printf "%.2f\n", $1 / $2 }' <<<"$rounds" | median_of 1)"
}
printf '%-32s %10s %10s %8s %8s %8s | %11s %11s %8s\n' segment members_ms hand_ms ratio "/floor" members pooled_mem pooled_hand ratio
for n in 2 6 7 10 15 17; do
    sid=$(psql_db -At -c "SELECT id FROM segext.segments WHERE company_id = '$COMPANY' AND number = $n")
    name=$(psql_db -At -c "SELECT name FROM segext.segments WHERE company_id = '$COMPANY' AND number = $n")
    mt=(); ht=()
    for ((round = 0; round < RUNS; round++)); do
        read -r ms mem <<<"$(timed "SELECT count(*) FROM segext.segment_members('$sid')")"; mt+=("$ms")
        read -r ms mem <<<"$(timed "SELECT count(*) FROM (${SINGLE[$n]} OFFSET 0) AS h")"; ht+=("$ms")
    done
    m_ms=$(printf '%s\n' "${mt[@]}" | median_of 1)
    h_ms=$(printf '%s\n' "${ht[@]}" | median_of 1)
    check=$(psql_db -At -c "SELECT (SELECT count(*) FROM (SELECT customer_id FROM segext.segment_members('$sid') EXCEPT ${SINGLE[$n]}) a) + (SELECT count(*) FROM (${SINGLE[$n]} EXCEPT SELECT customer_id FROM segext.segment_members('$sid')) b) || ' ' || (SELECT count(*) FROM segext.segment_members('$sid'))")
    [ "${check%% *}" = 0 ] || { echo "MISMATCH in segment $n: $check"; exit 1; }
    read -r wm wh wr <<<"$(pooled "SELECT count(*) FROM segext.segment_members('$sid')" "SELECT count(*) FROM (${SINGLE[$n]} OFFSET 0) AS h")"
    printf '%-32s %10s %10s %8s %8s %8s | %11s %11s %8s\n' "$n $name" "$m_ms" "$h_ms" "$(ratio "$m_ms" "$h_ms")" "$(ratio "$m_ms" "$floor_ms")" "${check#* }" "$wm" "$wh" "$wr"
done
