-- 74: API actions.  api_segment calls pg_catalog.format, not format.

CREATE OR REPLACE FUNCTION segext.api_segment(segment_id segext.objectid, action pg_catalog.text)
    RETURNS pg_catalog.bool
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        company segext.objectid := segext.api_company();
        seg record;
    BEGIN
        SELECT s.number, s.name INTO seg
          FROM segext.segments s
         WHERE s.company_id OPERATOR(pg_catalog.=) company
           AND s.id OPERATOR(pg_catalog.=) api_segment.segment_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'segment "%" does not exist', segment_id
                USING ERRCODE = 'PT404',
                      DETAIL = pg_catalog.format('The current company has no segment with id "%s".', segment_id),
                      HINT = 'Pass the id of one of the company''s segments (GET /segments lists them).';
        END IF;
        IF action IS NOT NULL AND seg.number OPERATOR(pg_catalog.<=) 1 THEN
            RAISE EXCEPTION 'built-in segment % "%" cannot be %', seg.number, seg.name, action
                USING ERRCODE = 'PT403',
                      DETAIL = pg_catalog.format('Segments 0 "All" and 1 "Default" are maintained by segext; segment %s "%s" cannot be %s.',
                                      seg.number, seg.name, action),
                      HINT = 'Pass the id of a user segment (numbers 2 to 65535).';
        END IF;
        RETURN true;
    END
    $$;
