-- Contract test of /segment_groups: replays in SQL the statements PostgREST
-- v12 sends (test/contract/README.md), with body, status and isolation.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext;
\ir contract/helpers.sql

INSERT INTO segext.segments (company_id, id, number, name, position) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000002', 2, 'Gold', 1);

SELECT plan(30);

-- POST /segment_groups  (Prefer: return=representation)  {"id":5,"name":"Premium"}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segment_groups',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."segment_groups"("id", "name") SELECT "pgrst_body"."id", "pgrst_body"."name" FROM (SELECT ''{"id":5,"name":"Premium"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "id", "name" FROM json_to_record(pgrst_payload.json_data) AS _("id" integer, "name" text) ) pgrst_body  RETURNING "segext_api"."segment_groups".*) '
    || pg_temp.write_tail('segment_groups'), 'return=representation');
SELECT is(status, 201, 'POST /segment_groups: 201') FROM r;
SELECT is(body -> 0, jsonb_build_object('company_id', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'id', 5, 'name', 'Premium', 'status', 200,
                                        'created_at', now(), 'updated_at', now()),
          'POST /segment_groups: representation with the default status 200') FROM r;
DROP TABLE r;

-- GET /segment_groups?order=id.asc&limit=10&offset=0  (Prefer: count=exact)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/segment_groups',
    'WITH pgrst_source AS ( SELECT "segext_api"."segment_groups".* FROM "segext_api"."segment_groups"    ORDER BY "segext_api"."segment_groups"."id" ASC  LIMIT ''10'' OFFSET ''0'' ) '
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."segment_groups"'));
SELECT is(status, 200, 'GET /segment_groups: 200 (the whole list fits the page)') FROM r;
SELECT is(total, 2::bigint, 'GET /segment_groups: count') FROM r;
SELECT is((SELECT jsonb_agg(e -> 'name') FROM jsonb_array_elements(body) e), '["Ungrouped", "Premium"]'::jsonb,
          'GET /segment_groups: built-in group 0 and the new group') FROM r;
DROP TABLE r;

-- GET /segment_groups?offset=5 with count: 416 Range Not Satisfiable
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/segment_groups',
    'WITH pgrst_source AS ( SELECT "segext_api"."segment_groups".* FROM "segext_api"."segment_groups"     LIMIT ALL OFFSET ''5'' ) '
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."segment_groups"'), range_offset => 5);
SELECT is(status, 416, 'GET past the end with a count: 416') FROM r;
DROP TABLE r;

-- PATCH /segment_groups?id=eq.5  {"name":"Premium II","status":410}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/segment_groups',
    'WITH pgrst_source AS (UPDATE "segext_api"."segment_groups" SET "name" = "pgrst_body"."name", "status" = "pgrst_body"."status" FROM (SELECT ''{"name":"Premium II","status":410}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name", "status" FROM json_to_record(pgrst_payload.json_data) AS _("name" text, "status" integer) ) pgrst_body  WHERE  "segext_api"."segment_groups"."id" = ''5'' RETURNING 1) '
    || pg_temp.write_tail('segment_groups'));
SELECT is(status, 204, 'PATCH /segment_groups without return preference: 204') FROM r;
SELECT is(page_total, 1::bigint, 'PATCH /segment_groups: one row') FROM r;
DROP TABLE r;
SELECT is((SELECT status FROM segext.segment_groups WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND id = 5), 410,
          'PATCH /segment_groups: status stored');

-- PATCH an invalid status: 22023, 400
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/segment_groups',
    'WITH pgrst_source AS (UPDATE "segext_api"."segment_groups" SET "status" = "pgrst_body"."status" FROM (SELECT ''{"status":300}''::json AS json_data) pgrst_payload, LATERAL (SELECT "status" FROM json_to_record(pgrst_payload.json_data) AS _("status" integer) ) pgrst_body  WHERE  "segext_api"."segment_groups"."id" = ''5'' RETURNING 1) '
    || pg_temp.write_tail('segment_groups'));
SELECT is(code, '22023', 'PATCH status 300: 22023') FROM r;
SELECT is(status, 400, 'PATCH status 300: 400') FROM r;
DROP TABLE r;

-- A group that still holds segments cannot be deleted: 23503, 409
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/segments',
    'WITH pgrst_source AS (UPDATE "segext_api"."segments" SET "group_id" = "pgrst_body"."group_id" FROM (SELECT ''{"group_id":5}''::json AS json_data) pgrst_payload, LATERAL (SELECT "group_id" FROM json_to_record(pgrst_payload.json_data) AS _("group_id" integer) ) pgrst_body  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000002'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(page_total, 1::bigint, 'PATCH /segments group_id=5: moved') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/segment_groups',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segment_groups"  WHERE  "segext_api"."segment_groups"."id" = ''5'' RETURNING 1) '
    || pg_temp.write_tail('segment_groups'));
SELECT is(code, '23503', 'DELETE a group with segments: 23503') FROM r;
SELECT is(status, 409, 'DELETE a group with segments: 409 Conflict') FROM r;
DROP TABLE r;

-- Tenant isolation: B neither sees nor deletes A's group 5.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'GET', '/segment_groups',
    'WITH pgrst_source AS ( SELECT "segext_api"."segment_groups".* FROM "segext_api"."segment_groups"  WHERE  "segext_api"."segment_groups"."id" = ''5''    ) '
    || pg_temp.read_tail(NULL));
SELECT is(page_total, 0::bigint, 'GET A''s group as B: no row') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'DELETE', '/segment_groups',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segment_groups"  WHERE  "segext_api"."segment_groups"."id" = ''5'' RETURNING 1) '
    || pg_temp.write_tail('segment_groups'));
SELECT is(page_total, 0::bigint, 'DELETE A''s group as B: 0 rows') FROM r;
SELECT is(code, NULL, 'DELETE A''s group as B: no error (PostgREST answers 204)') FROM r;
DROP TABLE r;

-- Moving the segment back lets the group go: DELETE 204.
UPDATE segext.segments SET group_id = 0 WHERE id = 'a00000000000000000000002';
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/segment_groups',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segment_groups"  WHERE  "segext_api"."segment_groups"."id" = ''5'' RETURNING 1) '
    || pg_temp.write_tail('segment_groups'));
SELECT is(status, 204, 'DELETE an empty group: 204') FROM r;
SELECT is(page_total, 1::bigint, 'DELETE an empty group: one row') FROM r;
DROP TABLE r;

-- POST without id: the next free id is assigned; DELETE group 0: PT403, 403.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segment_groups',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."segment_groups"("name") SELECT "pgrst_body"."name" FROM (SELECT ''{"name":"Basic"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name" FROM json_to_record(pgrst_payload.json_data) AS _("name" text) ) pgrst_body  RETURNING "segext_api"."segment_groups".*) '
    || pg_temp.write_tail('segment_groups'), 'return=representation');
SELECT is(body -> 0 -> 'id', '1'::jsonb, 'POST /segment_groups without id: id 1 assigned and returned') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/segment_groups',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segment_groups"  WHERE  "segext_api"."segment_groups"."id" = ''0'' RETURNING 1) '
    || pg_temp.write_tail('segment_groups'));
SELECT is(code, 'PT403', 'DELETE group 0: PT403') FROM r;
SELECT is(status, 403, 'DELETE group 0: 403 Forbidden') FROM r;
DROP TABLE r;

-- PUT /segment_groups?company_id=eq.<A>&id=eq.7  {"company_id","id":7,"name":"Outlet"}: inserted, 201
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segment_groups',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segment_groups', ARRAY['company_id', 'id', 'name'], ARRAY['segext.objectid', 'integer', 'text'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":7,"name":"Outlet"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', '7'])
    || ') ' || pg_temp.write_tail('segment_groups', NULL, true), 'return=representation');
SELECT is(status, 201, 'PUT a new segment group: 201') FROM r;
SELECT is(body -> 0, jsonb_build_object('company_id', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'id', 7, 'name', 'Outlet', 'status', 200,
                                        'created_at', now(), 'updated_at', now()),
          'PUT a new segment group: the row with the URL''s key') FROM r;
DROP TABLE r;

-- PUT it again  {"company_id","id":7,"name":"Outlet II","status":410}: updated, 200
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segment_groups',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segment_groups', ARRAY['company_id', 'id', 'name', 'status'],
                            ARRAY['segext.objectid', 'integer', 'text', 'integer'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":7,"name":"Outlet II","status":410}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', '7'])
    || ') ' || pg_temp.write_tail('segment_groups', NULL, true), 'return=representation');
SELECT is(status, 200, 'PUT an existing segment group: 200') FROM r;
SELECT is(body -> 0 ->> 'name', 'Outlet II', 'PUT an existing segment group: renamed') FROM r;
SELECT is(body -> 0 -> 'status', '410'::jsonb, 'PUT an existing segment group: new status') FROM r;
DROP TABLE r;

-- PUT group 0: PT403, 403; and as B, PUT into A's key space: 403, nothing written
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segment_groups',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segment_groups', ARRAY['company_id', 'id', 'name'], ARRAY['segext.objectid', 'integer', 'text'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":0,"name":"Everything"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', '0'])
    || ') ' || pg_temp.write_tail('segment_groups', NULL, true));
SELECT is(code, 'PT403', 'PUT group 0: PT403') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'PUT', '/segment_groups',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segment_groups', ARRAY['company_id', 'id', 'name'], ARRAY['segext.objectid', 'integer', 'text'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":7,"name":"Stolen"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', '7'])
    || ') ' || pg_temp.write_tail('segment_groups', NULL, true));
SELECT is(status, 403, 'PUT A''s group as B: 403') FROM r;
DROP TABLE r;
SELECT is((SELECT name FROM segext.segment_groups WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND id = 7), 'Outlet II',
          'PUT A''s group as B: A''s group untouched');

SELECT * FROM finish();
ROLLBACK;
