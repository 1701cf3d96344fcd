-- 50: membership lock order.  Every writer of memberships locks all the
-- company's segments first (segment 0, then by id: segext.lock_segments),
-- so activate, deactivate and manual members no longer update one segment
-- and then wait for the others (src/sql/50_membership.sql).

CREATE FUNCTION segext.lock_segments(company_id segext.objectid) RETURNS void
    AS 'MODULE_PATHNAME', 'segext_lock_segments' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.lock_segments(segext.objectid) IS 'locks every segment of a company FOR NO KEY UPDATE in segext''s lock order (segment 0 first, then by id), as the membership functions do before they change a segment or its members';

CREATE FUNCTION segext.segment_company(segment_id segext.objectid) RETURNS segext.objectid
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
    company segext.objectid;
BEGIN
    SELECT s.company_id INTO company FROM segext.segments AS s WHERE s.id OPERATOR(segext.=) segment_company.segment_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', segment_id USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('No segment of the current company has id "%s".', segment_id),
            HINT = 'Pass the id of an existing segment.';
    END IF;
    RETURN company;
END
$$ SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.segment_company(segext.objectid) IS 'company of a segment; raises 22023 when there is no such segment';

CREATE OR REPLACE FUNCTION segext.activate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
BEGIN
    PERFORM segext.lock_segments(segext.segment_company(segment_id));
    UPDATE segext.segments AS s SET active = true WHERE s.id OPERATOR(segext.=) activate_segment.segment_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', segment_id USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('No segment of the current company has id "%s".', segment_id),
            HINT = 'Pass the id of an existing segment.';
    END IF;
    RETURN segext.refresh_segment(segment_id);
END
$$ SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.activate_segment(segext.objectid) IS 'activates a segment and computes its members at once; returns the number of membership changes';

CREATE OR REPLACE FUNCTION segext.deactivate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    company segext.objectid := segext.segment_company(segment_id);
    removed pg_catalog.int8;
    builtin segext.objectid;
BEGIN
    PERFORM segext.lock_segments(company);
    UPDATE segext.segments AS s SET active = false WHERE s.id OPERATOR(segext.=) deactivate_segment.segment_id
    RETURNING s.company_id INTO company;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', segment_id USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('No segment of the current company has id "%s".', segment_id),
            HINT = 'Pass the id of an existing segment.';
    END IF;
    DELETE FROM segext.memberships AS m
    WHERE m.company_id OPERATOR(segext.=) company AND m.segment_id OPERATOR(segext.=) deactivate_segment.segment_id;
    GET DIAGNOSTICS removed = ROW_COUNT;
    SELECT s.id INTO builtin FROM segext.segments AS s
    WHERE s.company_id OPERATOR(segext.=) company AND s.number OPERATOR(pg_catalog.=) 1;
    RETURN removed OPERATOR(pg_catalog.+) segext.refresh_segment(builtin);
END
$$ SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.deactivate_segment(segext.objectid) IS 'deactivates a segment and removes all its members at once (they may enter Default); returns the number of membership changes';

CREATE OR REPLACE FUNCTION segext.add_segment_members(segment_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    company segext.objectid;
    missing pg_catalog.text;
    added pg_catalog.int8;
    builtin segext.objectid;
BEGIN
    PERFORM segext.lock_segments(segext.segment_company(segment_id));
    company := segext.manual_segment_company(segment_id);
    SELECT pg_catalog.string_agg(u.id::pg_catalog.text, ', ') INTO missing
    FROM pg_catalog.unnest(customer_ids) AS u(id)
    WHERE NOT EXISTS (SELECT FROM segext.customers AS c
                      WHERE c.company_id OPERATOR(segext.=) company AND c.id OPERATOR(segext.=) u.id);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'customers do not exist: %', missing USING ERRCODE = '23503',
            DETAIL = pg_catalog.format('The company of segment "%s" has no customers %s.', segment_id, missing),
            HINT = 'Pass ids of existing customers of the segment''s company.';
    END IF;
    INSERT INTO segext.memberships (company_id, segment_id, customer_id)
    SELECT DISTINCT company, add_segment_members.segment_id, c.id
    FROM segext.customers AS c
    WHERE c.company_id OPERATOR(segext.=) company AND c.id OPERATOR(segext.=) ANY (customer_ids) AND c.active
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    SELECT s.id INTO builtin FROM segext.segments AS s
    WHERE s.company_id OPERATOR(segext.=) company AND s.number OPERATOR(pg_catalog.=) 1;
    PERFORM segext.refresh_segment(builtin);
    RETURN added;
END
$$ SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.add_segment_members(segext.objectid, segext.objectid[]) IS 'adds active customers to a manual segment (inactive ones are skipped); returns how many were added';

CREATE OR REPLACE FUNCTION segext.remove_segment_members(segment_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    company segext.objectid;
    removed pg_catalog.int8;
    builtin segext.objectid;
BEGIN
    PERFORM segext.lock_segments(segext.segment_company(segment_id));
    company := segext.manual_segment_company(segment_id);
    DELETE FROM segext.memberships AS m
    WHERE m.company_id OPERATOR(segext.=) company AND m.segment_id OPERATOR(segext.=) remove_segment_members.segment_id
      AND m.customer_id OPERATOR(segext.=) ANY (customer_ids);
    GET DIAGNOSTICS removed = ROW_COUNT;
    SELECT s.id INTO builtin FROM segext.segments AS s
    WHERE s.company_id OPERATOR(segext.=) company AND s.number OPERATOR(pg_catalog.=) 1;
    PERFORM segext.refresh_segment(builtin);
    RETURN removed;
END
$$ SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.remove_segment_members(segext.objectid, segext.objectid[]) IS 'removes customers from a manual segment; returns how many were removed';

REVOKE EXECUTE ON FUNCTION segext.lock_segments(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.lock_segments(segext.objectid) TO segext_writer;
