-- Included twice by test/kept_plans.sql (psql variable label set): a company
-- and a segment (rules), a sale and its return (returns), and the members of
-- segment 0 (membership), each through a statement segext keeps per backend.
SELECT segext.create_company(:'label') AS c \gset
INSERT INTO segext.segments (company_id, name) VALUES (:'c', 'kept');
INSERT INTO segext.customers (company_id, id) VALUES (:'c', '0000000000000000000000a1');
INSERT INTO segext.transactions (company_id, customer_id, amount)
    VALUES (:'c', '0000000000000000000000a1', 30) RETURNING id AS sale \gset
INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
    VALUES (:'c', '0000000000000000000000a1', -10, :'sale');
SELECT is((SELECT returned_amount FROM segext.transactions WHERE company_id = :'c' AND id = :'sale'),
          10.00, :'label' || ': the return is counted on its sale');
SELECT is((SELECT count(*) FROM segext.segments s CROSS JOIN LATERAL segext.segment_members(s.id)
            WHERE s.company_id = :'c' AND s.number = 0),
          1::bigint, :'label' || ': segment_members evaluates');
SELECT throws_ok(pg_catalog.format('INSERT INTO segext.segments (company_id, name) VALUES (%L, %L)', :'c', 'kept'),
                 '23505', NULL, :'label' || ': the rules still refuse a duplicate segment name');
