-- test/helpers/two_companies.sql: two companies (Acme, Beta) with groups,
-- segments (one with criteria), channels with a segment mix, customers, a
-- sale and a return, refreshed; sets psql variables a and b to their ids.
-- Needs segext installed and a superuser session.
SET search_path = segext, public;
SELECT segext.create_company('Acme', 10, 5) AS a \gset
SELECT segext.create_company('Beta') AS b \gset
INSERT INTO segext.segment_groups (company_id, name) VALUES (:'a', 'Premium'), (:'b', 'Retail');
INSERT INTO segext.segments (company_id, name, ref, description, group_id, org_id)
    VALUES (:'a', 'Platinum', 'plat', 'best', 1, 2), (:'a', 'Gold', NULL, NULL, 1, NULL),
           (:'a', 'Silver', 'silv', 'e''scape, "quotes"', 0, NULL), (:'b', 'Only', NULL, NULL, 1, 7);
SELECT segext.reorder_segments(:'a', ARRAY[4, 3, 2]) \g /dev/null
INSERT INTO segext.channels (company_id, name, commission)
    VALUES (:'a', 'Content marketing', 0), (:'a', 'Direct sales', 0.2), (:'a', 'Events', 0), (:'b', 'Web', 1.5);
BEGIN;
DELETE FROM segext.channel_segments WHERE company_id = :'a';
INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)
SELECT :'a', c.id, s.id, d.distribution
FROM (VALUES ('Content marketing', 'Platinum', 0.4), ('Content marketing', 'Gold', 0.3),
             ('Content marketing', 'Silver', 0.3), ('Direct sales', 'Gold', 1),
             ('Events', 'Platinum', 0.125), ('Events', 'Default', 0.875)) AS d(channel, segment, distribution)
JOIN segext.channels c ON c.company_id = :'a' AND c.name = d.channel
JOIN segext.segments s ON s.company_id = :'a' AND s.name = d.segment;
COMMIT;
UPDATE segext.segments SET criteria = '[{"type": "transaction_count", "min": 1, "max": 10}]'
    WHERE company_id = :'a' AND name = 'Gold';
INSERT INTO segext.customers (company_id, id, external_id, first_name, labels) VALUES
    (:'a', '0000000000000000000000c1', 'x1', 'Ann', '[{"key": "tier", "value": "gold"}]'),
    (:'a', '0000000000000000000000c2', 'x2', 'Bob', '[]');
INSERT INTO segext.transactions (company_id, id, customer_id, amount, pos_id, items) VALUES
    (:'a', '0000000000000000000000d1', '0000000000000000000000c1', 100, 'P1', '[{"sku": "A-1", "maker": "Acme"}]');
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES
    (:'a', '0000000000000000000000c1', -40, '0000000000000000000000d1');
SELECT segext.refresh_company(:'a') \g /dev/null
