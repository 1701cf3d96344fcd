-- What PostgREST's schema cache sees of the writable segext_api views: their
-- primary key (company_id, id), that they are insertable, updatable and
-- deletable, which of their columns PostgreSQL can write, and the default
-- of company_id.
--
-- PostgREST (v12, src/PostgREST/SchemaCache.hs) finds a view's primary key
-- in allViewsKeyDependencies and addViewPrimaryKeys: it reads the target
-- list of the view's _RETURN rule (pg_rewrite.ev_action) for resno,
-- resorigtbl and resorigcol of each column, follows views over views to a
-- table column, joins the table's key columns (pg_constraint) and keeps a
-- key only when the view shows all of its columns ("no partial PKs"); the
-- view's key columns are the first view column of each key column, in key
-- order.  A table's own key comes from tablesSqlQuery (tbl_pk_cols).  The
-- queries below do the same for primary keys, written for this test: the
-- target list is read by cutting the node tree text at every brace and
-- counting depth, not by PostgREST's conversion of the text to JSON.
-- insertable/updatable/deletable are pg_relation_is_updatable(oid, true)
-- with the bits 8, 4 and 16, as tablesSqlQuery computes them.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;

SELECT plan(42);

-- view_targets returns the entries of the top-level target list of a view:
-- the TARGETENTRY nodes at depth 2 of ev_action (the QUERY node is depth 1;
-- a sub-query's entries lie deeper), with the fields of each entry that are
-- its own (at depth 2, not inside its expression).
CREATE FUNCTION pg_temp.view_targets(view oid)
RETURNS TABLE (resno int, resorigtbl oid, resorigcol int) LANGUAGE sql STABLE AS $$
    WITH pieces AS (
        SELECT p.piece, p.n
          FROM pg_catalog.pg_rewrite r,
               regexp_split_to_table(replace(replace(r.ev_action::text, '\{', ''), '\}', ''), '(?=[{}])')
                 WITH ORDINALITY AS p(piece, n)
         WHERE r.ev_class = view AND r.rulename = '_RETURN'),
    depths AS (
        SELECT piece, n,
               sum(CASE left(piece, 1) WHEN '{' THEN 1 WHEN '}' THEN -1 ELSE 0 END) OVER (ORDER BY n) AS depth
          FROM pieces),
    owned AS (
        SELECT piece, n, depth,
               max(n) FILTER (WHERE left(piece, 1) = '{' AND depth = 2) OVER (ORDER BY n) AS node
          FROM depths),
    entries AS (
        SELECT node, string_agg(piece, '' ORDER BY n) AS own_text
          FROM owned
         WHERE depth = 2
         GROUP BY node)
    SELECT m[1]::int, m[2]::oid, m[3]::int
      FROM entries,
           regexp_match(own_text, '^\{TARGETENTRY .*:resno (\d+) .*:resorigtbl (\d+) :resorigcol (\d+) ') AS m
     WHERE m IS NOT NULL
$$;

-- pgrst_view_pks: the primary-key columns PostgREST gives each view of
-- segext_api (allViewsKeyDependencies restricted to primary keys, then
-- addViewPrimaryKeys); the views of deploy/postgrest.conf's
-- db-extra-search-path are followed too.
CREATE TEMP VIEW pgrst_view_pks AS
WITH RECURSIVE
pks AS (
    SELECT c.conname, array_length(c.conkey, 1) AS ncol, c.conrelid AS resorigtbl, k.col AS resorigcol, k.ord
      FROM pg_catalog.pg_constraint c, unnest(c.conkey) WITH ORDINALITY AS k(col, ord)
     WHERE c.contype = 'p'),
views AS (
    SELECT c.oid AS view_id, n.nspname AS view_schema, c.relname AS view_name
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND n.nspname IN ('segext_api', 'public', 'segext')),
results AS (
    SELECT v.view_id, v.view_schema, v.view_name, t.resno AS view_column, t.resorigtbl, t.resorigcol
      FROM views v, pg_temp.view_targets(v.view_id) t),
recursion (view_id, view_schema, view_name, view_column, resorigtbl, resorigcol, is_cycle, path) AS (
    SELECT r.*, false, ARRAY[r.resorigtbl] FROM results r WHERE r.view_schema = 'segext_api'
    UNION ALL
    SELECT v.view_id, v.view_schema, v.view_name, v.view_column, t.resorigtbl, t.resorigcol,
           t.resorigtbl = ANY (v.path), v.path || t.resorigtbl
      FROM recursion v JOIN results t ON v.resorigtbl = t.view_id AND v.resorigcol = t.view_column
     WHERE NOT v.is_cycle),
references_ AS (
    SELECT r.view_name, r.resorigtbl, r.resorigcol, array_agg(a.attname ORDER BY a.attnum) AS view_columns
      FROM recursion r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.view_id AND a.attnum = r.view_column
     GROUP BY r.view_id, r.view_name, r.resorigtbl, r.resorigcol)
SELECT ref.view_name, array_agg(ref.view_columns[1] ORDER BY pks.ord)::text[] AS pk_cols
  FROM references_ ref JOIN pks USING (resorigtbl, resorigcol)
 GROUP BY ref.view_name, pks.conname, pks.ncol
HAVING pks.ncol = count(*);

-- table_pk: a table's primary-key columns (tablesSqlQuery, tbl_pk_cols).
CREATE FUNCTION pg_temp.table_pk(tbl regclass) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT array_agg(a.attname ORDER BY k.ord)::text[]
      FROM pg_catalog.pg_constraint c, unnest(c.conkey) WITH ORDINALITY AS k(col, ord), pg_catalog.pg_attribute a
     WHERE c.conrelid = tbl AND c.contype = 'p' AND a.attrelid = c.conrelid AND a.attnum = k.col
$$;

CREATE TEMP TABLE writable (v text);
INSERT INTO writable VALUES ('segments'), ('segment_groups'), ('channels'), ('customers'), ('transactions');

-- The target list reader sees one entry per view column, each a plain column
-- of its table, but for the member count of a segment, computed at read.
SELECT is((SELECT array_agg(t.resno ORDER BY t.resno) FROM pg_temp.view_targets(('segext_api.' || v)::regclass) t
            WHERE t.resorigtbl = ('segext.' || v)::regclass),
          (SELECT array_agg(a.attnum::int ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = ('segext_api.' || v)::regclass AND a.attnum > 0
              AND (v, a.attname) <> ('segments', 'customers_count')),
          'the target list of segext_api.' || v || ' has an entry per column')
  FROM writable;

SELECT is(pg_temp.table_pk(('segext.' || v)::regclass), ARRAY['company_id', 'id'],
          'segext.' || v || ' has the primary key (company_id, id)')
  FROM writable;
SELECT is((SELECT pk_cols FROM pgrst_view_pks p WHERE p.view_name = writable.v), ARRAY['company_id', 'id'],
          'PostgREST sees the primary key (company_id, id) on segext_api.' || v)
  FROM writable;

-- A view showing id without company_id has no primary key for PostgREST.
CREATE VIEW segext_api.pk_probe AS SELECT s.id, s.name FROM segext.segments s;
SELECT is((SELECT count(*) FROM pgrst_view_pks WHERE view_name = 'pk_probe'), 0::bigint,
          'a view showing only id of (company_id, id) has no primary key: PostgREST drops partial keys');
DROP VIEW segext_api.pk_probe;

-- insertable, updatable, deletable: what PostgREST computes.
SELECT is(pg_catalog.pg_relation_is_updatable(('segext_api.' || v)::regclass, true) & 28, 28,
          'PostgREST sees segext_api.' || v || ' as insertable, updatable and deletable')
  FROM writable;

-- Every writable view (channels too, its segment_mix being a column of
-- segext.channels) is updatable by PostgreSQL itself, with no trigger, so
-- INSERT ... ON CONFLICT (PUT) goes to the table's key; every column can be
-- written (the tables keep what segext maintains).
SELECT ok(pg_catalog.pg_relation_is_updatable(('segext_api.' || v)::regclass, false) & 28 = 28
          AND NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = ('segext_api.' || v)::regclass),
          'segext_api.' || v || ' is updatable without a trigger')
  FROM writable;
SELECT is((SELECT array_agg(a.attname ORDER BY a.attnum)
             FROM pg_attribute a
            WHERE a.attrelid = ('segext_api.' || v)::regclass AND a.attnum > 0
              AND NOT pg_catalog.pg_column_is_updatable(a.attrelid, a.attnum, false)),
          CASE WHEN v = 'segments' THEN ARRAY['customers_count']::name[] END,
          'every column of segext_api.' || v || ' is writable, but the member count of a segment')
  FROM writable;
SELECT ok((SELECT c.reloptions @> ARRAY['check_option=cascaded'] FROM pg_class c WHERE c.oid = ('segext_api.' || v)::regclass),
          'segext_api.' || v || ' has a cascaded check option')
  FROM writable;

-- No trigger on any view of the API: the rules live on the tables.
SELECT is((SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = 'segext_api'::regnamespace), 0::bigint,
          'no view of segext_api has a trigger');

-- company_id defaults to the current company (PostgREST's column_default).
SELECT is((SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a
             ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE d.adrelid = ('segext_api.' || v)::regclass AND a.attname = 'company_id'),
          'segext.current_company_id()', 'segext_api.' || v || '.company_id defaults to the current company')
  FROM writable;

SELECT * FROM finish();
ROLLBACK;
