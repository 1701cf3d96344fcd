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

-- Trigger functions are not for calling.
REVOKE EXECUTE ON FUNCTION segext.companies_rules(), segext.segments_rules(),
    segext.segment_groups_rules(), segext.channels_rules(),
    segext.channel_segments_rules(), segext.channel_mix_check() FROM PUBLIC;

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

ALTER TABLE segext.segment_groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY segment_groups_tenant ON segext.segment_groups
    USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY segment_groups_tenant ON segext.segment_groups IS 'rows of the current company only';
CREATE POLICY segment_groups_admin ON segext.segment_groups
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY segment_groups_admin ON segext.segment_groups IS 'members of segext_admin: every company';

ALTER TABLE segext.segments ENABLE ROW LEVEL SECURITY;
CREATE POLICY segments_tenant ON segext.segments
    USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY segments_tenant ON segext.segments IS 'rows of the current company only';
CREATE POLICY segments_admin ON segext.segments
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY segments_admin ON segext.segments IS 'members of segext_admin: every company';

ALTER TABLE segext.channels ENABLE ROW LEVEL SECURITY;
CREATE POLICY channels_tenant ON segext.channels
    USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY channels_tenant ON segext.channels IS 'rows of the current company only';
CREATE POLICY channels_admin ON segext.channels
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY channels_admin ON segext.channels IS 'members of segext_admin: every company';

ALTER TABLE segext.channel_segments ENABLE ROW LEVEL SECURITY;
CREATE POLICY channel_segments_tenant ON segext.channel_segments
    USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY channel_segments_tenant ON segext.channel_segments IS 'rows of the current company only';
CREATE POLICY channel_segments_admin ON segext.channel_segments
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY channel_segments_admin ON segext.channel_segments IS 'members of segext_admin: every company';
