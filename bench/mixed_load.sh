#!/usr/bin/env bash
# bench/mixed_load.sh: a mixed write load on segext, run by pgbench: every
# kind of write at once (sales and returns, customer updates and
# deactivations, activate and deactivate, manual members added and removed,
# refresh_segment and refresh_company, reorder, segment create and delete,
# channel mix writes) over a few companies, so that writers of one company
# meet.  Reports transactions/s and the errors the writes met, by SQLSTATE
# and by kind of write (40P01 is a deadlock).  Each pgbench transaction is
# one call of mixed_step() (bench/mixed_load/setup.sql), which catches and
# logs the error of its write, so every client runs to the end.
#
#   bash bench/mixed_load.sh                 # own throwaway cluster, 60 s, 8 clients
#   MIXED_SECONDS=20 bash bench/mixed_load.sh
#
# With PGHOST set (a cluster that is already running, as the test suite's),
# the script uses it instead of starting one.  Settings:
#   MIXED_SECONDS (60)  MIXED_CLIENTS (8)  MIXED_COMPANIES (3)
#   MIXED_DB (segext_mixed)  MIXED_STEP=setup|run|report|all (all)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SECONDS_RUN=${MIXED_SECONDS:-60}
CLIENTS=${MIXED_CLIENTS:-8}
COMPANIES=${MIXED_COMPANIES:-3}
DB=${MIXED_DB:-segext_mixed}
STEP=${MIXED_STEP:-all}

if [ -z "${PGHOST:-}" ]; then
    source "$HERE/../scripts/lib.sh"
    [ "${SEGEXT_SKIP_INSTALL:-0}" = 1 ] || install_prerequisites
    build_extension
    start_cluster
fi
PGBENCH=${SEGEXT_PG_BIN:-/usr/lib/postgresql/15/bin}/pgbench
[ -x "$PGBENCH" ] || PGBENCH=pgbench

# Weights (per cent) of the kinds of write.
WEIGHTS="sale=24 return=6 customer_update=8 customer_active=6 activate=5 deactivate=5
add_members=6 remove_members=5 refresh_segment=8 refresh_company=6 reorder=5
segment_create=4 segment_delete=4 channel_mix=8"

setup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -v companies="$COMPANIES" -d "$DB" -f "$HERE/mixed_load/setup.sql"
}

run() {
    local args=() kv
    for kv in $WEIGHTS; do
        args+=(-f "$HERE/mixed_load/step_${kv%%=*}.sql@${kv#*=}")
    done
    "$PGBENCH" -n -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_RUN" -D companies="$COMPANIES" \
        "${args[@]}" "$DB" > "${MIXED_OUT:-/dev/stdout}"
}

report() {
    psql -X -q -d "$DB" -P footer=off <<'SQL'
\echo errors by SQLSTATE (40P01: deadlock detected)
SELECT sqlstate, count(*) AS errors FROM mixed_errors GROUP BY 1 ORDER BY 2 DESC, 1;
\echo errors by kind of write and SQLSTATE
SELECT kind, sqlstate, count(*) AS errors, min(message) AS example
FROM mixed_errors GROUP BY 1, 2 ORDER BY 1, 2;
\echo deadlocks (40P01), with the processes involved
SELECT kind, detail FROM mixed_errors WHERE sqlstate = '40P01' ORDER BY at;
SQL
}

case "$STEP" in
    setup) setup ;;
    run) run ;;
    report) report ;;
    all) setup; run; report ;;
    *) echo "unknown MIXED_STEP $STEP" >&2; exit 2 ;;
esac
