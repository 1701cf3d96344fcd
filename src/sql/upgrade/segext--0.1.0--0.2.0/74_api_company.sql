-- 0.2.0 upgrade part (mirrors 74_api_actions.sql): the current company of an
-- API call comes from the tenancy code, with the one "no current company"
-- error of segext.
CREATE OR REPLACE FUNCTION segext.api_company() RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_api_company'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION segext.api_company() IS 'the current company for an API call; raises 42501 "no current company" when there is none';
