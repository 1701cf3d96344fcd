-- 85: privileges and row level security of customers, transactions and
-- membership (history and counts are written by a SECURITY DEFINER trigger), in the shape of 80_roles.sql: a row is visible and changeable
-- when it belongs to the current company, or to anyone when the user is a
-- member of segext_admin.

GRANT SELECT ON segext.customers, segext.transactions, segext.memberships,
    segext.membership_history TO segext_reader;
GRANT INSERT, UPDATE, DELETE ON segext.customers, segext.transactions TO segext_writer;
GRANT INSERT, DELETE ON segext.memberships TO segext_writer;
REVOKE EXECUTE ON FUNCTION segext.customers_check(), segext.transactions_check(),
    segext.transactions_returned(), segext.memberships_changed() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.refresh_segment(segext.objectid), segext.refresh_company(segext.objectid),
    segext.activate_segment(segext.objectid), segext.deactivate_segment(segext.objectid),
    segext.add_segment_members(segext.objectid, segext.objectid[]),
    segext.remove_segment_members(segext.objectid, segext.objectid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.refresh_segment(segext.objectid), segext.refresh_company(segext.objectid),
    segext.activate_segment(segext.objectid), segext.deactivate_segment(segext.objectid),
    segext.add_segment_members(segext.objectid, segext.objectid[]),
    segext.remove_segment_members(segext.objectid, segext.objectid[]) TO segext_writer;

ALTER TABLE segext.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_tenant ON segext.customers
    USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY customers_tenant ON segext.customers IS 'rows of the current company only';
CREATE POLICY customers_admin ON segext.customers
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY customers_admin ON segext.customers IS 'members of segext_admin: every company';

ALTER TABLE segext.transactions ENABLE ROW LEVEL SECURITY;
CREATE POLICY transactions_tenant ON segext.transactions
    USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY transactions_tenant ON segext.transactions IS 'rows of the current company only';
CREATE POLICY transactions_admin ON segext.transactions
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY transactions_admin ON segext.transactions IS 'members of segext_admin: every company';

ALTER TABLE segext.memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant ON segext.memberships
    USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY memberships_tenant ON segext.memberships IS 'rows of the current company only';
CREATE POLICY memberships_admin ON segext.memberships
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY memberships_admin ON segext.memberships IS 'members of segext_admin: every company';

ALTER TABLE segext.membership_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY membership_history_tenant ON segext.membership_history
    USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY membership_history_tenant ON segext.membership_history IS 'rows of the current company only';
CREATE POLICY membership_history_admin ON segext.membership_history
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY membership_history_admin ON segext.membership_history IS 'members of segext_admin: every company';
