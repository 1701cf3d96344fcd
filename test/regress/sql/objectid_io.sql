-- objectid text I/O, casts, time functions and generation
SET search_path = segext, public;

-- valid literals: either case in, lowercase out
SELECT '507f1f77bcf86cd799439011'::segext.objectid;
SELECT '507F1F77BCF86CD799439011'::segext.objectid;
SELECT '507f1F77bCf86cD799439011'::segext.objectid;
SELECT '000000000000000000000000'::segext.objectid;
SELECT 'ffffffffffffffffffffffff'::segext.objectid;
SELECT 'FFFFFFFFFFFFFFFFFFFFFFFF'::segext.objectid;
SELECT 'aBcDeF0123456789AbCdEf01'::segext.objectid;

-- invalid literals, one per line (22P02 each)
\set VERBOSITY default
SELECT ''::segext.objectid;
SELECT 'xyz'::segext.objectid;
SELECT '507f1f77bcf86cd79943901'::segext.objectid;
SELECT '507f1f77bcf86cd7994390111'::segext.objectid;
SELECT '507f1f77bcf86cd79943901g'::segext.objectid;
SELECT 'g07f1f77bcf86cd799439011'::segext.objectid;
SELECT ' 507f1f77bcf86cd799439011'::segext.objectid;
SELECT '507f1f77bcf86cd799439011 '::segext.objectid;
SELECT '507f1f77bcf86 cd799439011'::segext.objectid;
SELECT '                        '::segext.objectid;
SELECT '507f1f77-bcf8-6cd7-9943-9011'::segext.objectid;
SELECT '{507f1f77bcf86cd799439011}'::segext.objectid;
SELECT '0x507f1f77bcf86cd79943901'::segext.objectid;
SELECT E'507f1f77bcf86cd799439011\n'::segext.objectid;
SELECT E'\t507f1f77bcf86cd799439011'::segext.objectid;
SELECT '507f1f77bcf86cd79943901é'::segext.objectid;
SELECT 'é07f1f77bcf86cd799439011'::segext.objectid;
SELECT '５07f1f77bcf86cd799439011'::segext.objectid;
SELECT '507f1f77bcf86cd79943901-'::segext.objectid;
SELECT '-07f1f77bcf86cd799439011'::segext.objectid;
SELECT '507f1f77bcf86cd7994390110000'::segext.objectid;
SELECT 'ObjectId("507f1f77bcf86cd799439011")'::segext.objectid;

-- NULL in, NULL out
SELECT NULL::segext.objectid IS NULL AS is_null;

-- casts to and from text
SELECT '507F1F77BCF86CD799439011'::segext.objectid::text;
SELECT 'ABCDEF0123456789abcdef01'::text::segext.objectid;
SELECT 'not an id'::text::segext.objectid;
SELECT pg_typeof('507f1f77bcf86cd799439011'::segext.objectid::text);
-- assignment casts: text into an objectid column and back
CREATE TEMP TABLE oid_io_assign (id segext.objectid, t text);
INSERT INTO oid_io_assign VALUES ('507f1f77bcf86cd799439011'::text, '507f1f77bcf86cd799439011');
UPDATE oid_io_assign SET t = id;
SELECT id, t FROM oid_io_assign;
INSERT INTO oid_io_assign (id) VALUES ('507f1f77bcf86cd79943901'::text);
DROP TABLE oid_io_assign;

-- casts to and from bytea
SELECT '507f1f77bcf86cd799439011'::segext.objectid::bytea;
SELECT '\x507f1f77bcf86cd799439011'::bytea::segext.objectid;
SELECT length('507f1f77bcf86cd799439011'::segext.objectid::bytea);
SELECT '\x'::bytea::segext.objectid;
SELECT '\x507f1f77bcf86cd7994390'::bytea::segext.objectid;
SELECT '\x507f1f77bcf86cd79943901100'::bytea::segext.objectid;
SELECT '\x00000000000000000000000000000000'::bytea::segext.objectid;
-- NUL bytes are ordinary data in the 12-byte form
SELECT '\x000000000000000000000000'::bytea::segext.objectid;
-- bytea has no implicit or assignment cast to objectid
CREATE TEMP TABLE oid_io_bytea (id segext.objectid);
INSERT INTO oid_io_bytea VALUES ('\x507f1f77bcf86cd799439011'::bytea);
DROP TABLE oid_io_bytea;

-- objectid_timestamp: the first 4 bytes, big-endian seconds since 1970
SET TIME ZONE 'UTC';
SELECT objectid_timestamp('507f1f77bcf86cd799439011');
SELECT objectid_timestamp('000000000000000000000000');
SELECT objectid_timestamp('ffffffffffffffffffffffff');
SELECT objectid_timestamp('7fffffff0000000000000000');
SELECT objectid_timestamp('8000000000000000000000ff');

-- objectid_from_time: the smallest id of the second holding the time
SELECT objectid_from_time('2012-10-17 21:13:27+00');
SELECT objectid_from_time('2012-10-17 21:13:27.999999+00');
SELECT objectid_from_time('2012-10-17 23:13:27+02');
SELECT objectid_from_time('1970-01-01 00:00:00+00');
SELECT objectid_from_time('1970-01-01 00:00:00.5+00');
SELECT objectid_from_time('2106-02-07 06:28:15+00');
SELECT objectid_from_time('2106-02-07 06:28:15.999999+00');
SELECT objectid_timestamp(objectid_from_time('2024-02-29 12:34:56.789+00'));
-- out of range (22008)
SELECT objectid_from_time('1969-12-31 23:59:59.999999+00');
SELECT objectid_from_time('2106-02-07 06:28:16+00');
SELECT objectid_from_time('infinity');
SELECT objectid_from_time('-infinity');
SELECT objectid_from_time(NULL) IS NULL AS is_null;
-- from_time(timestamp(id)) <= id < from_time(timestamp(id) + 1 second)
SELECT objectid_from_time(objectid_timestamp(x)) <= x AS lower_bound,
       x < objectid_from_time(objectid_timestamp(x) + interval '1 second') AS upper_bound
FROM (VALUES ('507f1f77bcf86cd799439011'::segext.objectid)) v (x);

-- generation: stamped now (first call of this session, so the counter cannot
-- have wrapped and moved the second on), distinct, strictly increasing within
-- a statement
SELECT objectid_timestamp(objectid_generate())
       BETWEEN date_trunc('second', clock_timestamp() - interval '1 second')
           AND clock_timestamp() AS stamped_now;
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids,
       bool_and(prev IS NULL OR prev < id) AS increasing
FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev
      FROM (SELECT n, objectid_generate() AS id
            FROM generate_series(1, 100000) n) g) s;
-- volatile: two calls in one row differ
SELECT objectid_generate() <> objectid_generate() AS differ;
-- the text form of a generated id is 24 lowercase hex digits
SELECT objectid_generate()::text ~ '^[0-9a-f]{24}$' AS well_formed;
