-- 50: preview of criteria that are not saved.

CREATE FUNCTION segext.preview_criteria(criteria segext.criteria, sample pg_catalog.int4 DEFAULT 10,
        OUT member_count pg_catalog.int8, OUT sample_ids segext.objectid[])
    AS 'MODULE_PATHNAME', 'segext_preview_criteria' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.preview_criteria(segext.criteria, pg_catalog.int4) IS 'evaluates criteria that are not saved, as segment_members evaluates a saved segment, for the current company''s active customers, without writing: the exact member count and the sample (0 to 1000, default 10) smallest member ids';
