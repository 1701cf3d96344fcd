-- objectid comparison operators, btree cmp, hashing, ordering and joins
SET search_path = segext, public;

CREATE TEMP TABLE oid_ops_pairs (a segext.objectid, b segext.objectid);
INSERT INTO oid_ops_pairs VALUES
    ('507f1f77bcf86cd799439011', '507f1f77bcf86cd799439011'),
    ('507f1f77bcf86cd799439011', '507F1F77BCF86CD799439011'),
    ('507f1f77bcf86cd799439011', '507f1f77bcf86cd799439012'),
    ('507f1f77bcf86cd799439012', '507f1f77bcf86cd799439011'),
    ('000000000000000000000000', 'ffffffffffffffffffffffff'),
    ('ffffffffffffffffffffffff', '000000000000000000000000'),
    -- the first 8 bytes equal, the last 4 decide
    ('65000000aabbccdd00000001', '65000000aabbccdd00000002'),
    ('65000000aabbccdd01000000', '65000000aabbccdd00ffffff'),
    -- a later second sorts after any id of an earlier second
    ('650000010000000000000000', '65000000ffffffffffffffff'),
    -- byte order is unsigned: 0x80 sorts after 0x7f
    ('800000000000000000000000', '7fffffffffffffffffffffff');
SELECT a, b, a = b AS eq, a <> b AS ne, a < b AS lt, a <= b AS le,
       a > b AS gt, a >= b AS ge, objectid_cmp(a, b) AS cmp
FROM oid_ops_pairs ORDER BY a, b;
-- every operator agrees with cmp, and with the order of the bytes
SELECT count(*) AS pairs,
       bool_and((a = b) = (objectid_cmp(a, b) = 0)
            AND (a <> b) = (objectid_cmp(a, b) <> 0)
            AND (a < b) = (objectid_cmp(a, b) < 0)
            AND (a <= b) = (objectid_cmp(a, b) <= 0)
            AND (a > b) = (objectid_cmp(a, b) > 0)
            AND (a >= b) = (objectid_cmp(a, b) >= 0)
            AND objectid_cmp(a, b) = -objectid_cmp(b, a)
            AND sign(objectid_cmp(a, b)) = CASE WHEN a::bytea < b::bytea THEN -1
                                                WHEN a::bytea > b::bytea THEN 1 ELSE 0 END)
           AS consistent
FROM oid_ops_pairs;
-- NULL operands give NULL (strict)
SELECT '507f1f77bcf86cd799439011'::segext.objectid = NULL AS eq_null,
       objectid_cmp(NULL, '507f1f77bcf86cd799439011') AS cmp_null;

-- hash and hash_extended agree with equality (case of the input is irrelevant)
SELECT objectid_hash('507f1f77bcf86cd799439011') = objectid_hash('507F1F77BCF86CD799439011') AS hash_eq,
       objectid_hash_extended('507f1f77bcf86cd799439011', 0)
         = objectid_hash_extended('507F1F77BCF86CD799439011', 0) AS hash_ext_eq,
       objectid_hash_extended('507f1f77bcf86cd799439011', 42)
         = objectid_hash_extended('507F1F77BCF86CD799439011', 42) AS hash_ext_seed_eq;
-- hash_extended with seed 0 has the 32-bit hash as its low half
SELECT objectid_hash(x) = (objectid_hash_extended(x, 0) & x'ffffffff'::bigint)::bit(32)::int4
       AS low_half_matches
FROM (VALUES ('507f1f77bcf86cd799439011'::segext.objectid)) v (x);
-- a different seed gives a different hash, different ids different hashes
SELECT objectid_hash_extended('507f1f77bcf86cd799439011', 0)
         <> objectid_hash_extended('507f1f77bcf86cd799439011', 1) AS seed_matters,
       objectid_hash('507f1f77bcf86cd799439011')
         <> objectid_hash('507f1f77bcf86cd799439012') AS hash_differs;
-- over many ids: equal ids hash equally, and the hashes spread
CREATE TEMP TABLE oid_ops_ids AS
    SELECT n, objectid_generate() AS id FROM generate_series(1, 5000) n;
SELECT count(DISTINCT objectid_hash(id)) > 4990 AS hashes_spread,
       bool_and(objectid_hash(id) = objectid_hash(id::text::segext.objectid)
            AND objectid_hash_extended(id, 7) = objectid_hash_extended(id::bytea::segext.objectid, 7))
           AS hashes_stable
FROM oid_ops_ids;

-- ORDER BY and DISTINCT: ids in generation order, duplicates removed
SELECT bool_and(prev < id) AS ordered
FROM (SELECT id, lag(id) OVER (ORDER BY id) AS prev FROM oid_ops_ids) s
WHERE prev IS NOT NULL;
SELECT array_agg(n ORDER BY id) = array_agg(n ORDER BY n) AS order_is_generation_order
FROM oid_ops_ids;
SELECT DISTINCT x FROM (VALUES ('507f1f77bcf86cd799439011'::segext.objectid),
                               ('507F1F77BCF86CD799439011'), ('000000000000000000000001'),
                               ('507f1f77bcf86cd799439011')) v (x)
ORDER BY x;
SELECT x FROM (VALUES ('507f1f77bcf86cd799439011'::segext.objectid),
                      ('000000000000000000000001'), ('ffffffffffffffffffffff00'),
                      (NULL), ('507f1f77bcf86cd799439010')) v (x)
ORDER BY x DESC NULLS LAST;
-- min and max by the btree order are the first and last ids generated
SELECT (SELECT id FROM oid_ops_ids ORDER BY id LIMIT 1) = (SELECT id FROM oid_ops_ids WHERE n = 1)
           AS first_is_min,
       (SELECT id FROM oid_ops_ids ORDER BY id DESC LIMIT 1) = (SELECT id FROM oid_ops_ids WHERE n = 5000)
           AS last_is_max;
-- GROUP BY by hashing and by sorting give the same groups
CREATE TEMP TABLE oid_ops_dups AS
    SELECT id FROM oid_ops_ids, generate_series(1, 3) r WHERE n % 10 = 0;
ANALYZE oid_ops_ids, oid_ops_dups;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT id, count(*) FROM oid_ops_dups GROUP BY id;
SELECT count(*) AS groups, min(c) AS min_size, max(c) AS max_size
FROM (SELECT id, count(*) AS c FROM oid_ops_dups GROUP BY id) g;
RESET enable_sort;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT id, count(*) FROM oid_ops_dups GROUP BY id;
SELECT count(*) AS groups, min(c) AS min_size, max(c) AS max_size
FROM (SELECT id, count(*) AS c FROM oid_ops_dups GROUP BY id) g;
RESET enable_hashagg;

-- hash join and merge join find the same matches
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM oid_ops_ids i JOIN oid_ops_dups d ON i.id = d.id;
SELECT count(*) AS matches, count(DISTINCT i.n) AS distinct_ids
FROM oid_ops_ids i JOIN oid_ops_dups d ON i.id = d.id;
RESET enable_mergejoin;
SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM oid_ops_ids i JOIN oid_ops_dups d ON i.id = d.id;
SELECT count(*) AS matches, count(DISTINCT i.n) AS distinct_ids
FROM oid_ops_ids i JOIN oid_ops_dups d ON i.id = d.id;
RESET enable_hashjoin;
RESET enable_nestloop;
-- the join on objectid matches the join on the text form
SELECT count(*) AS text_matches
FROM oid_ops_ids i JOIN oid_ops_dups d ON i.id::text = d.id::text;

-- selectivity estimators are attached to every operator
SELECT o.oprname, o.oprrest, o.oprjoin, o.oprcanhash, o.oprcanmerge
FROM pg_operator o
WHERE o.oprleft = 'segext.objectid'::regtype AND o.oprright = 'segext.objectid'::regtype
ORDER BY o.oprname;
-- the estimators use the statistics: estimated rows out of 5000
CREATE FUNCTION pg_temp.oid_ops_estimate(query text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
END
$$;
SELECT pg_temp.oid_ops_estimate('SELECT * FROM oid_ops_ids WHERE id = ''507f1f77bcf86cd799439011''') < 10 AS eq_few,
       pg_temp.oid_ops_estimate('SELECT * FROM oid_ops_ids WHERE id <> ''507f1f77bcf86cd799439011''') > 4900 AS ne_most,
       pg_temp.oid_ops_estimate('SELECT * FROM oid_ops_ids WHERE id < objectid_from_time(''2000-01-01'')') < 10 AS lt_few,
       pg_temp.oid_ops_estimate('SELECT * FROM oid_ops_ids WHERE id >= objectid_from_time(''2000-01-01'')') > 4900 AS ge_most,
       pg_temp.oid_ops_estimate('SELECT * FROM oid_ops_ids WHERE id > objectid_from_time(''2100-01-01'')') < 10 AS gt_few,
       pg_temp.oid_ops_estimate('SELECT * FROM oid_ops_ids WHERE id <= objectid_from_time(''2100-01-01'')') > 4900 AS le_most;
-- the middle id: the histogram puts about half the rows below it
SELECT pg_temp.oid_ops_estimate(format('SELECT * FROM oid_ops_ids WHERE id < %L',
                                       (SELECT id FROM oid_ops_ids WHERE n = 2500)))
       BETWEEN 2000 AND 3000 AS lt_half,
       pg_temp.oid_ops_estimate('SELECT * FROM oid_ops_ids i JOIN oid_ops_dups d ON i.id = d.id') < 5000 AS join_estimated;

DROP TABLE oid_ops_pairs, oid_ops_ids, oid_ops_dups;
