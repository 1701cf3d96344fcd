-- demo/00_setup.sql: load segext into the demo database.
\set ECHO queries
\pset footer off
\echo '--- segext demo: each statement is printed before its result; errors shown on purpose are announced as "expected error"'
CREATE EXTENSION segext;
