-- Contract test of the explain RPCs: replays in SQL the statements
-- PostgREST v12 sends for POST /rpc/explain_membership and
-- /rpc/explain_classify (set-returning functions read like a table:
-- test/contract/README.md) and checks body, status, filters and order over
-- the rows, the 404s and tenant isolation.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext;
\ir contract/helpers.sql

INSERT INTO segext.segments (company_id, id, number, name, position, active, criteria) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000002', 2, 'Buyers', 1, true,
     '{"all": [{"type": "transaction_count", "min": 1, "max": 100}, {"not": {"field": "city", "op": "eq", "value": "Oslo"}}]}'),
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a00000000000000000000004', 4, 'Oslo events', 3, true,
     '[{"field": "city", "op": "eq", "value": "Oslo"}]'),
    ('bbbbbbbbbbbbbbbbbbbbbbbb', 'b00000000000000000000002', 2, 'Only B', 1, true,
     '[{"field": "city", "op": "eq", "value": "Oslo"}]');
INSERT INTO segext.customers (company_id, id, external_id, first_name) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c1', 'a-1', 'Anna'),
    ('bbbbbbbbbbbbbbbbbbbbbbbb', 'b000000000000000000000c1', 'b-1', 'Bea');
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES
    ('aaaaaaaaaaaaaaaaaaaaaaaa', 'a000000000000000000000c1', 10);

-- call_set builds POST /rpc/<fn> of a set-returning function with a JSON
-- body whose keys are typed by args (sorted, as PostgREST sorts them) and
-- the read clauses of the URL (filters, order, limit/offset).
CREATE FUNCTION pg_temp.call_set(fn text, body text, args text, read_clauses text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'WITH pgrst_source AS (SELECT "pgrst_call".* FROM (SELECT ' || quote_literal(body)
        || '::json AS json_data) pgrst_payload, LATERAL (SELECT '
        || (SELECT string_agg(quote_ident(split_part(a, ' ', 1)), ', ') FROM unnest(string_to_array(args, ', ')) a)
        || ' FROM json_to_record(pgrst_payload.json_data) AS _(' || regexp_replace(args, '(\w+) ', '"\1" ', 'g')
        || ') LIMIT 1) pgrst_body , LATERAL "segext_api".' || quote_ident(fn) || '('
        || (SELECT string_agg(quote_ident(split_part(a, ' ', 1)) || ' := pgrst_body.' || quote_ident(split_part(a, ' ', 1)), ', ')
              FROM unnest(string_to_array(args, ', ')) a)
        || ') pgrst_call) ' || pg_temp.call_tail(fn, false, NULL, read_clauses)
$$;

SELECT plan(14);

-- POST /rpc/explain_membership {"customer_id": ..., "segment_id": ...}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/explain_membership',
    pg_temp.call_set('explain_membership', '{"customer_id":"a000000000000000000000c1","segment_id":"a00000000000000000000002"}',
                     'customer_id segext.objectid, segment_id segext.objectid'));
SELECT is(status, 200, 'POST /rpc/explain_membership: 200') FROM r;
SELECT is(jsonb_array_length(body), 5, 'POST /rpc/explain_membership: one row per node and the answer') FROM r;
SELECT is(body -> 1 ->> 'explanation', 'transaction_count: 1 (needs 1..100) -> true',
          'POST /rpc/explain_membership: the customer''s value that decided a criterion') FROM r;
SELECT is(body -> 4, '{"ordinal": 5, "path": "segment", "depth": 0, "node": "segment 2 \"Buyers\"",
                       "value": "criteria matched", "requirement": "an active customer whom the criteria match",
                       "matched": true,
                       "explanation": "segment 2 \"Buyers\": criteria matched (needs an active customer whom the criteria match) -> true"}'::jsonb,
          'POST /rpc/explain_membership: the last row is the answer') FROM r;
DROP TABLE r;

-- ?matched=is.false&order=ordinal.desc : filters and order apply to the rows
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/explain_membership',
    pg_temp.call_set('explain_membership', '{"customer_id":"a000000000000000000000c1","segment_id":"a00000000000000000000002"}',
                     'customer_id segext.objectid, segment_id segext.objectid',
                     $q$ WHERE  "explain_membership"."matched" IS false ORDER BY "explain_membership"."ordinal" DESC$q$));
SELECT is(status, 200, 'POST /rpc/explain_membership?matched=is.false: 200') FROM r;
SELECT is(body, '[{"ordinal": 4, "path": "1.2.1", "depth": 3, "node": "{\"field\": \"city\", \"op\": \"eq\", \"value\": \"Oslo\"}",
                   "value": "missing", "requirement": "eq \"Oslo\"", "matched": false,
                   "explanation": "city: missing (needs eq \"Oslo\") -> false"}]'::jsonb,
          'POST /rpc/explain_membership?matched=is.false: the node that did not match') FROM r;
DROP TABLE r;

-- another company's segment and customer: 404
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/explain_membership',
    pg_temp.call_set('explain_membership', '{"customer_id":"a000000000000000000000c1","segment_id":"b00000000000000000000002"}',
                     'customer_id segext.objectid, segment_id segext.objectid'));
SELECT is(status, 404, 'POST /rpc/explain_membership of another company''s segment: 404') FROM r;
SELECT is(code, 'PT404', 'POST /rpc/explain_membership of another company''s segment: PT404') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/explain_membership',
    pg_temp.call_set('explain_membership', '{"customer_id":"b000000000000000000000c1","segment_id":"a00000000000000000000002"}',
                     'customer_id segext.objectid, segment_id segext.objectid'));
SELECT is(status, 404, 'POST /rpc/explain_membership of another company''s customer: 404') FROM r;
SELECT is(message, 'customer "b000000000000000000000c1" does not exist',
          'POST /rpc/explain_membership of another company''s customer: the message names it') FROM r;
DROP TABLE r;

-- POST /rpc/explain_classify {"event": {...}}
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_reader', :'claims_a_reader', 'POST', '/rpc/explain_classify',
    pg_temp.call_set('explain_classify', '{"event":{"city":"Oslo"}}', 'event jsonb',
                     $q$ WHERE  "explain_classify"."path" = 'segment' ORDER BY "explain_classify"."ordinal" ASC$q$));
SELECT is(status, 200, 'POST /rpc/explain_classify: 200') FROM r;
SELECT is(body -> -1 ->> 'explanation',
          'segment 4: criteria matched, the first segment that did (needs criteria to match, tried by position then number) -> true',
          'POST /rpc/explain_classify: the chosen segment') FROM r;
SELECT is(body -> 0 ->> 'value', 'left out of event stamping: criteria on customer aggregates: an event cannot match them',
          'POST /rpc/explain_classify: a segment left out, and why') FROM r;
DROP TABLE r;
CREATE TEMP TABLE r AS SELECT * FROM pg_temp.pgrst('segext_writer', :'claims_b', 'POST', '/rpc/explain_classify',
    pg_temp.call_set('explain_classify', '{"event":{"city":"Oslo"}}', 'event jsonb',
                     $q$ WHERE  "explain_classify"."matched" IS true AND  "explain_classify"."path" = 'segment'$q$));
SELECT is(body -> 0 ->> 'segment_number', '2', 'POST /rpc/explain_classify as B: B''s segments only') FROM r;
DROP TABLE r;

SELECT * FROM finish();
ROLLBACK;
