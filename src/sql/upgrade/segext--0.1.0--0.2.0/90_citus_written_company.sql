-- 90: segext.written_company(), the company a write on Citus names for its outbox read (src/sql/90_citus.sql).

-- What a write of segext's distributed tables started on the coordinator
-- wraps the company of its rows in (src/citus.c), so that the coordinator
-- learns which companies the statement writes when Citus evaluates it
-- before routing, and reads the outbox of those companies' shard groups
-- only.  It returns its argument; nothing else uses it.
CREATE FUNCTION segext.written_company(company segext.objectid) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_written_company' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.written_company(segext.objectid) IS 'returns its argument, a company a statement started on a Citus coordinator writes, after noting it for the statement''s read of the membership outbox (added to such statements by segext; of no use to call)';
