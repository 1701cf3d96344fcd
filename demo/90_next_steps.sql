-- demo/90_next_steps.sql: where to go from here.
\echo ''
\echo '--- next steps'
\echo '  README.md "Quick start": the same path in SQL, to paste into psql on your own server'
\echo '  README.md "Install into your own server": make, make install (as root), CREATE EXTENSION segext'
\echo '  README.md "HTTP API (PostgREST)": deploy/roles.sql and deploy/postgrest.conf serve segext_api over HTTP'
\echo '  README.md "Criteria": every criterion kind; "Schedules": pg_cron jobs for windows that move with the calendar'
\echo '  bash scripts/test.sh: the test suites; docs/internals.md: how segext works inside'
