-- 85: privileges on the API for the segext roles (after the roles exist).
-- segext_reader reads (BI tools), segext_writer and segext_admin also write;
-- the views are security_invoker, so the private tables are granted too and
-- row level security on them decides which rows a role reaches.

GRANT USAGE ON SCHEMA segext, segext_api TO segext_reader, segext_writer, segext_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA segext TO segext_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA segext TO segext_writer, segext_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA segext_api TO segext_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON segext_api.segments, segext_api.segment_groups,
    segext_api.channels TO segext_writer, segext_admin;
GRANT SELECT ON segext_api.report_segment_sizes, segext_api.report_channel_forecast
    TO segext_writer, segext_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA segext_api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext_api.channel_forecast(segext.objectid, pg_catalog.numeric),
    segext_api.commission_value(segext.objectid, pg_catalog.numeric)
    TO segext_reader, segext_writer, segext_admin;
