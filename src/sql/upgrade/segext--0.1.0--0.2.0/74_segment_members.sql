-- 74: segment_customers returns the rows of the new view segext_api.segment_members
-- (a function's result type cannot be changed in place: drop and create it).

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

GRANT SELECT ON segext_api.segment_members TO segext_reader;

DROP FUNCTION segext_api.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text);
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
REVOKE ALL ON FUNCTION segext_api.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext_api.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) TO segext_reader;
