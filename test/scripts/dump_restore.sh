#!/usr/bin/env bash
# test/scripts/dump_restore.sh: pg_dump -Fc of a database with two companies
# (segments, groups, channels, mixes), pg_restore into a fresh database with
# triggers off (session_replication_role=replica), then every segext table
# must hold the same rows, and the rules must still work in the copy.
set -euo pipefail

src=segext_dump_src_$$
dst=segext_dump_dst_$$
dump=$(mktemp /tmp/segext_dump.XXXXXX)
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" >/dev/null 2>&1 || true
    rm -f "$dump"
}
trap cleanup EXIT

fail() { echo "dump_restore: $*" >&2; exit 1; }

createdb "$src"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" -c 'CREATE EXTENSION segext' \
    -f "$(dirname "$0")/../helpers/two_companies.sql" -c 'SELECT segext.recheck_time_windows()'

pg_dump -Fc -d "$src" -f "$dump"
createdb "$dst"
PGOPTIONS='-c session_replication_role=replica' pg_restore --exit-on-error -d "$dst" "$dump"

# table_digest prints one line per table: name, row count and md5 of its rows in key order.
table_digest() {
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT 'companies', count(*), md5(string_agg(t::text, '|' ORDER BY t.id::text)) FROM segext.companies t;
SELECT 'segment_groups', count(*), md5(string_agg(t::text, '|' ORDER BY t.company_id::text, t.id)) FROM segext.segment_groups t;
SELECT 'segments', count(*), md5(string_agg(t::text, '|' ORDER BY t.company_id::text, t.number)) FROM segext.segments t;
SELECT 'channels', count(*), md5(string_agg(t::text, '|' ORDER BY t.company_id::text, t.name)) FROM segext.channels t;
SELECT 'channel_segments', count(*), md5(string_agg(t::text, '|' ORDER BY t.company_id::text, t.channel_id::text, t.segment_id::text)) FROM segext.channel_segments t;
SELECT 'customers', count(*), md5(string_agg(t::text, '|' ORDER BY t.id::text)) FROM segext.customers t;
SELECT 'transactions', count(*), md5(string_agg(t::text, '|' ORDER BY t.id::text)) FROM segext.transactions t;
SELECT 'memberships', count(*), md5(string_agg(t::text, '|' ORDER BY t.segment_id::text, t.customer_id::text)) FROM segext.memberships t;
SELECT 'membership_history', count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM segext.membership_history t;
SELECT 'customer_states', count(*), md5(string_agg(t::text, '|' ORDER BY t.company_id::text, t.customer_id::text)) FROM segext.customer_states t;
SELECT 'time_window_checks', count(*), md5(string_agg(t::text, '|' ORDER BY t.company_id::text)) FROM segext.time_window_checks t;
SQL
}

before=$(table_digest "$src")
after=$(table_digest "$dst")
echo "$before"
[ "$(echo "$before" | grep -c .)" -eq 11 ] || fail "expected 11 tables in the source digest"
echo "$before" | awk -F'|' '$2 == 0 { exit 1 }' || fail "a source table is empty"
[ "$before" = "$after" ] || { echo "restored:"; echo "$after"; fail "restored rows differ from the source"; }

# The rules work in the restored database: refused deletes, a refused mix, a created segment.
out=$(psql -X -q -At -d "$dst" -c "DELETE FROM segext.channels ch USING segext.companies c
    WHERE c.id OPERATOR(pg_catalog.=) ch.company_id AND c.name = 'Beta'" 2>&1 || true)
grep -q 'cannot delete the last channel of company "Beta"' <<<"$out" || fail "last-channel rule not enforced after restore: $out"
out=$(psql -X -q -At -d "$dst" -c "DELETE FROM segext.segments WHERE number = 1" 2>&1 || true)
grep -q 'built-in segment 1 "Default" cannot be deleted' <<<"$out" || fail "built-in rule not enforced after restore: $out"
out=$(psql -X -q -At -d "$dst" -c "UPDATE segext.channel_segments SET distribution = 0.5 WHERE distribution = 0.875" 2>&1 || true)
grep -q 'segment mix of channel "Events" sums to 0.625, not 1' <<<"$out" || fail "mix rule not enforced after restore: $out"
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$dst" -c "INSERT INTO segext.segments (company_id, name)
    SELECT id, 'Bronze' FROM segext.companies WHERE name = 'Acme' RETURNING number")
[ "$out" = 5 ] || fail "number assignment after restore gave '$out', expected 5"
# the built-ins, and as many policies and triggers as the extension made in the source
objects="SELECT (SELECT count(*) FROM segext.segments WHERE number < 2),
    (SELECT count(*) FROM pg_policies WHERE schemaname = 'segext'),
    (SELECT count(*) FROM pg_trigger WHERE tgrelid::regclass::text LIKE 'segext.%' AND NOT tgisinternal)"
expected=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$src" -c "$objects")
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$dst" -c "$objects")
[ "${expected%%|*}" = 4 ] || fail "the source has '${expected%%|*}' built-in segments, expected 4"
[ "$out" = "$expected" ] || fail "built-ins, policies or triggers after restore: '$out', expected $expected"
# channels.segment_mix restores as dumped, equal to the restored mix rows, and
# writing it still replaces the rows.
mix_in_step="SELECT count(*) FILTER (WHERE c.segment_mix::text IS DISTINCT FROM (SELECT COALESCE(jsonb_agg(jsonb_build_object(
    'segment_id', m.segment_id, 'distribution', m.distribution) ORDER BY m.segment_id), '[]')::text
    FROM segext.channel_segments m WHERE m.company_id OPERATOR(pg_catalog.=) c.company_id
    AND m.channel_id OPERATOR(pg_catalog.=) c.id)), count(*) FROM segext.channels c"
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$dst" -c "$mix_in_step")
[ "$out" = "0|4" ] || fail "segment_mix differs from the mix rows after restore: '$out' (differing|channels)"
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$dst" -c "UPDATE segext.channels c SET segment_mix = jsonb_build_array(jsonb_build_object(
    'segment_id', s.id, 'distribution', 1)) FROM segext.segments s WHERE s.company_id OPERATOR(pg_catalog.=) c.company_id
    AND s.name = 'Gold' AND c.name = 'Events'" -c "$mix_in_step" -c "SELECT count(*) FROM segext.channel_segments m
    JOIN segext.channels c ON c.id OPERATOR(pg_catalog.=) m.channel_id WHERE c.name = 'Events'")
[ "$out" = "$(printf '0|4\n1')" ] || fail "writing segment_mix after restore: '$out', expected the rows replaced"
# Membership still refreshes in the copy, and finds nothing to change.
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$dst" -c "SELECT segext.refresh_company(id) FROM segext.companies WHERE name = 'Acme'")
[ "$out" = 0 ] || fail "refresh after restore changed '$out' memberships, expected 0"
echo "dump/restore round trip: 11 tables identical, rules enforced after restore"
