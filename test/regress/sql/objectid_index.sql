-- objectid in btree and hash indexes, and large sorts (abbreviated keys)
SET search_path = segext, public;

-- 20000 ids from this backend, plus one known id
CREATE TABLE oid_index_t (n int, id segext.objectid);
INSERT INTO oid_index_t SELECT n, objectid_generate() FROM generate_series(1, 20000) n;
INSERT INTO oid_index_t VALUES (0, '507f1f77bcf86cd799439011');
CREATE INDEX oid_index_t_btree ON oid_index_t (id);
ANALYZE oid_index_t;

-- equality through the btree: Index Scan, and Index Only Scan when only id is read
EXPLAIN (COSTS OFF) SELECT n FROM oid_index_t WHERE id = '507f1f77bcf86cd799439011';
SELECT n FROM oid_index_t WHERE id = '507f1f77bcf86cd799439011';
SELECT n FROM oid_index_t WHERE id = '507F1F77BCF86CD799439011';
VACUUM oid_index_t;
EXPLAIN (COSTS OFF) SELECT id FROM oid_index_t WHERE id = '507f1f77bcf86cd799439011';
SELECT id FROM oid_index_t WHERE id = '507f1f77bcf86cd799439011';

-- a range by time: the 2012 id and nothing else
EXPLAIN (COSTS OFF) SELECT n FROM oid_index_t
WHERE id >= objectid_from_time('2012-10-17 00:00+00') AND id < objectid_from_time('2012-10-18 00:00+00');
SELECT n, id FROM oid_index_t
WHERE id >= objectid_from_time('2012-10-17 00:00+00') AND id < objectid_from_time('2012-10-18 00:00+00');
-- everything made since the start of this transaction's day, by index
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM oid_index_t
WHERE id >= objectid_from_time(date_trunc('day', now()));
SELECT count(*) FROM oid_index_t
WHERE id >= objectid_from_time(date_trunc('day', now() - interval '1 day'));
-- an ordered scan of the index returns generation order
SELECT array_agg(n ORDER BY id) = array_agg(n ORDER BY n) AS index_order_is_generation_order
FROM (SELECT n, id FROM oid_index_t WHERE n > 0 ORDER BY id) s;
EXPLAIN (COSTS OFF) SELECT id FROM oid_index_t ORDER BY id DESC LIMIT 3;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- the btree opclass declares equalimage, so the index deduplicates
SELECT amp.amprocnum, amp.amproc::regproc
FROM pg_amproc amp JOIN pg_opfamily f ON f.oid = amp.amprocfamily
WHERE f.opfname = 'objectid_ops' AND f.opfnamespace = 'segext'::regnamespace
ORDER BY amp.amprocnum;
CREATE TABLE oid_index_dup AS
    SELECT '507f1f77bcf86cd799439011'::segext.objectid AS id FROM generate_series(1, 10000);
CREATE INDEX oid_index_dup_btree ON oid_index_dup (id);
CREATE INDEX oid_index_dup_plain ON oid_index_dup (id) WITH (deduplicate_items = off);
SELECT pg_relation_size('oid_index_dup_btree') * 2 < pg_relation_size('oid_index_dup_plain')
       AS deduplicated;
DROP TABLE oid_index_dup;

-- a hash index
CREATE INDEX oid_index_t_hash ON oid_index_t USING hash (id);
DROP INDEX oid_index_t_btree;
EXPLAIN (COSTS OFF) SELECT n FROM oid_index_t WHERE id = '507f1f77bcf86cd799439011';
SELECT n FROM oid_index_t WHERE id = '507f1f77bcf86cd799439011';
SELECT count(*) AS all_found FROM oid_index_t o
WHERE (SELECT count(*) FROM oid_index_t i WHERE i.id = o.id) = 1;

-- a unique btree rejects a duplicate, also typed in upper case
CREATE UNIQUE INDEX oid_index_t_unique ON oid_index_t (id);
INSERT INTO oid_index_t VALUES (-1, '507F1F77BCF86CD799439011');

-- large sorts.  Ids from one process in one second share their first 8
-- bytes; the abbreviated key still tells them apart (keys follow the counter)
SELECT count(*) AS sorted_rows,
       bool_and(prev < id) AS ascending,
       bool_and(prev::bytea < id::bytea) AS bytea_order
FROM (SELECT id, lag(id) OVER () AS prev
      FROM (SELECT id FROM oid_index_t ORDER BY id OFFSET 0) s) w
WHERE prev IS NOT NULL;
-- ids that tie on everything the abbreviated key holds (one second, one
-- random-byte prefix, random bytes that differ from the first key's): the
-- abbreviation gives up and the sort falls back to full comparisons
CREATE TABLE oid_index_ties AS
    SELECT n, decode('65000000' || '00' || lpad(to_hex((n * 7919) % 20011), 8, '0')
                     || lpad(to_hex(n % 4096), 6, '0'), 'hex')::segext.objectid AS id
    FROM generate_series(1, 20000) n;
SELECT count(*) AS sorted_rows,
       bool_and(prev < id) AS ascending,
       bool_and(prev::bytea < id::bytea) AS bytea_order
FROM (SELECT id, lag(id) OVER () AS prev
      FROM (SELECT id FROM oid_index_ties ORDER BY id OFFSET 0) s) w
WHERE prev IS NOT NULL;
-- the same through an index build and an ordered index scan
CREATE INDEX oid_index_ties_btree ON oid_index_ties (id);
SET enable_seqscan = off;
SELECT array_agg(id ORDER BY id)::text = array_agg(id ORDER BY id::bytea)::text AS index_matches_bytea
FROM oid_index_ties;
SELECT bool_and(prev < id) AS index_scan_ascending
FROM (SELECT id, lag(id) OVER () AS prev
      FROM (SELECT id FROM oid_index_ties ORDER BY id) s) w
WHERE prev IS NOT NULL;
RESET enable_seqscan;
-- descending sorts use the same keys
SELECT bool_and(prev > id) AS descending
FROM (SELECT id, lag(id) OVER () AS prev
      FROM (SELECT id FROM oid_index_ties ORDER BY id DESC OFFSET 0) s) w
WHERE prev IS NOT NULL;

DROP TABLE oid_index_t, oid_index_ties;
