#!/usr/bin/env bash
# test/scripts/notify_tenancy.sh: LISTEN segext_membership tells a listener
# nothing of a company it may not read.  Three sessions listen while company
# A's membership changes: a login with no segext privilege, a reader of
# company B and a reader of company A.  Every payload they receive is only
# {"first_id", "last_id"} (no company, segment or customer id); the reader of
# A reads A's changes in that range from segext_api.report_membership_history,
# the reader of B reads none of them.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
db=segext_notify_$$
nobody=segext_notify_nobody_$$
reader_a=segext_notify_a_$$
reader_b=segext_notify_b_$$
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    for fd in "${fds[@]:-}"; do [ -n "$fd" ] && exec {fd}>&- 2>/dev/null || true; done
    for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $nobody, $reader_a, $reader_b" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; exit 1; }
# objectid compares with = when segext is on the search path
export PGOPTIONS="-c search_path=segext,public"

a=aaaaaaaaaaaaaaaaaaaaaaa1
b=bbbbbbbbbbbbbbbbbbbbbbb1

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION segext"
psql -X -q -v ON_ERROR_STOP=1 -d postgres \
    -c "CREATE ROLE $nobody LOGIN" \
    -c "CREATE ROLE $reader_a LOGIN IN ROLE segext_reader" \
    -c "CREATE ROLE $reader_b LOGIN IN ROLE segext_reader"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
INSERT INTO segext.companies (id, name) VALUES ('$a', 'Notify A'), ('$b', 'Notify B');
INSERT INTO segext.customers (company_id, id, first_name) VALUES
    ('$a', 'cccccccccccccccccccccc01', 'ann'), ('$a', 'cccccccccccccccccccccc02', 'bob'),
    ('$b', 'dddddddddddddddddddddd01', 'cid');
INSERT INTO segext.segments (company_id, id, name, criteria) VALUES
    ('$a', 'eeeeeeeeeeeeeeeeeeeeee01', 'A manual', NULL),
    ('$b', 'ffffffffffffffffffffff01', 'B manual', NULL);
SELECT segext.grant_company('$a', '$reader_a', 'reader'), segext.grant_company('$b', '$reader_b', 'reader');
SQL
# every company and segment id, and customer id, a payload must not carry
secrets=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -c \
    "SELECT id::text FROM segext.companies UNION ALL SELECT id::text FROM segext.segments
     UNION ALL SELECT id::text FROM segext.customers")

# listen NAME ROLE [COMPANY]: a psql session as ROLE, fed through a fifo.
declare -A fd_of
fds=()
listen() {
    local name=$1 role=$2 company=${3:-} fd
    mkfifo "$work/$name.in"
    psql -X -d "$db" -U "$role" <"$work/$name.in" >"$work/$name.out" 2>&1 &
    pids+=($!)
    exec {fd}>"$work/$name.in"
    fds+=("$fd")
    fd_of[$name]=$fd
    [ -z "$company" ] || echo "SET segext.company_id = '$company';" >&"$fd"
    echo "LISTEN segext_membership;" >&"$fd"
}
listen nobody "$nobody"
listen reader_b "$reader_b" "$b"
listen reader_a "$reader_a" "$a"

for _ in $(seq 1 100); do
    n=$(psql -X -qAt -d "$db" -c "SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'idle' AND query = 'LISTEN segext_membership;'")
    [ "$n" = 3 ] && break
    sleep 0.1
done
[ "$n" = 3 ] || fail "the three listeners did not start (found $n)"

# Company A's membership changes: manual members, a refresh, a removal, and
# a deleted customer, each committed on its own (the set-up's own changes,
# customers entering All and Default, were announced before anyone listened).
before=$(psql -X -qAt -d "$db" -c "SELECT coalesce(max(id), 0) FROM segext.membership_history")
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
SET segext.company_id = '$a';
SELECT segext.add_segment_members('eeeeeeeeeeeeeeeeeeeeee01',
    '{cccccccccccccccccccccc01,cccccccccccccccccccccc02}') \g /dev/null
SELECT segext.refresh_company('$a') \g /dev/null
SELECT segext.remove_segment_members('eeeeeeeeeeeeeeeeeeeeee01', '{cccccccccccccccccccccc02}') \g /dev/null
DELETE FROM segext.customers WHERE company_id = '$a' AND id = 'cccccccccccccccccccccc01';
SQL
written=$(psql -X -qAt -d "$db" -c "SELECT count(*) FROM segext.membership_history WHERE company_id = '$a' AND id > $before")
[ "$written" -gt 0 ] || fail "no history was written for company A"

for name in nobody reader_b reader_a; do
    echo "SELECT 1;" >&"${fd_of[$name]}"
    eval "exec ${fd_of[$name]}>&-"
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
pids=()
fds=()

ranges=""
for name in nobody reader_b reader_a; do
    payloads=$(sed -n 's/^Asynchronous notification "segext_membership" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' "$work/$name.out")
    count=$(printf '%s\n' "$payloads" | grep -c . || true)
    [ "$count" -gt 0 ] || fail "$name received no notification: $(cat "$work/$name.out")"
    while IFS= read -r p; do
        [[ "$p" =~ ^\{\"first_id\"\ :\ ([0-9]+),\ \"last_id\"\ :\ ([0-9]+)\}$ ]] ||
            fail "$name received a payload with more than a range of history ids: $p"
        for s in $secrets; do
            case "$p" in *"$s"*) fail "$name learned id $s from payload $p" ;; esac
        done
        [ "$name" != reader_a ] || ranges="$ranges OR id BETWEEN ${BASH_REMATCH[1]} AND ${BASH_REMATCH[2]}"
    done <<<"$payloads"
    echo "ok - $name received $count notification(s) naming no company, segment or customer"
done

# The reader of A reads every change of A from the announced ranges; the
# reader of B, with the same ranges, reads none; the login without segext
# privileges cannot read the history at all.
got=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -U "$reader_a" -c "SET segext.company_id = '$a'" \
    -c "SELECT count(*) FROM segext_api.report_membership_history WHERE false $ranges")
# rows of the deleted customer's segment memberships stay in the history
[ "$got" = "$written" ] || fail "the reader of A read $got of A's $written history rows from the announced ranges"
echo "ok - the reader of A reads all $got changes of A from the announced ranges"
got=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -U "$reader_b" -c "SET segext.company_id = '$b'" \
    -c "SELECT count(*) FROM segext_api.report_membership_history WHERE false $ranges")
[ "$got" = 0 ] || fail "the reader of B read $got of A's history rows"
echo "ok - the reader of B reads none of A's changes"
out=$(psql -X -qAt -d "$db" -U "$nobody" \
    -c "SELECT count(*) FROM segext_api.report_membership_history WHERE false $ranges" 2>&1 || true)
grep -q "permission denied" <<<"$out" || fail "a login without segext privileges read the history: $out"
echo "ok - a login without segext privileges cannot read the history"
