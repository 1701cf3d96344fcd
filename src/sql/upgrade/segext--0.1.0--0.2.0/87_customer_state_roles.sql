-- 87: privileges and row level security of the customer states: readers
-- read their company's rows, nobody but segext writes them.

GRANT SELECT ON segext.customer_states TO segext_reader;
REVOKE EXECUTE ON FUNCTION segext.transactions_state(), segext.customers_state(),
    segext.customer_state_merge(pg_catalog.bytea, pg_catalog.bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.rebuild_customer_states(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.rebuild_customer_states(segext.objectid) TO segext_writer;

SELECT segext.enable_tenant_policies('segext.customer_states');
