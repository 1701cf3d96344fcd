-- Criteria as trees of groups ({"all": [...]}, {"any": [...]}, {"not": ...}):
-- canonical output and its round trips (text, jsonb, binary), format
-- version bytes, values of format version 1 written by segext 0.1/0.2
-- before trees (binary and stored bytes), the limits (32 levels, 1,000
-- nodes) and refused shapes; then the meaning: every criterion kind under
-- "not" is the active customers minus its members, and seeded random trees
-- evaluate like the set algebra of their criteria, with the same members
-- from preview_criteria, segment_members and the stored memberships of
-- the tree once saved.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
\ir helpers/errors.sql
SELECT plan(90);
SELECT pg_catalog.setseed(0.1818);

-- Canonical output: criteria canonical as in parts, groups kept as written.
SELECT is('{"all": [{"type": "transaction_count", "min": 1, "max": 3}, {"any": [{"field": "city", "op": "eq", "value": "Oslo"}, {"not": {"type": "bought_skus", "skuIds": ["B2", "a1", "a1"]}}]}]}'::segext.criteria::text,
          '{"all": [{"type": "transaction_count", "max": 3, "min": 1}, {"any": [{"field": "city", "op": "eq", "value": "Oslo"}, {"not": {"type": "bought_skus", "skuIds": ["a1", "b2"]}}]}]}',
          'a tree prints canonically');
SELECT is('{"not": {"not": {"any": [{"field": "a", "op": "exists"}]}}}'::segext.criteria::text,
          '{"not": {"not": {"any": [{"field": "a", "op": "exists"}]}}}',
          'double negation and one-child groups are kept as written');
SELECT is('[{"field": "a", "op": "exists"}, {"type": "transaction_count", "min": 1, "max": 2}]'::segext.criteria::text,
          '[{"criteria": [{"field": "a", "op": "exists"}]}, {"criteria": [{"type": "transaction_count", "max": 2, "min": 1}]}]',
          'the flat shape still prints as parts');
SELECT isnt('{"all": [{"any": [{"field": "a", "op": "exists"}]}]}'::segext.criteria,
            '[{"criteria": [{"field": "a", "op": "exists"}]}]'::segext.criteria,
            'a tree is not equal to parts of the same meaning (equality is of canonical forms)');
SELECT ok('{"any": [{"field": "a", "op": "exists"}, {"not": {"field": "b", "op": "exists"}}]}'::segext.criteria
          OPERATOR(pg_catalog.=) '{ "any" : [ {"op": "exists", "field": "a"}, {"not": {"op": "exists", "field": "b"}} ] }'::segext.criteria,
          'trees equal up to spacing and key order are equal');

-- Round trips of trees: text, jsonb and binary are fixpoints.
CREATE TEMP TABLE trees (i int, c segext.criteria);
INSERT INTO trees VALUES
    (1, '{"all": [{"type": "transaction_count", "min": 1, "max": 3}, {"not": {"type": "customer_list", "customers": ["00000000000000000000000a"]}}]}'),
    (2, '{"any": [{"type": "bought_labels", "labels": [{"key": "Color", "value": "Red"}]}, {"all": [{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-12-31T23:59:59Z"}, {"not": {"field": "n", "op": "in", "value": [1, "x", 2.50]}}]}]}'),
    (3, '{"not": {"all": [{"type": "anniversary", "anniversaryType": "birthday", "days": 7}, {"any": [{"type": "transaction_percent_in_pos", "posId": "p1", "percent": 0.25}, {"type": "average_transaction_amount", "fromAmount": 1.5, "toAmount": 20}]}]}}'),
    (4, '[{"criteria": [{"type": "transaction_count", "min": 1, "max": 3}, {"field": "city", "op": "eq", "value": "Oslo"}]}, {"criteria": [{"type": "customer_has_labels", "labels": [{"key": "VIP"}]}]}]');
SELECT is(c::text::segext.criteria::text, c::text, 'text round trip of value ' || i) FROM trees ORDER BY i;
SELECT ok(c::jsonb::segext.criteria OPERATOR(pg_catalog.=) c AND c::jsonb = c::text::jsonb,
          'jsonb round trip of value ' || i) FROM trees ORDER BY i;
SELECT is(pg_catalog.get_byte(segext.criteria_send(c), 0), CASE WHEN i < 4 THEN 2 ELSE 1 END,
          'send writes format version ' || CASE WHEN i < 4 THEN 2 ELSE 1 END || ' for value ' || i) FROM trees ORDER BY i;

-- Binary input through COPY (the receive function).
CREATE TEMP TABLE criteria_raw (c segext.criteria);
CREATE FUNCTION pg_temp.recv(b bytea) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    f text := pg_catalog.current_setting('data_directory') || '/criteria_groups_raw.bin';
BEGIN
    EXECUTE pg_catalog.format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, f);
    DELETE FROM criteria_raw;
    RETURN public.rules_error(pg_catalog.format('COPY criteria_raw FROM %L WITH (FORMAT binary)', f));
END $$;
CREATE FUNCTION pg_temp.binary_round_trip(v segext.criteria) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
    err text[] := pg_temp.recv(segext.criteria_send(v));
BEGIN
    RETURN err IS NULL AND (SELECT r.c OPERATOR(pg_catalog.=) v AND r.c::text = v::text FROM criteria_raw r);
END $$;
SELECT ok(pg_temp.binary_round_trip(c), 'binary round trip of value ' || i) FROM (SELECT * FROM trees ORDER BY i) t;

-- A value of format version 1 as segext sent it before trees (bytes
-- captured from that build's criteria_send) is still read.
SELECT is(pg_temp.recv('\x015b7b226372697465726961223a205b7b2274797065223a20227472616e73616374696f6e5f636f756e74222c20226d6178223a20332c20226d696e223a20317d2c207b226669656c64223a202263697479222c20226f70223a20226571222c202276616c7565223a20224f736c6f227d5d7d2c207b226372697465726961223a205b7b2274797065223a2022637573746f6d65725f6861735f6c6162656c73222c20226c6162656c73223a205b7b226b6579223a2022766970227d5d7d5d7d5d'),
          NULL, 'binary criteria of format version 1 written before trees are received');
SELECT ok((SELECT r.c FROM criteria_raw r) OPERATOR(pg_catalog.=) (SELECT c FROM trees WHERE i = 4),
          'and equal the same criteria from text');
-- The stored (on-disk) bytes of that value, as that build wrote them, taken
-- as criteria by a copying identity (byteasend returns a copy of its
-- argument's varlena): the same value today.
CREATE FUNCTION pg_temp.stored_criteria(bytea) RETURNS segext.criteria LANGUAGE internal IMMUTABLE STRICT AS 'byteasend';
SELECT ok(pg_temp.stored_criteria('\x01000200030000000000000002000000030000000200000000000000000000000000000000000000000000000000000000000000010000000000000003000000000000000101000000000000000000000000000000000000040000000500000004000000000000000000000000000000000000000d000000010000001000000000000000000000000000000000000000000000000000000000000000000000000000000063697479004f736c6f007669700000000a00000003000000')
          OPERATOR(pg_catalog.=) (SELECT c FROM trees WHERE i = 4),
          'stored criteria of format version 1 written before trees are the same value today');
SELECT is((pg_temp.recv('\x01' || pg_catalog.convert_to('{"not": {"field": "a", "op": "exists"}}', 'UTF8')))[1:2],
          ARRAY['22P03', 'invalid binary criteria: format version 1 holds no groups'],
          'format version 1 refuses a tree');
SELECT is(pg_temp.recv('\x02' || pg_catalog.convert_to('[{"field": "a", "op": "exists"}]', 'UTF8')), NULL,
          'format version 2 also reads parts');
SELECT is((pg_temp.recv('\x03' || pg_catalog.convert_to('{"not": {"field": "a", "op": "exists"}}', 'UTF8')))[1:3],
          ARRAY['22P03', 'unsupported binary criteria format version 3',
                'This version of segext reads format versions 1 (parts) and 2 (trees of groups).'],
          'an unknown format version is refused');

-- Refused shapes.
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::segext.criteria', t)))[1:2], ARRAY[e, m], d)
FROM (VALUES
    ('{"all": []}', '22023', 'invalid segment criteria: $: the group "all" is empty; it needs at least one criterion or group', 'an empty all'),
    ('{"all": [{"any": []}]}', '22023', 'invalid segment criteria: $.all[0]: the group "any" is empty; it needs at least one criterion or group', 'an empty any'),
    ('{"not": [{"field": "a", "op": "exists"}]}', '22P02', 'invalid input syntax for type criteria', 'not of an array'),
    ('{"any": {"field": "a", "op": "exists"}}', '22023', 'invalid segment criteria: $: "any" must be a JSON array of criteria and groups', 'any of an object'),
    ('{"all": [{"field": "a", "op": "exists"}], "any": []}', '22023', 'invalid segment criteria: $: a group has exactly one key, "all"', 'two group keys'),
    ('{"any": [{"not": {"field": "a", "op": "exists"}, "x": 1}]}', '22023', 'invalid segment criteria: $.any[0]: a group has exactly one key, "not"', 'a group with another key'),
    ('{"any": [1]}', '22P02', 'invalid input syntax for type criteria', 'a node that is not an object'),
    ('{"field": "a", "op": "exists"}', '22P02', 'invalid input syntax for type criteria', 'a criterion as the root'),
    ('{}', '22P02', 'invalid input syntax for type criteria', 'an empty object'),
    ('[{"all": [{"field": "a", "op": "exists"}]}]', '22023', 'invalid segment criteria: part 1, criterion 1: a group ("all", "any" or "not") cannot be a criterion of a part or of a flat array; write the whole condition as a tree whose root is a group', 'a group in a flat array'),
    ('[{"criteria": [{"not": {"field": "a", "op": "exists"}}]}]', '22023', 'invalid segment criteria: part 1, criterion 1: a group ("all", "any" or "not") cannot be a criterion of a part or of a flat array; write the whole condition as a tree whose root is a group', 'a group in a part'),
    ('{"all": [{"field": "a", "op": "exists"}, {"not": {"type": "transaction_count", "min": 3, "max": 1}}]}', '22023', 'invalid segment criteria: $.all[1].not ("transaction_count"): "min" must not be greater than "max"', 'a bad criterion is named by its path'),
    ('{"all": [{"criteria": [{"field": "a", "op": "exists"}]}]}', '22023', 'invalid segment criteria: $.all[0]: a criterion needs a "type" or a "field"', 'a part inside a tree')
) AS v(t, e, m, d);
SELECT is((public.rules_error($$SELECT '{"not": 1}'::segext.criteria$$))[3],
          'The node at $.not is not a JSON object; a node of a tree is a group or a criterion.', 'the DETAIL names the node');

-- Levels: 32 from the root group to the criterion are accepted, 33 refused
-- (with "not" chains and with "all" chains), and far deeper nesting is
-- refused before parsing, through text and jsonb.
CREATE FUNCTION pg_temp.nots(n int, leaf text) RETURNS text LANGUAGE sql AS
$$ SELECT repeat('{"not": ', n) || leaf || repeat('}', n) $$;
CREATE FUNCTION pg_temp.alls(n int, leaf text) RETURNS text LANGUAGE sql AS
$$ SELECT repeat('{"all": [', n) || leaf || repeat(']}', n) $$;
SELECT lives_ok(pg_catalog.format('SELECT %L::segext.criteria', pg_temp.nots(31, '{"field": "a", "op": "exists"}')),
                '31 nots and a criterion: 32 levels');
SELECT is(pg_temp.nots(31, '{"type": "customer_has_labels", "labels": [{"key": "vip"}]}')::segext.criteria::text,
          pg_temp.nots(31, '{"type": "customer_has_labels", "labels": [{"key": "vip"}]}'), 'and it prints back');
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::segext.criteria', pg_temp.nots(32, '{"field": "a", "op": "exists"}'))))[1:2],
          ARRAY['22023', 'invalid segment criteria: groups nested more than 32 levels deep'], '32 nots and a criterion: refused');
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::segext.criteria', pg_temp.nots(32, '{"field": "a", "op": "exists"}'))))[3],
          'The node at $' || repeat('.not', 32) || ' is at level 33; a tree of groups has at most 32 levels, counting its root group and its criteria.',
          'the DETAIL names the node and its level');
SELECT lives_ok(pg_catalog.format('SELECT %L::segext.criteria',
                pg_temp.alls(31, '{"type": "bought_labels", "labels": [{"key": "k", "value": "v"}]}')),
                '31 alls and a criterion with labels: 32 levels (65 JSON levels)');
SELECT lives_ok(pg_catalog.format('SELECT %L::jsonb::segext.criteria',
                pg_temp.alls(31, '{"type": "bought_labels", "labels": [{"key": "k", "value": "v"}]}')),
                'the same through jsonb');
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::segext.criteria', pg_temp.alls(32, '{"field": "a", "op": "exists"}'))))[1:2],
          ARRAY['22023', 'invalid segment criteria: groups nested more than 32 levels deep'], '32 alls and a criterion: refused');
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::segext.criteria', pg_temp.alls(k, '{"field": "a", "op": "exists"}'))))[1:2],
          ARRAY['22023', 'invalid segment criteria: arrays and objects nested more than 65 levels deep'],
          k || ' alls: refused before parsing')
FROM unnest(ARRAY[33, 100000]) AS k;
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::jsonb::segext.criteria', pg_temp.nots(k, '{"field": "a", "op": "exists"}'))))[1:2],
          ARRAY['22023', CASE WHEN k > 64 THEN 'invalid segment criteria: arrays and objects nested more than 65 levels deep'
                              ELSE 'invalid segment criteria: groups nested more than 32 levels deep' END],
          k || ' nots through jsonb: refused')
FROM unnest(ARRAY[40, 1000]) AS k;

-- Nodes: 1,000 accepted, 1,001 refused.
SELECT lives_ok(pg_catalog.format('SELECT %L::segext.criteria',
                '{"any": [' || (SELECT string_agg('{"field": "f' || g || '", "op": "exists"}', ', ') FROM generate_series(1, 999) g) || ']}'),
                'a group of 999 criteria: 1000 nodes');
SELECT is((public.rules_error(pg_catalog.format('SELECT %L::segext.criteria',
                '{"any": [' || (SELECT string_agg('{"not": {"field": "f' || g || '", "op": "exists"}}', ', ') FROM generate_series(1, 500) g) || ']}')))[1:3],
          ARRAY['22023', 'invalid segment criteria: more than 1000 groups and criteria',
                'The tree has more than 1000 nodes at $.any[499].not; a tree of groups holds at most 1000 groups and criteria in all.'],
          '1001 nodes: refused, naming where');

-- Events: a tree of field criteria classifies events (the same evaluator
-- as parts); a tree with a customer criterion, even under "not", cannot be
-- matched against an event and is left out like such parts.
SELECT segext.create_company('groups events') AS ev \gset
INSERT INTO segext.segments (company_id, name, position, criteria) VALUES
    (:'ev', 'Oslo, not test', 1, '{"all": [{"field": "city", "op": "eq", "value": "Oslo"}, {"not": {"any": [{"field": "test", "op": "exists"}, {"field": "amount", "op": "lt", "value": 10}]}}]}'),
    (:'ev', 'not buyers', 2, '{"not": {"type": "transaction_count", "min": 1, "max": 100}}'),
    (:'ev', 'not Oslo', 3, '{"not": {"field": "city", "op": "eq", "value": "Oslo"}}');
SELECT is(ARRAY[segext.classify(:'ev', '{"city": "Oslo", "amount": 12}'),
                segext.classify(:'ev', '{"city": "Oslo", "amount": 12, "test": true}'),
                segext.classify(:'ev', '{"city": "Oslo", "amount": 9}'),
                segext.classify(:'ev', '{"city": "Oslo"}'),
                segext.classify(:'ev', '{"city": "Bergen"}')],
          ARRAY[2, 1, 1, 2, 4], 'trees of field criteria classify events');
-- (values of one company are read, then asserted: Citus runs a statement
-- reading one company whole on a worker, where pgTAP has no plan)
SELECT ARRAY(SELECT segext.event_criteria_usable(criteria) FROM segext.segments WHERE company_id = :'ev' AND number > 1 ORDER BY number) AS got \gset
SELECT is(:'got'::boolean[],
          ARRAY[true, false, true], 'a tree with a customer criterion is not usable for events');

-- Data for the meaning: 60 customers of one company with sales of every
-- sort, and a second company that must never show up.
\ir helpers/random_pick.sql
CREATE FUNCTION pg_temp.cust(i int) RETURNS segext.objectid LANGUAGE sql AS
$$ SELECT lpad(to_hex(i), 24, '0')::segext.objectid $$;
SELECT segext.create_company('groups A') AS a \gset
SELECT segext.create_company('groups B') AS b \gset
INSERT INTO segext.customers (company_id, id, first_name, birth_date, registered_at, active, labels, attributes)
SELECT :'a', pg_temp.cust(i), pg_temp.pick('{ann,bob,cid,dan,eve}'),
       CASE WHEN pg_temp.rnd(5) > 0 THEN CURRENT_DATE - pg_temp.rnd(20000) END,
       now() - make_interval(days => pg_temp.rnd(2000)), pg_temp.rnd(8) > 0,
       CASE WHEN pg_temp.rnd(2) = 0 THEN '[{"key": "tier", "value": "gold"}]'::jsonb ELSE '[{"key": "Color", "value": "red"}]' END,
       jsonb_build_object('score', pg_temp.rnd(100))
FROM generate_series(1, 60) AS i;
INSERT INTO segext.customers (company_id, id, first_name) SELECT :'b', pg_temp.cust(1000 + i), 'bee' FROM generate_series(1, 5) AS i;
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
SELECT :'a', pg_temp.cust(1 + pg_temp.rnd(60)), now() - make_interval(days => pg_temp.rnd(400)),
       (1 + pg_temp.rnd(15000))::numeric / 100, pg_temp.pick('{p1,p2,p3,NULL}'),
       jsonb_build_array(jsonb_build_object('sku', pg_temp.pick('{A1,B2,c3}'), 'maker', pg_temp.pick('{Acme,Zeta}'),
                                            'labels', jsonb_build_array(jsonb_build_object('key', 'color', 'value', pg_temp.pick('{red,blue}'))),
                                            'quantity', 1, 'amount', 1))
FROM generate_series(1, 150);
INSERT INTO segext.transactions (company_id, customer_id, amount) SELECT :'b', pg_temp.cust(1000 + i), 5 FROM generate_series(1, 5) AS i;

-- One criterion of every kind.
CREATE TEMP TABLE kinds (name text, c text);
INSERT INTO kinds VALUES
    ('transaction_count', '{"type": "transaction_count", "min": 2, "max": 4}'),
    ('transaction_amount', '{"type": "transaction_amount", "fromAmount": 50.5, "toAmount": 300}'),
    ('average_transaction_amount', '{"type": "average_transaction_amount", "fromAmount": 20, "toAmount": 80.25}'),
    ('bought_in_pos', '{"type": "bought_in_pos", "posIds": ["p1"]}'),
    ('bought_skus', '{"type": "bought_skus", "skuIds": ["a1"]}'),
    ('bought_makers', '{"type": "bought_makers", "makers": ["acme"]}'),
    ('bought_labels', '{"type": "bought_labels", "labels": [{"key": "color", "value": "blue"}]}'),
    ('last_purchase_n_days_before', '{"type": "last_purchase_n_days_before", "days": 60}'),
    ('purchase_period', '{"type": "purchase_period", "fromDate": "' || to_char(CURRENT_DATE - 200, 'YYYY-MM-DD') || '", "toDate": "' || to_char(CURRENT_DATE - 20, 'YYYY-MM-DD') || '"}'),
    ('transaction_percent_in_pos', '{"type": "transaction_percent_in_pos", "posId": "p2", "percent": 0.4}'),
    ('anniversary', '{"type": "anniversary", "anniversaryType": "birthday", "days": 120}'),
    ('customer_has_labels', '{"type": "customer_has_labels", "labels": [{"key": "TIER"}]}'),
    ('customer_with_labels_values', '{"type": "customer_with_labels_values", "labels": [{"key": "color", "value": "RED"}]}'),
    ('customer_list', '{"type": "customer_list", "customers": ["' || pg_temp.cust(1) || '", "' || pg_temp.cust(2) || '", "' || pg_temp.cust(7) || '"]}'),
    ('field', '{"field": "score", "op": "gte", "value": 50}');

SET LOCAL segext.company_id = :'a';
-- members(c): the sorted member ids of criteria c by preview (all of them).
CREATE FUNCTION pg_temp.members(c text) RETURNS segext.objectid[] LANGUAGE sql AS $$
    SELECT ARRAY(SELECT x FROM unnest((segext.preview_criteria(c::segext.criteria, 1000)).sample_ids) x ORDER BY x) $$;
CREATE TEMP TABLE active_ids AS
    SELECT ARRAY(SELECT id FROM segext.customers WHERE company_id = :'a' AND active ORDER BY id) AS ids;

SELECT is(pg_temp.members('{"not": ' || c || '}'),
          ARRAY(SELECT x FROM unnest((SELECT ids FROM active_ids)) x
                EXCEPT SELECT y FROM unnest(pg_temp.members('[' || c || ']')) y ORDER BY 1),
          'not ' || name || ': the active customers that are not members')
FROM kinds ORDER BY name;
SELECT ok(bool_and(cardinality(pg_temp.members('[' || c || ']')) BETWEEN 1 AND cardinality((SELECT ids FROM active_ids)) - 1),
          'every kind has members and non-members in the data (so "not" is tested both ways)')
FROM kinds;

-- Random trees against the set algebra of their criteria.
CREATE FUNCTION pg_temp.random_tree(depth int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    k int := pg_temp.rnd(3);
    parts text[] := '{}';
BEGIN
    IF depth = 0 OR random() < 0.3 THEN
        RETURN (SELECT c FROM kinds ORDER BY random() LIMIT 1);
    END IF;
    IF k = 2 THEN
        RETURN '{"not": ' || pg_temp.random_tree(depth - 1) || '}';
    END IF;
    FOR i IN 1 .. 1 + pg_temp.rnd(3) LOOP
        parts := parts || pg_temp.random_tree(depth - 1);
    END LOOP;
    RETURN '{"' || CASE k WHEN 0 THEN 'all' ELSE 'any' END || '": [' || array_to_string(parts, ', ') || ']}';
END $$;
CREATE FUNCTION pg_temp.algebra(t jsonb) RETURNS segext.objectid[] LANGUAGE plpgsql AS $$
DECLARE
    r segext.objectid[];
    child jsonb;
BEGIN
    IF t ? 'not' THEN
        RETURN ARRAY(SELECT x FROM unnest((SELECT ids FROM active_ids)) x
                     EXCEPT SELECT y FROM unnest(pg_temp.algebra(t -> 'not')) y ORDER BY 1);
    ELSIF t ? 'all' THEN
        r := (SELECT ids FROM active_ids);
        FOR child IN SELECT jsonb_array_elements(t -> 'all') LOOP
            r := ARRAY(SELECT x FROM unnest(r) x INTERSECT SELECT y FROM unnest(pg_temp.algebra(child)) y ORDER BY 1);
        END LOOP;
        RETURN r;
    ELSIF t ? 'any' THEN
        r := '{}';
        FOR child IN SELECT jsonb_array_elements(t -> 'any') LOOP
            r := ARRAY(SELECT x FROM unnest(r) x UNION SELECT y FROM unnest(pg_temp.algebra(child)) y ORDER BY 1);
        END LOOP;
        RETURN r;
    END IF;
    RETURN pg_temp.members('[' || t::text || ']');
END $$;
CREATE TEMP TABLE random_trees AS
    SELECT i, t FROM (SELECT i, pg_temp.random_tree(4) AS t FROM generate_series(1, 40) AS i) s
    WHERE t LIKE '{"all"%' OR t LIKE '{"any"%' OR t LIKE '{"not"%';
SELECT cmp_ok((SELECT count(*) FROM random_trees), '>=', 20::bigint, 'enough random trees');
SELECT is((SELECT count(*) FROM random_trees
           WHERE pg_temp.members(t) IS DISTINCT FROM pg_temp.algebra(t::segext.criteria::jsonb)), 0::bigint,
          'every random tree has the members of the set algebra of its criteria');
SELECT is((SELECT count(*) FROM random_trees
           WHERE (segext.preview_criteria(t::segext.criteria, 0)).member_count
                 <> cardinality(pg_temp.algebra(t::segext.criteria::jsonb))), 0::bigint,
          'and the exact member count');

-- Saved trees: the stored members (kept by the writes), segment_members and
-- preview agree, for the random trees and a hand-written one.
INSERT INTO segext.segments (company_id, name, criteria)
SELECT :'a', 'tree ' || i, t::segext.criteria FROM random_trees;
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'hand tree', ('{"any": [{"all": [{"type": "bought_skus", "skuIds": ["b2"]}, {"not": {"type": "transaction_count", "min": 3, "max": 100}}]}, {"type": "customer_list", "customers": ["' || pg_temp.cust(3) || '"]}]}')::segext.criteria),
    (:'a', 'hand tree listed', ('{"all": [{"not": {"type": "transaction_count", "min": 3, "max": 100}}, {"type": "customer_list", "customers": ["'
                               || pg_temp.cust(1) || '", "' || pg_temp.cust(2) || '", "' || pg_temp.cust(4) || '", "' || pg_temp.cust(5) || '", "'
                               || pg_temp.cust(9) || '"]}]}')::segext.criteria);
SELECT is(pg_temp.members(criteria::text), pg_temp.algebra(criteria::jsonb),
          'a tree whose root "all" holds a customer list (only the listed customers are read) has the members of its set algebra')
FROM segext.segments WHERE company_id = :'a' AND name = 'hand tree listed';
SELECT is((SELECT count(*) FROM segext.segments s
           WHERE s.company_id = :'a' AND (s.name LIKE 'tree %' OR s.name LIKE 'hand tree%')
             AND (ARRAY(SELECT m.customer_id FROM segext.memberships m WHERE m.company_id = :'a' AND m.segment_id = s.id ORDER BY 1)
                    IS DISTINCT FROM pg_temp.members(s.criteria::text)
                  OR ARRAY(SELECT m.customer_id FROM segext.segment_members(s.id) m ORDER BY 1)
                    IS DISTINCT FROM pg_temp.members(s.criteria::text))), 0::bigint,
          'saved trees: stored members = segment_members = preview');
SELECT ok((SELECT count(*) FROM segext.memberships m JOIN segext.segments s ON s.company_id = m.company_id AND s.id = m.segment_id
           WHERE s.company_id = :'a' AND s.name LIKE 'tree %') > 0, 'the saved trees have members');
-- A sale changes a saved tree's members like its preview.
INSERT INTO segext.transactions (company_id, customer_id, amount, items)
SELECT :'a', c.id, 10, '[{"sku": "B2", "quantity": 1, "amount": 10}]' FROM segext.customers c
WHERE c.company_id = :'a' AND c.active AND c.id <> ALL (pg_temp.members('[{"type": "bought_skus", "skuIds": ["b2"]}]')) ORDER BY c.id LIMIT 3;
SELECT is(ARRAY(SELECT m.customer_id FROM segext.memberships m JOIN segext.segments s ON s.company_id = m.company_id AND s.id = m.segment_id
                WHERE s.company_id = :'a' AND s.name = 'hand tree' ORDER BY 1),
          pg_temp.members((SELECT criteria::text FROM segext.segments WHERE company_id = :'a' AND name = 'hand tree')),
          'after a sale, the stored members of a tree equal its preview');

-- Preview: the sample is the smallest member ids; refusals.
SELECT is((segext.preview_criteria(('{"not": {"type": "customer_list", "customers": ["' || pg_temp.cust(1) || '"]}}')::segext.criteria, 3)).sample_ids,
          (SELECT ids[1:3] FROM active_ids WHERE ids[1] <> pg_temp.cust(1)
           UNION ALL SELECT ids[2:4] FROM active_ids WHERE ids[1] = pg_temp.cust(1)),
          'the sample is the smallest member ids');
SELECT is((segext.preview_criteria('[{"type": "transaction_count", "min": 0, "max": 100000}]')).member_count,
          (SELECT cardinality(ids)::bigint FROM active_ids), 'preview counts only the current company''s active customers');
SELECT is(cardinality((segext.preview_criteria('[{"type": "transaction_count", "min": 0, "max": 100000}]')).sample_ids), 10,
          'the sample is 10 ids by default');
SELECT is((public.rules_error($$SELECT segext.preview_criteria('{"not": {"field": "a", "op": "exists"}}', -1)$$))[1:2],
          ARRAY['22023', 'sample must be between 0 and 1000'], 'a negative sample is refused');
SELECT is((public.rules_error($$SELECT segext.preview_criteria('{"not": {"field": "a", "op": "exists"}}', 1001)$$))[1:2],
          ARRAY['22023', 'sample must be between 0 and 1000'], 'a sample above 1000 is refused');
SELECT is((SELECT count(*) FROM segext.segments WHERE company_id = :'a' AND name NOT LIKE 'tree %' AND name NOT LIKE 'hand tree%'), 2::bigint,
          'preview creates no segment');
RESET segext.company_id;
SELECT is((public.rules_error($$SELECT segext.preview_criteria('{"not": {"field": "a", "op": "exists"}}')$$))[1:2],
          ARRAY['42501', 'no current company'], 'no current company: 42501');
SET LOCAL segext.company_id = 'cccccccccccccccccccccccc';
SELECT is((public.rules_error($$SELECT segext.preview_criteria('{"not": {"field": "a", "op": "exists"}}')$$))[1:2],
          ARRAY['22023', 'company "cccccccccccccccccccccccc" does not exist'], 'a company that does not exist: 22023');
RESET segext.company_id;
CREATE ROLE criteria_groups_reader LOGIN IN ROLE segext_reader;
SELECT segext.grant_company(:'b', 'criteria_groups_reader', 'reader');
SET LOCAL ROLE criteria_groups_reader;
SELECT is((segext.preview_criteria('{"not": {"field": "a", "op": "exists"}}', 100)).sample_ids,
          ARRAY(SELECT pg_temp.cust(1000 + i) FROM generate_series(1, 5) i),
          'a reader of company B (its only company) previews B''s customers only');
SELECT is((segext_api.preview_criteria('{"all": [{"type": "transaction_count", "min": 1, "max": 1}]}', 2)).member_count, 5::bigint,
          'segext_api.preview_criteria for a reader');
SET LOCAL segext.company_id = :'a';
SELECT is((public.rules_error($$SELECT segext.preview_criteria('{"not": {"field": "a", "op": "exists"}}')$$))[1],
          '42501', 'a reader of company B naming company A: 42501');
RESET segext.company_id;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
