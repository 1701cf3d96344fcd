-- 74: the API's preview of criteria that are not saved (readers call it).

CREATE FUNCTION segext_api.preview_criteria(criteria segext.criteria, sample pg_catalog.int4 DEFAULT 10,
        OUT member_count pg_catalog.int8, OUT sample_ids segext.objectid[])
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_company();
        SELECT p.member_count, p.sample_ids INTO member_count, sample_ids
          FROM segext.preview_criteria(criteria, sample) AS p;
    END
    $$;
COMMENT ON FUNCTION segext_api.preview_criteria(segext.criteria, pg_catalog.int4) IS 'how many active customers of the current company criteria that are not saved would match now, and the sample (0 to 1000, default 10) smallest of their ids, without creating a segment; 400 for invalid criteria';
REVOKE ALL ON FUNCTION segext_api.preview_criteria(segext.criteria, pg_catalog.int4) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext_api.preview_criteria(segext.criteria, pg_catalog.int4) TO segext_reader;
