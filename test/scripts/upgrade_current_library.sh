#!/usr/bin/env bash
# test/scripts/upgrade_current_library.sh: the current library serves the
# released version's install script: CREATE EXTENSION segext VERSION of the
# released version works (every C symbol it names is there), the released
# aggregate segext.customer_facts, which the current code no longer computes,
# and a trigger whose C symbol was renamed refuse with 55000 and the hint to
# update, and ALTER EXTENSION segext
# UPDATE then gives the catalog of a fresh install
# (test/helpers/describe_extension.sql).
set -euo pipefail

source "$(dirname "$0")/../helpers/upgrade_check.sh"
upgrade_check_setup upgrade_current_library

psql -X -q -v ON_ERROR_STOP=1 -d "$old" -c "CREATE EXTENSION segext VERSION '$released'" ||
    fail "CREATE EXTENSION segext VERSION '$released' failed with the current library"
[ "$(psql -X -At -d "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'segext'")" = "$released" ] ||
    fail "the extension is not at version $released"

# A released C function the current code has no use for refuses, with the fix.
out=$(psql -X -q -At -d "$old" -v VERBOSITY=verbose -c "SELECT segext.customer_facts(ARRAY[]::segext.criteria[],
    pg_catalog.now(), 1, 0, true, pg_catalog.now(), 'p', NULL, NULL, NULL)" 2>&1 || true)
grep -q '^ERROR:  55000: extension "segext" must be updated before segext.customer_facts can run$' <<<"$out" ||
    fail "segext.customer_facts on $released objects: $out"
grep -q '^HINT:  Run ALTER EXTENSION segext UPDATE in this database.$' <<<"$out" ||
    fail "no hint to update: $out"

# A released trigger whose symbol the current code renamed refuses a write,
# with the fix.
out=$(psql -X -q -At -d "$old" -v VERBOSITY=verbose -c "INSERT INTO segext.customers (company_id, first_name)
    VALUES ('000000000000000000000001', 'Ann')" 2>&1 || true)
grep -q '^ERROR:  55000: extension "segext" must be updated before customers change$' <<<"$out" ||
    fail "a customer written on $released objects: $out"

update_and_compare_catalog

# The updated database works: a company gets its built-ins and a customer
# its membership of segment 0 "All".
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$old" <<'SQL'
SELECT segext.create_company('current library') AS c \gset
INSERT INTO segext.customers (company_id, first_name) VALUES (:'c', 'Ann');
SELECT pg_catalog.count(*) FROM segext.memberships AS m JOIN segext.segments AS s
    ON s.company_id OPERATOR(pg_catalog.=) m.company_id AND s.id OPERATOR(pg_catalog.=) m.segment_id
WHERE m.company_id OPERATOR(pg_catalog.=) :'c' AND s.number OPERATOR(pg_catalog.=) 0;
SQL
)
[ "$out" = 1 ] || fail "after the update, a new customer is in segment 0 $out time(s), expected 1"

echo "upgrade_current_library: CREATE EXTENSION segext VERSION '$released' with the $current library, then UPDATE: catalog equal to a fresh install ($facts facts)"
