-- demo/40_membership.sql: customers and transactions, segments evaluated now
-- and materialized, with counts, history and the member listing.
\set ECHO queries
SET search_path = segext, public;

\echo '--- a shop with 8 customers (one inactive) and their sales and returns'
SELECT segext.create_company('Corner Books') AS shop \gset
\echo 'company "Corner Books" has id' :shop
\set ECHO none
INSERT INTO segext.customers (company_id, external_id, first_name, last_name, email, phone, birth_date, active, labels)
VALUES (:'shop', 'c1', 'Alice', 'Archer', 'alice@example.com', '+1 555 0101', '1990-02-28', true, '[{"key": "tier", "value": "gold"}]'),
       (:'shop', 'c2', 'Bruno', 'Baker', 'bruno@example.com', '+1 555 0102', '1985-12-31', true, '[]'),
       (:'shop', 'c3', 'Chloe', 'Carter', 'chloe@example.com', '+44 20 0103', '2000-02-29', true, '[{"key": "Tier", "value": "Silver"}]'),
       (:'shop', 'c4', 'Dmitri', 'Dixon', 'dmitri@example.com', '+1 555 0104', NULL, true, '[]'),
       (:'shop', 'c5', 'Emma', 'Evans', 'emma@example.com', '+44 20 0105', '1979-07-04', true, '[]'),
       (:'shop', 'c6', 'Farid', 'Fox', 'farid@example.com', '+1 555 0106', NULL, false, '[{"key": "tier", "value": "gold"}]'),
       (:'shop', 'c7', 'Grace', 'Green', 'grace@example.com', '+1 555 0107', NULL, true, '[]'),
       (:'shop', 'c8', 'Hugo', 'Hill', 'hugo@example.com', '+1 555 0108', NULL, true, '[]');
INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
SELECT :'shop', c.id, now() - t.days_ago * interval '1 day', t.amount, t.pos, t.items::jsonb
FROM (VALUES
    ('c1', 2, 120.00, 'downtown', '[{"sku": "BK-001", "maker": "Penguin", "labels": [{"key": "genre", "value": "crime"}], "quantity": 2, "amount": 120}]'),
    ('c1', 40, 80.00, 'downtown', '[{"sku": "BK-002", "maker": "Vintage", "quantity": 1, "amount": 80}]'),
    ('c2', 5, 35.50, 'airport', '[{"sku": "BK-003", "maker": "Penguin", "quantity": 1, "amount": 35.5}]'),
    ('c3', 10, 300.00, 'downtown', '[{"sku": "BK-004", "maker": "Folio", "labels": [{"key": "genre", "value": "poetry"}], "quantity": 3, "amount": 300}]'),
    ('c4', 400, 15.00, 'airport', '[{"sku": "BK-001", "maker": "Penguin", "quantity": 1, "amount": 15}]'),
    ('c5', 1, 60.00, 'online', '[{"sku": "BK-005", "maker": "Vintage", "quantity": 1, "amount": 60}]'),
    ('c6', 3, 500.00, 'downtown', '[{"sku": "BK-004", "maker": "Folio", "quantity": 5, "amount": 500}]'),
    ('c7', 20, 45.00, 'online', '[{"sku": "BK-006", "maker": "Penguin", "quantity": 1, "amount": 45}]')
) AS t(customer, days_ago, amount, pos, items)
JOIN segext.customers c ON c.company_id = :'shop' AND c.external_id = t.customer;
\set ECHO queries

\echo '--- returns: Emma returns her whole sale (it no longer counts), Chloe part of hers'
INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id, returns_id)
SELECT t.company_id, t.customer_id, -t.amount, t.pos_id, t.id FROM segext.transactions t
JOIN segext.customers c ON c.company_id = t.company_id AND c.id = t.customer_id WHERE c.external_id = 'c5';
INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id, returns_id)
SELECT t.company_id, t.customer_id, -100, t.pos_id, t.id FROM segext.transactions t
JOIN segext.customers c ON c.company_id = t.company_id AND c.id = t.customer_id WHERE c.external_id = 'c3';
SELECT c.first_name, t.amount, t.returned_amount, t.pos_id, t.item_skus, t.item_makers
FROM segext.transactions t JOIN segext.customers c ON c.company_id = t.company_id AND c.id = t.customer_id
WHERE t.company_id = :'shop' ORDER BY c.first_name, t.amount DESC;

\echo '--- a return must refer to a sale of the same customer, and cannot return more than is left'
\set ON_ERROR_STOP 0
\echo '(expected error: 23514, Emma''s sale is already fully returned)'
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
SELECT t.company_id, t.customer_id, -50, t.id FROM segext.transactions t
JOIN segext.customers c ON c.company_id = t.company_id AND c.id = t.customer_id WHERE c.external_id = 'c5' AND t.amount > 0;
\set ON_ERROR_STOP 1

\echo '--- segments: the criteria decide, parts are ANDed, criteria of a part ORed'
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'shop', 'Big spenders', '[{"type": "transaction_amount", "fromAmount": 150, "toAmount": 100000}]'),
    (:'shop', 'Penguin readers', '[{"type": "bought_makers", "makers": ["penguin"]}]'),
    (:'shop', 'Recent downtown', '[{"criteria": [{"type": "bought_in_pos", "posIds": ["downtown"]}]}, {"criteria": [{"type": "last_purchase_n_days_before", "days": 14}]}]'),
    (:'shop', 'Tiered or lapsed', '[{"criteria": [{"type": "customer_has_labels", "labels": [{"key": "tier"}]}, {"type": "transaction_count", "min": 0, "max": 0}]}]'),
    (:'shop', 'Book club', NULL)
RETURNING id, number, name;

\echo '--- evaluated now: segment_members'
SELECT s.name, c.first_name
FROM segext.segments s CROSS JOIN LATERAL segext.segment_members(s.id) m
JOIN segext.customers c ON c.company_id = s.company_id AND c.id = m.customer_id
WHERE s.company_id = :'shop' AND s.number > 1 ORDER BY s.number, c.first_name;

\echo '--- materialized: one pass over the transactions refreshes every active segment'
SELECT segext.refresh_company(:'shop') AS changes;
SELECT segext.add_segment_members(s.id, ARRAY(SELECT id FROM segext.customers WHERE company_id = :'shop' AND external_id IN ('c4', 'c8'))) AS added
FROM segext.segments s WHERE s.company_id = :'shop' AND s.name = 'Book club';
SELECT number, name, active, segext.segment_customers_count(company_id, id) AS customers_count,
       (SELECT string_agg(c.first_name, ', ' ORDER BY c.first_name) FROM segext.memberships m
        JOIN segext.customers c ON c.company_id = m.company_id AND c.id = m.customer_id
        WHERE m.company_id = s.company_id AND m.segment_id = s.id) AS members
FROM segext.segments s WHERE s.company_id = :'shop' ORDER BY number;

\echo '--- deactivate removes the members at once (they may land in Default); activate brings them back'
SELECT segext.deactivate_segment(id) AS changes FROM segext.segments WHERE company_id = :'shop' AND name = 'Penguin readers';
SELECT number, name, active, segext.segment_customers_count(company_id, id) AS customers_count FROM segext.segments WHERE company_id = :'shop' ORDER BY number;
SELECT segext.activate_segment(id) AS changes FROM segext.segments WHERE company_id = :'shop' AND name = 'Penguin readers';

\echo '--- history of a segment'
SELECT c.first_name, h.kind FROM segext.membership_history h
JOIN segext.customers c ON c.company_id = h.company_id AND c.id = h.customer_id
JOIN segext.segments s ON s.company_id = h.company_id AND s.id = h.segment_id
WHERE s.company_id = :'shop' AND s.name = 'Penguin readers' ORDER BY h.id;

\echo '--- members of a segment (Open Loyalty GET /api/segment/<id>/customers): filters, sort, page, total'
SELECT first_name, last_name, email, phone, total_count
FROM segext.segments s, segext.segment_customers(s.id, phone => '+1', sort => 'firstName', direction => 'DESC', page_limit => 3)
WHERE s.company_id = :'shop' AND s.number = 0;
