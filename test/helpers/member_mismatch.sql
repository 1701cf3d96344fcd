-- test/helpers/member_mismatch.sql: shared by the pgTAP files that check
-- the stored members against an evaluation (\ir).  PL/pgSQL planned with
-- the argument's value, so that Citus can plan the queries on distributed
-- tables too (it cannot plan those of an SQL function with parameters).

-- members_differ(s): whether the stored members of segment s differ from
-- segment_members(s), one way or the other.
CREATE FUNCTION pg_temp.members_differ(s segext.segments) RETURNS pg_catalog.bool LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN EXISTS (SELECT m.customer_id FROM segext.segment_members(s.id) AS m
                   EXCEPT SELECT m.customer_id FROM segext.memberships AS m
                   WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id)
        OR EXISTS (SELECT m.customer_id FROM segext.memberships AS m
                   WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
                   EXCEPT SELECT m.customer_id FROM segext.segment_members(s.id) AS m);
END $$;

-- count_differs(s): whether the member count of segment s differs from its
-- member rows.
CREATE FUNCTION pg_temp.count_differs(s segext.segments) RETURNS pg_catalog.bool LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN segext.segment_customers_count(s.company_id, s.id) OPERATOR(pg_catalog.<>)
           (SELECT pg_catalog.count(*) FROM segext.memberships AS m
            WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id);
END $$;
