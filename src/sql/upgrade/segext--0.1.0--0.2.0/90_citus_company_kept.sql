-- 90: segext.company_kept(), one node's error for an UPDATE that changes a row's company through a Citus coordinator (src/sql/90_citus.sql).

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
