-- test/citus/distribute.sql: segext distributed with Citus (test/citus/run.sh
-- has called segext.distribute() on the coordinator): every table colocated
-- with companies, a second call does nothing, and the paths that run
-- through the coordinator give the results of one node; a single-company
-- statement is routed to one shard group.
-- (made before the transaction: Citus refuses a function command after a
-- parallel operation in it)
CREATE FUNCTION pg_temp.task_count(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        IF line ~ 'Task Count: ' THEN
            RETURN substring(line FROM 'Task Count: (\d+)')::int;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
BEGIN;
SET search_path = segext, public;
SELECT plan(12);

-- Distribution: companies by id, every other table by company_id, one
-- colocation group; no policy keeps a subquery; idempotent.
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_dist_partition AS d
           JOIN pg_catalog.pg_class AS c ON c.oid = d.logicalrelid
           WHERE c.relnamespace = 'segext'::regnamespace), 12, 'twelve tables of segext are distributed');
SELECT is((SELECT count(DISTINCT d.colocationid)::int FROM pg_catalog.pg_dist_partition AS d
           JOIN pg_catalog.pg_class AS c ON c.oid = d.logicalrelid
           WHERE c.relnamespace = 'segext'::regnamespace), 1, 'all of them in one colocation group');
SELECT is((SELECT pg_catalog.string_agg(pg_catalog.column_to_column_name(d.logicalrelid, d.partkey), ',' ORDER BY d.logicalrelid::text)
           FROM pg_catalog.pg_dist_partition AS d WHERE d.logicalrelid IN ('segext.companies'::regclass, 'segext.customers'::regclass)),
          'id,company_id', 'companies by id, customers by company_id');
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_policy AS p
           WHERE pg_catalog.pg_get_expr(p.polqual, p.polrelid) ~ 'SELECT'
              OR pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) ~ 'SELECT'), 0, 'no policy keeps a subquery');
SELECT is(segext.distribute(), 0, 'a second call distributes nothing');

-- A company and its customers through the coordinator: the built-in
-- segments, members of All and Default kept by the triggers on the shards,
-- with their history and counts.
SELECT segext.create_company('Acme') AS a \gset
SELECT (SELECT pg_catalog.string_agg(s.name, ',' ORDER BY s.number) FROM segext.segments AS s WHERE s.company_id = :'a') AS v1 \gset
SELECT is(:'v1'::text, 'All,Default'::text, 'create_company makes the built-in segments');
INSERT INTO segext.customers (company_id, id, external_id, first_name) VALUES
    (:'a', '0000000000000000000000c1', 'x1', 'Ann'), (:'a', '0000000000000000000000c2', 'x2', 'Bob');
SELECT (SELECT pg_catalog.string_agg(s.number || ':' || m.customer_id, ',' ORDER BY s.number, m.customer_id)
           FROM segext.memberships AS m JOIN segext.segments AS s ON s.company_id = m.company_id AND s.id = m.segment_id
           WHERE m.company_id = :'a') AS v2 \gset
SELECT is(:'v2'::text, '0:0000000000000000000000c1,0:0000000000000000000000c2,1:0000000000000000000000c1,1:0000000000000000000000c2'::text, 'new customers are members of All and Default');
SELECT (SELECT count(*)::int FROM segext.membership_history AS h WHERE h.company_id = :'a' AND h.kind = 'entered') AS v3 \gset
SELECT is(:'v3'::int, 4, 'their entries are in the history');
SELECT (SELECT pg_catalog.string_agg(k.number || ':' || k.n, ',' ORDER BY k.number)
           FROM (SELECT s.number, sum(m.delta) AS n FROM segext.segment_member_counts AS m
                 JOIN segext.segments AS s ON s.company_id = m.company_id AND s.id = m.segment_id
                 WHERE m.company_id = :'a' GROUP BY s.number) AS k) AS v4 \gset
SELECT is(:'v4'::text, '0:2,1:2'::text, 'member counts follow');

-- A segment with criteria: segment_members evaluates it now, as on one node.
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'a', 'VIP', '[{"type": "customer_has_labels", "labels": [{"key": "vip"}]}]');
UPDATE segext.customers SET labels = '[{"key": "vip", "value": "yes"}]'
    WHERE company_id = :'a' AND id = '0000000000000000000000c2';
SELECT id AS vip FROM segext.segments WHERE company_id = :'a' AND name = 'VIP' \gset
SELECT (SELECT pg_catalog.string_agg(m.customer_id::text, ',') FROM segext.segment_members(:'vip') AS m) AS v7 \gset
SELECT is(:'v7'::text, '0000000000000000000000c2'::text, 'segment_members of VIP');

-- Statements for one company are routed to one shard group: one task.
SELECT is(pg_temp.task_count(format('SELECT * FROM segext.customers WHERE company_id = %L', :'a')), 1,
          'a single-company query has one task');
SELECT is(pg_temp.task_count(format(
    'SELECT m.customer_id FROM segext.memberships AS m JOIN segext.customers AS c ON c.company_id = m.company_id AND c.id = m.customer_id WHERE m.company_id = %L', :'a')),
    1, 'a join of colocated tables for one company has one task');

SELECT * FROM finish();
ROLLBACK;
