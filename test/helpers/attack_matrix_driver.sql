-- test/helpers/attack_matrix_driver.sql: run in an attacker's own session
-- (test/scripts/tenancy_attack_matrix.sh), as that login.  Defines, in
-- pg_temp, pg_temp.attack_run(actor, way): every attempt of attack.attempts,
-- each in a subtransaction that is rolled back, with the way's settings
-- applied (set_config, local to the attempt); records the outcome in
-- attack.results: the rows of B seen, the digest of B's rows right after the
-- attempt (read by the superuser), or the error.
--
-- Modes of a way: 'direct' sets the settings and runs the attempt;
-- 'function' sets them inside a plpgsql function of pg_temp that runs the
-- attempt; 'definer' does the same in a SECURITY DEFINER function of pg_temp
-- (owned by the attacker).

\set ON_ERROR_STOP 1
SET client_min_messages = notice;

CREATE FUNCTION pg_temp.attack_exec(stmt text, names text[], vals text[],
                                    OUT leaked bigint, OUT total bigint, OUT sample text)
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
        PERFORM set_config(names[i], vals[i], true);
    END LOOP;
    EXECUTE stmt INTO leaked, total, sample;
END
$$;

CREATE FUNCTION pg_temp.attack_exec_definer(stmt text, names text[], vals text[],
                                            OUT leaked bigint, OUT total bigint, OUT sample text)
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
        PERFORM set_config(names[i], vals[i], true);
    END LOOP;
    EXECUTE stmt INTO leaked, total, sample;
END
$$;

CREATE FUNCTION pg_temp.attack_run(run_actor text, run_way text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    w record;
    a record;
    ok bool;
    n_leaked bigint;
    n_total bigint;
    rows_sample text;
    digest text;
    st text;
    msg text;
    det text;
    hnt text;
    n int := 0;
BEGIN
    SELECT * INTO STRICT w FROM attack.ways WHERE actor = run_actor AND way = run_way;
    FOR a IN SELECT id, sql, index_only FROM attack.attempts ORDER BY id LOOP
        ok := false;
        n_leaked := NULL; n_total := NULL; rows_sample := NULL; digest := NULL;
        st := NULL; msg := NULL; det := NULL; hnt := NULL;
        BEGIN
            IF a.index_only THEN    -- plan as for a table of any size: by index
                PERFORM set_config('enable_seqscan', 'off', true);
            END IF;
            IF w.mode = 'direct' THEN
                FOR i IN 1 .. coalesce(array_length(w.names, 1), 0) LOOP
                    PERFORM set_config(w.names[i], w.vals[i], true);
                END LOOP;
                EXECUTE a.sql INTO n_leaked, n_total, rows_sample;
            ELSIF w.mode = 'function' THEN
                SELECT x.leaked, x.total, x.sample INTO n_leaked, n_total, rows_sample
                  FROM pg_temp.attack_exec(a.sql, w.names, w.vals) AS x;
            ELSE
                SELECT x.leaked, x.total, x.sample INTO n_leaked, n_total, rows_sample
                  FROM pg_temp.attack_exec_definer(a.sql, w.names, w.vals) AS x;
            END IF;
            digest := attack.b_checksum();
            ok := true;
            RAISE EXCEPTION 'attempt done' USING ERRCODE = 'ZX999';
        EXCEPTION WHEN OTHERS THEN
            IF NOT ok THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                    det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
            END IF;
        END;
        INSERT INTO attack.results VALUES (run_actor, run_way, a.id, ok, n_leaked, n_total,
                                           rows_sample, digest, st, msg, det, hnt);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
