-- test/contract/helpers.sql: replay PostgREST v12 requests in SQL (included
-- by the test/contract_*.sql files with \ir).  See test/contract/README.md for
-- the statement shapes.  Everything lives in pg_temp and goes away with the
-- session.

-- pgrst_status maps an SQLSTATE to the HTTP status PostgREST v12 answers
-- (src/PostgREST/Error.hs, pgErrorStatus); authed is whether a JWT was sent.
CREATE FUNCTION pg_temp.pgrst_status(code text, authed boolean) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN code LIKE '08%' THEN 503
        WHEN code LIKE '09%' THEN 500
        WHEN code LIKE '0L%' OR code LIKE '0P%' THEN 403
        WHEN code IN ('23503', '23505') THEN 409
        WHEN code = '25006' THEN 405
        WHEN code = '21000' THEN 500
        WHEN code LIKE '25%' THEN 500
        WHEN code LIKE '28%' THEN 403
        WHEN code LIKE '2D%' OR code LIKE '38%' OR code LIKE '39%' OR code LIKE '3B%' OR code LIKE '40%' THEN 500
        WHEN code = '53400' THEN 500
        WHEN code LIKE '53%' THEN 503
        WHEN code LIKE '54%' OR code LIKE '55%' THEN 500
        WHEN code = '57P01' THEN 503
        WHEN code LIKE '57%' OR code LIKE '58%' OR code LIKE 'F0%' OR code LIKE 'HV%' THEN 500
        WHEN code = 'P0001' THEN 400
        WHEN code LIKE 'P0%' OR code LIKE 'XX%' THEN 500
        WHEN code IN ('42883', '42P01') THEN 404
        WHEN code = '42P17' THEN 500
        WHEN code = '42501' THEN CASE WHEN authed THEN 403 ELSE 401 END
        WHEN code LIKE 'PT%' THEN substr(code, 3)::int
        ELSE 400
    END
$$;

-- pgrst runs one request the way PostgREST does, in a session of its
-- authenticator login contract_authenticator (a member of segext_gateway,
-- so that segext trusts the JWT claims; PostgREST has checked the token):
-- the set_config statement (search_path with db-extra-search-path, role,
-- JWT claims, method, path, headers, cookies), then stmt, then the deferred checks of COMMIT (made
-- immediate, then deferred again as a new transaction would start).  It
-- returns the HTTP status PostgREST would answer, the row counts, the body
-- and, on error, the SQLSTATE and message.  prefer is the Prefer header
-- ('return=representation', 'resolution=merge-duplicates' ... or ''),
-- range_offset the offset of a GET.  A PUT that does not write exactly one
-- row is rolled back and answered 400 with code PGRST115 (Query.hs failPut).
CREATE FUNCTION pg_temp.pgrst(role text, claims text, method text, path text, stmt text,
                              prefer text DEFAULT '', range_offset bigint DEFAULT 0)
RETURNS TABLE (status int, total bigint, page_total bigint, body jsonb, header text[], code text, message text)
LANGUAGE plpgsql AS $$
DECLARE
    saved_path text := current_setting('search_path');
    saved_session text := session_user;
    is_rpc boolean := path LIKE '/rpc/%';
    returns_void boolean;
    inserted bigint;
    result record;
    r jsonb;
BEGIN
    -- Each request is a transaction of its own: no upsert counted yet.
    PERFORM set_config('pgrst.inserted', '', true);
    PERFORM set_config('session_authorization', 'contract_authenticator', true);
    PERFORM set_config('search_path', '"segext_api", "public", "segext"', true),
            set_config('role', role, true),
            set_config('request.jwt.claims', claims, true),
            set_config('request.method', method, true),
            set_config('request.path', path, true),
            set_config('request.headers', '{"accept":"application/json"}', true),
            set_config('request.cookies', '{}', true);
    BEGIN
        EXECUTE stmt INTO result;
        r := to_jsonb(result);
        page_total := (r ->> 'page_total')::bigint;
        IF method = 'PUT' AND page_total <> 1 THEN
            RAISE EXCEPTION 'PGRST115';
        END IF;
        SET CONSTRAINTS ALL IMMEDIATE;
        SET CONSTRAINTS ALL DEFERRED;
        total := NULLIF(r ->> 'total_result_set', '')::bigint;
        body := r -> 'body';
        IF r ? 'header' THEN
            header := ARRAY(SELECT jsonb_array_elements_text(r -> 'header'));
        END IF;
        inserted := NULLIF(r ->> 'response_inserted', '')::bigint;
        code := NULL;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
        IF message = 'PGRST115' THEN
            code := 'PGRST115';
            message := 'Payload values do not match URL in primary key column(s)';
        END IF;
    END;
    PERFORM set_config('role', 'none', true),
            set_config('request.jwt.claims', '', true),
            set_config('search_path', saved_path, true);
    PERFORM set_config('session_authorization', saved_session, true);
    IF code = 'PGRST115' THEN
        status := 400;
        total := NULL; page_total := NULL; body := NULL; header := NULL;
    ELSIF code IS NOT NULL THEN
        status := pg_temp.pgrst_status(code, claims <> '');
        total := NULL; page_total := NULL; body := NULL; header := NULL;
    ELSIF is_rpc THEN
        SELECT p.prorettype = 'pg_catalog.void'::regtype INTO returns_void
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'segext_api'::regnamespace AND p.proname = substr(path, 6);
        status := CASE WHEN returns_void THEN 204
                       WHEN total IS NULL THEN 200
                       WHEN range_offset > total THEN 416
                       WHEN page_total < total THEN 206 ELSE 200 END;
    ELSIF method IN ('GET', 'HEAD') THEN
        status := CASE WHEN total IS NULL THEN 200
                       WHEN range_offset > total THEN 416
                       WHEN page_total < total THEN 206 ELSE 200 END;
    ELSIF method = 'POST' THEN
        -- Response.hs: 200 for a merge-duplicates upsert that inserted nothing
        status := CASE WHEN prefer LIKE '%resolution=merge-duplicates%' AND coalesce(inserted, 0) <= 0
                       THEN 200 ELSE 201 END;
    ELSIF method = 'PUT' THEN
        -- Response.hs (MutationSingleUpsert): 201 when the row was inserted
        status := CASE WHEN prefer NOT LIKE '%return=representation%' THEN 204
                       WHEN inserted > 0 THEN 201 ELSE 200 END;
    ELSE
        status := CASE WHEN prefer LIKE '%return=representation%' THEN 200 ELSE 204 END;
    END IF;
    RETURN NEXT;
END
$$;

-- Two companies: A (aaaa...) and B (bbbb...); the rules create their built-ins.
INSERT INTO segext.companies (id, name) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'Contract A'), ('bbbbbbbbbbbbbbbbbbbbbbbb', 'Contract B');

-- A role with no rights, standing for PostgREST's db-anon-role.
CREATE ROLE contract_anon NOLOGIN;

-- PostgREST's authenticator (deploy/roles.sql): a login with no rights of
-- its own that switches to the JWT's role, trusted as a gateway.
CREATE ROLE contract_authenticator LOGIN NOINHERIT;
GRANT segext_gateway, contract_anon, segext_reader, segext_writer, segext_admin TO contract_authenticator;

-- JWT claims of a writer, a reader and an admin of A, and a writer of B.
\set claims_a '{"role":"segext_writer","company_id":"aaaaaaaaaaaaaaaaaaaaaaaa"}'
\set claims_a_reader '{"role":"segext_reader","company_id":"aaaaaaaaaaaaaaaaaaaaaaaa"}'
\set claims_b '{"role":"segext_writer","company_id":"bbbbbbbbbbbbbbbbbbbbbbbb"}'

-- The final SELECT of a read (Statements.hs prepareRead); count_query is the
-- body of the pgrst_source_count CTE for Prefer: count=exact, or NULL; single
-- is true for Accept: application/vnd.pgrst.object+json.
CREATE FUNCTION pg_temp.read_tail(count_query text, single boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN count_query IS NULL THEN '' ELSE ', pgrst_source_count AS (' || count_query || ')' END
        || ' SELECT '
        || CASE WHEN count_query IS NULL THEN 'null::bigint' ELSE '(SELECT pg_catalog.count(*) FROM pgrst_source_count)' END
        || ' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, '
        || CASE WHEN single THEN 'coalesce(json_agg(_postgrest_t)->0, ''null'')' ELSE 'coalesce(json_agg(_postgrest_t), ''[]'')' END
        || ' AS body, nullif(current_setting(''response.headers'', true), '''') AS response_headers,'
        || ' nullif(current_setting(''response.status'', true), '''') AS response_status,'
        || ' '''' AS response_inserted FROM ( SELECT * FROM pgrst_source ) _postgrest_t'
$$;

-- The final SELECT of a write (Statements.hs prepareWrite) on view name;
-- location_keys are the primary-key columns for the Location header of
-- Prefer: return=headers-only on POST, or NULL; upsert is true for PUT and
-- POST with Prefer: resolution=merge-duplicates, whose response_inserted
-- reads the count of inserted rows that the statement keeps in the setting
-- pgrst.inserted.
CREATE FUNCTION pg_temp.write_tail(name text, location_keys text[] DEFAULT NULL, upsert boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'SELECT '''' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, '
        || CASE WHEN location_keys IS NULL THEN 'array[]::text[]'
                ELSE 'CASE WHEN pg_catalog.count(_postgrest_t) = 1 THEN coalesce(('
                  || ' WITH data AS (SELECT row_to_json(_) AS row FROM pgrst_source AS _ LIMIT 1)'
                  || ' SELECT array_agg(json_data.key || ''='' || coalesce(''eq.'' || json_data.value, ''is.null''))'
                  || ' FROM data CROSS JOIN json_each_text(data.row) AS json_data'
                  || ' WHERE json_data.key IN (''' || array_to_string(location_keys, ''',''') || ''')'
                  || '), array[]::text[]) ELSE array[]::text[] END' END
        || ' AS header, coalesce(json_agg(_postgrest_t), ''[]'') AS body,'
        || ' nullif(current_setting(''response.headers'', true), '''') AS response_headers,'
        || ' nullif(current_setting(''response.status'', true), '''') AS response_status,'
        || CASE WHEN upsert THEN ' nullif(current_setting(''pgrst.inserted'', true),'''')::int'
                ELSE ' ''''' END
        || ' AS response_inserted'
        || ' FROM (SELECT ' || quote_ident(name) || '.* FROM "pgrst_source" AS ' || quote_ident(name) || '    ) _postgrest_t'
$$;

-- The final SELECT of a function call (Statements.hs prepareCall); scalar is
-- true for a function returning one scalar value; read_clauses are the
-- filters, order and limit/offset of the read over a set-returning function's
-- rows (the WHERE ... ORDER BY ... LIMIT ... OFFSET ... of readPlanToQuery).
CREATE FUNCTION pg_temp.call_tail(name text, scalar boolean, count_query text DEFAULT NULL,
                                  read_clauses text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN count_query IS NULL THEN '' ELSE ', pgrst_source_count AS (' || count_query || ')' END
        || ' SELECT '
        || CASE WHEN count_query IS NULL THEN 'null::bigint' ELSE '(SELECT pg_catalog.count(*) FROM pgrst_source_count)' END
        || ' AS total_result_set, '
        || CASE WHEN scalar THEN '1' ELSE 'pg_catalog.count(_postgrest_t)' END || ' AS page_total, '
        || CASE WHEN scalar THEN 'coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, ''null'')'
                ELSE 'coalesce(json_agg(_postgrest_t), ''[]'')' END
        || ' AS body, nullif(current_setting(''response.headers'', true), '''') AS response_headers,'
        || ' nullif(current_setting(''response.status'', true), '''') AS response_status,'
        || ' '''' AS response_inserted'
        || ' FROM (SELECT ' || quote_ident(name) || '.* FROM "pgrst_source" AS ' || quote_ident(name) || '  ' || read_clauses || '  ) _postgrest_t'
$$;

\ir ../helpers/pgrst_upsert.sql
