#!/usr/bin/env bash
# test/citus/scripts/notify_membership.sh: LISTEN segext_membership on the
# Citus coordinator hears the membership changes made on the workers' shards
# (run by test/citus/run.sh against CITUS_HOST:CITUS_PORT).  Two logins
# listen on the coordinator, a reader of company A and a reader of company
# B, while A's members change through the coordinator: manual members and a
# refresh (functions the coordinator routes to A's node), a customer added
# through segext_api by a writer of A, a deleted customer, a transaction of
# several statements with a savepoint rolled back, a transaction rolled
# back, and a change with segext.notify_membership off.  The payloads are
# only {"first_id", "last_id"}; the announced ranges cover every history row
# of A written with notifications on exactly once (no range twice, none of
# the change made with them off); the reader of A reads all of them from
# segext_api.report_membership_history, the reader of B none; the outbox
# segext.membership_notices is empty on every shard afterwards.  TAP output.
set -euo pipefail

: "${CITUS_HOST:?}" "${CITUS_PORT:?}" "${CITUS_DB:?}"
sfx=$$
reader_a=citus_notify_a_$sfx reader_b=citus_notify_b_$sfx writer_a=citus_notify_w_$sfx
hex=$(printf '%08x' "$sfx")
a=aaaaaaaaaaaaaaaa$hex b=bbbbbbbbbbbbbbbb$hex
seg=eeeeeeeeeeeeeeee$hex
c1=c1c1c1c1c1c1c1c1$hex c2=c2c2c2c2c2c2c2c2$hex c3=c3c3c3c3c3c3c3c3$hex
c4=c4c4c4c4c4c4c4c4$hex c5=c5c5c5c5c5c5c5c5$hex c6=c6c6c6c6c6c6c6c6$hex
work=$(mktemp -d)
chmod 755 "$work"
export PGOPTIONS="-c search_path=segext,public"
pids=()
fds=()
sql() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$CITUS_PORT" -U "${1:-postgres}" -d "$CITUS_DB"
}
cleanup() {
    for fd in "${fds[@]:-}"; do [ -n "$fd" ] && { exec {fd}>&- ; } 2>/dev/null || true; done
    for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    sql <<SQL >/dev/null 2>&1 || true
DELETE FROM segext.company_roles WHERE company_id IN ('$a', '$b');
DELETE FROM segext.companies WHERE id IN ('$a', '$b');
DROP ROLE IF EXISTS $reader_a, $reader_b, $writer_a;
SQL
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "not ok - $*"; exit 1; }

echo "1..7"
sql <<SQL >/dev/null
CREATE ROLE $reader_a LOGIN IN ROLE segext_reader;
CREATE ROLE $reader_b LOGIN IN ROLE segext_reader;
CREATE ROLE $writer_a LOGIN IN ROLE segext_writer;
INSERT INTO segext.companies (id, name) VALUES ('$a', 'Notify A $sfx'), ('$b', 'Notify B $sfx');
INSERT INTO segext.customers (company_id, id, first_name) VALUES
    ('$a', '$c1', 'ann'), ('$a', '$c2', 'bob'), ('$a', '$c3', 'cy'), ('$b', '$c1', 'dee');
INSERT INTO segext.segments (company_id, id, name, criteria) VALUES ('$a', '$seg', 'A manual', NULL);
SELECT segext.grant_company('$a', '$reader_a', 'reader'), segext.grant_company('$b', '$reader_b', 'reader'),
       segext.grant_company('$a', '$writer_a', 'writer');
SQL

# listen NAME ROLE COMPANY: a psql session on the coordinator, fed through a fifo.
declare -A fd_of
listen() {
    local name=$1 role=$2 company=$3 fd
    mkfifo "$work/$name.in"
    psql -X -h "$CITUS_HOST" -p "$CITUS_PORT" -U "$role" -d "$CITUS_DB" <"$work/$name.in" >"$work/$name.out" 2>&1 &
    pids+=($!)
    exec {fd}>"$work/$name.in"
    fds+=("$fd")
    fd_of[$name]=$fd
    echo "SET segext.company_id = '$company';" >&"$fd"
    echo "LISTEN segext_membership;" >&"$fd"
}
listen reader_a "$reader_a" "$a"
listen reader_b "$reader_b" "$b"
for _ in $(seq 1 100); do
    n=$(sql <<<"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                AND state = 'idle' AND query = 'LISTEN segext_membership;'")
    [ "$n" = 2 ] && break
    sleep 0.1
done
[ "$n" = 2 ] || fail "the two listeners did not start (found $n)"

before=$(sql <<<"SELECT coalesce(max(id), 0) FROM segext.membership_history WHERE company_id = '$a'")
sql <<SQL >/dev/null
SET segext.company_id = '$a';
SELECT segext.add_segment_members('$seg', '{$c1,$c2}');
SELECT segext.refresh_company('$a');
DELETE FROM segext.customers WHERE company_id = '$a' AND id = '$c3';
BEGIN;
SELECT segext.remove_segment_members('$seg', '{$c1}');
INSERT INTO segext.customers (company_id, id, first_name) VALUES ('$a', '$c4', 'eve');
SAVEPOINT s;
INSERT INTO segext.customers (company_id, id, first_name) VALUES ('$a', '$c5', 'fay');
ROLLBACK TO SAVEPOINT s;
SELECT segext.add_segment_members('$seg', '{$c4}');
COMMIT;
BEGIN;
SELECT segext.remove_segment_members('$seg', '{$c2}');
ROLLBACK;
SQL
# a writer of A through segext_api, as PostgREST's statement
sql "$writer_a" <<SQL >/dev/null
SET segext.company_id = '$a';
INSERT INTO segext_api.customers (id, first_name) VALUES ('$c6', 'gus');
SQL
# with notifications off: written, not announced
silent_from=$(sql <<<"SELECT coalesce(max(id), 0) FROM segext.membership_history WHERE company_id = '$a'")
sql <<SQL >/dev/null
SET segext.notify_membership = off;
SET segext.company_id = '$a';
SELECT segext.remove_segment_members('$seg', '{$c4}');
SQL
silent=$(sql <<<"SELECT string_agg(id::text, ',' ORDER BY id) FROM segext.membership_history
                 WHERE company_id = '$a' AND id > $silent_from")
[ -n "$silent" ] || fail "the change with notifications off wrote no history"
written=$(sql <<<"SELECT string_agg(id::text, ',' ORDER BY id) FROM segext.membership_history
                  WHERE company_id = '$a' AND id > $before AND id <= $silent_from")
[ -n "$written" ] || fail "no history was written for company A"

for name in reader_a reader_b; do
    echo "SELECT 1;" >&"${fd_of[$name]}"
    eval "exec ${fd_of[$name]}>&-"
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
pids=()
fds=()

# ids NAME: the history ids the payloads NAME received announce, one a line.
ids() {
    sed -n 's/^Asynchronous notification "segext_membership" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' "$work/$1.out" |
    while IFS= read -r p; do
        [[ "$p" =~ ^\{\"first_id\"\ :\ ([0-9]+),\ \"last_id\"\ :\ ([0-9]+)\}$ ]] ||
            { echo "bad payload: $p"; continue; }
        seq "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    done
}
announced=$(ids reader_a)
[ -n "$announced" ] || fail "the listener on the coordinator received no notification: $(cat "$work/reader_a.out")"
! grep -q "bad payload" <<<"$announced" || fail "a payload holds more than a range of history ids: $announced"
echo "ok 1 - a listener on the coordinator receives the changes made on the shards, as ranges of history ids"
[ "$(ids reader_b)" = "$announced" ] || fail "the two listeners received different notifications"
echo "ok 2 - every listener receives the same payloads"
dups=$(sort -n <<<"$announced" | uniq -d | tr '\n' ' ')
[ -z "$dups" ] || fail "history ids announced more than once: $dups"
echo "ok 3 - no history id is announced twice (several statements of a transaction, a savepoint)"
of_a=$(sort -n <<<"$announced" | awk -v b="$before" -v s="$silent_from" '$1 > b && $1 <= s' | paste -sd, -)
[ "$of_a" = "$written" ] || fail "announced ids of A ($of_a) differ from A's history ids written ($written)"
echo "ok 4 - the ranges cover every history row of A written (routed functions, DML, segext_api, a transaction)"
for id in ${silent//,/ }; do
    ! grep -qx "$id" <<<"$announced" || fail "history id $id written with segext.notify_membership off was announced"
done
echo "ok 5 - nothing is announced with segext.notify_membership off"
ranges=$(tr '\n' ',' <<<"$announced" | sed 's/,$//')
got=$(sql "$reader_a" <<<"SET segext.company_id = '$a';
    SELECT count(*) FROM segext_api.report_membership_history WHERE id IN ($ranges) AND id > $before")
n_written=$(tr ',' '\n' <<<"$written" | grep -c .)
[ "$got" = "$n_written" ] || fail "the reader of A read $got of A's $n_written announced history rows"
# History ids are per node, not per company: B's own rows may carry ids of
# A's ranges; the reader of B must read exactly B's rows among those ids.
got_b=$(sql "$reader_b" <<<"SET segext.company_id = '$b';
    SELECT count(*) FROM segext_api.report_membership_history WHERE id IN ($ranges) AND id > $before")
own_b=$(sql <<<"SELECT count(*) FROM segext.membership_history WHERE company_id = '$b' AND id IN ($ranges) AND id > $before")
[ "$got_b" = "$own_b" ] || fail "the reader of B read $got_b history rows of A's ranges, of which only $own_b are B's"
echo "ok 6 - the reader of A reads all $got announced changes of A, the reader of B none of them (only its own $own_b rows that share their ids)"
left=$(sql <<<"SELECT coalesce(sum(result::int), 0) FROM run_command_on_shards('segext.membership_notices',
               'SELECT count(*) FROM %s')")
[ "$left" = 0 ] || fail "$left rows left in the outbox segext.membership_notices"
echo "ok 7 - the outbox segext.membership_notices is empty on every shard"
