#!/usr/bin/env bash
# test/scripts/postgraphile.sh: segext through PostGraphile 4 over HTTP.
#
# Installs deploy/postgraphile's pinned packages with `npm ci` into a cache
# directory outside the checkout, named after the hash of package-lock.json
# (SEGEXT_NPM_CACHE, default ~/.cache/segext; reused when present), starts
# deploy/postgraphile/server.js on a free port against the throwaway cluster
# (logged in as deploy/roles.sql's segext_authenticator), and drives it with
# test/helpers/postgraphile_driver.js: segments with criteria as JSON, create,
# update and delete by the views' key, customers, a transaction, members,
# sorted members of a segment, a channel and its mix, a report view, and a
# company refused another company's rows.
#
# Prints "SKIP: ..." and exits 0 only when node cannot be had, or when the
# npm registry is unreachable and no cache exists.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/lib.sh
source "$root/scripts/lib.sh"
deploy=$root/deploy/postgraphile

if ! ensure_node; then
    echo "SKIP: postgraphile: node and npm are not installed and could not be"
    exit 0
fi

lock_hash=$(sha256sum "$deploy/package-lock.json" | cut -c1-16)
cache_root=${SEGEXT_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/segext}
modules_dir=$cache_root/postgraphile-$lock_hash
mkdir -p "$cache_root"

db=segext_postgraphile_$$
work=$(mktemp -d /tmp/segext_postgraphile.XXXXXX)
server_pid=
made_roles=f
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    if [ "$made_roles" = t ]; then
        psql -X -q -d postgres -c "DROP ROLE IF EXISTS segext_authenticator, segext_anon" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Install once per lock file: into a fresh directory, renamed into place when
# complete, under a lock so that concurrent runs share one install.
started=$(date +%s)
(
    flock 9
    if [ ! -f "$modules_dir/.complete" ]; then
        if ! timeout 30 npm ping >/dev/null 2>&1; then
            echo "unreachable" >"$work/npm-unreachable"
            exit 0
        fi
        staging=$(mktemp -d "$cache_root/postgraphile-$lock_hash.XXXXXX")
        cp "$deploy/package.json" "$deploy/package-lock.json" "$staging/"
        (cd "$staging" && npm ci --no-audit --no-fund --loglevel=error) >&2
        touch "$staging/.complete"
        rm -rf "$modules_dir"
        mv "$staging" "$modules_dir"
    fi
) 9>"$cache_root/postgraphile.lock"
if [ -f "$work/npm-unreachable" ]; then
    echo "SKIP: postgraphile: the npm registry is unreachable and $modules_dir does not exist"
    exit 0
fi
echo "packages ready in $(( $(date +%s) - started ))s ($modules_dir)"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION segext"
# deploy/roles.sql's roles are the cluster's: dropped at the end only when made here.
made_roles=$(psql -X -qAt -d postgres -c "SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'segext_authenticator')")
PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
    -v authenticator_password="'graphql-test'" -f "$root/deploy/roles.sql"
company_a=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -c "SELECT segext.create_company('GraphQL Shop A')")
company_b=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -c "SELECT segext.create_company('GraphQL Shop B')")
# A segment made in SQL before the server starts.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET segext.company_id = '$company_a'" \
    -c "INSERT INTO segext_api.segments (name, criteria) VALUES ('Big spenders', '[{\"type\": \"transaction_amount\", \"fromAmount\": 100, \"toAmount\": 1000000}]')"

secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
(
    cd "$deploy"
    exec env NODE_PATH="$modules_dir/node_modules" SEGEXT_DB_URI= SEGEXT_JWT_SECRET="$secret" \
        SEGEXT_GRAPHQL_HOST=127.0.0.1 SEGEXT_GRAPHQL_PORT=0 \
        PGHOST="$PGHOST" PGPORT="$PGPORT" PGDATABASE="$db" PGUSER=segext_authenticator \
        node server.js
) >"$work/server.log" 2>&1 &
server_pid=$!

graphql_url=
for _ in $(seq 1 120); do
    graphql_url=$(sed -n 's/^listening on \(http:.*\)$/\1/p' "$work/server.log")
    [ -n "$graphql_url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; fail "the server exited"; }
    sleep 0.5
done
[ -n "$graphql_url" ] || { cat "$work/server.log"; fail "the server did not start listening within 60s"; }
echo "server listening at $graphql_url"

if ! GRAPHQL_URL=$graphql_url SEGEXT_JWT_SECRET=$secret COMPANY_A=$company_a COMPANY_B=$company_b \
        node "$root/test/helpers/postgraphile_driver.js"; then
    echo "--- server log"
    cat "$work/server.log"
    fail "the GraphQL checks failed"
fi
echo "postgraphile: ok ($(( $(date +%s) - started ))s)"
