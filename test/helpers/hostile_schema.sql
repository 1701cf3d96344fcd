-- hostile_schema.sql: schema "hostile", which shadows every operator and
-- function segext's SQL uses, for tests that put it before pg_catalog on the
-- search_path.  Generated from the catalog:
--   * an operator of the same name and argument types for every operator of
--     pg_catalog and segext whose arguments are among the types segext works
--     with (polymorphic operators once per such type);
--   * a function or aggregate of the same name and argument types for every
--     function of segext and every pg_catalog function whose name segext's
--     SQL calls (polymorphic ones once per such type);
--   * a domain named like each of those types and a view named like each
--     table of segext (and each transition table and CTE name segext uses).
-- Every one of them records in hostile.calls that it was used (and advances
-- hostile.hits, which no rollback undoes); operators and scalar functions
-- then return what the shadowed one returns, so a query that uses them
-- still works and only the record shows it.
-- Requires: extension segext; creates schema hostile (granted to PUBLIC).

CREATE SCHEMA hostile;
CREATE TABLE hostile.calls (what pg_catalog.text NOT NULL);
CREATE SEQUENCE hostile.hits;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;
GRANT SELECT, INSERT, DELETE ON hostile.calls TO PUBLIC;
GRANT USAGE, SELECT ON SEQUENCE hostile.hits TO PUBLIC;

CREATE FUNCTION hostile.called(what pg_catalog.text) RETURNS pg_catalog.bool
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_catalog.nextval('hostile.hits');
    INSERT INTO hostile.calls (what) VALUES (what);
    RETURN true;
END
$$;

CREATE FUNCTION hostile.trigger_called() RETURNS pg_catalog.trigger
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM hostile.called(pg_catalog.format('relation %s.%s (%s)', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP));
    RETURN NULL;
END
$$;

DO $generate$
DECLARE
    -- the types segext's SQL works with; an element type and its array
    elements pg_catalog.regtype[] := ARRAY['segext.objectid', 'segext.criteria', 'pg_catalog.int2',
        'pg_catalog.int4', 'pg_catalog.int8', 'pg_catalog.numeric', 'pg_catalog.float8',
        'pg_catalog.text', 'pg_catalog.name', 'pg_catalog.timestamptz', 'pg_catalog.timestamp',
        'pg_catalog.date', 'pg_catalog.interval', 'pg_catalog.bool', 'pg_catalog.jsonb',
        'pg_catalog.json', 'pg_catalog.bytea', 'pg_catalog.oid', 'pg_catalog.regclass']::pg_catalog.regtype[];
    known pg_catalog.regtype[];
    -- pg_catalog functions named in segext's SQL (C query text, SQL and
    -- PL/pgSQL bodies, views and policies)
    names pg_catalog.name[] := ARRAY['count', 'max', 'min', 'sum', 'generate_series', 'unnest',
        'jsonb_typeof', 'jsonb_array_elements', 'jsonb_to_recordset', 'jsonb_agg',
        'jsonb_build_object', 'json_build_object', 'now', 'array_agg', 'string_agg', 'format',
        'lower', 'upper', 'replace', 'char_length', 'pg_notify', 'round', 'pg_has_role',
        'set_config', 'current_setting', 'concat', 'pg_event_trigger_ddl_commands',
        'pg_extension_config_dump', 'int4', 'int8', 'text', 'numeric', 'timestamptz', 'date',
        'bool', 'jsonb'];
    bad pg_catalog.regtype[] := ARRAY['internal', 'cstring', 'trigger', 'event_trigger',
        'language_handler', 'fdw_handler', 'index_am_handler', 'tsm_handler', 'table_am_handler',
        'anyrange', 'anymultirange', 'anycompatiblerange', 'anycompatiblemultirange', 'anyenum',
        'pg_ddl_command']::pg_catalog.regtype[];
    elem_like pg_catalog.regtype[] := ARRAY['anyelement', 'anynonarray', 'anycompatible',
        'anycompatiblenonarray', '"any"']::pg_catalog.regtype[];
    array_like pg_catalog.regtype[] := ARRAY['anyarray', 'anycompatiblearray']::pg_catalog.regtype[];
    o record;
    p record;
    l pg_catalog.regtype;
    r pg_catalog.regtype;
    e pg_catalog.regtype;
    res pg_catalog.regtype;
    k pg_catalog.int4 := 0;
    argtypes pg_catalog.text[];
    argdecl pg_catalog.text;
    callargs pg_catalog.text;
    label pg_catalog.text;
    result pg_catalog.text;
    body pg_catalog.text;
    polymorphic pg_catalog.bool;
    candidates pg_catalog.regtype[];
    t pg_catalog.regtype;
BEGIN
    SELECT pg_catalog.array_agg(x) INTO known FROM (
        SELECT pg_catalog.unnest(elements) AS x
        UNION ALL
        SELECT ty.typarray::pg_catalog.regtype FROM pg_catalog.unnest(elements) AS u(x)
          JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) u.x
         WHERE ty.typarray OPERATOR(pg_catalog.<>) 0) AS s;

    -- Operators.
    FOR o IN
        SELECT op.oprname, op.oprleft, op.oprright, op.oprresult, n.nspname
          FROM pg_catalog.pg_operator op
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) op.oprnamespace
         WHERE n.nspname OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog', 'segext'])
         ORDER BY op.oid
    LOOP
        -- one concrete (left, right) per element type for polymorphic operators
        FOREACH e IN ARRAY elements LOOP
            l := CASE WHEN o.oprleft OPERATOR(pg_catalog.=) 0 THEN NULL
                      WHEN o.oprleft::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (elem_like) THEN e
                      WHEN o.oprleft::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (array_like)
                          THEN (SELECT ty.typarray FROM pg_catalog.pg_type ty WHERE ty.oid OPERATOR(pg_catalog.=) e)::pg_catalog.regtype
                      ELSE o.oprleft::pg_catalog.regtype END;
            r := CASE WHEN o.oprright::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (elem_like) THEN e
                      WHEN o.oprright::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (array_like)
                          THEN (SELECT ty.typarray FROM pg_catalog.pg_type ty WHERE ty.oid OPERATOR(pg_catalog.=) e)::pg_catalog.regtype
                      ELSE o.oprright::pg_catalog.regtype END;
            res := CASE WHEN o.oprresult::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (elem_like) THEN e
                        WHEN o.oprresult::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (array_like)
                            THEN (SELECT ty.typarray FROM pg_catalog.pg_type ty WHERE ty.oid OPERATOR(pg_catalog.=) e)::pg_catalog.regtype
                        ELSE o.oprresult::pg_catalog.regtype END;
            CONTINUE WHEN (l IS NOT NULL AND NOT l OPERATOR(pg_catalog.=) ANY (known))
                       OR NOT r OPERATOR(pg_catalog.=) ANY (known)
                       OR res IS NULL OR res OPERATOR(pg_catalog.=) ANY (bad)
                       OR (SELECT ty.typtype OPERATOR(pg_catalog.=) 'p' FROM pg_catalog.pg_type ty WHERE ty.oid OPERATOR(pg_catalog.=) res);
            CONTINUE WHEN pg_catalog.to_regoperator(pg_catalog.format('hostile.%s(%s,%s)', o.oprname,
                                                     COALESCE(l::pg_catalog.text, 'NONE'), r)) IS NOT NULL;
            k := k OPERATOR(pg_catalog.+) 1;
            label := pg_catalog.format('operator %s.%s(%s, %s)', o.nspname, o.oprname, COALESCE(l::pg_catalog.text, 'none'), r);
            IF l IS NULL THEN
                EXECUTE pg_catalog.format('CREATE FUNCTION hostile.op_%s(%s) RETURNS %s LANGUAGE sql VOLATILE AS %L',
                    k, r, res, pg_catalog.format('SELECT hostile.called(%L); SELECT OPERATOR(%I.%s) $1', label, o.nspname, o.oprname));
                EXECUTE pg_catalog.format('CREATE OPERATOR hostile.%s (RIGHTARG = %s, FUNCTION = hostile.op_%s)', o.oprname, r, k);
            ELSE
                EXECUTE pg_catalog.format('CREATE FUNCTION hostile.op_%s(%s, %s) RETURNS %s LANGUAGE sql VOLATILE AS %L',
                    k, l, r, res, pg_catalog.format('SELECT hostile.called(%L); SELECT $1 OPERATOR(%I.%s) $2', label, o.nspname, o.oprname));
                EXECUTE pg_catalog.format('CREATE OPERATOR hostile.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = hostile.op_%s)',
                    o.oprname, l, r, k);
            END IF;
            EXIT WHEN NOT (o.oprleft::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (elem_like OPERATOR(pg_catalog.||) array_like)
                           OR o.oprright::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (elem_like OPERATOR(pg_catalog.||) array_like));
        END LOOP;
    END LOOP;

    -- Functions and aggregates.
    FOR p IN
        SELECT f.oid, f.proname, f.prokind, f.proargtypes::pg_catalog.regtype[] AS args,
               f.prorettype::pg_catalog.regtype AS ret, f.proretset, f.provariadic OPERATOR(pg_catalog.<>) 0 AS variadic,
               f.proallargtypes IS NOT NULL AS has_out, n.nspname
          FROM pg_catalog.pg_proc f
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) f.pronamespace
         WHERE f.prokind OPERATOR(pg_catalog.=) ANY (ARRAY['f', 'a']::pg_catalog.char[])
           AND ((n.nspname OPERATOR(pg_catalog.=) 'pg_catalog' AND f.proname OPERATOR(pg_catalog.=) ANY (names))
                OR n.nspname OPERATOR(pg_catalog.=) ANY (ARRAY['segext', 'segext_api']))
           AND NOT f.prorettype::pg_catalog.regtype OPERATOR(pg_catalog.=) ANY (bad)
           AND NOT f.proargtypes::pg_catalog.regtype[] OPERATOR(pg_catalog.&&) bad
         ORDER BY f.oid
    LOOP
        CONTINUE WHEN p.prokind OPERATOR(pg_catalog.=) 'a' AND (p.variadic OR p.has_out
            OR (SELECT a.aggkind OPERATOR(pg_catalog.<>) 'n' FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid OPERATOR(pg_catalog.=) p.oid));
        polymorphic := p.args OPERATOR(pg_catalog.&&) (elem_like OPERATOR(pg_catalog.||) array_like)
            OR p.ret OPERATOR(pg_catalog.=) ANY (elem_like OPERATOR(pg_catalog.||) array_like);
        candidates := CASE WHEN polymorphic THEN elements ELSE ARRAY[NULL]::pg_catalog.regtype[] END;
        CONTINUE WHEN polymorphic AND p.has_out;
        FOREACH e IN ARRAY candidates LOOP
            argtypes := '{}';
            FOR i IN 1 .. COALESCE(pg_catalog.array_length(p.args, 1), 0) LOOP
                t := p.args[i];
                IF t OPERATOR(pg_catalog.=) ANY (elem_like) THEN
                    t := CASE WHEN p.variadic AND i OPERATOR(pg_catalog.=) pg_catalog.array_length(p.args, 1)
                              THEN (SELECT ty.typarray FROM pg_catalog.pg_type ty WHERE ty.oid OPERATOR(pg_catalog.=) e) ELSE e END;
                ELSIF t OPERATOR(pg_catalog.=) ANY (array_like) THEN
                    t := (SELECT ty.typarray FROM pg_catalog.pg_type ty WHERE ty.oid OPERATOR(pg_catalog.=) e);
                END IF;
                argtypes := argtypes OPERATOR(pg_catalog.||) t::pg_catalog.text;
            END LOOP;
            res := CASE WHEN p.ret OPERATOR(pg_catalog.=) ANY (elem_like) THEN e
                        WHEN p.ret OPERATOR(pg_catalog.=) ANY (array_like)
                            THEN (SELECT ty.typarray FROM pg_catalog.pg_type ty WHERE ty.oid OPERATOR(pg_catalog.=) e)
                        ELSE p.ret END;
            CONTINUE WHEN res IS NULL OR pg_catalog.array_position(argtypes, NULL) IS NOT NULL;
            CONTINUE WHEN pg_catalog.to_regprocedure(pg_catalog.format('hostile.%I(%s)', p.proname,
                                                      pg_catalog.array_to_string(argtypes, ','))) IS NOT NULL;
            k := k OPERATOR(pg_catalog.+) 1;
            label := pg_catalog.format('function %s.%s(%s)', p.nspname, p.proname, pg_catalog.array_to_string(argtypes, ', '));
            argdecl := pg_catalog.array_to_string(argtypes, ', ');
            IF p.variadic THEN
                argdecl := pg_catalog.regexp_replace(argdecl, '([^,]*)$', 'VARIADIC \1');
            END IF;
            IF p.prokind OPERATOR(pg_catalog.=) 'a' THEN
                EXECUTE pg_catalog.format('CREATE FUNCTION hostile.agg_%s(%s) RETURNS %s LANGUAGE plpgsql VOLATILE AS %L',
                    k, pg_catalog.array_to_string(ARRAY[res::pg_catalog.text] OPERATOR(pg_catalog.||) argtypes, ', '), res,
                    pg_catalog.format('BEGIN PERFORM hostile.called(%L); RETURN $1; END', label));
                EXECUTE pg_catalog.format('CREATE AGGREGATE hostile.%I(%s) (SFUNC = hostile.agg_%s, STYPE = %s)',
                    p.proname, CASE WHEN argdecl OPERATOR(pg_catalog.=) '' THEN '*' ELSE argdecl END, k, res);
                CONTINUE;
            END IF;
            SELECT pg_catalog.string_agg(CASE WHEN p.variadic AND i OPERATOR(pg_catalog.=) pg_catalog.array_length(argtypes, 1)
                                              THEN 'VARIADIC ' ELSE '' END OPERATOR(pg_catalog.||) '$' OPERATOR(pg_catalog.||) i, ', ')
              INTO callargs FROM pg_catalog.generate_series(1, pg_catalog.array_length(argtypes, 1)) AS g(i);
            IF p.has_out THEN
                result := pg_catalog.pg_get_function_result(p.oid);
            ELSE
                result := CASE WHEN p.proretset THEN 'SETOF ' ELSE '' END OPERATOR(pg_catalog.||) res::pg_catalog.text;
            END IF;
            body := CASE
                WHEN p.proretset OR p.has_out OR res OPERATOR(pg_catalog.=) 'pg_catalog.void'::pg_catalog.regtype THEN 'RETURN;'
                WHEN res OPERATOR(pg_catalog.=) 'pg_catalog.record'::pg_catalog.regtype THEN 'RETURN NULL;'
                ELSE pg_catalog.format('RETURN %I.%I(%s);', p.nspname, p.proname, COALESCE(callargs, '')) END;
            EXECUTE pg_catalog.format('CREATE FUNCTION hostile.%I(%s) RETURNS %s LANGUAGE plpgsql VOLATILE AS %L',
                p.proname, argdecl, result,
                pg_catalog.format('BEGIN PERFORM hostile.called(%L); %s END', label, body));
        END LOOP;
    END LOOP;

    -- Types: a domain of each name whose check records its use.
    FOR o IN
        SELECT ty.typname, x::pg_catalog.text AS full
          FROM pg_catalog.unnest(elements) AS u(x)
          JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) u.x
    LOOP
        EXECUTE pg_catalog.format('CREATE DOMAIN hostile.%I AS %s CHECK (hostile.called(%L))',
            o.typname, o.full, 'type ' OPERATOR(pg_catalog.||) o.typname);
    END LOOP;

    -- Relations: a view named like each table of segext, and like each
    -- transition table and common table expression segext's SQL names.
    FOR o IN
        SELECT c.relname FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
         WHERE n.nspname OPERATOR(pg_catalog.=) 'segext' AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'v', 'S']::pg_catalog.char[])
    LOOP
        EXECUTE pg_catalog.format('CREATE VIEW hostile.%I AS SELECT * FROM segext.%I WHERE hostile.called(%L)',
            o.relname, o.relname, 'relation ' OPERATOR(pg_catalog.||) o.relname);
    END LOOP;
    FOR o IN SELECT x AS relname FROM pg_catalog.unnest(ARRAY['changed', 'old', 'mix_new', 'mix_old', 'm', 'k', 'company']) AS u(x) LOOP
        EXECUTE pg_catalog.format('CREATE VIEW hostile.%I AS SELECT 1 AS company_id WHERE hostile.called(%L)',
            o.relname, 'relation ' OPERATOR(pg_catalog.||) o.relname);
    END LOOP;
END
$generate$;

-- Temporary tables named like the tables segext's SECURITY DEFINER
-- functions use, for a run (pg_temp is searched first for relations unless
-- the search_path lists it last); writes to them are recorded.
CREATE FUNCTION hostile.create_temp_shadows() RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t pg_catalog.text;
BEGIN
    FOREACH t IN ARRAY ARRAY['companies', 'segments', 'segment_groups', 'channels', 'channel_segments',
                             'customers', 'transactions', 'memberships', 'membership_history', 'changed'] LOOP
        EXECUTE pg_catalog.format('CREATE TEMP TABLE %I (company_id segext.objectid, id pg_catalog.int8, '
            'segment_id segext.objectid, customer_id segext.objectid, kind pg_catalog.text, number pg_catalog.int4, '
            'name pg_catalog.text, active pg_catalog.bool, criteria segext.criteria, position pg_catalog.int4, '
            'customers_count pg_catalog.int8)', t);
        EXECUTE pg_catalog.format('INSERT INTO pg_temp.%I (company_id, id, segment_id, customer_id, kind, number, name, active, position, customers_count) '
            'SELECT c.id, 1, s.id, s.id, %L, s.number, %L, true, 0, 0 FROM segext.companies c JOIN segext.segments s ON s.company_id OPERATOR(pg_catalog.=) c.id',
            t, 'entered', 'shadow');
        EXECUTE pg_catalog.format('CREATE TRIGGER shadow_write BEFORE INSERT OR UPDATE OR DELETE ON pg_temp.%I '
            'FOR EACH STATEMENT EXECUTE FUNCTION hostile.trigger_called()', t);
    END LOOP;
END
$$;

CREATE FUNCTION hostile.drop_temp_shadows() RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DROP TABLE pg_temp.companies, pg_temp.segments, pg_temp.segment_groups, pg_temp.channels,
        pg_temp.channel_segments, pg_temp.customers, pg_temp.transactions, pg_temp.memberships,
        pg_temp.membership_history, pg_temp.changed;
END
$$;

-- hostile.run executes statements one after another and returns their
-- results (the first value a query returns, else the number of rows a
-- command changed) joined by new lines, or the
-- error that stopped them.  With shadowed set, the search_path is
-- "hostile, pg_catalog, public" and temporary tables shadow segext's during
-- the statements.  Every expression here is qualified: it runs under that
-- search_path too.
CREATE FUNCTION hostile.run(statements pg_catalog.text[], shadowed pg_catalog.bool) RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    saved pg_catalog.text := pg_catalog.current_setting('search_path');
    one pg_catalog.text;
    result pg_catalog.text := '';
    s pg_catalog.text;
BEGIN
    IF shadowed THEN
        PERFORM hostile.create_temp_shadows();
        PERFORM pg_catalog.set_config('search_path', 'hostile, pg_catalog, public', true);
    END IF;
    BEGIN
        FOREACH s IN ARRAY statements LOOP
            one := NULL;
            IF s OPERATOR(pg_catalog.~*) '^\s*(SELECT|WITH)|RETURNING' THEN
                EXECUTE s INTO one;
            ELSE
                EXECUTE s;
                GET DIAGNOSTICS one = ROW_COUNT;
            END IF;
            result := pg_catalog.concat(result, one, E'\n');
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        result := pg_catalog.concat(result, 'error ', SQLSTATE, ': ', SQLERRM);
    END;
    PERFORM pg_catalog.set_config('search_path', saved, true);
    IF shadowed THEN
        PERFORM hostile.drop_temp_shadows();
    END IF;
    RETURN result;
END
$$;

-- hostile.compare runs statements under the normal search_path (then
-- rolls them back), and again under the hostile one (kept), and stores both
-- results and what hostile objects were used in hostile.results.
CREATE TABLE hostile.results (n pg_catalog.int4 GENERATED ALWAYS AS IDENTITY, name pg_catalog.text,
    plain pg_catalog.text, hostile pg_catalog.text, calls pg_catalog.text);
GRANT SELECT, INSERT ON hostile.results TO PUBLIC;
GRANT USAGE ON SEQUENCE hostile.results_n_seq TO PUBLIC;

CREATE FUNCTION hostile.compare(name pg_catalog.text, statements pg_catalog.text[]) RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plain pg_catalog.text;
    shadowed pg_catalog.text;
    hits_before pg_catalog.int8;
    hits_after pg_catalog.int8;
    calls pg_catalog.text;
BEGIN
    BEGIN
        plain := hostile.run(statements, false);
        RAISE EXCEPTION USING ERRCODE = 'HS001';
    EXCEPTION WHEN SQLSTATE 'HS001' THEN
        NULL;
    END;
    DELETE FROM hostile.calls;
    SELECT CASE WHEN h.is_called THEN h.last_value ELSE 0 END INTO hits_before FROM hostile.hits h;
    shadowed := hostile.run(statements, true);
    SELECT CASE WHEN h.is_called THEN h.last_value ELSE 0 END INTO hits_after FROM hostile.hits h;
    SELECT pg_catalog.concat(pg_catalog.string_agg(DISTINCT c.what, '; '),
                             CASE WHEN hits_after OPERATOR(pg_catalog.>) hits_before
                                  THEN pg_catalog.format(' (%s uses)', hits_after OPERATOR(pg_catalog.-) hits_before) END)
      INTO calls FROM hostile.calls c;
    INSERT INTO hostile.results (name, plain, hostile, calls) VALUES (name, plain, shadowed, calls);
END
$$;
