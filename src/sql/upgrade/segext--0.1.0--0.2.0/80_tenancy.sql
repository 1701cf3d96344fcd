-- 0.1.0 -> 0.2.0, tenancy: companies are granted, not claimed
-- (src/sql/78_company_roles.sql, 80_roles.sql, 89_api_grants.sql).  Existing
-- logins keep their table privileges but see no company until a member of
-- segext_admin grants them one with segext.grant_company; PostgREST's
-- authenticator must be made a member of segext_gateway (deploy/roles.sql).

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_gateway') THEN
        CREATE ROLE segext_gateway NOLOGIN;
    END IF;
END
$roles$;

COMMENT ON FUNCTION segext.current_company_id() IS 'current company: the company_id claim of a gateway session (request.jwt.claims or jwt.claims.company_id), else segext.company_id when the current role is granted it (any company for segext_admin), else the one company granted to the role, else NULL; NULL too when segext.company_id names an ungranted company or a claim is malformed, which a query on segext''s tables refuses when it starts (42501, 22P02)';

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

-- Privileges on the grants.
GRANT SELECT ON segext.company_roles TO segext_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON segext.company_roles TO segext_admin;
REVOKE EXECUTE ON FUNCTION segext.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text),
    segext.revoke_company(segext.objectid, pg_catalog.regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text),
    segext.revoke_company(segext.objectid, pg_catalog.regrole) TO segext_admin;
REVOKE EXECUTE ON FUNCTION segext.company_roles_invalidate() FROM PUBLIC;
GRANT SELECT ON segext_api.company_roles TO segext_reader;
REVOKE ALL ON FUNCTION segext_api.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text),
    segext_api.revoke_company(segext.objectid, pg_catalog.regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext_api.grant_company(segext.objectid, pg_catalog.regrole, pg_catalog.text),
    segext_api.revoke_company(segext.objectid, pg_catalog.regrole) TO segext_admin;

-- Row level security: writes need a writable current company.
DROP POLICY company_tenant ON segext.companies;
DROP POLICY company_admin ON segext.companies;
DROP POLICY segment_groups_tenant ON segext.segment_groups;
DROP POLICY segment_groups_admin ON segext.segment_groups;
DROP POLICY segments_tenant ON segext.segments;
DROP POLICY segments_admin ON segext.segments;
DROP POLICY channels_tenant ON segext.channels;
DROP POLICY channels_admin ON segext.channels;
DROP POLICY channel_segments_tenant ON segext.channel_segments;
DROP POLICY channel_segments_admin ON segext.channel_segments;
DROP POLICY customers_tenant ON segext.customers;
DROP POLICY customers_admin ON segext.customers;
DROP POLICY transactions_tenant ON segext.transactions;
DROP POLICY transactions_admin ON segext.transactions;
DROP POLICY memberships_tenant ON segext.memberships;
DROP POLICY memberships_admin ON segext.memberships;
DROP POLICY membership_history_tenant ON segext.membership_history;
DROP POLICY membership_history_admin ON segext.membership_history;

-- Row level security: a row is visible when it belongs to the current
-- company; a new or changed row must belong to it and the current company
-- must be writable (a writer grant, a gateway's JWT claim or admin:
-- writable_company_id raises 42501 for a reader grant), and so must the
-- company of a deleted row (a restrictive policy); members of segext_admin
-- see and change every company.  Each function is read once per query
-- ((SELECT ...) is an InitPlan).  Few policies per table keep the relcache
-- entry cheap to rebuild after each change of segments.
CREATE POLICY company_tenant ON segext.companies
    USING (id OPERATOR(pg_catalog.=) (SELECT segext.current_company_id()))
    WITH CHECK (id OPERATOR(pg_catalog.=) (SELECT segext.writable_company_id()));
COMMENT ON POLICY company_tenant ON segext.companies IS 'the current company only; changed when it may be written';
CREATE POLICY company_admin ON segext.companies
    USING ((SELECT pg_catalog.pg_has_role('segext_admin', 'member')))
    WITH CHECK ((SELECT pg_catalog.pg_has_role('segext_admin', 'member')));
COMMENT ON POLICY company_admin ON segext.companies IS 'members of segext_admin: every company';

ALTER TABLE segext.company_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY company_roles_read ON segext.company_roles FOR SELECT
    USING (pg_catalog.pg_has_role(role::pg_catalog.oid, 'member'));
COMMENT ON POLICY company_roles_read ON segext.company_roles IS 'the grants to roles the current role is a member of';
CREATE POLICY company_roles_admin ON segext.company_roles
    USING ((SELECT pg_catalog.pg_has_role('segext_admin', 'member')))
    WITH CHECK ((SELECT pg_catalog.pg_has_role('segext_admin', 'member')));
COMMENT ON POLICY company_roles_admin ON segext.company_roles IS 'members of segext_admin: every grant';

-- enable_tenant_policies gives a company-scoped table the policies every
-- such table has (tenant, admin, and the restrictive delete); install
-- scripts call it for each table.
CREATE OR REPLACE FUNCTION segext.enable_tenant_policies(tbl pg_catalog.regclass) RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name pg_catalog.text := (SELECT c.relname FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) tbl);
    readable pg_catalog.text := 'company_id OPERATOR(pg_catalog.=) (SELECT segext.current_company_id())';
    writable pg_catalog.text := 'company_id OPERATOR(pg_catalog.=) (SELECT segext.writable_company_id())';
    admin pg_catalog.text := '(SELECT pg_catalog.pg_has_role(''segext_admin'', ''member''))';
BEGIN
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s USING (%s) WITH CHECK (%s)',
        name OPERATOR(pg_catalog.||) '_tenant', tbl, readable, writable);
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name OPERATOR(pg_catalog.||) '_tenant', tbl, 'rows of the current company; written when it may be written');
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s USING (%s) WITH CHECK (%s)', name OPERATOR(pg_catalog.||) '_admin', tbl, admin, admin);
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name OPERATOR(pg_catalog.||) '_admin', tbl, 'members of segext_admin: every company');
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s AS RESTRICTIVE FOR DELETE USING (%s OR %s)',
        name OPERATOR(pg_catalog.||) '_delete', tbl, writable, admin);
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name OPERATOR(pg_catalog.||) '_delete', tbl, 'deleted rows: of the current company when it may be written, or by an admin');
END
$$;
COMMENT ON FUNCTION segext.enable_tenant_policies(pg_catalog.regclass) IS
'install-time helper: enables row level security on a company-scoped table with its tenant, admin and restrictive delete policies';

SELECT segext.enable_tenant_policies(t) FROM (VALUES
    ('segext.segment_groups'::pg_catalog.regclass), ('segext.segments'),
    ('segext.channels'), ('segext.channel_segments'), ('segext.customers'),
    ('segext.transactions'), ('segext.memberships'), ('segext.membership_history')) AS v(t);
