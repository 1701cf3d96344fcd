-- 40: customers and their transactions (src/transactions.c holds the triggers).
-- Labels and items are jsonb arrays validated by C triggers, so one scan of
-- transactions (and one of customers) yields every per-customer figure: no
-- join to item or label tables during evaluation.  The trigger also keeps
-- lower-cased derived arrays of SKUs, makers and item labels (GIN indexed)
-- and, on every sale, the amount returned so far, so "fully returned" is a
-- comparison of two columns of the same row.

CREATE TABLE segext.customers (
    company_id      segext.objectid NOT NULL REFERENCES segext.companies (id) ON DELETE CASCADE,
    id              segext.objectid NOT NULL DEFAULT segext.objectid_generate(),
    external_id     pg_catalog.text CHECK (pg_catalog.char_length(external_id) BETWEEN 1 AND 200),
    first_name      pg_catalog.text,
    last_name       pg_catalog.text,
    email           pg_catalog.text,
    phone           pg_catalog.text,
    birth_date      pg_catalog.date,
    registered_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    active          pg_catalog.bool NOT NULL DEFAULT true,
    channel_id      segext.objectid,
    labels          pg_catalog.jsonb NOT NULL DEFAULT '[]',
    attributes      pg_catalog.jsonb NOT NULL DEFAULT '{}'
                    CHECK (pg_catalog.jsonb_typeof(attributes) OPERATOR(pg_catalog.=) 'object'),
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, id),
    UNIQUE (company_id, external_id),
    FOREIGN KEY (company_id, channel_id) REFERENCES segext.channels (company_id, id)
        ON DELETE SET NULL (channel_id)
);
COMMENT ON TABLE segext.customers IS 'customers of a company; only active customers can be members of a segment';
COMMENT ON COLUMN segext.customers.external_id IS 'the customer''s id in the company''s own systems, unique per company';
COMMENT ON COLUMN segext.customers.channel_id IS 'acquisition channel (set to NULL when the channel is deleted)';
COMMENT ON COLUMN segext.customers.labels IS 'labels: jsonb array of {"key": text, "value": text}, checked by a trigger';
COMMENT ON COLUMN segext.customers.attributes IS 'free-form attributes (a jsonb object) for field criteria';

CREATE INDEX customers_company_active_idx ON segext.customers (company_id, active);
COMMENT ON INDEX segext.customers_company_active_idx IS 'active customers of a company';
CREATE INDEX customers_channel_idx ON segext.customers (company_id, channel_id) WHERE channel_id IS NOT NULL;
COMMENT ON INDEX segext.customers_channel_idx IS 'customers per acquisition channel';

CREATE TABLE segext.transactions (
    company_id      segext.objectid NOT NULL,
    id              segext.objectid NOT NULL DEFAULT segext.objectid_generate(),
    customer_id     segext.objectid NOT NULL,
    occurred_at     pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    amount          pg_catalog.numeric(14,2) NOT NULL,
    pos_id          pg_catalog.text,
    returns_id      segext.objectid,
    items           pg_catalog.jsonb NOT NULL DEFAULT '[]',
    returned_amount pg_catalog.numeric(14,2) NOT NULL DEFAULT 0,
    item_skus       pg_catalog.text[] NOT NULL DEFAULT '{}',
    item_makers     pg_catalog.text[] NOT NULL DEFAULT '{}',
    item_labels     pg_catalog.text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (company_id, id),
    FOREIGN KEY (company_id, customer_id) REFERENCES segext.customers (company_id, id) ON DELETE CASCADE,
    FOREIGN KEY (company_id, returns_id) REFERENCES segext.transactions (company_id, id),
    -- the sign of amount is the transactions_check trigger's rule alone: its
    -- error names the amount and how to record a sale or a return
    CHECK (CASE WHEN returns_id IS NULL
                THEN returned_amount OPERATOR(pg_catalog.>=) 0
                     AND returned_amount OPERATOR(pg_catalog.<=) amount
                ELSE returned_amount OPERATOR(pg_catalog.=) 0 END)
);
COMMENT ON TABLE segext.transactions IS 'sales (amount > 0) and returns (amount < 0, returns_id = the sale returned)';
COMMENT ON COLUMN segext.transactions.amount IS 'sale amount (> 0), or minus the amount returned (< 0) for a return';
COMMENT ON COLUMN segext.transactions.returns_id IS 'for a return: the sale of the same customer it returns; NULL for a sale';
COMMENT ON COLUMN segext.transactions.items IS 'items: jsonb array of {"sku", "maker", "labels": [{"key","value"}], "quantity", "amount"}, checked by a trigger';
COMMENT ON COLUMN segext.transactions.returned_amount IS 'on a sale: the amount returned so far (kept by a trigger); the sale is fully returned when it equals amount';
COMMENT ON COLUMN segext.transactions.item_skus IS 'lower-cased distinct SKUs of the items (kept by a trigger)';
COMMENT ON COLUMN segext.transactions.item_makers IS 'lower-cased distinct makers of the items (kept by a trigger)';
COMMENT ON COLUMN segext.transactions.item_labels IS 'lower-cased distinct item labels as key, U+001F, value (kept by a trigger)';

CREATE INDEX transactions_customer_idx ON segext.transactions (company_id, customer_id, occurred_at);
COMMENT ON INDEX segext.transactions_customer_idx IS 'transactions of a customer in time order';
CREATE INDEX transactions_occurred_idx ON segext.transactions (company_id, occurred_at);
COMMENT ON INDEX segext.transactions_occurred_idx IS 'transactions of a company by time (purchase periods, recent purchases)';
CREATE INDEX transactions_pos_idx ON segext.transactions (company_id, pos_id);
COMMENT ON INDEX segext.transactions_pos_idx IS 'transactions of a company by point of sale';
CREATE INDEX transactions_returns_idx ON segext.transactions (company_id, returns_id) WHERE returns_id IS NOT NULL;
COMMENT ON INDEX segext.transactions_returns_idx IS 'returns of a sale';
CREATE INDEX transactions_skus_idx ON segext.transactions USING gin (item_skus);
COMMENT ON INDEX segext.transactions_skus_idx IS 'transactions containing an SKU (lower-cased)';
CREATE INDEX transactions_makers_idx ON segext.transactions USING gin (item_makers);
COMMENT ON INDEX segext.transactions_makers_idx IS 'transactions containing an item of a maker (lower-cased)';
CREATE INDEX transactions_labels_idx ON segext.transactions USING gin (item_labels);
COMMENT ON INDEX segext.transactions_labels_idx IS 'transactions containing an item label (lower-cased key U+001F value)';

CREATE FUNCTION segext.customers_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_customers_check' LANGUAGE C;
COMMENT ON FUNCTION segext.customers_check() IS 'trigger: validates customer labels and maintains updated_at';
CREATE TRIGGER customers_check BEFORE INSERT OR UPDATE ON segext.customers
    FOR EACH ROW EXECUTE FUNCTION segext.customers_check();
COMMENT ON TRIGGER customers_check ON segext.customers IS 'validates labels, maintains updated_at';

CREATE FUNCTION segext.transactions_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_transactions_check' LANGUAGE C;
COMMENT ON FUNCTION segext.transactions_check() IS 'trigger: validates items and the sale a return refers to, fills the derived item arrays';
CREATE TRIGGER transactions_check BEFORE INSERT OR UPDATE ON segext.transactions
    FOR EACH ROW EXECUTE FUNCTION segext.transactions_check();
COMMENT ON TRIGGER transactions_check ON segext.transactions IS 'validates items, sign of amount and the returned sale';

CREATE FUNCTION segext.transactions_returned() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_transactions_returned' LANGUAGE C;
COMMENT ON FUNCTION segext.transactions_returned() IS 'trigger: keeps returned_amount of the sale a return refers to, refusing to return more than was sold';
CREATE TRIGGER transactions_returned_insert AFTER INSERT ON segext.transactions
    FOR EACH ROW WHEN (NEW.returns_id IS NOT NULL) EXECUTE FUNCTION segext.transactions_returned();
COMMENT ON TRIGGER transactions_returned_insert ON segext.transactions IS 'adds a new return to the returned amount of its sale';
CREATE TRIGGER transactions_returned_update AFTER UPDATE OF amount, returns_id ON segext.transactions
    FOR EACH ROW WHEN (OLD.returns_id IS NOT NULL OR NEW.returns_id IS NOT NULL)
    EXECUTE FUNCTION segext.transactions_returned();
COMMENT ON TRIGGER transactions_returned_update ON segext.transactions IS 'moves a changed return between the returned amounts of its sales';
CREATE TRIGGER transactions_returned_delete AFTER DELETE ON segext.transactions
    FOR EACH ROW WHEN (OLD.returns_id IS NOT NULL) EXECUTE FUNCTION segext.transactions_returned();
COMMENT ON TRIGGER transactions_returned_delete ON segext.transactions IS 'takes a deleted return off the returned amount of its sale';

SELECT pg_catalog.pg_extension_config_dump('segext.customers', '');
SELECT pg_catalog.pg_extension_config_dump('segext.transactions', '');
