-- 50: segment membership (src/membership.c): members kept true in the
-- statement that changes a customer, its transactions or a segment, with
-- their history and counts; evaluation now, refresh (repair), activation
-- and manual members.
--
-- segext.memberships holds the current members.  Every INSERT or DELETE on it
-- (refresh, activation, manual members, cascades from deleted customers) is
-- seen by two statement triggers that, in the same transaction: append the
-- change of each segment's member count to segext.segment_member_counts,
-- append to segext.membership_history, and
-- send one NOTIFY per statement on channel "segext_membership" with payload
-- {"first_id", "last_id"}: the smallest and largest id of the history rows
-- the statement wrote.  Any role may LISTEN, so the payload carries nothing
-- of a company; a listener reads the rows (segext_api.report_membership_history
-- WHERE id BETWEEN first_id AND last_id) through row level security, which
-- shows it its own company's rows only.

-- A segment is looked up by its id (segment_members, refresh_segment,
-- activation, manual members) among the current company's segments, or, for
-- an admin with no current company, among every company's (ids are unique
-- per company only: an id two companies use is refused as ambiguous).  Every
-- key leads with company_id, so without this index a caller to whom every
-- company is visible reads every segment.
CREATE INDEX segments_id_idx ON segext.segments (id);
COMMENT ON INDEX segext.segments_id_idx IS 'a segment by its id alone (membership functions)';

-- The membership tables hold no foreign keys to segments and customers:
-- the statement triggers of those tables delete the rows of deleted
-- segments and customers, under the company's state lock, so that a writer
-- of members never waits for a segment or customer row that a statement
-- holding (or waiting for) the state lock has locked (src/membership.c, the
-- lock order).
CREATE TABLE segext.memberships (
    company_id      segext.objectid NOT NULL,
    segment_id      segext.objectid NOT NULL,
    customer_id     segext.objectid NOT NULL,
    since           pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, segment_id, customer_id)
);
COMMENT ON TABLE segext.memberships IS 'current members of each active segment, changed by segext in the statement that changes a customer, its transactions or a segment';
CREATE INDEX memberships_customer_idx ON segext.memberships (company_id, customer_id) INCLUDE (segment_id);
COMMENT ON INDEX segext.memberships_customer_idx IS 'segments of a customer (read from the index alone where the heap pages are all-visible)';

CREATE TABLE segext.membership_history (
    company_id      segext.objectid NOT NULL,
    id              pg_catalog.int8 GENERATED ALWAYS AS IDENTITY,
    segment_id      segext.objectid NOT NULL,
    customer_id     segext.objectid NOT NULL,
    kind            pg_catalog.text NOT NULL CHECK (kind IN ('entered', 'left')),
    at              pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, id)
);
COMMENT ON TABLE segext.membership_history IS 'every time a customer entered or left a segment';
CREATE INDEX membership_history_segment_idx ON segext.membership_history (company_id, segment_id, at);
COMMENT ON INDEX segext.membership_history_segment_idx IS 'history of a segment in time order';

-- Member counts are kept off the segment rows, in rows built for many
-- concurrent writers: each statement that changes members appends one row
-- per segment it touched with the change of its count (insert-only, so
-- writers entering one segment never wait for each other, and the segment
-- row and every backend's segment cache stay untouched).  A count is the
-- sum of its segment's rows at the reader's snapshot, exact at every
-- isolation level.  Compaction folds a segment's rows into one: it deletes
-- the rows it can lock at once (FOR UPDATE SKIP LOCKED, so it never waits
-- for and never double-counts what another compaction folds) and inserts
-- their sum, in one transaction; rows of transactions still in progress are
-- invisible to it and stay.  The membership trigger compacts a segment when
-- it holds more than 64 rows; segext.compact_member_counts does it for a
-- company or all, for a schedule.  A writer of members at REPEATABLE READ or
-- SERIALIZABLE that finds, once it holds the segment locks, a count row its
-- snapshot cannot see fails with 40001, as for a changed segment.
CREATE TABLE segext.segment_member_counts (
    company_id      segext.objectid NOT NULL,
    segment_id      segext.objectid NOT NULL,
    delta           pg_catalog.int8 NOT NULL
);
COMMENT ON TABLE segext.segment_member_counts IS 'changes of each segment''s member count (insert-only, written by segext): the count is the sum of a segment''s rows; compacted by segext.compact_member_counts';
COMMENT ON COLUMN segext.segment_member_counts.delta IS 'members gained (positive) or lost (negative) by one statement, or the folded sum of such rows';
CREATE INDEX segment_member_counts_segment_idx ON segext.segment_member_counts (company_id, segment_id);
COMMENT ON INDEX segext.segment_member_counts_segment_idx IS 'count rows of a segment';

-- PL/pgSQL, not SQL: Citus plans the query of a SQL function without the
-- values of its parameters, and fails ("could not create distributed plan")
-- when the function is called on the coordinator.
CREATE FUNCTION segext.segment_customers_count(company_id segext.objectid, segment_id segext.objectid)
    RETURNS pg_catalog.int8 LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    total pg_catalog.int8;
BEGIN
    SELECT COALESCE(pg_catalog.sum(m.delta), 0)::pg_catalog.int8 INTO total
      FROM segext.segment_member_counts AS m
     WHERE m.company_id OPERATOR(pg_catalog.=) segment_customers_count.company_id
       AND m.segment_id OPERATOR(pg_catalog.=) segment_customers_count.segment_id;
    RETURN total;
END
$$;
COMMENT ON FUNCTION segext.segment_customers_count(segext.objectid, segext.objectid) IS 'number of members of a segment at the caller''s snapshot (the sum of its rows of segext.segment_member_counts)';

-- compact_segment_member_counts folds the count rows of one segment that no
-- other compaction holds into one new row (also when they sum to 0, so that
-- a change committed after a REPEATABLE READ snapshot always shows as a row
-- that snapshot cannot see: src/membership.c, lock_segments).
CREATE FUNCTION segext.compact_segment_member_counts(company segext.objectid, segment segext.objectid)
    RETURNS pg_catalog.int8 LANGUAGE sql VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH folded AS (
        DELETE FROM segext.segment_member_counts AS m
        WHERE m.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(
            SELECT l.ctid FROM segext.segment_member_counts AS l
            WHERE l.company_id OPERATOR(pg_catalog.=) company AND l.segment_id OPERATOR(pg_catalog.=) segment
            FOR UPDATE SKIP LOCKED))
        RETURNING m.delta),
    summed AS (
        SELECT pg_catalog.count(*) AS n, COALESCE(pg_catalog.sum(f.delta), 0)::pg_catalog.int8 AS total FROM folded AS f),
    kept AS (
        INSERT INTO segext.segment_member_counts (company_id, segment_id, delta)
        SELECT company, segment, s.total FROM summed AS s
        WHERE s.n OPERATOR(pg_catalog.>) 0)
    SELECT s.n FROM summed AS s;
END;
COMMENT ON FUNCTION segext.compact_segment_member_counts(segext.objectid, segext.objectid) IS 'internal: folds the member count rows of one segment into one; returns how many rows it read';

CREATE FUNCTION segext.compact_member_counts(company segext.objectid DEFAULT NULL) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r record;
    folded pg_catalog.int8 := 0;
BEGIN
    FOR r IN
        SELECT m.company_id, m.segment_id FROM segext.segment_member_counts AS m
        WHERE m.company_id OPERATOR(pg_catalog.=) COALESCE(company, segext.current_company_id(), m.company_id)
        GROUP BY m.company_id, m.segment_id HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1
    LOOP
        -- through the company's row, so that Citus runs it on the company's
        -- shard group (a SQL function with parameters cannot be planned
        -- through the coordinator)
        folded := folded OPERATOR(pg_catalog.+) COALESCE((
            SELECT segext.compact_segment_member_counts(r.company_id, r.segment_id)
              FROM segext.companies AS c WHERE c.id OPERATOR(pg_catalog.=) r.company_id), 0);
    END LOOP;
    RETURN folded;
END
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.compact_member_counts(segext.objectid) IS 'folds the member count rows of each segment of a company (NULL: the current company, or every company when none is current) into one, without waiting for writers or another compaction (for a schedule, e.g. pg_cron every few minutes); returns how many rows it folded';

CREATE FUNCTION segext.memberships_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_memberships_changed' LANGUAGE C;
COMMENT ON FUNCTION segext.memberships_changed() IS 'trigger: appends the change of each touched segment''s member count to segment_member_counts, records history and notifies segext_membership with the range of history ids a statement wrote';
CREATE TRIGGER memberships_entered AFTER INSERT ON segext.memberships
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segext.memberships_changed();
COMMENT ON TRIGGER memberships_entered ON segext.memberships IS 'count, history and NOTIFY of new members';
CREATE TRIGGER memberships_left AFTER DELETE ON segext.memberships
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segext.memberships_changed();
COMMENT ON TRIGGER memberships_left ON segext.memberships IS 'count, history and NOTIFY of members that left';

-- Only segext writes members: it computes those of segments with criteria
-- and of the built-ins, and writes those of manual segments through
-- add_segment_members and remove_segment_members, as the table's owner, once
-- it has checked the caller's company, the segment and the customers.  A
-- direct write by anyone else is refused with a hint naming the functions.
CREATE FUNCTION segext.memberships_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_memberships_guard' LANGUAGE C;
COMMENT ON FUNCTION segext.memberships_guard() IS 'trigger: refuses (42501) a write of segext.memberships by anyone but segext (the table owner) or a superuser';
CREATE TRIGGER memberships_guard BEFORE INSERT OR UPDATE OR DELETE ON segext.memberships
    FOR EACH STATEMENT EXECUTE FUNCTION segext.memberships_guard();
COMMENT ON TRIGGER memberships_guard ON segext.memberships IS 'only segext writes members; users call add_segment_members, remove_segment_members or a refresh';

CREATE FUNCTION segext.segment_members(segment_id segext.objectid)
    RETURNS TABLE (segment_id segext.objectid, customer_id segext.objectid)
    AS 'MODULE_PATHNAME', 'segext_segment_members' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 10000;
COMMENT ON FUNCTION segext.segment_members(segext.objectid) IS 'evaluates a segment now from the customer states, without writing: (segment, customer) for the customers that match its criteria (0: active customers, 1: active customers in no other active segment, manual: its active explicit members)';

CREATE FUNCTION segext.preview_criteria(criteria segext.criteria, sample pg_catalog.int4 DEFAULT 10,
        OUT member_count pg_catalog.int8, OUT sample_ids segext.objectid[])
    AS 'MODULE_PATHNAME', 'segext_preview_criteria' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.preview_criteria(segext.criteria, pg_catalog.int4) IS 'evaluates criteria that are not saved, as segment_members evaluates a saved segment, for the current company''s active customers, without writing: the exact member count and the sample (0 to 1000, default 10) smallest member ids';

CREATE FUNCTION segext.explain_membership(segment_id segext.objectid, customer_id segext.objectid)
    RETURNS TABLE (ordinal pg_catalog.int4, path pg_catalog.text, depth pg_catalog.int4, node pg_catalog.text,
                   value pg_catalog.text, requirement pg_catalog.text, matched pg_catalog.bool,
                   explanation pg_catalog.text)
    AS 'MODULE_PATHNAME', 'segext_explain_membership' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION segext.explain_membership(segext.objectid, segext.objectid) IS 'why a customer is or is not a member of a segment of the current company, evaluated now as segment_members evaluates it: one row per node of the criteria in tree order (path "1", "1.2"..., the node, the customer''s value that decided it, what it needs, whether it matched), then a last row with path "segment" whose matched is the membership; Default is explained through the other active segments, a manual segment through its explicit members';

CREATE FUNCTION segext.segment_company_id(segment_id segext.objectid) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_segment_company_id' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.segment_company_id(segext.objectid) IS 'company of the segment with this id among the current company''s segments (for an admin with no current company, among every company''s, when only one has it); raises 22023 when the id is unknown or ambiguous';

CREATE FUNCTION segext.refresh_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_refresh_segment' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.refresh_segment(segext.objectid) IS 'evaluates one segment of the current company (an inactive one loses its members) and the built-ins 0 and 1 for every customer from the customer states; returns the number of changes';

CREATE FUNCTION segext.refresh_company(company_id segext.objectid DEFAULT segext.current_company_id()) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_refresh_company' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.refresh_company(segext.objectid) IS 'rebuilds a company''s customer states from its transactions and evaluates every active segment for every customer (inactive segments lose their members): the repair path; returns the number of changes';

CREATE FUNCTION segext.lock_segments(company_id segext.objectid) RETURNS void
    AS 'MODULE_PATHNAME', 'segext_lock_segments' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.lock_segments(segext.objectid) IS 'locks every segment of a company FOR NO KEY UPDATE in segext''s lock order (segment 0 first, then by id), as the membership functions do before they change a segment or its members';

CREATE FUNCTION segext.activate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_activate_segment' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.activate_segment(segext.objectid) IS 'activates a segment of the current company and computes its members at once; returns the number of membership changes';

CREATE FUNCTION segext.deactivate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_deactivate_segment' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.deactivate_segment(segext.objectid) IS 'deactivates a segment of the current company and removes all its members at once (they may enter Default); returns the number of membership changes';

CREATE FUNCTION segext.add_segment_members(segment_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_add_segment_members' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.add_segment_members(segext.objectid, segext.objectid[]) IS 'adds active customers to a manual segment of the current company (inactive ones are skipped); returns how many were added';

CREATE FUNCTION segext.remove_segment_members(segment_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_remove_segment_members' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.remove_segment_members(segext.objectid, segext.objectid[]) IS 'removes customers from a manual segment of the current company; returns how many were removed';

CREATE TYPE segext.segment_customer AS (
    customer_id segext.objectid, external_id pg_catalog.text, first_name pg_catalog.text,
    last_name pg_catalog.text, email pg_catalog.text, phone pg_catalog.text,
    active pg_catalog.bool, since pg_catalog.timestamptz, total_count pg_catalog.int8);
COMMENT ON TYPE segext.segment_customer IS 'a member of a segment as listed by segext.segment_customers, with the total count of matching members';

CREATE FUNCTION segext.segment_customers(
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

CREATE FUNCTION segext.like_escape(pattern pg_catalog.text) RETURNS pg_catalog.text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pattern, '\', '\\'), '%', '\%'), '_', '\_');
COMMENT ON FUNCTION segext.like_escape(pg_catalog.text) IS 'escapes \, % and _ so a text is matched literally by LIKE';

CREATE FUNCTION segext.reevaluate_customers(company_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_reevaluate_customers_sql' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.reevaluate_customers(segext.objectid, segext.objectid[]) IS 'evaluates the listed customers of a company against every active segment from their customer states and writes the differences (what the triggers do; for schedules of time-relative criteria and repairs); returns the number of changes';

-- The triggers that keep members fresh.  The state trigger of transactions
-- (45) re-evaluates the customers whose state it changed; these do it for
-- customers inserted or updated, and for the whole company when a
-- segment's criteria or active flag change; they delete the members of
-- deleted customers, and the members, counts and history of deleted
-- segments.
CREATE FUNCTION segext.customers_membership() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_customers_membership' LANGUAGE C;
COMMENT ON FUNCTION segext.customers_membership() IS 'trigger: re-evaluates the members of the customers a statement inserted or updated, removes those of deleted customers';
CREATE TRIGGER customers_membership_insert AFTER INSERT ON segext.customers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.customers_membership();
COMMENT ON TRIGGER customers_membership_insert ON segext.customers IS 'new customers enter their segments';
CREATE TRIGGER customers_membership_update AFTER UPDATE ON segext.customers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.customers_membership();
COMMENT ON TRIGGER customers_membership_update ON segext.customers IS 'changed customers enter and leave segments';
CREATE TRIGGER customers_membership_delete AFTER DELETE ON segext.customers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.customers_membership();
COMMENT ON TRIGGER customers_membership_delete ON segext.customers IS 'deleted customers leave their segments';

CREATE FUNCTION segext.segments_membership() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_segments_membership' LANGUAGE C;
COMMENT ON FUNCTION segext.segments_membership() IS 'trigger: re-evaluates, for every customer, the segments whose criteria or active flag a statement changed, and Default; deletes the rows of deleted segments';
CREATE TRIGGER segments_membership_insert AFTER INSERT ON segext.segments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.segments_membership();
COMMENT ON TRIGGER segments_membership_insert ON segext.segments IS 'a new active segment gets its members';
CREATE TRIGGER segments_membership_update AFTER UPDATE ON segext.segments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.segments_membership();
COMMENT ON TRIGGER segments_membership_update ON segext.segments IS 'a segment whose criteria or active flag changed gets its members anew';
CREATE TRIGGER segments_membership_delete AFTER DELETE ON segext.segments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.segments_membership();
COMMENT ON TRIGGER segments_membership_delete ON segext.segments IS 'a deleted segment''s members, counts and history go; its members may enter Default';

SELECT pg_catalog.pg_extension_config_dump('segext.memberships', '');
SELECT pg_catalog.pg_extension_config_dump('segext.membership_history', '');
SELECT pg_catalog.pg_extension_config_dump('segext.segment_member_counts', '');
COMMENT ON SEQUENCE segext.membership_history_id_seq IS 'ids of membership history rows';
SELECT pg_catalog.pg_extension_config_dump('segext.membership_history_id_seq', '');
