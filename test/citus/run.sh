#!/usr/bin/env bash
# test/citus/run.sh: the distributed suite.  Starts a throwaway Citus
# cluster (a coordinator and two workers, test/citus/nodes.sh) from the
# staged server in SEGEXT_PG_BIN, distributes segext's tables with
# segext.distribute() on the coordinator and runs the pgTAP files
# test/citus/*.sql against it, then the scripts test/citus/scripts/*.sh
# (CITUS_HOST, CITUS_PORT and CITUS_DB name the coordinator; the workers
# listen on the next two ports); stops the nodes on exit.  scripts/test.sh
# runs it when Citus is available (scripts/lib.sh, prepare_citus).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib.sh"
source "$here/nodes.sh"

: "${SEGEXT_PG_BIN:?SEGEXT_PG_BIN must name a staged server with Citus}"
trap stop_citus_nodes EXIT
started=$(date +%s)
start_citus_nodes
log "citus: coordinator and 2 workers started in $(( $(date +%s) - started ))s"
psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$CITUS_PORT" -U postgres -d "$CITUS_DB" \
    -c "CREATE EXTENSION pgtap" -c "SELECT segext.distribute()" >/dev/null
PGHOST=$CITUS_HOST PGPORT=$CITUS_PORT PGUSER=postgres \
    pg_prove --ext .sql -d "$CITUS_DB" "$here"/*.sql
for script in "$here"/scripts/*.sh; do
    log "citus: $(basename "$script")"
    bash "$script"
done
log "citus: suite took $(( $(date +%s) - started ))s"
