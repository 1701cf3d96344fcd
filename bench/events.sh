#!/usr/bin/env bash
# bench/events.sh: insert throughput of event stamping.
#
# Inserts N events (default 1,000,000) with INSERT ... SELECT from generate_series into
#   plain    a table without a trigger,
#   stamped  an identical table with segext.stamp_event(), for a company with 50 active
#            segments of 3 field criteria each (eq, begins, contains, in, gt),
# and measures the floor: the same SELECT counted without inserting.  Each is run REPS
# times (default 3), alternating, in one run on one throwaway cluster; the medians and the
# ratio stamped/plain are printed.
#
#   bash bench/events.sh                 # builds, starts a throwaway cluster, runs
#   EVENTS=100000 REPS=5 bash bench/events.sh
#   SEGEXT_BENCH_USE_ENV=1 bash bench/events.sh   # use PGHOST/PGPORT/PGUSER as they are
set -euo pipefail

EVENTS=${EVENTS:-1000000}
REPS=${REPS:-3}
DB=segext_bench_events

if [ "${SEGEXT_BENCH_USE_ENV:-0}" != 1 ]; then
    source "$(dirname "$0")/../scripts/lib.sh"
    build_extension
    start_cluster
fi

psql_q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

dropdb --if-exists "$DB" >/dev/null 2>&1 || true
createdb "$DB"
psql_q <<'SQL'
CREATE EXTENSION segext;
INSERT INTO segext.companies (id, name) VALUES ('b0b0b0b0b0b0b0b0b0b0b0b0', 'Bench Co');
INSERT INTO segext.segment_groups (company_id, id, name)
    SELECT 'b0b0b0b0b0b0b0b0b0b0b0b0', g, 'group ' || g FROM generate_series(1, 5) g;

-- 50 segments, 3 field criteria each, cycling through five shapes.
INSERT INTO segext.segments (company_id, number, name, position, group_id, criteria)
SELECT 'b0b0b0b0b0b0b0b0b0b0b0b0', k + 1, 'segment ' || k, k, k % 6,
       (CASE k % 5
        WHEN 0 THEN format('[{"field":"country","op":"eq","value":"%s"},{"field":"href","op":"begins","value":"/shop/%s"},{"field":"amount","op":"gt","value":%s}]',
                           (ARRAY['NZ','AU','GB','US','DE','FR','JP','BR'])[k % 8 + 1], k % 10, k * 3)
        WHEN 1 THEN format('[{"field":"device","op":"in","value":["%s","tablet"]},{"field":"act","op":"begins","value":"%s"},{"field":"href","op":"contains","value":"promo%s"}]',
                           (ARRAY['mobile','desktop'])[k % 2 + 1], k % 9 + 1, k % 7)
        WHEN 2 THEN format('[{"field":"campaign","op":"eq","value":"spring-%s"},{"field":"country","op":"in","value":["NZ","AU","%s"]},{"field":"amount","op":"gt","value":%s}]',
                           k % 12, (ARRAY['GB','US','DE'])[k % 3 + 1], k)
        WHEN 3 THEN format('[{"field":"href","op":"contains","value":"/product/%s"},{"field":"device","op":"eq","value":"mobile"},{"field":"act","op":"begins","value":"%s"}]',
                           k % 40, k % 9 + 1)
        ELSE format('[{"field":"act","op":"eq","value":"%s"},{"field":"campaign","op":"begins","value":"summer"},{"field":"country","op":"in","value":["%s","%s"]}]',
                    k * 7 % 100, (ARRAY['NZ','AU','GB','US'])[k % 4 + 1], (ARRAY['DE','FR','JP','BR'])[k % 4 + 1])
        END)::segext.criteria
  FROM generate_series(1, 50) k;

CREATE TABLE events_plain (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    company_id  segext.objectid NOT NULL,
    occurred_at timestamptz NOT NULL,
    act         text,
    href        text,
    country     text,
    device      text,
    campaign    text,
    amount      numeric,
    segment     int4,
    segment_group int4
);
CREATE TABLE events_stamped (LIKE events_plain INCLUDING ALL);
CREATE TRIGGER stamp BEFORE INSERT ON events_stamped FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group');

-- The event source: realistic, deterministic field values.
CREATE VIEW event_source AS
SELECT 'b0b0b0b0b0b0b0b0b0b0b0b0'::segext.objectid AS company_id,
       timestamptz '2026-01-01' + i * interval '1 second' AS occurred_at,
       ((i * 7919) % 100)::text AS act,
       (ARRAY['/shop/', '/product/', '/promo', '/home/', '/blog/'])[i % 5 + 1] || ((i * 31) % 50)::text
           || '/item' AS href,
       (ARRAY['NZ','AU','GB','US','DE','FR','JP','BR','CA','IT'])[(i * 13) % 10 + 1] AS country,
       (ARRAY['mobile','desktop','tablet'])[(i * 17) % 3 + 1] AS device,
       (ARRAY['spring-','summer-','autumn-','winter-'])[(i * 11) % 4 + 1] || ((i * 3) % 12)::text AS campaign,
       ((i * 37) % 20000) / 100.0 AS amount
  FROM generate_series(1::int8, current_setting('bench.events')::int8) i;
SQL

run_timed() {
    # run_timed SQL: prints the server-side elapsed milliseconds of one statement.
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "SET bench.events = $EVENTS" -c '\timing on' -c "$1" \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

declare -a t_plain=() t_stamped=() t_floor=()
cols="company_id, occurred_at, act, href, country, device, campaign, amount"
for r in $(seq 1 "$REPS"); do
    psql_q -c 'TRUNCATE events_plain, events_stamped' -c 'CHECKPOINT'
    t_floor+=("$(run_timed "SELECT count(*) FROM (SELECT $cols FROM event_source) s WHERE s IS NOT NULL")")
    t_plain+=("$(run_timed "INSERT INTO events_plain ($cols) SELECT $cols FROM event_source")")
    psql_q -c 'CHECKPOINT'
    t_stamped+=("$(run_timed "INSERT INTO events_stamped ($cols) SELECT $cols FROM event_source")")
    echo "rep $r: floor ${t_floor[-1]} ms, plain ${t_plain[-1]} ms, stamped ${t_stamped[-1]} ms"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m_floor=$(median "${t_floor[@]}")
m_plain=$(median "${t_plain[@]}")
m_stamped=$(median "${t_stamped[@]}")

echo
echo "events: $EVENTS, repetitions: $REPS (medians)"
psql_q -c "SELECT segment, segment_group, count(*) AS events
             FROM events_stamped GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 8" 
awk -v f="$m_floor" -v p="$m_plain" -v s="$m_stamped" -v n="$EVENTS" 'BEGIN {
    printf "%-32s %10.0f ms\n", "floor (SELECT, no insert)", f
    printf "%-32s %10.0f ms  %8.0f rows/s\n", "insert without trigger", p, n / p * 1000
    printf "%-32s %10.0f ms  %8.0f rows/s\n", "insert with stamp_event", s, n / s * 1000
    printf "ratio stamped / plain: %.2f   (stamped - plain per event: %.0f ns)\n", s / p, (s - p) * 1e6 / n
}'
dropdb "$DB"
