-- test/helpers/plan_of.sql: shared by the pgTAP files that check plans (\ir).

-- plan_of returns the EXPLAIN (COSTS OFF) output of a query, one line each.
CREATE FUNCTION pg_temp.plan_of(q pg_catalog.text) RETURNS pg_catalog.text LANGUAGE plpgsql AS $$
DECLARE r pg_catalog.text; plan pg_catalog.text := '';
BEGIN
    FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP plan := plan || r || E'\n'; END LOOP;
    RETURN plan;
END $$;
