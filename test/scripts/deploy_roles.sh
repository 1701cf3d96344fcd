#!/usr/bin/env bash
# test/scripts/deploy_roles.sh: deploy/roles.sql sets up the PostgREST roles:
# segext_authenticator logs in, has no rights of its own, and can switch to
# the segext roles and to segext_anon, which cannot read the API; it is a
# member of segext_gateway, so its sessions' JWT claims name the company,
# while the same claims from another login give nothing.  Also checks
# that deploy/postgrest.conf names the schema, anonymous role and search path.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
db=segext_deploy_$$
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" \
        -c "DROP ROLE IF EXISTS segext_authenticator, segext_anon, ${db}_login" >/dev/null 2>&1 || true
}
trap cleanup EXIT

fail() { echo "FAILED: $*"; exit 1; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION segext"
# twice: the script can be re-run
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v authenticator_password="'s3cret'" -f "$root/deploy/roles.sql"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v authenticator_password="'s3cret'" -f "$root/deploy/roles.sql"

company=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -c "SELECT segext.create_company('Deploy test')")

out=$(psql -X -qAt -d "$db" -U segext_authenticator -c "SELECT count(*) FROM segext_api.segments" 2>&1 || true)
grep -q "permission denied" <<<"$out" || fail "segext_authenticator reads the API by itself: $out"

out=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -U segext_authenticator <<SQL
BEGIN;
SELECT set_config('role', 'segext_writer', true), set_config('request.jwt.claims', '{"role":"segext_writer","company_id":"$company"}', true) \\g /dev/null
SELECT count(*) FROM segext_api.segments;
COMMIT;
SQL
)
[ "$out" = 2 ] || fail "segext_writer through segext_authenticator sees $out segments, expected the 2 built-ins"
echo "ok - segext_authenticator switches to segext_writer and reads the company's segments"

member=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -c "SELECT pg_has_role('segext_authenticator', 'segext_gateway', 'MEMBER')")
[ "$member" = t ] || fail "segext_authenticator is not a member of segext_gateway"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE ROLE ${db}_login LOGIN IN ROLE segext_writer" >/dev/null
out=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -U "${db}_login" <<SQL
SELECT set_config('request.jwt.claims', '{"role":"segext_writer","company_id":"$company"}', false) \\g /dev/null
SELECT count(*) FROM segext_api.segments;
SQL
)
[ "$out" = 0 ] || fail "a login outside segext_gateway names the company with a claim: sees $out segments"
echo "ok - segext_authenticator is a gateway; a claim from another login gives no company"

out=$(psql -X -qAt -d "$db" -U segext_authenticator -c "SET ROLE segext_anon" -c "SELECT count(*) FROM segext_api.segments" 2>&1 || true)
grep -q "permission denied" <<<"$out" || fail "segext_anon reads the API: $out"
echo "ok - segext_anon cannot read segext_api (PostgREST: 401)"

for role in segext_reader segext_admin; do
    psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -U segext_authenticator -c "SET ROLE $role" >/dev/null \
        || fail "segext_authenticator cannot switch to $role"
done
echo "ok - segext_authenticator can switch to segext_reader and segext_admin"

conf=$root/deploy/postgrest.conf
grep -q '^db-schemas = "segext_api"' "$conf" || fail "postgrest.conf does not serve segext_api"
grep -q '^db-anon-role = "segext_anon"' "$conf" || fail "postgrest.conf anonymous role is not segext_anon"
grep -q '^db-extra-search-path = "public, segext"' "$conf" || fail "postgrest.conf lacks segext on the search path"
grep -q '^jwt-secret = "\$(SEGEXT_JWT_SECRET)"' "$conf" || fail "postgrest.conf does not read the JWT secret from the environment"
echo "ok - deploy/postgrest.conf"
