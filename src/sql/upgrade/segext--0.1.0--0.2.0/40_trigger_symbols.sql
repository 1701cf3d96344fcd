-- 40: the C symbols of the customer and transaction triggers carry the
-- segext_ prefix (the SQL names, triggers, grants and comments stay).
CREATE OR REPLACE FUNCTION segext.customers_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_customers_check' LANGUAGE C;
CREATE OR REPLACE FUNCTION segext.transactions_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_transactions_check' LANGUAGE C;
CREATE OR REPLACE FUNCTION segext.transactions_returned() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_transactions_returned' LANGUAGE C;
