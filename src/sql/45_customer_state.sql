-- 45: per-customer state (src/customer_state.c): what every criterion kind
-- needs of a customer's transactions, kept in the same statement as the
-- transactions by statement triggers with transition tables, so a segment
-- (new or changed) is decided from the state and the customer row alone.
--
-- A row exists for every customer with transactions.  No foreign key: the
-- customers trigger deletes the rows of deleted customers, after the cascade
-- to their transactions has emptied them, and a bulk write or rebuild pays
-- no per-row foreign key check.  Only segext writes it (its triggers and
-- functions run their SQL as the table's owner).

CREATE TABLE segext.customer_states (
    company_id      segext.objectid NOT NULL,
    customer_id     segext.objectid NOT NULL,
    transactions    pg_catalog.int8 NOT NULL DEFAULT 0,
    sales           pg_catalog.int8 NOT NULL DEFAULT 0,
    amount          pg_catalog.int8 NOT NULL DEFAULT 0,
    figures         pg_catalog.bytea,
    PRIMARY KEY (company_id, customer_id)
);
COMMENT ON TABLE segext.customer_states IS 'per-customer figures of the transactions, kept by triggers: the only transaction figures segments are evaluated from';
COMMENT ON COLUMN segext.customer_states.transactions IS 'number of the customer''s transactions (sales and returns)';
COMMENT ON COLUMN segext.customer_states.sales IS 'number of counted sales (sales not fully returned)';
COMMENT ON COLUMN segext.customer_states.amount IS 'sum of the amounts of all sales and returns, in millionths (not floored)';
COMMENT ON COLUMN segext.customer_states.figures IS 'times of counted sales and the multisets of their POS ids, SKUs, makers and item labels (segext.customer_state_figures prints them); NULL when there is none';

CREATE FUNCTION segext.customer_state_merge(pg_catalog.bytea, pg_catalog.bytea) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'segext_customer_state_merge' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segext.customer_state_merge(pg_catalog.bytea, pg_catalog.bytea) IS
'internal: adds two customer state figures (signed counts), NULL when nothing is left';

CREATE FUNCTION segext.customer_state_figures(figures pg_catalog.bytea) RETURNS pg_catalog.jsonb
    AS 'MODULE_PATHNAME', 'segext_customer_state_figures' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.customer_state_figures(pg_catalog.bytea) IS
'customer state figures as jsonb: sale_times [{at, sales}], pos, skus, makers [{value, sales}], item_labels [{key, value, sales}]';

CREATE FUNCTION segext.transactions_state() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_transactions_state' LANGUAGE C;
COMMENT ON FUNCTION segext.transactions_state() IS 'trigger: keeps segext.customer_states from the rows a statement wrote to segext.transactions';
CREATE TRIGGER transactions_state_insert AFTER INSERT ON segext.transactions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.transactions_state();
COMMENT ON TRIGGER transactions_state_insert ON segext.transactions IS 'adds new transactions to the customer states';
CREATE TRIGGER transactions_state_update AFTER UPDATE ON segext.transactions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.transactions_state();
COMMENT ON TRIGGER transactions_state_update ON segext.transactions IS 'moves changed transactions (and sales whose returned amount changed) in the customer states';
CREATE TRIGGER transactions_state_delete AFTER DELETE ON segext.transactions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.transactions_state();
COMMENT ON TRIGGER transactions_state_delete ON segext.transactions IS 'takes deleted transactions off the customer states';
CREATE TRIGGER transactions_state_truncate AFTER TRUNCATE ON segext.transactions
    FOR EACH STATEMENT EXECUTE FUNCTION segext.transactions_state();
COMMENT ON TRIGGER transactions_state_truncate ON segext.transactions IS 'empties the customer states';

CREATE FUNCTION segext.customers_state() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_customers_state' LANGUAGE C;
COMMENT ON FUNCTION segext.customers_state() IS 'trigger: deletes the customer states of deleted customers';
CREATE TRIGGER customers_state_delete AFTER DELETE ON segext.customers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION segext.customers_state();
COMMENT ON TRIGGER customers_state_delete ON segext.customers IS 'deletes the states of deleted customers';

CREATE FUNCTION segext.rebuild_customer_states(company_id segext.objectid DEFAULT segext.current_company_id())
    RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_rebuild_customer_states' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.rebuild_customer_states(segext.objectid) IS
'replaces a company''s customer states by ones computed from its transactions in one pass, without changing members (segext.refresh_company does both); returns the number of state rows';

SELECT pg_catalog.pg_extension_config_dump('segext.customer_states', '');
