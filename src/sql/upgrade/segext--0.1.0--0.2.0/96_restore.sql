-- A plain pg_restore (or psql with a plain dump) loads segext's tables as
-- they were dumped: a COPY into them by a superuser with row_security off,
-- which pg_dump's output sets, runs with the triggers off for that statement,
-- as under session_replication_role = replica (restore.c).  The triggers are
-- made on every table segext dumps (pg_extension_config_dump).
CREATE FUNCTION segext.restore_load_begin() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_restore_load_begin' LANGUAGE C;
COMMENT ON FUNCTION segext.restore_load_begin() IS
'trigger: a COPY into a segext table by a superuser with row_security off (a restore of a dump) runs with session_replication_role = replica for that statement';
CREATE FUNCTION segext.restore_load_end() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_restore_load_end' LANGUAGE C;
COMMENT ON FUNCTION segext.restore_load_end() IS
'trigger: after a COPY that restore_load_begin took as a restore, session_replication_role goes back to origin';
DO $restore$
DECLARE
    t pg_catalog.regclass;
BEGIN
    FOR t IN
        SELECT c.oid::pg_catalog.regclass
        FROM pg_catalog.pg_extension AS e
        CROSS JOIN LATERAL pg_catalog.unnest(e.extconfig) AS x(relid)
        JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) x.relid
        WHERE e.extname OPERATOR(pg_catalog.=) 'segext' AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
        ORDER BY c.relname
    LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER restore_load_begin BEFORE INSERT ON %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION segext.restore_load_begin()', t);
        EXECUTE pg_catalog.format('CREATE TRIGGER restore_load_end AFTER INSERT ON %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION segext.restore_load_end()', t);
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER restore_load_end', t);
        EXECUTE pg_catalog.format('COMMENT ON TRIGGER restore_load_begin ON %s IS %L', t,
            'a COPY restoring a dump (by a superuser, row_security off) loads the rows as dumped, with triggers off');
        EXECUTE pg_catalog.format('COMMENT ON TRIGGER restore_load_end ON %s IS %L', t,
            'turns the triggers back on after a COPY that restored a dump');
    END LOOP;
END
$restore$;
