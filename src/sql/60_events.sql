-- 60: event stamping (Infinity triggers): the BEFORE INSERT trigger function users attach to
-- their events tables, classify() for one jsonb event, and the segment cache invalidation.

CREATE FUNCTION segext.stamp_event() RETURNS pg_catalog.trigger
    AS 'MODULE_PATHNAME', 'segext_stamp_event' LANGUAGE C;
COMMENT ON FUNCTION segext.stamp_event() IS
'BEFORE INSERT FOR EACH ROW trigger for an events table: stamps each row with the number of the first active segment '
'of its company (by position, then number) whose field criteria match the row, or 1 (Default), and with that segment''s '
'group id. Arguments: company column, segment column, group column and, optionally, a jsonb column whose top-level '
'keys are further fields';

CREATE FUNCTION segext.classify(company segext.objectid, event pg_catalog.jsonb) RETURNS pg_catalog.int4
    AS 'MODULE_PATHNAME', 'segext_classify' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.classify(segext.objectid, pg_catalog.jsonb) IS
'segment number of an event given as a JSON object (its top-level keys are the fields): the first active segment of '
'the company, by position then number, whose field criteria match, or 1 (Default)';

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

CREATE FUNCTION segext.check_event_trigger(trigger_oid pg_catalog.oid, relation pg_catalog.regclass)
    RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'segext_check_event_trigger' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.check_event_trigger(pg_catalog.oid, pg_catalog.regclass) IS
'checks the arguments and timing of a segext.stamp_event() trigger against its table, raising the error the trigger '
'would raise when fired; true when the trigger was found';

CREATE FUNCTION segext.check_event_triggers_on_create() RETURNS pg_catalog.event_trigger
    AS 'MODULE_PATHNAME', 'segext_check_event_triggers_on_create' LANGUAGE C;
COMMENT ON FUNCTION segext.check_event_triggers_on_create() IS
'event trigger function: checks every segext.stamp_event() trigger right after CREATE TRIGGER';

CREATE EVENT TRIGGER segext_check_event_trigger ON ddl_command_end
    WHEN TAG IN ('CREATE TRIGGER')
    EXECUTE FUNCTION segext.check_event_triggers_on_create();
COMMENT ON EVENT TRIGGER segext_check_event_trigger IS
'refuses a CREATE TRIGGER whose segext.stamp_event() arguments or timing are wrong';

CREATE FUNCTION segext.event_criteria_usable(criteria segext.criteria) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'segext_event_criteria_usable' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.event_criteria_usable(segext.criteria) IS
'true when every criterion is a field criterion, so that events can be matched against the condition';

CREATE FUNCTION segext.check_event_segments(company segext.objectid)
    RETURNS TABLE (number pg_catalog.int4, name pg_catalog.text, reason pg_catalog.text)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE ROWS 10 AS $$
    SELECT s.number, s.name,
           CASE WHEN s.criteria IS NULL THEN 'manual segment: members are assigned explicitly'
                ELSE 'criteria on customer aggregates: an event cannot match them' END
      FROM segext.segments s
     WHERE s.company_id OPERATOR(pg_catalog.=) $1
       AND s.active
       AND s.number OPERATOR(pg_catalog.>=) 2
       AND (s.criteria IS NULL OR NOT segext.event_criteria_usable(s.criteria))
     ORDER BY s.position, s.number
$$;
COMMENT ON FUNCTION segext.check_event_segments(segext.objectid) IS
'active user segments of a company that event stamping leaves out, with the reason: manual (no criteria) or '
'criteria on customer aggregates';

-- Any change to segments, their criteria, order, group or status empties the segment cache
-- of every backend (at commit; at once in this backend).
CREATE FUNCTION segext.segment_cache_invalidate() RETURNS pg_catalog.trigger
    AS 'MODULE_PATHNAME', 'segext_segment_cache_invalidate' LANGUAGE C;
COMMENT ON FUNCTION segext.segment_cache_invalidate() IS
'statement trigger on segext.segments: invalidates the compiled segment cache of every backend';

CREATE TRIGGER segment_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON segext.segments
    FOR EACH STATEMENT EXECUTE FUNCTION segext.segment_cache_invalidate();
COMMENT ON TRIGGER segment_cache_invalidate ON segext.segments IS
'invalidates the compiled segment cache used by event stamping and classify()';
