#!/usr/bin/env bash
# bench/fresh_membership.sh: what always-fresh membership costs, side by side
# in one run, on the data of bench/generate.sql with 50 active segments
# (bench/segments.sql and bench/segments_more.sql: every criterion kind).
#
#   (1) one sale with two items inserted through segext_api.transactions
#       (state, membership and history kept in the statement) against the
#       same row inserted into public.plain_transactions, an identical table
#       without segext's triggers (same columns, defaults, checks, indexes
#       and the foreign key to the customers; the derived item arrays given
#       as the trigger computes them, so the GIN indexes do the same work);
#       pgbench, 1 client and 8 clients, BENCH_SECONDS (10) per side, one
#       INSERT per transaction (so its logged latency is the statement's),
#       BENCH_RUNS (3) interleaved rounds: mean and p99 per side, the
#       median of the per-round mean ratios and their spread; the floor is
#       a plain read of one customer's transactions (same pgbench setup);
#   (2) COPY of BENCH_COPY_ROWS sales (default 1,000,000 x BENCH_SCALE)
#       into segext.transactions against the plain table, each in a
#       transaction that is rolled back; the floor is a plain read of the
#       company's transactions (count, sum, max); both sides run with
#       work_mem BENCH_COPY_WORK_MEM (default 4MB, the server's default: the
#       maintenance's memory grows with work_mem, not with the rows); the
#       maintenance's memory is
#       the peak RssAnon of the backend during the COPY minus its RssAnon
#       before (sampled every 10 ms from /proc, private memory only: shared
#       buffers are not counted, unlike VmHWM);
#   (3) segext.segment_members of each of the 50 segments, each in a fresh
#       session, against the hand-written query of bench/handwritten.sql
#       (all 20 segments of bench/segments.sql in one pass) and the floor;
#       the members of those 20 are cross-checked against the hand-written
#       ones, and the stored members of all 50 against segment_members;
#   (4) state size: bytes of segext.customer_states (table, indexes, TOAST)
#       per state row and per customer; memory per single-sale statement:
#       RssAnon growth of a fresh backend over its first sale and per sale
#       over the next 1,000 (one statement each), both sides.
#
# Needs a running server (PGHOST/PGPORT/PGUSER, superuser: COPY from a server
# file, /proc of the backend; run as root or the server's OS user).  Creates
# database segext_fresh_bench with bench/generate.sql at BENCH_SCALE
# (default 1: 1M customers, 10M transactions; 0.01 for a quick run) unless
# it exists (BENCH_DB to choose).  BENCH_PART=13 runs only parts (1) and
# (3), and so on.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${BENCH_DB:-segext_fresh_bench}
SCALE=${BENCH_SCALE:-1}
RUNS=${BENCH_RUNS:-3}
SECONDS_PER_SIDE=${BENCH_SECONDS:-10}
COPY_ROWS=${BENCH_COPY_ROWS:-$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')}
PART=${BENCH_PART:-1234}
# work_mem of the COPYs of (2), both sides: the server's default unless set
COPY_WORK_MEM=${BENCH_COPY_WORK_MEM:-4MB}
COMPANY=65000000000000000000b001
PGBENCH=${SEGEXT_PG_BIN:-/usr/lib/postgresql/15/bin}/pgbench
[ -x "$PGBENCH" ] || PGBENCH=pgbench
WORK=$(mktemp -d /tmp/segext_fresh_bench.XXXXXX)
chmod 777 "$WORK"
trap 'rm -rf "$WORK"' EXIT
# Every session: the segext schema first (bench/handwritten.sql is written
# for it) and work_mem large enough that the hand-written query's hash
# aggregates do not spill; the API sessions act for the bench company.
export PGOPTIONS="${PGOPTIONS:-} -c search_path=segext,public -c work_mem=${BENCH_WORK_MEM:-256MB}"
AS_COMPANY="$PGOPTIONS -c segext.company_id=$COMPANY"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
# median_of: the median of the numbers on standard input.
median_of() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# spread_of: min-max of the numbers on standard input.
spread_of() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

customers=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
buyers=$((customers * 9 / 10))
if ! psql -X -q -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    createdb "$DB"
    q -c "CREATE EXTENSION segext"
    echo "generating $customers customers, $((customers * 10)) transactions"
    q -v customers="$customers" -v transactions=$((customers * 10)) -f bench/generate.sql >/dev/null
fi
# 50 active segments; the rebuild computes every state and member (the
# generated rows bypassed the triggers).
q -f bench/segments.sql -f bench/segments_more.sql >/dev/null
start=$(date +%s.%N)
q -c "SELECT segext.refresh_company('$COMPANY')" >/dev/null
if [ "$(q -c "SELECT count(*) > 0 FROM segext.customer_states WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY'")" = f ]; then
    q -c "SELECT segext.rebuild_customer_states('$COMPANY')" >/dev/null
fi
end=$(date +%s.%N)
q -c "VACUUM ANALYZE segext.transactions, segext.customer_states, segext.memberships" >/dev/null
echo "== data"
q -F ' ' <<SQL
SELECT 'customers:', count(*), 'active:', count(*) FILTER (WHERE active) FROM segext.customers WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY';
SELECT 'transactions:', count(*) FROM segext.transactions WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY';
SELECT 'active segments:', count(*) FROM segext.segments WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY' AND active;
SELECT 'memberships:', count(*) FROM segext.memberships WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY';
SELECT 'server:', version();
SQL
echo "refresh_company (state and members rebuilt): $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# The plain copy: same columns, defaults, checks and indexes, the foreign key
# to the customers, no trigger.
q <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.plain_transactions;
CREATE TABLE public.plain_transactions (LIKE segext.transactions INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
ALTER TABLE public.plain_transactions ADD FOREIGN KEY (company_id, customer_id) REFERENCES segext.customers (company_id, id);
SQL

ITEMS='[{"sku": "SKU-00042", "maker": "Maker-017", "labels": [{"key": "Color", "value": "Red"}], "quantity": 1, "amount": 6.25}, {"sku": "SKU-01234", "maker": "Maker-034", "labels": [{"key": "Color", "value": "Blue"}], "quantity": 2, "amount": 3.125}]'
CUSTOMER="('\\x6500000001'::bytea OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.int8send(:c), 2))::segext.objectid"
cat >"$WORK/api.sql" <<SQL
\\set c random(1, $buyers)
INSERT INTO segext_api.transactions (customer_id, amount, pos_id, items) VALUES ($CUSTOMER, 12.50, 'POS-BENCH', '$ITEMS');
SQL
cat >"$WORK/plain.sql" <<SQL
\\set c random(1, $buyers)
INSERT INTO public.plain_transactions (company_id, customer_id, amount, pos_id, items, item_skus, item_makers, item_labels) VALUES ('$COMPANY', $CUSTOMER, 12.50, 'POS-BENCH', '$ITEMS', '{sku-00042,sku-01234}', '{maker-017,maker-034}', ARRAY['color' || pg_catalog.chr(31) || 'blue', 'color' || pg_catalog.chr(31) || 'red']);
SQL
# The writes: the plain sale and, by plain SQL on trigger-less copies of
# segext's tables (same columns, indexes and data), the rows segext writes
# for a sale: the customer's state row updated, WRITES_PER_SALE members,
# as many history rows and count rows (WRITES_PER_SALE is measured below:
# the history rows an API sale wrote on average).
q <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.plain_states, public.plain_memberships, public.plain_history, public.plain_counts;
CREATE TABLE public.plain_states (LIKE segext.customer_states INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO public.plain_states SELECT * FROM segext.customer_states;
CREATE TABLE public.plain_memberships (LIKE segext.memberships INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO public.plain_memberships SELECT * FROM segext.memberships;
CREATE TABLE public.plain_history (LIKE segext.membership_history INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES);
INSERT INTO public.plain_history OVERRIDING SYSTEM VALUE SELECT * FROM segext.membership_history;
DO $$ BEGIN PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('public.plain_history', 'id'), pg_catalog.max(id)) FROM public.plain_history; END $$;
CREATE TABLE public.plain_counts (LIKE segext.segment_member_counts INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO public.plain_counts SELECT * FROM segext.segment_member_counts;
VACUUM ANALYZE public.plain_states, public.plain_memberships, public.plain_history, public.plain_counts;
SQL
# writes_sql K: the script of the writes side with K member rows per sale.
writes_sql() {
    cat <<SQL
\\set c random(1, $buyers)
\\set s random(1, 1000000000)
WITH t AS (INSERT INTO public.plain_transactions (company_id, customer_id, amount, pos_id, items, item_skus, item_makers, item_labels) VALUES ('$COMPANY', $CUSTOMER, 12.50, 'POS-BENCH', '$ITEMS', '{sku-00042,sku-01234}', '{maker-017,maker-034}', ARRAY['color' || pg_catalog.chr(31) || 'blue', 'color' || pg_catalog.chr(31) || 'red'])
           RETURNING company_id, customer_id, occurred_at),
 st AS (UPDATE public.plain_states AS s SET transactions = s.transactions + 1, sales = s.sales + 1, amount = s.amount + 1250, figures = s.figures, last_sale_at = t.occurred_at
           FROM t WHERE s.company_id OPERATOR(pg_catalog.=) t.company_id AND s.customer_id OPERATOR(pg_catalog.=) t.customer_id RETURNING s.customer_id),
 m AS (INSERT INTO public.plain_memberships (company_id, segment_id, customer_id)
           SELECT t.company_id, ('\\x65000000ff'::bytea OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.int8send(:s::pg_catalog.int8 * 64 + g), 2))::segext.objectid, t.customer_id
           FROM t, pg_catalog.generate_series(1, $1) AS g ON CONFLICT DO NOTHING RETURNING company_id, segment_id, customer_id),
 h AS (INSERT INTO public.plain_history (company_id, segment_id, customer_id, kind) SELECT company_id, segment_id, customer_id, 'entered' FROM m RETURNING id),
 k AS (INSERT INTO public.plain_counts (company_id, segment_id, delta) SELECT company_id, segment_id, 1 FROM m)
SELECT (SELECT pg_catalog.count(*) FROM h), (SELECT pg_catalog.count(*) FROM st);
SQL
}
cat >"$WORK/floor.sql" <<SQL
\\set c random(1, $buyers)
SELECT pg_catalog.count(*), pg_catalog.sum(amount), pg_catalog.max(occurred_at) FROM segext.transactions WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY' AND customer_id OPERATOR(pg_catalog.=) $CUSTOMER;
SQL
# the derived arrays of the plain side are what the trigger computes
derived=$(q <<SQL
BEGIN;
INSERT INTO segext.transactions (company_id, customer_id, amount, items) VALUES ('$COMPANY', '650000000100000000000001', 1, '$ITEMS')
RETURNING item_skus = '{sku-00042,sku-01234}' AND item_makers = '{maker-017,maker-034}'
      AND item_labels = ARRAY['color' || pg_catalog.chr(31) || 'blue', 'color' || pg_catalog.chr(31) || 'red'];
ROLLBACK;
SQL
)
[ "$derived" = t ] || { echo "the plain side's item arrays differ from the trigger's"; exit 1; }

# pgbench_run SCRIPT CLIENTS: "<mean ms> <p99 ms>" of one run, from the
# per-transaction log (one statement per transaction).
pgbench_run() {
    local prefix="$WORK/log_$$_$RANDOM"
    (cd "$WORK" && PGOPTIONS=$AS_COMPANY "$PGBENCH" -n -d "$DB" -c "$2" -j "$2" -T "$SECONDS_PER_SIDE" -f "$1" -l --log-prefix="$prefix" >/dev/null 2>"$prefix.err") \
        || { cat "$prefix.err" >&2; exit 1; }
    cat "$prefix".[0-9]* | awk '{ print $3 / 1000 }' | sort -g |
        awk '{ a[NR] = $1; s += $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.3f %.3f\n", s / NR, a[i] }'
    rm -f "$prefix".*
}

if [[ $PART == *1* ]]; then
echo
echo "== (1) one sale with two items per statement, pgbench, ${SECONDS_PER_SIDE}s per side, $RUNS interleaved rounds"
history_before=$(q -c "SELECT pg_catalog.count(*) FROM segext.membership_history")
sales_before=$(q -c "SELECT pg_catalog.count(*) FROM segext.transactions WHERE pos_id = 'POS-BENCH'")
pgbench_run "$WORK/api.sql" 1 >/dev/null; pgbench_run "$WORK/plain.sql" 1 >/dev/null
WRITES_PER_SALE=$(q -c "SELECT GREATEST(1, pg_catalog.round((pg_catalog.count(*) - $history_before)::numeric
                          / NULLIF((SELECT pg_catalog.count(*) FROM segext.transactions WHERE pos_id = 'POS-BENCH') - $sales_before, 0)))
                        FROM segext.membership_history")
writes_sql "$WRITES_PER_SALE" >"$WORK/writes.sql"
echo "an API sale changed $WRITES_PER_SALE members on average (history rows per sale in the warm-up): the writes side writes as many"
printf '%-8s %-42s %10s %10s %10s %18s\n' clients side "mean ms" "p99 ms" "/floor" "runs (mean ms)"
for clients in 1 8; do
    declare -A MEAN=() P99=()
    ratios="" write_ratios=""
    for ((r = 0; r < RUNS; r++)); do
        for side in api plain writes floor; do
            read -r mean p99 <<<"$(pgbench_run "$WORK/$side.sql" "$clients")"
            MEAN[$side]+="$mean "; P99[$side]+="$p99 "
            declare "last_$side=$mean"
        done
        # shellcheck disable=SC2154  # set by declare above
        ratios+="$(ratio "$last_api" "$last_plain") "
        # shellcheck disable=SC2154  # set by declare above
        write_ratios+="$(ratio "$last_writes" "$last_plain") "
    done
    fm=$(printf '%s\n' ${MEAN[floor]} | median_of)
    for side in api plain writes floor; do
        case $side in
            api) label="segext_api.transactions (fresh membership)" ;;
            plain) label="plain table, no segext trigger" ;;
            writes) label="plain sale + segext's rows by plain SQL" ;;
            floor) label="floor: read of one customer's rows" ;;
        esac
        m=$(printf '%s\n' ${MEAN[$side]} | median_of); p=$(printf '%s\n' ${P99[$side]} | median_of)
        printf '%-8s %-42s %10s %10s %10s %18s\n' "$clients" "$label" "$m" "$p" "$(ratio "$m" "$fm")" "$(printf '%s\n' ${MEAN[$side]} | spread_of)"
    done
    echo "$clients client(s): mean ratio segext/plain, median of rounds $(printf '%s\n' $ratios | median_of) (spread $(printf '%s\n' $ratios | spread_of))"
    echo "$clients client(s): mean ratio writes/plain (the rows alone), median of rounds $(printf '%s\n' $write_ratios | median_of) (spread $(printf '%s\n' $write_ratios | spread_of))"
    unset MEAN P99
done
q -c "DELETE FROM segext.transactions WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY' AND pos_id = 'POS-BENCH'" >/dev/null
q -c "TRUNCATE public.plain_transactions" >/dev/null
q -c "DROP TABLE public.plain_states, public.plain_memberships, public.plain_history, public.plain_counts" >/dev/null
q -c "VACUUM ANALYZE segext.transactions, segext.customer_states, segext.memberships, public.plain_transactions" >/dev/null
fi

FLOOR="SELECT pg_catalog.count(*), pg_catalog.sum(amount), pg_catalog.max(occurred_at) FROM segext.transactions WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY'"
# timed SQL: runs it in a fresh session, prints its milliseconds.
timed() {
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
\\timing on
$1;
SQL
}

if [[ $PART == *2* ]]; then
echo
echo "== (2) COPY of $COPY_ROWS sales in one statement (rolled back), work_mem $COPY_WORK_MEM, $RUNS interleaved rounds"
q -c "COPY (SELECT t.company_id, t.customer_id, t.occurred_at, t.amount, t.pos_id, t.items
            FROM segext.transactions AS t CROSS JOIN pg_catalog.generate_series(1, 2)
            WHERE t.company_id OPERATOR(pg_catalog.=) '$COMPANY' AND t.returns_id IS NULL LIMIT $COPY_ROWS) TO '$WORK/sales.copy'"
q -c "COPY (SELECT t.company_id, t.customer_id, t.occurred_at, t.amount, t.pos_id, t.items, t.item_skus, t.item_makers, t.item_labels
            FROM segext.transactions AS t CROSS JOIN pg_catalog.generate_series(1, 2)
            WHERE t.company_id OPERATOR(pg_catalog.=) '$COMPANY' AND t.returns_id IS NULL LIMIT $COPY_ROWS) TO '$WORK/plain.copy'"
# copy_run TABLE FILE COLUMNS: "<ms> <peak RssAnon growth kB>" of one COPY.
copy_run() {
    local pidfile="$WORK/copy.pid" stop="$WORK/copy.stop" peakfile="$WORK/copy.peak"
    rm -f "$pidfile" "$stop" "$peakfile"
    (
        while [ ! -s "$pidfile" ]; do sleep 0.01; done
        pid=$(tr -dc '0-9' <"$pidfile")
        base=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status"); peak=$base
        while [ ! -e "$stop" ]; do
            now=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
            [ "${now:-0}" -gt "$peak" ] && peak=$now
            sleep 0.01
        done
        echo $((peak - base)) >"$peakfile"
    ) &
    local sampler=$!
    ms=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
\\o $pidfile
SELECT pg_catalog.pg_backend_pid();
\\o
\\! sleep 0.1
BEGIN;
SET LOCAL work_mem = '$COPY_WORK_MEM';
\\timing on
COPY $1 ($3) FROM '$2';
\\timing off
\\! touch $stop
ROLLBACK;
SQL
)
    wait "$sampler"
    echo "$ms $(cat "$peakfile")"
}
declare -A CT=() CM=()
copy_ratios=""
for ((r = 0; r < RUNS; r++)); do
    read -r ms kb <<<"$(copy_run segext.transactions "$WORK/sales.copy" "company_id, customer_id, occurred_at, amount, pos_id, items")"
    CT[api]+="$ms "; CM[api]+="$kb "; a=$ms
    read -r ms kb <<<"$(copy_run public.plain_transactions "$WORK/plain.copy" "company_id, customer_id, occurred_at, amount, pos_id, items, item_skus, item_makers, item_labels")"
    CT[plain]+="$ms "; CM[plain]+="$kb "
    copy_ratios+="$(ratio "$a" "$ms") "
    CT[floor]+="$(timed "$FLOOR") "
    q -c "VACUUM segext.transactions, segext.customer_states, segext.memberships, public.plain_transactions" >/dev/null
done
fm=$(printf '%s\n' ${CT[floor]} | median_of)
printf '%-40s %10s %8s %14s %20s\n' side "ms" "/floor" "RssAnon +kB" "runs (ms)"
for side in api plain floor; do
    case $side in
        api) label="COPY into segext.transactions" ;;
        plain) label="COPY into the plain table" ;;
        floor) label="floor: plain read of the company" ;;
    esac
    m=$(printf '%s\n' ${CT[$side]} | median_of)
    mem=-; [ "$side" = floor ] || mem=$(printf '%s\n' ${CM[$side]} | median_of)
    printf '%-40s %10s %8s %14s %20s\n' "$label" "$m" "$(ratio "$m" "$fm")" "$mem" "$(printf '%s\n' ${CT[$side]} | spread_of)"
done
echo "COPY segext/plain: median of rounds $(printf '%s\n' $copy_ratios | median_of) (spread $(printf '%s\n' $copy_ratios | spread_of))"
fi

if [[ $PART == *3* ]]; then
echo
echo "== (3) segment_members of each segment (fresh session each, median of $RUNS) against the hand-written query and the floor"
HAND="SELECT pg_catalog.count(*) FROM ($(grep -v '^--' bench/handwritten.sql)) AS h"
declare -A ST=()
hand="" floor=""
mapfile -t segs < <(q -F ' ' -c "SELECT number, id FROM segext.segments WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY' AND number > 1 AND active ORDER BY number")
for ((r = 0; r < RUNS; r++)); do
    floor+="$(timed "$FLOOR") "
    hand+="$(timed "$HAND") "
    for s in "${segs[@]}"; do
        ST[${s% *}]+="$(timed "SELECT pg_catalog.count(*) FROM segext.segment_members('${s#* }')") "
    done
done
fm=$(printf '%s\n' $floor | median_of); hm=$(printf '%s\n' $hand | median_of)
echo "floor: plain read of the company's transactions: $fm ms (runs $floor)"
echo "hand-written, the 20 segments of segments.sql in one query: $hm ms (runs $hand), /floor $(ratio "$hm" "$fm")"
printf '%-6s %-40s %10s %10s %8s %14s %8s\n' number name members ms "/floor" "/hand-written" spread
total20=0
for s in "${segs[@]}"; do
    n=${s% *}; id=${s#* }
    m=$(printf '%s\n' ${ST[$n]} | median_of)
    [ "$n" -le 21 ] && total20=$(awk -v a="$total20" -v b="$m" 'BEGIN { print a + b }')
    read -r name members <<<"$(q -F '|' -c "SELECT name, (SELECT count(*) FROM segext.segment_members(id)) FROM segext.segments WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY' AND number = $n" | awk -F'|' '{ gsub(/ /, "_", $1); print $1, $2 }')"
    printf '%-6s %-40s %10s %10s %8s %14s %8s\n' "$n" "${name//_/ }" "$members" "$m" "$(ratio "$m" "$fm")" "$(ratio "$m" "$hm")" "$(printf '%s\n' ${ST[$n]} | spread_of)"
done
echo "the 20 segments of segments.sql, one segment_members call each: $total20 ms in all, /hand-written $(ratio "$total20" "$hm")"
echo "cross-check: members of segment_members = hand-written members (20 segments), stored members = segment_members (50 segments)"
diff=$(q -c "
    WITH h AS ($(grep -v '^--' bench/handwritten.sql)),
    e AS (SELECT s.number, m.customer_id AS id FROM segext.segments AS s
          CROSS JOIN LATERAL segext.segment_members(s.id) AS m
          WHERE s.company_id OPERATOR(pg_catalog.=) '$COMPANY' AND s.number BETWEEN 2 AND 21)
    SELECT (SELECT count(*) FROM (SELECT * FROM h EXCEPT SELECT * FROM e) x) + (SELECT count(*) FROM (SELECT * FROM e EXCEPT SELECT * FROM h) y)")
stale=$(q -c "
    SELECT count(*) FROM segext.segments AS s
    WHERE s.company_id OPERATOR(pg_catalog.=) '$COMPANY' AND s.active AND EXISTS (
        (SELECT e.customer_id FROM segext.segment_members(s.id) AS e
         EXCEPT SELECT m.customer_id FROM segext.memberships AS m WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id)
        UNION ALL
        (SELECT m.customer_id FROM segext.memberships AS m WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
         EXCEPT SELECT e.customer_id FROM segext.segment_members(s.id) AS e))")
echo "hand-written differences: $diff; segments whose stored members differ from segment_members: $stale"
[ "$diff" = 0 ] && [ "$stale" = 0 ] || { echo "MISMATCH"; exit 1; }
fi

if [[ $PART == *4* ]]; then
echo
echo "== (4) state size and memory per single-sale statement"
q -F ' ' <<SQL
SELECT 'state rows:', count(*),
       'bytes per state row (table+indexes+toast):', round(pg_total_relation_size('segext.customer_states')::numeric / count(*), 1),
       'per customer:', round(pg_total_relation_size('segext.customer_states')::numeric / (SELECT count(*) FROM segext.customers), 1),
       'transactions bytes per customer (for scale):', round(pg_total_relation_size('segext.transactions')::numeric / (SELECT count(*) FROM segext.customers), 1)
FROM segext.customer_states;
SQL
# rss_growth TABLE COLUMNS VALUES: RssAnon kB growth of a fresh backend over
# its first sale, and per sale over the next 1,000 (rolled back).
rss_growth() {
    q -F " " <<SQL | tr "\n" " "
SELECT substring(pg_read_file('/proc/self/status') from 'RssAnon:\\s+(\\d+)')::int8 AS rss_before \\gset
BEGIN;
INSERT INTO $1 ($2) SELECT $3 FROM (SELECT 1 AS c) AS g;
SELECT substring(pg_read_file('/proc/self/status') from 'RssAnon:\\s+(\\d+)')::int8 AS rss_first \\gset
DO \$\$ BEGIN FOR c IN 2 .. 1001 LOOP INSERT INTO $1 ($2) SELECT $3; END LOOP; END \$\$;
SELECT substring(pg_read_file('/proc/self/status') from 'RssAnon:\\s+(\\d+)')::int8 AS rss_next \\gset
ROLLBACK;
SELECT :rss_first - :rss_before, round((:rss_next - :rss_first) / 1000.0, 2);
SQL
}
VALUES_API="('\\x6500000001'::bytea OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.int8send(1 + (c * 97) % $buyers), 2))::segext.objectid, 12.50, 'POS-BENCH', '$ITEMS'::jsonb"
VALUES_PLAIN="'$COMPANY'::segext.objectid, ('\\x6500000001'::bytea OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.int8send(1 + (c * 97) % $buyers), 2))::segext.objectid, 12.50, 'POS-BENCH', '$ITEMS'::jsonb, '{sku-00042,sku-01234}'::text[], '{maker-017,maker-034}'::text[], ARRAY['color' || pg_catalog.chr(31) || 'blue', 'color' || pg_catalog.chr(31) || 'red']"
read -r af an <<<"$(PGOPTIONS=$AS_COMPANY rss_growth segext_api.transactions "customer_id, amount, pos_id, items" "$VALUES_API")"
read -r pf pn <<<"$(rss_growth public.plain_transactions "company_id, customer_id, amount, pos_id, items, item_skus, item_makers, item_labels" "$VALUES_PLAIN")"
printf '%-36s %22s %26s\n' side "first sale RssAnon +kB" "next 1,000: +kB per sale"
printf '%-36s %22s %26s\n' "segext_api.transactions" "$af" "$an"
printf '%-36s %22s %26s\n' "plain table" "$pf" "$pn"
fi
