-- 0.2.0 upgrade part (mirrors 50_membership.sql and
-- 82_customers_roles.sql): what one company could learn of another, or do to
-- it, through NOTIFY, membership writes and ids another company also uses.

-- NOTIFY on segext_membership carries only the range of history ids written
-- (the function itself is replaced in 90_member_counts.sql).
COMMENT ON FUNCTION segext.memberships_changed() IS 'trigger: keeps customers_count, records history and notifies segext_membership with the range of history ids a statement wrote';

-- Only segext writes members: a direct write is refused with a hint.
CREATE FUNCTION segext.memberships_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_memberships_guard' LANGUAGE C;
COMMENT ON FUNCTION segext.memberships_guard() IS 'trigger: refuses (42501) a write of segext.memberships by anyone but segext (the table owner) or a superuser';
CREATE TRIGGER memberships_guard BEFORE INSERT OR UPDATE OR DELETE ON segext.memberships
    FOR EACH STATEMENT EXECUTE FUNCTION segext.memberships_guard();
COMMENT ON TRIGGER memberships_guard ON segext.memberships IS 'only segext writes members; users call add_segment_members, remove_segment_members or a refresh';

-- Segment ids are looked up among the current company's segments.
CREATE FUNCTION segext.segment_company_id(segment_id segext.objectid) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_segment_company_id' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.segment_company_id(segext.objectid) IS 'company of the segment with this id among the current company''s segments (for an admin with no current company, among every company''s, when only one has it); raises 22023 when the id is unknown or ambiguous';


-- Activation scoped by the current company; manual members written by C
-- as the table's owner after the company check.
COMMENT ON FUNCTION segext.activate_segment(segext.objectid) IS 'activates a segment of the current company and computes its members at once; returns the number of membership changes';

COMMENT ON FUNCTION segext.deactivate_segment(segext.objectid) IS 'deactivates a segment of the current company and removes all its members at once (they may enter Default); returns the number of membership changes';

CREATE OR REPLACE FUNCTION segext.add_segment_members(segment_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_add_segment_members' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.add_segment_members(segext.objectid, segext.objectid[]) IS 'adds active customers to a manual segment of the current company (inactive ones are skipped); returns how many were added';

CREATE OR REPLACE FUNCTION segext.remove_segment_members(segment_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_remove_segment_members' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.remove_segment_members(segext.objectid, segext.objectid[]) IS 'removes customers from a manual segment of the current company; returns how many were removed';

DROP FUNCTION segext.manual_segment_company(segext.objectid);

-- Members listed for the current company's segment only.
CREATE OR REPLACE FUNCTION segext.segment_customers(
    segment_id segext.objectid,
    first_name pg_catalog.text DEFAULT NULL,
    last_name pg_catalog.text DEFAULT NULL,
    phone pg_catalog.text DEFAULT NULL,
    email pg_catalog.text DEFAULT NULL,
    sort pg_catalog.text DEFAULT 'name',
    direction pg_catalog.text DEFAULT 'asc',
    page_limit pg_catalog.int4 DEFAULT 10,
    page_offset pg_catalog.int4 DEFAULT 0)
RETURNS SETOF segext.segment_customer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    company segext.objectid := segext.segment_company_id(segment_id);
    order_by pg_catalog.text;
BEGIN
    order_by := (SELECT o.clause FROM (VALUES
        ('name', 'c.last_name %1$s, c.first_name %1$s'),
        ('firstname', 'c.first_name %1$s'), ('first_name', 'c.first_name %1$s'),
        ('lastname', 'c.last_name %1$s'), ('last_name', 'c.last_name %1$s'),
        ('email', 'c.email %1$s'), ('phone', 'c.phone %1$s'),
        ('since', 'm.since %1$s'), ('createdat', 'c.created_at %1$s'),
        ('created_at', 'c.created_at %1$s')) AS o(name, clause)
        WHERE o.name OPERATOR(pg_catalog.=) pg_catalog.lower(sort));
    IF order_by IS NULL THEN
        RAISE EXCEPTION 'unrecognized sort column "%"', sort USING ERRCODE = '22023',
            DETAIL = 'Members can be sorted by name, firstName, lastName, email, phone, since or createdAt.',
            HINT = 'Pass one of those names as sort.';
    END IF;
    IF NOT pg_catalog.upper(direction) OPERATOR(pg_catalog.=) ANY (ARRAY['ASC', 'DESC']) THEN
        RAISE EXCEPTION 'unrecognized sort direction "%"', direction USING ERRCODE = '22023',
            DETAIL = 'The direction of sorting is ASC or DESC.', HINT = 'Pass ASC or DESC as direction.';
    END IF;
    IF page_limit OPERATOR(pg_catalog.<) 0 OR page_offset OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'invalid page: limit % offset %', page_limit, page_offset USING ERRCODE = '22023',
            DETAIL = 'page_limit and page_offset cannot be negative.', HINT = 'Pass 0 or more.';
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT c.id, c.external_id, c.first_name, c.last_name, c.email, c.phone, c.active, m.since,
                pg_catalog.count(*) OVER ()
         FROM segext.memberships AS m
         JOIN segext.customers AS c ON c.company_id OPERATOR(pg_catalog.=) m.company_id AND c.id OPERATOR(pg_catalog.=) m.customer_id
         WHERE m.company_id OPERATOR(pg_catalog.=) $8 AND m.segment_id OPERATOR(pg_catalog.=) $1
           AND ($2 IS NULL OR c.first_name OPERATOR(pg_catalog.~~*) (''%%'' OPERATOR(pg_catalog.||) segext.like_escape($2) OPERATOR(pg_catalog.||) ''%%''))
           AND ($3 IS NULL OR c.last_name OPERATOR(pg_catalog.~~*) (''%%'' OPERATOR(pg_catalog.||) segext.like_escape($3) OPERATOR(pg_catalog.||) ''%%''))
           AND ($4 IS NULL OR c.phone OPERATOR(pg_catalog.~~*) (''%%'' OPERATOR(pg_catalog.||) segext.like_escape($4) OPERATOR(pg_catalog.||) ''%%''))
           AND ($5 IS NULL OR c.email OPERATOR(pg_catalog.~~*) (''%%'' OPERATOR(pg_catalog.||) segext.like_escape($5) OPERATOR(pg_catalog.||) ''%%''))
         ORDER BY ' OPERATOR(pg_catalog.||) order_by OPERATOR(pg_catalog.||) ', c.id
         LIMIT $6 OFFSET $7', pg_catalog.upper(direction))
    USING segment_id, first_name, last_name, phone, email, page_limit, page_offset, company;
END
$$ SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int4, pg_catalog.int4)
    IS 'members of a segment of the current company (Open Loyalty GET /api/segment/<segment>/customers): case-insensitive substring filters, sort (name, firstName, lastName, email, phone, since, createdAt), direction, limit/offset and the total count';

-- Privileges (82_customers_roles.sql).
REVOKE EXECUTE ON FUNCTION segext.memberships_guard() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.segment_company_id(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.segment_company_id(segext.objectid) TO segext_reader;
