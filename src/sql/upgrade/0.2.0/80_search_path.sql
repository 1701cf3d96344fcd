-- 80: roles.  enable_tenant_policies lists pg_temp last on its search_path
-- and qualifies its || operators.

CREATE OR REPLACE FUNCTION segext.enable_tenant_policies(tbl pg_catalog.regclass) RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name pg_catalog.text := (SELECT c.relname FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) tbl);
BEGIN
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s '
        'USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id())) '
        'WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))',
        name OPERATOR(pg_catalog.||) '_tenant', tbl);
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name OPERATOR(pg_catalog.||) '_tenant', tbl, 'rows of the current company only');
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s '
        'USING (pg_catalog.pg_has_role(%L, %L)) WITH CHECK (pg_catalog.pg_has_role(%L, %L))',
        name OPERATOR(pg_catalog.||) '_admin', tbl, 'segext_admin', 'member', 'segext_admin', 'member');
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name OPERATOR(pg_catalog.||) '_admin', tbl, 'members of segext_admin: every company');
END
$$;
