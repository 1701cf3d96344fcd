-- Contract test of /segments: replays in SQL the statements PostgREST v12
-- sends (test/contract/README.md) and checks body, HTTP status and tenant
-- isolation.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext;
\ir contract/helpers.sql

INSERT INTO segext.segments (company_id, id, number, name, position, active) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000002', 2, 'Gold', 1, true),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000003', 3, 'Silver', 2, true),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000004', 4, 'Bronze', 3, false),
    ('bbbbbbbbbbbbbbbbbbbbbbbb', 'b00000000000000000000002', 2, 'Only B', 1, true);

SELECT plan(93);

-- GET /segments?order=number.asc  (Prefer: count=exact)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/segments',
    'WITH pgrst_source AS ( SELECT "segext_api"."segments".* FROM "segext_api"."segments"    ORDER BY "segext_api"."segments"."number" ASC  ) '
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."segments"'));
SELECT is(status, 200, 'GET /segments: 200') FROM r;
SELECT is(total, 5::bigint, 'GET /segments: exact count of the company''s segments') FROM r;
SELECT is((SELECT jsonb_agg(e -> 'number') FROM jsonb_array_elements(body) e), '[0, 1, 2, 3, 4]'::jsonb,
          'GET /segments: ordered by number') FROM r;
SELECT is(body -> 2, jsonb_build_object('company_id', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'id', 'a00000000000000000000002', 'number', 2, 'name', 'Gold',
          'ref', NULL, 'description', NULL, 'active', true, 'position', 1, 'group_id', 0, 'org_id', NULL,
          'criteria', NULL, 'customers_count', 0, 'created_at', now(), 'updated_at', now()),
          'GET /segments: every column of a segment, keys in snake_case, the key (company_id, id) first') FROM r;
DROP TABLE r;

-- GET /segments?active=eq.true&order=position.asc,number.asc&limit=2&offset=1  (Prefer: count=exact)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/segments',
    'WITH pgrst_source AS ( SELECT "segext_api"."segments".* FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."active" = ''true''  ORDER BY "segext_api"."segments"."position" ASC , "segext_api"."segments"."number" ASC   LIMIT ''2'' OFFSET ''1'' ) '
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."segments" WHERE  "segext_api"."segments"."active" = ''true'''),
    range_offset => 1);
SELECT is(status, 206, 'GET filtered page: 206 Partial Content, as the page is smaller than the count') FROM r;
SELECT is(total, 4::bigint, 'GET filtered page: count of active segments') FROM r;
SELECT is(page_total, 2::bigint, 'GET filtered page: limit 2') FROM r;
SELECT is((SELECT jsonb_agg(e -> 'name') FROM jsonb_array_elements(body) e), '["Default", "Gold"]'::jsonb,
          'GET filtered page: offset 1 in position, number order') FROM r;
DROP TABLE r;

-- GET /segments?id=eq.a00000000000000000000002  (Accept: application/vnd.pgrst.object+json)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/segments',
    'WITH pgrst_source AS ( SELECT "segext_api"."segments".* FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000002''    ) '
    || pg_temp.read_tail(NULL, true));
SELECT is(status, 200, 'GET one segment: 200') FROM r;
SELECT is(page_total, 1::bigint, 'GET one segment: exactly one row (else PostgREST answers 406)') FROM r;
SELECT is(body ->> 'name', 'Gold', 'GET one segment: the object itself') FROM r;
DROP TABLE r;

-- GET /segments?id=eq.not-an-id: bad objectid text is 22P02, 400
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/segments',
    'WITH pgrst_source AS ( SELECT "segext_api"."segments".* FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."id" = ''not-an-id''    ) '
    || pg_temp.read_tail(NULL));
SELECT is(code, '22P02', 'GET with a malformed id: 22P02') FROM r;
SELECT is(status, 400, 'GET with a malformed id: 400') FROM r;
DROP TABLE r;

-- Tenant isolation on reads: company B sees its own rows only.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'GET', '/segments',
    'WITH pgrst_source AS ( SELECT "segext_api"."segments".* FROM "segext_api"."segments"    ORDER BY "segext_api"."segments"."number" ASC  ) '
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."segments"'));
SELECT is(total, 3::bigint, 'GET as company B: B''s three segments') FROM r;
SELECT ok(NOT EXISTS (SELECT FROM jsonb_array_elements(body) e JOIN segext.segments s ON s.id = (e ->> 'id')::segext.objectid
                      WHERE s.company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa'),
          'GET as company B: none of A''s segments') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'GET', '/segments',
    'WITH pgrst_source AS ( SELECT "segext_api"."segments".* FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000002''    ) '
    || pg_temp.read_tail(NULL, true));
SELECT is(page_total, 0::bigint, 'GET A''s segment by id as company B: no row (406 with the object Accept header)') FROM r;
SELECT is(body, 'null'::jsonb, 'GET A''s segment by id as company B: empty body') FROM r;
DROP TABLE r;

-- POST /segments  (Prefer: return=representation)  {"name":"Platinum","number":5}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name", "number") SELECT "pgrst_body"."name", "pgrst_body"."number" FROM (SELECT ''{"name":"Platinum","number":5}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name", "number" FROM json_to_record(pgrst_payload.json_data) AS _("name" text, "number" integer) ) pgrst_body  RETURNING "segext_api"."segments".*) '
    || pg_temp.write_tail('segments'), 'return=representation');
SELECT is(status, 201, 'POST /segments: 201 Created') FROM r;
SELECT is(body -> 0 ->> 'name', 'Platinum', 'POST /segments: representation of the new segment') FROM r;
SELECT is((body -> 0 ->> 'id')::segext.objectid,
          (SELECT id FROM segext.segments WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND name = 'Platinum'),
          'POST /segments: the generated id is returned, and the row belongs to the JWT''s company') FROM r;
SELECT is(body -> 0 -> 'active', 'true'::jsonb, 'POST /segments: table defaults fill the omitted columns') FROM r;
DROP TABLE r;

-- POST /segments  (Prefer: return=headers-only): the Location bindings of the
-- view's primary key (company_id, id)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name", "number") SELECT "pgrst_body"."name", "pgrst_body"."number" FROM (SELECT ''{"name":"Copper","number":6}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name", "number" FROM json_to_record(pgrst_payload.json_data) AS _("name" text, "number" integer) ) pgrst_body  RETURNING "segext_api"."segments".*) '
    || pg_temp.write_tail('segments', ARRAY['company_id', 'id']), 'return=headers-only');
SELECT is(status, 201, 'POST return=headers-only: 201') FROM r;
SELECT is(header, ARRAY['company_id=eq.aaaaaaaaaaaaaaaaaaaaaaaa', 'id=eq.' || (SELECT id::text FROM segext.segments WHERE name = 'Copper')],
          'POST return=headers-only: Location /segments?company_id=eq.<company>&id=eq.<generated id>') FROM r;
DROP TABLE r;

-- POST a duplicate name: 23505, 409
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name", "number") SELECT "pgrst_body"."name", "pgrst_body"."number" FROM (SELECT ''{"name":"Gold","number":7}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name", "number" FROM json_to_record(pgrst_payload.json_data) AS _("name" text, "number" integer) ) pgrst_body  RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(code, '23505', 'POST a duplicate name: 23505') FROM r;
SELECT is(status, 409, 'POST a duplicate name: 409 Conflict') FROM r;
DROP TABLE r;

-- POST an empty name: 22023, 400
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name", "number") SELECT "pgrst_body"."name", "pgrst_body"."number" FROM (SELECT ''{"name":"","number":8}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name", "number" FROM json_to_record(pgrst_payload.json_data) AS _("name" text, "number" integer) ) pgrst_body  RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(code, '22023', 'POST an empty name: 22023') FROM r;
SELECT is(status, 400, 'POST an empty name: 400') FROM r;
DROP TABLE r;

-- PATCH /segments?id=eq.a00000000000000000000003  (Prefer: return=representation)  {"name":"Silver II"}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/segments',
    'WITH pgrst_source AS (UPDATE "segext_api"."segments" SET "name" = "pgrst_body"."name" FROM (SELECT ''{"name":"Silver II"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name" FROM json_to_record(pgrst_payload.json_data) AS _("name" text) ) pgrst_body  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000003'' RETURNING "segext_api"."segments".*) '
    || pg_temp.write_tail('segments'), 'return=representation');
SELECT is(status, 200, 'PATCH /segments: 200 with return=representation') FROM r;
SELECT is(body -> 0 ->> 'name', 'Silver II', 'PATCH /segments: the updated representation') FROM r;
DROP TABLE r;

-- PATCH the member count: refused (it is computed at read), the count stays segext's
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/segments',
    'WITH pgrst_source AS (UPDATE "segext_api"."segments" SET "customers_count" = "pgrst_body"."customers_count" FROM (SELECT ''{"customers_count":9}''::json AS json_data) pgrst_payload, LATERAL (SELECT "customers_count" FROM json_to_record(pgrst_payload.json_data) AS _("customers_count" bigint) ) pgrst_body  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000003'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(status, 400, 'PATCH customers_count: 400, the count is computed at read and cannot be written') FROM r;
DROP TABLE r;
SELECT is((SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE id = 'a00000000000000000000003'), 0::int8,
          'PATCH customers_count: the count is still segext''s');

-- Tenant isolation on writes: B's PATCH and DELETE of A's segment touch nothing.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'PATCH', '/segments',
    'WITH pgrst_source AS (UPDATE "segext_api"."segments" SET "name" = "pgrst_body"."name" FROM (SELECT ''{"name":"Stolen"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name" FROM json_to_record(pgrst_payload.json_data) AS _("name" text) ) pgrst_body  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000002'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(page_total, 0::bigint, 'PATCH A''s segment as B: 0 rows (204 with nothing changed, 406 with the object Accept header)') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'DELETE', '/segments',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000002'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(page_total, 0::bigint, 'DELETE A''s segment as B: 0 rows') FROM r;
DROP TABLE r;
SELECT is((SELECT name FROM segext.segments WHERE id = 'a00000000000000000000002'), 'Gold',
          'A''s segment is untouched by B''s PATCH and DELETE');

-- DELETE /segments?id=eq.a00000000000000000000004
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/segments',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000004'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(status, 204, 'DELETE /segments: 204 No Content') FROM r;
SELECT is(page_total, 1::bigint, 'DELETE /segments: one row deleted') FROM r;
DROP TABLE r;
SELECT ok(NOT EXISTS (SELECT FROM segext.segments WHERE id = 'a00000000000000000000004'), 'DELETE /segments: the row is gone');

-- Rights: a reader cannot write (403), a request without JWT gets the anonymous role (401).
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'DELETE', '/segments',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."id" = ''a00000000000000000000003'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(code, '42501', 'DELETE as segext_reader: 42501') FROM r;
SELECT is(status, 403, 'DELETE as segext_reader: 403 Forbidden') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('contract_anon', '', 'GET', '/segments',
    'WITH pgrst_source AS ( SELECT "segext_api"."segments".* FROM "segext_api"."segments"    ) '
    || pg_temp.read_tail(NULL));
SELECT is(code, '42501', 'GET without JWT: 42501') FROM r;
SELECT is(status, 401, 'GET without JWT: 401 Unauthorized') FROM r;
DROP TABLE r;

-- Built-ins are read-only: PATCH segment 0 and DELETE segment 1 are PT403, 403.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/segments',
    'WITH pgrst_source AS (UPDATE "segext_api"."segments" SET "name" = "pgrst_body"."name" FROM (SELECT ''{"name":"Everyone"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name" FROM json_to_record(pgrst_payload.json_data) AS _("name" text) ) pgrst_body  WHERE  "segext_api"."segments"."number" = ''0'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(code, 'PT403', 'PATCH built-in segment 0: PT403') FROM r;
SELECT is(status, 403, 'PATCH built-in segment 0: 403 Forbidden') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/segments',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."number" = ''1'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(status, 403, 'DELETE built-in segment 1: 403 Forbidden') FROM r;
DROP TABLE r;

-- Deleting the company's last user segment: PT403, 403 (B has one).
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'DELETE', '/segments',
    'WITH pgrst_source AS (DELETE FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."id" = ''b00000000000000000000002'' RETURNING 1) '
    || pg_temp.write_tail('segments'));
SELECT is(code, 'PT403', 'DELETE the last user segment: PT403') FROM r;
SELECT is(status, 403, 'DELETE the last user segment: 403 Forbidden') FROM r;
DROP TABLE r;

-- POST without a number: the next free number is assigned and returned.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/segments',
    'WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("name") SELECT "pgrst_body"."name" FROM (SELECT ''{"name":"Second B"}''::json AS json_data) pgrst_payload, LATERAL (SELECT "name" FROM json_to_record(pgrst_payload.json_data) AS _("name" text) ) pgrst_body  RETURNING "segext_api"."segments".*) '
    || pg_temp.write_tail('segments'), 'return=representation');
SELECT is(body -> 0 -> 'number', '3'::jsonb, 'POST without number: number 3 assigned and returned') FROM r;
DROP TABLE r;

-- POST /rpc/reorder_segments  {"numbers":[3,2]}: void, 204; positions follow the array.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/rpc/reorder_segments',
    'WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT ''{"numbers":[3,2]}''::json AS json_data) pgrst_payload, LATERAL (SELECT "numbers" FROM json_to_record(pgrst_payload.json_data) AS _("numbers" integer[]) LIMIT 1) pgrst_body , LATERAL (SELECT "segext_api"."reorder_segments"("numbers" := pgrst_body."numbers") pgrst_scalar) pgrst_call) '
    || pg_temp.call_tail('reorder_segments', true));
SELECT is(status, 204, 'POST /rpc/reorder_segments: 204 No Content') FROM r;
DROP TABLE r;
SELECT is(ARRAY(SELECT number FROM segext.segments WHERE company_id = 'bbbbbbbbbbbbbbbbbbbbbbbb' AND number >= 2 ORDER BY position),
          ARRAY[3, 2], 'POST /rpc/reorder_segments: position = index in the array');
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/rpc/reorder_segments',
    'WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT ''{"numbers":[0,2]}''::json AS json_data) pgrst_payload, LATERAL (SELECT "numbers" FROM json_to_record(pgrst_payload.json_data) AS _("numbers" integer[]) LIMIT 1) pgrst_body , LATERAL (SELECT "segext_api"."reorder_segments"("numbers" := pgrst_body."numbers") pgrst_scalar) pgrst_call) '
    || pg_temp.call_tail('reorder_segments', true));
SELECT is(status, 403, 'POST /rpc/reorder_segments with built-in 0: 403') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/reorder_segments',
    'WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT ''{"numbers":[3]}''::json AS json_data) pgrst_payload, LATERAL (SELECT "numbers" FROM json_to_record(pgrst_payload.json_data) AS _("numbers" integer[]) LIMIT 1) pgrst_body , LATERAL (SELECT "segext_api"."reorder_segments"("numbers" := pgrst_body."numbers") pgrst_scalar) pgrst_call) '
    || pg_temp.call_tail('reorder_segments', true));
SELECT is(status, 403, 'POST /rpc/reorder_segments as segext_reader: 403') FROM r;
DROP TABLE r;

-- POST /segments with criteria in Infinity's flat shape, sent by PostgREST as a
-- JSON array inside the json body: json_to_record hands the array's text to
-- the criteria input; the body prints it back as canonical JSON (parts shape).
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("criteria", "name") SELECT "pgrst_body"."criteria", "pgrst_body"."name" FROM (SELECT '{"name":"Big spenders","criteria":[{"type":"transaction_amount","fromAmount":100,"toAmount":100000},{"field":"city","op":"eq","value":"Oslo"}]}'::json AS json_data) pgrst_payload, LATERAL (SELECT "criteria", "name" FROM json_to_record(pgrst_payload.json_data) AS _("criteria" segext.criteria, "name" text) ) pgrst_body  RETURNING "segext_api"."segments".*) $q$
    || pg_temp.write_tail('segments'), 'return=representation');
SELECT is(status, 201, 'POST /segments with criteria: 201') FROM r;
SELECT is(jsonb_typeof(body -> 0 -> 'criteria'), 'array', 'POST /segments with criteria: criteria come back as JSON, not a string') FROM r;
SELECT is(body -> 0 -> 'criteria',
          '[{"criteria": [{"type": "transaction_amount", "toAmount": 100000, "fromAmount": 100}]}, {"criteria": [{"op": "eq", "field": "city", "value": "Oslo"}]}]'::jsonb,
          'POST /segments with criteria: each flat criterion became a part of its own') FROM r;
SELECT is((SELECT criteria::text FROM segext.segments WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND name = 'Big spenders'),
          '[{"criteria": [{"type": "transaction_amount", "fromAmount": 100, "toAmount": 100000}]}, {"criteria": [{"field": "city", "op": "eq", "value": "Oslo"}]}]',
          'POST /segments with criteria: stored as segext.criteria (canonical text)');
SELECT set_config('contract.big', (SELECT body -> 0 ->> 'id' FROM r), true);
DROP TABLE r;

-- PATCH criteria in the parts shape, then back to null (a manual segment)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/segments',
    $q$WITH pgrst_source AS (UPDATE "segext_api"."segments" SET "criteria" = "pgrst_body"."criteria" FROM (SELECT '{"criteria":[{"criteria":[{"type":"transaction_count","min":1,"max":3},{"type":"bought_skus","skuIds":["A1"]}]}]}'::json AS json_data) pgrst_payload, LATERAL (SELECT "criteria" FROM json_to_record(pgrst_payload.json_data) AS _("criteria" segext.criteria) ) pgrst_body  WHERE  "segext_api"."segments"."id" = $q$
    || quote_literal(current_setting('contract.big')) || ' RETURNING "segext_api"."segments".*) '
    || pg_temp.write_tail('segments'), 'return=representation');
SELECT is(status, 200, 'PATCH criteria: 200') FROM r;
SELECT is(jsonb_array_length(body -> 0 -> 'criteria' -> 0 -> 'criteria'), 2, 'PATCH criteria: one part with two alternatives') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/segments',
    $q$WITH pgrst_source AS (UPDATE "segext_api"."segments" SET "criteria" = "pgrst_body"."criteria" FROM (SELECT '{"criteria":null}'::json AS json_data) pgrst_payload, LATERAL (SELECT "criteria" FROM json_to_record(pgrst_payload.json_data) AS _("criteria" segext.criteria) ) pgrst_body  WHERE  "segext_api"."segments"."id" = $q$
    || quote_literal(current_setting('contract.big')) || ' RETURNING "segext_api"."segments".*) '
    || pg_temp.write_tail('segments'), 'return=representation');
SELECT is(body -> 0 -> 'criteria', 'null'::jsonb, 'PATCH criteria null: a manual segment') FROM r;
DROP TABLE r;

-- Invalid criteria: an unknown type (22023) and an empty list, 400 either way
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("criteria", "name") SELECT "pgrst_body"."criteria", "pgrst_body"."name" FROM (SELECT '{"name":"Bad","criteria":[{"type":"no_such_type"}]}'::json AS json_data) pgrst_payload, LATERAL (SELECT "criteria", "name" FROM json_to_record(pgrst_payload.json_data) AS _("criteria" segext.criteria, "name" text) ) pgrst_body  RETURNING 1) $q$
    || pg_temp.write_tail('segments'));
SELECT ok(code IN ('22P02', '22023'), 'POST criteria of an unknown type: 22P02 or 22023 (' || code || ')') FROM r;
SELECT is(status, 400, 'POST criteria of an unknown type: 400') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."segments"("criteria", "name") SELECT "pgrst_body"."criteria", "pgrst_body"."name" FROM (SELECT '{"name":"Bad","criteria":[]}'::json AS json_data) pgrst_payload, LATERAL (SELECT "criteria", "name" FROM json_to_record(pgrst_payload.json_data) AS _("criteria" segext.criteria, "name" text) ) pgrst_body  RETURNING 1) $q$
    || pg_temp.write_tail('segments'));
SELECT is(status, 400, 'POST an empty criteria list: 400') FROM r;
DROP TABLE r;

-- PUT /segments?company_id=eq.<A>&id=eq.a00000000000000000000005  (Prefer: return=representation)
-- {"company_id":"<A>","id":"a00000000000000000000005","name":"Emerald","description":"green"}
-- A new key: inserted (201), the number assigned; the statement is written out
-- once here, and pg_temp.upsert_query must build exactly it.
SELECT set_config('contract.put', $q$INSERT INTO "segext_api"."segments"("company_id", "description", "id", "name") SELECT "pgrst_body"."company_id", "pgrst_body"."description", "pgrst_body"."id", "pgrst_body"."name" FROM (SELECT '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a00000000000000000000005","name":"Emerald","description":"green"}'::json AS json_data) pgrst_payload, LATERAL (SELECT "company_id", "description", "id", "name" FROM json_to_record(pgrst_payload.json_data) AS _("company_id" segext.objectid, "description" text, "id" segext.objectid, "name" text) ) pgrst_body WHERE set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) + 1)::text, true) <> '0' AND  "pgrst_body"."company_id" = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND  "pgrst_body"."id" = 'a00000000000000000000005' ON CONFLICT("company_id", "id") DO UPDATE SET "company_id" = EXCLUDED."company_id", "description" = EXCLUDED."description", "id" = EXCLUDED."id", "name" = EXCLUDED."name"WHERE set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) - 1)::text, true) <> '-1' RETURNING "segext_api"."segments".*$q$, true) \g /dev/null
SELECT is(pg_temp.upsert_query('segments', ARRAY['company_id', 'description', 'id', 'name'],
                               ARRAY['segext.objectid', 'text', 'segext.objectid', 'text'],
                               '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a00000000000000000000005","name":"Emerald","description":"green"}',
                               ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                               ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000005']),
          current_setting('contract.put'), 'PUT: pg_temp.upsert_query builds PostgREST''s statement');
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segments',
    'WITH pgrst_source AS (' || current_setting('contract.put') || ') '
    || pg_temp.write_tail('segments', NULL, true), 'return=representation');
SELECT is(status, 201, 'PUT a new key: 201 Created (pgrst.inserted counted the row as inserted)') FROM r;
SELECT is(body -> 0 ->> 'company_id', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'PUT a new key: the row belongs to the URL''s company') FROM r;
SELECT is((body -> 0 -> 'number')::int,
          (SELECT max(number) FROM segext.segments WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa'),
          'PUT a new key: the next number is assigned and returned') FROM r;
SELECT is(body -> 0 ->> 'description', 'green', 'PUT a new key: the body''s columns are stored') FROM r;
DROP TABLE r;

-- PUT the same key again  {"company_id","id","name":"Emerald II","active":false}: updated (200)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segments',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segments', ARRAY['active', 'company_id', 'id', 'name'],
                            ARRAY['boolean', 'segext.objectid', 'segext.objectid', 'text'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a00000000000000000000005","name":"Emerald II","active":false}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000005'])
    || ') ' || pg_temp.write_tail('segments', NULL, true), 'return=representation');
SELECT is(status, 200, 'PUT an existing key: 200 OK (the row was updated, not inserted)') FROM r;
SELECT is(body -> 0 ->> 'name', 'Emerald II', 'PUT an existing key: the new name') FROM r;
SELECT is(body -> 0 -> 'active', 'false'::jsonb, 'PUT an existing key: the new active flag') FROM r;
SELECT is(body -> 0 ->> 'description', 'green',
          'PUT an existing key: a column left out of the body keeps its value (PostgREST updates the body''s columns)') FROM r;
DROP TABLE r;

-- GET the segment, then PUT the whole object back with another name and a
-- made-up count and creation time, naming the writable columns (?columns=,
-- which leaves the computed count out) (Prefer: return=minimal): 204; the
-- count and times stay segext's.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/segments',
    'WITH pgrst_source AS ( SELECT "segext_api"."segments".* FROM "segext_api"."segments"  WHERE  "segext_api"."segments"."company_id" = ''aaaaaaaaaaaaaaaaaaaaaaaa'' AND  "segext_api"."segments"."id" = ''a00000000000000000000005''    ) '
    || pg_temp.read_tail(NULL, true));
SELECT set_config('contract.obj', (body || '{"name":"Emerald III","customers_count":77,"created_at":"2001-01-01T00:00:00+00:00"}')::text, true) FROM r \g /dev/null
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segments',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segments',
                            ARRAY['active', 'company_id', 'created_at', 'criteria', 'description', 'group_id',
                                  'id', 'name', 'number', 'org_id', 'position', 'ref', 'updated_at'],
                            ARRAY['boolean', 'segext.objectid', 'timestamp with time zone', 'segext.criteria', 'text', 'integer',
                                  'segext.objectid', 'text', 'integer', 'integer', 'integer', 'text', 'timestamp with time zone'],
                            current_setting('contract.obj'),
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000005'], false)
    || ') ' || pg_temp.write_tail('segments', NULL, true));
SELECT is(status, 204, 'PUT the whole object read before: 204') FROM r;
SELECT is(page_total, 1::bigint, 'PUT the whole object read before: one row') FROM r;
DROP TABLE r;
SELECT is((SELECT ARRAY[name, segext.segment_customers_count(company_id, id)::text, (created_at = now())::text] FROM segext.segments WHERE id = 'a00000000000000000000005'),
          ARRAY['Emerald III', '0', 'true'],
          'PUT the whole object: the name changed; customers_count and created_at are segext''s, not the body''s');

-- PUT with a body key that differs from the URL's: nothing is written, 400 (PGRST115)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segments',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segments', ARRAY['company_id', 'id', 'name'],
                            ARRAY['segext.objectid', 'segext.objectid', 'text'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a00000000000000000000006","name":"Opal"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000005'])
    || ') ' || pg_temp.write_tail('segments', NULL, true), 'return=representation');
SELECT is(code, 'PGRST115', 'PUT with body id <> URL id: PGRST115') FROM r;
SELECT is(status, 400, 'PUT with body id <> URL id: 400') FROM r;
DROP TABLE r;
SELECT ok(NOT EXISTS (SELECT FROM segext.segments WHERE name = 'Opal' OR id = 'a00000000000000000000006'),
          'PUT with body id <> URL id: nothing inserted');

-- PUT a built-in segment with a change: PT403, 403
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segments',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segments', ARRAY['company_id', 'id', 'name', 'number'],
                            ARRAY['segext.objectid', 'segext.objectid', 'text', 'integer'],
                            json_build_object('company_id', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'id',
                                              (SELECT id FROM segext.segments WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND number = 0),
                                              'name', 'Everyone', 'number', 0)::text,
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa',
                                  (SELECT id::text FROM segext.segments WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND number = 0)])
    || ') ' || pg_temp.write_tail('segments', NULL, true));
SELECT is(code, 'PT403', 'PUT built-in segment 0: PT403') FROM r;
SELECT is(status, 403, 'PUT built-in segment 0: 403 Forbidden') FROM r;
SELECT is(message, 'built-in segment 0 "All" cannot be updated', 'PUT built-in segment 0: the built-in''s update is refused') FROM r;
DROP TABLE r;

-- PUT B's segment as A, with B's company_id in the URL and the body: 42501, 403; B's row unchanged
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segments',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segments', ARRAY['company_id', 'id', 'name'],
                            ARRAY['segext.objectid', 'segext.objectid', 'text'],
                            '{"company_id":"bbbbbbbbbbbbbbbbbbbbbbbb","id":"b00000000000000000000002","name":"Stolen"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['bbbbbbbbbbbbbbbbbbbbbbbb', 'b00000000000000000000002'])
    || ') ' || pg_temp.write_tail('segments', NULL, true), 'return=representation');
SELECT is(code, '42501', 'PUT another company''s segment: 42501') FROM r;
SELECT is(status, 403, 'PUT another company''s segment: 403 Forbidden') FROM r;
DROP TABLE r;
SELECT is((SELECT name FROM segext.segments WHERE id = 'b00000000000000000000002'), 'Only B',
          'PUT another company''s segment: B''s segment is untouched');
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/segments',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segments', ARRAY['company_id', 'id', 'name'],
                            ARRAY['segext.objectid', 'segext.objectid', 'text'],
                            '{"company_id":"bbbbbbbbbbbbbbbbbbbbbbbb","id":"b00000000000000000000009","name":"Planted"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'],
                            ARRAY['bbbbbbbbbbbbbbbbbbbbbbbb', 'b00000000000000000000009'])
    || ') ' || pg_temp.write_tail('segments', NULL, true), 'return=representation');
SELECT is(status, 403, 'PUT a new segment into another company: 403') FROM r;
DROP TABLE r;
SELECT ok(NOT EXISTS (SELECT FROM segext.segments WHERE name = 'Planted'), 'PUT a new segment into another company: nothing inserted');

-- POST /segments  (Prefer: return=representation,resolution=merge-duplicates): an upsert on the
-- primary key; company_id left out (the view's default), one existing and one new id.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segments', ARRAY['id', 'name'], ARRAY['segext.objectid', 'text'],
                            '[{"id":"a00000000000000000000005","name":"Emerald IV"},{"id":"a00000000000000000000007","name":"Ruby"}]',
                            ARRAY['company_id', 'id'])
    || ') ' || pg_temp.write_tail('segments', NULL, true), 'return=representation,resolution=merge-duplicates');
SELECT is(status, 201, 'POST merge-duplicates with a new row: 201') FROM r;
SELECT is((SELECT jsonb_agg(e ->> 'name' ORDER BY e ->> 'name') FROM jsonb_array_elements(body) e), '["Emerald IV", "Ruby"]'::jsonb,
          'POST merge-duplicates: the updated and the inserted row come back') FROM r;
DROP TABLE r;
SELECT is((SELECT count(*) FROM segext.segments WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND id IN ('a00000000000000000000005', 'a00000000000000000000007')),
          2::bigint, 'POST merge-duplicates: one row updated in place, one inserted, both in A');
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/segments',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('segments', ARRAY['id', 'name'], ARRAY['segext.objectid', 'text'],
                            '{"id":"a00000000000000000000007","name":"Ruby II"}', ARRAY['company_id', 'id'], representation => false)
    || ') ' || pg_temp.write_tail('segments', NULL, true), 'resolution=merge-duplicates');
SELECT is(status, 200, 'POST merge-duplicates updating only: 200') FROM r;
DROP TABLE r;
SELECT is((SELECT name FROM segext.segments WHERE id = 'a00000000000000000000007'), 'Ruby II', 'POST merge-duplicates: updated');

-- The same objects from SQL: segext.company_id instead of the JWT claim.
SET LOCAL segext.company_id = 'bbbbbbbbbbbbbbbbbbbbbbbb';
SELECT is((SELECT count(*) FROM segext_api.segments), 4::bigint, 'SQL with segext.company_id: B''s segments');
SELECT is((SELECT name FROM segext_api.segments WHERE number = 2), 'Only B', 'SQL with segext.company_id: B''s own row');
WITH i AS (INSERT INTO segext_api.segments (name, number) VALUES ('Null number', NULL) RETURNING number)
SELECT is((SELECT number FROM i), (SELECT max(number) + 1 FROM segext.segments WHERE company_id = 'bbbbbbbbbbbbbbbbbbbbbbbb'),
          'SQL INSERT through the view with number NULL: the next number is assigned');
SELECT throws_ok($$INSERT INTO segext_api.segments (name, active) VALUES ('Null active', NULL)$$, '23502', NULL,
                 'SQL INSERT through the view with an explicit NULL active: the table''s NOT NULL (23502), not the default');

SELECT * FROM finish();
ROLLBACK;
