-- test/helpers/pgrst_upsert.sql: the INSERT of an upsert as PostgREST v12
-- builds it, for the contract tests (test/contract/helpers.sql) and the
-- distributed suite (test/citus/api_upsert_count.sql).
-- ident quotes an identifier always, as PostgREST's pgFmtIdent does.
CREATE FUNCTION pg_temp.ident(name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT '"' || replace(name, '"', '""') || '"' $$;

-- upsert_query builds the INSERT that PostgREST v12 sends for an upsert
-- (QueryBuilder.hs mutatePlanToQuery for Insert, with SqlFragment.hs
-- fromJsonBodyF and addConfigPgrstInserted): PUT /view?k1=eq.v1&k2=eq.v2
-- (put_cols and put_vals are the URL's primary-key filters, in URL order,
-- and conflict the primary key), or POST with Prefer:
-- resolution=merge-duplicates (put_cols NULL, conflict the on_conflict
-- columns, else the primary key).  cols and types are the body's keys in
-- sorted order (a set, in PostgREST) with the types of their columns; body
-- is the JSON text ($1; an array uses json_to_recordset); representation
-- gives RETURNING "schema"."view".* instead of RETURNING 1.  Each row that
-- passes the WHERE counts +1 in pgrst.inserted and each that turns into an
-- update -1, so the response tells inserted from updated.
CREATE FUNCTION pg_temp.upsert_query(view text, cols text[], types text[], body text, conflict text[],
                                     put_cols text[] DEFAULT NULL, put_vals text[] DEFAULT NULL,
                                     representation boolean DEFAULT true) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'INSERT INTO "segext_api".' || pg_temp.ident(view)
        || '(' || (SELECT string_agg(pg_temp.ident(c), ', ' ORDER BY i) FROM unnest(cols) WITH ORDINALITY AS u(c, i)) || ') '
        || 'SELECT ' || (SELECT string_agg('"pgrst_body".' || pg_temp.ident(c), ', ' ORDER BY i) FROM unnest(cols) WITH ORDINALITY AS u(c, i)) || ' '
        || 'FROM (SELECT ' || quote_literal(body) || '::json AS json_data) pgrst_payload, '
        || 'LATERAL (SELECT ' || (SELECT string_agg(pg_temp.ident(c), ', ' ORDER BY i) FROM unnest(cols) WITH ORDINALITY AS u(c, i))
        || ' FROM ' || CASE WHEN left(ltrim(body), 1) = '{' THEN 'json_to_record' ELSE 'json_to_recordset' END
        || '(pgrst_payload.json_data) AS _('
        || (SELECT string_agg(pg_temp.ident(c) || ' ' || t, ', ' ORDER BY i) FROM unnest(cols, types) WITH ORDINALITY AS u(c, t, i))
        || ') ) pgrst_body '
        || 'WHERE set_config(''pgrst.inserted'', (coalesce(nullif(current_setting(''pgrst.inserted'', true), '''')::int, 0) + 1)::text, true) <> ''0'''
        || coalesce(' AND ' || (SELECT string_agg(' "pgrst_body".' || pg_temp.ident(c) || ' = ' || quote_literal(v), ' AND ' ORDER BY i)
                               FROM unnest(put_cols, put_vals) WITH ORDINALITY AS u(c, v, i)), '')
        || ' ON CONFLICT(' || (SELECT string_agg(pg_temp.ident(c), ', ' ORDER BY i) FROM unnest(conflict) WITH ORDINALITY AS u(c, i)) || ') '
        || 'DO UPDATE SET ' || (SELECT string_agg(pg_temp.ident(c) || ' = EXCLUDED.' || pg_temp.ident(c), ', ' ORDER BY i)
                                FROM unnest(cols) WITH ORDINALITY AS u(c, i))
        || 'WHERE set_config(''pgrst.inserted'', (coalesce(nullif(current_setting(''pgrst.inserted'', true), '''')::int, 0) - 1)::text, true) <> ''-1'''
        || ' ' || CASE WHEN representation THEN 'RETURNING "segext_api".' || pg_temp.ident(view) || '.*' ELSE 'RETURNING 1' END
$$;
