-- segext upgrade script 0.1.0 -> 0.2.0, assembled by the Makefile from
-- src/sql/upgrade/segext--0.1.0--0.2.0/NN_*.sql: each part brings a 0.1.0 database to the
-- state a fresh 0.2.0 install (src/sql/NN_*.sql) has for one concept.

\echo Use "ALTER EXTENSION segext UPDATE TO '0.2.0'" to load this file. \quit
