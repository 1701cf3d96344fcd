-- 20: the segext.criteria type (src/criteria.c) and its evaluator's SQL
-- entry points (src/evaluate.c).

CREATE TYPE segext.criteria;

CREATE FUNCTION segext.criteria_in(pg_catalog.cstring) RETURNS segext.criteria
    AS 'MODULE_PATHNAME', 'criteria_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_in(pg_catalog.cstring) IS 'criteria text input: JSON, parts shape, flat list or a tree of all/any/not groups';
CREATE FUNCTION segext.criteria_out(segext.criteria) RETURNS pg_catalog.cstring
    AS 'MODULE_PATHNAME', 'criteria_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_out(segext.criteria) IS 'criteria text output: canonical JSON, in the parts shape or as a tree of groups';
CREATE FUNCTION segext.criteria_recv(pg_catalog.internal) RETURNS segext.criteria
    AS 'MODULE_PATHNAME', 'criteria_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_recv(pg_catalog.internal) IS 'criteria binary input: version byte (1 parts, 2 tree of groups) and JSON text, validated like text input';
CREATE FUNCTION segext.criteria_send(segext.criteria) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'criteria_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_send(segext.criteria) IS 'criteria binary output: version byte (1 parts, 2 tree of groups) and canonical JSON text';

CREATE TYPE segext.criteria (
    INPUT = segext.criteria_in,
    OUTPUT = segext.criteria_out,
    RECEIVE = segext.criteria_recv,
    SEND = segext.criteria_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE segext.criteria IS 'validated segment condition: every part must match, a part matches when any of its criteria matches';

-- Casts to and from jsonb.
CREATE FUNCTION segext.jsonb_to_criteria(pg_catalog.jsonb) RETURNS segext.criteria
    AS 'MODULE_PATHNAME', 'jsonb_to_criteria' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.jsonb_to_criteria(pg_catalog.jsonb) IS 'cast jsonb to criteria (validates it)';
CREATE FUNCTION segext.criteria_to_jsonb(segext.criteria) RETURNS pg_catalog.jsonb
    AS 'MODULE_PATHNAME', 'criteria_to_jsonb' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_to_jsonb(segext.criteria) IS 'cast criteria to their canonical jsonb document';

CREATE CAST (pg_catalog.jsonb AS segext.criteria)
    WITH FUNCTION segext.jsonb_to_criteria(pg_catalog.jsonb) AS ASSIGNMENT;
COMMENT ON CAST (pg_catalog.jsonb AS segext.criteria) IS 'validate a jsonb document as segment criteria';
CREATE CAST (segext.criteria AS pg_catalog.jsonb)
    WITH FUNCTION segext.criteria_to_jsonb(segext.criteria) AS ASSIGNMENT;
COMMENT ON CAST (segext.criteria AS pg_catalog.jsonb) IS 'segment criteria as canonical jsonb (parts shape or tree of groups)';

-- Equality: the same canonical condition.
CREATE FUNCTION segext.criteria_eq(segext.criteria, segext.criteria) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'criteria_eq' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_eq(segext.criteria, segext.criteria) IS 'criteria equal (same canonical condition)';
CREATE FUNCTION segext.criteria_ne(segext.criteria, segext.criteria) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'criteria_ne' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_ne(segext.criteria, segext.criteria) IS 'criteria not equal';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = segext.criteria, RIGHTARG = segext.criteria, PROCEDURE = segext.criteria_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel
);
COMMENT ON OPERATOR pg_catalog.= (segext.criteria, segext.criteria) IS 'same canonical condition';
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = segext.criteria, RIGHTARG = segext.criteria, PROCEDURE = segext.criteria_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (segext.criteria, segext.criteria) IS 'different canonical conditions';

-- Evaluation entry points.
CREATE FUNCTION segext.criteria_match_event(segext.criteria, pg_catalog.jsonb) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'criteria_match_event' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_match_event(segext.criteria, pg_catalog.jsonb) IS
    'does an event (a jsonb object whose top-level keys are its fields) match the criteria? Non-field criteria never match an event';
CREATE FUNCTION segext.criteria_match_facts(segext.criteria, pg_catalog.jsonb,
                                            today pg_catalog.date DEFAULT CURRENT_DATE,
                                            now pg_catalog.timestamptz DEFAULT pg_catalog.now())
    RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'criteria_match_facts' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_match_facts(segext.criteria, pg_catalog.jsonb, pg_catalog.date, pg_catalog.timestamptz) IS
    'preview/debug: does a customer described by per-customer facts (jsonb) match the criteria at the given today and now?';
