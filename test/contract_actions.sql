-- Contract test of the action RPCs (activate, deactivate, refresh, members of
-- a segment, manual members, classify): replays in SQL the statements
-- PostgREST v12 sends for /rpc/... (test/contract/README.md) and checks body,
-- HTTP status, the refusals of built-ins and tenant isolation.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext;
\ir contract/helpers.sql

INSERT INTO segext.segments (company_id, id, number, name, position, active, criteria) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000002', 2, 'Buyers', 1, false,
     '[{"type":"transaction_count","min":1,"max":100}]'),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000003', 3, 'Hand picked', 2, true, NULL),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000004', 4, 'Oslo events', 3, true,
     '[{"field":"city","op":"eq","value":"Oslo"}]'),
    ('bbbbbbbbbbbbbbbbbbbbbbbb', 'b00000000000000000000002', 2, 'Only B', 1, true, NULL);
INSERT INTO segext.customers (company_id, id, external_id, first_name, last_name, email) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c1', 'a-1', 'Anna', 'Lee', 'anna@example.com'),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c2', 'a-2', 'Bo', 'Berg', 'bo@example.com'),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c3', 'a-3', 'Cy', 'Dale', 'cy@example.org'),
    ('bbbbbbbbbbbbbbbbbbbbbbbb', 'b000000000000000000000c1', 'b-1', 'Bea', 'Other', NULL);
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c1', 10),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c2', 20);

-- call_scalar builds the statement of POST /rpc/<fn> with a JSON body whose
-- keys are typed by args (the json_to_record column list).
CREATE FUNCTION pg_temp.call_scalar(fn text, body text, args text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT ' || quote_literal(body)
        || '::json AS json_data) pgrst_payload, LATERAL (SELECT '
        || (SELECT string_agg(quote_ident(split_part(a, ' ', 1)), ', ') FROM unnest(string_to_array(args, ', ')) a)
        || ' FROM json_to_record(pgrst_payload.json_data) AS _(' || regexp_replace(args, '(\w+) ', '"\1" ', 'g')
        || ') LIMIT 1) pgrst_body , LATERAL (SELECT "segext_api".' || quote_ident(fn) || '('
        || (SELECT string_agg(quote_ident(split_part(a, ' ', 1)) || ' := pgrst_body.' || quote_ident(split_part(a, ' ', 1)), ', ')
              FROM unnest(string_to_array(args, ', ')) a)
        || ') pgrst_scalar) pgrst_call) ' || pg_temp.call_tail(fn, true)
$$;

-- members builds GET /rpc/segment_customers?<args>&<read clauses> (Prefer: count=exact).
CREATE FUNCTION pg_temp.members(args jsonb, read_clauses text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'WITH pgrst_source AS (SELECT "pgrst_call".* FROM (SELECT ' || quote_literal(args::text)
        || '::json AS json_data) pgrst_payload, LATERAL (SELECT '
        || (SELECT string_agg(quote_ident(k), ', ' ORDER BY k) FROM jsonb_object_keys(args) k)
        || ' FROM json_to_record(pgrst_payload.json_data) AS _('
        || (SELECT string_agg(quote_ident(k) || CASE k WHEN 'segment_id' THEN ' segext.objectid' ELSE ' text' END, ', ' ORDER BY k)
              FROM jsonb_object_keys(args) k)
        || ') LIMIT 1) pgrst_body , LATERAL "segext_api"."segment_customers"('
        || (SELECT string_agg(quote_ident(k) || ' := pgrst_body.' || quote_ident(k), ', ' ORDER BY k) FROM jsonb_object_keys(args) k)
        || ') pgrst_call) '
        || pg_temp.call_tail('segment_customers', false,
                             'SELECT 1 FROM "pgrst_source" AS "segment_customers" ' || split_part(read_clauses, ' ORDER BY', 1),
                             read_clauses)
$$;

SELECT plan(52);

-- POST /rpc/activate_segment  {"segment_id":"a...2"}: void, 204; members computed at once
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/activate_segment',
    pg_temp.call_scalar('activate_segment', '{"segment_id":"a00000000000000000000002"}', 'segment_id segext.objectid'));
SELECT is(status, 204, 'POST /rpc/activate_segment: 204 No Content') FROM r;
DROP TABLE r;
SELECT is((SELECT active FROM segext.segments WHERE id = 'a00000000000000000000002'), true, 'activate_segment: the segment is active');
SELECT is((SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE id = 'a00000000000000000000002'), 2::bigint,
          'activate_segment: its two buyers are members at once');

-- Refusals: another company's id (404), built-ins (403), a reader (403), no JWT (401)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/rpc/activate_segment',
    pg_temp.call_scalar('activate_segment', '{"segment_id":"a00000000000000000000002"}', 'segment_id segext.objectid'));
SELECT is(code, 'PT404', 'activate A''s segment as B: PT404') FROM r;
SELECT is(status, 404, 'activate A''s segment as B: 404 Not Found') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/activate_segment',
    pg_temp.call_scalar('activate_segment',
                        json_build_object('segment_id', (SELECT id FROM segext.segments WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND number = 0))::text,
                        'segment_id segext.objectid'));
SELECT is(code, 'PT403', 'activate built-in segment 0: PT403') FROM r;
SELECT is(status, 403, 'activate built-in segment 0: 403 Forbidden') FROM r;
SELECT is(message, 'built-in segment 0 "All" cannot be activated', 'activate built-in segment 0: the message names the segment') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/deactivate_segment',
    pg_temp.call_scalar('deactivate_segment',
                        json_build_object('segment_id', (SELECT id FROM segext.segments WHERE company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa' AND number = 1))::text,
                        'segment_id segext.objectid'));
SELECT is(status, 403, 'deactivate built-in segment 1: 403 Forbidden') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/deactivate_segment',
    pg_temp.call_scalar('deactivate_segment', '{"segment_id":"a00000000000000000000002"}', 'segment_id segext.objectid'));
SELECT is(code, '42501', 'deactivate as segext_reader: 42501') FROM r;
SELECT is(status, 403, 'deactivate as segext_reader: 403') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/activate_segment',
    pg_temp.call_scalar('activate_segment', '{"segment_id":"not-an-id"}', 'segment_id segext.objectid'));
SELECT is(status, 400, 'activate with a malformed id: 400 (22P02)') FROM r;
DROP TABLE r;

-- GET /rpc/segment_customers?segment_id=a...2&order=last_name.asc&limit=1&offset=0  (Prefer: count=exact)
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'GET', '/rpc/segment_customers',
    pg_temp.members('{"segment_id":"a00000000000000000000002"}',
                    $q$ ORDER BY "segment_customers"."last_name" ASC  LIMIT '1' OFFSET '0'$q$));
SELECT is(status, 206, 'GET /rpc/segment_customers page: 206 Partial Content') FROM r;
SELECT is(total, 2::bigint, 'GET /rpc/segment_customers: total from Prefer: count=exact (Content-Range)') FROM r;
SELECT is(page_total, 1::bigint, 'GET /rpc/segment_customers: limit 1') FROM r;
SELECT is(body -> 0 ->> 'last_name', 'Berg', 'GET /rpc/segment_customers: sorted by last_name') FROM r;
SELECT is(body -> 0 ->> 'customer_id', 'a000000000000000000000c2', 'GET /rpc/segment_customers: the customer''s id') FROM r;
DROP TABLE r;

-- page 2 of perPage 1 = offset 1; direction DESC
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'GET', '/rpc/segment_customers',
    pg_temp.members('{"segment_id":"a00000000000000000000002"}',
                    $q$ ORDER BY "segment_customers"."last_name" DESC  LIMIT '1' OFFSET '1'$q$), range_offset => 1);
SELECT is(body -> 0 ->> 'last_name', 'Berg', 'GET /rpc/segment_customers order=last_name.desc, offset 1: the second one') FROM r;
DROP TABLE r;

-- filters as arguments: first_name (case-insensitive substring), email
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'GET', '/rpc/segment_customers',
    pg_temp.members('{"segment_id":"a00000000000000000000002","first_name":"ANN"}'));
SELECT is(status, 200, 'GET /rpc/segment_customers?first_name=ANN: 200') FROM r;
SELECT is(total, 1::bigint, 'GET /rpc/segment_customers?first_name=ANN: one match') FROM r;
SELECT is(body -> 0 ->> 'first_name', 'Anna', 'GET /rpc/segment_customers?first_name=ANN: Anna') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'GET', '/rpc/segment_customers',
    pg_temp.members('{"segment_id":"a00000000000000000000002","email":"%"}'));
SELECT is(total, 0::bigint, 'GET /rpc/segment_customers?email=%: % matches literally, no one') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'GET', '/rpc/segment_customers',
    pg_temp.members('{"segment_id":"a00000000000000000000002"}'));
SELECT is(status, 404, 'GET /rpc/segment_customers of A''s segment as B: 404') FROM r;
DROP TABLE r;

-- POST /rpc/add_segment_members  {"segment_id":"a...3","customer_ids":["a...c3"]}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/add_segment_members',
    pg_temp.call_scalar('add_segment_members', '{"segment_id":"a00000000000000000000003","customer_ids":["a000000000000000000000c3","a000000000000000000000c1"]}',
                        'customer_ids segext.objectid[], segment_id segext.objectid'));
SELECT is(status, 200, 'POST /rpc/add_segment_members: 200') FROM r;
SELECT is(body, '2'::jsonb, 'POST /rpc/add_segment_members: two added') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/add_segment_members',
    pg_temp.call_scalar('add_segment_members', '{"segment_id":"a00000000000000000000003","customer_ids":["b000000000000000000000c1"]}',
                        'customer_ids segext.objectid[], segment_id segext.objectid'));
SELECT is(code, '23503', 'add B''s customer to A''s segment: 23503') FROM r;
SELECT is(status, 409, 'add B''s customer to A''s segment: 409') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/add_segment_members',
    pg_temp.call_scalar('add_segment_members', '{"segment_id":"a00000000000000000000002","customer_ids":["a000000000000000000000c3"]}',
                        'customer_ids segext.objectid[], segment_id segext.objectid'));
SELECT is(code, '22023', 'add members to a segment with criteria: 22023') FROM r;
SELECT is(status, 400, 'add members to a segment with criteria: 400') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/rpc/add_segment_members',
    pg_temp.call_scalar('add_segment_members', '{"segment_id":"a00000000000000000000003","customer_ids":["b000000000000000000000c1"]}',
                        'customer_ids segext.objectid[], segment_id segext.objectid'));
SELECT is(status, 404, 'add members to A''s segment as B: 404') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/remove_segment_members',
    pg_temp.call_scalar('remove_segment_members', '{"segment_id":"a00000000000000000000003","customer_ids":["a000000000000000000000c1"]}',
                        'customer_ids segext.objectid[], segment_id segext.objectid'));
SELECT is(body, '1'::jsonb, 'POST /rpc/remove_segment_members: one removed') FROM r;
DROP TABLE r;
SELECT is(ARRAY(SELECT customer_id::text FROM segext.memberships WHERE segment_id = 'a00000000000000000000003'),
          ARRAY['a000000000000000000000c3'], 'manual members: the one added and not removed');

-- A new sale: the buyer enters at once; POST /rpc/refresh (no arguments)
-- then finds nothing to change.
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c3', 5);
SELECT is((SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE id = 'a00000000000000000000002'), 3::bigint,
          'a new sale: the new buyer entered Buyers in the same statement');
DELETE FROM segext.memberships WHERE company_id = 'bbbbbbbbbbbbbbbbbbbbbbbb' AND customer_id = 'b000000000000000000000c1'
    AND segment_id = (SELECT id FROM segext.segments WHERE company_id = 'bbbbbbbbbbbbbbbbbbbbbbbb' AND number = 0);
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/refresh',
    'WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT "segext_api"."refresh"() pgrst_scalar) pgrst_call) '
    || pg_temp.call_tail('refresh', true));
SELECT is(status, 200, 'POST /rpc/refresh: 200') FROM r;
SELECT is(body, '0'::jsonb, 'POST /rpc/refresh: nothing to change, members were already true') FROM r;
DROP TABLE r;
SELECT is((SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE company_id = 'bbbbbbbbbbbbbbbbbbbbbbbb' AND number = 0), 0::bigint,
          'refresh as A: B''s segments untouched (B''s All, emptied by hand, stays empty)');
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/refresh_segment',
    pg_temp.call_scalar('refresh_segment', '{"segment_id":"a00000000000000000000002"}', 'segment_id segext.objectid'));
SELECT is(body, '0'::jsonb, 'POST /rpc/refresh_segment: nothing changed since') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/refresh_segment',
    pg_temp.call_scalar('refresh_segment', '{"segment_id":"b00000000000000000000002"}', 'segment_id segext.objectid'));
SELECT is(status, 404, 'POST /rpc/refresh_segment of B''s segment as A: 404') FROM r;
DROP TABLE r;

-- POST /rpc/deactivate_segment: all members leave at once
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_a', 'POST', '/rpc/deactivate_segment',
    pg_temp.call_scalar('deactivate_segment', '{"segment_id":"a00000000000000000000002"}', 'segment_id segext.objectid'));
SELECT is(status, 204, 'POST /rpc/deactivate_segment: 204') FROM r;
DROP TABLE r;
SELECT is((SELECT segext.segment_customers_count(company_id, id) FROM segext.segments WHERE id = 'a00000000000000000000002'), 0::bigint,
          'deactivate_segment: no members left');

-- POST /rpc/classify  {"event":{...}}: the current company's segments only
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/classify',
    pg_temp.call_scalar('classify', '{"event":{"city":"Oslo","act":"view"}}', 'event jsonb'));
SELECT is(status, 200, 'POST /rpc/classify: 200') FROM r;
SELECT is(body, '4'::jsonb, 'POST /rpc/classify: the matching segment''s number') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/classify',
    pg_temp.call_scalar('classify', '{"event":{"city":"Rome"}}', 'event jsonb'));
SELECT is(body, '1'::jsonb, 'POST /rpc/classify with no match: 1 (Default)') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/rpc/classify',
    pg_temp.call_scalar('classify', '{"event":{"city":"Oslo"}}', 'event jsonb'));
SELECT is(body, '1'::jsonb, 'POST /rpc/classify as B: A''s segments do not apply') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('contract_anon', '', 'POST', '/rpc/classify',
    pg_temp.call_scalar('classify', '{"event":{"city":"Oslo"}}', 'event jsonb'));
SELECT is(status, 401, 'POST /rpc/classify without JWT: 401') FROM r;
DROP TABLE r;

-- POST /rpc/preview_criteria {"criteria": ..., "sample": 1}: a composite
-- result is one JSON object; a reader may call it; bad criteria are 400.
CREATE FUNCTION pg_temp.preview(body text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'WITH pgrst_source AS (SELECT "pgrst_call".* FROM (SELECT ' || quote_literal(body)
        || '::json AS json_data) pgrst_payload, LATERAL (SELECT "criteria", "sample" FROM json_to_record(pgrst_payload.json_data) AS _("criteria" segext.criteria, "sample" integer) LIMIT 1) pgrst_body , '
        || 'LATERAL "segext_api"."preview_criteria"("criteria" := pgrst_body."criteria", "sample" := pgrst_body."sample") pgrst_call) '
        || 'SELECT null::bigint AS total_result_set, 1 AS page_total, coalesce(json_agg(_postgrest_t)->0, ''null'') AS body, '
        || 'nullif(current_setting(''response.headers'', true), '''') AS response_headers, '
        || 'nullif(current_setting(''response.status'', true), '''') AS response_status, '''' AS response_inserted '
        || 'FROM (SELECT "preview_criteria".* FROM "pgrst_source" AS "preview_criteria"  ) _postgrest_t'
$$;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/preview_criteria',
    pg_temp.preview('{"criteria": {"all": [{"type": "customer_list", "customers": ["a000000000000000000000c1", "a000000000000000000000c2", "a000000000000000000000c3", "b000000000000000000000c1"]}, {"not": {"type": "customer_list", "customers": ["a000000000000000000000c2"]}}]}, "sample": 1}'));
SELECT is(status, 200, 'POST /rpc/preview_criteria: 200 for a reader') FROM r;
SELECT is(body, '{"member_count": 2, "sample_ids": ["a000000000000000000000c1"]}'::jsonb,
          'POST /rpc/preview_criteria: the count and the sample of the company''s customers') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/preview_criteria',
    pg_temp.preview('{"criteria": {"all": []}, "sample": 1}'));
SELECT is(status, 400, 'POST /rpc/preview_criteria with an empty group: 400') FROM r;
SELECT is(code, '22023', 'POST /rpc/preview_criteria with an empty group: 22023') FROM r;
DROP TABLE r;

-- The same functions from SQL, with segext.company_id.
SET LOCAL segext.company_id = 'aaaaaaaaaaaaaaaaaaaaaaaa';
SELECT is((SELECT count(*) FROM segext_api.segment_customers('a00000000000000000000003')), 1::bigint,
          'SQL: segment_customers of the manual segment');
SELECT throws_ok($$SELECT segext_api.refresh_segment('b00000000000000000000002')$$, 'PT404',
                 'segment "b00000000000000000000002" does not exist', 'SQL: another company''s segment is PT404');
RESET segext.company_id;
SELECT throws_ok($$SELECT segext_api.refresh()$$, '42501', NULL, 'SQL without a current company: 42501');

SELECT * FROM finish();
ROLLBACK;
