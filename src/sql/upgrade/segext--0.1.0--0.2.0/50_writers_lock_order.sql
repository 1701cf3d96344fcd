-- 50: writers of memberships lock all the company's segments first (segment
-- 0, then by id: segext.lock_segments), so activate and deactivate no
-- longer update one segment and then wait for the others
-- (src/sql/50_membership.sql).  After 50_tenancy_leaks.sql, whose versions
-- of these functions this part replaces.

CREATE FUNCTION segext.lock_segments(company_id segext.objectid) RETURNS void
    AS 'MODULE_PATHNAME', 'segext_lock_segments' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.lock_segments(segext.objectid) IS 'locks every segment of a company FOR NO KEY UPDATE in segext''s lock order (segment 0 first, then by id), as the membership functions do before they change a segment or its members';

CREATE OR REPLACE FUNCTION segext.activate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_activate_segment' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.activate_segment(segext.objectid) IS 'activates a segment of the current company and computes its members at once; returns the number of membership changes';

CREATE OR REPLACE FUNCTION segext.deactivate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_deactivate_segment' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.deactivate_segment(segext.objectid) IS 'deactivates a segment of the current company and removes all its members at once (they may enter Default); returns the number of membership changes';

REVOKE EXECUTE ON FUNCTION segext.lock_segments(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.lock_segments(segext.objectid) TO segext_writer;
