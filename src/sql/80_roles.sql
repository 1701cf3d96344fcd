-- 80: roles, privileges and row level security.
--
-- segext_reader reads rows (BI tools), segext_writer also changes them,
-- segext_admin sees and changes every company, creates companies and grants
-- them.  Which company a reader or writer acts for, and whether it may
-- write there, is granted per company in segext.company_roles
-- (78_company_roles.sql): the table privileges say what a role may do at
-- all, the grant where.  segext_gateway marks the logins whose sessions are
-- trusted to name the company in a JWT claim (PostgREST's authenticator,
-- PostGraphile's login).  The roles are cluster-wide: they are created here
-- only when missing (another database of the cluster may have made them)
-- and are not dropped with the extension.  segext_admin reaches every
-- company through a policy on role membership, not BYPASSRLS: membership is
-- inherited by login roles granted segext_admin, BYPASSRLS is not, and the
-- policy only concerns segext's tables.

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
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_gateway') THEN
        CREATE ROLE segext_gateway NOLOGIN;
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

-- Grants of companies: every role sees the grants to roles it is a member
-- of, admins see and manage them all (row level security below).
GRANT SELECT ON segext.company_roles TO segext_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON segext.company_roles TO segext_admin;
REVOKE EXECUTE ON FUNCTION segext.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text),
    segext.revoke_company(segext.objectid, pg_catalog.regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text),
    segext.revoke_company(segext.objectid, pg_catalog.regrole) TO segext_admin;

-- Trigger functions are not for calling.
REVOKE EXECUTE ON FUNCTION segext.companies_rules(), segext.segments_rules(),
    segext.segment_groups_rules(), segext.channels_rules(),
    segext.channel_segments_rules(), segext.channel_mix_check(),
    segext.channel_mix_write(), segext.channel_mix_sync(),
    segext.company_roles_invalidate() FROM PUBLIC;

-- Row level security: a row is visible when it belongs to the current
-- company; a new or changed row must belong to it and the current company
-- must be writable (a writer grant, a gateway's JWT claim or admin:
-- writable_company_id raises 42501 for a reader grant), and so must the
-- company of a deleted row (a restrictive policy); members of segext_admin
-- see and change every company.  Each function is read once per query
-- ((SELECT ...) is an InitPlan).  Few policies per table keep the relcache
-- entry cheap to rebuild after each change of segments.
ALTER TABLE segext.companies ENABLE ROW LEVEL SECURITY;
CREATE POLICY company_tenant ON segext.companies
    USING (id OPERATOR(pg_catalog.=) (SELECT segext.current_company_id()))
    WITH CHECK (id OPERATOR(pg_catalog.=) (SELECT segext.writable_company_id()));
COMMENT ON POLICY company_tenant ON segext.companies IS 'the current company only; changed when it may be written';
CREATE POLICY company_admin ON segext.companies
    USING ((SELECT pg_catalog.pg_has_role('segext_admin', 'member')))
    WITH CHECK ((SELECT pg_catalog.pg_has_role('segext_admin', 'member')));
COMMENT ON POLICY company_admin ON segext.companies IS 'members of segext_admin: every company';

ALTER TABLE segext.company_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY company_roles_read ON segext.company_roles FOR SELECT
    USING (pg_catalog.pg_has_role(role::pg_catalog.oid, 'member'));
COMMENT ON POLICY company_roles_read ON segext.company_roles IS 'the grants to roles the current role is a member of';
CREATE POLICY company_roles_admin ON segext.company_roles
    USING ((SELECT pg_catalog.pg_has_role('segext_admin', 'member')))
    WITH CHECK ((SELECT pg_catalog.pg_has_role('segext_admin', 'member')));
COMMENT ON POLICY company_roles_admin ON segext.company_roles IS 'members of segext_admin: every grant';

-- enable_tenant_policies gives a company-scoped table the policies every
-- such table has (tenant, admin, and the restrictive delete); install
-- scripts call it for each table.
CREATE FUNCTION segext.enable_tenant_policies(tbl pg_catalog.regclass) RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name pg_catalog.text := (SELECT c.relname FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) tbl);
    readable pg_catalog.text := 'company_id OPERATOR(pg_catalog.=) (SELECT segext.current_company_id())';
    writable pg_catalog.text := 'company_id OPERATOR(pg_catalog.=) (SELECT segext.writable_company_id())';
    admin pg_catalog.text := '(SELECT pg_catalog.pg_has_role(''segext_admin'', ''member''))';
BEGIN
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s USING (%s) WITH CHECK (%s)',
        name OPERATOR(pg_catalog.||) '_tenant', tbl, readable, writable);
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name OPERATOR(pg_catalog.||) '_tenant', tbl, 'rows of the current company; written when it may be written');
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s USING (%s) WITH CHECK (%s)', name OPERATOR(pg_catalog.||) '_admin', tbl, admin, admin);
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name OPERATOR(pg_catalog.||) '_admin', tbl, 'members of segext_admin: every company');
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s AS RESTRICTIVE FOR DELETE USING (%s OR %s)',
        name OPERATOR(pg_catalog.||) '_delete', tbl, writable, admin);
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name OPERATOR(pg_catalog.||) '_delete', tbl, 'deleted rows: of the current company when it may be written, or by an admin');
END
$$;
COMMENT ON FUNCTION segext.enable_tenant_policies(pg_catalog.regclass) IS
'install-time helper: enables row level security on a company-scoped table with its tenant, admin and restrictive delete policies';
REVOKE EXECUTE ON FUNCTION segext.enable_tenant_policies(pg_catalog.regclass) FROM PUBLIC;

SELECT segext.enable_tenant_policies(t) FROM (VALUES
    ('segext.segment_groups'::pg_catalog.regclass), ('segext.segments'),
    ('segext.channels'), ('segext.channel_segments')) AS v(t);
