-- 60: why an event gets its segment.

CREATE FUNCTION segext.explain_classify(company segext.objectid, event pg_catalog.jsonb)
    RETURNS TABLE (ordinal pg_catalog.int4, segment_number pg_catalog.int4, path pg_catalog.text,
                   depth pg_catalog.int4, node pg_catalog.text, value pg_catalog.text,
                   requirement pg_catalog.text, matched pg_catalog.bool, explanation pg_catalog.text)
    AS 'MODULE_PATHNAME', 'segext_explain_classify' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 20;
COMMENT ON FUNCTION segext.explain_classify(segext.objectid, pg_catalog.jsonb) IS
'why classify() and the stamping trigger give an event (a JSON object of fields) its segment: the active segments '
'event stamping leaves out, then for each segment tried in order (position, then number) up to the chosen one, one '
'row per node of its criteria with the event''s value that decided it, and a row with path "segment" saying whether '
'the segment matched; a last row for Default (1) when none did';
