-- segext install script, assembled by the Makefile from src/sql/NN_*.sql.
-- 00: guard and schemas.

\echo Use "CREATE EXTENSION segext" to load this file. \quit

-- Schema segext (private: tables and internal functions) is created by
-- CREATE EXTENSION from the control file; segext_api is the public API.
COMMENT ON SCHEMA segext IS 'segext private schema: tables, types and internal functions';

CREATE SCHEMA segext_api;
COMMENT ON SCHEMA segext_api IS 'segext public API: views and functions for SQL, PostgREST and BI tools';
