#!/usr/bin/env bash
# test/scripts/error_messages.sh: the errors a writer meets, as a client
# receives them (psql, default verbosity): a row for another company is
# "permission denied for company" on every company table, an unknown company
# "does not exist", a unique violation under row level security names the
# conflicting value (DETAIL, HINT), and a rule's refusal carries no CONTEXT
# of segext's internal statements.
set -euo pipefail

db=segext_errors_$$
writer=segext_errors_writer_$$
work=$(mktemp -d)
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $writer" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; exit 1; }

psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
q -c "CREATE EXTENSION segext" -c "CREATE ROLE $writer LOGIN IN ROLE segext_writer"
a=$(q -c "SELECT segext.create_company('errors a')")
b=$(q -c "SELECT segext.create_company('errors b')")
q -c "SELECT segext.grant_company('$a', '$writer', 'writer')" >/dev/null
q -c "INSERT INTO segext.customers (company_id, id, first_name) VALUES ('$b', '0000000000000000000000e1', 'bea')"
all0=$(q -c "SELECT id FROM segext.segments WHERE company_id = '$a' AND number = 0")

# as_writer SQL: what the client prints for SQL run by the writer for company a.
as_writer() {
    PGOPTIONS="-c segext.company_id=$a" psql -X -q -U "$writer" -d "$db" -c "$1" 2>&1 || true
}
# as_admin SQL: the same for the superuser.
as_admin() {
    psql -X -q -d "$db" -c "$1" 2>&1 || true
}
# expect OUTPUT PATTERN WHAT: OUTPUT matches the extended regular expression.
expect() {
    grep -Eq -- "$2" <<<"$1" || fail "$3: expected /$2/ in: $1"
}
# refuse OUTPUT PATTERN WHAT: OUTPUT does not match.
refuse() {
    ! grep -Eq -- "$2" <<<"$1" || fail "$3: unexpected /$2/ in: $1"
}

# Another company's rows, on every table a writer writes.
for sql in \
    "INSERT INTO segext.customers (company_id, first_name) VALUES ('$b', 'eve')" \
    "INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES ('$b', '0000000000000000000000e1', 5)" \
    "INSERT INTO segext.segments (company_id, name) VALUES ('$b', 'theirs')" \
    "INSERT INTO segext.segment_groups (company_id, name) VALUES ('$b', 'theirs')" \
    "INSERT INTO segext.channels (company_id, name) VALUES ('$b', 'theirs')" \
    "INSERT INTO segext_api.customers (company_id, first_name) VALUES ('$b', 'eve')"; do
    out=$(as_writer "$sql")
    expect "$out" "^ERROR:  permission denied for company \"$b\"" "another company's row: $sql"
    expect "$out" "^DETAIL:  The current company of role \"$writer\" in this session is another company" "its DETAIL"
    refuse "$out" "row-level security|foreign key" "no bare policy or key message"
done

# A well-formed id of no company (the superuser passes the tenancy check).
for table in segments segment_groups channels; do
    out=$(as_admin "INSERT INTO segext.$table (company_id, name) VALUES ('0000000000000000000000ff', 'x')")
    expect "$out" '^ERROR:  company "0000000000000000000000ff" does not exist' "unknown company in $table"
    refuse "$out" "null value" "no not-null message in $table"
done

# Unique violations name the value, for the writer under row level security.
as_writer "INSERT INTO segext_api.segments (name, ref) VALUES ('twice', 'ref-1')" >/dev/null
as_writer "INSERT INTO segext_api.customers (external_id, first_name) VALUES ('ext-1', 'cy')" >/dev/null
as_writer "INSERT INTO segext_api.channels (name) VALUES ('web')" >/dev/null
out=$(as_writer "INSERT INTO segext_api.segments (name) VALUES ('twice')")
expect "$out" "^DETAIL:  Key \\(company_id, name\\)=\\($a, twice\\) already exists\\." "duplicate segment name"
expect "$out" "^HINT:  Choose another name" "its HINT"
out=$(as_writer "INSERT INTO segext_api.segments (name, ref) VALUES ('other', 'ref-1')")
expect "$out" "^DETAIL:  Key \\(company_id, ref\\)=\\($a, ref-1\\) already exists\\." "duplicate segment ref"
out=$(as_writer "UPDATE segext_api.segments SET name = 'twice' WHERE name = 'Default'")
refuse "$out" "Key \\(company_id, name\\)=\\($a, twice\\)" "a built-in's refusal is its own"
as_writer "INSERT INTO segext_api.segments (name) VALUES ('renamed')" >/dev/null
out=$(as_writer "UPDATE segext_api.segments SET name = 'twice' WHERE name = 'renamed'")
expect "$out" "^DETAIL:  Key \\(company_id, name\\)=\\($a, twice\\) already exists\\." "a rename onto a taken name"
out=$(as_writer "INSERT INTO segext_api.channels (name) VALUES ('web')")
expect "$out" "^DETAIL:  Key \\(company_id, name\\)=\\($a, web\\) already exists\\." "duplicate channel name"
out=$(as_writer "INSERT INTO segext_api.customers (external_id, first_name) VALUES ('ext-1', 'cy')")
expect "$out" "^DETAIL:  Key \\(company_id, external_id\\)=\\($a, ext-1\\) already exists\\." "duplicate external_id"
out=$(as_writer "INSERT INTO segext_api.segments (name) VALUES ('pair'), ('pair')")
expect "$out" "^DETAIL:  Key \\(company_id, name\\)=\\($a, pair\\) already exists\\." "a duplicate within one statement"
out=$(as_writer "INSERT INTO segext_api.segments (name) VALUES ('twice') ON CONFLICT DO NOTHING")
expect "$out" "^INSERT 0 0|^$" "ON CONFLICT DO NOTHING still does nothing"

# A wrong mix: the rule's message, DETAIL and HINT, and no internal CONTEXT.
out=$(as_writer "UPDATE segext_api.channels SET segment_mix = '[{\"segment_id\": \"$all0\", \"distribution\": 1}]' WHERE name = 'web'")
expect "$out" '^ERROR:  segment 0 "All" cannot be in a channel segment mix' "segment 0 in a mix"
refuse "$out" "^CONTEXT:" "no CONTEXT line"
out=$(as_writer "BEGIN; UPDATE segext_api.channels SET segment_mix = '[]' WHERE name = 'web'; COMMIT;")
refuse "$out" "^CONTEXT:" "no CONTEXT line on an empty mix"
# A stamp_event trigger whose arguments do not fit its table: refused at
# CREATE TRIGGER, with no CONTEXT of segext's own statements.
q -c "CREATE TABLE public.errors_events (company_id segext.objectid, segment int)"
out=$(as_admin "CREATE TRIGGER stamp BEFORE INSERT ON public.errors_events FOR EACH ROW EXECUTE FUNCTION segext.stamp_event('company_id', 'no_such_column')")
expect "$out" "^ERROR:  " "a stamp_event trigger with a missing column is refused"
refuse "$out" "^CONTEXT:" "no CONTEXT line at CREATE TRIGGER"
echo "error_messages: ok"
