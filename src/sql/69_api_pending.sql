-- 69: stand-ins for objects of the business-rules part that the API needs
-- (current company, roles); removed when that part lands.

CREATE FUNCTION segext.current_company_id() RETURNS segext.objectid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT COALESCE(
        NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb OPERATOR(pg_catalog.->>) 'company_id',
        NULLIF(pg_catalog.current_setting('segext.company_id', true), ''))::segext.objectid
    $$;
COMMENT ON FUNCTION segext.current_company_id() IS 'company of the current request: JWT claim company_id, else the setting segext.company_id';

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_reader') THEN
        CREATE ROLE segext_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_writer') THEN
        CREATE ROLE segext_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_admin') THEN
        CREATE ROLE segext_admin NOLOGIN;
    END IF;
END
$$;
