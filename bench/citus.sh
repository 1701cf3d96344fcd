#!/usr/bin/env bash
# bench/citus.sh: segext on a Citus coordinator and two workers against one
# node, on this machine, with the same data.
#
#   SEGEXT_SKIP_INSTALL=1 bash bench/citus.sh
#   COMPANIES=100 CUSTOMERS=10000 TRANSACTIONS=100000 bash bench/citus.sh   # the issue's scale
#
# Starts a throwaway Citus cluster (test/citus/nodes.sh): database
# segext_citus has segext distributed (segext.distribute()); database
# segext_one on the coordinator's server has segext alone (no citus
# extension): the one node, same server, same settings.  Per company
# (COMPANIES, default 20): CUSTOMERS customers (2,000), TRANSACTIONS
# transactions (20,000) over 10 points of sale, and three segments
# (1-5 purchases, 2,000-5,000 spent, bought at POS-007), written on both
# sides at once with their triggers (through the coordinator on Citus), the
# values a hash of the row number, so both get the same rows; the members
# of both sides are compared before timing.  Then ROUNDS
# (5) interleaved rounds, each timing on one node, then on Citus, per
# company: SELECT count(*) FROM segext.segment_members(...) of each
# segment, SELECT segext.refresh_company(...), the floor (a plain read of
# the company's transactions: count and sum of amount, the rows a refresh
# reads) and one sale INSERT (segext.company_id set, autocommit, psql
# \timing).  Prints per operation
# the sum of a round's calls on each side and the ratio Citus / one node:
# median and range over the rounds; then the tasks (EXPLAIN's "Task Count")
# of each API call on Citus.  Results: bench/README.md.
set -euo pipefail
export SEGEXT_PORT=${SEGEXT_PORT:-56200}
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib.sh"
source "$root/test/citus/nodes.sh"
COMPANIES=${COMPANIES:-20} CUSTOMERS=${CUSTOMERS:-2000} TRANSACTIONS=${TRANSACTIONS:-20000} ROUNDS=${ROUNDS:-5}

build_extension
prepare_citus
[ "$SEGEXT_CITUS" = 1 ] || { echo "Citus is not available: $SEGEXT_CITUS_WHY"; exit 1; }
stage=$(mktemp -d /tmp/segext-bench-stage.XXXXXX)
chmod 755 "$stage"
stage_server "$stage"
export SEGEXT_PG_BIN=$stage/usr/lib/postgresql/$PG_MAJOR/bin
cleanup() { stop_citus_nodes; rm -rf "$stage"; }
trap cleanup EXIT
start_citus_nodes
one=segext_one
q() { local db=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$CITUS_PORT" -U postgres -d "$db" "$@"; }
q "$CITUS_DB" -c "SELECT segext.distribute()" >/dev/null
q postgres -c "CREATE DATABASE $one"
q "$one" -c "CREATE EXTENSION segext"

# generate DB: every company's rows, written through DB's server with its
# triggers (on Citus through the coordinator, which routes each company's
# rows to its shard group).  The values are a hash of the row number, so the
# two databases get the same data without copying it.
generate() {
    local db=$1 c co
    for c in $(seq 1 "$COMPANIES"); do
        co=$(printf '650000000000000000%06x' "$c")
        q "$db" <<SQL
INSERT INTO segext.companies (id, name) VALUES ('$co', 'bench $c');
INSERT INTO segext.segments (company_id, id, name, criteria) VALUES
    ('$co', '000000000000000000000002', 'occasional', '[{"type": "transaction_count", "min": 1, "max": 5}]'),
    ('$co', '000000000000000000000003', 'big spenders', '[{"type": "transaction_amount", "fromAmount": 2000, "toAmount": 5000}]'),
    ('$co', '000000000000000000000004', 'POS-007', '[{"type": "bought_in_pos", "posIds": ["POS-007"]}]');
INSERT INTO segext.customers (company_id, id, first_name)
    SELECT '$co', pg_catalog.lpad(pg_catalog.to_hex(i), 24, '0')::segext.objectid, 'c' || i
    FROM pg_catalog.generate_series(1, $CUSTOMERS) AS i;
INSERT INTO segext.transactions (company_id, id, customer_id, amount, pos_id, occurred_at)
    SELECT '$co', pg_catalog.lpad(pg_catalog.to_hex(i), 24, '0')::segext.objectid,
           pg_catalog.lpad(pg_catalog.to_hex(1 + h.h1 % $CUSTOMERS), 24, '0')::segext.objectid,
           (1 + (h.h2 % 40000) / 100.0)::numeric(14,2), 'POS-' || pg_catalog.lpad((i % 10)::text, 3, '0'),
           timestamptz '2026-01-01 00:00+00' - (h.h3 % (700 * 86400)) * interval '1 second'
    FROM pg_catalog.generate_series(1, $TRANSACTIONS) AS i,
         LATERAL (SELECT pg_catalog.hashint8extended(i, $c) & 2147483647 AS h1,
                         pg_catalog.hashint8extended(i, $c + 100000) & 2147483647 AS h2,
                         pg_catalog.hashint8extended(i, $c + 200000) & 2147483647 AS h3) AS h;
SQL
    done
}
log "generating $COMPANIES companies x $CUSTOMERS customers x $TRANSACTIONS transactions on both sides at once"
started=$(date +%s)
generate "$one" &
one_pid=$!
generate "$CITUS_DB"
log "Citus loaded in $(( $(date +%s) - started ))s"
wait "$one_pid"
log "both loaded in $(( $(date +%s) - started ))s"
for db in "$one" "$CITUS_DB"; do
    q "$db" -c "VACUUM ANALYZE" 2>/dev/null || q "$db" -c "ANALYZE"
done
# members DB: the members of every company, as a count and a digest (a sum of the hashes of
# company, segment number and customer: segments 0 and 1 get ids of their own on each side).
members() {
    q "$1" -c "SELECT pg_catalog.count(*) || ' members, digest ' || pg_catalog.sum(pg_catalog.hashtext(m.company_id::text || s.number::text || m.customer_id::text)::int8)
               FROM segext.memberships AS m JOIN segext.segments AS s ON s.company_id = m.company_id AND s.id = m.segment_id"
}
one_members=$(members "$one") citus_members=$(members "$CITUS_DB")
log "one node: $one_members; Citus: $citus_members"
[ "$one_members" = "$citus_members" ] || { echo "the two sides' members differ" >&2; exit 1; }

# calls DB: the psql script of one round's calls, one \timing line per call, tagged.
segs=$(q "$one" -c "SELECT company_id || ':' || id FROM segext.segments WHERE criteria IS NOT NULL ORDER BY company_id, name")
script() {
    local co seg
    echo '\timing on'
    for pair in $segs; do
        co=${pair%%:*} seg=${pair#*:}
        echo "SET segext.company_id = '$co';"
        echo "\\echo segment_members"
        echo "SELECT count(*) FROM segext.segment_members('$seg');"
    done
    for c in $(seq 1 "$COMPANIES"); do
        co=$(printf '650000000000000000%06x' "$c")
        echo "SET segext.company_id = '$co';"
        echo "\\echo refresh_company"
        echo "SELECT segext.refresh_company('$co');"
        echo "\\echo floor"
        echo "SELECT count(*), sum(amount) FROM segext.transactions WHERE company_id = '$co';"
        echo "\\echo sale"
        echo "INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id) VALUES ('$co', '$(printf '%024x' 7)', 12.50, 'POS-007');"
    done
}
script >"$stage/round.sql"
results=$stage/results.txt
: >"$results"
for r in $(seq 1 "$ROUNDS"); do
    for side in one citus; do
        db=$one; [ "$side" = citus ] && db=$CITUS_DB
        q "$db" -f "$stage/round.sql" | awk -v side="$side" -v r="$r" '
            /^(segment_members|refresh_company|floor|sale)$/ { op = $1 }
            /^Time:/ { if (op != "") { sum[op] += $2; op = "" } }
            END { for (o in sum) printf "%d %s %s %.1f\n", r, side, o, sum[o] }' >>"$results"
    done
done
echo "rounds: $ROUNDS; companies: $COMPANIES; customers: $CUSTOMERS; transactions per company: $TRANSACTIONS"
printf '%-16s %12s %12s %8s %14s\n' operation "one ms" "citus ms" ratio "ratio range"
# median VALUES...: the middle value (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
for op in segment_members refresh_company floor sale; do
    rows=$(awk -v op="$op" '$3 == op { t[$1, $2] = $4; n = ($1 > n ? $1 : n) }
        END { for (r = 1; r <= n; r++) printf "%s %s %.3f\n", t[r, "one"], t[r, "citus"], t[r, "citus"] / t[r, "one"] }' "$results")
    ones=$(cut -d' ' -f1 <<<"$rows") citus=$(cut -d' ' -f2 <<<"$rows") ratios=$(cut -d' ' -f3 <<<"$rows" | sort -g)
    # shellcheck disable=SC2086
    printf '%-16s %12s %12s %8s %6s-%-6s\n' "$op" "$(median $ones)" "$(median $citus)" "$(median $ratios)" \
        "$(head -1 <<<"$ratios")" "$(tail -1 <<<"$ratios")"
done

echo "tasks per call on Citus (EXPLAIN, one company):"
co=$(printf '650000000000000000%06x' 1)
seg=$(q "$one" -c "SELECT id FROM segext.segments WHERE company_id = '$co' AND name = 'occasional'")
tasks() {
    local n
    n=$(q "$CITUS_DB" -c "SET segext.company_id = '$co'" -c "EXPLAIN $2" | sed -n 's/.*Task Count: \([0-9]*\).*/\1/p' | paste -sd+ -)
    printf '  %-44s %s\n' "$1" "${n:-0 (runs on the coordinator; a routed call is one task)}"
}
tasks "segment_members" "SELECT count(*) FROM segext.segment_members('$seg')"
tasks "refresh_company (routed through companies)" "SELECT segext.refresh_company(c.id) FROM segext.companies AS c WHERE c.id = '$co'"
tasks "sale INSERT" "INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES ('$co', '$(printf '%024x' 7)', 1)"
tasks "segext_api.segments" "SELECT * FROM segext_api.segments"
tasks "segext_api.customers" "SELECT * FROM segext_api.customers"
tasks "segext_api.report_segment_sizes" "SELECT * FROM segext_api.report_segment_sizes"
tasks "membership outbox read (per one-company write)" "SELECT n.first_id, n.last_id FROM segext.membership_notices AS n WHERE n.company_id = '$co'"
tasks "membership outbox read (other writes)" "SELECT n.first_id, n.last_id FROM segext.membership_notices AS n"
