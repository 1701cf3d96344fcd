#!/usr/bin/env bash
# test/scripts/odbc.sh: segext through unixODBC and psqlODBC (Debian's
# unixodbc and odbc-postgresql packages) with the data source settings of
# deploy/odbc.ini, pointed at the throwaway cluster's socket.
#
# As a reader login granted one company (no company setting: the one granted
# is used), isql reads every view of segext_api, listed from the catalog;
# each view's rows, as text and in the same order, must equal psql's, so no
# value is cut (a criteria value is longer than 300 characters and must come
# back whole).  The driver must describe objectid and criteria columns with
# the configured size, not VARCHAR(255).  As a writer login granted two
# companies, whose company the ConnSettings line sets, an INSERT into
# segext_api.customers through isql must then be visible in psql.
#
# Prints "skipped: ..." and exits 0 only when the packages cannot be installed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/lib.sh
source "$root/scripts/lib.sh"
if ! ensure_odbc; then
    echo "skipped: unixodbc and odbc-postgresql could not be installed"
    exit 0
fi
driver=$(dpkg -L odbc-postgresql | grep '/psqlodbcw\.so$' | head -n 1)

db=segext_odbc_$$
reader=segext_odbc_reader_$$
writer=segext_odbc_writer_$$
work=$(mktemp -d /tmp/segext_odbc.XXXXXX)
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $reader" -c "DROP ROLE IF EXISTS $writer" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db" \
    -c "CREATE ROLE $reader LOGIN IN ROLE segext_reader" -c "CREATE ROLE $writer LOGIN IN ROLE segext_writer"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v reader="$reader" -v writer="$writer" >/dev/null <<'SQL'
CREATE EXTENSION segext;
SELECT segext.create_company('ODBC Shop') AS shop \gset
SELECT segext.create_company('Other Shop') AS other \gset
SELECT segext.grant_company(:'shop', :'reader', 'reader');
SELECT segext.grant_company(:'shop', :'writer', 'writer');
SELECT segext.grant_company(:'other', :'writer', 'writer');
SET segext.company_id = :'shop';
-- A criteria value longer than 300 characters: any of 12 points of sale.
INSERT INTO segext_api.segments (name, criteria)
SELECT 'Any shop',
       ('{"any": [' || string_agg(format('{"type": "bought_in_pos", "posIds": ["pos-%s"]}', i), ', ') || ']}')::segext.criteria
  FROM generate_series(1, 12) AS i;
INSERT INTO segext_api.segments (name, criteria)
VALUES ('Regulars', '[{"type": "transaction_count", "min": 2, "max": 1000000}]');
INSERT INTO segext_api.channels (name, commission, segment_mix)
SELECT 'Web', 0.1, pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('segment_id', id, 'distribution', 0.5))
  FROM segext_api.segments WHERE name IN ('Any shop', 'Regulars');
INSERT INTO segext_api.customers (external_id, first_name, last_name, email, labels, channel_id)
SELECT 'c-' || i, 'Customer ' || i, repeat('Long-Name-', 40), 'c' || i || '@example.com',
       '[{"key": "vip", "value": "yes"}]', (SELECT id FROM segext_api.channels WHERE name = 'Web')
  FROM generate_series(1, 4) AS i;
INSERT INTO segext_api.transactions (customer_id, amount, pos_id)
SELECT c.id, 10 * i, 'pos-' || i
  FROM segext_api.customers AS c, generate_series(1, 3) AS i
 WHERE c.external_id IN ('c-1', 'c-2');
SELECT segext_api.refresh();
SQL
shop=$(psql -X -At -d "$db" -c "SELECT id FROM segext.companies WHERE name = 'ODBC Shop'")
long_criteria=$(psql -X -At -d "$db" -c "SELECT criteria::text FROM segext.segments WHERE name = 'Any shop'")
[ "${#long_criteria}" -gt 300 ] || fail "the long criteria value has ${#long_criteria} characters"

# make_dsn LOGIN CONNSETTINGS: the data source of deploy/odbc.ini for this cluster.
make_dsn() {
    sed -e "s|^Driver *=.*|Driver = $driver|" -e "s|^Servername *=.*|Servername = $PGHOST|" \
        -e "s|^Port *=.*|Port = $PGPORT|" -e "s|^Database *=.*|Database = $db|" \
        -e "s|^Username *=.*|Username = $1|" -e "s|^ConnSettings *=.*|ConnSettings = $2|" \
        "$root/deploy/odbc.ini"
}
make_dsn "$reader" "" >"$work/reader.ini"
make_dsn "$writer" "SET segext.company_id TO '$shop'" >"$work/writer.ini"
grep -q '^\[segext\]' "$work/reader.ini" || fail "deploy/odbc.ini has no [segext] data source"

sep=$'\x1f'
# odbc_query INI: runs the SQL on stdin through isql, fields separated by 0x1f.
odbc_query() {
    ODBCINI=$1 isql segext -b -v -x0x1f -L1000000
}

# The views' columns, read as text: segext's types, strings, JSON and whole
# numbers as the driver hands them over; the other types (booleans, times)
# cast to text in the query, as ODBC formats them its own way; a time that
# is the reading transaction's now() (a report's "as of") reads as "now".
psql -X -At -d "$db" -F' ' >"$work/views" <<'SQL'
SELECT c.relname,
       pg_catalog.string_agg(
           CASE WHEN t.typcategory IN ('S', 'U') OR t.oid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype)
                THEN pg_catalog.quote_ident(a.attname)
                WHEN t.typcategory = 'D'
                THEN pg_catalog.format('CASE WHEN %1$I OPERATOR(pg_catalog.=) pg_catalog.now() THEN ''now'' ELSE %1$I::text END', a.attname)
                ELSE pg_catalog.quote_ident(a.attname) || '::text' END, ','
           ORDER BY a.attnum)
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
 WHERE c.relnamespace = 'segext_api'::regnamespace AND c.relkind IN ('v', 'm')
 GROUP BY c.relname ORDER BY c.relname
SQL
[ "$(wc -l <"$work/views")" -ge 10 ] || fail "fewer than 10 views in segext_api: $(cut -d' ' -f1 "$work/views" | tr '\n' ' ')"

while read -r view columns; do
    query="SELECT $columns FROM segext_api.$view AS r ORDER BY r::text"
    psql -X -At -F"$sep" -v ON_ERROR_STOP=1 -d "$db" -U "$reader" -c "$query" >"$work/$view.psql"
    echo "$query" | odbc_query "$work/reader.ini" >"$work/$view.odbc" || fail "isql could not read segext_api.$view: $(cat "$work/$view.odbc")"
    rows=$(wc -l <"$work/$view.psql")
    [ "$rows" -gt 0 ] || fail "segext_api.$view has no rows for the reader, nothing to compare"
    if ! cmp -s "$work/$view.psql" "$work/$view.odbc"; then
        diff "$work/$view.psql" "$work/$view.odbc" | cut -c1-300 | head -n 20
        fail "segext_api.$view read through ODBC differs from psql"
    fi
    echo "ok: segext_api.$view, $rows rows equal through ODBC"
done <"$work/views"

# The long criteria value comes back whole.
echo "SELECT criteria FROM segext_api.segments WHERE name = 'Any shop'" |
    odbc_query "$work/reader.ini" >"$work/criteria.odbc"
[ "$(cat "$work/criteria.odbc")" = "$long_criteria" ] ||
    fail "criteria through ODBC has $(wc -c <"$work/criteria.odbc") bytes, expected ${#long_criteria} + 1: $(head -c 400 "$work/criteria.odbc")"
echo "ok: a criteria value of ${#long_criteria} characters comes back whole"

# The driver describes objectid and criteria with MaxVarcharSize (isql's
# table shows each column one wider than its display size), also on an empty
# result, where no longest value is known.
max_varchar=$(sed -n 's/^MaxVarcharSize *= *\([0-9]*\).*/\1/p' "$root/deploy/odbc.ini")
[ "${max_varchar:-0}" -gt 255 ] || fail "deploy/odbc.ini sets no MaxVarcharSize above 255"
widths=$(echo "SELECT id, criteria FROM segext_api.segments WHERE false" |
    ODBCINI="$work/reader.ini" isql segext -b -L1000000 | sed -n 1p |
    awk -F+ '{ for (i = 2; i < NF; i++) printf "%s%d", (i > 2 ? " " : ""), length($i) - 1 }')
[ "$widths" = "$max_varchar $max_varchar" ] ||
    fail "objectid and criteria are described with sizes $widths, expected $max_varchar $max_varchar"
echo "ok: objectid and criteria are described with size $max_varchar"

# A write through a view, as the writer, for the company ConnSettings sets.
echo "INSERT INTO segext_api.customers (external_id, first_name) VALUES ('odbc-1', 'Written through ODBC')" |
    odbc_query "$work/writer.ini" >"$work/insert.odbc" || fail "isql could not insert: $(cat "$work/insert.odbc")"
written=$(psql -X -At -d "$db" -c "SELECT company_id::text || ' ' || first_name FROM segext.customers WHERE external_id = 'odbc-1'")
[ "$written" = "$shop Written through ODBC" ] || fail "the customer written through ODBC reads as '$written' in psql"
echo "ok: a customer inserted through ODBC is visible in psql, in company $shop"
