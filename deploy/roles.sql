-- deploy/roles.sql: roles PostgREST uses with segext.  Run once per cluster,
-- as a superuser, after CREATE EXTENSION segext (which creates segext_reader,
-- segext_writer, segext_admin and segext_gateway):
--   psql -v authenticator_password="'...'" -f deploy/roles.sql
-- PostgREST logs in as segext_authenticator (LOGIN NOINHERIT: it has no rights
-- of its own) and switches to the role named by the JWT's "role" claim, or to
-- segext_anon when no JWT is sent.  segext_anon has no rights on segext_api, so
-- unauthenticated requests get 401.  segext_authenticator is a member of
-- segext_gateway: segext trusts the company_id claim of request.jwt.claims
-- only in sessions opened by such a login, as PostgREST has checked the
-- token's signature; no company needs to be granted to the JWT roles.

\set ON_ERROR_STOP 1

SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'segext_authenticator') AS create_authenticator \gset
\if :create_authenticator
CREATE ROLE segext_authenticator LOGIN NOINHERIT NOCREATEDB NOCREATEROLE NOSUPERUSER;
\endif
ALTER ROLE segext_authenticator PASSWORD :authenticator_password;
COMMENT ON ROLE segext_authenticator IS 'PostgREST login role for segext: switches to the JWT role';

SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'segext_anon') AS create_anon \gset
\if :create_anon
CREATE ROLE segext_anon NOLOGIN;
\endif
COMMENT ON ROLE segext_anon IS 'PostgREST role for requests without a JWT: no rights on segext_api';

GRANT segext_anon, segext_reader, segext_writer, segext_admin TO segext_authenticator;
GRANT segext_gateway TO segext_authenticator;
