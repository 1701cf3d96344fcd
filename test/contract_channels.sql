-- Contract test of /channels (segment mix embedded and writable in the same
-- request, by POST, PATCH, PUT and POST upserts) and of the forecast and commission RPCs: replays in SQL the
-- statements PostgREST v12 sends (test/contract/README.md).
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext;
\ir contract/helpers.sql

INSERT INTO segext.segments (company_id, id, number, name, position) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000002', 2, 'Gold', 1),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000003', 3, 'Silver', 2),
    ('bbbbbbbbbbbbbbbbbbbbbbbb', 'b00000000000000000000002', 2, 'Only B', 1);

SELECT plan(61);

-- POST /channels  (Prefer: return=representation) with the mix in the body
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/channels',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."channels"("commission", "name", "segment_mix") SELECT "pgrst_body"."commission", "pgrst_body"."name", "pgrst_body"."segment_mix" FROM (SELECT ''{"name":"Affiliate sales","commission":0.1,"segment_mix":[{"segment_id":"a00000000000000000000002","distribution":0.6},{"segment_id":"a00000000000000000000003","distribution":0.4}]}''::json AS json_data) pgrst_payload, LATERAL (SELECT "commission", "name", "segment_mix" FROM json_to_record(pgrst_payload.json_data) AS _("commission" numeric, "name" text, "segment_mix" jsonb) ) pgrst_body  RETURNING "segext_api"."channels".*) '
    || pg_temp.write_tail('channels'), 'return=representation');
SELECT is(status, 201, 'POST /channels: 201 Created') FROM r;
SELECT is(body -> 0 -> 'segment_mix',
          '[{"segment_id": "a00000000000000000000002", "distribution": 0.6}, {"segment_id": "a00000000000000000000003", "distribution": 0.4}]'::jsonb,
          'POST /channels: the mix written in the same request is returned') FROM r;
SELECT is(body -> 0 -> 'commission', '0.1'::jsonb, 'POST /channels: commission') FROM r;
SELECT is((SELECT count(*) FROM segext.channel_segments m
            WHERE m.channel_id = (SELECT (body -> 0 ->> 'id')::segext.objectid FROM r)
              AND m.company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa'), 2::bigint,
          'POST /channels: two mix rows stored for company A');
SELECT set_config('contract.channel', (SELECT body -> 0 ->> 'id' FROM r), true);
DROP TABLE r;

-- GET /channels?id=eq.<id>  (Accept: application/vnd.pgrst.object+json)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/channels',
    'WITH pgrst_source AS ( SELECT "segext_api"."channels".* FROM "segext_api"."channels"  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || '    ) ' || pg_temp.read_tail(NULL, true));
SELECT is(status, 200, 'GET one channel: 200') FROM r;
SELECT is(body ->> 'name', 'Affiliate sales', 'GET one channel: name') FROM r;
SELECT is(jsonb_array_length(body -> 'segment_mix'), 2, 'GET one channel: its mix embedded') FROM r;
DROP TABLE r;

-- PATCH /channels?id=eq.<id>  (Prefer: return=representation)  {"name":"Direct sales","segment_mix":[...1]}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/channels',
    'WITH pgrst_source AS (UPDATE "segext_api"."channels" SET "name" = "pgrst_body"."name", "segment_mix" = "pgrst_body"."segment_mix" FROM (SELECT ''{"name":"Direct sales","segment_mix":[{"segment_id":"a00000000000000000000003","distribution":1}]}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name", "segment_mix" FROM json_to_record(pgrst_payload.json_data) AS _("name" text, "segment_mix" jsonb) ) pgrst_body  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING "segext_api"."channels".*) '
    || pg_temp.write_tail('channels'), 'return=representation');
SELECT is(status, 200, 'PATCH /channels: 200') FROM r;
SELECT is(body -> 0 -> 'segment_mix', '[{"segment_id": "a00000000000000000000003", "distribution": 1}]'::jsonb,
          'PATCH /channels: the mix is replaced in the same statement') FROM r;
SELECT is(body -> 0 ->> 'name', 'Direct sales', 'PATCH /channels: name changed with it') FROM r;
DROP TABLE r;
SELECT is((SELECT count(*) FROM segext.channel_segments
            WHERE channel_id = current_setting('contract.channel')::segext.objectid), 1::bigint,
          'PATCH /channels: one mix row left');

-- PATCH with a mix that is not an array: 22023, 400
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/channels',
    'WITH pgrst_source AS (UPDATE "segext_api"."channels" SET "segment_mix" = "pgrst_body"."segment_mix" FROM (SELECT ''{"segment_mix":{"segment_id":"a00000000000000000000003"}}''::json AS json_data) pgrst_payload, LATERAL (SELECT "segment_mix" FROM json_to_record(pgrst_payload.json_data) AS _("segment_mix" jsonb) ) pgrst_body  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING 1) ' || pg_temp.write_tail('channels'));
SELECT is(code, '22023', 'PATCH a mix that is not an array: 22023') FROM r;
SELECT is(status, 400, 'PATCH a mix that is not an array: 400') FROM r;
DROP TABLE r;

-- PATCH with a malformed segment id in the mix: 22P02, 400
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/channels',
    'WITH pgrst_source AS (UPDATE "segext_api"."channels" SET "segment_mix" = "pgrst_body"."segment_mix" FROM (SELECT ''{"segment_mix":[{"segment_id":"gold","distribution":1}]}''::json AS json_data) pgrst_payload, LATERAL (SELECT "segment_mix" FROM json_to_record(pgrst_payload.json_data) AS _("segment_mix" jsonb) ) pgrst_body  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING 1) ' || pg_temp.write_tail('channels'));
SELECT is(code, '22P02', 'PATCH a mix with a malformed segment id: 22P02') FROM r;
SELECT is(status, 400, 'PATCH a mix with a malformed segment id: 400') FROM r;
DROP TABLE r;

-- PATCH with another company's segment in the mix: 23503, 409
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/channels',
    'WITH pgrst_source AS (UPDATE "segext_api"."channels" SET "segment_mix" = "pgrst_body"."segment_mix" FROM (SELECT ''{"segment_mix":[{"segment_id":"b00000000000000000000002","distribution":1}]}''::json AS json_data) pgrst_payload, LATERAL (SELECT "segment_mix" FROM json_to_record(pgrst_payload.json_data) AS _("segment_mix" jsonb) ) pgrst_body  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING 1) ' || pg_temp.write_tail('channels'));
SELECT is(code, '23503', 'PATCH a mix naming B''s segment as A: 23503') FROM r;
SELECT is(status, 409, 'PATCH a mix naming B''s segment as A: 409') FROM r;
DROP TABLE r;

-- DELETE /segments?id=eq.<segment in the mix>: still referenced, 23503, 409
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/segments',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000003'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(code, '23503', 'DELETE a segment used by a channel mix: 23503') FROM r;
SELECT is(status, 409, 'DELETE a segment used by a channel mix: 409 Conflict') FROM r;
DROP TABLE r;

-- POST /rpc/commission_value  {"channel_id":"<id>","revenue":1000}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/commission_value',
    'WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT '
    || quote_literal(json_build_object('channel_id', current_setting('contract.channel'), 'revenue', 1000)::text)
    || '::json AS json_data) pgrst_payload, LATERAL (SELECT "channel_id", "revenue" FROM json_to_record(pgrst_payload.json_data) AS _("channel_id" segext.objectid, "revenue" numeric) LIMIT 1) pgrst_body , LATERAL (SELECT "segext_api"."commission_value"("channel_id" := pgrst_body."channel_id", "revenue" := pgrst_body."revenue") pgrst_scalar) pgrst_call) '
    || pg_temp.call_tail('commission_value', true));
SELECT is(status, 200, 'POST /rpc/commission_value: 200') FROM r;
SELECT is(body, '100.0'::jsonb, 'POST /rpc/commission_value: revenue x commission') FROM r;
DROP TABLE r;

-- GET /rpc/channel_forecast?channel_id=<id>&volume=250  (Prefer: count=exact)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'GET', '/rpc/channel_forecast',
    'WITH pgrst_source AS (SELECT "pgrst_call".* FROM (SELECT '
    || quote_literal(json_build_object('channel_id', current_setting('contract.channel'), 'volume', '250')::text)
    || '::json AS json_data) pgrst_payload, LATERAL (SELECT "channel_id", "volume" FROM json_to_record(pgrst_payload.json_data) AS _("channel_id" segext.objectid, "volume" numeric) LIMIT 1) pgrst_body , LATERAL "segext_api"."channel_forecast"("channel_id" := pgrst_body."channel_id", "volume" := pgrst_body."volume") pgrst_call) '
    || pg_temp.call_tail('channel_forecast', false, 'SELECT 1 FROM "pgrst_source" AS "channel_forecast"'));
SELECT is(status, 200, 'GET /rpc/channel_forecast: 200') FROM r;
SELECT is(body, '[{"segment_id": "a00000000000000000000003", "segment_name": "Silver", "distribution": 1, "segment_number": 3, "expected_customers": 250}]'::jsonb,
          'GET /rpc/channel_forecast: volume x distribution per segment') FROM r;
DROP TABLE r;

-- Tenant isolation: B sees no channel of A and cannot change or delete it.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'GET', '/channels',
    'WITH pgrst_source AS ( SELECT "segext_api"."channels".* FROM "segext_api"."channels"    ) '
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."channels"'));
SELECT is(total, 0::bigint, 'GET /channels as B: none of A''s channels') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'DELETE', '/channels',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."channels"  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING 1) ' || pg_temp.write_tail('channels'));
SELECT is(page_total, 0::bigint, 'DELETE A''s channel as B: 0 rows') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/rpc/commission_value',
    'WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT '
    || quote_literal(json_build_object('channel_id', current_setting('contract.channel'), 'revenue', 1000)::text)
    || '::json AS json_data) pgrst_payload, LATERAL (SELECT "channel_id", "revenue" FROM json_to_record(pgrst_payload.json_data) AS _("channel_id" segext.objectid, "revenue" numeric) LIMIT 1) pgrst_body , LATERAL (SELECT "segext_api"."commission_value"("channel_id" := pgrst_body."channel_id", "revenue" := pgrst_body."revenue") pgrst_scalar) pgrst_call) '
    || pg_temp.call_tail('commission_value', true));
SELECT is(body, 'null'::jsonb, 'POST /rpc/commission_value as B for A''s channel: null') FROM r;
DROP TABLE r;

-- DELETE the company's only channel: PT403, 403.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/channels',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."channels"  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING 1) ' || pg_temp.write_tail('channels'));
SELECT is(code, 'PT403', 'DELETE the last channel: PT403') FROM r;
SELECT is(status, 403, 'DELETE the last channel: 403 Forbidden') FROM r;
DROP TABLE r;

-- PATCH a mix that sums to 0.5: refused at commit, 23514, 400.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/channels',
    'WITH pgrst_source AS (UPDATE "segext_api"."channels" SET "segment_mix" = "pgrst_body"."segment_mix" FROM (SELECT ''{"segment_mix":[{"segment_id":"a00000000000000000000002","distribution":0.5}]}''::json AS json_data) pgrst_payload, LATERAL (SELECT "segment_mix" FROM json_to_record(pgrst_payload.json_data) AS _("segment_mix" jsonb) ) pgrst_body  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING 1) ' || pg_temp.write_tail('channels'));
SELECT is(code, '23514', 'PATCH a mix summing to 0.5: 23514 at commit') FROM r;
SELECT is(status, 400, 'PATCH a mix summing to 0.5: 400') FROM r;
DROP TABLE r;

-- POST a channel without mix: 100% on the first user segment (lowest position).
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/channels',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."channels"("name") SELECT "pgrst_body"."name" FROM (SELECT ''{"name":"Events"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name" FROM json_to_record(pgrst_payload.json_data) AS _("name" text) ) pgrst_body  RETURNING "segext_api"."channels".*) '
    || pg_temp.write_tail('channels'), 'return=representation');
SELECT is(status, 201, 'POST a channel without mix: 201') FROM r;
SELECT is(body -> 0 -> 'commission', '0'::jsonb, 'POST a channel without commission: 0') FROM r;
DROP TABLE r;
SET LOCAL segext.company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa';
SELECT is((SELECT segment_mix FROM segext_api.channels WHERE name = 'Events'),
          '[{"segment_id": "a00000000000000000000002", "distribution": 1}]'::jsonb,
          'after commit: the default mix is 100% on segment 2, the first by position');

-- PUT /channels?company_id=eq.<A>&id=eq.<new id>  (Prefer: return=representation): the insert path,
-- with the mix in the body; 201, the mix comes back canonical (ordered by segment_id).
\set cols 'ARRAY[''commission'', ''company_id'', ''id'', ''name'', ''segment_mix'']'
\set types 'ARRAY[''numeric'', ''segext.objectid'', ''segext.objectid'', ''text'', ''jsonb'']'
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/channels',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('channels', :cols, :types,
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"c000000000000000000000a1","name":"Partners","commission":0.05,'
                            || '"segment_mix":[{"segment_id":"a00000000000000000000003","distribution":0.25},{"segment_id":"a00000000000000000000002","distribution":0.75}]}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'c000000000000000000000a1'])
    || ') ' || pg_temp.write_tail('channels', NULL, true), 'return=representation');
SELECT is(status, 201, 'PUT a new channel: 201 Created') FROM r;
SELECT is(body -> 0 -> 'segment_mix',
          '[{"segment_id": "a00000000000000000000002", "distribution": 0.75}, {"segment_id": "a00000000000000000000003", "distribution": 0.25}]'::jsonb,
          'PUT a new channel: the mix comes back ordered by segment_id') FROM r;
DROP TABLE r;
SELECT is((SELECT array_agg(segment_id::text || '=' || distribution ORDER BY segment_id) FROM segext.channel_segments
            WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND channel_id = 'c000000000000000000000a1'),
          ARRAY['a00000000000000000000002=0.75', 'a00000000000000000000003=0.25'], 'PUT a new channel: its mix rows');

-- PUT the same key again: the update path, changing name and mix; 200, rows replaced.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/channels',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('channels', :cols, :types,
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"c000000000000000000000a1","name":"Partners II","commission":0.05,'
                            || '"segment_mix":[{"segment_id":"a00000000000000000000003","distribution":1}]}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'c000000000000000000000a1'])
    || ') ' || pg_temp.write_tail('channels', NULL, true), 'return=representation');
SELECT is(status, 200, 'PUT an existing channel: 200') FROM r;
SELECT is(body -> 0 ->> 'name', 'Partners II', 'PUT an existing channel: name changed') FROM r;
SELECT is(body -> 0 -> 'segment_mix', '[{"segment_id": "a00000000000000000000003", "distribution": 1}]'::jsonb,
          'PUT an existing channel: the new mix comes back') FROM r;
DROP TABLE r;
SELECT is((SELECT array_agg(segment_id::text || '=' || distribution) FROM segext.channel_segments
            WHERE channel_id = 'c000000000000000000000a1'),
          ARRAY['a00000000000000000000003=1'], 'PUT an existing channel: the mix rows are replaced');

-- GET the channel, then PUT back the whole object read (every column): 200, nothing changes,
-- the mix rows are not even rewritten.
CREATE TEMP TABLE got AS SELECT body FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/channels',
    'WITH pgrst_source AS ( SELECT "segext_api"."channels".* FROM "segext_api"."channels"  WHERE  "segext_api"."channels"."company_id" = ''aaaaaaaaaaaaaaaaaaaaaaaa'' AND  "segext_api"."channels"."id" = ''c000000000000000000000a1''    ) '
    || pg_temp.read_tail(NULL, true));
CREATE TEMP TABLE rows_before AS SELECT ctid::text AS tid FROM segext.channel_segments WHERE channel_id = 'c000000000000000000000a1';
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/channels',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('channels',
                            ARRAY['commission', 'company_id', 'created_at', 'id', 'name', 'segment_mix', 'updated_at'],
                            ARRAY['numeric', 'segext.objectid', 'timestamp with time zone', 'segext.objectid', 'text', 'jsonb', 'timestamp with time zone'],
                            (SELECT body::text FROM got),
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'c000000000000000000000a1'])
    || ') ' || pg_temp.write_tail('channels', NULL, true), 'return=representation');
SELECT is(status, 200, 'PUT the object read back: 200') FROM r;
SELECT is(r.body -> 0, got.body, 'PUT the object read back: the same object comes back') FROM r, got;
DROP TABLE r;
SELECT is(ARRAY(SELECT ctid::text FROM segext.channel_segments WHERE channel_id = 'c000000000000000000000a1'),
          ARRAY(SELECT tid FROM rows_before), 'PUT the object read back: the mix rows are left as they were');
DROP TABLE got, rows_before;

-- PUT a mix that sums to 0.5: refused at commit, 23514, 400; the channel keeps its mix.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/channels',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('channels', :cols, :types,
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"c000000000000000000000a1","name":"Partners II","commission":0.05,'
                            || '"segment_mix":[{"segment_id":"a00000000000000000000002","distribution":0.5}]}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'c000000000000000000000a1'])
    || ') ' || pg_temp.write_tail('channels', NULL, true), 'return=representation');
SELECT is(code, '23514', 'PUT a mix summing to 0.5: 23514 at commit') FROM r;
SELECT is(status, 400, 'PUT a mix summing to 0.5: 400') FROM r;
DROP TABLE r;
SELECT is((SELECT segment_mix FROM segext.channels WHERE id = 'c000000000000000000000a1'),
          '[{"segment_id": "a00000000000000000000003", "distribution": 1}]'::jsonb, 'PUT a mix summing to 0.5: the mix is unchanged');

-- PUT with a body id that differs from the URL's: nothing is written, 400 (PGRST115)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/channels',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('channels', :cols, :types,
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"c000000000000000000000a2","name":"Mismatch","commission":0,'
                            || '"segment_mix":[{"segment_id":"a00000000000000000000002","distribution":1}]}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'c000000000000000000000a1'])
    || ') ' || pg_temp.write_tail('channels', NULL, true), 'return=representation');
SELECT is(code, 'PGRST115', 'PUT with body id <> URL id: PGRST115') FROM r;
SELECT is(status, 400, 'PUT with body id <> URL id: 400') FROM r;
DROP TABLE r;
SELECT ok(NOT EXISTS (SELECT FROM segext.channels WHERE name = 'Mismatch' OR id = 'c000000000000000000000a2'),
          'PUT with body id <> URL id: nothing inserted');

-- PUT into another company (B's company_id in the URL and the body) as A: 42501, 403
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/channels',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('channels', :cols, :types,
                            '{"company_id":"bbbbbbbbbbbbbbbbbbbbbbbb","id":"c000000000000000000000b1","name":"Planted by PUT","commission":0,'
                            || '"segment_mix":[{"segment_id":"b00000000000000000000002","distribution":1}]}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['bbbbbbbbbbbbbbbbbbbbbbbb', 'c000000000000000000000b1'])
    || ') ' || pg_temp.write_tail('channels', NULL, true), 'return=representation');
SELECT is(code, '42501', 'PUT a channel into another company: 42501') FROM r;
SELECT is(status, 403, 'PUT a channel into another company: 403 Forbidden') FROM r;
DROP TABLE r;
SELECT ok(NOT EXISTS (SELECT FROM segext.channels WHERE name = 'Planted by PUT'), 'PUT a channel into another company: nothing inserted');

-- POST /channels  (Prefer: return=representation,resolution=merge-duplicates): one existing
-- channel (its mix changed) and one new one (without mix: the default at commit).
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/channels',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('channels', ARRAY['id', 'name', 'segment_mix'], ARRAY['segext.objectid', 'text', 'jsonb'],
                            '[{"id":"c000000000000000000000a1","name":"Partners III","segment_mix":[{"segment_id":"a00000000000000000000002","distribution":1}]},'
                            || '{"id":"c000000000000000000000a3","name":"Fairs","segment_mix":null}]',
                            ARRAY['company_id', 'id'])
    || ') ' || pg_temp.write_tail('channels', NULL, true), 'return=representation,resolution=merge-duplicates');
SELECT is(status, 201, 'POST merge-duplicates with a new channel: 201') FROM r;
SELECT is((SELECT jsonb_object_agg(e ->> 'name', e -> 'segment_mix') FROM jsonb_array_elements(body) e),
          '{"Partners III": [{"segment_id": "a00000000000000000000002", "distribution": 1}], "Fairs": []}'::jsonb,
          'POST merge-duplicates: the updated channel with its new mix, the new one with none yet') FROM r;
DROP TABLE r;
SET LOCAL segext.company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa';
SELECT is((SELECT jsonb_object_agg(name, segment_mix) FROM segext_api.channels WHERE id IN ('c000000000000000000000a1', 'c000000000000000000000a3')),
          '{"Partners III": [{"segment_id": "a00000000000000000000002", "distribution": 1}], "Fairs": [{"segment_id": "a00000000000000000000002", "distribution": 1}]}'::jsonb,
          'POST merge-duplicates, after commit: the new channel has the default mix, in its column too');
DELETE FROM segext.channels WHERE id IN ('c000000000000000000000a1', 'c000000000000000000000a3');

-- PATCH /channels with company_id or id in the body: the key never changes (22023, 400)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/channels',
    'WITH pgrst_source AS (UPDATE "segext_api"."channels" SET "id" = "pgrst_body"."id" FROM (SELECT ''{"id":"a000000000000000000000f9"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "id" FROM json_to_record(pgrst_payload.json_data) AS _("id" segext.objectid) ) pgrst_body  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING 1) ' || pg_temp.write_tail('channels'));
SELECT is(code, '22023', 'PATCH the id of a channel: 22023') FROM r;
DROP TABLE r;
-- POST /channels with another company's company_id: refused, 403
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/channels',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."channels"("company_id", "name") SELECT "pgrst_body"."company_id", "pgrst_body"."name" FROM (SELECT ''{"company_id":"bbbbbbbbbbbbbbbbbbbbbbbb","name":"Planted"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "company_id", "name" FROM json_to_record(pgrst_payload.json_data) AS _("company_id" segext.objectid, "name" text) ) pgrst_body  RETURNING 1) '
    || pg_temp.write_tail('channels'));
SELECT is(status, 403, 'POST a channel for another company: 403') FROM r;
DROP TABLE r;
SELECT ok(NOT EXISTS (SELECT FROM segext.channels WHERE name = 'Planted'), 'POST a channel for another company: nothing inserted');

-- DELETE /channels?id=eq.<id> now that another channel exists: 204, mix gone.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/channels',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."channels"  WHERE  "segext_api"."channels"."id" = '
    || quote_literal(current_setting('contract.channel')) || ' RETURNING 1) ' || pg_temp.write_tail('channels'));
SELECT is(status, 204, 'DELETE /channels: 204') FROM r;
SELECT is(page_total, 1::bigint, 'DELETE /channels: one row') FROM r;
DROP TABLE r;
SELECT is((SELECT count(*) FROM segext.channel_segments
            WHERE channel_id = current_setting('contract.channel')::segext.objectid), 0::bigint,
          'DELETE /channels: its mix goes with it');

SELECT * FROM finish();
ROLLBACK;
