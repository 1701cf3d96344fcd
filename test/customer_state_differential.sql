-- customer states, differential: seeded random batches of sales, returns
-- (partial and full), deleted returns and sales, updates of amount, time,
-- POS, items and customer, bulk INSERT ... SELECT, customer edits and
-- deletes, segment definition changes and rolled-back subtransactions over
-- three companies, with segments built from segments (in_segment, two
-- levels); after each batch, for every segment (every criterion
-- kind, manual, 0 and 1) the stored members, kept by the writes themselves,
-- equal segext.segment_members and every count equals its member rows; the
-- incrementally kept state equals a rebuild from the transactions; and a
-- full refresh (state and members rebuilt from the transactions) changes no
-- member.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = segext, public;
SELECT plan(33);
\ir helpers/member_mismatch.sql
SELECT pg_catalog.setseed(0.4242);

\ir helpers/random_pick.sql

-- cust(k, i): the id of customer i of company k.
CREATE FUNCTION pg_temp.cust(k pg_catalog.int4, i pg_catalog.int4) RETURNS segext.objectid LANGUAGE sql AS
$$ SELECT pg_catalog.lpad(pg_catalog.to_hex(k * 4096 + i), 24, '0')::segext.objectid $$;

-- random_labels(n): up to n labels of mixed case.
CREATE FUNCTION pg_temp.random_labels(n pg_catalog.int4) RETURNS pg_catalog.jsonb LANGUAGE sql AS $$
    SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'key', pg_temp.pick('{Color,color,Size,tier}'), 'value', pg_temp.pick('{Red,red,Blue,XL,gold}'))), '[]')
    FROM pg_catalog.generate_series(1, pg_temp.rnd(n + 1)) $$;

-- random_items(): zero to three items with SKUs, makers and labels of mixed case.
CREATE FUNCTION pg_temp.random_items() RETURNS pg_catalog.jsonb LANGUAGE sql AS $$
    SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sku', pg_temp.pick('{A1,a1,B2,c3,D4}'), 'maker', pg_temp.pick('{Acme,ACME,Zeta,NULL}'),
        'labels', pg_temp.random_labels(2), 'quantity', 1, 'amount', 1))), '[]')
    FROM pg_catalog.generate_series(1, pg_temp.rnd(4)) $$;

-- random_time(): within 400 days back and 20 days ahead (future-dated sales).
CREATE FUNCTION pg_temp.random_time() RETURNS pg_catalog.timestamptz LANGUAGE sql AS
$$ SELECT pg_catalog.now() - pg_catalog.make_interval(mins => pg_temp.rnd(420 * 1440) - 20 * 1440) $$;

-- Three companies of 40 customers each, with segments of every kind.
CREATE TABLE pg_temp.co (k pg_catalog.int4, id segext.objectid);
INSERT INTO pg_temp.co SELECT k, segext.create_company('state differential ' || k) FROM pg_catalog.generate_series(1, 3) AS k;

INSERT INTO segext.customers (company_id, id, first_name, birth_date, registered_at, active, labels, attributes)
SELECT co.id, pg_temp.cust(co.k, i), pg_temp.pick('{ann,bob,cid,dan,eve}'),
       CASE WHEN pg_temp.rnd(5) > 0 THEN CURRENT_DATE - pg_temp.rnd(20000) END,
       pg_catalog.now() - pg_catalog.make_interval(days => pg_temp.rnd(2000)),
       pg_temp.rnd(8) > 0, pg_temp.random_labels(2),
       pg_catalog.jsonb_build_object('tier', pg_temp.pick('{gold,silver}'), 'score', pg_temp.rnd(100))
FROM pg_temp.co AS co CROSS JOIN pg_catalog.generate_series(1, 40) AS i;

INSERT INTO segext.segments (company_id, name, criteria)
SELECT co.id, v.name, pg_catalog.replace(pg_catalog.replace(v.criteria, '$C1', pg_temp.cust(co.k, 1)::pg_catalog.text),
                                         '$C2', pg_temp.cust(co.k, 2)::pg_catalog.text)::segext.criteria
FROM pg_temp.co AS co CROSS JOIN (VALUES
    ('count', '[{"type": "transaction_count", "min": 2, "max": 4}]'),
    ('no sales', '[{"type": "transaction_count", "min": 0, "max": 0}]'),
    ('amount', '[{"type": "transaction_amount", "fromAmount": 50.5, "toAmount": 400}]'),
    ('zero amount', '[{"type": "transaction_amount", "fromAmount": 0, "toAmount": 0}]'),
    ('average', '[{"type": "average_transaction_amount", "fromAmount": 20, "toAmount": 60.25}]'),
    ('pos', '[{"type": "bought_in_pos", "posIds": ["p1", "P2"]}]'),
    ('skus', '[{"type": "bought_skus", "skuIds": ["a1", "C3"]}]'),
    ('makers', '[{"type": "bought_makers", "makers": ["acme"]}]'),
    ('item labels', '[{"type": "bought_labels", "labels": [{"key": "color", "value": "RED"}, {"key": "size", "value": "xl"}]}]'),
    ('recent', '[{"type": "last_purchase_n_days_before", "days": 30}]'),
    ('period dates', '[{"type": "purchase_period", "fromDate": "2000-01-01", "toDate": "2100-01-01"}]'),
    ('period recent', '[{"type": "purchase_period", "fromDate": "' ||
        pg_catalog.to_char(CURRENT_DATE - 90, 'YYYY-MM-DD') || '", "toDate": "' ||
        pg_catalog.to_char(CURRENT_DATE - 10, 'YYYY-MM-DD') || '"}]'),
    ('period stamps', '[{"type": "purchase_period", "fromDate": "' ||
        pg_catalog.to_char(pg_catalog.now() - interval '200 days', 'YYYY-MM-DD"T"HH24:MI:SS+00:00') || '", "toDate": "' ||
        pg_catalog.to_char(pg_catalog.now() + interval '5 days', 'YYYY-MM-DD"T"HH24:MI:SS+00:00') || '"}]'),
    ('percent pos', '[{"type": "transaction_percent_in_pos", "posId": "p1", "percent": 0.5}]'),
    ('birthday', '[{"type": "anniversary", "anniversaryType": "birthday", "days": 90}]'),
    ('registration', '[{"type": "anniversary", "anniversaryType": "registration", "days": 60}]'),
    ('has labels', '[{"type": "customer_has_labels", "labels": [{"key": "TIER"}]}]'),
    ('label values', '[{"type": "customer_with_labels_values", "labels": [{"key": "color", "value": "red"}]}]'),
    ('list', '[{"type": "customer_list", "customers": ["$C1", "$C2"]}]'),
    ('field', '[{"field": "first_name", "op": "in", "value": ["ann", "eve"]}]'),
    ('attribute', '[{"field": "tier", "op": "eq", "value": "gold"}, {"field": "score", "op": "gte", "value": 30}]'),
    ('combined', '[{"criteria": [{"type": "bought_skus", "skuIds": ["b2"]}, {"type": "transaction_count", "min": 5, "max": 100}]},
                   {"criteria": [{"type": "last_purchase_n_days_before", "days": 200}]}]')
) AS v(name, criteria);
INSERT INTO segext.segments (company_id, name) SELECT co.id, 'manual' FROM pg_temp.co AS co;
SELECT segext.add_segment_members(s.id, ARRAY[pg_temp.cust(co.k, 3), pg_temp.cust(co.k, 4), pg_temp.cust(co.k, 5)])
FROM pg_temp.co AS co JOIN segext.segments AS s ON s.company_id OPERATOR(pg_catalog.=) co.id AND s.name OPERATOR(pg_catalog.=) 'manual';
-- Segments built from segments (in_segment), two levels deep, naming
-- segments with criteria, the manual one and each other.
CREATE FUNCTION pg_temp.seg(company segext.objectid, seg_name pg_catalog.text) RETURNS pg_catalog.text LANGUAGE sql AS
$$ SELECT s.id::pg_catalog.text FROM segext.segments AS s
   WHERE s.company_id OPERATOR(pg_catalog.=) company AND s.name OPERATOR(pg_catalog.=) seg_name $$;
INSERT INTO segext.segments (company_id, name, criteria)
SELECT co.id, v.name, pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(v.criteria,
           '$COUNT', pg_temp.seg(co.id, 'count')), '$MANUAL', pg_temp.seg(co.id, 'manual')),
           '$RECENT', pg_temp.seg(co.id, 'recent'))::segext.criteria
FROM pg_temp.co AS co CROSS JOIN (VALUES
    ('in count', '[{"type": "in_segment", "segment": "$COUNT"}]'),
    ('not manual nor recent', '{"not": {"any": [{"type": "in_segment", "segment": "$MANUAL"}, {"type": "in_segment", "segment": "$RECENT"}]}}')
) AS v(name, criteria);
INSERT INTO segext.segments (company_id, name, criteria)
SELECT co.id, 'in both, or not in count',
       ('{"any": [{"all": [{"type": "in_segment", "segment": "' || pg_temp.seg(co.id, 'in count') || '"}, ' ||
        '{"type": "in_segment", "segment": "' || pg_temp.seg(co.id, 'not manual nor recent') || '"}]}, ' ||
        '{"not": {"type": "in_segment", "segment": "' || pg_temp.seg(co.id, 'in count') || '"}}]}')::segext.criteria
FROM pg_temp.co AS co;
-- The kinds as defined here: the batches change the segments' definitions.
CREATE TABLE pg_temp.kinds AS SELECT s.company_id, s.name, s.criteria FROM segext.segments AS s
    WHERE s.number OPERATOR(pg_catalog.>) 1 AND s.criteria IS NOT NULL;

-- random_batch(n): n random writes over every company; some in rolled-back subtransactions.
CREATE FUNCTION pg_temp.random_batch(n pg_catalog.int4) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    co record;
    t record;
    op pg_catalog.int4;
    rolled pg_catalog.bool;
BEGIN
    FOR step IN 1 .. n LOOP
        SELECT * INTO co FROM pg_temp.co ORDER BY pg_catalog.random() LIMIT 1;
        rolled := pg_temp.rnd(12) = 0;
        BEGIN
            op := pg_temp.rnd(100);
            IF op < 45 THEN
                -- a sale (customers may have been deleted: pick an existing one)
                INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
                SELECT co.id, c.id, pg_temp.random_time(), (1 + pg_temp.rnd(15000))::pg_catalog.numeric / 100,
                       pg_temp.pick('{p1,p2,P2,p3,NULL}'), pg_temp.random_items()
                FROM segext.customers AS c WHERE c.company_id OPERATOR(pg_catalog.=) co.id
                ORDER BY pg_catalog.random() LIMIT 1;
            ELSIF op < 60 THEN
                -- a return of part or all of what is left of a sale
                SELECT s.customer_id, s.id, s.amount OPERATOR(pg_catalog.-) s.returned_amount AS left_amount INTO t
                FROM segext.transactions AS s
                WHERE s.company_id OPERATOR(pg_catalog.=) co.id AND s.returns_id IS NULL
                  AND s.returned_amount OPERATOR(pg_catalog.<) s.amount
                ORDER BY pg_catalog.random() LIMIT 1;
                IF FOUND THEN
                    INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
                    VALUES (co.id, t.customer_id,
                            OPERATOR(pg_catalog.-) CASE WHEN pg_temp.rnd(2) = 0 THEN t.left_amount
                                ELSE GREATEST(0.01, pg_catalog.round(t.left_amount / 2, 2)) END, t.id);
                END IF;
            ELSIF op < 66 THEN
                -- a deleted return: its sale may count again
                DELETE FROM segext.transactions AS r WHERE r.company_id OPERATOR(pg_catalog.=) co.id AND r.id OPERATOR(pg_catalog.=) (
                    SELECT x.id FROM segext.transactions AS x WHERE x.company_id OPERATOR(pg_catalog.=) co.id
                      AND x.returns_id IS NOT NULL ORDER BY pg_catalog.random() LIMIT 1);
            ELSIF op < 71 THEN
                -- a deleted sale without returns
                DELETE FROM segext.transactions AS r WHERE r.company_id OPERATOR(pg_catalog.=) co.id AND r.id OPERATOR(pg_catalog.=) (
                    SELECT x.id FROM segext.transactions AS x WHERE x.company_id OPERATOR(pg_catalog.=) co.id
                      AND x.returns_id IS NULL AND x.returned_amount OPERATOR(pg_catalog.=) 0
                    ORDER BY pg_catalog.random() LIMIT 1);
            ELSIF op < 80 THEN
                -- an update of amount, time, POS, items or customer of a sale without returns
                SELECT x.id INTO t FROM segext.transactions AS x WHERE x.company_id OPERATOR(pg_catalog.=) co.id
                  AND x.returns_id IS NULL AND x.returned_amount OPERATOR(pg_catalog.=) 0
                ORDER BY pg_catalog.random() LIMIT 1;
                IF FOUND THEN
                    UPDATE segext.transactions AS x SET
                        amount = CASE WHEN pg_temp.rnd(2) = 0 THEN (1 + pg_temp.rnd(15000))::pg_catalog.numeric / 100 ELSE x.amount END,
                        occurred_at = CASE WHEN pg_temp.rnd(2) = 0 THEN pg_temp.random_time() ELSE x.occurred_at END,
                        pos_id = CASE WHEN pg_temp.rnd(2) = 0 THEN pg_temp.pick('{p1,p2,p3,NULL}') ELSE x.pos_id END,
                        items = CASE WHEN pg_temp.rnd(2) = 0 THEN pg_temp.random_items() ELSE x.items END,
                        customer_id = CASE WHEN pg_temp.rnd(4) = 0 THEN COALESCE((
                            SELECT c.id FROM segext.customers AS c WHERE c.company_id OPERATOR(pg_catalog.=) co.id
                            ORDER BY pg_catalog.random() LIMIT 1), x.customer_id) ELSE x.customer_id END
                    WHERE x.company_id OPERATOR(pg_catalog.=) co.id AND x.id OPERATOR(pg_catalog.=) t.id;
                END IF;
            ELSIF op < 84 THEN
                -- a bulk INSERT ... SELECT of sales for many customers
                INSERT INTO segext.transactions (company_id, customer_id, occurred_at, amount, pos_id, items)
                SELECT co.id, c.id, pg_temp.random_time(), (1 + pg_temp.rnd(9000))::pg_catalog.numeric / 100,
                       pg_temp.pick('{p1,p2,p3}'), pg_temp.random_items()
                FROM segext.customers AS c CROSS JOIN pg_catalog.generate_series(1, 2)
                WHERE c.company_id OPERATOR(pg_catalog.=) co.id AND pg_temp.rnd(3) = 0;
            ELSIF op < 86 THEN
                -- a bulk UPDATE of many sales' times
                UPDATE segext.transactions AS x SET occurred_at = x.occurred_at - interval '3 days'
                WHERE x.company_id OPERATOR(pg_catalog.=) co.id AND pg_temp.rnd(4) = 0;
            ELSIF op < 89 THEN
                -- a segment definition change: criteria copied from another segment, or active toggled
                -- (criteria naming segments may close a cycle: refused, 23514, and left out)
                BEGIN
                UPDATE segext.segments AS s SET
                    criteria = CASE WHEN pg_temp.rnd(2) = 0 THEN (
                        SELECT o.criteria FROM segext.segments AS o WHERE o.company_id OPERATOR(pg_catalog.=) co.id
                          AND o.number OPERATOR(pg_catalog.>) 1 AND o.criteria IS NOT NULL ORDER BY pg_catalog.random() LIMIT 1)
                        ELSE s.criteria END,
                    active = CASE WHEN pg_temp.rnd(2) = 0 THEN NOT s.active ELSE s.active END
                WHERE s.company_id OPERATOR(pg_catalog.=) co.id AND s.id OPERATOR(pg_catalog.=) (
                    SELECT x.id FROM segext.segments AS x WHERE x.company_id OPERATOR(pg_catalog.=) co.id
                      AND x.number OPERATOR(pg_catalog.>) 1 AND x.criteria IS NOT NULL ORDER BY pg_catalog.random() LIMIT 1);
                EXCEPTION WHEN check_violation THEN
                    NULL;
                END;
            ELSIF op < 97 THEN
                -- a customer edit: active, labels, birth date, registration, attributes
                UPDATE segext.customers AS c SET
                    active = CASE WHEN pg_temp.rnd(3) = 0 THEN NOT c.active ELSE c.active END,
                    labels = CASE WHEN pg_temp.rnd(2) = 0 THEN pg_temp.random_labels(2) ELSE c.labels END,
                    birth_date = CASE WHEN pg_temp.rnd(3) = 0 THEN CURRENT_DATE - pg_temp.rnd(20000) ELSE c.birth_date END,
                    registered_at = CASE WHEN pg_temp.rnd(3) = 0 THEN pg_catalog.now() - pg_catalog.make_interval(days => pg_temp.rnd(2000)) ELSE c.registered_at END,
                    attributes = CASE WHEN pg_temp.rnd(3) = 0 THEN pg_catalog.jsonb_build_object('tier', pg_temp.pick('{gold,silver}'), 'score', pg_temp.rnd(100)) ELSE c.attributes END
                WHERE c.company_id OPERATOR(pg_catalog.=) co.id AND c.id OPERATOR(pg_catalog.=) (
                    SELECT x.id FROM segext.customers AS x WHERE x.company_id OPERATOR(pg_catalog.=) co.id ORDER BY pg_catalog.random() LIMIT 1);
            ELSE
                -- a deleted customer (its transactions go by cascade) and a new one
                DELETE FROM segext.transactions AS r WHERE r.company_id OPERATOR(pg_catalog.=) co.id AND r.returns_id IS NOT NULL
                  AND r.customer_id OPERATOR(pg_catalog.=) (SELECT x.customer_id FROM segext.transactions AS x
                      WHERE x.company_id OPERATOR(pg_catalog.=) co.id ORDER BY x.id LIMIT 1);
                DELETE FROM segext.customers AS c WHERE c.company_id OPERATOR(pg_catalog.=) co.id AND c.id OPERATOR(pg_catalog.=) (
                    SELECT x.customer_id FROM segext.transactions AS x WHERE x.company_id OPERATOR(pg_catalog.=) co.id
                    ORDER BY x.id LIMIT 1);
                INSERT INTO segext.customers (company_id, first_name, labels)
                VALUES (co.id, pg_temp.pick('{ann,eve,zed}'), pg_temp.random_labels(2));
            END IF;
            IF rolled THEN
                RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'roll this step back';
            END IF;
        EXCEPTION WHEN raise_exception THEN
            NULL;
        END;
    END LOOP;
END
$$;

-- member_mismatches(): segments whose stored members differ from
-- segment_members, or whose count differs from its member rows.
CREATE FUNCTION pg_temp.member_mismatches() RETURNS pg_catalog.text[] LANGUAGE sql AS $$
    SELECT COALESCE(pg_catalog.array_agg(co.k || ':' || s.name ORDER BY co.k, s.number), '{}')
    FROM pg_temp.co AS co JOIN segext.segments AS s ON s.company_id OPERATOR(pg_catalog.=) co.id
    WHERE pg_temp.members_differ(s) OR pg_temp.count_differs(s) $$;

-- rebuild_changes(): the members a full refresh of every company changes.
CREATE FUNCTION pg_temp.rebuild_changes() RETURNS pg_catalog.int8 LANGUAGE sql AS $$
    SELECT pg_catalog.sum(segext.refresh_company(co.id))::pg_catalog.int8 FROM pg_temp.co AS co $$;

-- state_mismatches(): state rows that differ from a rebuild (which then replaces them).
CREATE FUNCTION pg_temp.state_mismatches() RETURNS pg_catalog.int8 LANGUAGE plpgsql AS $$
DECLARE
    n pg_catalog.int8;
BEGIN
    CREATE TEMP TABLE kept ON COMMIT DROP AS SELECT * FROM segext.customer_states;
    PERFORM segext.rebuild_customer_states(co.id) FROM pg_temp.co AS co;
    SELECT pg_catalog.count(*) INTO n FROM (
        (SELECT * FROM kept EXCEPT ALL SELECT * FROM segext.customer_states)
        UNION ALL
        (SELECT * FROM segext.customer_states EXCEPT ALL SELECT * FROM kept)) AS d;
    DROP TABLE kept;
    RETURN n;
END
$$;

SELECT is(pg_temp.member_mismatches(), '{}', 'before any transaction: stored members equal segment_members');

SELECT pg_temp.random_batch(250);
SELECT is(pg_temp.member_mismatches(), '{}', 'batch 1: stored members equal segment_members, counts equal member rows');
SELECT is(pg_temp.state_mismatches(), 0::pg_catalog.int8, 'batch 1: the kept state equals a rebuild');
SELECT is(pg_temp.rebuild_changes(), 0::pg_catalog.int8, 'batch 1: a full refresh from the transactions changes no member');
SELECT pg_temp.random_batch(250);
SELECT is(pg_temp.member_mismatches(), '{}', 'batch 2: stored members equal segment_members, counts equal member rows');
SELECT is(pg_temp.state_mismatches(), 0::pg_catalog.int8, 'batch 2: the kept state equals a rebuild');
SELECT is(pg_temp.rebuild_changes(), 0::pg_catalog.int8, 'batch 2: a full refresh from the transactions changes no member');
SELECT pg_temp.random_batch(250);
SELECT is(pg_temp.member_mismatches(), '{}', 'batch 3: stored members equal segment_members, counts equal member rows');
SELECT is(pg_temp.state_mismatches(), 0::pg_catalog.int8, 'batch 3: the kept state equals a rebuild');
SELECT is(pg_temp.rebuild_changes(), 0::pg_catalog.int8, 'batch 3: a full refresh from the transactions changes no member');
SELECT pg_temp.random_batch(250);
SELECT is(pg_temp.member_mismatches(), '{}', 'batch 4: stored members equal segment_members, counts equal member rows');
SELECT is(pg_temp.state_mismatches(), 0::pg_catalog.int8, 'batch 4: the kept state equals a rebuild');
SELECT is(pg_temp.rebuild_changes(), 0::pg_catalog.int8, 'batch 4: a full refresh from the transactions changes no member');
SELECT pg_temp.random_batch(250);
SELECT is(pg_temp.member_mismatches(), '{}', 'batch 5: stored members equal segment_members, counts equal member rows');
SELECT is(pg_temp.state_mismatches(), 0::pg_catalog.int8, 'batch 5: the kept state equals a rebuild');
SELECT is(pg_temp.rebuild_changes(), 0::pg_catalog.int8, 'batch 5: a full refresh from the transactions changes no member');
SELECT pg_temp.random_batch(250);
SELECT is(pg_temp.member_mismatches(), '{}', 'batch 6: stored members equal segment_members, counts equal member rows');
SELECT is(pg_temp.state_mismatches(), 0::pg_catalog.int8, 'batch 6: the kept state equals a rebuild');
SELECT is(pg_temp.rebuild_changes(), 0::pg_catalog.int8, 'batch 6: a full refresh from the transactions changes no member');
SELECT pg_temp.random_batch(250);
SELECT is(pg_temp.member_mismatches(), '{}', 'batch 7: stored members equal segment_members, counts equal member rows');
SELECT is(pg_temp.state_mismatches(), 0::pg_catalog.int8, 'batch 7: the kept state equals a rebuild');
SELECT is(pg_temp.rebuild_changes(), 0::pg_catalog.int8, 'batch 7: a full refresh from the transactions changes no member');
SELECT pg_temp.random_batch(250);
SELECT is(pg_temp.member_mismatches(), '{}', 'batch 8: stored members equal segment_members, counts equal member rows');
SELECT is(pg_temp.state_mismatches(), 0::pg_catalog.int8, 'batch 8: the kept state equals a rebuild');
SELECT is(pg_temp.rebuild_changes(), 0::pg_catalog.int8, 'batch 8: a full refresh from the transactions changes no member');

-- The run exercised what it claims to.
SELECT cmp_ok((SELECT pg_catalog.count(*) FROM segext.transactions WHERE returns_id IS NULL), '>=', 1500::pg_catalog.int8,
              'thousands of writes: at least 1,500 sales remain');
SELECT cmp_ok((SELECT pg_catalog.count(*) FROM segext.transactions WHERE returns_id IS NOT NULL), '>=', 100::pg_catalog.int8,
              'returns remain');
SELECT cmp_ok((SELECT pg_catalog.count(*) FROM segext.transactions WHERE returns_id IS NULL
               AND returned_amount OPERATOR(pg_catalog.=) amount), '>=', 20::pg_catalog.int8,
              'fully returned sales remain');
SELECT cmp_ok((SELECT pg_catalog.count(*) FROM segext.transactions WHERE occurred_at OPERATOR(pg_catalog.>) pg_catalog.now()),
              '>=', 10::pg_catalog.int8, 'future-dated sales remain');
SELECT cmp_ok((SELECT pg_catalog.count(*) FROM segext.customers WHERE NOT active), '>=', 5::pg_catalog.int8,
              'inactive customers remain');
-- (each kind as first defined, whatever the batches made of its segment:
-- preview_criteria for each company in turn)
CREATE TABLE pg_temp.kind_members (name pg_catalog.text, n pg_catalog.int8);
DO $$
DECLARE
    k record;
BEGIN
    FOR k IN SELECT * FROM pg_temp.kinds LOOP
        PERFORM pg_catalog.set_config('segext.company_id', k.company_id::pg_catalog.text, true);
        INSERT INTO pg_temp.kind_members SELECT k.name, p.member_count FROM segext.preview_criteria(k.criteria, 0) AS p;
    END LOOP;
    PERFORM pg_catalog.set_config('segext.company_id', '', true);
END
$$;
SELECT is((SELECT pg_catalog.count(DISTINCT m.name) FROM pg_temp.kind_members AS m WHERE m.n OPERATOR(pg_catalog.>) 0),
          (SELECT pg_catalog.count(DISTINCT k.name) FROM pg_temp.kinds AS k),
          'every kind of criteria has members in some company');
SELECT cmp_ok((SELECT pg_catalog.count(*) FROM segext.customer_states), '>=', 90::pg_catalog.int8,
              'most customers have a state');
SELECT is((SELECT pg_catalog.count(*) FROM segext.customer_states AS s
           WHERE NOT EXISTS (SELECT FROM segext.customers AS c
                             WHERE c.company_id OPERATOR(pg_catalog.=) s.company_id AND c.id OPERATOR(pg_catalog.=) s.customer_id)),
          0::pg_catalog.int8, 'no state of a deleted customer');

SELECT * FROM finish();
ROLLBACK;
