-- Contract test of /customers and /transactions: replays in SQL the statements
-- PostgREST v12 sends (test/contract/README.md) and checks body, HTTP status
-- and tenant isolation.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext;
\ir contract/helpers.sql

INSERT INTO segext.customers (company_id, id, external_id, first_name, last_name) VALUES
    ('bbbbbbbbbbbbbbbbbbbbbbbb', 'b000000000000000000000c1', 'b-1', 'Bea', 'Only B');

SELECT plan(64);

-- POST /customers  (Prefer: return=representation)  one object with labels and attributes
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/customers',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."customers"("attributes", "email", "external_id", "first_name", "labels", "last_name") SELECT "pgrst_body"."attributes", "pgrst_body"."email", "pgrst_body"."external_id", "pgrst_body"."first_name", "pgrst_body"."labels", "pgrst_body"."last_name" FROM (SELECT '{"external_id":"a-1","first_name":"Anna","last_name":"Lee","email":"anna@example.com","labels":[{"key":"tier","value":"gold"}],"attributes":{"city":"Oslo"}}'::json AS json_data) pgrst_payload, LATERAL (SELECT "attributes", "email", "external_id", "first_name", "labels", "last_name" FROM json_to_record(pgrst_payload.json_data) AS _("attributes" jsonb, "email" text, "external_id" text, "first_name" text, "labels" jsonb, "last_name" text) ) pgrst_body  RETURNING "segext_api"."customers".*) $q$
    || pg_temp.write_tail('customers'), 'return=representation');
SELECT is(status, 201, 'POST /customers: 201 Created') FROM r;
SELECT is((body -> 0 ->> 'id')::segext.objectid,
          (SELECT id FROM segext.customers WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND external_id = 'a-1'),
          'POST /customers: the generated id is returned, and the row belongs to the JWT''s company') FROM r;
SELECT is(body -> 0 -> 'labels', '[{"key": "tier", "value": "gold"}]'::jsonb, 'POST /customers: labels as JSON') FROM r;
SELECT is(body -> 0 -> 'attributes', '{"city": "Oslo"}'::jsonb, 'POST /customers: attributes as JSON') FROM r;
SELECT is(body -> 0 -> 'active', 'true'::jsonb, 'POST /customers: table defaults fill the omitted columns') FROM r;
SELECT set_config('contract.anna', (SELECT body -> 0 ->> 'id' FROM r), true);
DROP TABLE r;

-- POST /customers  a JSON array body (json_to_recordset): every generated key comes back
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/customers',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."customers"("external_id", "first_name", "last_name", "phone") SELECT "pgrst_body"."external_id", "pgrst_body"."first_name", "pgrst_body"."last_name", "pgrst_body"."phone" FROM (SELECT '[{"external_id":"a-2","first_name":"Bo","last_name":"Berg","phone":"+47 111"},{"external_id":"a-3","first_name":"Cy","last_name":"Dale","phone":"+47 222"}]'::json AS json_data) pgrst_payload, LATERAL (SELECT "external_id", "first_name", "last_name", "phone" FROM json_to_recordset(pgrst_payload.json_data) AS _("external_id" text, "first_name" text, "last_name" text, "phone" text) ) pgrst_body  RETURNING "segext_api"."customers".*) $q$
    || pg_temp.write_tail('customers'), 'return=representation');
SELECT is(page_total, 2::bigint, 'POST /customers with an array: two rows') FROM r;
SELECT is((SELECT count(DISTINCT e ->> 'id') FROM jsonb_array_elements(body) e
            WHERE (e ->> 'id')::segext.objectid IN (SELECT id FROM segext.customers WHERE external_id IN ('a-2', 'a-3'))),
          2::bigint, 'POST /customers with an array: each generated id returned') FROM r;
DROP TABLE r;

-- GET /customers?last_name=ilike.*e*&order=last_name.asc&limit=1&offset=1  (Prefer: count=exact)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/customers',
    $q$WITH pgrst_source AS ( SELECT "segext_api"."customers".* FROM "segext_api"."customers"  WHERE  "segext_api"."customers"."last_name" ILIKE '%e%'  ORDER BY "segext_api"."customers"."last_name" ASC  LIMIT '1' OFFSET '1' ) $q$
    || pg_temp.read_tail($q$SELECT 1 FROM "segext_api"."customers" WHERE  "segext_api"."customers"."last_name" ILIKE '%e%'$q$),
    range_offset => 1);
SELECT is(status, 206, 'GET /customers filtered page: 206 Partial Content') FROM r;
SELECT is(total, 3::bigint, 'GET /customers filtered page: exact count of matching customers (Berg, Dale, Lee)') FROM r;
SELECT is((SELECT jsonb_agg(e -> 'last_name') FROM jsonb_array_elements(body) e), '["Dale"]'::jsonb,
          'GET /customers filtered page: offset 1, limit 1 in last_name order') FROM r;
DROP TABLE r;

-- GET /customers?id=eq.<anna>  (Accept: application/vnd.pgrst.object+json)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'GET', '/customers',
    $q$WITH pgrst_source AS ( SELECT "segext_api"."customers".* FROM "segext_api"."customers"  WHERE  "segext_api"."customers"."id" = $q$
    || quote_literal(current_setting('contract.anna')) || '    ) ' || pg_temp.read_tail(NULL, true));
SELECT is(status, 200, 'GET one customer: 200') FROM r;
SELECT is(body ->> 'email', 'anna@example.com', 'GET one customer: the object itself') FROM r;
DROP TABLE r;

-- PATCH /customers?id=eq.<anna>  (Prefer: return=representation)  {"phone":"+47 333","active":false}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/customers',
    $q$WITH pgrst_source AS (UPDATE "segext_api"."customers" SET "active" = "pgrst_body"."active", "phone" = "pgrst_body"."phone" FROM (SELECT '{"phone":"+47 333","active":false}'::json AS json_data) pgrst_payload, LATERAL (SELECT "active", "phone" FROM json_to_record(pgrst_payload.json_data) AS _("active" boolean, "phone" text) ) pgrst_body  WHERE  "segext_api"."customers"."id" = $q$
    || quote_literal(current_setting('contract.anna')) || ' RETURNING "segext_api"."customers".*) '
    || pg_temp.write_tail('customers'), 'return=representation');
SELECT is(status, 200, 'PATCH /customers: 200 with return=representation') FROM r;
SELECT is(body -> 0 ->> 'phone', '+47 333', 'PATCH /customers: the updated representation') FROM r;
SELECT is(body -> 0 -> 'active', 'false'::jsonb, 'PATCH /customers: active changed in the same request') FROM r;
DROP TABLE r;

-- PATCH labels that are not key/value objects: the C trigger refuses them, 400
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/customers',
    $q$WITH pgrst_source AS (UPDATE "segext_api"."customers" SET "labels" = "pgrst_body"."labels" FROM (SELECT '{"labels":["gold"]}'::json AS json_data) pgrst_payload, LATERAL (SELECT "labels" FROM json_to_record(pgrst_payload.json_data) AS _("labels" jsonb) ) pgrst_body  WHERE  "segext_api"."customers"."id" = $q$
    || quote_literal(current_setting('contract.anna')) || ' RETURNING 1) ' || pg_temp.write_tail('customers'));
SELECT is(code, '22023', 'PATCH malformed labels: 22023') FROM r;
SELECT is(status, 400, 'PATCH malformed labels: 400') FROM r;
DROP TABLE r;

-- PATCH a maintained column: accepted, and the value stays segext's
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/customers',
    $q$WITH pgrst_source AS (UPDATE "segext_api"."customers" SET "created_at" = "pgrst_body"."created_at" FROM (SELECT '{"created_at":"2020-01-01T00:00:00Z"}'::json AS json_data) pgrst_payload, LATERAL (SELECT "created_at" FROM json_to_record(pgrst_payload.json_data) AS _("created_at" timestamp with time zone) ) pgrst_body  WHERE  "segext_api"."customers"."id" = $q$
    || quote_literal(current_setting('contract.anna')) || ' RETURNING 1) ' || pg_temp.write_tail('customers'));
SELECT is(status, 204, 'PATCH created_at: 204') FROM r;
DROP TABLE r;
SELECT is((SELECT created_at FROM segext.customers WHERE id = current_setting('contract.anna')::segext.objectid), now(),
          'PATCH created_at: the creation time is still segext''s');

-- POST a duplicate external_id: 23505, 409
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/customers',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."customers"("external_id") SELECT "pgrst_body"."external_id" FROM (SELECT '{"external_id":"a-1"}'::json AS json_data) pgrst_payload, LATERAL (SELECT "external_id" FROM json_to_record(pgrst_payload.json_data) AS _("external_id" text) ) pgrst_body  RETURNING 1) $q$
    || pg_temp.write_tail('customers'));
SELECT is(code, '23505', 'POST a duplicate external_id: 23505') FROM r;
SELECT is(status, 409, 'POST a duplicate external_id: 409 Conflict') FROM r;
DROP TABLE r;

-- Tenant isolation: B sees only its customer, and cannot read, change or delete A's.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'GET', '/customers',
    $q$WITH pgrst_source AS ( SELECT "segext_api"."customers".* FROM "segext_api"."customers"    ) $q$
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."customers"'));
SELECT is(total, 1::bigint, 'GET /customers as B: one customer') FROM r;
SELECT is(body -> 0 ->> 'external_id', 'b-1', 'GET /customers as B: B''s own') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'PATCH', '/customers',
    $q$WITH pgrst_source AS (UPDATE "segext_api"."customers" SET "first_name" = "pgrst_body"."first_name" FROM (SELECT '{"first_name":"Stolen"}'::json AS json_data) pgrst_payload, LATERAL (SELECT "first_name" FROM json_to_record(pgrst_payload.json_data) AS _("first_name" text) ) pgrst_body  WHERE  "segext_api"."customers"."id" = $q$
    || quote_literal(current_setting('contract.anna')) || ' RETURNING 1) ' || pg_temp.write_tail('customers'));
SELECT is(page_total, 0::bigint, 'PATCH A''s customer as B: 0 rows') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'DELETE', '/customers',
    $q$WITH pgrst_source AS (DELETE FROM "segext_api"."customers"  WHERE  "segext_api"."customers"."id" = $q$
    || quote_literal(current_setting('contract.anna')) || ' RETURNING 1) ' || pg_temp.write_tail('customers'));
SELECT is(page_total, 0::bigint, 'DELETE A''s customer as B: 0 rows') FROM r;
DROP TABLE r;
SELECT is((SELECT first_name FROM segext.customers WHERE id = current_setting('contract.anna')::segext.objectid), 'Anna',
          'A''s customer is untouched by B''s PATCH and DELETE');

-- POST /transactions  (Prefer: return=representation)  a sale with items
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/transactions',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."transactions"("amount", "customer_id", "items", "pos_id") SELECT "pgrst_body"."amount", "pgrst_body"."customer_id", "pgrst_body"."items", "pgrst_body"."pos_id" FROM (SELECT $q$
    || quote_literal(json_build_object('customer_id', current_setting('contract.anna'), 'amount', 120.5, 'pos_id', 'oslo-1',
                                       'items', json_build_array(json_build_object('sku', 'SKU-1', 'maker', 'Acme', 'quantity', 1, 'amount', 120.5)))::text)
    || $q$::json AS json_data) pgrst_payload, LATERAL (SELECT "amount", "customer_id", "items", "pos_id" FROM json_to_record(pgrst_payload.json_data) AS _("amount" numeric, "customer_id" segext.objectid, "items" jsonb, "pos_id" text) ) pgrst_body  RETURNING "segext_api"."transactions".*) $q$
    || pg_temp.write_tail('transactions'), 'return=representation');
SELECT is(status, 201, 'POST /transactions: 201 Created') FROM r;
SELECT is((body -> 0 ->> 'id')::segext.objectid,
          (SELECT id FROM segext.transactions WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND pos_id = 'oslo-1'),
          'POST /transactions: the generated id is returned, and the row belongs to the JWT''s company') FROM r;
SELECT is(body -> 0 -> 'returned_amount', '0.00'::jsonb, 'POST /transactions: a new sale has nothing returned') FROM r;
SELECT set_config('contract.sale', (SELECT body -> 0 ->> 'id' FROM r), true);
DROP TABLE r;

-- POST /transactions  a return of part of that sale
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/transactions',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."transactions"("amount", "customer_id", "returns_id") SELECT "pgrst_body"."amount", "pgrst_body"."customer_id", "pgrst_body"."returns_id" FROM (SELECT $q$
    || quote_literal(json_build_object('customer_id', current_setting('contract.anna'), 'amount', -20.5,
                                       'returns_id', current_setting('contract.sale'))::text)
    || $q$::json AS json_data) pgrst_payload, LATERAL (SELECT "amount", "customer_id", "returns_id" FROM json_to_record(pgrst_payload.json_data) AS _("amount" numeric, "customer_id" segext.objectid, "returns_id" segext.objectid) ) pgrst_body  RETURNING "segext_api"."transactions".*) $q$
    || pg_temp.write_tail('transactions'), 'return=representation');
SELECT is(status, 201, 'POST a return: 201') FROM r;
SELECT set_config('contract.return', (SELECT body -> 0 ->> 'id' FROM r), true);
DROP TABLE r;

-- GET /transactions?customer_id=eq.<anna>&order=occurred_at.asc,amount.desc  (Prefer: count=exact)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'GET', '/transactions',
    $q$WITH pgrst_source AS ( SELECT "segext_api"."transactions".* FROM "segext_api"."transactions"  WHERE  "segext_api"."transactions"."customer_id" = $q$
    || quote_literal(current_setting('contract.anna'))
    || $q$  ORDER BY "segext_api"."transactions"."occurred_at" ASC , "segext_api"."transactions"."amount" DESC  ) $q$
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."transactions" WHERE  "segext_api"."transactions"."customer_id" = '
                         || quote_literal(current_setting('contract.anna'))));
SELECT is(status, 200, 'GET /transactions as segext_reader: 200') FROM r;
SELECT is(total, 2::bigint, 'GET /transactions: the sale and its return') FROM r;
SELECT is(body -> 0 -> 'returned_amount', '20.50'::jsonb, 'GET /transactions: the sale shows what was returned of it') FROM r;
SELECT is(body -> 1 ->> 'returns_id', current_setting('contract.sale'), 'GET /transactions: the return points at the sale') FROM r;
DROP TABLE r;

-- POST a return pointing at no sale: 23503, 409
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/transactions',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."transactions"("amount", "customer_id", "returns_id") SELECT "pgrst_body"."amount", "pgrst_body"."customer_id", "pgrst_body"."returns_id" FROM (SELECT $q$
    || quote_literal(json_build_object('customer_id', current_setting('contract.anna'), 'amount', -5,
                                       'returns_id', 'a0000000000000000000ffff')::text)
    || $q$::json AS json_data) pgrst_payload, LATERAL (SELECT "amount", "customer_id", "returns_id" FROM json_to_record(pgrst_payload.json_data) AS _("amount" numeric, "customer_id" segext.objectid, "returns_id" segext.objectid) ) pgrst_body  RETURNING 1) $q$
    || pg_temp.write_tail('transactions'));
SELECT is(code, '23503', 'POST a return of no sale: 23503') FROM r;
SELECT is(status, 409, 'POST a return of no sale: 409 Conflict') FROM r;
DROP TABLE r;

-- POST a return of more than was sold: refused, 400
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/transactions',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."transactions"("amount", "customer_id", "returns_id") SELECT "pgrst_body"."amount", "pgrst_body"."customer_id", "pgrst_body"."returns_id" FROM (SELECT $q$
    || quote_literal(json_build_object('customer_id', current_setting('contract.anna'), 'amount', -500,
                                       'returns_id', current_setting('contract.sale'))::text)
    || $q$::json AS json_data) pgrst_payload, LATERAL (SELECT "amount", "customer_id", "returns_id" FROM json_to_record(pgrst_payload.json_data) AS _("amount" numeric, "customer_id" segext.objectid, "returns_id" segext.objectid) ) pgrst_body  RETURNING 1) $q$
    || pg_temp.write_tail('transactions'));
SELECT is(code, '23514', 'POST a return of more than the sale: 23514') FROM r;
SELECT is(status, 400, 'POST a return of more than the sale: 400') FROM r;
DROP TABLE r;

-- B cannot add a sale to A's customer (no such customer for B): 23503, 409
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/transactions',
    $q$WITH pgrst_source AS (INSERT INTO "segext_api"."transactions"("amount", "customer_id") SELECT "pgrst_body"."amount", "pgrst_body"."customer_id" FROM (SELECT $q$
    || quote_literal(json_build_object('customer_id', current_setting('contract.anna'), 'amount', 10)::text)
    || $q$::json AS json_data) pgrst_payload, LATERAL (SELECT "amount", "customer_id" FROM json_to_record(pgrst_payload.json_data) AS _("amount" numeric, "customer_id" segext.objectid) ) pgrst_body  RETURNING 1) $q$
    || pg_temp.write_tail('transactions'));
SELECT is(status, 409, 'POST a sale for A''s customer as B: 409') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'GET', '/transactions',
    $q$WITH pgrst_source AS ( SELECT "segext_api"."transactions".* FROM "segext_api"."transactions"    ) $q$
    || pg_temp.read_tail('SELECT 1 FROM "segext_api"."transactions"'));
SELECT is(total, 0::bigint, 'GET /transactions as B: none of A''s') FROM r;
DROP TABLE r;

-- PATCH /transactions?id=eq.<sale>  {"pos_id":"oslo-2"}; PATCH returned_amount changes nothing
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/transactions',
    $q$WITH pgrst_source AS (UPDATE "segext_api"."transactions" SET "pos_id" = "pgrst_body"."pos_id" FROM (SELECT '{"pos_id":"oslo-2"}'::json AS json_data) pgrst_payload, LATERAL (SELECT "pos_id" FROM json_to_record(pgrst_payload.json_data) AS _("pos_id" text) ) pgrst_body  WHERE  "segext_api"."transactions"."id" = $q$
    || quote_literal(current_setting('contract.sale')) || ' RETURNING "segext_api"."transactions".*) '
    || pg_temp.write_tail('transactions'), 'return=representation');
SELECT is(status, 200, 'PATCH /transactions: 200') FROM r;
SELECT is(body -> 0 ->> 'pos_id', 'oslo-2', 'PATCH /transactions: the updated representation') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PATCH', '/transactions',
    $q$WITH pgrst_source AS (UPDATE "segext_api"."transactions" SET "returned_amount" = "pgrst_body"."returned_amount" FROM (SELECT '{"returned_amount":0}'::json AS json_data) pgrst_payload, LATERAL (SELECT "returned_amount" FROM json_to_record(pgrst_payload.json_data) AS _("returned_amount" numeric) ) pgrst_body  WHERE  "segext_api"."transactions"."id" = $q$
    || quote_literal(current_setting('contract.sale')) || ' RETURNING 1) ' || pg_temp.write_tail('transactions'));
SELECT is(status, 204, 'PATCH returned_amount: 204') FROM r;
DROP TABLE r;
SELECT is((SELECT returned_amount FROM segext.transactions WHERE id = current_setting('contract.sale')::segext.objectid), 20.50,
          'PATCH returned_amount: the sale''s returned amount is still segext''s');

-- DELETE /transactions?id=eq.<return>: the sale's returned amount goes back to 0
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/transactions',
    $q$WITH pgrst_source AS (DELETE FROM "segext_api"."transactions"  WHERE  "segext_api"."transactions"."id" = $q$
    || quote_literal(current_setting('contract.return')) || ' RETURNING 1) ' || pg_temp.write_tail('transactions'));
SELECT is(status, 204, 'DELETE /transactions: 204') FROM r;
DROP TABLE r;
SELECT is((SELECT returned_amount FROM segext.transactions WHERE id = current_setting('contract.sale')::segext.objectid), 0.00,
          'DELETE a return: its sale has nothing returned any more');

-- PUT /customers?company_id=eq.<A>&id=eq.a000000000000000000000c9: inserted (201), then updated (200)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/customers',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('customers', ARRAY['company_id', 'external_id', 'first_name', 'id', 'labels'],
                            ARRAY['segext.objectid', 'text', 'text', 'segext.objectid', 'jsonb'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a000000000000000000000c9","external_id":"a-9","first_name":"Ida","labels":[{"key":"tier","value":"silver"}]}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c9'])
    || ') ' || pg_temp.write_tail('customers', NULL, true), 'return=representation');
SELECT is(status, 201, 'PUT a new customer: 201') FROM r;
SELECT is(body -> 0 -> 'active', 'true'::jsonb, 'PUT a new customer: columns left out take the table''s defaults') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/customers',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('customers', ARRAY['company_id', 'created_at', 'external_id', 'first_name', 'id', 'labels'],
                            ARRAY['segext.objectid', 'timestamp with time zone', 'text', 'text', 'segext.objectid', 'jsonb'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a000000000000000000000c9","external_id":"a-9","first_name":"Ida Marie","labels":[],"created_at":"2001-01-01T00:00:00Z"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c9'])
    || ') ' || pg_temp.write_tail('customers', NULL, true), 'return=representation');
SELECT is(status, 200, 'PUT an existing customer: 200') FROM r;
SELECT is(ARRAY[body -> 0 ->> 'first_name', body -> 0 ->> 'labels', ((body -> 0 ->> 'created_at')::timestamptz = now())::text],
          ARRAY['Ida Marie', '[]', 'true'], 'PUT an existing customer: updated; created_at stays segext''s') FROM r;
DROP TABLE r;
-- PUT labels that are not key/value objects: the C trigger refuses them on the update path too, 400
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/customers',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('customers', ARRAY['company_id', 'id', 'labels'], ARRAY['segext.objectid', 'segext.objectid', 'jsonb'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a000000000000000000000c9","labels":["gold"]}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c9'])
    || ') ' || pg_temp.write_tail('customers', NULL, true));
SELECT is(code, '22023', 'PUT malformed labels: 22023, 400') FROM r;
DROP TABLE r;
-- As B, PUT with A's company_id: 403, A's customer untouched
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'PUT', '/customers',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('customers', ARRAY['company_id', 'first_name', 'id'], ARRAY['segext.objectid', 'text', 'segext.objectid'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a000000000000000000000c9","first_name":"Stolen"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c9'])
    || ') ' || pg_temp.write_tail('customers', NULL, true));
SELECT is(status, 403, 'PUT A''s customer as B: 403') FROM r;
DROP TABLE r;
SELECT is((SELECT first_name FROM segext.customers WHERE id = 'a000000000000000000000c9'), 'Ida Marie', 'PUT A''s customer as B: untouched');

-- PUT /transactions: a sale (201), a return of all of it (201), the same return again (200, not
-- refused as returning more than is left), and the sale's amount changed (200)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/transactions',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('transactions', ARRAY['amount', 'company_id', 'customer_id', 'id', 'pos_id'],
                            ARRAY['numeric', 'segext.objectid', 'segext.objectid', 'segext.objectid', 'text'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a000000000000000000000d9","customer_id":"a000000000000000000000c9","amount":30,"pos_id":"oslo-9"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000d9'])
    || ') ' || pg_temp.write_tail('transactions', NULL, true), 'return=representation');
SELECT is(status, 201, 'PUT a new sale: 201') FROM r;
DROP TABLE r;
SELECT set_config('contract.return_put', pg_temp.upsert_query('transactions', ARRAY['amount', 'company_id', 'customer_id', 'id', 'returns_id'],
                            ARRAY['numeric', 'segext.objectid', 'segext.objectid', 'segext.objectid', 'segext.objectid'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a000000000000000000000e9","customer_id":"a000000000000000000000c9","amount":-30,"returns_id":"a000000000000000000000d9"}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000e9']), true) \g /dev/null
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/transactions',
    'WITH pgrst_source AS (' || current_setting('contract.return_put') || ') ' || pg_temp.write_tail('transactions', NULL, true),
    'return=representation');
SELECT is(status, 201, 'PUT a new return of the whole sale: 201') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/transactions',
    'WITH pgrst_source AS (' || current_setting('contract.return_put') || ') ' || pg_temp.write_tail('transactions', NULL, true),
    'return=representation');
SELECT is(status, 200, 'PUT the same return again: 200, an update') FROM r;
DROP TABLE r;
SELECT is((SELECT returned_amount FROM segext.transactions WHERE id = 'a000000000000000000000d9'), 30.00,
          'PUT the same return again: the sale has 30 returned, counted once');
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/transactions',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('transactions', ARRAY['amount', 'company_id', 'customer_id', 'id', 'pos_id', 'returned_amount'],
                            ARRAY['numeric', 'segext.objectid', 'segext.objectid', 'segext.objectid', 'text', 'numeric'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a000000000000000000000d9","customer_id":"a000000000000000000000c9","amount":45,"pos_id":"oslo-9","returned_amount":0}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000d9'])
    || ') ' || pg_temp.write_tail('transactions', NULL, true), 'return=representation');
SELECT is(status, 200, 'PUT an existing sale: 200') FROM r;
SELECT is(ARRAY[body -> 0 ->> 'amount', body -> 0 ->> 'returned_amount'], ARRAY['45.00', '30.00'],
          'PUT an existing sale: the new amount; returned_amount stays segext''s') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'PUT', '/transactions',
    'WITH pgrst_source AS ('
    || pg_temp.upsert_query('transactions', ARRAY['amount', 'company_id', 'customer_id', 'id'],
                            ARRAY['numeric', 'segext.objectid', 'segext.objectid', 'segext.objectid'],
                            '{"company_id":"aaaaaaaaaaaaaaaaaaaaaaaa","id":"a000000000000000000000d9","customer_id":"a000000000000000000000c9","amount":10}',
                            ARRAY['company_id', 'id'], ARRAY['company_id', 'id'], ARRAY['aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000d9'])
    || ') ' || pg_temp.write_tail('transactions', NULL, true));
SELECT is(code, '23514', 'PUT a sale below what was returned of it: 23514, 400') FROM r;
DROP TABLE r;

-- A reader cannot write; DELETE /customers removes the customer and its transactions.
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'DELETE', '/customers',
    $q$WITH pgrst_source AS (DELETE FROM "segext_api"."customers"  WHERE  "segext_api"."customers"."id" = $q$
    || quote_literal(current_setting('contract.anna')) || ' RETURNING 1) ' || pg_temp.write_tail('customers'));
SELECT is(status, 403, 'DELETE /customers as segext_reader: 403') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'DELETE', '/customers',
    $q$WITH pgrst_source AS (DELETE FROM "segext_api"."customers"  WHERE  "segext_api"."customers"."id" = $q$
    || quote_literal(current_setting('contract.anna')) || ' RETURNING 1) ' || pg_temp.write_tail('customers'));
SELECT is(status, 204, 'DELETE /customers: 204') FROM r;
SELECT is(page_total, 1::bigint, 'DELETE /customers: one row') FROM r;
DROP TABLE r;
SELECT ok(NOT EXISTS (SELECT FROM segext.transactions WHERE customer_id = current_setting('contract.anna')::segext.objectid),
          'DELETE /customers: its transactions went with it');

SELECT * FROM finish();
ROLLBACK;
