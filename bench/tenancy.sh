#!/usr/bin/env bash
# bench/tenancy.sh: cost of the tenancy check on segext_api calls, as a libpq
# login that names its company with segext.company_id (PGOPTIONS).
#
#   bash bench/tenancy.sh variants=/tmp/a/socket:5475
#       the check alone: four databases on one cluster (one build, the same
#       data copied from one template), called alternately:
#         check       this build as installed;
#         as_is       segext.current_company_id() and writable_company_id()
#                     replaced by SQL functions returning segext.company_id
#                     as it is (0.1.0's model: no grants, no cache);
#         check_rows, as_is_rows
#                     the same two with the policies Citus gets from
#                     segext.distribute() (the functions called per row
#                     instead of once per query through an InitPlan).
#       Both sides keep what cannot be switched off in SQL: the ExecutorStart
#       hook and the company checks of the C triggers (bench/README.md
#       gives their share from a profile).
#   bash bench/tenancy.sh before=/tmp/a/socket:5476 after=/tmp/b/socket:5475
#       two running clusters (e.g. the previous release and this one).
#
# Each database holds one company (24 segments, 2,000 customers, 3 sales
# each and 20 for the customer the calls read) among 21 companies, and the
# login bench_tenancy_writer (segext_writer; granted the company as writer
# where segext.grant_company exists).  Per round and target, pgbench (one
# client, prepared statements, BENCH_SECONDS each) runs each call of
# BENCH_CALLS: list = GET /segments, one = a segment by number, patch =
# PATCH of a segment's description, customer = GET /customers?id=eq.,
# transactions = GET /transactions?customer_id=eq., insert = POST
# /transactions.  Targets alternate within each round (in reverse order
# every other round); the report gives each call's median tps per target and
# the median and range of the per-round time ratios of each pair.
set -euo pipefail

rounds=${BENCH_ROUNDS:-5}
seconds=${BENCH_SECONDS:-5}
calls=${BENCH_CALLS:-list one patch customer transactions insert}
company=bbbbbbbbbbbbbbbbbbbbbbbb
customer=cccccccccccccccccccccccc
buyer=ccccccccccccccccccccccc1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

setup_sql() {
    cat <<SQL
CREATE EXTENSION segext;
INSERT INTO segext.companies (id, name) VALUES ('$company', 'Bench');
INSERT INTO segext.companies (id, name) SELECT segext.objectid_generate(), 'Other ' || i FROM generate_series(1, 20) i;
INSERT INTO segext.segments (company_id, name) SELECT c.id, 'Segment ' || i
  FROM segext.companies c, generate_series(1, 22) i;
INSERT INTO segext.customers (company_id, id, external_id)
VALUES ('$company', '$customer', 'c0'), ('$company', '$buyer', 'c1');
INSERT INTO segext.customers (company_id, external_id)
SELECT '$company', 'c' || i FROM generate_series(2, 1999) i;
INSERT INTO segext.transactions (company_id, customer_id, amount, occurred_at)
SELECT c.company_id, c.id, 10 + i, now() - i * interval '1 day'
  FROM segext.customers c, generate_series(1, 3) i;
INSERT INTO segext.transactions (company_id, customer_id, amount, occurred_at)
SELECT '$company', '$customer', 5 + i, now() - i * interval '1 hour' FROM generate_series(1, 17) i;
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_tenancy_writer') THEN
        CREATE ROLE bench_tenancy_writer LOGIN IN ROLE segext_writer;
    END IF;
    IF to_regproc('segext.grant_company') IS NOT NULL THEN
        PERFORM segext.grant_company('$company', 'bench_tenancy_writer', 'writer');
    END IF;
END \$\$;
VACUUM ANALYZE;
SQL
}

# The company as segext.company_id says, with no grant and no cache.
as_is_sql() {
    cat <<'SQL'
CREATE OR REPLACE FUNCTION segext.current_company_id() RETURNS segext.objectid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN NULLIF(pg_catalog.current_setting('segext.company_id', true), '')::segext.objectid;
CREATE OR REPLACE FUNCTION segext.writable_company_id() RETURNS segext.objectid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN NULLIF(pg_catalog.current_setting('segext.company_id', true), '')::segext.objectid;
SQL
}

# The policies without subqueries, as segext.distribute() makes them.
rows_sql() {
    cat <<'SQL'
DO $$
DECLARE
    pol record;
    subquery text := '\( SELECT ((?:[^()]|\([^()]*\))*) AS \w+\)';
BEGIN
    FOR pol IN
        SELECT p.polname, p.polrelid::regclass AS rel,
               pg_get_expr(p.polqual, p.polrelid) AS qual,
               pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE c.relnamespace = 'segext'::regnamespace
    LOOP
        IF pol.qual ~ 'SELECT' THEN
            EXECUTE format('ALTER POLICY %I ON %s USING (%s)', pol.polname, pol.rel,
                regexp_replace(pol.qual, subquery, '(\1)', 'g'));
        END IF;
        IF pol.withcheck ~ 'SELECT' THEN
            EXECUTE format('ALTER POLICY %I ON %s WITH CHECK (%s)', pol.polname, pol.rel,
                regexp_replace(pol.withcheck, subquery, '(\1)', 'g'));
        END IF;
    END LOOP;
END $$;
SQL
}

# add_target label host port db
add_target() {
    labels+=("$1")
    echo "$2 $3 $4" > "$out/$1.addr"
}

labels=()
pairs=()
for target in "$@"; do
    label=${target%%=*}; addr=${target#*=}
    host=${addr%:*}; port=${addr##*:}
    psql_at() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres "$@"; }
    for db in bench_tenancy bench_tenancy_as_is bench_tenancy_rows bench_tenancy_as_is_rows; do
        psql_at -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
    done
    psql_at -d postgres -c "CREATE DATABASE bench_tenancy"
    setup_sql | psql_at -d bench_tenancy >/dev/null
    if [ "$label" = variants ]; then
        for db in bench_tenancy_as_is bench_tenancy_rows bench_tenancy_as_is_rows; do
            psql_at -d postgres -c "CREATE DATABASE $db TEMPLATE bench_tenancy"
        done
        as_is_sql | psql_at -d bench_tenancy_as_is
        as_is_sql | psql_at -d bench_tenancy_as_is_rows
        rows_sql | psql_at -d bench_tenancy_rows
        rows_sql | psql_at -d bench_tenancy_as_is_rows
        add_target check "$host" "$port" bench_tenancy
        add_target as_is "$host" "$port" bench_tenancy_as_is
        add_target check_rows "$host" "$port" bench_tenancy_rows
        add_target as_is_rows "$host" "$port" bench_tenancy_as_is_rows
        pairs+=("as_is:check" "as_is_rows:check_rows")
    else
        add_target "$label" "$host" "$port" bench_tenancy
    fi
done
if [ "${#labels[@]}" = 2 ]; then
    pairs+=("${labels[0]}:${labels[1]}")
fi

cat > "$out/list.sql" <<'SQL'
SELECT * FROM segext_api.segments ORDER BY number;
SQL
cat > "$out/one.sql" <<'SQL'
SELECT * FROM segext_api.segments WHERE number = 2;
SQL
cat > "$out/patch.sql" <<'SQL'
UPDATE segext_api.segments SET description = 'bench' WHERE number = 2;
SQL
cat > "$out/customer.sql" <<SQL
SELECT * FROM segext_api.customers WHERE id OPERATOR(segext.=) '$customer';
SQL
cat > "$out/transactions.sql" <<SQL
SELECT * FROM segext_api.transactions WHERE customer_id OPERATOR(segext.=) '$customer' ORDER BY occurred_at;
SQL
cat > "$out/insert.sql" <<SQL
INSERT INTO segext_api.transactions (customer_id, amount) VALUES ('$buyer', 1);
SQL

for round in $(seq 1 "$rounds"); do
    order=("${labels[@]}")
    if [ $((round % 2)) = 0 ]; then
        order=(); for ((i = ${#labels[@]} - 1; i >= 0; i--)); do order+=("${labels[i]}"); done
    fi
    for call in $calls; do
        for label in "${order[@]}"; do
            set -- $(cat "$out/$label.addr")
            tps=$(PGOPTIONS="-c segext.company_id=$company" \
                pgbench -n -c 1 -M prepared -T "$seconds" -h "$1" -p "$2" -U bench_tenancy_writer \
                -f "$out/$call.sql" "$3" 2>"$out/pgbench.err" | sed -n 's/^tps = \([0-9.]*\).*/\1/p') || true
            if [ -z "$tps" ]; then cat "$out/pgbench.err" >&2; exit 1; fi
            echo "$round $call $label $tps" | tee -a "$out/results"
        done
    done
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo
echo "call target median_tps"
for call in $calls; do
    for label in "${labels[@]}"; do
        echo "$call $label $(awk -v c="$call" -v l="$label" '$2 == c && $3 == l {print $4}' "$out/results" | median)"
    done
done
for pair in "${pairs[@]}"; do
    base=${pair%%:*}; other=${pair#*:}
    echo
    echo "call $other/$base time ratio: median (min-max) over rounds"
    for call in $calls; do
        ratios=$(awk -v c="$call" -v a="$base" -v b="$other" \
            '$2 == c && $3 == a {t[$1] = $4} $2 == c && $3 == b {u[$1] = $4}
             END {for (r in t) if (u[r] > 0) printf "%.3f\n", t[r] / u[r]}' "$out/results")
        echo "$call $(echo "$ratios" | median) ($(echo "$ratios" | sort -g | head -1)-$(echo "$ratios" | sort -g | tail -1))"
    done
done
