-- 50: writers of memberships lock all the company's segments first (segment
-- 0, then by id: segext.lock_segments), so activate and deactivate no
-- longer update one segment and then wait for the others
-- (src/sql/50_membership.sql).  After 50_tenancy_leaks.sql, whose versions
-- of these functions this part replaces.

CREATE FUNCTION segext.lock_segments(company_id segext.objectid) RETURNS void
    AS 'MODULE_PATHNAME', 'segext_lock_segments' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.lock_segments(segext.objectid) IS 'locks every segment of a company FOR NO KEY UPDATE in segext''s lock order (segment 0 first, then by id), as the membership functions do before they change a segment or its members';

CREATE OR REPLACE FUNCTION segext.activate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    company segext.objectid := segext.segment_company_id(segment_id);
BEGIN
    PERFORM segext.lock_segments(company);
    UPDATE segext.segments AS s SET active = true
    WHERE s.company_id OPERATOR(segext.=) company AND s.id OPERATOR(segext.=) activate_segment.segment_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'permission denied to activate segment "%"', segment_id USING ERRCODE = '42501',
            DETAIL = pg_catalog.format('Segment "%s" is visible to role "%s", which may not change it.', segment_id, current_user),
            HINT = 'Act as a writer of the segment''s company.';
    END IF;
    RETURN segext.refresh_segment(segment_id);
END
$$ SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.activate_segment(segext.objectid) IS 'activates a segment of the current company and computes its members at once; returns the number of membership changes';

CREATE OR REPLACE FUNCTION segext.deactivate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    company segext.objectid := segext.segment_company_id(segment_id);
BEGIN
    PERFORM segext.lock_segments(company);
    UPDATE segext.segments AS s SET active = false
    WHERE s.company_id OPERATOR(segext.=) company AND s.id OPERATOR(segext.=) deactivate_segment.segment_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'permission denied to deactivate segment "%"', segment_id USING ERRCODE = '42501',
            DETAIL = pg_catalog.format('Segment "%s" is visible to role "%s", which may not change it.', segment_id, current_user),
            HINT = 'Act as a writer of the segment''s company.';
    END IF;
    -- the refresh of an inactive segment removes its members (they may enter Default)
    RETURN segext.refresh_segment(segment_id);
END
$$ SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.deactivate_segment(segext.objectid) IS 'deactivates a segment of the current company and removes all its members at once (they may enter Default); returns the number of membership changes';

REVOKE EXECUTE ON FUNCTION segext.lock_segments(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.lock_segments(segext.objectid) TO segext_writer;
