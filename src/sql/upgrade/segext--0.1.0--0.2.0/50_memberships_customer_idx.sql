-- 0.2.0 upgrade part (mirrors 50_membership.sql): the index of a customer's
-- memberships holds their segment ids, so that the maintenance of a sale
-- reads a customer's segments from the index alone where it can.
DROP INDEX segext.memberships_customer_idx;
CREATE INDEX memberships_customer_idx ON segext.memberships (company_id, customer_id) INCLUDE (segment_id);
COMMENT ON INDEX segext.memberships_customer_idx IS 'segments of a customer (read from the index alone where the heap pages are all-visible)';
