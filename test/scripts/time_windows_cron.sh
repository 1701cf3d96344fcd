#!/usr/bin/env bash
# test/scripts/time_windows_cron.sh: a pg_cron job running
# segext.recheck_time_windows() every minute moves a customer out of a
# last_purchase_n_days_before segment when the calendar moves past its last
# sale, with no write to its data.
#
# The window of "last purchase within 3 days" starts at midnight of
# today - 3 in the session's time zone, so it moves only at midnight.  The
# test gives the database (and so the job's sessions) a time zone whose
# midnight is the next whole minute at least 20 s away, and the customer a
# sale one hour before the window's start after that midnight: a member now,
# out after midnight.  It then waits (at most 150 s) for a scheduled run
# after midnight and checks the membership row is gone, the history says
# 'left' and cron.job_run_details shows the run succeeded.
#
# Needs a cluster that preloads pg_cron with cron.database_name =
# SEGEXT_CRON_DB (scripts/lib.sh load_pg_cron).
set -euo pipefail

db=${SEGEXT_CRON_DB:-segext_cron}
job=segext_time_windows_$$
company=0000000000000000000c0011
customer=0000000000000000000000e1
segment=0000000000000000000c0012
fail() { echo "FAILED: $*"; exit 1; }
cleanup() {
    psql -X -q -d "$db" -c "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = '$job'" \
        -c "SET segext.drop_with_data = on" -c "DROP EXTENSION IF EXISTS segext CASCADE" -c "DROP EXTENSION IF EXISTS pg_cron" \
        -c "ALTER DATABASE $db RESET timezone" >/dev/null 2>&1 || true
}
trap cleanup EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

[ "$(psql -X -At -d "$db" -c "SHOW shared_preload_libraries")" = pg_cron ] ||
    fail "pg_cron is not preloaded (shared_preload_libraries)"
[ "$(psql -X -At -d "$db" -c "SHOW cron.database_name")" = "$db" ] ||
    fail "cron.database_name is not $db"
q -c "CREATE EXTENSION IF NOT EXISTS pg_cron" -c "CREATE EXTENSION segext"

# Midnight M: the next whole minute at least 20 s from now; the zone whose
# local time is 00:00 at M (whole minutes, within UTC-12..UTC+12).
now=$(date +%s)
midnight=$(( (now + 20 + 59) / 60 * 60 ))
minute_of_day=$(( midnight / 60 % 1440 ))
offset=$(( (1440 - minute_of_day) % 1440 ))
[ "$offset" -le 720 ] || offset=$(( offset - 1440 ))
if [ "$offset" -ge 0 ]; then sign=-; abs=$offset; else sign=+; abs=$(( -offset )); fi
zone=$(printf 'SEG%s%02d:%02d' "$sign" $(( abs / 60 )) $(( abs % 60 )))
q -c "ALTER DATABASE $db SET timezone = '$zone'"
[ "$(q -c "SELECT to_timestamp($midnight)::time")" = 00:00:00 ] ||
    fail "time zone $zone does not put midnight at $(date -u -d @$midnight)"
echo "time zone $zone: midnight at $(date -u -d @$midnight +%H:%M:%S) UTC"

# The customer's last sale: one hour before midnight of (M's date - 3).
q >/dev/null <<SQL
INSERT INTO segext.companies (id, name) VALUES ('$company', 'cron');
INSERT INTO segext.customers (company_id, id, first_name) VALUES ('$company', '$customer', 'ann');
INSERT INTO segext.segments (company_id, id, number, name, criteria) VALUES
    ('$company', '$segment', 2, 'bought within 3 days', '[{"type": "last_purchase_n_days_before", "days": 3}]');
INSERT INTO segext.transactions (company_id, customer_id, amount, occurred_at) VALUES
    ('$company', '$customer', 10, to_timestamp($midnight) - interval '3 days 1 hour');
SELECT segext.refresh_company('$company');
SQL
member() {
    q -c "SELECT count(*) FROM segext.memberships WHERE company_id OPERATOR(pg_catalog.=) '$company'
           AND segment_id OPERATOR(pg_catalog.=) '$segment' AND customer_id OPERATOR(pg_catalog.=) '$customer'"
}
[ "$(date +%s)" -lt "$midnight" ] || fail "the set-up took past midnight; run again"
[ "$(member)" = 1 ] || fail "before midnight the customer should be a member"

q -c "SELECT cron.schedule('$job', '* * * * *', 'SELECT segext.recheck_time_windows()')" >/dev/null

deadline=$(( midnight + 130 ))
moved=0
while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$(member)" = 0 ]; then moved=1; break; fi
    sleep 2
done
runs=$(q -c "SELECT string_agg(d.status || ' ' || d.start_time || ' ' || coalesce(d.return_message, ''), E'\n' ORDER BY d.start_time)
               FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = '$job'")
echo "runs of the job:"
echo "$runs"
[ "$moved" = 1 ] || fail "no scheduled run moved the customer out within 130 s after midnight"
[ "$(q -c "SELECT kind FROM segext.membership_history WHERE company_id OPERATOR(pg_catalog.=) '$company'
            AND segment_id OPERATOR(pg_catalog.=) '$segment' AND customer_id OPERATOR(pg_catalog.=) '$customer'
            ORDER BY id DESC LIMIT 1")" = left ] || fail "the history has no 'left' row for the customer"
[ "$(q -c "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
            WHERE j.jobname = '$job' AND d.status = 'succeeded' AND d.start_time >= to_timestamp($midnight)")" -ge 1 ] ||
    fail "cron.job_run_details shows no succeeded run after midnight"
[ "$(q -c "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
            WHERE j.jobname = '$job' AND d.status <> 'succeeded' AND d.status <> 'running'")" = 0 ] ||
    fail "a run of the job failed"
[ "$(q -c "SELECT checked_at >= to_timestamp($midnight) FROM segext.time_window_checks
            WHERE company_id OPERATOR(pg_catalog.=) '$company'")" = t ] ||
    fail "the company's last recheck is not after midnight"
echo "a scheduled recheck after midnight moved the customer out"
