-- test/helpers/member_names.sql: the first names of a segment's members,
-- looked up by the segment's name: pg_temp.now_members evaluates the
-- criteria now (segment_members), pg_temp.stored_members reads the stored
-- membership.  Include with \ir after CREATE EXTENSION segext.  PL/pgSQL
-- planned with the argument's value, so that Citus can plan the queries on
-- distributed tables too (it cannot plan those of an SQL function with
-- parameters).
CREATE FUNCTION pg_temp.now_members(seg pg_catalog.text) RETURNS pg_catalog.text[] LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(c.first_name ORDER BY c.first_name), '{}')
    FROM segext.segments s CROSS JOIN LATERAL segext.segment_members(s.id) m
    JOIN segext.customers c ON c.company_id OPERATOR(pg_catalog.=) s.company_id AND c.id OPERATOR(pg_catalog.=) m.customer_id
    WHERE s.name = seg);
END $$;
CREATE FUNCTION pg_temp.stored_members(seg pg_catalog.text) RETURNS pg_catalog.text[] LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(c.first_name ORDER BY c.first_name), '{}')
    FROM segext.segments s JOIN segext.memberships m ON m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
    JOIN segext.customers c ON c.company_id OPERATOR(pg_catalog.=) m.company_id AND c.id OPERATOR(pg_catalog.=) m.customer_id
    WHERE s.name = seg);
END $$;
