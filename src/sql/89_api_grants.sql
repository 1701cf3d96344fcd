-- 89: privileges on the API for the segext roles (created in 80_roles.sql).
-- segext_reader reads (BI tools); segext_writer, a member of segext_reader,
-- also writes through the views; segext_admin is a member of segext_writer.
-- The views are security_invoker: the privileges on the private tables and
-- their row level security (80_roles.sql) apply to the caller as well.

GRANT USAGE ON SCHEMA segext_api TO segext_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA segext_api TO segext_reader;
GRANT INSERT, UPDATE, DELETE ON segext_api.segments, segext_api.segment_groups,
    segext_api.channels TO segext_writer;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA segext_api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext_api.channel_forecast(segext.objectid, pg_catalog.numeric),
    segext_api.commission_value(segext.objectid, pg_catalog.numeric)
    TO segext_reader;
GRANT EXECUTE ON FUNCTION segext_api.reorder_segments(pg_catalog.int4[]) TO segext_writer;
GRANT INSERT, UPDATE, DELETE ON segext_api.customers, segext_api.transactions TO segext_writer;
REVOKE ALL ON FUNCTION segext.api_company(), segext.api_segment(segext.objectid, pg_catalog.text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.api_company(), segext.api_segment(segext.objectid, pg_catalog.text) TO segext_reader;
GRANT EXECUTE ON FUNCTION segext_api.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text),
    segext_api.classify(pg_catalog.jsonb),
    segext_api.preview_criteria(segext.criteria, pg_catalog.int4),
    segext_api.explain_membership(segext.objectid, segext.objectid),
    segext_api.explain_classify(pg_catalog.jsonb) TO segext_reader;
GRANT EXECUTE ON FUNCTION segext_api.activate_segment(segext.objectid), segext_api.deactivate_segment(segext.objectid),
    segext_api.refresh_segment(segext.objectid), segext_api.refresh(),
    segext_api.add_segment_members(segext.objectid, segext.objectid[]),
    segext_api.remove_segment_members(segext.objectid, segext.objectid[]) TO segext_writer;
GRANT EXECUTE ON FUNCTION segext_api.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text),
    segext_api.revoke_company(segext.objectid, pg_catalog.regrole) TO segext_admin;
