#!/usr/bin/env bash
# bench/preview.sh: segext.preview_criteria of unsaved criteria against
# segext.segment_members of a saved segment with the same criteria, on the
# data of bench/generate.sql with the 20 segments of bench/segments.sql
# (every customer criterion kind), three trees of groups (numbers 60-62) and
# a tree whose customer lists bound its members (63: an "any" of a list and
# an "all" with a list).
# For each segment, BENCH_RUNS (5) interleaved rounds in one session (after
# one warm-up round): count(*) of segment_members(id), then
# preview_criteria(criteria, 10); prints the median and the spread (min-max)
# of each side in ms, the ratio of the medians, and checks that the preview's
# count equals the members' count.  Each round also times the floor: a plain
# read of what both evaluate, the company's active customers joined with
# their state rows (every column of each row formed, nothing evaluated).
#
# Needs a running server (PGHOST/PGPORT/PGUSER, superuser).  Creates
# database segext_preview_bench with bench/generate.sql at BENCH_SCALE
# (default 0.1: 100,000 customers, 1M transactions; 1 for the full 1M)
# unless it exists (BENCH_DB to choose).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${BENCH_DB:-segext_preview_bench}
SCALE=${BENCH_SCALE:-0.1}
RUNS=${BENCH_RUNS:-5}
COMPANY=65000000000000000000b001
export PGOPTIONS="${PGOPTIONS:-} -c search_path=segext,public -c segext.company_id=$COMPANY"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

customers=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
if ! psql -X -q -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    createdb "$DB"
    q -c "CREATE EXTENSION segext"
    echo "generating $customers customers, $((customers * 10)) transactions"
    q -v customers="$customers" -v transactions=$((customers * 10)) -f bench/generate.sql >/dev/null
fi
q -f bench/segments.sql >/dev/null
q <<'SQL' >/dev/null
INSERT INTO segext.segments (company_id, number, name, criteria) VALUES
('65000000000000000000b001', 60, 'tree: occasional, not at POS-007', '{"all": [{"type": "transaction_count", "min": 1, "max": 5}, {"not": {"type": "bought_in_pos", "posIds": ["POS-007"]}}]}'),
('65000000000000000000b001', 61, 'tree: red or (tier and not north)', '{"any": [{"type": "bought_labels", "labels": [{"key": "color", "value": "RED"}]}, {"all": [{"type": "customer_has_labels", "labels": [{"key": "tier"}]}, {"not": {"type": "customer_with_labels_values", "labels": [{"key": "region", "value": "north"}]}}]}]}'),
('65000000000000000000b001', 62, 'tree: 4 levels', '{"all": [{"any": [{"type": "last_purchase_n_days_before", "days": 90}, {"all": [{"type": "transaction_amount", "fromAmount": 2000, "toAmount": 1000000}, {"not": {"type": "bought_makers", "makers": ["maker-017"]}}]}]}, {"not": {"type": "transaction_percent_in_pos", "posId": "POS-001", "percent": 0.5}}]}'),
('65000000000000000000b001', 63, 'tree: two lists, or a list and buyers', '{"any": [{"type": "customer_list", "customers": ["650000000100000000000007", "650000000100000000000010", "650000000100000000000011"]}, {"all": [{"type": "customer_list", "customers": ["650000000100000000000002", "650000000100000000000003", "650000000100000000000004"]}, {"type": "transaction_count", "min": 1, "max": 1000}]}]}')
ON CONFLICT (company_id, number) DO UPDATE SET name = excluded.name, criteria = excluded.criteria, active = true;
SQL
if [ "$(q -c "SELECT count(*) > 0 FROM segext.customer_states WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY'")" = f ]; then
    q -c "SELECT segext.rebuild_customer_states('$COMPANY')" >/dev/null
fi
q -c "VACUUM ANALYZE segext.customers, segext.customer_states" >/dev/null
echo "== data: $(q -c "SELECT count(*) FROM segext.customers WHERE company_id OPERATOR(pg_catalog.=) '$COMPANY'") customers; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-36s %9s %20s %20s %6s\n' segment members "segment_members ms" "preview ms" ratio
q -F '|' -v runs="$RUNS" <<'SQL' | while IFS='|' read -r name n m_med m_lo m_hi p_med p_lo p_hi same; do
SET bench.runs = :'runs';
CREATE TEMP TABLE t (number int, side text, ms float8, n bigint);
DO $$
DECLARE
    s record;
    t0 timestamptz;
    n bigint;
BEGIN
    FOR r IN 0 .. current_setting('bench.runs')::int LOOP
        t0 := clock_timestamp();
        SELECT count(x) INTO n
        FROM (SELECT ROW(c.*, st.sales, st.amount, st.figures) AS x
              FROM segext.customers AS c LEFT JOIN segext.customer_states AS st
                ON st.company_id OPERATOR(pg_catalog.=) c.company_id AND st.customer_id OPERATOR(pg_catalog.=) c.id
              WHERE c.company_id OPERATOR(pg_catalog.=) '65000000000000000000b001' AND c.active) AS q;
        IF r > 0 THEN
            INSERT INTO t VALUES (-1, 'floor', extract(epoch FROM clock_timestamp() - t0) * 1000, n);
        END IF;
        FOR s IN SELECT id, number, criteria FROM segext.segments
                 WHERE company_id OPERATOR(pg_catalog.=) '65000000000000000000b001' AND number > 1 AND active ORDER BY number LOOP
            t0 := clock_timestamp();
            SELECT count(*) INTO n FROM segext.segment_members(s.id);
            IF r > 0 THEN
                INSERT INTO t VALUES (s.number, 'members', extract(epoch FROM clock_timestamp() - t0) * 1000, n);
            END IF;
            t0 := clock_timestamp();
            SELECT (segext.preview_criteria(s.criteria, 10)).member_count INTO n;
            IF r > 0 THEN
                INSERT INTO t VALUES (s.number, 'preview', extract(epoch FROM clock_timestamp() - t0) * 1000, n);
            END IF;
        END LOOP;
    END LOOP;
END $$;
SELECT name, n, m_med, m_lo, m_hi, p_med, p_lo, p_hi, same FROM (
SELECT s.number AS ord, s.number || ' ' || s.name AS name, max(t.n) FILTER (WHERE side = 'members') AS n,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE side = 'members')::numeric, 2) AS m_med,
       round(min(ms) FILTER (WHERE side = 'members')::numeric, 2) AS m_lo, round(max(ms) FILTER (WHERE side = 'members')::numeric, 2) AS m_hi,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE side = 'preview')::numeric, 2) AS p_med,
       round(min(ms) FILTER (WHERE side = 'preview')::numeric, 2) AS p_lo, round(max(ms) FILTER (WHERE side = 'preview')::numeric, 2) AS p_hi,
       count(DISTINCT t.n) = 1 AS same
FROM t JOIN segext.segments s ON s.company_id OPERATOR(pg_catalog.=) '65000000000000000000b001' AND s.number = t.number
GROUP BY s.number, s.name
UNION ALL
SELECT 1000, 'floor: customers + states read', max(n), round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
       round(min(ms)::numeric, 2), round(max(ms)::numeric, 2), NULL, NULL, NULL, true
FROM t WHERE side = 'floor') AS u
ORDER BY ord;
SQL
    [ "$same" = t ] || { echo "preview count differs from segment_members for $name" >&2; exit 1; }
    if [ -z "$p_med" ]; then
        printf '%-36.36s %9s %8s (%s-%s)\n' "$name" "$n" "$m_med" "$m_lo" "$m_hi"
        continue
    fi
    printf '%-36.36s %9s %8s (%s-%s) %8s (%s-%s) %6s\n' "$name" "$n" "$m_med" "$m_lo" "$m_hi" "$p_med" "$p_lo" "$p_hi" \
        "$(awk -v a="$p_med" -v b="$m_med" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
done
