#!/usr/bin/env bash
# scripts/demo.sh: install what is missing, build segext, start a throwaway
# cluster, load the demo (demo/*.sql in order) and show what segext does.
# The cluster is removed afterwards.
#
#   SEGEXT_SKIP_INSTALL=1  skip apt-get (for a machine already set up)
#   SEGEXT_KEEP=1          keep the temporary cluster directory afterwards

source "$(dirname "$0")/lib.sh"
cd "$SEGEXT_ROOT"

[ "${SEGEXT_SKIP_INSTALL:-0}" = 1 ] || install_prerequisites
build_extension
start_cluster

createdb segext_demo
for part in $(ls demo/*.sql | sort); do
    log "demo: $part"
    psql -X -q -v ON_ERROR_STOP=1 -d segext_demo -f "$part"
done

stop_cluster
trap - EXIT
log "demo finished"
