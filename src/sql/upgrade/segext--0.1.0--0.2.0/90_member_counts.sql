-- 0.2.0 upgrade part (mirrors 50_membership.sql, 70_api.sql,
-- 76_api_reports.sql, 35_rules.sql, 80_roles.sql and 82_customers_roles.sql):
-- member counts move off the segment rows into segext.segment_member_counts.
-- Sorts after every part that
-- redefines memberships_changed or enable_tenant_policies.

CREATE TABLE segext.segment_member_counts (
    company_id      segext.objectid NOT NULL,
    segment_id      segext.objectid NOT NULL,
    delta           pg_catalog.int8 NOT NULL
);
COMMENT ON TABLE segext.segment_member_counts IS 'changes of each segment''s member count (insert-only, written by segext): the count is the sum of a segment''s rows; compacted by segext.compact_member_counts';
COMMENT ON COLUMN segext.segment_member_counts.delta IS 'members gained (positive) or lost (negative) by one statement, or the folded sum of such rows';
CREATE INDEX segment_member_counts_segment_idx ON segext.segment_member_counts (company_id, segment_id);
COMMENT ON INDEX segext.segment_member_counts_segment_idx IS 'count rows of a segment';

-- The counts of 0.1.0 are the member rows; taken from them, they are exact
-- even if the 0.1.0 counts were not kept while the new library was loaded.
INSERT INTO segext.segment_member_counts (company_id, segment_id, delta)
SELECT s.company_id, s.id, pg_catalog.count(m.customer_id)
FROM segext.segments AS s
JOIN segext.memberships AS m ON m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
GROUP BY s.company_id, s.id;

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

CREATE OR REPLACE FUNCTION segext.memberships_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_memberships_changed' LANGUAGE C;
COMMENT ON FUNCTION segext.memberships_changed() IS 'trigger: appends the change of each touched segment''s member count to segment_member_counts, records history and notifies segext_membership with the range of history ids a statement wrote';
DROP FUNCTION segext.add_customers_count(segext.objectid, segext.objectid, pg_catalog.int8);

CREATE OR REPLACE VIEW segext_api.segments WITH (security_invoker = true) AS
    SELECT s.company_id, s.id, s.number, s.name, s.ref, s.description, s.active, s.position,
           s.group_id, s.org_id, s.criteria,
           (SELECT COALESCE(pg_catalog.sum(m.delta), 0)::pg_catalog.int8 FROM segext.segment_member_counts AS m
             WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
               AND m.company_id OPERATOR(pg_catalog.=) segext.current_company_id()) AS customers_count, s.created_at, s.updated_at
      FROM segext.segments s
     WHERE s.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
COMMENT ON COLUMN segext_api.segments.customers_count IS 'number of current members at the query''s snapshot (computed by segext; not writable)';
CREATE OR REPLACE VIEW segext_api.report_segment_sizes WITH (security_invoker = true) AS
    SELECT s.id AS segment_id, s.number AS segment_number, s.name AS segment_name,
           s.active, g.id AS group_id, g.name AS group_name,
           (SELECT COALESCE(pg_catalog.sum(m.delta), 0)::pg_catalog.int8 FROM segext.segment_member_counts AS m
             WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
               AND m.company_id OPERATOR(pg_catalog.=) segext.current_company_id()) AS customers_count,
           pg_catalog.now() AS measured_at
      FROM segext.segments s
      JOIN segext.segment_groups g
        ON g.company_id OPERATOR(pg_catalog.=) s.company_id AND g.id OPERATOR(pg_catalog.=) s.group_id
     WHERE s.company_id OPERATOR(pg_catalog.=) segext.current_company_id();
COMMENT ON COLUMN segext_api.report_segment_sizes.customers_count IS 'number of current members at the query''s snapshot';

ALTER TABLE segext.segments DROP COLUMN customers_count;

SELECT pg_catalog.pg_extension_config_dump('segext.segment_member_counts', '');
GRANT SELECT ON segext.segment_member_counts TO segext_reader;
REVOKE EXECUTE ON FUNCTION segext.compact_segment_member_counts(segext.objectid, segext.objectid),
    segext.compact_member_counts(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.compact_member_counts(segext.objectid) TO segext_admin;
SELECT segext.enable_tenant_policies('segext.segment_member_counts');
