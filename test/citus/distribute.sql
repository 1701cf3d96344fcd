-- test/citus/distribute.sql: segext distributed with Citus (test/citus/run.sh
-- has called segext.distribute() on the coordinator): every table colocated
-- with companies, a second call does nothing, and the paths that run
-- through the coordinator give the results of one node, the triggers
-- running on the shards; a single-company statement is routed to one shard
-- group.  Statements run one by one (autocommit), so that the deferred
-- checks run at each commit as they do for a client.
\ir ../helpers/task_count.sql
SET search_path = segext, public;
SELECT plan(46);

-- Distribution: companies by id, every other table by company_id, one
-- colocation group; no policy keeps a subquery; idempotent.
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_dist_partition AS d
           JOIN pg_catalog.pg_class AS c ON c.oid = d.logicalrelid
           WHERE c.relnamespace = 'segext'::regnamespace), 15, 'fifteen tables of segext are distributed');
SELECT is((SELECT count(DISTINCT d.colocationid)::int FROM pg_catalog.pg_dist_partition AS d
           JOIN pg_catalog.pg_class AS c ON c.oid = d.logicalrelid
           WHERE c.relnamespace = 'segext'::regnamespace AND d.partmethod = 'h'), 1,
          'the thirteen hash-distributed ones in one colocation group');
SELECT is((SELECT pg_catalog.string_agg(pg_catalog.column_to_column_name(d.logicalrelid, d.partkey), ',' ORDER BY d.logicalrelid::text)
           FROM pg_catalog.pg_dist_partition AS d WHERE d.logicalrelid IN ('segext.companies'::regclass, 'segext.customers'::regclass)),
          'id,company_id', 'companies by id, customers by company_id');
SELECT is((SELECT pg_catalog.array_agg(d.logicalrelid ORDER BY d.logicalrelid::text) FROM pg_catalog.pg_dist_partition AS d WHERE d.partmethod = 'n'),
          ARRAY['segext.cluster_secret'::regclass, 'segext.company_roles'::regclass], 'the secret and the grants are reference tables');
SELECT is((SELECT pg_catalog.length(s.secret) FROM segext.cluster_secret AS s), 32, 'distribute() made a secret of 32 bytes');
SELECT ok(NOT pg_catalog.has_table_privilege('segext_admin', 'segext.cluster_secret', 'SELECT'), 'which segext_admin cannot read');
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

-- Transactions through the coordinator: the customer state is kept by the
-- statement triggers on the shard (a sale, and a return of 40 of it).
INSERT INTO segext.transactions (company_id, id, customer_id, amount, pos_id) VALUES
    (:'a', '0000000000000000000000d1', '0000000000000000000000c1', 100, 'P1');
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES
    (:'a', '0000000000000000000000c1', -40, '0000000000000000000000d1');
SELECT (SELECT pg_catalog.string_agg(concat_ws(':', s.customer_id, s.transactions, s.sales, s.amount), ',')
        FROM segext.customer_states AS s WHERE s.company_id = :'a') AS v10 \gset
SELECT is(:'v10'::text, '0000000000000000000000c1:2:1:60000000'::text, 'a sale and its return make the customer state');
SELECT (SELECT t.returned_amount FROM segext.transactions AS t WHERE t.company_id = :'a' AND t.id = '0000000000000000000000d1') AS v11 \gset
SELECT is(:'v11'::numeric, 40.00, 'the sale knows its returned amount');

-- A new segment with criteria takes its members in the statement that
-- creates it; a customer changed afterwards is evaluated against the new
-- segment list (the compiled segments on the worker are invalidated).
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'a', 'Buyers', '[{"type": "transaction_count", "min": 1, "max": 10}]');
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'a', 'VIP', '[{"type": "customer_has_labels", "labels": [{"key": "vip"}]}]');
UPDATE segext.customers SET labels = '[{"key": "vip", "value": "yes"}]'
    WHERE company_id = :'a' AND id = '0000000000000000000000c2';
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || m.customer_id, ',' ORDER BY s.number, m.customer_id)
        FROM segext.memberships AS m JOIN segext.segments AS s ON s.company_id = m.company_id AND s.id = m.segment_id
        WHERE m.company_id = :'a' AND s.number > 0) AS v12 \gset
SELECT is(:'v12'::text, 'Buyers:0000000000000000000000c1,VIP:0000000000000000000000c2'::text,
          'members follow new segments and changed customers; Default is left');
SELECT (SELECT count(*) FROM segext.membership_history AS h WHERE h.company_id = :'a' AND h.kind = 'left') AS v13 \gset
SELECT is(:'v13'::int, 2, 'leaving Default is in the history');
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || segext.segment_customers_count(s.company_id, s.id), ',' ORDER BY s.number)
        FROM segext.segments AS s WHERE s.company_id = :'a') AS v14 \gset
SELECT is(:'v14'::text, 'All:2,Default:0,Buyers:1,VIP:1'::text, 'segment_customers_count of every segment');

-- segment_members evaluates a segment now, as on one node.
SELECT id AS vip FROM segext.segments WHERE company_id = :'a' AND name = 'VIP' \gset
SELECT (SELECT pg_catalog.string_agg(m.customer_id::text, ',') FROM segext.segment_members(:'vip') AS m) AS v7 \gset
SELECT is(:'v7'::text, '0000000000000000000000c2'::text, 'segment_members of VIP');

-- A change of a sale moves the state; a deleted customer takes its state
-- and members with it.
UPDATE segext.transactions SET amount = 50 WHERE company_id = :'a' AND id = '0000000000000000000000d1';
SELECT (SELECT s.amount FROM segext.customer_states AS s WHERE s.company_id = :'a') AS v15 \gset
SELECT is(:'v15'::bigint, 10000000::bigint, 'an updated sale changes the state');
DELETE FROM segext.customers WHERE company_id = :'a' AND id = '0000000000000000000000c1';
SELECT (SELECT count(*) FROM segext.customer_states AS s WHERE s.company_id = :'a') AS v16 \gset
SELECT is(:'v16'::int, 0, 'a deleted customer loses its state');
SELECT (SELECT pg_catalog.string_agg(m.customer_id::text, ',' ORDER BY m.customer_id) FROM segext.memberships AS m WHERE m.company_id = :'a') AS v17 \gset
SELECT is(:'v17'::text, '0000000000000000000000c2,0000000000000000000000c2'::text, 'and its members');

-- Channels: a new channel gets its default mix (checked at commit by the
-- deferred trigger on the shard); deleting a channel clears the channel of
-- its customers (ON DELETE SET NULL on one node).
INSERT INTO segext.channels (company_id, id, name) VALUES (:'a', '0000000000000000000000e1', 'Web'), (:'a', '0000000000000000000000e2', 'Shop');
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || m.distribution, ',') FROM segext.channel_segments AS m
        JOIN segext.segments AS s ON s.company_id = m.company_id AND s.id = m.segment_id
        WHERE m.company_id = :'a' AND m.channel_id = '0000000000000000000000e1') AS v18 \gset
SELECT is(:'v18'::text, 'Buyers:1'::text, 'a new channel has the default mix (its first segment after the built-ins)');
UPDATE segext.customers SET channel_id = '0000000000000000000000e1' WHERE company_id = :'a' AND id = '0000000000000000000000c2';
DELETE FROM segext.channels WHERE company_id = :'a' AND id = '0000000000000000000000e1';
SELECT (SELECT count(*) FROM segext.customers AS c WHERE c.company_id = :'a' AND c.channel_id IS NULL) AS v19 \gset
SELECT is(:'v19'::int, 1, 'deleting a channel clears the channel of its customers');

-- The functions of one company run on the node of its shard group: a
-- refresh repairs lost members and a wrong state and then finds nothing to
-- do; activation, manual members and the rebuild count as on one node.
SELECT segext.create_company('Gamma') AS g \gset
INSERT INTO segext.customers (company_id, id, external_id) VALUES
    (:'g', '0000000000000000000000f1', 'f1'), (:'g', '0000000000000000000000f2', 'f2');
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    (:'g', '0000000000000000000000f1', 10), (:'g', '0000000000000000000000f1', 20);
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'g', 'Two', '[{"type": "transaction_count", "min": 2, "max": 10}]');
INSERT INTO segext.segments (company_id, name) VALUES (:'g', 'Manual');
SELECT id AS two FROM segext.segments WHERE company_id = :'g' AND name = 'Two' \gset
SELECT id AS manual FROM segext.segments WHERE company_id = :'g' AND name = 'Manual' \gset
DELETE FROM segext.memberships WHERE company_id = :'g';
UPDATE segext.customer_states SET transactions = 99 WHERE company_id = :'g';
SELECT is(segext.refresh_company(:'g'), 4::bigint, 'refresh_company puts back the four members');
SELECT (SELECT concat_ws(':', s.transactions, s.sales, s.amount) FROM segext.customer_states AS s WHERE s.company_id = :'g') AS v20 \gset
SELECT is(:'v20'::text, '2:2:30000000'::text, 'and rebuilds the state from the transactions');
SELECT is(segext.refresh_company(:'g'), 0::bigint, 'a second refresh changes nothing');
SELECT is(segext.deactivate_segment(:'two'), 2::bigint, 'deactivate_segment: one member leaves, it enters Default');
SELECT is(segext.activate_segment(:'two'), 2::bigint, 'activate_segment: and back');
SELECT is(segext.refresh_segment(:'two'), 0::bigint, 'refresh_segment finds nothing to change');
SELECT is(segext.add_segment_members(:'manual', ARRAY['0000000000000000000000f2']::segext.objectid[]), 1::bigint,
          'add_segment_members adds a customer');
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || m.customer_id, ',' ORDER BY s.number, m.customer_id)
        FROM segext.memberships AS m JOIN segext.segments AS s ON s.company_id = m.company_id AND s.id = m.segment_id
        WHERE m.company_id = :'g' AND s.number > 0) AS v21 \gset
SELECT is(:'v21'::text, 'Two:0000000000000000000000f1,Manual:0000000000000000000000f2'::text,
          'the manual member leaves Default');
SELECT is(segext.remove_segment_members(:'manual', ARRAY['0000000000000000000000f2']::segext.objectid[]), 1::bigint,
          'remove_segment_members removes it');
SELECT is(segext.rebuild_customer_states(:'g'), 1::bigint, 'rebuild_customer_states writes one state row');
BEGIN;
SELECT is(segext.deactivate_segment(:'two'), 2::bigint, 'in a transaction block too');
ROLLBACK;
SELECT (SELECT count(*) FROM segext.memberships AS m WHERE m.company_id = :'g') AS v22 \gset
SELECT is(:'v22'::int, 4, 'which rolls back');

-- Readers through the segext_api views: the grants are read on every
-- node, so a reader granted one company reads it without a setting; a
-- reader granted several names one with SET LOCAL, which Citus sends to the
-- workers with citus.propagate_set_commands = 'local'.
SET client_min_messages = warning;
DROP ROLE IF EXISTS segext_citus_reader1, segext_citus_reader2;
RESET client_min_messages;
CREATE ROLE segext_citus_reader1 LOGIN IN ROLE segext_reader;
CREATE ROLE segext_citus_reader2 LOGIN IN ROLE segext_reader;
SELECT segext.grant_company(:'g', 'segext_citus_reader1') \g /dev/null
SELECT segext.grant_company(:'g', 'segext_citus_reader2') \g /dev/null
SELECT segext.grant_company(:'a', 'segext_citus_reader2') \g /dev/null
SET ROLE segext_citus_reader1;
SELECT (SELECT pg_catalog.string_agg(c.id::text, ',' ORDER BY c.id) FROM segext_api.customers AS c) AS v23 \gset
SELECT (SELECT pg_catalog.string_agg(s.name || ':' || s.customers_count, ',' ORDER BY s.name) FROM segext_api.segments AS s) AS v24 \gset
SELECT (SELECT count(*) FROM segext.customers) AS v25 \gset
RESET ROLE;
SELECT is(:'v23'::text, '0000000000000000000000f1,0000000000000000000000f2'::text, 'a reader of one company reads its customers');
SELECT is(:'v24'::text, 'All:2,Default:1,Manual:0,Two:1'::text, 'and its segments with their counts');
SELECT is(:'v25'::int, 2, 'and nothing of another company');
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL ROLE segext_citus_reader2;
SET LOCAL segext.company_id = :'g';
SELECT (SELECT pg_catalog.string_agg(c.id::text, ',' ORDER BY c.id) FROM segext_api.customers AS c) AS v26 \gset
COMMIT;
RESET citus.propagate_set_commands;
SELECT is(:'v26'::text, '0000000000000000000000f1,0000000000000000000000f2'::text,
          'a reader of two companies reads the one it names with SET LOCAL');
SELECT segext.revoke_company(:'g', 'segext_citus_reader1') \g /dev/null
SET ROLE segext_citus_reader1;
SELECT (SELECT count(*) FROM segext_api.customers AS c) AS v27 \gset
RESET ROLE;
SELECT is(:'v27'::int, 0, 'a revoked grant is gone on every node');

-- Statements for one company are routed to one shard group: one task.
SELECT is(pg_temp.task_count(format('SELECT * FROM segext.customers WHERE company_id = %L', :'a')), 1,
          'a single-company query has one task');
SELECT is(pg_temp.task_count(format(
    'SELECT m.customer_id FROM segext.memberships AS m JOIN segext.customers AS c ON c.company_id = m.company_id AND c.id = m.customer_id WHERE m.company_id = %L', :'a')),
    1, 'a join of colocated tables for one company has one task');

-- The views compare company_id with segext.current_company_id(): the
-- coordinator puts the current company into the statement, so that a call
-- of the API for one company runs on one shard group too.
SET segext.company_id = :'g';
SELECT is(pg_temp.task_count('SELECT * FROM segext_api.customers'), 1, 'segext_api.customers for one company: one task');
SELECT is(pg_temp.task_count('SELECT * FROM segext_api.transactions'), 1, 'segext_api.transactions: one task');
SELECT is(pg_temp.task_count('SELECT * FROM segext_api.channels'), 1, 'segext_api.channels: one task');
SELECT is(pg_temp.task_count('SELECT * FROM segext_api.report_membership_history'), 1, 'segext_api.report_membership_history: one task');
RESET segext.company_id;

SELECT * FROM finish();
