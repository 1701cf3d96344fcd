-- 90: segext.view_checked_company(), the CHECK OPTION of the segext_api views for an INSERT through a Citus coordinator (src/sql/90_citus.sql).

-- What an INSERT through a segext_api view started on the coordinator wraps
-- the company of its rows in (src/citus.c): Citus does not evaluate the
-- view's CHECK OPTION (company_id = segext.current_company_id()), so the
-- coordinator checks each row's company as one node does, before Citus
-- routes the row.  It returns its argument.
CREATE FUNCTION segext.view_checked_company(company segext.objectid, view_name pg_catalog.regclass) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_view_checked_company' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.view_checked_company(segext.objectid, pg_catalog.regclass) IS 'returns its argument, the company of a row inserted through a segext_api view on a Citus coordinator, after the checks of one node: 42501 when the role may not write that company (or none is current), 44000 "new row violates check option for view" when it is not the current company (added to such statements by segext; of no use to call)';
