-- A write with no current company and no company_id in the row is refused
-- with 42501 "no current company" (DETAIL and HINT say how to set one), on
-- every company-scoped table, through the API views and directly; a row
-- with a NULL company_id while a company is current is refused by row level
-- security, and by the NOT NULL constraint for a superuser.  The writer is
-- granted two companies, so none is current until it names one.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
\ir helpers/errors.sql
SELECT plan(12);

SELECT segext.create_company('no company') AS c \gset
INSERT INTO segext.customers (company_id, id) VALUES (:'c', '0000000000000000000000a1');

SELECT segext.create_company('other company') AS d \gset
CREATE ROLE no_company_writer NOLOGIN IN ROLE segext_writer;
SELECT segext.grant_company(:'c', 'no_company_writer', 'writer');
SELECT segext.grant_company(:'d', 'no_company_writer', 'writer');

SET LOCAL ROLE no_company_writer;
SELECT throws_ok($$INSERT INTO segext_api.segments (name) VALUES ('s')$$, '42501', 'no current company',
                 'segments through the view: no current company');
SELECT throws_ok($$INSERT INTO segext_api.segment_groups (name) VALUES ('g')$$, '42501', 'no current company',
                 'segment groups through the view: no current company');
SELECT throws_ok($$INSERT INTO segext_api.channels (name) VALUES ('ch')$$, '42501', 'no current company',
                 'channels through the view: no current company');
SELECT throws_ok($$INSERT INTO segext_api.customers (external_id) VALUES ('x')$$, '42501', 'no current company',
                 'customers through the view: no current company');
SELECT throws_ok($$INSERT INTO segext_api.transactions (customer_id, amount) VALUES ('0000000000000000000000a1', 1)$$,
                 '42501', 'no current company', 'transactions through the view: no current company');
SELECT throws_ok($$INSERT INTO segext.segments (name) VALUES ('s')$$, '42501', 'no current company',
                 'segments directly: no current company');
SELECT throws_ok($$SELECT segext_api.reorder_segments(ARRAY[2])$$, '42501', 'no current company',
                 'the segment order of the API: the no current company error of every API action');
-- One error, whatever needed the company: a row, an API action, a preview.
SELECT is(public.rules_error($$SELECT segext_api.reorder_segments(ARRAY[2])$$),
          public.rules_error($$INSERT INTO segext.segments (name) VALUES ('s')$$),
          'an API action and a row give the same error, DETAIL and HINT');
SELECT is(public.rules_error($$SELECT * FROM segext.preview_criteria('[{"type": "transaction_count", "min": 1, "max": 10}]')$$),
          ARRAY['42501', 'no current company',
                'Neither a JWT claim of a gateway session nor the setting "segext.company_id" names a company, and role "no_company_writer" is not granted exactly one company.',
                'SET segext.company_id to a company granted to the role (segext.grant_company), or send a JWT carrying a "company_id" claim through a gateway.'],
          'a preview gives it too, with the role named');
SELECT set_config('segext.company_id', :'c', true);
SELECT throws_ok($$INSERT INTO segext.segments (company_id, name) VALUES (NULL, 's')$$, '42501', NULL,
                 'an explicit NULL company_id with a current company: row level security refuses it');
SELECT lives_ok($$INSERT INTO segext_api.segments (name) VALUES ('s')$$, 'with a current company the view fills company_id');
RESET ROLE;
SELECT throws_ok($$INSERT INTO segext.segments (company_id, name) VALUES (NULL, 's')$$, '23502', NULL,
                 'a superuser''s NULL company_id: the NOT NULL error');

SELECT * FROM finish();
ROLLBACK;
