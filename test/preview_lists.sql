-- preview_criteria of criteria with customer lists (in parts, flat, and in
-- trees under all / any / not, nested, next to sales and in_segment
-- criteria): the members equal the expected ones, segment_members of the
-- same criteria once saved and their stored members; and the preview reads
-- exactly the customer rows segment_members reads, only listed ones when
-- only listed customers can match (an "any" of lists, an "all" with a list
-- at any depth, a part of lists).  An empty list is refused.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
\ir helpers/errors.sql
SELECT plan(37);

CREATE FUNCTION pg_temp.cust(i int) RETURNS segext.objectid LANGUAGE sql AS
$$ SELECT lpad(to_hex(i), 24, '0')::segext.objectid $$;
-- list(ids): a customer_list criterion of the customers numbered ids.
CREATE FUNCTION pg_temp.list(VARIADIC ids int[]) RETURNS text LANGUAGE sql AS
$$ SELECT '{"type": "customer_list", "customers": [' || string_agg('"' || pg_temp.cust(i)::text || '"', ', ') || ']}' FROM unnest(ids) AS i $$;
-- ids(a): the customer ids numbered a, sorted.
CREATE FUNCTION pg_temp.ids(a int[]) RETURNS segext.objectid[] LANGUAGE sql AS
$$ SELECT ARRAY(SELECT pg_temp.cust(i) FROM unnest(a) AS i ORDER BY 1) $$;
-- customer_reads(): the rows of segext.customers this transaction has read
-- so far (sequential scans, and heap rows fetched through its indexes).
CREATE FUNCTION pg_temp.customer_reads() RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_stat_get_xact_tuples_returned(c.oid) + pg_stat_get_xact_tuples_fetched(c.oid)
           + (SELECT coalesce(sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)), 0)::bigint
              FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid)
    FROM pg_catalog.pg_class c WHERE c.oid = 'segext.customers'::regclass $$;

-- 2,000 customers, every tenth inactive; sales for 2, 4, 6, 8 and the
-- inactive 20; customer 5000 belongs to another company, 9999 to none.
SELECT segext.create_company('preview lists') AS c \gset
SELECT segext.create_company('preview lists, other') AS o \gset
INSERT INTO segext.customers (company_id, id, first_name, active)
SELECT :'c', pg_temp.cust(i), 'c' || i, i % 10 <> 0 FROM generate_series(1, 2000) AS i;
INSERT INTO segext.customers (company_id, id, first_name) VALUES (:'o', pg_temp.cust(5000), 'other');
INSERT INTO segext.transactions (company_id, customer_id, amount)
SELECT :'c', pg_temp.cust(i), 10 FROM unnest('{2,4,6,8,20}'::int[]) AS i;
ANALYZE segext.customers;
SET LOCAL segext.company_id = :'c';
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'c', 'buyers', '[{"type": "transaction_count", "min": 1, "max": 100}]');
SELECT number AS buyers FROM segext.segments WHERE company_id = :'c' AND name = 'buyers' \gset

-- Each case: criteria, the expected members, whether only listed customers
-- can match, and every customer its lists name.
CREATE TEMP TABLE cases (i int, name text, c text, expected int[], bounded bool, listed int[]);
INSERT INTO cases VALUES
    (1, 'one list with an inactive, another company''s and an unknown customer',
     '[' || pg_temp.list(1, 2, 3, 10, 5000, 9999) || ']', '{1,2,3}', true, '{1,2,3,10,5000,9999}'),
    (2, 'two lists in one part',
     '[{"criteria": [' || pg_temp.list(1, 2) || ', ' || pg_temp.list(3, 4) || ']}]', '{1,2,3,4}', true, '{1,2,3,4}'),
    (3, 'two parts of lists',
     '[{"criteria": [' || pg_temp.list(1, 2, 3, 4, 5) || ']}, {"criteria": [' || pg_temp.list(4, 5, 6) || ']}]', '{4,5}', true, '{1,2,3,4,5,6}'),
    (4, 'a part of a list and a part of a sale criterion',
     '[{"criteria": [' || pg_temp.list(1, 2, 3, 4) || ']}, {"criteria": [{"type": "transaction_count", "min": 1, "max": 100}]}]', '{2,4}', true, '{1,2,3,4}'),
    (5, 'a list or a sale criterion in one part',
     '[{"criteria": [' || pg_temp.list(1) || ', {"type": "transaction_count", "min": 1, "max": 100}]}]', '{1,2,4,6,8}', false, '{1}'),
    (6, 'all of a list and a sale criterion',
     '{"all": [' || pg_temp.list(1, 2, 3, 4, 20) || ', {"type": "transaction_count", "min": 1, "max": 100}]}', '{2,4}', true, '{1,2,3,4,20}'),
    (7, 'any of two lists',
     '{"any": [' || pg_temp.list(1, 2) || ', ' || pg_temp.list(2, 3, 10) || ']}', '{1,2,3}', true, '{1,2,3,10}'),
    (8, 'any of a list and an all with a list',
     '{"any": [' || pg_temp.list(1) || ', {"all": [' || pg_temp.list(2, 3, 4) || ', {"type": "transaction_count", "min": 1, "max": 100}]}]}',
     '{1,2,4}', true, '{1,2,3,4}'),
    (9, 'all of an any of lists and not a list',
     '{"all": [{"any": [' || pg_temp.list(1, 2, 3) || ', ' || pg_temp.list(4, 5) || ']}, {"not": ' || pg_temp.list(2, 4) || '}]}',
     '{1,3,5}', true, '{1,2,3,4,5}'),
    (10, 'any of a list and a sale criterion',
     '{"any": [' || pg_temp.list(1) || ', {"type": "transaction_count", "min": 1, "max": 100}]}', '{1,2,4,6,8}', false, '{1}'),
    (11, 'all of not a list and a sale criterion',
     '{"all": [{"not": ' || pg_temp.list(1, 2) || '}, {"type": "transaction_count", "min": 1, "max": 100}]}', '{4,6,8}', false, '{1,2}'),
    (12, 'all of not a list and a list',
     '{"all": [{"not": ' || pg_temp.list(1) || '}, ' || pg_temp.list(1, 2, 3) || ']}', '{2,3}', true, '{1,2,3}'),
    (13, 'all of two lists with no customer in common',
     '{"all": [' || pg_temp.list(1, 2) || ', ' || pg_temp.list(3, 4) || ']}', '{}', true, '{1,2,3,4}'),
    (14, 'any of a list of customers who cannot be members',
     '{"any": [' || pg_temp.list(10, 5000, 9999) || ']}', '{}', true, '{10,5000,9999}'),
    (15, 'all of a list and in_segment',
     '{"all": [' || pg_temp.list(1, 2, 3, 4) || ', {"type": "in_segment", "segment": ' || :'buyers' || '}]}', '{2,4}', true, '{1,2,3,4}'),
    (16, 'flat: a list and a sale criterion',
     '[' || pg_temp.list(2, 3, 4, 6) || ', {"type": "transaction_count", "min": 1, "max": 100}]', '{2,4,6}', true, '{2,3,4,6}'),
    (17, 'nested groups around a list, and not not a sale criterion',
     '{"all": [{"all": [{"any": [' || pg_temp.list(1, 2, 3) || ']}]}, {"not": {"not": {"type": "transaction_count", "min": 1, "max": 100}}}]}',
     '{2}', true, '{1,2,3}');

-- The preview: its members (all of them: sample 1000) and the customer rows
-- it read; then the same criteria saved: segment_members and the rows it
-- read, and the stored members.
CREATE TEMP TABLE results (i int, preview segext.objectid[], preview_count bigint, preview_reads bigint,
                           members segext.objectid[], members_reads bigint, stored segext.objectid[]);
DO $$
DECLARE
    k record;
    r0 bigint;
    p record;
    seg segext.objectid;
    m segext.objectid[];
BEGIN
    FOR k IN SELECT * FROM cases ORDER BY i LOOP
        r0 := pg_temp.customer_reads();
        SELECT * INTO p FROM segext.preview_criteria(k.c::segext.criteria, 1000);
        INSERT INTO results (i, preview, preview_count, preview_reads)
            VALUES (k.i, ARRAY(SELECT x FROM unnest(p.sample_ids) AS x ORDER BY 1), p.member_count, pg_temp.customer_reads() - r0);
        INSERT INTO segext.segments (company_id, name, criteria)
            VALUES (current_setting('segext.company_id')::segext.objectid, 'case ' || k.i, k.c::segext.criteria)
            RETURNING id INTO seg;
        r0 := pg_temp.customer_reads();
        m := ARRAY(SELECT customer_id FROM segext.segment_members(seg) ORDER BY 1);
        UPDATE results SET members = m, members_reads = pg_temp.customer_reads() - r0,
               stored = ARRAY(SELECT customer_id FROM segext.memberships
                              WHERE segment_id = seg AND company_id = current_setting('segext.company_id')::segext.objectid ORDER BY 1)
         WHERE i = k.i;
    END LOOP;
END $$;

SELECT is(r.preview, pg_temp.ids(k.expected), k.i || ' ' || k.name || ': the preview''s members')
FROM cases k JOIN results r USING (i) ORDER BY i;
SELECT is((SELECT count(*) FROM results WHERE preview_count <> cardinality(preview)), 0::bigint,
          'every preview counts exactly its members');
SELECT is((SELECT array_agg(i ORDER BY i) FROM results
           WHERE members IS DISTINCT FROM preview OR stored IS DISTINCT FROM preview), NULL,
          'every case saved: segment_members and the stored members equal the preview');
SELECT ok(r.preview_reads = r.members_reads AND
          CASE WHEN k.bounded THEN r.preview_reads <= cardinality(k.listed)
               ELSE r.preview_reads >= 2000 END,
          k.i || ' ' || k.name || ': the preview read ' || r.preview_reads || ' customer rows, segment_members '
          || r.members_reads || CASE WHEN k.bounded THEN ' (at most the listed ' ELSE ' (every one of the ' END
          || CASE WHEN k.bounded THEN cardinality(k.listed) ELSE 2000 END || ')')
FROM cases k JOIN results r USING (i) ORDER BY i;

-- An empty list is refused before anything is read.
SELECT is((public.rules_error($$SELECT segext.preview_criteria('{"any": [{"type": "customer_list", "customers": []}]}')$$))[1:2],
          ARRAY['22023', 'invalid segment criteria: $.any[0] ("customer_list"): "customers" must be a non-empty array of objectid strings'],
          'an empty customer list: 22023');

SELECT * FROM finish();
ROLLBACK;
