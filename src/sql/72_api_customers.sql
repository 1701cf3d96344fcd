-- 72: customers and transactions in the public API, in the shape of the views
-- of 70_api.sql: the current company's rows only, the key (company_id, id)
-- first, updatable by PostgreSQL itself WITH CASCADED CHECK OPTION into the
-- private tables, where the C triggers check labels, items and returns.

CREATE VIEW segext_api.customers WITH (security_invoker = true) AS
    SELECT c.company_id, c.id, c.external_id, c.first_name, c.last_name, c.email, c.phone,
           c.birth_date, c.registered_at, c.active, c.channel_id, c.labels,
           c.attributes, c.created_at, c.updated_at
      FROM segext.customers c
     WHERE c.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.customers ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.customers IS 'customers of the current company: list, get, create (201 with the generated id), update, upsert (PUT with company_id and id), delete (their transactions and memberships go with them)';
COMMENT ON COLUMN segext_api.customers.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.customers.id IS 'ObjectId of the customer (generated when not given); never changes';
COMMENT ON COLUMN segext_api.customers.external_id IS 'the customer''s id in the company''s own systems, 1-200 characters, unique per company';
COMMENT ON COLUMN segext_api.customers.first_name IS 'first name';
COMMENT ON COLUMN segext_api.customers.last_name IS 'last name';
COMMENT ON COLUMN segext_api.customers.email IS 'e-mail address';
COMMENT ON COLUMN segext_api.customers.phone IS 'phone number';
COMMENT ON COLUMN segext_api.customers.birth_date IS 'date of birth (anniversary criteria)';
COMMENT ON COLUMN segext_api.customers.registered_at IS 'registration time (anniversary criteria); defaults to the time of creation';
COMMENT ON COLUMN segext_api.customers.active IS 'only active customers can be members of a segment; default true';
COMMENT ON COLUMN segext_api.customers.channel_id IS 'ObjectId of the acquisition channel, or null';
COMMENT ON COLUMN segext_api.customers.labels IS 'labels: JSON array of {"key", "value"}';
COMMENT ON COLUMN segext_api.customers.attributes IS 'free-form attributes (a JSON object) that field criteria can test';
COMMENT ON COLUMN segext_api.customers.created_at IS 'creation time (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.customers.updated_at IS 'time of the last change (maintained by segext: a value written is ignored)';

CREATE VIEW segext_api.transactions WITH (security_invoker = true) AS
    SELECT t.company_id, t.id, t.customer_id, t.occurred_at, t.amount, t.pos_id, t.returns_id,
           t.items, t.returned_amount
      FROM segext.transactions t
     WHERE t.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.transactions ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.transactions IS 'sales and returns of the current company''s customers: list, get, create (201 with the generated id), update, upsert (PUT with company_id and id), delete; a return must point at a sale of the same customer (409 otherwise)';
COMMENT ON COLUMN segext_api.transactions.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.transactions.id IS 'ObjectId of the transaction (generated when not given); never changes';
COMMENT ON COLUMN segext_api.transactions.customer_id IS 'ObjectId of the customer';
COMMENT ON COLUMN segext_api.transactions.occurred_at IS 'time of the sale or return; defaults to the time of creation';
COMMENT ON COLUMN segext_api.transactions.amount IS 'sale amount (> 0), or minus the amount returned (< 0) for a return';
COMMENT ON COLUMN segext_api.transactions.pos_id IS 'point of sale';
COMMENT ON COLUMN segext_api.transactions.returns_id IS 'for a return: ObjectId of the sale it returns; null for a sale';
COMMENT ON COLUMN segext_api.transactions.items IS 'items: JSON array of {"sku", "maker", "labels": [{"key", "value"}], "quantity", "amount"}';
COMMENT ON COLUMN segext_api.transactions.returned_amount IS 'on a sale: the amount returned so far (maintained by segext: a value written is ignored)';
