#!/usr/bin/env bash
# bench/time_windows.sh: what a daily time window recheck costs against a
# full refresh of the company.
#
# On the bench company (bench/generate.sql at BENCH_SCALE, default 0.1:
# 100k customers, 1M transactions; 1 for 1M / 10M) with the 20 segments of
# bench/segments.sql (last purchase within 30 and 90 days, birthday within
# 7 days, registration anniversary within 30 days among them), BENCH_RUNS
# (default 5) interleaved rounds of, each EXPLAIN ANALYZE's execution time:
#   candidates  segext.time_window_candidates for the last day (the index
#               reads), and how many customers it returns;
#   recheck     segext.recheck_time_windows with the last run a day ago (in a
#               transaction that is rolled back, so every round does the
#               same work);
#   refresh     segext.refresh_company of the same company (steady state:
#               members already fresh);
#   floor       a plain count of the company's transactions.
# Prints the median and spread of each.
#
# Needs a running server (PGHOST/PGPORT/PGUSER, a superuser).  Creates
# database segext_time_windows_bench unless it exists (BENCH_DB to choose).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${BENCH_DB:-segext_time_windows_bench}
SCALE=${BENCH_SCALE:-0.1}
RUNS=${BENCH_RUNS:-5}
COMPANY=65000000000000000000b001
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
# median_of: the median of the numbers on standard input.
median_of() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# spread_of: min-max of the numbers on standard input.
spread_of() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
# exec_ms: the execution time EXPLAIN ANALYZE reports for the statements on stdin.
exec_ms() { q | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p' | tail -1; }

customers=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
if ! psql -X -q -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    createdb "$DB"
    q -c "CREATE EXTENSION segext"
    q -v customers="$customers" -v transactions=$((customers * 10)) -f bench/generate.sql >/dev/null
    q -f bench/segments.sql >/dev/null
    q -c "SELECT segext.rebuild_customer_states('$COMPANY')" >/dev/null
    q -c "SELECT segext.refresh_company('$COMPANY')" >/dev/null
fi
q -c "VACUUM ANALYZE segext.customers" -c "VACUUM ANALYZE segext.customer_states" -c "VACUUM ANALYZE segext.transactions" >/dev/null

: >/tmp/segext_tw_cand; : >/tmp/segext_tw_recheck; : >/tmp/segext_tw_refresh; : >/tmp/segext_tw_floor
for r in $(seq 1 "$RUNS"); do
    exec_ms <<SQL >>/tmp/segext_tw_cand
EXPLAIN (ANALYZE, TIMING OFF) SELECT pg_catalog.count(*)
  FROM segext.time_window_candidates('$COMPANY', pg_catalog.now() - interval '1 day', pg_catalog.now());
SQL
    exec_ms <<SQL >>/tmp/segext_tw_recheck
BEGIN;
INSERT INTO segext.time_window_checks (company_id, checked_at) VALUES ('$COMPANY', pg_catalog.now() - interval '1 day')
ON CONFLICT (company_id) DO UPDATE SET checked_at = excluded.checked_at;
EXPLAIN (ANALYZE, TIMING OFF) SELECT segext.recheck_time_windows('$COMPANY');
ROLLBACK;
SQL
    exec_ms <<SQL >>/tmp/segext_tw_refresh
EXPLAIN (ANALYZE, TIMING OFF) SELECT segext.refresh_company('$COMPANY');
SQL
    exec_ms <<SQL >>/tmp/segext_tw_floor
EXPLAIN (ANALYZE, TIMING OFF) SELECT pg_catalog.count(*) FROM segext.transactions WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY';
SQL
done
ncand=$(q -c "SELECT pg_catalog.count(DISTINCT t) FROM segext.time_window_candidates('$COMPANY', pg_catalog.now() - interval '1 day', pg_catalog.now()) AS t")
echo "== time window recheck of one day, $customers customers, $RUNS rounds (ms: median, min-max)"
echo "candidates: $ncand customers"
for k in cand recheck refresh floor; do
    printf '%-10s %10s  %s\n' "$k" "$(median_of </tmp/segext_tw_$k)" "$(spread_of </tmp/segext_tw_$k)"
done
rm -f /tmp/segext_tw_cand /tmp/segext_tw_recheck /tmp/segext_tw_refresh /tmp/segext_tw_floor
