#!/usr/bin/env bash
# bench/tenancy.sh: cost of the tenancy check on segext_api calls, as a libpq
# login that names its company with segext.company_id (PGOPTIONS), compared
# between two running clusters (e.g. the previous release and this one):
#
#   bash bench/tenancy.sh before=/tmp/a/socket:5476 after=/tmp/b/socket:5475
#
# Each target gets a database bench_tenancy with one company (24 segments,
# 2,000 customers) and the login bench_tenancy_writer (segext_writer; granted
# the company as writer where segext.grant_company exists).  Per round and
# target, pgbench (one client, prepared statements, BENCH_SECONDS each) runs
# three calls: read = the segments list (GET /segments), one = a segment by
# id, write = an update of a segment's description (PATCH /segments?id=...).
# Targets alternate within each round; the report gives each call's median
# tps per target, and the median and range of the per-round ratios.
set -euo pipefail

rounds=${BENCH_ROUNDS:-5}
seconds=${BENCH_SECONDS:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

labels=()
for target in "$@"; do
    label=${target%%=*}; addr=${target#*=}
    labels+=("$label")
    host=${addr%:*}; port=${addr##*:}
    echo "$host $port" > "$out/$label.addr"
    psql -X -q -h "$host" -p "$port" -U postgres -d postgres -c "DROP DATABASE IF EXISTS bench_tenancy" \
        -c "CREATE DATABASE bench_tenancy"
    psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d bench_tenancy <<'SQL'
CREATE EXTENSION segext;
INSERT INTO segext.companies (id, name) VALUES ('bbbbbbbbbbbbbbbbbbbbbbbb', 'Bench');
INSERT INTO segext.companies (id, name) SELECT segext.objectid_generate(), 'Other ' || i FROM generate_series(1, 20) i;
INSERT INTO segext.segments (company_id, name) SELECT c.id, 'Segment ' || i
  FROM segext.companies c, generate_series(1, 22) i;
INSERT INTO segext.customers (company_id, external_id)
SELECT 'bbbbbbbbbbbbbbbbbbbbbbbb', 'c' || i FROM generate_series(1, 2000) i;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_tenancy_writer') THEN
        CREATE ROLE bench_tenancy_writer LOGIN IN ROLE segext_writer;
    END IF;
    IF to_regproc('segext.grant_company') IS NOT NULL THEN
        PERFORM segext.grant_company('bbbbbbbbbbbbbbbbbbbbbbbb', 'bench_tenancy_writer', 'writer');
    END IF;
END $$;
ANALYZE;
SQL
done

cat > "$out/read.sql" <<'SQL'
SELECT * FROM segext_api.segments ORDER BY number;
SQL
cat > "$out/one.sql" <<'SQL'
SELECT * FROM segext_api.segments WHERE number = 2;
SQL
cat > "$out/write.sql" <<'SQL'
UPDATE segext_api.segments SET description = 'bench' WHERE number = 2;
SQL

for round in $(seq 1 "$rounds"); do
    for call in read one write; do
        for label in "${labels[@]}"; do
            set -- $(cat "$out/$label.addr")
            tps=$(PGOPTIONS="-c segext.company_id=bbbbbbbbbbbbbbbbbbbbbbbb" \
                pgbench -n -c 1 -M prepared -T "$seconds" -h "$1" -p "$2" -U bench_tenancy_writer \
                -f "$out/$call.sql" bench_tenancy 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
            echo "$round $call $label $tps" | tee -a "$out/results"
        done
    done
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo
echo "call target median_tps"
for call in read one write; do
    for label in "${labels[@]}"; do
        echo "$call $label $(awk -v c="$call" -v l="$label" '$2 == c && $3 == l {print $4}' "$out/results" | median)"
    done
done
if [ "${#labels[@]}" = 2 ]; then
    echo
    echo "call ${labels[1]}/${labels[0]} time ratio: median (min-max) over rounds"
    for call in read one write; do
        ratios=$(awk -v c="$call" -v a="${labels[0]}" -v b="${labels[1]}" \
            '$2 == c && $3 == a {t[$1] = $4} $2 == c && $3 == b {u[$1] = $4}
             END {for (r in t) if (u[r] > 0) printf "%.3f\n", t[r] / u[r]}' "$out/results")
        echo "$call $(echo "$ratios" | median) ($(echo "$ratios" | sort -g | head -1)-$(echo "$ratios" | sort -g | tail -1))"
    done
fi
