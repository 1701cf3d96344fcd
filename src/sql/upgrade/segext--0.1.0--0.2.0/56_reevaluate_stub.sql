-- 56: TEMPORARY stand-in until segext.reevaluate_customers is built in C:
-- re-evaluates the whole company instead of the given customers.
CREATE FUNCTION segext.reevaluate_customers(company_id segext.objectid, customer_ids segext.objectid[])
    RETURNS pg_catalog.int8
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT segext.refresh_company(reevaluate_customers.company_id);
END;
COMMENT ON FUNCTION segext.reevaluate_customers(segext.objectid, segext.objectid[]) IS
'temporary stand-in: refreshes the whole company; returns the number of membership changes';
