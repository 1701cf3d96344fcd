-- 90: scale out on Citus.  segext.distribute(), run once on the coordinator
-- after CREATE EXTENSION citus and segext on every node, distributes
-- segext.companies by id and every company table by company_id, colocated
-- with companies, so that every row of a company lives in one shard group
-- and a statement for one company is routed to one node; the grants
-- (company_roles), read by the tenancy checks on every node, and the
-- secret that signs the company the coordinator hands to the workers
-- (cluster_secret) become reference tables.  src/citus.c makes segext's triggers and functions work
-- on the shards.
--
-- Citus refuses row level security policies with subqueries on distributed
-- tables: the policies of the distributed tables call the tenancy functions
-- directly instead of through an InitPlan (the same rows, the functions are
-- evaluated per row).  Statement and row triggers are kept: Citus runs them
-- on the shards (citus.enable_unsafe_triggers, set for the distribution
-- only).  Only superusers and members of segext_admin may call it.

-- Citus refuses ON DELETE SET NULL on a foreign key that holds the
-- distribution column: distribute() replaces the SET NULL (channel_id) of
-- customers -> channels by this trigger on channels, which clears the
-- channel of its customers before the channel row goes (the key, now
-- NO ACTION, is then satisfied).
CREATE FUNCTION segext.channels_unset_customers() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE segext.customers AS c SET channel_id = NULL
     WHERE c.company_id OPERATOR(pg_catalog.=) OLD.company_id
       AND c.channel_id OPERATOR(pg_catalog.=) OLD.id;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION segext.channels_unset_customers() IS 'trigger on a distributed segext.channels: sets channel_id of the customers of a deleted channel to NULL (what ON DELETE SET NULL does on one node)';
REVOKE EXECUTE ON FUNCTION segext.channels_unset_customers() FROM PUBLIC;

-- The cluster's secret, with which a Citus coordinator signs the current
-- company it hands to the workers of a distributed transaction
-- (src/company_token.c).  distribute() writes it and makes the table a
-- reference table, so that every node has it; only the extension's owner
-- reads it.
CREATE TABLE segext.cluster_secret (
    id pg_catalog.bool PRIMARY KEY DEFAULT true CHECK (id),
    secret pg_catalog.bytea NOT NULL CHECK (pg_catalog.length(secret) OPERATOR(pg_catalog.>=) 32)
);
REVOKE ALL ON segext.cluster_secret FROM PUBLIC;
-- no policy: nobody but the owner reads a row
ALTER TABLE segext.cluster_secret ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE segext.cluster_secret IS 'the secret key with which the Citus coordinator signs the current company it hands to the workers (one row, written by segext.distribute(); readable by the extension owner only)';
SELECT pg_catalog.pg_extension_config_dump('segext.cluster_secret', '');

-- The outbox of the membership notifications of statements on shards
-- (src/member_changes.c): on Citus the trigger of segext.memberships runs on
-- a worker, where a NOTIFY would not reach a listener on the coordinator; it
-- writes the range of history ids here instead, the node that started the
-- statement reads the rows of its distributed transaction and sends the
-- NOTIFY, and the worker deletes them before it commits, so no row is ever
-- committed. Distributed by company_id with the other tables; unused on one
-- node. A role reads only the rows of its own transaction; the ranges are
-- what any listener receives.
CREATE TABLE segext.membership_notices (
    company_id      segext.objectid NOT NULL,
    first_id        pg_catalog.int8 NOT NULL,
    last_id         pg_catalog.int8 NOT NULL
);
COMMENT ON TABLE segext.membership_notices IS 'outbox of the NOTIFY segext_membership of statements on Citus shards: the ranges of history ids a transaction wrote, read by the node that started it and deleted before commit (empty outside a transaction)';
REVOKE ALL ON segext.membership_notices FROM PUBLIC;
GRANT SELECT ON segext.membership_notices TO PUBLIC;
ALTER TABLE segext.membership_notices ENABLE ROW LEVEL SECURITY;
-- a row is never committed: a transaction reads only the rows it wrote
CREATE POLICY membership_notices_read ON segext.membership_notices FOR SELECT USING (true);
COMMENT ON POLICY membership_notices_read ON segext.membership_notices IS 'every role reads the outbox: it sees only the uncommitted rows of its own transaction';
SELECT pg_catalog.pg_extension_config_dump('segext.membership_notices', '');

-- What a write of segext's distributed tables started on the coordinator
-- wraps the company of its rows in (src/citus.c), so that the coordinator
-- learns which companies the statement writes when Citus evaluates it
-- before routing, and reads the outbox of those companies' shard groups
-- only.  It returns its argument; nothing else uses it.
CREATE FUNCTION segext.written_company(company segext.objectid) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_written_company' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.written_company(segext.objectid) IS 'returns its argument, a company a statement started on a Citus coordinator writes, after noting it for the statement''s read of the membership outbox (added to such statements by segext; of no use to call)';

-- What an INSERT through a segext_api view started on the coordinator wraps
-- the company of its rows in (src/citus.c): Citus does not evaluate the
-- view's CHECK OPTION (company_id = segext.current_company_id()), so the
-- coordinator checks each row's company as one node does, before Citus
-- routes the row.  It returns its argument.
CREATE FUNCTION segext.view_checked_company(company segext.objectid, view_name pg_catalog.regclass) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_view_checked_company' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.view_checked_company(segext.objectid, pg_catalog.regclass) IS 'returns its argument, the company of a row inserted through a segext_api view on a Citus coordinator, after the checks of one node: 42501 when the role may not write that company (or none is current), 44000 "new row violates check option for view" when it is not the current company (added to such statements by segext; of no use to call)';

-- What an UPDATE started on the coordinator that sets the company of a row
-- of a table whose rules keep it (segments, segment groups, channels,
-- customers, transactions) becomes (src/citus_writes.c): Citus refuses to
-- change the distribution column, so the company is set to itself and the
-- condition segext.company_kept(company_id, <the value asked for>, <the
-- kind of row>, <its name or id>) is added; it is true when the two are
-- the same and otherwise raises what the rules' trigger raises on one
-- node.  It depends on its arguments only (Citus refuses VOLATILE functions
-- in an UPDATE); its high cost makes the planner evaluate it after the
-- statement's own conditions, so that a row they exclude never raises.
CREATE FUNCTION segext.company_kept(company segext.objectid, requested segext.objectid, what pg_catalog.text, label pg_catalog.text) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'segext_company_kept' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION segext.company_kept(segext.objectid, segext.objectid, pg_catalog.text, pg_catalog.text) IS 'true when the company a row keeps is the one an UPDATE on a Citus coordinator sets, else 22023 "cannot move <what> "<label>" to another company", as one node raises (added to such statements by segext; of no use to call)';

CREATE FUNCTION segext.distribute() RETURNS pg_catalog.int4
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl pg_catalog.regclass;
    pol record;
    done pg_catalog.int4 := 0;
    saved_min_messages pg_catalog.text := pg_catalog.current_setting('client_min_messages');
    -- "( SELECT f(...) AS f)", as pg_get_expr prints the InitPlan of a policy
    subquery pg_catalog.text := '\( SELECT ((?:[^()]|\([^()]*\))*) AS \w+\)';
    company_tables pg_catalog.regclass[] := ARRAY[
        'segext.segment_groups', 'segext.segments',
        'segext.channels', 'segext.channel_segments', 'segext.customers',
        'segext.transactions', 'segext.customer_states', 'segext.memberships',
        'segext.membership_history', 'segext.segment_member_counts',
        'segext.time_window_checks', 'segext.membership_notices']::pg_catalog.regclass[];
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension AS e WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
        RAISE EXCEPTION 'extension "citus" is not installed'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'segext.distribute() distributes segext''s tables with Citus.',
                  HINT = 'Install Citus 13 on every node, CREATE EXTENSION citus and segext there, add the workers, then call segext.distribute() on the coordinator.';
    END IF;

    -- Policies without subqueries (Citus refuses them on distributed tables).
    FOR pol IN
        SELECT p.polname, p.polrelid::pg_catalog.regclass AS rel,
               pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
               pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck
        FROM pg_catalog.pg_policy AS p
        WHERE p.polrelid OPERATOR(pg_catalog.=) ANY (company_tables OPERATOR(pg_catalog.||) ARRAY['segext.companies', 'segext.company_roles']::pg_catalog.regclass[])
          AND (pg_catalog.pg_get_expr(p.polqual, p.polrelid) OPERATOR(pg_catalog.~) 'SELECT'
               OR pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) OPERATOR(pg_catalog.~) 'SELECT')
    LOOP
        IF pol.qual IS NOT NULL THEN
            EXECUTE pg_catalog.format('ALTER POLICY %I ON %s USING (%s)', pol.polname, pol.rel,
                pg_catalog.regexp_replace(pol.qual, subquery, '(\1)', 'g'));
        END IF;
        IF pol.withcheck IS NOT NULL THEN
            EXECUTE pg_catalog.format('ALTER POLICY %I ON %s WITH CHECK (%s)', pol.polname, pol.rel,
                pg_catalog.regexp_replace(pol.withcheck, subquery, '(\1)', 'g'));
        END IF;
    END LOOP;

    -- ON DELETE SET NULL (channel_id) becomes a trigger.
    IF EXISTS (SELECT FROM pg_catalog.pg_constraint AS k
               WHERE k.conrelid OPERATOR(pg_catalog.=) 'segext.customers'::pg_catalog.regclass
                 AND k.conname OPERATOR(pg_catalog.=) 'customers_company_id_channel_id_fkey'
                 AND k.confdeltype OPERATOR(pg_catalog.=) 'n') THEN
        ALTER TABLE segext.customers DROP CONSTRAINT customers_company_id_channel_id_fkey;
        ALTER TABLE segext.customers ADD CONSTRAINT customers_company_id_channel_id_fkey
            FOREIGN KEY (company_id, channel_id) REFERENCES segext.channels (company_id, id);
        CREATE TRIGGER channels_unset_customers BEFORE DELETE ON segext.channels
            FOR EACH ROW EXECUTE FUNCTION segext.channels_unset_customers();
        COMMENT ON TRIGGER channels_unset_customers ON segext.channels IS
            'sets the channel of its customers to NULL (ON DELETE SET NULL on one node)';
    END IF;

    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d
                   WHERE d.logicalrelid OPERATOR(pg_catalog.=) 'segext.companies'::pg_catalog.regclass) THEN
        PERFORM pg_catalog.create_distributed_table('segext.companies', 'id');
        done := done OPERATOR(pg_catalog.+) 1;
    END IF;
    -- The grants are read on every node by the tenancy checks (of the
    -- coordinator and of the statements on the shards): a reference table,
    -- whose key to companies Citus refuses.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d
                   WHERE d.logicalrelid OPERATOR(pg_catalog.=) 'segext.company_roles'::pg_catalog.regclass) THEN
        ALTER TABLE segext.company_roles DROP CONSTRAINT IF EXISTS company_roles_company_id_fkey;
        PERFORM pg_catalog.create_reference_table('segext.company_roles');
        done := done OPERATOR(pg_catalog.+) 1;
    END IF;
    -- The secret that signs the company handed to the workers, on every node.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d
                   WHERE d.logicalrelid OPERATOR(pg_catalog.=) 'segext.cluster_secret'::pg_catalog.regclass) THEN
        INSERT INTO segext.cluster_secret (secret)
            SELECT pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::pg_catalog.text
                       OPERATOR(pg_catalog.||) pg_catalog.gen_random_uuid()::pg_catalog.text, '-', ''), 'hex')
             WHERE NOT EXISTS (SELECT FROM segext.cluster_secret);
        PERFORM pg_catalog.set_config('client_min_messages', 'warning', true);
        PERFORM pg_catalog.create_reference_table('segext.cluster_secret');
        PERFORM pg_catalog.truncate_local_data_after_distributing_table('segext.cluster_secret');
        PERFORM pg_catalog.set_config('client_min_messages', saved_min_messages, true);
        done := done OPERATOR(pg_catalog.+) 1;
    END IF;
    FOREACH tbl IN ARRAY company_tables LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d
                       WHERE d.logicalrelid OPERATOR(pg_catalog.=) tbl) THEN
            PERFORM pg_catalog.create_distributed_table(tbl, 'company_id', colocate_with => 'segext.companies');
            done := done OPERATOR(pg_catalog.+) 1;
        END IF;
    END LOOP;
    RETURN done;
END
$$;
COMMENT ON FUNCTION segext.distribute() IS 'distributes segext''s tables with Citus (run on the coordinator): companies by id, every company table (and the outbox of membership notifications) by company_id colocated with companies; the grants and the cluster''s secret (made here) reference tables; policies without subqueries, ON DELETE SET NULL of customers.channel_id as a trigger; a second call does nothing; returns the number of tables it distributed';
REVOKE EXECUTE ON FUNCTION segext.distribute() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.distribute() TO segext_admin;
