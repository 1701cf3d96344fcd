-- demo/00_setup.sql: load segext into the demo database.
\set ECHO queries
\pset footer off
CREATE EXTENSION segext;
