-- 50: why a customer is or is not a member of a segment.

CREATE FUNCTION segext.explain_membership(segment_id segext.objectid, customer_id segext.objectid)
    RETURNS TABLE (ordinal pg_catalog.int4, path pg_catalog.text, depth pg_catalog.int4, node pg_catalog.text,
                   value pg_catalog.text, requirement pg_catalog.text, matched pg_catalog.bool,
                   explanation pg_catalog.text)
    AS 'MODULE_PATHNAME', 'segext_explain_membership' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION segext.explain_membership(segext.objectid, segext.objectid) IS 'why a customer is or is not a member of a segment of the current company, evaluated now as segment_members evaluates it: one row per node of the criteria in tree order (path "1", "1.2"..., the node, the customer''s value that decided it, what it needs, whether it matched), then a last row with path "segment" whose matched is the membership; Default is explained through the other active segments, a manual segment through its explicit members';
