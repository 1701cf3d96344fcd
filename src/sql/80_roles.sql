-- 80: roles, privileges and row level security.
--
-- segext_reader reads its company's rows (BI tools), segext_writer also
-- changes them, segext_admin sees and changes every company and creates
-- companies.  The roles are cluster-wide: they are created here only when
-- missing (another database of the cluster may have made them) and are not
-- dropped with the extension.  segext_admin reaches every company through a
-- policy on role membership, not BYPASSRLS: membership is inherited by login
-- roles granted segext_admin, BYPASSRLS is not, and the policy only concerns
-- segext's tables.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_reader') THEN
        CREATE ROLE segext_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_writer') THEN
        CREATE ROLE segext_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_admin') THEN
        CREATE ROLE segext_admin NOLOGIN;
    END IF;
    IF NOT pg_catalog.pg_has_role('segext_writer', 'segext_reader', 'member') THEN
        GRANT segext_reader TO segext_writer;
    END IF;
    IF NOT pg_catalog.pg_has_role('segext_admin', 'segext_writer', 'member') THEN
        GRANT segext_writer TO segext_admin;
    END IF;
END
$roles$;

GRANT USAGE ON SCHEMA segext TO segext_reader;

-- segext_reader: read.
GRANT SELECT ON segext.companies, segext.segment_groups, segext.segments,
    segext.channels, segext.channel_segments TO segext_reader;

-- segext_writer: read and write its company (and rename it).
GRANT INSERT, UPDATE, DELETE ON segext.segment_groups, segext.segments,
    segext.channels, segext.channel_segments TO segext_writer;
GRANT UPDATE (name) ON segext.companies TO segext_writer;
REVOKE EXECUTE ON FUNCTION segext.reorder_segments(segext.objectid, pg_catalog.int4[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.reorder_segments(segext.objectid, pg_catalog.int4[]) TO segext_writer;

-- segext_admin: every company, their limits, creation and deletion.
GRANT INSERT, UPDATE, DELETE ON segext.companies TO segext_admin;
REVOKE EXECUTE ON FUNCTION segext.create_company(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.create_company(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) TO segext_admin;

-- Trigger functions are not for calling, nor is the customers_count writer.
REVOKE EXECUTE ON FUNCTION segext.companies_rules(), segext.segments_rules(),
    segext.segment_groups_rules(), segext.channels_rules(),
    segext.channel_segments_rules(), segext.channel_mix_check(),
    segext.channel_mix_write(), segext.channel_mix_sync() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.add_customers_count(segext.objectid, segext.objectid, pg_catalog.int8) FROM PUBLIC;

-- Row level security: a row is visible and changeable when it belongs to the
-- current company, or to anyone when the user is a member of segext_admin.
-- The current company is read once per query ((SELECT ...) is an InitPlan).
ALTER TABLE segext.companies ENABLE ROW LEVEL SECURITY;
CREATE POLICY company_tenant ON segext.companies
    USING (id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY company_tenant ON segext.companies IS 'the current company only';
CREATE POLICY company_admin ON segext.companies
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY company_admin ON segext.companies IS 'members of segext_admin: every company';

-- enable_tenant_policies gives a company-scoped table the two policies every
-- such table has; install scripts call it for each table.
CREATE FUNCTION segext.enable_tenant_policies(tbl pg_catalog.regclass) RETURNS pg_catalog.void
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
COMMENT ON FUNCTION segext.enable_tenant_policies(pg_catalog.regclass) IS
'install-time helper: enables row level security on a company-scoped table with its tenant and admin policies';
REVOKE EXECUTE ON FUNCTION segext.enable_tenant_policies(pg_catalog.regclass) FROM PUBLIC;

SELECT segext.enable_tenant_policies(t) FROM (VALUES
    ('segext.segment_groups'::pg_catalog.regclass), ('segext.segments'),
    ('segext.channels'), ('segext.channel_segments')) AS v(t);
