-- 78: which roles may act for which company, and how.  A company is
-- granted, not claimed: a SQL or libpq login names its current company with
-- segext.company_id only among the companies granted to it (directly or to a
-- role it is a member of, as PostgreSQL's own privileges count group roles);
-- JWT claims count only in a session opened by a member of segext_gateway
-- (src/tenancy.c).  Row level security reads the current company and, for
-- INSERT, UPDATE and DELETE, whether it was reached through a writer grant
-- (80_roles.sql).

CREATE TABLE segext.company_roles (
    company_id segext.objectid NOT NULL REFERENCES segext.companies (id) ON DELETE CASCADE,
    role pg_catalog.regrole NOT NULL,
    level pg_catalog.text NOT NULL CHECK (level OPERATOR(pg_catalog.=) ANY (ARRAY['reader', 'writer'])),
    PRIMARY KEY (company_id, role)
);
COMMENT ON TABLE segext.company_roles IS 'grants of companies to roles: members of role may name company_id as their current company (segext.company_id), reading its rows (reader) or also changing them (writer); managed with segext.grant_company and segext.revoke_company';
COMMENT ON COLUMN segext.company_roles.company_id IS 'the company granted';
COMMENT ON COLUMN segext.company_roles.role IS 'the role granted the company; its members (directly or through other roles) have the grant too';
COMMENT ON COLUMN segext.company_roles.level IS 'reader: read the company''s rows; writer: also change them (with the table privileges of segext_writer)';
SELECT pg_catalog.pg_extension_config_dump('segext.company_roles', '');

CREATE FUNCTION segext.company_roles_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_company_roles_invalidate' LANGUAGE C;
COMMENT ON FUNCTION segext.company_roles_invalidate() IS 'trigger: invalidates every session''s cached current company when the grants change';
CREATE TRIGGER company_roles_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON segext.company_roles
    FOR EACH STATEMENT EXECUTE FUNCTION segext.company_roles_invalidate();
COMMENT ON TRIGGER company_roles_invalidate ON segext.company_roles IS 'grants and revokes count from the next statement of every session';

CREATE FUNCTION segext.current_company_writable() RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'segext_current_company_writable' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION segext.current_company_writable() IS 'whether the current role may change the current company''s rows: reached through a writer grant, a JWT claim of a gateway session, or as a member of segext_admin; false without a current company';
CREATE FUNCTION segext.writable_company_id() RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_writable_company_id' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION segext.writable_company_id() IS 'the current company for the INSERT, UPDATE and DELETE policies: NULL when there is none, 42501 when the current role holds only a reader grant for it';

CREATE FUNCTION segext.grant_company(company segext.objectid, role pg_catalog.regrole,
                                     level pg_catalog.text DEFAULT 'reader') RETURNS pg_catalog.void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        IF company IS NULL OR role IS NULL OR level IS NULL THEN
            RAISE EXCEPTION 'company, role and level of a company grant must not be null'
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = 'Call segext.grant_company(company, role, level) with level reader or writer.';
        END IF;
        IF level OPERATOR(pg_catalog.<>) ALL (ARRAY['reader', 'writer']) THEN
            RAISE EXCEPTION 'invalid company grant level "%"', level
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A company is granted at level reader (read its rows) or writer (also change them).',
                      HINT = 'Pass ''reader'' or ''writer''.';
        END IF;
        IF role::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN
            RAISE EXCEPTION 'a company must be granted to a role'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass the name of an existing role.';
        END IF;
        IF NOT EXISTS (SELECT FROM segext.companies AS c WHERE c.id OPERATOR(pg_catalog.=) company) THEN
            RAISE EXCEPTION 'company "%" does not exist', company
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = pg_catalog.format('No row of segext.companies has id %s.', company),
                      HINT = 'Grant the id of an existing company (segext.create_company).';
        END IF;
        INSERT INTO segext.company_roles AS g (company_id, role, level)
            VALUES (company, role, level)
            ON CONFLICT ON CONSTRAINT company_roles_pkey DO UPDATE SET level = EXCLUDED.level;
    END
    $$;
COMMENT ON FUNCTION segext.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text) IS 'grants a company to a role (and its members) at level reader or writer, or changes the level of an existing grant; for members of segext_admin';

CREATE FUNCTION segext.revoke_company(company segext.objectid, role pg_catalog.regrole) RETURNS pg_catalog.void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        IF company IS NULL OR role IS NULL THEN
            RAISE EXCEPTION 'company and role of a company grant must not be null'
                USING ERRCODE = 'null_value_not_allowed',
                      HINT = 'Call segext.revoke_company(company, role).';
        END IF;
        IF NOT EXISTS (SELECT FROM segext.companies AS c WHERE c.id OPERATOR(pg_catalog.=) company) THEN
            RAISE EXCEPTION 'company "%" does not exist', company
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = pg_catalog.format('No row of segext.companies has id %s.', company),
                      HINT = 'Revoke the id of an existing company.';
        END IF;
        DELETE FROM segext.company_roles AS g
         WHERE g.company_id OPERATOR(pg_catalog.=) company
           AND g.role::pg_catalog.oid OPERATOR(pg_catalog.=) revoke_company.role::pg_catalog.oid;
        IF NOT FOUND THEN
            RAISE NOTICE 'company "%" was not granted to role "%"', company, role;
        END IF;
    END
    $$;
COMMENT ON FUNCTION segext.revoke_company(segext.objectid, pg_catalog.regrole) IS 'revokes the grant of a company to a role (its members keep grants made to other roles); for members of segext_admin';

-- The API for admins: the grants, and the two functions.
CREATE VIEW segext_api.company_roles WITH (security_invoker = true) AS
    SELECT g.company_id, g.role, g.level FROM segext.company_roles AS g;
COMMENT ON VIEW segext_api.company_roles IS 'grants of companies to roles: members of segext_admin see every grant, other roles the grants to roles they are members of';
COMMENT ON COLUMN segext_api.company_roles.company_id IS 'the company granted';
COMMENT ON COLUMN segext_api.company_roles.role IS 'the role granted the company (its members have the grant too)';
COMMENT ON COLUMN segext_api.company_roles.level IS 'reader or writer';
CREATE FUNCTION segext_api.grant_company(company segext.objectid, role pg_catalog.regrole,
                                         level pg_catalog.text DEFAULT 'reader') RETURNS pg_catalog.void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT segext.grant_company(company, role, level);
    END;
COMMENT ON FUNCTION segext_api.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text) IS 'grants a company to a role at level reader or writer (admins only)';
CREATE FUNCTION segext_api.revoke_company(company segext.objectid, role pg_catalog.regrole) RETURNS pg_catalog.void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT segext.revoke_company(company, role);
    END;
COMMENT ON FUNCTION segext_api.revoke_company(segext.objectid, pg_catalog.regrole) IS 'revokes the grant of a company to a role (admins only)';
