-- test/citus/copy.sql: rows that Citus sends to the shards with COPY (a
-- COPY through the coordinator, an INSERT ... SELECT of several companies,
-- which Citus runs through the coordinator as the id default is volatile)
-- keep the customer states and members as on one node: segext's triggers
-- run on the shards of the rows' shard group.
SET search_path = segext, public;
SELECT plan(6);
DELETE FROM segext.companies WHERE name LIKE 'Copy _';

INSERT INTO segext.companies (id, name) VALUES
    ('00000000000000000c0c0a01', 'Copy A'), ('00000000000000000c0c0b01', 'Copy B'),
    ('00000000000000000c0c0c01', 'Copy C'), ('00000000000000000c0c0d01', 'Copy D');
INSERT INTO segext.customers (company_id, id, first_name)
SELECT c.id, ('00000000000000000c0c' OPERATOR(pg_catalog.||) pg_catalog.substr(c.id::text, 21, 2)
              OPERATOR(pg_catalog.||) pg_catalog.lpad(g::text, 2, '0'))::segext.objectid, 'customer ' || g
  FROM segext.companies AS c, (VALUES (1), (2), (3)) AS v(g)
 WHERE c.name LIKE 'Copy _';
INSERT INTO segext.segments (company_id, name, criteria)
SELECT id, 'Two sales', '[{"type": "transaction_count", "min": 2, "max": 100}]'
  FROM segext.companies WHERE name LIKE 'Copy _';

-- A COPY through the coordinator, rows of four companies.
COPY segext.transactions (company_id, customer_id, amount) FROM STDIN;
00000000000000000c0c0a01	00000000000000000c0c0a01	10
00000000000000000c0c0a01	00000000000000000c0c0a01	11
00000000000000000c0c0a01	00000000000000000c0c0a02	12
00000000000000000c0c0b01	00000000000000000c0c0b01	13
00000000000000000c0c0b01	00000000000000000c0c0b01	14
00000000000000000c0c0c01	00000000000000000c0c0c01	15
00000000000000000c0c0d01	00000000000000000c0c0d02	16
00000000000000000c0c0d01	00000000000000000c0c0d02	17
\.
SELECT pg_catalog.string_agg(s.customer_id::text || ':' || s.transactions, ',' ORDER BY s.customer_id) AS states
  FROM segext.customer_states AS s JOIN segext.companies AS c ON c.id = s.company_id WHERE c.name LIKE 'Copy _' \gset
SELECT is(:'states'::text, '00000000000000000c0c0a01:2,00000000000000000c0c0a02:1,00000000000000000c0c0b01:2,00000000000000000c0c0c01:1,00000000000000000c0c0d02:2',
          'a COPY through the coordinator keeps the states of every company');
SELECT pg_catalog.string_agg(m.customer_id::text, ',' ORDER BY m.customer_id) AS members
  FROM segext.memberships AS m JOIN segext.segments AS s ON s.company_id = m.company_id AND s.id = m.segment_id
 WHERE s.name = 'Two sales' \gset
SELECT is(:'members'::text, '00000000000000000c0c0a01,00000000000000000c0c0b01,00000000000000000c0c0d02',
          'and the members, in the same statement');

-- INSERT ... SELECT over several companies (each customer one more sale).
INSERT INTO segext.transactions (company_id, customer_id, amount)
SELECT t.company_id, t.customer_id, 5 FROM segext.transactions AS t
 WHERE t.company_id IN ('00000000000000000c0c0a01', '00000000000000000c0c0b01', '00000000000000000c0c0c01', '00000000000000000c0c0d01');
SELECT pg_catalog.string_agg(s.customer_id::text || ':' || s.transactions, ',' ORDER BY s.customer_id) AS states2
  FROM segext.customer_states AS s JOIN segext.companies AS c ON c.id = s.company_id WHERE c.name LIKE 'Copy _' \gset
SELECT is(:'states2'::text, '00000000000000000c0c0a01:4,00000000000000000c0c0a02:2,00000000000000000c0c0b01:4,00000000000000000c0c0c01:2,00000000000000000c0c0d02:4',
          'INSERT ... SELECT of several companies keeps the states');
SELECT pg_catalog.string_agg(m.customer_id::text, ',' ORDER BY m.customer_id) AS members2
  FROM segext.memberships AS m JOIN segext.segments AS s ON s.company_id = m.company_id AND s.id = m.segment_id
 WHERE s.name = 'Two sales' \gset
SELECT is(:'members2'::text, '00000000000000000c0c0a01,00000000000000000c0c0a02,00000000000000000c0c0b01,00000000000000000c0c0c01,00000000000000000c0c0d02',
          'and the members');

-- The stored members equal an evaluation of every segment, for each company.
SELECT pg_catalog.count(*) AS differ FROM segext.companies AS c
 WHERE c.name LIKE 'Copy _'
   AND segext.refresh_company(c.id) OPERATOR(pg_catalog.<>) 0 \gset
SELECT is(:'differ'::int, 0, 'a refresh of each company changes nothing');
SELECT pg_catalog.count(*) AS left_over FROM segext.companies WHERE name LIKE 'Copy _' \gset
DELETE FROM segext.companies WHERE name LIKE 'Copy _';
SELECT is(:'left_over'::int, 4, 'four companies were used');
