-- 52: members are kept true in the statement that changes a customer, its
-- transactions or a segment, evaluated from the customer states
-- (src/sql/50_membership.sql, src/membership.c).  The aggregate that
-- computed customer figures from transactions for each refresh goes: the
-- state is the one place per-customer figures come from.

DROP AGGREGATE segext.customer_facts(segext.criteria[], pg_catalog.timestamptz, pg_catalog.numeric, pg_catalog.numeric,
    pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.text[], pg_catalog.text[], pg_catalog.text[]);
DROP FUNCTION segext.customer_facts_step(pg_catalog.bytea, segext.criteria[], pg_catalog.timestamptz,
    pg_catalog.numeric, pg_catalog.numeric, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.text,
    pg_catalog.text[], pg_catalog.text[], pg_catalog.text[]);
DROP FUNCTION segext.customer_facts_combine(pg_catalog.bytea, pg_catalog.bytea);

COMMENT ON TABLE segext.memberships IS 'current members of each active segment, changed by segext in the statement that changes a customer, its transactions or a segment';
COMMENT ON FUNCTION segext.segment_members(segext.objectid) IS 'evaluates a segment now from the customer states, without writing: (segment, customer) for the customers that match its criteria (0: active customers, 1: active customers in no other active segment, manual: its active explicit members)';
COMMENT ON FUNCTION segext.refresh_segment(segext.objectid) IS 'evaluates one segment of the current company (an inactive one loses its members) and the built-ins 0 and 1 for every customer from the customer states; returns the number of changes';
COMMENT ON FUNCTION segext.refresh_company(segext.objectid) IS 'rebuilds a company''s customer states from its transactions and evaluates every active segment for every customer (inactive segments lose their members): the repair path; returns the number of changes';

ALTER TABLE segext.memberships DROP CONSTRAINT memberships_company_id_segment_id_fkey,
    DROP CONSTRAINT memberships_company_id_customer_id_fkey;
ALTER TABLE segext.membership_history DROP CONSTRAINT membership_history_company_id_segment_id_fkey;

CREATE FUNCTION segext.reevaluate_customers(company_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_reevaluate_customers_sql' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.reevaluate_customers(segext.objectid, segext.objectid[]) IS 'evaluates the listed customers of a company against every active segment from their customer states and writes the differences (what the triggers do; for schedules of time-relative criteria and repairs); returns the number of changes';

-- The triggers that keep members fresh.  The state trigger of transactions
-- (45) re-evaluates the customers whose state it changed; these do it for
-- customers inserted or updated, and for the whole company when a
-- segment's criteria or active flag change; they delete the members of
-- deleted customers, and the members, counts and history of deleted
-- segments.
CREATE FUNCTION segext.customers_membership() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_customers_membership' LANGUAGE C;
COMMENT ON FUNCTION segext.customers_membership() IS 'trigger: re-evaluates the members of the customers a statement inserted or updated, removes those of deleted customers';
CREATE TRIGGER customers_membership_insert AFTER INSERT ON segext.customers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.customers_membership();
COMMENT ON TRIGGER customers_membership_insert ON segext.customers IS 'new customers enter their segments';
CREATE TRIGGER customers_membership_update AFTER UPDATE ON segext.customers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.customers_membership();
COMMENT ON TRIGGER customers_membership_update ON segext.customers IS 'changed customers enter and leave segments';
CREATE TRIGGER customers_membership_delete AFTER DELETE ON segext.customers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.customers_membership();
COMMENT ON TRIGGER customers_membership_delete ON segext.customers IS 'deleted customers leave their segments';

CREATE FUNCTION segext.segments_membership() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_segments_membership' LANGUAGE C;
COMMENT ON FUNCTION segext.segments_membership() IS 'trigger: re-evaluates, for every customer, the segments whose criteria or active flag a statement changed, and Default; deletes the rows of deleted segments';
CREATE TRIGGER segments_membership_insert AFTER INSERT ON segext.segments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.segments_membership();
COMMENT ON TRIGGER segments_membership_insert ON segext.segments IS 'a new active segment gets its members';
CREATE TRIGGER segments_membership_update AFTER UPDATE ON segext.segments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.segments_membership();
COMMENT ON TRIGGER segments_membership_update ON segext.segments IS 'a segment whose criteria or active flag changed gets its members anew';
CREATE TRIGGER segments_membership_delete AFTER DELETE ON segext.segments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.segments_membership();
COMMENT ON TRIGGER segments_membership_delete ON segext.segments IS 'a deleted segment''s members, counts and history go; its members may enter Default';

REVOKE EXECUTE ON FUNCTION segext.customers_membership(), segext.segments_membership() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.reevaluate_customers(segext.objectid, segext.objectid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.reevaluate_customers(segext.objectid, segext.objectid[]) TO segext_writer;
