#!/usr/bin/env bash
# test/citus/scripts/outbox_reads.sh: after a write through the coordinator,
# the coordinator reads the membership outbox (segext.membership_notices)
# of the shard groups of the companies the statement wrote, when the
# statement names them by constants or parameters (one shard for one
# company), and of every shard otherwise; every change is announced either
# way (run by test/citus/run.sh against CITUS_HOST:CITUS_PORT).  Counts the
# outbox reads Citus sends to the workers (citus.log_remote_commands) and
# the notifications the writing session, listening, receives.  TAP output.
set -euo pipefail

: "${CITUS_HOST:?}" "${CITUS_PORT:?}" "${CITUS_DB:?}"
sfx=$$
hex=$(printf '%08x' "$sfx")
a=a0a0a0a0a0a0a0a0$hex b=b0b0b0b0b0b0b0b0$hex
work=$(mktemp -d)
sql() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$CITUS_PORT" -U postgres -d "$CITUS_DB" "$@"
}
cleanup() {
    sql -c "DELETE FROM segext.companies WHERE id IN ('$a', '$b')" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "not ok - $*"; exit 1; }
customer() { printf 'c0c0c0c0c0c0c0c0%08x' "$1"; }

sql >/dev/null <<SQL
INSERT INTO segext.companies (id, name) VALUES ('$a', 'Outbox A $sfx'), ('$b', 'Outbox B $sfx');
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    ('$a', 'buyers', '[{"type": "transaction_count", "min": 1, "max": 1000}]'),
    ('$b', 'buyers', '[{"type": "transaction_count", "min": 1, "max": 1000}]');
INSERT INTO segext.customers (company_id, id, first_name)
    VALUES $(for i in $(seq 1 20); do printf "('%s', '%s', 'c%d'), ('%s', '%s', 'c%d')," "$a" "$(customer "$i")" "$i" "$b" "$(customer "$i")" "$i"; done | sed 's/,$//');
SQL

# run NAME SQL...: runs the statements in a session that listens; writes the
# number of outbox shards read to NAME.reads and of notifications to NAME.notes
# (a statement may announce several ranges: one per trigger that changed members).
run() {
    local name=$1
    shift
    {
        echo "SET segext.company_id = '$a';"
        echo "LISTEN segext_membership;"
        echo "SET citus.log_remote_commands = on;"
        echo "SET client_min_messages = log;"
        printf '%s\n' "$@"
        echo "SELECT 1;"
    } | psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$CITUS_PORT" -U postgres -d "$CITUS_DB" \
        >"$work/$name.out" 2>&1 || fail "$name: $(cat "$work/$name.out")"
    grep -c 'issuing SELECT first_id, last_id FROM segext.membership_notices_' "$work/$name.out" >"$work/$name.reads" || true
    grep -c '^Asynchronous notification "segext_membership"' "$work/$name.out" >"$work/$name.notes" || true
}
check() {
    local name=$1 reads=$2 notes=$3 what=$4
    [ "$(cat "$work/$name.reads")" = "$reads" ] ||
        fail "$what: $(cat "$work/$name.reads") outbox reads, expected $reads"
    local got
    got=$(cat "$work/$name.notes")
    if [ "$notes" = 0 ]; then
        [ "$got" = 0 ] || fail "$what: $got notifications, expected none"
    else
        [ "$got" -ge "$notes" ] || fail "$what: $got notifications, expected at least $notes"
    fi
    echo "ok - $what: $reads outbox read(s), $got notification(s)"
}
shards=$(sql -c "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'segext.membership_notices'::regclass")

echo "1..7"
sale() { printf "INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES ('%s', '%s', 5);" "$1" "$(customer "$2")"; }
run one "$(sale "$a" 1)"
check one 1 1 "a sale of one company"
run prepared "PREPARE sale(segext.objectid, segext.objectid) AS
    INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (\$1, \$2, 5);" \
    $(for i in $(seq 2 8); do printf "EXECUTE sale('%s', '%s');\n" "$a" "$(customer "$i")"; done)
check prepared 7 7 "a prepared sale executed 7 times (custom and generic plans)"
run api "DELETE FROM segext_api.customers WHERE id = '$(customer 1)';"
check api 1 1 "a DELETE through segext_api.customers"
run update "UPDATE segext.transactions SET amount = 7 WHERE company_id = '$a' AND customer_id = '$(customer 2)';"
check update 1 0 "an UPDATE of one company that changes no member"
run two "INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    ('$a', '$(customer 9)', 5), ('$b', '$(customer 9)', 5);"
check two 2 2 "one INSERT of two companies"
run select "INSERT INTO segext.transactions (company_id, customer_id, amount)
    SELECT v.company_id, v.customer_id, 5 FROM (VALUES ('$a'::segext.objectid, '$(customer 10)'::segext.objectid)) AS v (company_id, customer_id);"
check select "$shards" 1 "an INSERT ... SELECT (its company not named by a constant)"
left=$(sql -c "SELECT coalesce(sum(result::int), 0) FROM run_command_on_shards('segext.membership_notices',
               'SELECT count(*) FROM %s')")
[ "$left" = 0 ] || fail "$left rows left in the outbox segext.membership_notices"
echo "ok - the outbox is empty on every shard"
