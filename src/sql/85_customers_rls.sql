-- 85: row level security of customers and transactions: a session sees and
-- changes only the rows of its current company (JWT claim company_id from
-- PostgREST, else the setting segext.company_id).  Table owners and
-- superusers bypass RLS as usual.
-- The company expression is spelled out here until segext.current_company_id()
-- (src/rules.c) is available; then these policies call it instead.

ALTER TABLE segext.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_company ON segext.customers
    USING (company_id OPERATOR(segext.=) NULLIF(COALESCE(
        NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb OPERATOR(pg_catalog.->>) 'company_id',
        pg_catalog.current_setting('segext.company_id', true)), '')::segext.objectid)
    WITH CHECK (company_id OPERATOR(segext.=) NULLIF(COALESCE(
        NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb OPERATOR(pg_catalog.->>) 'company_id',
        pg_catalog.current_setting('segext.company_id', true)), '')::segext.objectid);
COMMENT ON POLICY customers_company ON segext.customers IS 'rows of the current company only';

ALTER TABLE segext.transactions ENABLE ROW LEVEL SECURITY;
CREATE POLICY transactions_company ON segext.transactions
    USING (company_id OPERATOR(segext.=) NULLIF(COALESCE(
        NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb OPERATOR(pg_catalog.->>) 'company_id',
        pg_catalog.current_setting('segext.company_id', true)), '')::segext.objectid)
    WITH CHECK (company_id OPERATOR(segext.=) NULLIF(COALESCE(
        NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb OPERATOR(pg_catalog.->>) 'company_id',
        pg_catalog.current_setting('segext.company_id', true)), '')::segext.objectid);
COMMENT ON POLICY transactions_company ON segext.transactions IS 'rows of the current company only';
