#!/usr/bin/env bash
# test/scripts/upgrade.sh: the released version's install script, loaded with
# data by the released library, then ALTER EXTENSION segext UPDATE with the
# current one: the catalog must equal a fresh
# install of the current version (test/helpers/describe_extension.sql), the
# rows of every 0.1.0 table must survive unchanged, membership must refresh
# to the same members, and the rules must still hold.
set -euo pipefail

helpers=$(cd "$(dirname "$0")/../helpers" && pwd)
source "$helpers/upgrade_check.sh"
source "$helpers/released_library.sh"
upgrade_check_setup upgrade

[ "$released" != "$current" ] || fail "the released version ($released) equals the current one"

# load_released_data makes the released version's database: its install
# script, two companies, more customers, sales and criteria segments, refreshed.
load_released_data() {
psql -X -q -v ON_ERROR_STOP=1 -d "$old" -c "CREATE EXTENSION segext VERSION '$released'" \
    -f "$helpers/two_companies.sql"
psql -X -q -v ON_ERROR_STOP=1 -d "$old" <<'SQL'
-- More members: criteria segments of several kinds over more customers.
SELECT id AS a FROM segext.companies WHERE name = 'Acme' \gset
INSERT INTO segext.customers (company_id, id, external_id, first_name, active, birth_date)
SELECT :'a', segext.objectid_generate(), 'g' || g, 'Guest ' || g, g % 7 <> 0, DATE '1980-01-01' + g
FROM generate_series(1, 200) AS g;
INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id, items)
SELECT :'a', c.id, (g % 50) + 1, 'P' || (g % 3), '[{"sku": "A-1", "maker": "Acme"}]'
FROM segext.customers AS c, generate_series(1, 3) AS g
WHERE c.company_id OPERATOR(segext.=) :'a' AND c.external_id LIKE 'g%';
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'Spenders', '[{"type": "transaction_amount", "fromAmount": 60, "toAmount": 100000}]'),
    (:'a', 'POS 1', '[{"type": "bought_in_pos", "posIds": ["P1"]}]');
SELECT segext.refresh_company(:'a') \g /dev/null
SQL
}
with_released_library "$released" load_released_data

# digest_queries prints, for every table of the released version, a query
# giving its row count and the md5 of its rows (released columns only, but
# for those the update moves elsewhere: segments.customers_count, checked
# below against the counts after the update) in a stable order.
psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" >"$work/digest.sql" <<'SQL'
SELECT pg_catalog.format('SELECT %L, count(*), md5(string_agg(pg_catalog.row_to_json(r)::text, ''|'' ORDER BY pg_catalog.row_to_json(r)::text)) FROM (SELECT %s FROM %s) AS r;',
    c.oid::regclass,
    (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute AS a
     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       AND (c.oid::regclass::text, a.attname::text) <> ('segext.segments', 'customers_count')),
    c.oid::regclass)
FROM pg_extension AS e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class AS c ON c.oid = cfg.oid
WHERE e.extname = 'segext' ORDER BY 1;
SQL
[ "$(grep -c . "$work/digest.sql")" -ge 9 ] || fail "expected the released version to dump at least 9 tables"
psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" -f "$work/digest.sql" >"$work/before"
members_query="SELECT company_id, segment_id, customer_id FROM segext.memberships ORDER BY 1, 2, 3"
# (the member rows: the library of the current version no longer keeps the
# released segments.customers_count, which the update recomputes from them)
psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" -c "SELECT s.company_id, s.id, (SELECT count(*) FROM segext.memberships AS m
    WHERE m.company_id OPERATOR(segext.=) s.company_id AND m.segment_id OPERATOR(segext.=) s.id) FROM segext.segments AS s ORDER BY 1, 2" >"$work/counts_before"
psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" -c "$members_query" >"$work/members_before"
! awk -F'|' '$2 == 0' "$work/before" | grep -v membership_history | grep -q . || fail "an empty released table: $(cat "$work/before")"

# The catalog of the updated database equals a fresh install's.
update_and_compare_catalog

# Every released table keeps its rows.
psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" -f "$work/digest.sql" >"$work/after"
diff -u "$work/before" "$work/after" || fail "rows of the released tables changed in the update"
# Member counts moved to segment_member_counts: the same counts.
psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" -c "SELECT company_id, id, segext.segment_customers_count(company_id, id) FROM segext.segments ORDER BY 1, 2" >"$work/counts_after"
diff -u "$work/counts_before" "$work/counts_after" || fail "member counts changed in the update"
[ "$(awk -F'|' '$3 > 0' "$work/counts_after" | grep -c .)" -ge 3 ] || fail "expected several segments with members: $(cat "$work/counts_after")"

# Membership refreshes to the same members, and the rules hold.
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" -c "SELECT sum(segext.refresh_company(id)) FROM segext.companies")
[ "$out" = 0 ] || fail "a refresh after the update changed '$out' memberships, expected 0"
psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" -c "$members_query" >"$work/members_after"
diff -q "$work/members_before" "$work/members_after" >/dev/null || fail "memberships differ after the update and a refresh"
members=$(grep -c . "$work/members_after")
[ "$members" -gt 100 ] || fail "only $members memberships after the update"
out=$(psql -X -q -At -d "$old" -c "DELETE FROM segext.segments WHERE number = 1" 2>&1 || true)
grep -q 'built-in segment 1 "Default" cannot be deleted' <<<"$out" || fail "built-in rule not enforced after the update: $out"
out=$(psql -X -q -At -d "$old" -c "UPDATE segext.channel_segments SET distribution = 0.5 WHERE distribution = 0.875" 2>&1 || true)
grep -q 'segment mix of channel "Events" sums to 0.625, not 1' <<<"$out" || fail "mix rule not enforced after the update: $out"
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" -c "INSERT INTO segext.segments (company_id, name)
    SELECT id, 'Bronze' FROM segext.companies WHERE name = 'Acme' RETURNING number")
[ "$out" = 7 ] || fail "number assignment after the update gave '$out', expected 7"

echo "upgrade $released -> $current: catalog equal to a fresh install ($facts facts), $(grep -c . "$work/before") tables and $members memberships kept, rules enforced"
