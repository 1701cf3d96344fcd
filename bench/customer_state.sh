#!/usr/bin/env bash
# bench/customer_state.sh: what keeping segext.customer_states costs.
#
#   (1) rebuild_customer_states of the bench company against its floor (the
#       same ordered read of the transactions, EXPLAIN ANALYZE without
#       timing), and bytes of state per customer (table with indexes and
#       TOAST / state rows; also per row the average pg_column_size of the
#       row and of figures);
#   (2) one sale (with an item) inserted into segext.transactions, with the
#       state trigger against the same insert with it disabled, and against
#       the floor: the same insert into a plain copy of the table (same
#       columns and indexes, no trigger).  pgbench, one client,
#       BENCH_SECONDS (default 10) per side and round, BENCH_RUNS (default 3)
#       interleaved rounds; mean latency per round, median of rounds;
#   (3) COPY of BENCH_COPY_ROWS (default 1,000,000) sales in one statement,
#       with the state trigger against disabled and against the plain copy;
#       each COPY runs in a transaction that is rolled back; BENCH_RUNS
#       interleaved rounds, median and spread.
#
# Needs a running server (PGHOST/PGPORT/PGUSER, superuser: COPY to and from
# a server file).  Creates database segext_state_bench with
# bench/generate.sql at BENCH_SCALE (default 0.1: 100k customers, 1M
# transactions; 1 for 1M / 10M) unless it exists (BENCH_DB to choose).
# BENCH_PART=13 runs only parts (1) and (3), and so on.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${BENCH_DB:-segext_state_bench}
SCALE=${BENCH_SCALE:-0.1}
RUNS=${BENCH_RUNS:-3}
SECONDS_PER_SIDE=${BENCH_SECONDS:-10}
COPY_ROWS=${BENCH_COPY_ROWS:-1000000}
COMPANY=65000000000000000000b001
PART=${BENCH_PART:-123}
WORK=$(mktemp -d /tmp/segext_state_bench.XXXXXX)
chmod 777 "$WORK"
trap 'rm -rf "$WORK"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
# median_of: the median of the numbers on standard input.
median_of() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# spread_of: min-max of the numbers on standard input.
spread_of() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }

customers=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
if ! psql -X -q -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    createdb "$DB"
    q -c "CREATE EXTENSION segext"
    q -v customers="$customers" -v transactions=$((customers * 10)) -f bench/generate.sql >/dev/null
fi
q -c "VACUUM ANALYZE segext.transactions" >/dev/null

if [[ $PART == *1* ]]; then
echo "== (1) rebuild and size ($customers customers)"
start=$(date +%s.%N)
rows=$(q -c "SELECT segext.rebuild_customer_states('$COMPANY')")
end=$(date +%s.%N)
q -c "VACUUM ANALYZE segext.customer_states" >/dev/null
echo "rebuild_customer_states: $rows state rows in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
# the floor: the rebuild's read alone, the company's transactions in customer order
floor_ms=$(q -c "EXPLAIN (ANALYZE, TIMING OFF) SELECT company_id, customer_id, amount, returns_id, returned_amount,
                        occurred_at, pos_id, item_skus, item_makers, item_labels, items
                 FROM segext.transactions WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY'::segext.objectid
                 ORDER BY customer_id" | sed -n 's/^Execution Time: \([0-9.]*\) ms/\1/p')
awk -v a="$start" -v b="$end" -v f="$floor_ms" 'BEGIN { printf "floor (ordered read of the transactions): %.1f s; rebuild / floor %.2f\n", f / 1000, (b - a) * 1000 / f }'
q -F ' ' <<SQL
SELECT 'bytes per state row: table+indexes+toast', pg_catalog.round(pg_catalog.pg_total_relation_size('segext.customer_states')::numeric / pg_catalog.count(*), 1),
       'heap', pg_catalog.round(pg_catalog.pg_relation_size('segext.customer_states')::numeric / pg_catalog.count(*), 1),
       'row', pg_catalog.round(pg_catalog.avg(pg_catalog.pg_column_size(s.*)), 1),
       'figures', pg_catalog.round(pg_catalog.avg(pg_catalog.pg_column_size(s.figures)), 1),
       'per customer (all customers)', pg_catalog.round(pg_catalog.pg_total_relation_size('segext.customer_states')::numeric /
           (SELECT pg_catalog.count(*) FROM segext.customers), 1)
FROM segext.customer_states AS s;
SQL

fi

# The plain copy of the table: same columns and indexes, no trigger.
q <<'SQL'
DROP TABLE IF EXISTS public.plain_transactions;
CREATE TABLE public.plain_transactions (LIKE segext.transactions INCLUDING DEFAULTS INCLUDING INDEXES);
SQL

if [[ $PART == *2* ]]; then
echo "== (2) one sale per statement, pgbench, 1 client, ${SECONDS_PER_SIDE}s per side, $RUNS rounds"
for target in segext.transactions public.plain_transactions; do
    cat >"$WORK/$target.sql" <<SQL
\set c random(1, $((customers * 9 / 10)))
INSERT INTO $target (company_id, customer_id, amount, pos_id, items) VALUES ('$COMPANY', ('\\x6500000001'::bytea OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.int8send(:c), 2))::segext.objectid, 12.50, 'POS-001', '[{"sku": "A-1", "maker": "Acme", "labels": [{"key": "color", "value": "red"}]}]');
SQL
done
# latency FILE: mean latency (ms) of a pgbench run.
latency() { pgbench -n -d "$DB" -c 1 -T "$SECONDS_PER_SIDE" -f "$1" 2>/dev/null | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p'; }
with=() without=() plain=()
latency "$WORK/segext.transactions.sql" >/dev/null
for ((r = 0; r < RUNS; r++)); do
    with+=("$(latency "$WORK/segext.transactions.sql")")
    q -c "ALTER TABLE segext.transactions DISABLE TRIGGER transactions_state_insert"
    without+=("$(latency "$WORK/segext.transactions.sql")")
    q -c "ALTER TABLE segext.transactions ENABLE TRIGGER transactions_state_insert"
    plain+=("$(latency "$WORK/public.plain_transactions.sql")")
done
mw=$(printf '%s\n' "${with[@]}" | median_of); mo=$(printf '%s\n' "${without[@]}" | median_of); mp=$(printf '%s\n' "${plain[@]}" | median_of)
echo "with state trigger (ms):    ${with[*]}  median $mw"
echo "without state trigger (ms): ${without[*]}  median $mo"
echo "plain table (ms):           ${plain[*]}  median $mp"
awk -v a="$mw" -v b="$mo" -v c="$mp" 'BEGIN { printf "ratio with/without %.2f, with/plain %.2f, without/plain %.2f, state trigger %.3f ms per sale\n", a / b, a / c, b / c, a - b }'
q -c "DELETE FROM segext.transactions WHERE id OPERATOR(pg_catalog.>) '6700ffffffffffffffffffff'" >/dev/null
q -c "TRUNCATE public.plain_transactions" >/dev/null
fi

[[ $PART == *3* ]] || exit 0

echo "== (3) COPY of $COPY_ROWS sales in one statement, $RUNS rounds"
q -c "COPY (SELECT t.company_id, t.customer_id, t.occurred_at, t.amount, t.pos_id, t.items
            FROM segext.transactions AS t CROSS JOIN pg_catalog.generate_series(1, 2)
            WHERE t.returns_id IS NULL LIMIT $COPY_ROWS) TO '$WORK/sales.copy'"
# copy_ms TABLE [DISABLE]: milliseconds of the COPY (rolled back).
copy_ms() {
    local pre=""
    [ "${2:-}" = disable ] && pre="ALTER TABLE segext.transactions DISABLE TRIGGER transactions_state_insert;"
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
BEGIN;
$pre
\\timing on
COPY $1 (company_id, customer_id, occurred_at, amount, pos_id, items) FROM '$WORK/sales.copy';
\\timing off
ROLLBACK;
SQL
}
cw=() co=() cp=()
for ((r = 0; r < RUNS; r++)); do
    cw+=("$(copy_ms segext.transactions)")
    co+=("$(copy_ms segext.transactions disable)")
    cp+=("$(copy_ms public.plain_transactions)")
    q -c "VACUUM segext.transactions, segext.customer_states, public.plain_transactions" >/dev/null
done
mw=$(printf '%s\n' "${cw[@]}" | median_of); mo=$(printf '%s\n' "${co[@]}" | median_of); mp=$(printf '%s\n' "${cp[@]}" | median_of)
echo "with state trigger (ms):    ${cw[*]}  median $mw  spread $(printf '%s\n' "${cw[@]}" | spread_of)"
echo "without state trigger (ms): ${co[*]}  median $mo  spread $(printf '%s\n' "${co[@]}" | spread_of)"
echo "plain table (ms):           ${cp[*]}  median $mp  spread $(printf '%s\n' "${cp[@]}" | spread_of)"
awk -v a="$mw" -v b="$mo" -v c="$mp" 'BEGIN { printf "ratio with/without %.2f, with/plain %.2f, without/plain %.2f\n", a / b, a / c, b / c }'
