-- 74: the segment order of the API takes the current company from
-- segext.api_company(), with the one "no current company" error of every API
-- action.
CREATE OR REPLACE FUNCTION segext_api.reorder_segments(numbers pg_catalog.int4[]) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.reorder_segments(segext.api_company(), numbers);
    END
    $$;
