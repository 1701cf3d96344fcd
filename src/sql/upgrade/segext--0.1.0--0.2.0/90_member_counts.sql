-- 0.2.0 upgrade part (mirrors 50_membership.sql, 70_api.sql, 35_rules.sql,
-- 80_roles.sql and 85_customers_rls.sql): member counts move off the segment
-- rows into segext.segment_member_counts.  Sorts after every part that
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
JOIN segext.memberships AS m ON m.company_id OPERATOR(segext.=) s.company_id AND m.segment_id OPERATOR(segext.=) s.id
GROUP BY s.company_id, s.id;

CREATE FUNCTION segext.segment_customers_count(company_id segext.objectid, segment_id segext.objectid)
    RETURNS pg_catalog.int8 LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN (SELECT COALESCE(pg_catalog.sum(m.delta), 0)::pg_catalog.int8
            FROM segext.segment_member_counts AS m
            WHERE m.company_id OPERATOR(segext.=) segment_customers_count.company_id
              AND m.segment_id OPERATOR(segext.=) segment_customers_count.segment_id);
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
            WHERE l.company_id OPERATOR(segext.=) company AND l.segment_id OPERATOR(segext.=) segment
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
        WHERE m.company_id OPERATOR(segext.=) COALESCE(company, segext.current_company_id(), m.company_id)
        GROUP BY m.company_id, m.segment_id HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1
    LOOP
        folded := folded OPERATOR(pg_catalog.+) segext.compact_segment_member_counts(r.company_id, r.segment_id);
    END LOOP;
    RETURN folded;
END
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.compact_member_counts(segext.objectid) IS 'folds the member count rows of each segment of a company (NULL: the current company, or every company when none is current) into one, without waiting for writers or another compaction (for a schedule, e.g. pg_cron every few minutes); returns how many rows it folded';

CREATE OR REPLACE FUNCTION segext.memberships_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
    first_id pg_catalog.int8;
    last_id pg_catalog.int8;
    kind pg_catalog.text := CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN 'entered' ELSE 'left' END;
    sign pg_catalog.int8 := CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    WITH written AS (
        INSERT INTO segext.membership_history (company_id, segment_id, customer_id, kind)
        SELECT c.company_id, c.segment_id, c.customer_id, kind
        FROM changed AS c
        WHERE EXISTS (SELECT FROM segext.segments AS s
                      WHERE s.company_id OPERATOR(segext.=) c.company_id AND s.id OPERATOR(segext.=) c.segment_id)
        RETURNING id)
    SELECT pg_catalog.min(w.id), pg_catalog.max(w.id) INTO first_id, last_id FROM written AS w;
    -- One count row per segment the statement touched (none for a segment
    -- being deleted: its count rows go with it); a segment holding more
    -- than 64 rows is compacted, at READ COMMITTED only (where a compaction
    -- never fails for rows another one folded after the snapshot).
    FOR r IN
        WITH counted AS (
            INSERT INTO segext.segment_member_counts (company_id, segment_id, delta)
            SELECT c.company_id, c.segment_id, sign OPERATOR(pg_catalog.*) pg_catalog.count(*)
            FROM changed AS c
            WHERE EXISTS (SELECT FROM segext.segments AS s
                          WHERE s.company_id OPERATOR(segext.=) c.company_id AND s.id OPERATOR(segext.=) c.segment_id)
            GROUP BY c.company_id, c.segment_id
            RETURNING company_id, segment_id)
        SELECT k.company_id, k.segment_id FROM counted AS k
        WHERE pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.=) 'read committed'
          AND (SELECT pg_catalog.count(*) FROM (
                   SELECT FROM segext.segment_member_counts AS m
                   WHERE m.company_id OPERATOR(segext.=) k.company_id AND m.segment_id OPERATOR(segext.=) k.segment_id
                   LIMIT 65) AS l) OPERATOR(pg_catalog.>) 64
    LOOP
        PERFORM segext.compact_segment_member_counts(r.company_id, r.segment_id);
    END LOOP;
    -- Listeners may be anyone: the payload names no company, segment or
    -- customer, only the history rows to read through row level security.
    -- segext.notify_membership = off (set by a superuser, e.g. per database)
    -- sends none: a transaction that notifies takes PostgreSQL's notification
    -- queue lock at commit, so such commits run one at a time.
    -- Nor from a Citus shard (memberships_<shard id>, on a worker): it would
    -- never reach a listener on the coordinator, and Citus commits a write
    -- to several nodes with two-phase commit, which refuses NOTIFY.
    IF first_id IS NOT NULL AND COALESCE(pg_catalog.current_setting('segext.notify_membership', true), 'on')
                                OPERATOR(pg_catalog.=) 'on'
       AND TG_TABLE_NAME OPERATOR(pg_catalog.=) 'memberships' THEN
        PERFORM pg_catalog.pg_notify('segext_membership', pg_catalog.json_build_object(
            'first_id', first_id, 'last_id', last_id)::pg_catalog.text);
    END IF;
    RETURN NULL;
END
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.memberships_changed() IS 'trigger: appends the change of each touched segment''s member count to segment_member_counts, records history and notifies segext_membership with the range of history ids a statement wrote';
DROP FUNCTION segext.add_customers_count(segext.objectid, segext.objectid, pg_catalog.int8);

CREATE OR REPLACE VIEW segext_api.segments WITH (security_invoker = true) AS
    SELECT s.company_id, s.id, s.number, s.name, s.ref, s.description, s.active, s.position,
           s.group_id, s.org_id, s.criteria,
           (SELECT COALESCE(pg_catalog.sum(m.delta), 0)::pg_catalog.int8 FROM segext.segment_member_counts AS m
             WHERE m.company_id OPERATOR(segext.=) s.company_id AND m.segment_id OPERATOR(segext.=) s.id) AS customers_count, s.created_at, s.updated_at
      FROM segext.segments s
     WHERE s.company_id OPERATOR(segext.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
COMMENT ON COLUMN segext_api.segments.customers_count IS 'number of current members at the query''s snapshot (computed by segext; not writable)';
CREATE OR REPLACE VIEW segext_api.report_segment_sizes WITH (security_invoker = true) AS
    SELECT s.id AS segment_id, s.number AS segment_number, s.name AS segment_name,
           s.active, g.id AS group_id, g.name AS group_name,
           (SELECT COALESCE(pg_catalog.sum(m.delta), 0)::pg_catalog.int8 FROM segext.segment_member_counts AS m
             WHERE m.company_id OPERATOR(segext.=) s.company_id AND m.segment_id OPERATOR(segext.=) s.id) AS customers_count,
           pg_catalog.now() AS measured_at
      FROM segext.segments s
      JOIN segext.segment_groups g
        ON g.company_id OPERATOR(segext.=) s.company_id AND g.id OPERATOR(pg_catalog.=) s.group_id
     WHERE s.company_id OPERATOR(segext.=) segext.current_company_id();
COMMENT ON COLUMN segext_api.report_segment_sizes.customers_count IS 'number of current members at the query''s snapshot';

ALTER TABLE segext.segments DROP COLUMN customers_count;

SELECT pg_catalog.pg_extension_config_dump('segext.segment_member_counts', '');
GRANT SELECT ON segext.segment_member_counts TO segext_reader;
REVOKE EXECUTE ON FUNCTION segext.compact_segment_member_counts(segext.objectid, segext.objectid),
    segext.compact_member_counts(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.compact_member_counts(segext.objectid) TO segext_admin;
SELECT segext.enable_tenant_policies('segext.segment_member_counts');
