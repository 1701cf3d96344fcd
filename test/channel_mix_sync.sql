-- segext.channels.segment_mix kept in step with segext.channel_segments both
-- ways: rows written by SQL users (also the default mix and cascades) set
-- the column; a mix written to the column is checked, stored canonical and
-- replaces the rows; the rules of the rows (foreign keys, the sum at commit,
-- the segment still in a mix) keep holding.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext;

SELECT plan(36);

INSERT INTO segext.companies (id, name) VALUES
    ('cccccccccccccccccccccccc', 'Mix sync C'), ('dddddddddddddddddddddddd', 'Mix sync D');
INSERT INTO segext.segments (company_id, id, number, name, position) VALUES
    ('cccccccccccccccccccccccc', 'c00000000000000000000002', 2, 'Gold', 2),
    ('cccccccccccccccccccccccc', 'c00000000000000000000003', 3, 'Silver', 1),
    ('cccccccccccccccccccccccc', 'c00000000000000000000004', 4, 'Bronze', 3),
    ('dddddddddddddddddddddddd', 'd00000000000000000000002', 2, 'Only D', 1);

-- mix_rows is the mix of a channel as its rows say, in the column's canonical form.
CREATE FUNCTION pg_temp.mix_rows(channel segext.objectid) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT COALESCE(jsonb_agg(jsonb_build_object('segment_id', m.segment_id, 'distribution', m.distribution)
                              ORDER BY m.segment_id), '[]')
      FROM segext.channel_segments m
     WHERE m.company_id = 'cccccccccccccccccccccccc' AND m.channel_id = channel
$$;
-- in_step says whether every channel's column equals its rows, to the text.
CREATE FUNCTION pg_temp.in_step() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT bool_and(c.segment_mix::text = pg_temp.mix_rows(c.id)::text)
      FROM segext.channels c WHERE c.company_id = 'cccccccccccccccccccccccc'
$$;
CREATE FUNCTION pg_temp.mix(channel segext.objectid) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT segment_mix FROM segext.channels WHERE company_id = 'cccccccccccccccccccccccc' AND id = channel
$$;

-- A channel inserted without a mix: [] until commit, then the default mix, in the column too.
INSERT INTO segext.channels (company_id, id, name) VALUES ('cccccccccccccccccccccccc', 'c000000000000000000000c1', 'Web');
SELECT is(pg_temp.mix('c000000000000000000000c1'), '[]'::jsonb, 'new channel without a mix: [] before commit');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(pg_temp.mix('c000000000000000000000c1'),
          '[{"segment_id": "c00000000000000000000003", "distribution": 1}]'::jsonb,
          'at commit: the default mix (first segment by position) is in the column');
SELECT ok(pg_temp.in_step(), 'default mix: column equals rows');

-- An SQL user rewrites the rows in a transaction: the column follows each statement.
DELETE FROM segext.channel_segments WHERE channel_id = 'c000000000000000000000c1';
SELECT is(pg_temp.mix('c000000000000000000000c1'), '[]'::jsonb, 'rows deleted: the column is []');
INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution) VALUES
    ('cccccccccccccccccccccccc', 'c000000000000000000000c1', 'c00000000000000000000004', 0.5),
    ('cccccccccccccccccccccccc', 'c000000000000000000000c1', 'c00000000000000000000002', 0.50);
SELECT is(pg_temp.mix('c000000000000000000000c1'),
          '[{"segment_id": "c00000000000000000000002", "distribution": 0.50}, {"segment_id": "c00000000000000000000004", "distribution": 0.5}]'::jsonb,
          'rows inserted: the column lists them by segment_id, numbers as stored');
UPDATE segext.channel_segments SET distribution = distribution * 1.0 WHERE channel_id = 'c000000000000000000000c1';
SELECT is(pg_temp.mix('c000000000000000000000c1')::text,
          '[{"segment_id": "c00000000000000000000002", "distribution": 0.500}, {"segment_id": "c00000000000000000000004", "distribution": 0.50}]',
          'rows updated to equal values of another scale: the column follows to the text');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT ok(pg_temp.in_step(), 'rows rewritten by SQL: column equals rows at commit');

-- The column written: the rows follow, and the column is stored canonical.
UPDATE segext.channels SET segment_mix =
    '[{"distribution": 0.3, "segment_id": "C00000000000000000000004"}, {"segment_id": "c00000000000000000000003", "distribution": 0.7}]'
 WHERE id = 'c000000000000000000000c1';
SELECT is(pg_temp.mix('c000000000000000000000c1'),
          '[{"segment_id": "c00000000000000000000003", "distribution": 0.7}, {"segment_id": "c00000000000000000000004", "distribution": 0.3}]'::jsonb,
          'column written: stored ordered by segment_id, ids in lower case');
SELECT is((SELECT array_agg(segment_id::text || '=' || distribution ORDER BY segment_id) FROM segext.channel_segments
            WHERE channel_id = 'c000000000000000000000c1'),
          ARRAY['c00000000000000000000003=0.7', 'c00000000000000000000004=0.3'], 'column written: the rows are replaced');
SELECT ok(pg_temp.in_step(), 'column written: column equals rows');

-- The same mix written again, in another order: nothing changes, the rows are not rewritten.
CREATE TEMP TABLE tids AS SELECT ctid::text AS tid FROM segext.channel_segments WHERE channel_id = 'c000000000000000000000c1';
UPDATE segext.channels SET segment_mix =
    '[{"segment_id": "c00000000000000000000004", "distribution": 0.30}, {"segment_id": "c00000000000000000000003", "distribution": 0.7}]'
 WHERE id = 'c000000000000000000000c1';
SELECT is(ARRAY(SELECT ctid::text FROM segext.channel_segments WHERE channel_id = 'c000000000000000000000c1'),
          ARRAY(SELECT tid FROM tids), 'the current mix written again: the rows are left as they were');
SELECT is(pg_temp.mix('c000000000000000000000c1')::text,
          '[{"segment_id": "c00000000000000000000003", "distribution": 0.7}, {"segment_id": "c00000000000000000000004", "distribution": 0.3}]',
          'the current mix written again: the column keeps its value');
UPDATE segext.channels SET segment_mix = NULL, commission = 0.2 WHERE id = 'c000000000000000000000c1';
SELECT is(pg_temp.mix('c000000000000000000000c1')::text,
          '[{"segment_id": "c00000000000000000000003", "distribution": 0.7}, {"segment_id": "c00000000000000000000004", "distribution": 0.3}]',
          'NULL written to the column in an update: the mix is kept');
SELECT is(ARRAY(SELECT ctid::text FROM segext.channel_segments WHERE channel_id = 'c000000000000000000000c1'),
          ARRAY(SELECT tid FROM tids), 'NULL written: the rows are left as they were');

-- A channel inserted with a mix in its column.
INSERT INTO segext.channels (company_id, id, name, segment_mix) VALUES ('cccccccccccccccccccccccc', 'c000000000000000000000c2', 'Fairs',
    '[{"segment_id": "c00000000000000000000002", "distribution": 1}]');
SELECT is(pg_temp.mix_rows('c000000000000000000000c2'), '[{"segment_id": "c00000000000000000000002", "distribution": 1}]'::jsonb,
          'channel inserted with a mix: its rows');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT ok(pg_temp.in_step(), 'channel inserted with a mix: column equals rows at commit (no default mix added)');

-- [] written: the rows go, the default mix comes at commit.
UPDATE segext.channels SET segment_mix = '[]' WHERE id = 'c000000000000000000000c2';
SELECT is(pg_temp.mix_rows('c000000000000000000000c2'), '[]'::jsonb, '[] written: no rows');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(pg_temp.mix('c000000000000000000000c2'), '[{"segment_id": "c00000000000000000000003", "distribution": 1}]'::jsonb,
          '[] written: the default mix at commit, in the column');

-- Invalid mixes, with their SQLSTATEs.
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '{"segment_id": "c00000000000000000000002"}' WHERE id = 'c000000000000000000000c2'$$,
                 '22023', 'invalid value for "segment_mix": not a JSON array', 'an object, not an array: 22023');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[1]' WHERE id = 'c000000000000000000000c2'$$,
                 '22023', 'invalid value for "segment_mix": element 0 is not an object', 'an element that is not an object: 22023');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[{"segment_id": "c00000000000000000000002", "distribution": 0.5}, {"segment_id": "c00000000000000000000003"}]' WHERE id = 'c000000000000000000000c2'$$,
                 '22023', 'invalid value for "segment_mix": element 1 has no "distribution" number', 'an element without distribution: 22023');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[{"segment_id": "c00000000000000000000002", "distribution": "1"}]' WHERE id = 'c000000000000000000000c2'$$,
                 '22023', 'invalid value for "segment_mix": element 0 has no "distribution" number', 'a distribution given as a string: 22023');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[{"segment": "c00000000000000000000002", "distribution": 1}]' WHERE id = 'c000000000000000000000c2'$$,
                 '22023', 'invalid value for "segment_mix": element 0 has no "segment_id" string', 'a misspelt segment_id: 22023');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[{"segment_id": "c00000000000000000000002", "distribution": 1, "share": 1}]' WHERE id = 'c000000000000000000000c2'$$,
                 '22023', 'invalid value for "segment_mix": element 0 has a key other than "segment_id" and "distribution"', 'an unknown key: 22023');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[{"segment_id": "gold", "distribution": 1}]' WHERE id = 'c000000000000000000000c2'$$,
                 '22P02', 'invalid segment id "gold" in the segment mix of channel "Fairs"', 'a segment id that is not an ObjectId: 22P02');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[{"segment_id": "d00000000000000000000002", "distribution": 1}]' WHERE id = 'c000000000000000000000c2'$$,
                 '23503', NULL, 'a segment of another company: 23503');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[{"segment_id": "c00000000000000000000002", "distribution": 0.5}, {"segment_id": "c00000000000000000000002", "distribution": 0.5}]' WHERE id = 'c000000000000000000000c2'$$,
                 '23505', NULL, 'a segment twice in the mix: 23505');
SELECT throws_ok($$UPDATE segext.channels SET segment_mix = '[{"segment_id": "c00000000000000000000002", "distribution": 0}]' WHERE id = 'c000000000000000000000c2'$$,
                 '22023', 'invalid distribution 0 in the segment mix of channel "Fairs"', 'a distribution of 0: 22023');
SELECT throws_ok($$INSERT INTO segext.channels (company_id, name, segment_mix) VALUES ('cccccccccccccccccccccccc', 'Bad', '"all"')$$,
                 '22023', 'invalid value for "segment_mix": not a JSON array', 'a channel inserted with a string mix: 22023');
SELECT ok(pg_temp.in_step(), 'after the refused writes: column equals rows');

-- Deleting a segment used by a mix is still refused (23503, 409).
SELECT throws_ok($$DELETE FROM segext.segments WHERE id = 'c00000000000000000000004'$$,
                 '23503', 'segment "Bronze" is still used by the segment mix of channel "Web"',
                 'deleting a segment used by a mix: 23503');

-- A channel deleted: its rows go with it, and the sync of the cascade does not fail.
DELETE FROM segext.channels WHERE id = 'c000000000000000000000c2';
SELECT is((SELECT count(*) FROM segext.channel_segments WHERE channel_id = 'c000000000000000000000c2'), 0::bigint,
          'channel deleted: its mix rows cascade');
SELECT ok(pg_temp.in_step(), 'channel deleted: the others stay in step');

-- A statement changing the rows of two channels sets both columns.
INSERT INTO segext.channels (company_id, id, name) VALUES ('cccccccccccccccccccccccc', 'c000000000000000000000c3', 'Radio');
INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
SELECT 'cccccccccccccccccccccccc', c.id, 'c00000000000000000000002', 0.1
  FROM segext.channels c WHERE c.company_id = 'cccccccccccccccccccccccc';
UPDATE segext.channel_segments SET distribution = 0.6 WHERE segment_id = 'c00000000000000000000003';
SELECT is((SELECT count(*) FROM segext.channels c
            WHERE c.company_id = 'cccccccccccccccccccccccc' AND c.segment_mix @> '[{"segment_id": "c00000000000000000000002", "distribution": 0.1}]'),
          2::bigint, 'one statement over two channels: both columns follow');
SELECT ok(pg_temp.in_step(), 'one statement over two channels: column equals rows');

-- The company deleted: every cascade (segments, channels, mix rows) goes through.
DELETE FROM segext.companies WHERE id = 'cccccccccccccccccccccccc';
SELECT is((SELECT count(*) FROM segext.channels WHERE company_id = 'cccccccccccccccccccccccc'), 0::bigint,
          'company deleted: its channels and mixes go with it');

SELECT * FROM finish();
ROLLBACK;
