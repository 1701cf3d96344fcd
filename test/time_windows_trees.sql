-- Time windows of criteria written as trees of groups: time_window_candidates
-- finds last_purchase_n_days_before and anniversary criteria at any depth of
-- a tree ("all", "any", "not"), giving the same candidates as the same
-- criteria written as parts, and recheck_time_windows runs for a company
-- whose segments hold trees.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = "$user", public;
SET LOCAL TimeZone = 'UTC';
SELECT plan(5);

SELECT segext.create_company('Window trees') AS c \gset
SET LOCAL segext.company_id = :'c';

-- candidates(): the sorted first names of the company's candidates between
-- two fixed times, while windows start at midnight of 10 and 11 June 2025.
CREATE FUNCTION pg_temp.candidates(company segext.objectid) RETURNS text[]
LANGUAGE sql AS $$
    SELECT coalesce(pg_catalog.array_agg(DISTINCT c.first_name ORDER BY c.first_name), '{}')
      FROM segext.time_window_candidates(company, '2025-06-10 00:00+00', '2025-06-12 00:00+00') AS t(id)
      JOIN segext.customers AS c ON c.company_id = company AND c.id = t.id $$;

INSERT INTO segext.customers (company_id, first_name, birth_date)
VALUES (:'c', 'buyer', NULL), (:'c', 'birthday', '1990-06-11'), (:'c', 'neither', '1990-01-20');
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount)
SELECT :'c', id, '2025-06-09 10:00+00', 10 FROM segext.customers WHERE company_id = :'c' AND first_name = 'buyer';

-- The criteria as parts first.
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'recent or vip', '[{"criteria": [{"type": "customer_has_labels", "labels": [{"key": "vip"}]},
                                            {"type": "last_purchase_n_days_before", "days": 1}]}]'),
    (:'c', 'birthday soon', '[{"criteria": [{"type": "anniversary", "anniversaryType": "birthday", "days": 1}]}]');
SELECT pg_temp.candidates(:'c') AS parts \gset
SELECT is(:'parts'::text[], '{birthday,buyer}'::text[], 'parts: the buyer whose sale left the window, the birthday that passed');

-- The same criteria inside trees: nested in "any", and under "not".
UPDATE segext.segments SET criteria =
    '{"any": [{"type": "customer_has_labels", "labels": [{"key": "vip"}]},
              {"all": [{"type": "last_purchase_n_days_before", "days": 1}]}]}'
 WHERE company_id = :'c' AND name = 'recent or vip';
UPDATE segext.segments SET criteria =
    '{"not": {"not": {"type": "anniversary", "anniversaryType": "birthday", "days": 1}}}'
 WHERE company_id = :'c' AND name = 'birthday soon';
SELECT is(pg_temp.candidates(:'c'), :'parts'::text[], 'trees: the same candidates as parts');

-- A tree with no time criterion reads nothing.
UPDATE segext.segments SET criteria = '{"all": [{"type": "transaction_count", "min": 1, "max": 5}]}'
 WHERE company_id = :'c' AND number >= 2;
SELECT is(pg_temp.candidates(:'c'), '{}'::text[], 'trees without time criteria: no candidates');

UPDATE segext.segments SET criteria = '{"not": {"type": "last_purchase_n_days_before", "days": 1}}'
 WHERE company_id = :'c' AND name = 'recent or vip';
SELECT is(pg_temp.candidates(:'c'), '{buyer}'::text[], 'a window under "not" is rechecked too');
SELECT lives_ok($$SELECT segext.recheck_time_windows()$$, 'recheck_time_windows runs for a company with trees');

SELECT * FROM finish();
ROLLBACK;
