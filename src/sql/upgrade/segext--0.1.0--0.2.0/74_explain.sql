-- 74: the API's explanations of membership and classification (readers call them).

CREATE FUNCTION segext_api.explain_membership(segment_id segext.objectid, customer_id segext.objectid)
    RETURNS TABLE (ordinal pg_catalog.int4, path pg_catalog.text, depth pg_catalog.int4, node pg_catalog.text,
                   value pg_catalog.text, requirement pg_catalog.text, matched pg_catalog.bool,
                   explanation pg_catalog.text)
    LANGUAGE plpgsql STABLE ROWS 10
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(explain_membership.segment_id, NULL);
        IF NOT EXISTS (SELECT FROM segext.customers c
                        WHERE c.company_id OPERATOR(pg_catalog.=) segext.api_company()
                          AND c.id OPERATOR(pg_catalog.=) explain_membership.customer_id) THEN
            RAISE EXCEPTION 'customer "%" does not exist', explain_membership.customer_id
                USING ERRCODE = 'PT404',
                      DETAIL = pg_catalog.format('The current company has no customer with id "%s".', explain_membership.customer_id),
                      HINT = 'Pass the id of one of the company''s customers (GET /customers lists them).';
        END IF;
        RETURN QUERY SELECT e.ordinal, e.path, e.depth, e.node, e.value, e.requirement, e.matched, e.explanation
          FROM segext.explain_membership(explain_membership.segment_id, explain_membership.customer_id) AS e;
    END
    $$;
COMMENT ON FUNCTION segext_api.explain_membership(segext.objectid, segext.objectid) IS 'why a customer of the current company is or is not a member of one of its segments, evaluated now: one row per node of the criteria in tree order (ordinal, path "1.2", node, the customer''s value, what it needs, matched, explanation), then a row with path "segment" whose matched is the membership; 404 for an unknown segment or customer';

CREATE FUNCTION segext_api.explain_classify(event pg_catalog.jsonb)
    RETURNS TABLE (ordinal pg_catalog.int4, segment_number pg_catalog.int4, path pg_catalog.text,
                   depth pg_catalog.int4, node pg_catalog.text, value pg_catalog.text,
                   requirement pg_catalog.text, matched pg_catalog.bool, explanation pg_catalog.text)
    LANGUAGE plpgsql STABLE ROWS 20
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN QUERY SELECT e.ordinal, e.segment_number, e.path, e.depth, e.node, e.value, e.requirement,
                            e.matched, e.explanation
          FROM segext.explain_classify(segext.api_company(), explain_classify.event) AS e;
    END
    $$;
COMMENT ON FUNCTION segext_api.explain_classify(pg_catalog.jsonb) IS 'why classify gives an event (a JSON object of fields) of the current company its segment: for each segment tried in order up to the chosen one, one row per node of its criteria with the event''s value, and a row with path "segment" saying whether it matched; a last row for Default (1) when none did';
REVOKE ALL ON FUNCTION segext_api.explain_membership(segext.objectid, segext.objectid),
    segext_api.explain_classify(pg_catalog.jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext_api.explain_membership(segext.objectid, segext.objectid),
    segext_api.explain_classify(pg_catalog.jsonb) TO segext_reader;
