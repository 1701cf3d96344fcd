-- explain_membership and explain_classify: the explanation of every
-- criterion kind (the customer's value in words and the matched flag) for a
-- customer with figures and one without; groups (all, any, not), parts and
-- flat lists; built-ins, manual and inactive segments, inactive customers;
-- over seeded random trees and parts, the answer of every (segment,
-- customer) pair equals the stored membership and every group's flag
-- follows from its children; explain_classify tries the segments in order
-- and agrees with classify on random events; the API functions and errors.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, MDY';
SELECT plan(81);
SELECT pg_catalog.setseed(0.1818);

SELECT segext.create_company('explain') AS c \gset
SELECT segext.create_company('explain other') AS other \gset
SET LOCAL segext.company_id = :'c';

-- a1: sales at p1 (an item of SKU A1 by Acme labelled color=red) and p2; a
-- label, an attribute, a birthday in 3 days.  a2: nothing but a registration
-- today.  a3: inactive.
INSERT INTO segext.customers (company_id, id, external_id, first_name, birth_date, registered_at, active, labels, attributes)
VALUES (:'c', '0000000000000000000000a1', 'a1', 'Ann', (CURRENT_DATE + 3) - interval '30 years',
        '2020-02-01 10:00+00', true, '[{"key": "Tier", "value": "Gold"}]', '{"score": 42}');
INSERT INTO segext.customers (company_id, id, external_id, first_name, active)
VALUES (:'c', '0000000000000000000000a2', 'a2', 'Bo', true), (:'c', '0000000000000000000000a3', 'a3', 'Cy', false);
INSERT INTO segext.customers (company_id, id, external_id, first_name)
VALUES (:'other', '0000000000000000000000b1', 'b1', 'Bea');
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
VALUES (:'c', '0000000000000000000000a1', pg_catalog.now() - interval '2 days', 10, 'p1',
        '[{"sku": "A1", "maker": "Acme", "labels": [{"key": "color", "value": "red"}], "quantity": 1, "amount": 10}]'),
       (:'c', '0000000000000000000000a1', pg_catalog.now() - interval '10 days', 25, 'p2', '[]'),
       (:'c', '0000000000000000000000a3', pg_catalog.now() - interval '1 day', 5, 'p1', '[]');

-- One criterion of every kind (and three field criteria), by path under an "any".
CREATE TEMP TABLE kinds (k int, criterion text, a1 text, a2 text);
INSERT INTO kinds VALUES
 (1, '{"type": "transaction_count", "min": 1, "max": 5}',
     'transaction_count: 2 (needs 1..5) -> true', 'transaction_count: 0 (needs 1..5) -> false'),
 (2, '{"type": "transaction_amount", "fromAmount": 30, "toAmount": 100}',
     'transaction_amount: 35 (needs 30..100) -> true', 'transaction_amount: 0 (needs 30..100) -> false'),
 (3, '{"type": "average_transaction_amount", "fromAmount": 10, "toAmount": 20.5}',
     'average_transaction_amount: 17.5 (needs 10..20.5) -> true',
     'average_transaction_amount: 0 (no purchases) (needs 10..20.5) -> false'),
 (4, '{"type": "bought_in_pos", "posIds": ["p1", "p9"]}',
     'bought_in_pos: purchases at "p1": 1, "p9": 0 (needs a purchase at "p1" or "p9") -> true',
     'bought_in_pos: purchases at "p1": 0, "p9": 0 (needs a purchase at "p1" or "p9") -> false'),
 (5, '{"type": "bought_skus", "skuIds": ["A1", "zz"]}',
     'bought_skus: "a1" (needs one of "a1", "zz") -> true', 'bought_skus: none of them (needs one of "a1", "zz") -> false'),
 (6, '{"type": "bought_makers", "makers": ["ACME"]}',
     'bought_makers: "acme" (needs "acme") -> true', 'bought_makers: no (needs "acme") -> false'),
 (7, '{"type": "bought_labels", "labels": [{"key": "Color", "value": "red"}]}',
     'bought_labels: "color"="red" (needs "color"="red") -> true', 'bought_labels: no (needs "color"="red") -> false'),
 (8, '{"type": "last_purchase_n_days_before", "days": 5}',
     pg_catalog.format('last_purchase_n_days_before: last purchase %s (needs a purchase from %s to %s) -> true',
                       pg_catalog.now() - interval '2 days', (CURRENT_DATE - 5)::timestamptz, pg_catalog.now()),
     pg_catalog.format('last_purchase_n_days_before: no purchase (needs a purchase from %s to %s) -> false',
                       (CURRENT_DATE - 5)::timestamptz, pg_catalog.now())),
 (9, '{"type": "purchase_period", "fromDate": "2000-01-01", "toDate": "2100-01-01"}',
     'purchase_period: a purchase in the period (needs a purchase from 2000-01-01 00:00:00+00 to 2100-01-01 23:59:59.999999+00) -> true',
     'purchase_period: no purchase in the period (needs a purchase from 2000-01-01 00:00:00+00 to 2100-01-01 23:59:59.999999+00) -> false'),
 (10, '{"type": "transaction_percent_in_pos", "posId": "p2", "percent": 0.5}',
     'transaction_percent_in_pos: 1 of 2 purchases at "p2" (needs a share of at least 0.5 at "p2") -> true',
     'transaction_percent_in_pos: no purchases (needs a share of at least 0.5 at "p2") -> false'),
 (11, '{"type": "anniversary", "anniversaryType": "birthday", "days": 7}',
     pg_catalog.format('anniversary: born %s (needs an anniversary from %s to %s) -> true',
                       ((CURRENT_DATE + 3) - interval '30 years')::date, CURRENT_DATE, CURRENT_DATE + 6),
     pg_catalog.format('anniversary: no birth date (needs an anniversary from %s to %s) -> false', CURRENT_DATE, CURRENT_DATE + 6)),
 (12, '{"type": "anniversary", "anniversaryType": "registration", "days": 400}',
     'anniversary: registered 2020-02-01 (needs any known date (a window of 366 days or more)) -> true',
     pg_catalog.format('anniversary: registered %s (needs any known date (a window of 366 days or more)) -> true', CURRENT_DATE)),
 (13, '{"type": "customer_has_labels", "labels": [{"key": "TIER"}]}',
     'customer_has_labels: "tier" (needs "tier") -> true', 'customer_has_labels: no (needs "tier") -> false'),
 (14, '{"type": "customer_with_labels_values", "labels": [{"key": "tier", "value": "GOLD"}]}',
     'customer_with_labels_values: "tier"="gold" (needs "tier"="gold") -> true',
     'customer_with_labels_values: no (needs "tier"="gold") -> false'),
 (15, '{"type": "customer_list", "customers": ["0000000000000000000000a1", "0000000000000000000000a9"]}',
     'customer_list: listed (needs to be one of the 2 listed customers) -> true',
     'customer_list: not listed (needs to be one of the 2 listed customers) -> false'),
 (16, '{"field": "first_name", "op": "in", "value": ["Ann", 7]}',
     'first_name: "Ann" (needs in ["Ann", 7]) -> true', 'first_name: "Bo" (needs in ["Ann", 7]) -> false'),
 (17, '{"field": "score", "op": "gte", "value": 40}',
     'score: "42" (needs gte 40) -> true', 'score: missing (needs gte 40) -> false'),
 (18, '{"field": "nickname", "op": "nexists"}',
     'nickname: missing (needs nexists) -> true', 'nickname: missing (needs nexists) -> true');

INSERT INTO segext.segments (company_id, id, number, name, criteria)
SELECT :'c', '0000000000000000000000e2', 2, 'every kind',
       ('{"any": [' || pg_catalog.string_agg(criterion, ', ' ORDER BY k) || ']}')::segext.criteria FROM kinds;
INSERT INTO segext.segments (company_id, id, number, name, criteria)
SELECT :'c', '0000000000000000000000e3', 3, 'every kind under not',
       ('{"all": [' || pg_catalog.string_agg('{"not": ' || criterion || '}', ', ' ORDER BY k) || ']}')::segext.criteria FROM kinds;
INSERT INTO segext.segments (company_id, id, number, name, criteria) VALUES
    (:'c', '0000000000000000000000e4', 4, 'groups',
     '{"all": [{"not": {"type": "transaction_count", "min": 1, "max": 5}},
               {"any": [{"field": "first_name", "op": "eq", "value": "Zed"},
                        {"type": "customer_list", "customers": ["0000000000000000000000a1"]}]}]}'),
    (:'c', '0000000000000000000000e5', 5, 'parts',
     '[{"criteria": [{"type": "transaction_count", "min": 3, "max": 9}, {"field": "first_name", "op": "begins", "value": "A"}]},
       {"criteria": [{"type": "bought_makers", "makers": ["acme"]}]}]'),
    (:'c', '0000000000000000000000e6', 6, 'flat',
     '[{"type": "transaction_amount", "fromAmount": 0, "toAmount": 20}, {"field": "first_name", "op": "neq", "value": "Ann"}]'),
    (:'c', '0000000000000000000000e7', 7, 'manual', NULL);
INSERT INTO segext.segments (company_id, id, number, name, active, criteria) VALUES
    (:'c', '0000000000000000000000e8', 8, 'inactive', false, '[{"type": "transaction_count", "min": 1, "max": 5}]');
SELECT segext.add_segment_members('0000000000000000000000e7', '{0000000000000000000000a2}') \g /dev/null

-- ex(segment, customer): the explanations in order.
CREATE FUNCTION pg_temp.ex(s segext.objectid, c segext.objectid) RETURNS text[] LANGUAGE sql AS $$
    SELECT pg_catalog.array_agg(e.path || ' ' || e.explanation ORDER BY e.ordinal) FROM segext.explain_membership(s, c) AS e $$;

-- Every kind, for a customer with figures and one without.
SELECT is(e.explanation, k.a1, 'a1, ' || pg_catalog.split_part(k.a1, ':', 1) || ' (' || k.k || ')')
FROM kinds AS k JOIN segext.explain_membership('0000000000000000000000e2', '0000000000000000000000a1') AS e
  ON e.path = '1.' || k.k ORDER BY k.k;
SELECT is(e.explanation, k.a2, 'a2, ' || pg_catalog.split_part(k.a2, ':', 1) || ' (' || k.k || ')')
FROM kinds AS k JOIN segext.explain_membership('0000000000000000000000e2', '0000000000000000000000a2') AS e
  ON e.path = '1.' || k.k ORDER BY k.k;
SELECT is((SELECT pg_catalog.array_agg(e.matched ORDER BY e.ordinal) FROM segext.explain_membership('0000000000000000000000e2', '0000000000000000000000a1') AS e
            WHERE e.depth = 2),
          (SELECT pg_catalog.array_agg(k.a1 LIKE '%-> true' ORDER BY k.k) FROM kinds AS k),
          'matched is the flag the explanation ends with');
SELECT is((SELECT e.node FROM segext.explain_membership('0000000000000000000000e2', '0000000000000000000000a1') AS e WHERE e.path = '1.1'),
          '{"type": "transaction_count", "max": 5, "min": 1}', 'a criterion''s node is its canonical JSON');
SELECT is((SELECT pg_catalog.array_agg(e.explanation ORDER BY e.ordinal) FROM segext.explain_membership('0000000000000000000000e2', '0000000000000000000000a2') AS e
            WHERE e.depth < 2),
          ARRAY['any: 2 of 18 matched (needs at least 1 of 18 to match) -> true',
                'segment 2 "every kind": criteria matched (needs an active customer whom the criteria match) -> true'],
          'the root counts its matched children; the last row is the answer');

-- Every kind under not: each "not" is the negation of its child, whose explanation is unchanged.
SELECT is((SELECT pg_catalog.count(*)::int FROM segext.explain_membership('0000000000000000000000e3', c.id) AS n
             JOIN segext.explain_membership('0000000000000000000000e3', c.id) AS child
               ON child.path = n.path || '.1' AND child.matched = NOT n.matched
             JOIN kinds AS k ON n.path = '1.' || k.k
                AND child.explanation = CASE c.id WHEN '0000000000000000000000a1' THEN k.a1 ELSE k.a2 END
            WHERE n.node = 'not'),
          18, c.external_id || ': every kind under not negates its child, explained as without not')
FROM segext.customers AS c WHERE c.company_id = :'c' AND c.active ORDER BY c.id;

-- Groups, parts and flat lists.
SELECT is(pg_temp.ex('0000000000000000000000e4', '0000000000000000000000a1'), ARRAY[
    '1 all: 1 of 2 matched (needs all 2 to match) -> false',
    '1.1 not: its child matched (needs its child not to match) -> false',
    '1.1.1 transaction_count: 2 (needs 1..5) -> true',
    '1.2 any: 1 of 2 matched (needs at least 1 of 2 to match) -> true',
    '1.2.1 first_name: "Ann" (needs eq "Zed") -> false',
    '1.2.2 customer_list: listed (needs to be one of the 1 listed customers) -> true',
    'segment segment 4 "groups": criteria did not match (needs an active customer whom the criteria match) -> false'],
    'all, any and not: every node, none skipped once the answer is known');
SELECT is(pg_temp.ex('0000000000000000000000e5', '0000000000000000000000a1'), ARRAY[
    '1 all: 2 of 2 matched (needs all 2 to match) -> true',
    '1.1 any: 1 of 2 matched (needs at least 1 of 2 to match) -> true',
    '1.1.1 transaction_count: 2 (needs 3..9) -> false',
    '1.1.2 first_name: "Ann" (needs begins "A") -> true',
    '1.2 any: 1 of 1 matched (needs at least 1 of 1 to match) -> true',
    '1.2.1 bought_makers: "acme" (needs "acme") -> true',
    'segment segment 5 "parts": criteria matched (needs an active customer whom the criteria match) -> true'],
    'parts: an "all" of the parts, each an "any" of its criteria');
SELECT is(pg_temp.ex('0000000000000000000000e6', '0000000000000000000000a2'), ARRAY[
    '1 all: 2 of 2 matched (needs all 2 to match) -> true',
    '1.1 any: 1 of 1 matched (needs at least 1 of 1 to match) -> true',
    '1.1.1 transaction_amount: 0 (needs 0..20) -> true',
    '1.2 any: 1 of 1 matched (needs at least 1 of 1 to match) -> true',
    '1.2.1 first_name: "Bo" (needs neq "Ann") -> true',
    'segment segment 6 "flat": criteria matched (needs an active customer whom the criteria match) -> true'],
    'a flat list: each criterion a part of its own');

-- Built-ins, manual and inactive segments, inactive customers.
SELECT is(pg_temp.ex(s.id, '0000000000000000000000a1'),
          ARRAY['segment segment 0 "All": customer is active (needs an active customer) -> true'], 'All: an active customer')
FROM segext.segments AS s WHERE s.company_id = :'c' AND s.number = 0;
SELECT is(pg_temp.ex(s.id, '0000000000000000000000a3'),
          ARRAY['segment segment 0 "All": customer is inactive (needs an active customer) -> false'], 'All: an inactive customer')
FROM segext.segments AS s WHERE s.company_id = :'c' AND s.number = 0;
UPDATE segext.customers SET active = false WHERE company_id = :'c' AND id = '0000000000000000000000a2';
SELECT is(pg_temp.ex(s.id, '0000000000000000000000a2'), ARRAY[
    '1 not: its child did not match (needs its child not to match) -> true',
    '1.1 any: 0 of 6 matched (needs at least 1 of 6 to match) -> false',
    '1.1.1 segment 2: not a member (needs a member) -> false',
    '1.1.2 segment 3: not a member (needs a member) -> false',
    '1.1.3 segment 4: not a member (needs a member) -> false',
    '1.1.4 segment 5: not a member (needs a member) -> false',
    '1.1.5 segment 6: not a member (needs a member) -> false',
    '1.1.6 segment 7: not a member (needs a member) -> false',
    'segment segment 1 "Default": customer is inactive (needs an active customer) -> false'],
    'Default of an inactive customer: in no segment, and no member')
FROM segext.segments AS s WHERE s.company_id = :'c' AND s.number = 1;
SELECT is(pg_temp.ex('0000000000000000000000e7', '0000000000000000000000a2'),
          ARRAY['segment segment 7 "manual": customer is inactive (needs an active customer) -> false'],
          'a manual segment''s explicit member, inactive: no member');
UPDATE segext.customers SET active = true WHERE company_id = :'c' AND id = '0000000000000000000000a2';
SELECT is(pg_temp.ex('0000000000000000000000e7', '0000000000000000000000a2'),
          ARRAY['segment segment 7 "manual": not an explicit member (needs an explicit member of this manual segment) -> false'],
          'a manual segment: an inactive customer left it');
SELECT segext.add_segment_members('0000000000000000000000e7', '{0000000000000000000000a2}') \g /dev/null
SELECT is(pg_temp.ex('0000000000000000000000e7', '0000000000000000000000a2'),
          ARRAY['segment segment 7 "manual": an explicit member (needs an explicit member of this manual segment) -> true'],
          'a manual segment: an explicit member');
SELECT is(pg_temp.ex('0000000000000000000000e7', '0000000000000000000000a1'),
          ARRAY['segment segment 7 "manual": not an explicit member (needs an explicit member of this manual segment) -> false'],
          'a manual segment: not an explicit member');
SELECT is((pg_temp.ex(s.id, '0000000000000000000000a2'))[2:], ARRAY[
    '1.1 any: 3 of 6 matched (needs at least 1 of 6 to match) -> true',
    '1.1.1 segment 2: a member (needs a member) -> true',
    '1.1.2 segment 3: not a member (needs a member) -> false',
    '1.1.3 segment 4: not a member (needs a member) -> false',
    '1.1.4 segment 5: not a member (needs a member) -> false',
    '1.1.5 segment 6: a member (needs a member) -> true',
    '1.1.6 segment 7: a member (needs a member) -> true',
    'segment segment 1 "Default": in another active segment (needs an active customer in no other active segment) -> false'],
    'Default: the other active segments the customer is in')
FROM segext.segments AS s WHERE s.company_id = :'c' AND s.number = 1;
SELECT is(pg_temp.ex('0000000000000000000000e8', '0000000000000000000000a1'), ARRAY[
    '1 all: 1 of 1 matched (needs all 1 to match) -> true',
    '1.1 any: 1 of 1 matched (needs at least 1 of 1 to match) -> true',
    '1.1.1 transaction_count: 2 (needs 1..5) -> true',
    'segment segment 8 "inactive": segment is inactive (needs an active segment) -> false'],
    'an inactive segment: its criteria are explained, but it has no members');
SELECT is((pg_temp.ex('0000000000000000000000e2', '0000000000000000000000a3'))[20],
          'segment segment 2 "every kind": customer is inactive (needs an active customer) -> false',
          'an inactive customer: the criteria are explained, but it is no member');

-- Seeded random trees and parts: the answer equals the stored membership,
-- and every group's flag follows from its children's.
\ir helpers/random_pick.sql
CREATE TEMP TABLE leaves (i serial, leaf text);
INSERT INTO leaves (leaf) SELECT criterion FROM kinds;
INSERT INTO leaves (leaf) VALUES
    ('{"type": "transaction_count", "min": 0, "max": 1}'), ('{"type": "transaction_count", "min": 2, "max": 3}'),
    ('{"type": "transaction_amount", "fromAmount": 0, "toAmount": 40}'),
    ('{"type": "average_transaction_amount", "fromAmount": 0, "toAmount": 15}'),
    ('{"type": "bought_in_pos", "posIds": ["p2", "p3"]}'), ('{"type": "bought_skus", "skuIds": ["b2"]}'),
    ('{"type": "transaction_percent_in_pos", "posId": "p1", "percent": 0.34}'),
    ('{"type": "last_purchase_n_days_before", "days": 30}'),
    ('{"type": "anniversary", "anniversaryType": "birthday", "days": 120}'),
    ('{"type": "customer_with_labels_values", "labels": [{"key": "tier", "value": "silver"}]}'),
    ('{"field": "first_name", "op": "contains", "value": "e"}'), ('{"field": "score", "op": "lt", "value": 50}'),
    ('{"field": "first_name", "op": "regex", "value": "^[A-D]"}');
CREATE FUNCTION pg_temp.leaf() RETURNS jsonb LANGUAGE sql AS
$$ SELECT l.leaf::jsonb FROM leaves AS l ORDER BY l.i OFFSET pg_temp.rnd((SELECT pg_catalog.count(*)::int FROM leaves)) LIMIT 1 $$;
CREATE FUNCTION pg_temp.node(depth int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    r int := CASE WHEN depth >= 4 THEN 0 ELSE pg_temp.rnd(4) END;
    kids jsonb := '[]';
BEGIN
    IF r = 0 THEN
        RETURN pg_temp.leaf();
    ELSIF r = 1 THEN
        RETURN pg_catalog.jsonb_build_object('not', pg_temp.node(depth + 1));
    END IF;
    FOR k IN 0 .. pg_temp.rnd(3) LOOP
        kids := kids || pg_catalog.jsonb_build_array(pg_temp.node(depth + 1));
    END LOOP;
    RETURN pg_catalog.jsonb_build_object(CASE r WHEN 2 THEN 'all' ELSE 'any' END, kids);
END
$$;
CREATE FUNCTION pg_temp.parts() RETURNS jsonb LANGUAGE sql AS $$
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('criteria',
             (SELECT pg_catalog.jsonb_agg(pg_temp.leaf()) FROM pg_catalog.generate_series(0, pg_temp.rnd(3) + p * 0))))
    FROM pg_catalog.generate_series(0, pg_temp.rnd(3)) AS p $$;

SELECT segext.create_company('explain random') AS r \gset
SET LOCAL segext.company_id = :'r';
INSERT INTO segext.customers (company_id, id, first_name, birth_date, registered_at, active, labels, attributes)
SELECT :'r', pg_catalog.lpad(pg_catalog.to_hex(4096 + i), 24, '0')::segext.objectid,
       pg_temp.pick('{Ann,Bea,Cid,Dee,Eve}'), CASE WHEN pg_temp.rnd(4) > 0 THEN CURRENT_DATE - pg_temp.rnd(20000) END,
       pg_catalog.now() - pg_catalog.make_interval(days => pg_temp.rnd(2000)), pg_temp.rnd(6) > 0,
       CASE pg_temp.rnd(3) WHEN 0 THEN '[]' ELSE pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
           'key', 'Tier', 'value', pg_temp.pick('{Gold,Silver}'))) END,
       CASE WHEN pg_temp.rnd(3) > 0 THEN pg_catalog.jsonb_build_object('score', pg_temp.rnd(100)) ELSE '{}' END
FROM pg_catalog.generate_series(1, 30) AS i;
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
SELECT :'r', c.id, pg_catalog.now() - pg_catalog.make_interval(days => pg_temp.rnd(90)), 1 + pg_temp.rnd(30),
       pg_temp.pick('{p1,p2,p3}'),
       pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('sku', pg_temp.pick('{A1,B2,C3}'),
           'maker', pg_temp.pick('{Acme,Zeta}'), 'labels', '[]'::jsonb, 'quantity', 1, 'amount', 1))
FROM segext.customers AS c CROSS JOIN pg_catalog.generate_series(1, 4) AS t
WHERE c.company_id = :'r' AND pg_temp.rnd(2) = 0;
INSERT INTO segext.segments (company_id, name, criteria)
SELECT :'r', 'tree ' || g,
       pg_catalog.jsonb_build_object(pg_temp.pick('{all,any}'),
           (SELECT pg_catalog.jsonb_agg(pg_temp.node(1)) FROM pg_catalog.generate_series(0, pg_temp.rnd(3) + g * 0)))::segext.criteria
FROM pg_catalog.generate_series(1, 30) AS g;
INSERT INTO segext.segments (company_id, name, criteria)
SELECT :'r', 'parts ' || g, pg_temp.parts()::segext.criteria FROM pg_catalog.generate_series(1, 10) AS g;
INSERT INTO segext.segments (company_id, name, criteria) VALUES (:'r', 'manual', NULL);
SELECT segext.add_segment_members(s.id, ARRAY(SELECT c.id FROM segext.customers AS c WHERE c.company_id = :'r' ORDER BY c.id LIMIT 5))
FROM segext.segments AS s WHERE s.company_id = :'r' AND s.name = 'manual' \g /dev/null
UPDATE segext.segments SET active = false WHERE company_id = :'r' AND name IN ('tree 3', 'parts 4');

CREATE TEMP TABLE explained AS
SELECT s.id AS segment_id, s.number, c.id AS customer_id, e.*
FROM segext.segments AS s CROSS JOIN segext.customers AS c
CROSS JOIN LATERAL segext.explain_membership(s.id, c.id) AS e
WHERE s.company_id = :'r' AND c.company_id = :'r';

SELECT is((SELECT pg_catalog.count(*)::int FROM explained WHERE path = 'segment'), 43 * 30,
          'one answer per segment and customer (41 segments and the built-ins, 30 customers)');
SELECT is((SELECT pg_catalog.count(*)::int FROM explained AS x
            WHERE x.path = 'segment' AND x.matched IS DISTINCT FROM EXISTS (
                SELECT FROM segext.memberships AS m WHERE m.company_id = :'r'
                   AND m.segment_id = x.segment_id AND m.customer_id = x.customer_id)), 0,
          'random trees and parts: every answer equals the stored membership');
SELECT cmp_ok((SELECT pg_catalog.count(DISTINCT x.matched)::int FROM explained AS x WHERE x.path = 'segment' AND x.number > 1), '=', 2,
              'the random segments have members and non-members');
SELECT cmp_ok((SELECT pg_catalog.count(*)::int FROM explained AS x WHERE x.path = 'segment' AND x.number > 1 AND x.matched), '>', 100,
              'and many members');
SELECT is((SELECT pg_catalog.count(*)::int FROM explained AS g
            WHERE g.depth > 0 AND g.node IN ('all', 'any', 'not')
              AND g.matched IS DISTINCT FROM (
                  SELECT CASE g.node WHEN 'all' THEN pg_catalog.bool_and(k.matched)
                                     WHEN 'any' THEN pg_catalog.bool_or(k.matched)
                                     ELSE NOT pg_catalog.bool_or(k.matched) END
                  FROM explained AS k
                  WHERE k.segment_id = g.segment_id AND k.customer_id = g.customer_id
                    AND k.depth = g.depth + 1 AND k.path LIKE g.path || '.%')), 0,
          'every group''s flag follows from its children''s');
SELECT is((SELECT pg_catalog.count(*)::int FROM explained AS x
            JOIN explained AS root ON root.segment_id = x.segment_id AND root.customer_id = x.customer_id AND root.path = '1'
            JOIN segext.customers AS c ON c.company_id = :'r' AND c.id = x.customer_id
            JOIN segext.segments AS s ON s.company_id = :'r' AND s.id = x.segment_id
            WHERE x.path = 'segment' AND s.criteria IS NOT NULL AND s.number > 1
              AND x.matched IS DISTINCT FROM (root.matched AND c.active AND s.active)), 0,
          'a segment with criteria: the answer is its root''s flag for an active customer and segment');
SELECT is((SELECT pg_catalog.count(*)::int FROM explained AS x
            WHERE x.depth > 0 AND x.explanation IS DISTINCT FROM
                  pg_catalog.format('%s: %s (needs %s) -> %s', CASE WHEN x.node LIKE '{%' THEN
                      COALESCE(x.node::jsonb ->> 'type', x.node::jsonb ->> 'field') ELSE x.node END,
                      x.value, x.requirement, CASE WHEN x.matched THEN 'true' ELSE 'false' END)), 0,
          'every explanation is "subject: value (needs requirement) -> matched"');

-- The API: the current company's segments and customers only.
SET LOCAL segext.company_id = :'c';
SELECT is((SELECT pg_catalog.array_agg(e.explanation ORDER BY e.ordinal)
             FROM segext_api.explain_membership('0000000000000000000000e4', '0000000000000000000000a1') AS e),
          (SELECT pg_catalog.array_agg(e.explanation ORDER BY e.ordinal)
             FROM segext.explain_membership('0000000000000000000000e4', '0000000000000000000000a1') AS e),
          'segext_api.explain_membership: the rows of segext.explain_membership');
SELECT throws_ok($$SELECT * FROM segext_api.explain_membership('0000000000000000000000ff', '0000000000000000000000a1')$$,
                 'PT404', 'segment "0000000000000000000000ff" does not exist', 'the API: 404 for an unknown segment');
SELECT throws_ok($$SELECT * FROM segext_api.explain_membership('0000000000000000000000e4', '0000000000000000000000b1')$$,
                 'PT404', 'customer "0000000000000000000000b1" does not exist', 'the API: 404 for another company''s customer');

-- Errors.
SELECT throws_ok($$SELECT * FROM segext.explain_membership('0000000000000000000000ff', '0000000000000000000000a1')$$,
                 '22023', 'segment "0000000000000000000000ff" does not exist', 'an unknown segment: 22023');
SELECT throws_ok($$SELECT * FROM segext.explain_membership('0000000000000000000000e4', '0000000000000000000000b1')$$,
                 '22023', 'customer "0000000000000000000000b1" does not exist', 'another company''s customer: 22023');
SELECT throws_ok($$SELECT * FROM segext.explain_membership('0000000000000000000000e4', '0000000000000000000000ff')$$,
                 '22023', 'customer "0000000000000000000000ff" does not exist', 'an unknown customer: 22023');
CREATE ROLE explain_stranger NOLOGIN IN ROLE segext_reader;
CREATE ROLE explain_reader NOLOGIN IN ROLE segext_reader;
SELECT segext.grant_company(:'c', 'explain_reader', 'reader') \g /dev/null
SET LOCAL ROLE explain_stranger;
SELECT throws_ok($$SELECT * FROM segext.explain_membership('0000000000000000000000e4', '0000000000000000000000a1')$$,
                 '42501', pg_catalog.format('permission denied for company "%s"', :'c'),
                 'a role not granted the current company: 42501');
SELECT pg_catalog.set_config('segext.company_id', '', true) \g /dev/null
SELECT throws_ok($$SELECT * FROM segext.explain_membership('0000000000000000000000e4', '0000000000000000000000a1')$$,
                 '22023', 'segment "0000000000000000000000e4" does not exist', 'a role granted no company sees no segment');
SELECT pg_catalog.set_config('segext.company_id', :'c', true) \g /dev/null
SELECT throws_ok(pg_catalog.format('SELECT * FROM segext.explain_classify(%L, %L)', :'c', '{}'),
                 '42501', NULL, 'explain_classify for a company not granted: 42501');
RESET ROLE;
SET LOCAL ROLE explain_reader;
SELECT is((pg_temp.ex('0000000000000000000000e5', '0000000000000000000000a1'))[7],
          'segment segment 5 "parts": criteria matched (needs an active customer whom the criteria match) -> true',
          'a reader of the company may explain');
SELECT is((SELECT pg_catalog.count(*)::int FROM segext_api.explain_membership('0000000000000000000000e5', '0000000000000000000000a1')), 7,
          'a reader may call the API function');
RESET ROLE;

-- explain_classify: segments tried by position, then number, up to the chosen one.
SELECT segext.create_company('explain events') AS v \gset
SET LOCAL segext.company_id = :'v';
INSERT INTO segext.segments (company_id, number, name, position, criteria) VALUES
    (:'v', 2, 'oslo views', 1, '[{"field": "city", "op": "eq", "value": "Oslo"}, {"field": "act", "op": "in", "value": ["view", 2]}]'),
    (:'v', 3, 'nordic', 2, '{"any": [{"field": "city", "op": "begins", "value": "Os"}, {"not": {"field": "n", "op": "lte", "value": 5}}]}'),
    (:'v', 4, 'aggregates', 0, '[{"type": "transaction_count", "min": 1, "max": 5}]'),
    (:'v', 5, 'manual', 0, NULL);
SELECT is((SELECT pg_catalog.array_agg(e.segment_number || ' ' || e.path || ' ' || e.explanation ORDER BY e.ordinal)
             FROM segext.explain_classify(:'v', '{"city": "Oslo", "act": "buy", "n": 7}') AS e), ARRAY[
    '4 segment segment 4: left out of event stamping: criteria on customer aggregates: an event cannot match them (needs field criteria only) -> false',
    '5 segment segment 5: left out of event stamping: manual segment: members are assigned explicitly (needs field criteria only) -> false',
    '2 1 all: 1 of 2 matched (needs all 2 to match) -> false',
    '2 1.1 any: 1 of 1 matched (needs at least 1 of 1 to match) -> true',
    '2 1.1.1 city: "Oslo" (needs eq "Oslo") -> true',
    '2 1.2 any: 0 of 1 matched (needs at least 1 of 1 to match) -> false',
    '2 1.2.1 act: "buy" (needs in ["view", 2]) -> false',
    '2 segment segment 2: criteria did not match (needs criteria to match, tried by position then number) -> false',
    '3 1 any: 2 of 2 matched (needs at least 1 of 2 to match) -> true',
    '3 1.1 city: "Oslo" (needs begins "Os") -> true',
    '3 1.2 not: its child did not match (needs its child not to match) -> true',
    '3 1.2.1 n: "7" (needs lte 5) -> false',
    '3 segment segment 3: criteria matched, the first segment that did (needs criteria to match, tried by position then number) -> true'],
    'explain_classify: why segment 2 did not match and 3 did');
SELECT is(segext.classify(:'v', '{"city": "Oslo", "act": "buy", "n": 7}'), 3, 'classify agrees');
SELECT is((SELECT pg_catalog.array_agg(e.explanation ORDER BY e.ordinal)
             FROM segext.explain_classify(:'v', '{"city": "Rome", "n": 2}') AS e WHERE e.path = 'segment' AND e.segment_number NOT IN (4, 5)), ARRAY[
    'segment 2: criteria did not match (needs criteria to match, tried by position then number) -> false',
    'segment 3: criteria did not match (needs criteria to match, tried by position then number) -> false',
    'segment 1: no segment matched: the event''s segment is Default (needs no segment to match) -> true'],
    'explain_classify: no segment matched, Default');
SELECT is((SELECT e.explanation FROM segext.explain_classify(:'v', '{"city": "Rome"}') AS e WHERE e.segment_number = 3 AND e.path = '1.2.1'),
          'n: missing (needs lte 5) -> false', 'a missing field of the event');
-- Random events: the chosen segment is classify's.
CREATE TEMP TABLE events AS
SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
           'city', pg_temp.pick('{Oslo,Osaka,Rome,NULL}'), 'act', pg_temp.pick('{view,buy,2,NULL}'),
           'n', CASE WHEN pg_temp.rnd(3) > 0 THEN pg_temp.rnd(10) END)) AS event
FROM pg_catalog.generate_series(1, 60);
SELECT is((SELECT pg_catalog.count(*)::int FROM events AS ev
            WHERE segext.classify(:'v', ev.event) IS DISTINCT FROM (
                SELECT e.segment_number FROM segext.explain_classify(:'v', ev.event) AS e
                WHERE e.path = 'segment' AND e.matched)), 0,
          'random events: the one matching segment row is classify''s answer');
SELECT is((SELECT pg_catalog.count(DISTINCT segext.classify(:'v', ev.event))::int FROM events AS ev), 3,
          'the random events reach segments 2, 3 and Default');
SELECT is((SELECT pg_catalog.array_agg(e.explanation ORDER BY e.ordinal) FROM segext_api.explain_classify('{"city": "Oslo", "act": "view"}') AS e),
          (SELECT pg_catalog.array_agg(e.explanation ORDER BY e.ordinal) FROM segext.explain_classify(:'v', '{"city": "Oslo", "act": "view"}') AS e),
          'segext_api.explain_classify: the current company''s explanation');
SELECT throws_ok(pg_catalog.format('SELECT * FROM segext.explain_classify(%L, %L)', :'v', '[1]'),
                 '22023', 'event must be a JSON object', 'an event that is not an object: 22023');
SELECT throws_ok(pg_catalog.format('SELECT * FROM segext.explain_classify(%L, %L)', '0000000000000000000000ff', '{}'),
                 '23503', 'company "0000000000000000000000ff" does not exist', 'an unknown company: 23503, as classify');

SELECT * FROM finish();
ROLLBACK;
