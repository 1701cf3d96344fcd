# test/citus/nodes.sh: a throwaway Citus cluster of a coordinator and two
# workers (sourced after scripts/lib.sh, with SEGEXT_PG_BIN set to a staged
# server that has Citus).  start_citus_nodes makes three data directories in
# a temporary directory, starts each server as the postgres OS user with
# Citus and segext preloaded (segext plans the first statement of a session
# too) on a Unix socket of that directory and a port of its own,
# creates database $CITUS_DB with citus and segext on every node and
# registers the workers (create_citus_database, also for further databases);
# it sets CITUS_HOST and CITUS_PORT (the coordinator).  stop_citus_nodes stops them and removes the directory.

CITUS_DB=${CITUS_DB:-segext_citus}
CITUS_NODES=(coordinator worker1 worker2)

# start_citus_nodes starts the coordinator and two workers.
start_citus_nodes() {
    local base_port=$((${SEGEXT_PORT:-5432} + 1)) i node port
    CITUS_TMP=$(mktemp -d /tmp/segext-citus.XXXXXX)
    chmod 755 "$CITUS_TMP"
    mkdir -p "$CITUS_TMP/socket"
    chown postgres:postgres "$CITUS_TMP/socket"
    CITUS_HOST=$CITUS_TMP/socket
    CITUS_PORT=$base_port
    for i in 0 1 2; do
        node=${CITUS_NODES[$i]}
        port=$((base_port + i))
        mkdir -p "$CITUS_TMP/$node"
        chown postgres:postgres "$CITUS_TMP/$node"
        as_postgres "$SEGEXT_PG_BIN/initdb" -D "$CITUS_TMP/$node" -U postgres \
            --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        as_postgres "$SEGEXT_PG_BIN/pg_ctl" -D "$CITUS_TMP/$node" -l "$CITUS_TMP/socket/$node.log" -w \
            -o "-c listen_addresses='' -c unix_socket_directories='$CITUS_TMP/socket' -p $port \
                -c shared_preload_libraries=citus,segext -c fsync=off -c synchronous_commit=off \
                -c full_page_writes=off -c shared_buffers=64MB -c max_connections=100 \
                -c max_prepared_transactions=40 -c citus.node_conninfo=sslmode=disable" \
            start >/dev/null
    done
    export CITUS_TMP CITUS_HOST CITUS_PORT CITUS_DB
    create_citus_database "$CITUS_DB"
}

# create_citus_database makes database $1 on the three nodes with citus and
# segext, and registers the coordinator and the workers in it (Citus keeps
# its nodes per database).
create_citus_database() {
    local db=$1 i
    for i in 0 1 2; do
        psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$((CITUS_PORT + i))" -U postgres -d postgres \
            -c "CREATE DATABASE $db" >/dev/null
        psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$((CITUS_PORT + i))" -U postgres -d "$db" \
            -c "CREATE EXTENSION citus" -c "CREATE EXTENSION segext" >/dev/null
    done
    psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$CITUS_PORT" -U postgres -d "$db" \
        -c "SELECT pg_catalog.citus_set_coordinator_host('$CITUS_HOST', $CITUS_PORT)" \
        -c "SELECT pg_catalog.citus_add_node('$CITUS_HOST', $((CITUS_PORT + 1)))" \
        -c "SELECT pg_catalog.citus_add_node('$CITUS_HOST', $((CITUS_PORT + 2)))" >/dev/null
}

# stop_citus_nodes stops the three servers and removes their directory
# (kept when SEGEXT_KEEP=1).
stop_citus_nodes() {
    local node
    if [ -n "${CITUS_TMP:-}" ] && [ -d "$CITUS_TMP" ]; then
        for node in "${CITUS_NODES[@]}"; do
            if [ -f "$CITUS_TMP/$node/postmaster.pid" ]; then
                as_postgres "$SEGEXT_PG_BIN/pg_ctl" -D "$CITUS_TMP/$node" -m fast -w stop >/dev/null 2>&1 || true
            fi
        done
        if [ "${SEGEXT_KEEP:-0}" = 1 ]; then
            log "kept $CITUS_TMP"
        else
            rm -rf "$CITUS_TMP"
        fi
        CITUS_TMP=
    fi
}
