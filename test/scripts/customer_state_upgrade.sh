#!/usr/bin/env bash
# test/scripts/customer_state_upgrade.sh: a database of the released version
# with transactions (sales, partial and full returns), updated with ALTER
# EXTENSION segext UPDATE, has the customer states of its transactions: equal
# to a rebuild, and giving every segment the members segment_members gives.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
released=$(sed -n 's/^PREVIOUS_VERSION = //p' "$root/Makefile")
db=segext_state_upgrade_$$
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT

createdb "$db"
# load_released_data makes the released version's database with sales and returns.
load_released_data() {
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION segext VERSION '$released'" \
    -f "$here/../helpers/two_companies.sql"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SELECT id AS a FROM segext.companies WHERE name = 'Acme' \gset
INSERT INTO segext.customers (company_id, external_id, first_name)
SELECT :'a', 'u' || g, 'Upgraded ' || g FROM generate_series(1, 50) AS g;
INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id, items)
SELECT :'a', c.id, (g % 40) + 1, 'P' || (g % 3), '[{"sku": "A-1", "maker": "Acme", "labels": [{"key": "k", "value": "v"}]}]'
FROM segext.customers AS c, generate_series(1, 3) AS g
WHERE c.company_id OPERATOR(segext.=) :'a' AND c.external_id LIKE 'u%';
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
SELECT t.company_id, t.customer_id, -t.amount / CASE WHEN pg_catalog.get_byte(t.id::text::bytea, 23) % 2 = 0 THEN 1 ELSE 2 END, t.id
FROM segext.transactions AS t WHERE t.returns_id IS NULL AND t.amount > 30;
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'Three sales', '[{"type": "transaction_count", "min": 3, "max": 3}]'),
    (:'a', 'Labelled', '[{"type": "bought_labels", "labels": [{"key": "K", "value": "V"}]}]');
SQL
}
source "$here/../helpers/released_library.sh"
with_released_library "$released" load_released_data
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "ALTER EXTENSION segext UPDATE"
result=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE TEMP TABLE kept AS SELECT * FROM segext.customer_states;
SELECT segext.rebuild_customer_states(id) FROM segext.companies \g /dev/null
SELECT (SELECT count(*) FROM kept) || ' ' ||
       (SELECT count(*) FROM ((SELECT * FROM kept EXCEPT ALL SELECT * FROM segext.customer_states)
                              UNION ALL (SELECT * FROM segext.customer_states EXCEPT ALL SELECT * FROM kept)) AS d) || ' ' ||
       (SELECT count(*) FROM segext.segments AS s
        WHERE EXISTS (SELECT customer_id FROM segext.segment_members(s.id) EXCEPT SELECT customer_id FROM segext.memberships AS m
                      WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id)
           OR EXISTS (SELECT customer_id FROM segext.memberships AS m WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
                      EXCEPT SELECT customer_id FROM segext.segment_members(s.id)));
SQL
)
read -r states differences segments <<<"$result"
[ "$states" -ge 50 ] || { echo "customer_state_upgrade: only $states states after the update" >&2; exit 1; }
[ "$differences" = 0 ] || { echo "customer_state_upgrade: $differences state rows differ from a rebuild" >&2; exit 1; }
[ "$segments" = 0 ] || { echo "customer_state_upgrade: $segments segments differ from segment_members" >&2; exit 1; }
echo "customer_state_upgrade: $states states made by the update, equal to a rebuild; every segment's members agree"
