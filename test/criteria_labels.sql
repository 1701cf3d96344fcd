-- Item labels are stored as key U+001F value: bought_labels criteria refuse
-- U+001F in keys and values (22023), so no criterion can name a stored label
-- ambiguously, and segment_members, the stored memberships and
-- criteria_match_facts agree for customers whose item labels contain it.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SELECT plan(7);

SELECT throws_ok(pg_catalog.format('SELECT %L::segext.criteria', t), '22023',
                 'invalid segment criteria: part 1, criterion 1 ("bought_labels"): "labels" item 1: "' || k ||
                 '" must not contain the character U+001F, which separates the key from the value of a stored item label',
                 'refused: ' || t)
FROM (VALUES
    ('[{"type": "bought_labels", "labels": [{"key": "a", "value": "b\u001fc"}]}]', 'value'),
    ('[{"type": "bought_labels", "labels": [{"key": "a\u001fb", "value": "c"}]}]', 'key')
) AS r(t, k);
SELECT lives_ok($$SELECT '[{"type": "customer_with_labels_values", "labels": [{"key": "a\u001fb", "value": "c"}]}]'::segext.criteria$$,
                'customer labels are not joined, so their criteria may hold U+001F');

SELECT segext.create_company('item label separator') AS c \gset
INSERT INTO segext.customers (company_id, id, first_name) VALUES
    (:'c', '0000000000000000000000c1', 'key holds it'),
    (:'c', '0000000000000000000000c2', 'value holds it'),
    (:'c', '0000000000000000000000c3', 'plain'),
    (:'c', '0000000000000000000000c4', 'both hold it');
CREATE TEMP TABLE item_labels (customer text, labels jsonb);
INSERT INTO item_labels VALUES
    ('0000000000000000000000c1', '[{"key": "a\u001fb", "value": "c"}]'),
    ('0000000000000000000000c2', '[{"key": "a", "value": "b\u001fc"}]'),
    ('0000000000000000000000c3', '[{"key": "a", "value": "b"}, {"key": "b", "value": "c"}]'),
    ('0000000000000000000000c4', '[{"key": "a\u001fb", "value": "c\u001fd"}]');
INSERT INTO segext.transactions (company_id, customer_id, amount, items)
SELECT :'c', customer::segext.objectid, 10, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('sku', 's', 'labels', labels))
FROM item_labels;

CREATE TEMP TABLE label_criteria (name text, criteria segext.criteria);
INSERT INTO label_criteria VALUES
    ('a=b', '[{"type": "bought_labels", "labels": [{"key": "a", "value": "b"}]}]'),
    ('b=c', '[{"type": "bought_labels", "labels": [{"key": "b", "value": "c"}]}]'),
    ('a=c', '[{"type": "bought_labels", "labels": [{"key": "a", "value": "c"}]}]'),
    ('c=d', '[{"type": "bought_labels", "labels": [{"key": "c", "value": "d"}]}]'),
    ('a=b or b=c', '[{"type": "bought_labels", "labels": [{"key": "a", "value": "b"}, {"key": "b", "value": "c"}]}]');
INSERT INTO segext.segments (company_id, name, criteria) SELECT :'c', name, criteria FROM label_criteria;
SELECT segext.refresh_company(:'c') \g /dev/null

-- Membership by each path, as (segment, customer) pairs.
CREATE TEMP TABLE by_members AS
    SELECT s.name, m.customer_id::text AS customer FROM segext.segments s
    CROSS JOIN LATERAL segext.segment_members(s.id) m
    WHERE s.company_id OPERATOR(pg_catalog.=) :'c' AND s.name IN (SELECT name FROM label_criteria);
CREATE TEMP TABLE by_stored AS
    SELECT s.name, m.customer_id::text AS customer FROM segext.segments s
    JOIN segext.memberships m ON m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
    WHERE s.company_id OPERATOR(pg_catalog.=) :'c' AND s.name IN (SELECT name FROM label_criteria);
CREATE TEMP TABLE by_facts AS
    SELECT lc.name, il.customer FROM label_criteria lc CROSS JOIN item_labels il
    WHERE segext.criteria_match_facts(lc.criteria, pg_catalog.jsonb_build_object('item_labels', il.labels));

SELECT set_eq('SELECT name, customer FROM by_members', 'SELECT name, customer FROM by_facts',
              'segment_members and criteria_match_facts agree');
SELECT set_eq('SELECT name, customer FROM by_stored', 'SELECT name, customer FROM by_facts',
              'stored memberships and criteria_match_facts agree');
SELECT set_eq('SELECT name, customer FROM by_facts',
              $$VALUES ('a=b', '0000000000000000000000c3'), ('b=c', '0000000000000000000000c3'),
                       ('a=b or b=c', '0000000000000000000000c3')$$,
              'only labels without the separator match, whole');
SELECT is((SELECT count(*) FROM segext.transactions t
           WHERE t.company_id OPERATOR(pg_catalog.=) :'c' AND t.item_labels OPERATOR(pg_catalog.&&) ARRAY[E'a\x1fb\x1fc']), 2::bigint,
          'two stored item labels join to the same text, which no criterion can name');

SELECT * FROM finish();
ROLLBACK;
