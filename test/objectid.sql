\set ECHO none
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET TIME ZONE 'UTC';

SELECT plan(125);

-- catalogue: the type, its functions, labels, casts, operators, opclasses
SELECT has_type('segext', 'objectid', 'type segext.objectid exists');
SELECT is((SELECT typlen FROM pg_type WHERE oid = 'segext.objectid'::regtype), 12::int2,
          'objectid is 12 bytes long');
SELECT is((SELECT typbyval FROM pg_type WHERE oid = 'segext.objectid'::regtype), false,
          'objectid is passed by reference');

SELECT has_function('segext', f, args, format('function segext.%s(%s) exists', f, array_to_string(args, ', ')))
FROM (VALUES ('objectid_in', ARRAY['cstring']),
             ('objectid_out', ARRAY['segext.objectid']),
             ('objectid_recv', ARRAY['internal']),
             ('objectid_send', ARRAY['segext.objectid']),
             ('objectid_to_text', ARRAY['segext.objectid']),
             ('text_to_objectid', ARRAY['text']),
             ('objectid_to_bytea', ARRAY['segext.objectid']),
             ('bytea_to_objectid', ARRAY['bytea']),
             ('objectid_eq', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_ne', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_lt', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_le', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_gt', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_ge', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_cmp', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_sortsupport', ARRAY['internal']),
             ('objectid_hash', ARRAY['segext.objectid']),
             ('objectid_hash_extended', ARRAY['segext.objectid', 'bigint']),
             ('objectid_generate', ARRAY[]::text[]),
             ('objectid_timestamp', ARRAY['segext.objectid']),
             ('objectid_from_time', ARRAY['timestamp with time zone'])) v (f, args);

SELECT function_returns('segext', 'objectid_generate', ARRAY[]::text[], 'segext.objectid',
                        'objectid_generate() returns objectid');
SELECT function_returns('segext', 'objectid_timestamp', ARRAY['segext.objectid'], 'timestamp with time zone',
                        'objectid_timestamp(objectid) returns timestamptz');
SELECT function_returns('segext', 'objectid_from_time', ARRAY['timestamp with time zone'], 'segext.objectid',
                        'objectid_from_time(timestamptz) returns objectid');
SELECT function_returns('segext', 'objectid_cmp', ARRAY['segext.objectid', 'segext.objectid'], 'integer',
                        'objectid_cmp returns integer');
SELECT function_returns('segext', 'objectid_hash_extended', ARRAY['segext.objectid', 'bigint'], 'bigint',
                        'objectid_hash_extended returns bigint');

SELECT volatility_is('segext', 'objectid_generate', ARRAY[]::text[], 'volatile',
                     'objectid_generate() is volatile');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'segext.objectid_generate()'::regprocedure), 'r'::"char",
          'objectid_generate() is parallel restricted (one process makes a statement''s ids)');
SELECT volatility_is('segext', f, args, 'immutable', format('segext.%s is immutable', f))
FROM (VALUES ('objectid_in', ARRAY['cstring']),
             ('objectid_to_text', ARRAY['segext.objectid']),
             ('text_to_objectid', ARRAY['text']),
             ('bytea_to_objectid', ARRAY['bytea']),
             ('objectid_cmp', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_hash_extended', ARRAY['segext.objectid', 'bigint']),
             ('objectid_timestamp', ARRAY['segext.objectid']),
             ('objectid_from_time', ARRAY['timestamp with time zone'])) v (f, args);
SELECT is_strict('segext', f, args, format('segext.%s is strict', f))
FROM (VALUES ('objectid_in', ARRAY['cstring']),
             ('text_to_objectid', ARRAY['text']),
             ('bytea_to_objectid', ARRAY['bytea']),
             ('objectid_eq', ARRAY['segext.objectid', 'segext.objectid']),
             ('objectid_timestamp', ARRAY['segext.objectid']),
             ('objectid_from_time', ARRAY['timestamp with time zone'])) v (f, args);
SELECT is(coalesce(array_agg(p.proname::text ORDER BY p.proname), '{}'), ARRAY[]::text[],
          'every objectid function other than generate is immutable and parallel safe')
FROM pg_proc p
WHERE p.pronamespace = 'segext'::regnamespace
  AND (p.proname LIKE '%objectid%') AND p.proname <> 'objectid_generate'
  AND (p.provolatile <> 'i' OR p.proparallel <> 's');
SELECT is(coalesce(array_agg(p.proname::text ORDER BY p.proname), '{}'), ARRAY[]::text[],
          'every objectid function has a comment')
FROM pg_proc p
WHERE p.pronamespace = 'segext'::regnamespace AND p.proname LIKE '%objectid%'
  AND obj_description(p.oid, 'pg_proc') IS NULL;

SELECT has_cast('segext.objectid', 'text', 'segext', 'objectid_to_text', 'cast objectid -> text');
SELECT has_cast('text', 'segext.objectid', 'segext', 'text_to_objectid', 'cast text -> objectid');
SELECT has_cast('segext.objectid', 'bytea', 'segext', 'objectid_to_bytea', 'cast objectid -> bytea');
SELECT has_cast('bytea', 'segext.objectid', 'segext', 'bytea_to_objectid', 'cast bytea -> objectid');
SELECT cast_context_is('text', 'segext.objectid', 'assignment', 'text -> objectid is an assignment cast');
SELECT cast_context_is('bytea', 'segext.objectid', 'explicit', 'bytea -> objectid is explicit');

SELECT has_operator('segext.objectid', 'pg_catalog', op, 'segext.objectid', 'boolean',
                    format('operator objectid %s objectid exists', op))
FROM unnest(ARRAY['=', '<>', '<', '<=', '>', '>=']) op;
SELECT has_opclass('segext', 'objectid_ops', 'btree opclass segext.objectid_ops exists');
SELECT has_opclass('segext', 'objectid_hash_ops', 'hash opclass segext.objectid_hash_ops exists');
SELECT is((SELECT array_agg(amprocnum ORDER BY amprocnum) FROM pg_amproc a JOIN pg_opfamily f ON f.oid = a.amprocfamily
           WHERE f.opfname = 'objectid_ops' AND f.opfnamespace = 'segext'::regnamespace),
          ARRAY[1, 2, 4]::int2[], 'btree opclass has cmp, sortsupport and equalimage');
SELECT is((SELECT array_agg(amprocnum ORDER BY amprocnum) FROM pg_amproc a JOIN pg_opfamily f ON f.oid = a.amprocfamily
           WHERE f.opfname = 'objectid_hash_ops' AND f.opfnamespace = 'segext'::regnamespace),
          ARRAY[1, 2]::int2[], 'hash opclass has hash and extended hash');

-- behaviour.  The operators live in schema segext: is() compares with the
-- = it finds on the search path.
SET search_path = public, segext;

-- invalid literals fail with 22P02 and the standard message
SELECT throws_ok(format('SELECT %L::segext.objectid', s), '22P02',
                 format('invalid input syntax for type objectid: "%s"', s),
                 format('invalid literal %s is rejected with 22P02',
                        translate(quote_literal(s), E'\n\t', '~~')))
FROM unnest(ARRAY[
    '', ' ', 'xyz', '0', '507f1f77bcf86cd79943901', '507f1f77bcf86cd7994390111',
    '507f1f77bcf86cd79943901g', 'g07f1f77bcf86cd799439011', ' 507f1f77bcf86cd799439011',
    '507f1f77bcf86cd799439011 ', '507f1f77bcf86 cd799439011', '                        ',
    E'507f1f77bcf86cd799439011\n', E'\t507f1f77bcf86cd799439011', '507f1f77-bcf8-6cd7-9943-9011',
    '0x507f1f77bcf86cd79943901', '507f1f77bcf86cd79943901é', 'é07f1f77bcf86cd799439011',
    '５07f1f77bcf86cd799439011', '507f1f77bcf86cd79943901-', '+07f1f77bcf86cd799439011',
    '{507f1f77bcf86cd799439011}', '(507f1f77bcf86cd799439011)', '507f1f77bcf86cd7994390110000',
    'ObjectId("507f1f77bcf86cd799439011")', 'zzzzzzzzzzzzzzzzzzzzzzzz', '50 7f1f77bcf86cd79943901',
    '507f1f77bcf86cd79943901:', '507f1f77bcf86cd79943901G', 'null']) s;
SELECT throws_ok(format('SELECT %L::text::segext.objectid', '507f1f77bcf86cd79943901'), '22P02', NULL,
                 'the text cast rejects 23 digits with 22P02');
SELECT throws_ok('SELECT ''\x507f1f77bcf86cd7994390''::bytea::segext.objectid', '22P02', NULL,
                 'the bytea cast rejects 11 bytes with 22P02');
SELECT throws_ok('SELECT ''\x507f1f77bcf86cd79943901100''::bytea::segext.objectid', '22P02', NULL,
                 'the bytea cast rejects 13 bytes with 22P02');

-- valid literals parse, print lowercase, round-trip through text and bytea
SELECT lives_ok(format('SELECT %L::segext.objectid', s), format('valid literal %s is accepted', s))
FROM unnest(ARRAY['507f1f77bcf86cd799439011', '507F1F77BCF86CD799439011', '000000000000000000000000',
                  'ffffffffffffffffffffffff', 'aBcDeF0123456789AbCdEf01']) s;
SELECT is(s::segext.objectid::text, lower(s), format('%s prints as %s', s, lower(s)))
FROM unnest(ARRAY['507F1F77BCF86CD799439011', 'aBcDeF0123456789AbCdEf01', 'FFFFFFFFFFFFFFFFFFFFFFFF']) s;
SELECT is(x::bytea::segext.objectid, x, 'objectid -> bytea -> objectid round-trips')
FROM (VALUES ('507f1f77bcf86cd799439011'::segext.objectid)) v (x);
SELECT is(encode(x::bytea, 'hex'), x::text, 'the bytea form is the 12 bytes the text form spells')
FROM (VALUES ('507f1f77bcf86cd799439011'::segext.objectid)) v (x);
SELECT is(x::text::segext.objectid, x, 'objectid -> text -> objectid round-trips')
FROM (SELECT segext.objectid_generate() AS x) g;

-- generation: stamped now, distinct and increasing
SELECT ok(segext.objectid_timestamp(segext.objectid_generate())
          BETWEEN date_trunc('second', statement_timestamp()) AND clock_timestamp(),
          'a generated id carries the current second');
SELECT ok(segext.objectid_timestamp(segext.objectid_generate())
          BETWEEN date_trunc('second', now()) AND clock_timestamp(),
          'a generated id is not older than this transaction''s now() and not in the future');
SELECT is(count(DISTINCT x), 10000::bigint, '10000 generated ids are distinct')
FROM (SELECT segext.objectid_generate() AS x FROM generate_series(1, 10000)) g;
SELECT ok(bool_and(prev < x), 'generated ids increase within a statement')
FROM (SELECT x, lag(x) OVER (ORDER BY n) AS prev
      FROM (SELECT n, segext.objectid_generate() AS x FROM generate_series(1, 10000) n) g) s
WHERE prev IS NOT NULL;
SELECT ok(segext.objectid_generate() < segext.objectid_generate(), 'a later call gives a larger id');

-- objectid_timestamp and objectid_from_time
SELECT is(segext.objectid_timestamp('507f1f77bcf86cd799439011'), '2012-10-17 21:13:27+00'::timestamptz,
          'objectid_timestamp reads the first 4 bytes');
SELECT is(segext.objectid_from_time('1970-01-01 00:00:00+00'), '000000000000000000000000'::segext.objectid,
          'from_time of 1970-01-01 is the smallest id');
SELECT is(segext.objectid_from_time('2106-02-07 06:28:15+00'), 'ffffffff0000000000000000'::segext.objectid,
          'from_time of 2106-02-07 06:28:15+00 is the last second');
SELECT is(segext.objectid_from_time('2106-02-07 06:28:15.999999+00'), 'ffffffff0000000000000000'::segext.objectid,
          'from_time truncates to the second');
SELECT is(segext.objectid_from_time('2012-10-17 21:13:27.5+00'), '507f1f770000000000000000'::segext.objectid,
          'from_time gives the smallest id of that second');
SELECT is(segext.objectid_timestamp(segext.objectid_from_time(t)), date_trunc('second', t),
          format('timestamp(from_time(%s)) is its second', t))
FROM unnest(ARRAY['1970-01-01 00:00:00.1+00', '2024-02-29 23:59:59.999+00',
                  '2038-01-19 03:14:08+00']::timestamptz[]) t;
SELECT throws_ok(format('SELECT segext.objectid_from_time(%L)', t), '22008',
                 'timestamp out of range for type objectid',
                 format('from_time(%s) is out of range (22008)', t))
FROM unnest(ARRAY['1969-12-31 23:59:59+00', '1969-12-31 23:59:59.999999+00', '2106-02-07 06:28:16+00',
                  'infinity', '-infinity']) t;

SELECT * FROM finish();
ROLLBACK;
