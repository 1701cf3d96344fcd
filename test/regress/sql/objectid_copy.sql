-- objectid through COPY: binary and text round trips, and binary input
-- of the wrong length (22P03).  The server writes the files, into its data
-- directory; the client removes them at the end.
SET search_path = segext, public;
\set SHOW_CONTEXT never
SELECT current_setting('data_directory') || '/segext_objectid_copy.bin' AS copy_file,
       current_setting('data_directory') || '/segext_objectid_copy_bad.bin' AS bad_file \gset

CREATE TABLE oid_copy_src (n int, id segext.objectid, ids segext.objectid[]);
INSERT INTO oid_copy_src
    SELECT n, objectid_generate(), ARRAY[objectid_generate(), objectid_generate()]
    FROM generate_series(1, 1000) n;
INSERT INTO oid_copy_src VALUES
    (-1, '507F1F77BCF86CD799439011', '{507f1f77bcf86cd799439011,NULL}'),
    (-2, '000000000000000000000000', '{}'),
    (-3, 'ffffffffffffffffffffffff', NULL),
    (-4, NULL, '{ffffffffffffffffffffffff}');

-- binary round trip
COPY oid_copy_src TO :'copy_file' WITH (FORMAT binary);
CREATE TABLE oid_copy_dst (LIKE oid_copy_src);
COPY oid_copy_dst FROM :'copy_file' WITH (FORMAT binary);
SELECT (SELECT count(*) FROM oid_copy_dst) AS copied,
       (SELECT count(*) FROM (SELECT * FROM oid_copy_src EXCEPT ALL SELECT * FROM oid_copy_dst) d) AS missing,
       (SELECT count(*) FROM (SELECT * FROM oid_copy_dst EXCEPT ALL SELECT * FROM oid_copy_src) d) AS extra;
SELECT n, id, ids FROM oid_copy_dst WHERE n < 0 ORDER BY n DESC;

-- text round trip
TRUNCATE oid_copy_dst;
COPY oid_copy_src TO :'copy_file';
COPY oid_copy_dst FROM :'copy_file';
SELECT (SELECT count(*) FROM oid_copy_dst) AS copied,
       (SELECT count(*) FROM (SELECT * FROM oid_copy_src EXCEPT ALL SELECT * FROM oid_copy_dst) d) AS missing;

-- text COPY of a malformed id fails with 22P02
COPY oid_copy_dst (n, id) FROM stdin;
7	507f1f77bcf86cd79943901
\.

-- binary COPY of 11, 13 and 0 bytes fails with 22P03; 12 bytes load.  The
-- crafted files are binary COPY files of a bytea column holding those bytes.
CREATE TABLE oid_copy_raw (b bytea);
CREATE TABLE oid_copy_one (id segext.objectid);
INSERT INTO oid_copy_raw VALUES ('\x507f1f77bcf86cd7994390');
COPY oid_copy_raw TO :'bad_file' WITH (FORMAT binary);
COPY oid_copy_one FROM :'bad_file' WITH (FORMAT binary);
\echo :LAST_ERROR_SQLSTATE
TRUNCATE oid_copy_raw;
INSERT INTO oid_copy_raw VALUES ('\x507f1f77bcf86cd79943901100');
COPY oid_copy_raw TO :'bad_file' WITH (FORMAT binary);
COPY oid_copy_one FROM :'bad_file' WITH (FORMAT binary);
\echo :LAST_ERROR_SQLSTATE
TRUNCATE oid_copy_raw;
INSERT INTO oid_copy_raw VALUES ('\x');
COPY oid_copy_raw TO :'bad_file' WITH (FORMAT binary);
COPY oid_copy_one FROM :'bad_file' WITH (FORMAT binary);
\echo :LAST_ERROR_SQLSTATE
TRUNCATE oid_copy_raw;
INSERT INTO oid_copy_raw VALUES ('\x507f1f77bcf86cd799439011'), ('\x000000000000000000000000');
COPY oid_copy_raw TO :'bad_file' WITH (FORMAT binary);
COPY oid_copy_one FROM :'bad_file' WITH (FORMAT binary);
SELECT id FROM oid_copy_one ORDER BY id;

DROP TABLE oid_copy_src, oid_copy_dst, oid_copy_raw, oid_copy_one;
\setenv SEGEXT_COPY_FILE :copy_file
\setenv SEGEXT_BAD_FILE :bad_file
\! rm -f "$SEGEXT_COPY_FILE" "$SEGEXT_BAD_FILE"
