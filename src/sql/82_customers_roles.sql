-- 82: privileges and row level security of customers, transactions and
-- membership (history and counts are written by a SECURITY DEFINER
-- trigger), in the shape of 80_roles.sql: a row is visible and changeable
-- when it belongs to the current company, or to anyone when the user is a
-- member of segext_admin.

GRANT SELECT ON segext.customers, segext.transactions, segext.memberships,
    segext.membership_history, segext.segment_member_counts TO segext_reader;
GRANT INSERT, UPDATE, DELETE ON segext.customers, segext.transactions TO segext_writer;
-- Writers keep INSERT and DELETE on memberships only so that a direct write
-- reaches the memberships_guard trigger, which refuses it (42501) with a hint
-- naming the functions; segext writes the members as the table's owner.
GRANT INSERT, DELETE ON segext.memberships TO segext_writer;
REVOKE EXECUTE ON FUNCTION segext.customers_check(), segext.transactions_check(),
    segext.transactions_returned(), segext.memberships_changed(), segext.memberships_guard() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.segment_company_id(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.segment_company_id(segext.objectid) TO segext_reader;
REVOKE EXECUTE ON FUNCTION segext.refresh_segment(segext.objectid), segext.refresh_company(segext.objectid),
    segext.activate_segment(segext.objectid), segext.deactivate_segment(segext.objectid),
    segext.add_segment_members(segext.objectid, segext.objectid[]),
    segext.remove_segment_members(segext.objectid, segext.objectid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.refresh_segment(segext.objectid), segext.refresh_company(segext.objectid),
    segext.activate_segment(segext.objectid), segext.deactivate_segment(segext.objectid),
    segext.add_segment_members(segext.objectid, segext.objectid[]),
    segext.remove_segment_members(segext.objectid, segext.objectid[]) TO segext_writer;
REVOKE EXECUTE ON FUNCTION segext.compact_segment_member_counts(segext.objectid, segext.objectid),
    segext.compact_member_counts(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.compact_member_counts(segext.objectid) TO segext_admin;
REVOKE EXECUTE ON FUNCTION segext.lock_segments(segext.objectid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.lock_segments(segext.objectid) TO segext_writer;

SELECT segext.enable_tenant_policies(t) FROM (VALUES
    ('segext.customers'::pg_catalog.regclass), ('segext.transactions'),
    ('segext.memberships'), ('segext.membership_history'), ('segext.segment_member_counts')) AS v(t);
REVOKE EXECUTE ON FUNCTION segext.customers_membership(), segext.segments_membership() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.reevaluate_customers(segext.objectid, segext.objectid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.reevaluate_customers(segext.objectid, segext.objectid[]) TO segext_writer;
