#!/usr/bin/env bash
# test/scripts/mixed_load.sh: the mixed write load of bench/mixed_load.sh
# (8 clients, every kind of write, 3 companies) for MIXED_SECONDS (25), then
# the invariants of bench/mixed_load/check.sql: channel mixes sum to 1,
# customers_count equals the member rows, the history agrees with the
# members, segments 0 and 1 are right, no deadlock (40P01), no duplicate
# member (23505) and no internal error met by the writes, and, after a
# refresh of every company, membership equals an evaluation now and no
# inactive customer is a member.  Then a backend is killed with SIGKILL in
# the middle of a refresh_company of a larger company (the server restarts
# every backend, as after a crash), the cluster is restarted in immediate
# mode, and the invariants are checked again.  Uses the cluster that
# scripts/test.sh started (PGHOST, SEGEXT_TMP, SEGEXT_PG_BIN).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib.sh"
export MIXED_DB=segext_mixed_test_$$ MIXED_SECONDS=${MIXED_SECONDS:-25} MIXED_CLIENTS=8 MIXED_COMPANIES=3
db=$MIXED_DB
work=$(mktemp -d /tmp/segext_mixed.XXXXXX)
refresher=
cleanup() {
    [ -n "$refresher" ] && kill "$refresher" 2>/dev/null || true
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "mixed_load: $*" >&2; exit 1; }
psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# check runs the invariants (settled: 0 or 1) and fails on any violation.
check() {
    local when=$1 settled=$2 out
    out=$(psql_q -v settled="$settled" -f "$ROOT/bench/mixed_load/check.sql" 2>&1) || fail "$when: $out"
    [ -z "$out" ] || fail "$when: invariants broken:"$'\n'"$out"
    echo "invariants hold $when"
}

# settle refreshes every company (no writer runs any more).
settle() { psql_q -c "SELECT count(segext.refresh_company(id)) FROM segext.companies" >/dev/null; }

# wait_ready waits until the server accepts connections again.
wait_ready() {
    for _ in $(seq 1 120); do
        psql -X -q -At -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    fail "the server did not come back"
}

MIXED_STEP=setup bash "$ROOT/bench/mixed_load.sh" >/dev/null
MIXED_OUT="$work/pgbench.out" MIXED_STEP=run bash "$ROOT/bench/mixed_load.sh"
grep -E '^(tps|number of transactions actually processed)' "$work/pgbench.out"
! grep -q 'aborted' "$work/pgbench.out" || fail "a pgbench client aborted: $(grep aborted "$work/pgbench.out")"
MIXED_STEP=report bash "$ROOT/bench/mixed_load.sh"

# The writes of the common paths never deadlock, never meet a duplicate
# member nor an internal error.
bad=$(psql_q -c "SELECT kind || ': ' || sqlstate || ' ' || message FROM mixed_errors
                 WHERE sqlstate IN ('40P01', '23505', 'XX000') OR sqlstate LIKE '58%'")
[ -z "$bad" ] || fail "errors in the common paths:"$'\n'"$bad"
total=$(psql_q -c "SELECT count(*) FROM mixed_errors")
echo "writes that met an expected error (rules, races): $total"

check "after the load" 0
settle
check "after the load and a refresh" 1

# A larger company, so that a refresh runs long enough to be killed in the
# middle: it was never refreshed, so the refresh has many members to write.
# (ANALYZE first: planned with the statistics of before the load, the facts
# query of a company whose rows the statistics do not know takes minutes.)
psql_q <<'SQL'
SET search_path = public, segext;
SELECT segext.create_company('crash') AS crash \gset
INSERT INTO mixed_companies (n, id) VALUES (0, :'crash');
INSERT INTO segext.segments (company_id, number, name, criteria)
SELECT :'crash', 1 + g, 'crash-' || g,
       jsonb_build_array(jsonb_build_object('type', 'transaction_count', 'min', g, 'max', 1000))::segext.criteria
FROM generate_series(1, 3) AS g;
INSERT INTO segext.customers (company_id, external_id)
SELECT :'crash', 'k-' || g FROM generate_series(1, 15000) AS g;
INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id)
SELECT :'crash', cu.id, 10, 'pos-1' FROM segext.customers cu CROSS JOIN generate_series(1, 3)
WHERE cu.company_id = :'crash';
ANALYZE;
SQL
crash=$(psql_q -c "SELECT id FROM mixed_companies WHERE n = 0")
before=$(psql_q -c "SELECT count(*) FROM segext.membership_history WHERE company_id = '$crash'")

psql -X -q -At -d "$db" -c "SELECT segext.refresh_company('$crash')" >"$work/refresh.out" 2>&1 &
refresher=$!
pid=
for _ in $(seq 1 200); do
    pid=$(psql -X -q -At -d postgres -c "SELECT pid FROM pg_stat_activity
              WHERE datname = '$db' AND state = 'active' AND query LIKE '%refresh_company%'
                AND now() - query_start > interval '200 milliseconds'" 2>/dev/null | head -1)
    [ -n "$pid" ] && break
    sleep 0.05
done
[ -n "$pid" ] || fail "the refresh of the larger company ended before it could be killed"
kill -9 "$pid"
echo "killed backend $pid in the middle of refresh_company"
wait "$refresher" && fail "the killed refresh reported success: $(cat "$work/refresh.out")"
refresher=
wait_ready
# pg_ctl restart keeps the server's command-line options (postmaster.opts)
as_postgres "$SEGEXT_PG_BIN/pg_ctl" -D "$SEGEXT_TMP/data" -l "$SEGEXT_TMP/socket/server.log" -m immediate -w restart >/dev/null
wait_ready

after=$(psql_q -c "SELECT count(*) FROM segext.membership_history WHERE company_id = '$crash'")
[ "$before" = "$after" ] || fail "the killed refresh left history rows ($before before, $after after)"
check "after the crash and an immediate restart" 0
settle
check "after the crash, the restart and a refresh" 1
echo "mixed_load: ok"
