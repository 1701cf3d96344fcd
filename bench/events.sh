#!/usr/bin/env bash
# bench/events.sh: insert throughput of event stamping.
#
# Inserts N events (default 1,000,000) with INSERT ... SELECT from generate_series into
#   plain    a table without a trigger,
#   stamped  an identical table with segext.stamp_event(), for a company with 50 active
#            segments of 3 field criteria each (eq, begins, contains, in, gt),
# for two data sets:
#   worst    most events (88%) match no segment and fall to Default, so every candidate
#            segment is evaluated (the headline figure);
#   mix      80% of the events match one of the first five segments, the rest as in worst;
#   none     worst's events for a company without segments: the cost of the trigger
#            itself (PostgreSQL's row trigger protocol, the company lookup, forming the
#            stamped row), a floor for the ratio.
# The floor is the same SELECT counted without inserting.  Per data set, REPS (default 5)
# repetitions; each repetition runs plain and stamped back to back (plain first in odd
# repetitions, stamped first in even ones), each after TRUNCATE, VACUUM and CHECKPOINT.
# Printed: every time, the median and the minimum of each side, the ratio of the medians
# and the ratio of the minimums; by wall-clock time (psql \timing) and by the CPU time of
# the server backend (utime + stime in /proc/<pid>/stat, in clock ticks, before and after
# the statement), which other work on a shared machine disturbs less.
#
#   SEGEXT_SKIP_INSTALL=1 bash bench/events.sh   # builds, starts a throwaway cluster, runs
#   EVENTS=100000 REPS=3 bash bench/events.sh
#   DATASETS=worst bash bench/events.sh
#   SEGEXT_BENCH_USE_ENV=1 bash bench/events.sh   # use PGHOST/PGPORT/PGUSER as they are
#   SEGEXT_BENCH_KEEP_DB=1 ...                     # keep database segext_bench_events
set -euo pipefail

EVENTS=${EVENTS:-1000000}
REPS=${REPS:-5}
DATASETS=${DATASETS:-worst mix none}
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
INSERT INTO segext.companies (id, name) VALUES ('b0b0b0b0b0b0b0b0b0b0b0b0', 'Bench Co'),
    ('b1b1b1b1b1b1b1b1b1b1b1b1', 'Bench Co without segments');
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

-- Worst case: realistic, deterministic field values; 88% of the events match no segment.
CREATE VIEW source_worst AS
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

-- Trigger floor: the same events for a company that has only segment 1 (Default).
CREATE VIEW source_none AS
SELECT 'b1b1b1b1b1b1b1b1b1b1b1b1'::segext.objectid AS company_id, occurred_at, act, href, country,
       device, campaign, amount
  FROM source_worst;

-- Realistic mix: by i % 20, 20% of the events are made to match segment 2 (position 1),
-- 25% segment 3, 15% segment 4, 10% segment 5, 10% segment 6; 20% as in source_worst.
CREATE VIEW source_mix AS
SELECT company_id, occurred_at,
       CASE WHEN m < 4 THEN '2' || (i % 10)::text
            WHEN m BETWEEN 9 AND 11 THEN '4' || (i % 10)::text
            WHEN m BETWEEN 12 AND 13 THEN '28' ELSE act END AS act,
       CASE WHEN m < 4 THEN '/promo1' || (i % 50)::text || '/item'
            WHEN m BETWEEN 9 AND 11 THEN '/product/3' || (i % 10)::text || '/item'
            WHEN m BETWEEN 14 AND 15 THEN '/shop/5' || (i % 10)::text || '/item' ELSE href END AS href,
       CASE WHEN m BETWEEN 4 AND 8 THEN (ARRAY['NZ','AU','DE'])[i % 3 + 1]
            WHEN m BETWEEN 12 AND 13 THEN 'NZ'
            WHEN m BETWEEN 14 AND 15 THEN 'FR' ELSE country END AS country,
       CASE WHEN m < 4 THEN (ARRAY['desktop','tablet'])[i % 2 + 1]
            WHEN m BETWEEN 9 AND 11 THEN 'mobile' ELSE device END AS device,
       CASE WHEN m BETWEEN 4 AND 8 THEN 'spring-2'
            WHEN m BETWEEN 12 AND 13 THEN 'summer-' || (i % 12)::text ELSE campaign END AS campaign,
       CASE WHEN m BETWEEN 4 AND 8 THEN 50 + i % 100
            WHEN m BETWEEN 14 AND 15 THEN 100 + i % 100 ELSE amount END AS amount
  FROM (SELECT w.*, i, i % 20 AS m
          FROM generate_series(1::int8, current_setting('bench.events')::int8) i,
               LATERAL (SELECT 'b0b0b0b0b0b0b0b0b0b0b0b0'::segext.objectid AS company_id,
                               timestamptz '2026-01-01' + i * interval '1 second' AS occurred_at,
                               ((i * 7919) % 100)::text AS act,
                               (ARRAY['/shop/', '/product/', '/promo', '/home/', '/blog/'])[i % 5 + 1]
                                   || ((i * 31) % 50)::text || '/item' AS href,
                               (ARRAY['NZ','AU','GB','US','DE','FR','JP','BR','CA','IT'])[(i * 13) % 10 + 1] AS country,
                               (ARRAY['mobile','desktop','tablet'])[(i * 17) % 3 + 1] AS device,
                               (ARRAY['spring-','summer-','autumn-','winter-'])[(i * 11) % 4 + 1]
                                   || ((i * 3) % 12)::text AS campaign,
                               ((i * 37) % 20000) / 100.0 AS amount) w) s;
SQL

TICK_MS=$((1000 / $(getconf CLK_TCK)))
run_timed() {
    # run_timed SQL: prints the elapsed milliseconds of one statement (psql \timing) and the
    # CPU milliseconds its backend used.
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" <<EOSQL | awk -v tick="$TICK_MS" '
        /^Time: / { wall = $2 }
        /^cpu / { if (before == "") before = $2; else after = $2 }
        END { printf "%s %d\n", wall, (after - before) * tick }'
SET bench.events = $EVENTS;
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
\! awk '{ print "cpu", \$14 + \$15 }' /proc/\$BENCH_PID/stat
\timing on
$1;
\timing off
\! awk '{ print "cpu", \$14 + \$15 }' /proc/\$BENCH_PID/stat
EOSQL
}

# settle empties both tables and flushes what the last run left behind.
settle() {
    psql_q -c 'TRUNCATE events_plain, events_stamped' -c 'VACUUM events_plain, events_stamped' \
        -c 'CHECKPOINT'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
minimum() { printf '%s\n' "$@" | sort -g | head -1; }

cols="company_id, occurred_at, act, href, country, device, campaign, amount"
for ds in $DATASETS; do
    declare -a t_plain=() t_stamped=() t_floor=() c_plain=() c_stamped=()
    echo "== data set $ds: $EVENTS events, $REPS repetitions"
    for r in $(seq 1 "$REPS"); do
        settle
        read -r t _ < <(run_timed "SELECT count(*) FROM (SELECT $cols FROM source_$ds) s WHERE s IS NOT NULL")
        t_floor+=("$t")
        if [ $((r % 2)) = 1 ]; then order="plain stamped"; else order="stamped plain"; fi
        for side in $order; do
            settle
            read -r t c < <(run_timed "INSERT INTO events_$side ($cols) SELECT $cols FROM source_$ds")
            if [ "$side" = plain ]; then t_plain+=("$t"); c_plain+=("$c"); else t_stamped+=("$t"); c_stamped+=("$c"); fi
        done
        awk -v r="$r" -v f="${t_floor[-1]}" -v p="${t_plain[-1]}" -v s="${t_stamped[-1]}" -v o="$order" \
            -v cp="${c_plain[-1]}" -v cs="${c_stamped[-1]}" \
            'BEGIN { printf "rep %d (%s): floor %.0f ms, plain %.0f ms (cpu %d), stamped %.0f ms (cpu %d), ratio %.2f (cpu %.2f)\n", r, o, f, p, cp, s, cs, s / p, cs / cp }'
    done
    psql_q -c "SELECT segment, segment_group, count(*) AS events
                 FROM events_stamped GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 6"
    awk -v f="$(median "${t_floor[@]}")" -v pm="$(median "${t_plain[@]}")" -v sm="$(median "${t_stamped[@]}")" \
        -v pn="$(minimum "${t_plain[@]}")" -v sn="$(minimum "${t_stamped[@]}")" -v n="$EVENTS" -v ds="$ds" \
        -v cpm="$(median "${c_plain[@]}")" -v csm="$(median "${c_stamped[@]}")" \
        -v cpn="$(minimum "${c_plain[@]}")" -v csn="$(minimum "${c_stamped[@]}")" 'BEGIN {
        printf "%-6s %-28s %10s %10s\n", ds, "", "median", "min"
        printf "%-6s %-28s %7.0f ms\n", ds, "floor (SELECT, no insert)", f
        printf "%-6s %-28s %7.0f ms %7.0f ms\n", ds, "insert without trigger", pm, pn
        printf "%-6s %-28s %7.0f ms %7.0f ms\n", ds, "insert with stamp_event", sm, sn
        printf "%-6s ratio stamped / plain: medians %.2f, minimums %.2f  (%.0f ns more per event, medians)\n",
               ds, sm / pm, sn / pn, (sm - pm) * 1e6 / n
        printf "%-6s backend cpu: plain %d / %d ms, stamped %d / %d ms (median / min)\n", ds, cpm, cpn, csm, csn
        printf "%-6s cpu ratio stamped / plain: medians %.2f, minimums %.2f\n", ds, csm / cpm, csn / cpn
    }'
    echo
    unset t_plain t_stamped t_floor c_plain c_stamped
done
if [ "${SEGEXT_BENCH_KEEP_DB:-0}" != 1 ]; then dropdb "$DB"; fi
