# scripts/lib.sh: shared steps of the test and demo commands (sourced).
#
# install_prerequisites  apt-get installs PostgreSQL 15 (server, headers),
#                        pgTAP, pg_prove and a C toolchain (with gcc's
#                        AddressSanitizer and UBSan runtimes).
# build_extension        builds segext warning-free.
# start_cluster          stages a private copy of the PostgreSQL 15 server
#                        with segext installed into it, then initdb and start
#                        a throwaway cluster in a temporary directory, owned by
#                        the postgres OS user (by the current user when not
#                        root), listening on a Unix socket only.
# stop_cluster           stops it and removes the directory (also on exit).
# prepare_citus          makes Citus available to the staged server when the
#                        vendored build script is there (sets SEGEXT_CITUS).
# ensure_pg_cron         apt-get installs pg_cron (postgresql-15-cron) when
#                        the server has no pg_cron library.
# ensure_packaging_tools apt-get installs what the packaging tests need
#                        (dpkg-buildpackage with debhelper and pg_buildext,
#                        python3-jsonschema, jq) when missing.
# ensure_odbc            apt-get installs unixODBC's isql (unixodbc) and
#                        psqlODBC (odbc-postgresql) when either is missing.
# ensure_node            apt-get installs node and npm (nodejs, npm) when
#                        either is missing.
# load_pg_cron           makes the running throwaway cluster load pg_cron
#                        (shared_preload_libraries, a restart) with
#                        cron.database_name = SEGEXT_CRON_DB, which it creates.
#
# SEGEXT_BUILD_DIR names the built tree that stage_server installs from (the
# repository by default; scripts/sanitize.sh points it at its own build);
# SEGEXT_STAGE_PACKAGE, when set, names a postgresql-15-segext .deb whose
# files stage_server unpacks instead (test/scripts/package.sh); and
# SEGEXT_SERVER_ENV holds NAME=VALUE words put into the server's environment.
#
# As a user other than root, nothing is installed: a step that would need
# apt-get says which packages are missing (and fails only when they are
# needed), and the cluster belongs to the current user.
#
# The system's PostgreSQL installation is never modified: segext is installed
# into the staged copy (make install DESTDIR=...), which a PostgreSQL server
# finds through its relocatable paths.

set -euo pipefail

SEGEXT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BINDIR/pg_config
SEGEXT_PORT=${SEGEXT_PORT:-5432}
SEGEXT_BUILD_DIR=${SEGEXT_BUILD_DIR:-$SEGEXT_ROOT}
SEGEXT_SERVER_ENV=${SEGEXT_SERVER_ENV:-}
SEGEXT_CRON_DB=${SEGEXT_CRON_DB:-segext_cron}

log() { printf '==> %s\n' "$*" >&2; }

# run_as_root runs a command as root (directly when already root, else with
# sudo when sudo works without a password).
run_as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# can_install tells whether apt-get can be run (as root, or with sudo without
# a password).
can_install() {
    [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }
}

# apt_install PACKAGE...: apt-get installs the packages, or, when it cannot
# be run, says which are missing and fails.
apt_install() {
    if ! can_install; then
        log "not root (and no password-less sudo): cannot install $*; install them as root"
        return 1
    fi
    run_as_root apt-get update -qq
    run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# install_prerequisites installs what building and testing segext needs.
install_prerequisites() {
    local packages="make gcc libc6-dev libasan8 libubsan1
        postgresql-$PG_MAJOR postgresql-client-$PG_MAJOR postgresql-contrib
        postgresql-server-dev-$PG_MAJOR libpq-dev
        postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl
        postgresql-$PG_MAJOR-cron unixodbc odbc-postgresql $SEGEXT_PACKAGING_TOOLS"
    if ! can_install; then
        local pkg missing=
        for pkg in $packages; do
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
        done
        if [ -n "$missing" ]; then
            log "not root (and no password-less sudo): skipping apt-get; missing:$missing"
        fi
        return 0
    fi
    log "installing prerequisites (apt-get)"
    # shellcheck disable=SC2086  # a list of package names
    apt_install $packages
}

# The Debian packages that the packaging tests (test/scripts/package.sh,
# test/scripts/meta_json.sh) use.
SEGEXT_PACKAGING_TOOLS="dpkg-dev fakeroot debhelper postgresql-server-dev-all python3-jsonschema jq"

# ensure_packaging_tools installs the packaging tools when any is missing
# (also when the other prerequisites are skipped).
ensure_packaging_tools() {
    local pkg missing=
    for pkg in $SEGEXT_PACKAGING_TOOLS; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    log "installing packaging tools (apt-get):$missing"
    # shellcheck disable=SC2086  # a list of package names
    apt_install $missing || true
}

# ensure_pg_cron installs pg_cron when the server lacks it (also when the
# other prerequisites are skipped).
ensure_pg_cron() {
    [ -f /usr/lib/postgresql/$PG_MAJOR/lib/pg_cron.so ] && return 0
    log "installing pg_cron (apt-get)"
    apt_install postgresql-$PG_MAJOR-cron
}

# ensure_odbc installs unixODBC and psqlODBC when either is missing (also
# when the other prerequisites are skipped); fails when they cannot be.
ensure_odbc() {
    command -v isql >/dev/null && dpkg -s odbc-postgresql >/dev/null 2>&1 && return 0
    log "installing unixodbc and odbc-postgresql (apt-get)"
    apt_install unixodbc odbc-postgresql
}

# ensure_node installs node and npm when either is missing (also when the
# other prerequisites are skipped); fails when they cannot be.
ensure_node() {
    command -v node >/dev/null && command -v npm >/dev/null && return 0
    log "installing nodejs and npm (apt-get)"
    apt_install nodejs npm
}

# build_extension compiles segext with warnings as errors.
build_extension() {
    log "building segext"
    make -C "$SEGEXT_ROOT" -s PG_CONFIG="$PG_CONFIG" COPT=-Werror >/dev/null
}

# stage_server copies the PostgreSQL server tree and installs segext into it
# from SEGEXT_BUILD_DIR.
stage_server() {
    local stage=$1
    mkdir -p "$stage/usr/lib/postgresql" "$stage/usr/share/postgresql"
    cp -a /usr/lib/postgresql/$PG_MAJOR "$stage/usr/lib/postgresql/"
    cp -a /usr/share/postgresql/$PG_MAJOR "$stage/usr/share/postgresql/"
    if [ -n "${SEGEXT_STAGE_PACKAGE:-}" ]; then
        # only the package's files: none that the system may hold
        rm -f "$stage/usr/lib/postgresql/$PG_MAJOR/lib/segext.so" \
            "$stage/usr/share/postgresql/$PG_MAJOR/extension/segext.control" \
            "$stage/usr/share/postgresql/$PG_MAJOR/extension/segext--"*.sql
        dpkg-deb -x "$SEGEXT_STAGE_PACKAGE" "$stage"
    else
        make -C "$SEGEXT_BUILD_DIR" -s PG_CONFIG="$PG_CONFIG" DESTDIR="$stage" install >/dev/null
    fi
    if [ -n "${SEGEXT_CITUS_TREE:-}" ]; then
        cp -a "$SEGEXT_CITUS_TREE/usr/." "$stage/usr/"
    fi
}

# citus_installed_in tells whether Citus 13.2.2 for PostgreSQL 15 is installed
# under the tree $1 ("" for the system).
citus_installed_in() {
    local lib=$1$("$PG_CONFIG" --pkglibdir) ext=$1$("$PG_CONFIG" --sharedir)/extension
    [ -f "$lib/citus.so" ] && grep -qa 'Citus 13.2.2' "$lib/citus.so" && [ -f "$ext/citus.control" ]
}

# prepare_citus makes Citus available to the server that stage_server copies:
# when the system has Citus 13.2.2 the copy has it; otherwise, when the
# vendored build script exists (../shared/vendor/build-citus.sh beside the
# repository), it builds Citus once into .build/citus (later runs reuse it)
# and stage_server copies that tree into the stage.  Sets SEGEXT_CITUS to 1
# when Citus is available, to "skip" when the script is absent and to
# "failed" when the build failed, with the reason in SEGEXT_CITUS_WHY.
prepare_citus() {
    local script=$SEGEXT_ROOT/../shared/vendor/build-citus.sh
    local tree=$SEGEXT_ROOT/.build/citus
    SEGEXT_CITUS=skip SEGEXT_CITUS_TREE= SEGEXT_CITUS_WHY=
    if citus_installed_in ""; then
        SEGEXT_CITUS=1
    elif [ ! -f "$script" ]; then
        SEGEXT_CITUS_WHY="Citus is not available (no ../shared/vendor/build-citus.sh)"
    else
        mkdir -p "$tree"
        citus_installed_in "$tree" || log "building Citus into $tree (once; later runs reuse it)"
        if ( flock 9; CITUS_DESTDIR=$tree PG_CONFIG=$PG_CONFIG bash "$script" >&2 ) 9>"$SEGEXT_ROOT/.build/citus.lock" &&
           citus_installed_in "$tree"; then
            SEGEXT_CITUS=1 SEGEXT_CITUS_TREE=$tree
        else
            SEGEXT_CITUS=failed SEGEXT_CITUS_WHY="building Citus with $script failed"
        fi
    fi
    export SEGEXT_CITUS SEGEXT_CITUS_TREE SEGEXT_CITUS_WHY
}

# start_cluster creates and starts a throwaway cluster; sets SEGEXT_TMP,
# PGHOST, PGPORT, PGUSER and SEGEXT_PG_BIN for the caller.
start_cluster() {
    SEGEXT_TMP=$(mktemp -d /tmp/segext.XXXXXX)
    chmod 755 "$SEGEXT_TMP"
    trap stop_cluster EXIT
    stage_server "$SEGEXT_TMP/stage"
    SEGEXT_PG_BIN=$SEGEXT_TMP/stage/usr/lib/postgresql/$PG_MAJOR/bin
    mkdir -p "$SEGEXT_TMP/data" "$SEGEXT_TMP/socket"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$SEGEXT_TMP/data" "$SEGEXT_TMP/socket"
    fi
    log "starting a throwaway cluster in $SEGEXT_TMP"
    as_postgres "$SEGEXT_PG_BIN/initdb" -D "$SEGEXT_TMP/data" -U postgres \
        --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    # shellcheck disable=SC2086  # SEGEXT_SERVER_ENV is a list of words
    as_postgres env $SEGEXT_SERVER_ENV "$SEGEXT_PG_BIN/pg_ctl" -D "$SEGEXT_TMP/data" -l "$SEGEXT_TMP/socket/server.log" -w \
        -o "-c listen_addresses='' -c unix_socket_directories='$SEGEXT_TMP/socket' -p $SEGEXT_PORT \
            -c shared_buffers=512MB -c max_connections=60 -c fsync=off -c synchronous_commit=off \
            -c max_prepared_transactions=10" \
        start >/dev/null
    export PGHOST=$SEGEXT_TMP/socket PGPORT=$SEGEXT_PORT PGUSER=postgres PGDATABASE=postgres
    export SEGEXT_TMP SEGEXT_PG_BIN
}

# load_pg_cron creates SEGEXT_CRON_DB and restarts the throwaway cluster
# with pg_cron preloaded; its jobs connect through the cluster's socket.
load_pg_cron() {
    log "loading pg_cron (cron.database_name = $SEGEXT_CRON_DB)"
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $SEGEXT_CRON_DB" >/dev/null
    printf '%s\n' "shared_preload_libraries = 'pg_cron'" \
        "cron.database_name = '$SEGEXT_CRON_DB'" "cron.host = '$SEGEXT_TMP/socket'" |
        as_postgres tee -a "$SEGEXT_TMP/data/postgresql.conf" >/dev/null
    # shellcheck disable=SC2086  # SEGEXT_SERVER_ENV is a list of words
    as_postgres env $SEGEXT_SERVER_ENV "$SEGEXT_PG_BIN/pg_ctl" -D "$SEGEXT_TMP/data" -l "$SEGEXT_TMP/socket/server.log" -w \
        restart >/dev/null
    export SEGEXT_CRON_DB
}

# as_postgres runs a command as the owner of the throwaway cluster: the
# postgres OS user when running as root (initdb refuses root), else the
# current user.
as_postgres() {
    if [ "$(id -u)" -ne 0 ]; then
        "$@"
    else
        runuser -u postgres -- "$@"
    fi
}

# stop_cluster stops the throwaway cluster and removes its directory.
stop_cluster() {
    if [ -n "${SEGEXT_TMP:-}" ] && [ -d "$SEGEXT_TMP" ]; then
        if [ -f "$SEGEXT_TMP/data/postmaster.pid" ]; then
            as_postgres "$SEGEXT_PG_BIN/pg_ctl" -D "$SEGEXT_TMP/data" -m fast -w stop >/dev/null 2>&1 || true
        fi
        if [ "${SEGEXT_KEEP:-0}" = 1 ]; then
            log "kept $SEGEXT_TMP"
        else
            rm -rf "$SEGEXT_TMP"
        fi
        SEGEXT_TMP=
    fi
}
