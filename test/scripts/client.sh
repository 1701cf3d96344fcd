#!/usr/bin/env bash
# test/scripts/client.sh: builds the libpq client test (test/client/) and
# runs it against the throwaway cluster as segext_reader, reading the
# reporting views (sizes, size history, membership history, channel forecast
# and mix) in text and binary result format.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
db=segext_client_$$
login=segext_client_$$
work=$(mktemp -d)
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $login" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

cc -Wall -Wextra -Werror -I"$($PG_CONFIG --includedir)" "$root/test/client/segext_client.c" \
    -L"$($PG_CONFIG --libdir)" -lpq -o "$work/segext_client"

# The extension brings the segext roles; the login role only inherits segext_reader.
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION segext"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE $login LOGIN IN ROLE segext_reader"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
INSERT INTO segext.companies (id, name) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'Client A'), ('bbbbbbbbbbbbbbbbbbbbbbbb', 'Client B');
SET segext.company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa';
INSERT INTO segext_api.segments (number, name) VALUES (2, 'Gold'), (3, 'Silver');
INSERT INTO segext_api.channels (name, commission, segment_mix)
SELECT 'Web', 0.1, jsonb_agg(jsonb_build_object('segment_id', id, 'distribution', 0.5))
  FROM segext_api.segments WHERE number IN (2, 3);
UPDATE segext_api.segments SET criteria = '[{"type":"transaction_count","min":1,"max":100}]' WHERE number = 2;
INSERT INTO segext_api.customers (external_id, first_name, channel_id)
SELECT 'c' || i, 'Customer ' || i, (SELECT id FROM segext_api.channels WHERE name = 'Web')
  FROM generate_series(1, 3) i;
INSERT INTO segext_api.transactions (customer_id, amount)
SELECT id, 10 FROM segext_api.customers WHERE external_id IN ('c1', 'c2');
SELECT segext_api.refresh();
-- The client reads as segext_reader: grant it company A (company B stays ungranted).
SELECT segext.grant_company('aaaaaaaaaaaaaaaaaaaaaaaa', 'segext_reader');
SQL

"$work/segext_client" "host=$PGHOST port=$PGPORT dbname=$db user=$login" aaaaaaaaaaaaaaaaaaaaaaaa | tee "$work/out"
grep -q '^1\.\.' "$work/out" || { echo "client test did not finish"; exit 1; }
! grep -q '^not ok' "$work/out" || { echo "client test failed"; exit 1; }
