-- 88: privileges and row level security of the time window rechecks
-- (55_time_windows.sql), in the shape of 82_customers_roles.sql.  Only segext
-- writes segext.time_window_checks (recheck_time_windows, as the table's
-- owner); members of segext_admin may also correct or delete its rows.

GRANT SELECT ON segext.time_window_checks TO segext_reader;
GRANT INSERT, UPDATE, DELETE ON segext.time_window_checks TO segext_admin;
REVOKE EXECUTE ON FUNCTION segext.time_window_candidates(segext.objectid, pg_catalog.timestamptz, pg_catalog.timestamptz),
    segext.recheck_time_windows(segext.objectid), segext.refresh_all() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.time_window_candidates(segext.objectid, pg_catalog.timestamptz, pg_catalog.timestamptz)
    TO segext_reader;
-- readers may call them to be refused with a reason: recheck_time_windows
-- needs a writer grant for the company, refresh_all membership of segext_admin
GRANT EXECUTE ON FUNCTION segext.recheck_time_windows(segext.objectid), segext.refresh_all() TO segext_reader;

SELECT segext.enable_tenant_policies('segext.time_window_checks');
