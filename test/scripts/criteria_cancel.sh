#!/usr/bin/env bash
# test/scripts/criteria_cancel.sh: a statement_timeout or pg_cancel_backend
# that fires while criteria regex patterns compile is reported as a cancel
# (57014), not as an invalid pattern (22023).  Each statement parses many
# criteria values, each with patterns at the limits, so the interrupt lands
# in a compilation (or just before the next one, which then stops at once).
set -euo pipefail

db=segext_criteria_cancel_$$
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION segext"

fail() { echo "criteria_cancel: $*" >&2; exit 1; }

# Criteria with 20 patterns of 32 operators each, parsed for 100000 rows.
parse_many="SELECT count(x.c) FROM generate_series(1, 100000) g,
    LATERAL (SELECT jsonb_agg(jsonb_build_object('field', 'f', 'op', 'regex',
        'value', repeat('(a|b)*', 16) || g || '-' || i))::segext.criteria AS c
        FROM generate_series(1, 20) i) x"

# statement_timeout
out=$(psql -X -q -At -d "$db" -c "SET statement_timeout = '300ms'" -c "\\set VERBOSITY sqlstate" \
    -c "$parse_many" 2>&1 || true)
echo "statement_timeout: $out"
[ "$out" = "ERROR:  57014" ] || fail "statement_timeout during regex compilation gave '$out', expected 57014"

# pg_cancel_backend from another session
psql -X -q -At -d "$db" -c "\\set VERBOSITY sqlstate" -c "$parse_many" \
    >"/tmp/criteria_cancel_$$.out" 2>&1 &
victim=$!
pid=""
for _ in $(seq 1 100); do
    pid=$(psql -X -q -At -d "$db" -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
        AND query LIKE 'SELECT count(x.c) FROM generate_series(1, 100000)%' AND pid <> pg_backend_pid()")
    [ -n "$pid" ] && break
    sleep 0.05
done
[ -n "$pid" ] || fail "the parsing session did not start"
sleep 0.3
psql -X -q -At -d "$db" -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait "$victim" || true
out=$(cat "/tmp/criteria_cancel_$$.out"); rm -f "/tmp/criteria_cancel_$$.out"
echo "pg_cancel_backend: $out"
[ "$out" = "ERROR:  57014" ] || fail "pg_cancel_backend during regex compilation gave '$out', expected 57014"
echo "criteria_cancel: both interrupts reported as 57014"
