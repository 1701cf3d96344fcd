-- 40: the sign of a transaction's amount is the rule of the
-- transactions_check trigger alone (its error names the amount and how to
-- record a sale or a return); the table's CHECK keeps the returned amounts.
ALTER TABLE segext.transactions DROP CONSTRAINT transactions_check,
    ADD CONSTRAINT transactions_check
    CHECK (CASE WHEN returns_id IS NULL
                THEN returned_amount OPERATOR(pg_catalog.>=) 0
                     AND returned_amount OPERATOR(pg_catalog.<=) amount
                ELSE returned_amount OPERATOR(pg_catalog.=) 0 END);
