-- pg_temp.task_count(query): the Task Count of a query's distributed plan
-- (NULL when it has none).  A temporary function: Citus creates it on the
-- coordinator only.
SET client_min_messages = error;
CREATE FUNCTION pg_temp.task_count(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        IF line ~ 'Task Count: ' THEN
            RETURN substring(line FROM 'Task Count: (\d+)')::int;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
RESET client_min_messages;
