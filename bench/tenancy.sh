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
#                     as it is, and no restrictive DELETE policy (0.1.0's
#                     model: no grants, no cache, no write check);
#         check_rows, as_is_rows
#                     the same two with the policies Citus gets from
#                     segext.distribute() (the functions called per row
#                     instead of once per query through an InitPlan).
#       Both sides keep what cannot be switched off in SQL: the ExecutorStart
#       hook and the company checks of the C triggers (bench/README.md
#       gives their share from a profile).
#       variants<suffix>=... names the four targets check<suffix>, ..., so
#       that two builds on two clusters run in one interleaved bench:
#         bash bench/tenancy.sh variants_old=/tmp/a/socket:5476 variants=/tmp/b/socket:5475
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

# The company as segext.company_id says, with no grant and no cache, and
# 0.1.0's policies: no restrictive DELETE policy (which checks that the
# company may be written).
as_is_sql() {
    cat <<'SQL'
DO $$
DECLARE
    pol record;
BEGIN
    FOR pol IN
        SELECT p.polname, p.polrelid::regclass AS rel FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE c.relnamespace = 'segext'::regnamespace AND NOT p.polpermissive
    LOOP
        EXECUTE format('DROP POLICY %I ON %s', pol.polname, pol.rel);
    END LOOP;
END $$;
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
    if [[ $label =~ ^variants(.*)$ ]]; then
        suffix=${BASH_REMATCH[1]}
        for db in bench_tenancy_as_is bench_tenancy_rows bench_tenancy_as_is_rows; do
            psql_at -d postgres -c "CREATE DATABASE $db TEMPLATE bench_tenancy"
        done
        as_is_sql | psql_at -d bench_tenancy_as_is
        as_is_sql | psql_at -d bench_tenancy_as_is_rows
        rows_sql | psql_at -d bench_tenancy_rows
        rows_sql | psql_at -d bench_tenancy_as_is_rows
        add_target "check$suffix" "$host" "$port" bench_tenancy
        add_target "as_is$suffix" "$host" "$port" bench_tenancy_as_is
        add_target "check_rows$suffix" "$host" "$port" bench_tenancy_rows
        add_target "as_is_rows$suffix" "$host" "$port" bench_tenancy_as_is_rows
        pairs+=("as_is$suffix:check$suffix" "as_is_rows$suffix:check_rows$suffix")
    else
        add_target "$label" "$host" "$port" bench_tenancy
    fi
done
if [ "${#labels[@]}" = 2 ] && [ "${#pairs[@]}" = 0 ]; then
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
SELECT * FROM segext_api.customers WHERE id OPERATOR(pg_catalog.=) '$customer';
SQL
cat > "$out/transactions.sql" <<SQL
SELECT * FROM segext_api.transactions WHERE customer_id OPERATOR(pg_catalog.=) '$customer' ORDER BY occurred_at;
SQL
cat > "$out/insert.sql" <<SQL
INSERT INTO segext_api.transactions (customer_id, amount) VALUES ('$buyer', 1);
SQL

# Each call file starts with a pause of its first execution, during which
# perf attaches to the backend.
for call in $calls; do
    { printf '\\if :started = 0\n\\set started 1\n\\sleep 300 ms\n\\endif\n'; cat "$out/$call.sql"; } > "$out/$call.timed.sql"
done

# measure label call count: runs the call count times in one pgbench
# session and prints the backend's CPU time per call (us, perf stat's
# task-clock from the first call to the disconnection) and the calls per
# second of wall-clock time.
measure() {
    local label=$1 call=$2 count=$3 pid= i pgbench_pid cpu_ms latency
    set -- $(cat "$out/$label.addr")
    PGAPPNAME="bench_tenancy_$$" PGOPTIONS="-c segext.company_id=$company" \
        pgbench -n -c 1 -M prepared -t "$count" -D started=0 -h "$1" -p "$2" -U bench_tenancy_writer \
        -f "$out/$call.timed.sql" "$3" >"$out/pgbench.out" 2>"$out/pgbench.err" &
    pgbench_pid=$!
    for i in $(seq 1 100); do
        pid=$(psql -X -At -h "$1" -p "$2" -U postgres -d postgres \
            -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_tenancy_$$'")
        [ -n "$pid" ] && break
        sleep 0.01
    done
    cpu_ms=$(perf stat -x, -e task-clock -p "$pid" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
    if ! wait "$pgbench_pid"; then cat "$out/pgbench.err" >&2; exit 1; fi
    latency=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out/pgbench.out")
    awk -v cpu="$cpu_ms" -v lat="$latency" -v n="$count" \
        'BEGIN {printf "%.2f %.1f\n", cpu * 1000 / n, n / ((lat * n - 300) / 1000)}'
}

# The number of calls per run: about BENCH_SECONDS of the first target.
declare -A counts
for call in $calls; do
    set -- $(cat "$out/${labels[0]}.addr")
    tps=$(PGOPTIONS="-c segext.company_id=$company" pgbench -n -c 1 -M prepared -T 1 -h "$1" -p "$2" \
        -U bench_tenancy_writer -f "$out/$call.sql" "$3" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    counts[$call]=$(awk -v t="$tps" -v s="$seconds" 'BEGIN {n = int(t * s); print (n < 100) ? 100 : n}')
done

for round in $(seq 1 "$rounds"); do
    order=("${labels[@]}")
    if [ $((round % 2)) = 0 ]; then
        order=(); for ((i = ${#labels[@]} - 1; i >= 0; i--)); do order+=("${labels[i]}"); done
    fi
    for call in $calls; do
        for label in "${order[@]}"; do
            echo "$round $call $label $(measure "$label" "$call" "${counts[$call]}")" | tee -a "$out/results"
        done
    done
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo
echo "call target median_cpu_us_per_call median_tps"
for call in $calls; do
    for label in "${labels[@]}"; do
        echo "$call $label $(awk -v c="$call" -v l="$label" '$2 == c && $3 == l {print $4}' "$out/results" | median)" \
            "$(awk -v c="$call" -v l="$label" '$2 == c && $3 == l {print $5}' "$out/results" | median)"
    done
done
# ratios column: 4 = CPU time per call, 5 = calls per second (inverted)
ratios() {
    awk -v c="$1" -v a="$2" -v b="$3" -v col="$4" \
        '$2 == c && $3 == a {t[$1] = $col} $2 == c && $3 == b {u[$1] = $col}
         END {for (r in t) if (t[r] > 0 && u[r] > 0) printf "%.3f\n", (col == 4) ? u[r] / t[r] : t[r] / u[r]}' "$out/results"
}
for pair in "${pairs[@]}"; do
    base=${pair%%:*}; other=${pair#*:}
    echo
    echo "call $other/$base: CPU time per call, median (min-max) over rounds; wall-clock time, median (min-max)"
    for call in $calls; do
        cpu=$(ratios "$call" "$base" "$other" 4); wall=$(ratios "$call" "$base" "$other" 5)
        echo "$call $(echo "$cpu" | median) ($(echo "$cpu" | sort -g | head -1)-$(echo "$cpu" | sort -g | tail -1))" \
            "$(echo "$wall" | median) ($(echo "$wall" | sort -g | head -1)-$(echo "$wall" | sort -g | tail -1))"
    done
done
