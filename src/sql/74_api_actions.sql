-- 74: actions of the public API (PostgREST /rpc/...), always for the current
-- company: activate, deactivate, refresh, members of a segment, manual
-- members, classify, the preview of criteria, the explanations and the
-- segment order.  They
-- check the segment id against the current company first (PT404, which
-- PostgREST answers 404, for an unknown id or another company's), refuse
-- built-ins where the seeds do (PT403), then call
-- the membership and events functions, whose rules stay where they are.
-- All are security invoker: the caller's rights and row level security hold.

CREATE FUNCTION segext.api_company() RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_api_company'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION segext.api_company() IS 'the current company for an API call; raises 42501 "no current company" when there is none';

CREATE FUNCTION segext.api_segment(segment_id segext.objectid, action pg_catalog.text)
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
COMMENT ON FUNCTION segext.api_segment(segext.objectid, pg_catalog.text) IS 'checks that a segment belongs to the current company (else PT404) and, when action is given, that it is a user segment (else PT403, naming the action); returns true';

CREATE FUNCTION segext_api.activate_segment(segment_id segext.objectid) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, 'activated');
        PERFORM segext.activate_segment(segment_id);
    END
    $$;
COMMENT ON FUNCTION segext_api.activate_segment(segext.objectid) IS 'activates a user segment of the current company and computes its members at once (Open Loyalty POST /api/segment/<segment>/activate); 404 for an unknown segment, 403 for built-ins';

CREATE FUNCTION segext_api.deactivate_segment(segment_id segext.objectid) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, 'deactivated');
        PERFORM segext.deactivate_segment(segment_id);
    END
    $$;
COMMENT ON FUNCTION segext_api.deactivate_segment(segext.objectid) IS 'deactivates a user segment of the current company and removes all its members at once (Open Loyalty POST /api/segment/<segment>/deactivate); 404 for an unknown segment, 403 for built-ins';

CREATE FUNCTION segext_api.refresh_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, NULL);
        RETURN segext.refresh_segment(segment_id);
    END
    $$;
COMMENT ON FUNCTION segext_api.refresh_segment(segext.objectid) IS 'refreshes the members of one segment of the current company (and of built-ins 0 and 1) now; returns the number of members that entered or left';

CREATE FUNCTION segext_api.refresh() RETURNS pg_catalog.int8
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN segext.refresh_company(segext.api_company());
    END
    $$;
COMMENT ON FUNCTION segext_api.refresh() IS 'refreshes every active segment of the current company in one pass; returns the number of members that entered or left';

-- The current members of the current company's segments, one row per segment
-- and customer.  segment_customers returns its rows, so that GraphQL gateways
-- (PostGraphile) can sort and filter the function's result like the view.
CREATE VIEW segext_api.segment_members WITH (security_invoker = true) AS
    SELECT m.segment_id, c.id AS customer_id, c.external_id, c.first_name, c.last_name,
           c.email, c.phone, c.active, m.since, c.created_at
      FROM segext.memberships m
      JOIN segext.customers c
        ON c.company_id OPERATOR(pg_catalog.=) m.company_id AND c.id OPERATOR(pg_catalog.=) m.customer_id
     WHERE m.company_id OPERATOR(pg_catalog.=) segext.current_company_id();
COMMENT ON VIEW segext_api.segment_members IS 'current members of the current company''s segments, one row per segment and customer (the rows of segment_customers)';
COMMENT ON COLUMN segext_api.segment_members.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.segment_members.customer_id IS 'ObjectId of the customer';
COMMENT ON COLUMN segext_api.segment_members.external_id IS 'the customer''s external id';
COMMENT ON COLUMN segext_api.segment_members.first_name IS 'the customer''s first name';
COMMENT ON COLUMN segext_api.segment_members.last_name IS 'the customer''s last name';
COMMENT ON COLUMN segext_api.segment_members.email IS 'the customer''s email address';
COMMENT ON COLUMN segext_api.segment_members.phone IS 'the customer''s phone number';
COMMENT ON COLUMN segext_api.segment_members.active IS 'whether the customer is active';
COMMENT ON COLUMN segext_api.segment_members.since IS 'when the customer entered the segment';
COMMENT ON COLUMN segext_api.segment_members.created_at IS 'when the customer was created';

-- Members of a segment: a set-returning SQL function that the planner inlines,
-- so PostgREST's filters, order, limit/offset and exact count apply to it (and
-- reach the scan).  The segment check has no reference to the rows, so it is a
-- one-time filter: an unknown segment is 404 even when no row would come back.
CREATE FUNCTION segext_api.segment_customers(
        segment_id segext.objectid,
        first_name pg_catalog.text DEFAULT NULL,
        last_name pg_catalog.text DEFAULT NULL,
        phone pg_catalog.text DEFAULT NULL,
        email pg_catalog.text DEFAULT NULL)
    RETURNS SETOF segext_api.segment_members
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT m.segment_id, c.id, c.external_id, c.first_name, c.last_name, c.email, c.phone,
           c.active, m.since, c.created_at
      FROM segext.memberships m
      JOIN segext.customers c
        ON c.company_id OPERATOR(pg_catalog.=) m.company_id AND c.id OPERATOR(pg_catalog.=) m.customer_id
     WHERE segext.api_segment($1, NULL)
       AND m.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
       AND m.segment_id OPERATOR(pg_catalog.=) $1
       AND ($2 IS NULL OR c.first_name OPERATOR(pg_catalog.~~*) ('%' OPERATOR(pg_catalog.||) segext.like_escape($2) OPERATOR(pg_catalog.||) '%'))
       AND ($3 IS NULL OR c.last_name OPERATOR(pg_catalog.~~*) ('%' OPERATOR(pg_catalog.||) segext.like_escape($3) OPERATOR(pg_catalog.||) '%'))
       AND ($4 IS NULL OR c.phone OPERATOR(pg_catalog.~~*) ('%' OPERATOR(pg_catalog.||) segext.like_escape($4) OPERATOR(pg_catalog.||) '%'))
       AND ($5 IS NULL OR c.email OPERATOR(pg_catalog.~~*) ('%' OPERATOR(pg_catalog.||) segext.like_escape($5) OPERATOR(pg_catalog.||) '%'))
    $$;
COMMENT ON FUNCTION segext_api.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text)
    IS 'current members of a segment of the current company (Open Loyalty GET /api/segment/<segment>/customers): first_name, last_name, phone and email are case-insensitive substring filters; sort, page and total come from PostgREST''s order, limit/offset and Prefer: count=exact; 404 for an unknown segment';

CREATE FUNCTION segext_api.add_segment_members(segment_id segext.objectid, customer_ids segext.objectid[])
    RETURNS pg_catalog.int8
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, 'given members');
        RETURN segext.add_segment_members(segment_id, customer_ids);
    END
    $$;
COMMENT ON FUNCTION segext_api.add_segment_members(segext.objectid, segext.objectid[]) IS 'adds customers of the current company to one of its active manual segments (criteria null); returns how many were added; 409 for unknown customers, 400 for a segment with criteria';

CREATE FUNCTION segext_api.remove_segment_members(segment_id segext.objectid, customer_ids segext.objectid[])
    RETURNS pg_catalog.int8
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, 'given members');
        RETURN segext.remove_segment_members(segment_id, customer_ids);
    END
    $$;
COMMENT ON FUNCTION segext_api.remove_segment_members(segext.objectid, segext.objectid[]) IS 'removes customers from one of the current company''s active manual segments; returns how many were removed';

CREATE FUNCTION segext_api.classify(event pg_catalog.jsonb) RETURNS pg_catalog.int4
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN segext.classify(segext.api_company(), event);
    END
    $$;
COMMENT ON FUNCTION segext_api.classify(pg_catalog.jsonb) IS 'segment number of an event (a JSON object of fields) for the current company: the first active segment by position, then number, whose criteria match, else 1 (Default)';

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

CREATE FUNCTION segext_api.explain_membership(segment_id segext.objectid, customer_id segext.objectid)
    RETURNS TABLE (ordinal pg_catalog.int4, path pg_catalog.text, depth pg_catalog.int4, node pg_catalog.text,
                   value pg_catalog.text, requirement pg_catalog.text, matched pg_catalog.bool,
                   explanation pg_catalog.text)
    LANGUAGE plpgsql STABLE ROWS 10
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        -- the query below reads plain variables: Citus cannot plan it with
        -- a reference to a parameter qualified by the function's name
        company segext.objectid;
        customer segext.objectid := explain_membership.customer_id;
    BEGIN
        PERFORM segext.api_segment(explain_membership.segment_id, NULL);
        company := segext.api_company();
        IF NOT EXISTS (SELECT FROM segext.customers c
                        WHERE c.company_id OPERATOR(pg_catalog.=) company
                          AND c.id OPERATOR(pg_catalog.=) customer) THEN
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

-- Segment order (Infinity PUT .../segments/order).
CREATE FUNCTION segext_api.reorder_segments(numbers pg_catalog.int4[]) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.reorder_segments(segext.api_company(), numbers);
    END
    $$;
COMMENT ON FUNCTION segext_api.reorder_segments(pg_catalog.int4[]) IS 'sets the position of the current company''s listed user segments to their 0-based index in numbers; built-ins 0 and 1 are refused (403)';
