-- segext under a hostile search_path: schema "hostile" (test/helpers/
-- hostile_schema.sql) shadows every operator, function, type and relation
-- segext's SQL uses, and is put before pg_catalog on the search_path, for a
-- superuser and for a segext_writer login; temporary tables shadow segext's
-- tables during those runs.  Every segext function and API path then runs
-- twice, with the normal and with the hostile search_path: the results must
-- be equal and no hostile object may have been used.  Also: every SECURITY
-- DEFINER and PL/pgSQL function of segext lists pg_temp last on its
-- search_path, and every SQL function is bound at creation, fixes its
-- search_path or is one of those exercised here.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;
SET LOCAL search_path = public, segext;
SELECT * FROM no_plan();

\ir helpers/hostile_schema.sql

-- A company with customers, sales, returns, a channel and a segment of
-- every criterion kind.
SELECT segext.create_company('hostile search path', 60, 5) AS c \gset
SELECT pg_catalog.set_config('segext.company_id', :'c', true) IS NOT NULL AS company_set \gset
INSERT INTO segext.channels (company_id, name, commission) VALUES (:'c', 'web', 0.2) RETURNING id AS web \gset
INSERT INTO segext.customers (company_id, id, first_name, last_name, email, phone, birth_date, registered_at,
                              labels, attributes, channel_id, active) VALUES
    (:'c', '0000000000000000000000c1', 'Anna', 'Smith', 'anna@example.com', '+48 100', '1990-03-04', '2020-03-04',
     '[{"key": "tier", "value": "gold"}]', '{"city": "Oslo", "age": 31}', :'web', true),
    (:'c', '0000000000000000000000c2', 'Ben', 'Smithers', 'ben@example.com', '+48 200', '1985-07-08', '2021-01-01',
     '[{"key": "tier", "value": "silver"}]', '{"city": "Bergen", "age": 40}', :'web', true),
    (:'c', '0000000000000000000000c3', 'Carla', 'Jones', 'carla_j@example.com', '+49 300', NULL, '2022-06-30',
     '[]', '{"city": "Oslo"}', NULL, true),
    (:'c', '0000000000000000000000c4', 'David', 'Smith', 'david@example.org', '+48 400', '2000-12-31', '2019-12-31',
     '[{"key": "region", "value": "north"}]', '{}', :'web', true),
    (:'c', '0000000000000000000000c5', 'Eve', 'Stone', 'eve@example.org', '+47 500', '1970-01-01', '2018-05-05',
     '[{"key": "tier", "value": "gold"}]', '{"city": "Oslo"}', NULL, false);
INSERT INTO segext.transactions (company_id, id, customer_id, occurred_at, amount, pos_id, returns_id, items) VALUES
    (:'c', '0000000000000000000000a1', '0000000000000000000000c1', '2024-03-02 10:00+00', 120, 'P1', NULL,
     '[{"sku": "SKU-1", "maker": "Acme", "labels": [{"key": "color", "value": "red"}], "quantity": 1, "amount": 120}]'),
    (:'c', '0000000000000000000000a2', '0000000000000000000000c1', pg_catalog.now() - interval '2 days', 30, 'P2', NULL,
     '[{"sku": "SKU-2", "maker": "Other", "quantity": 2, "amount": 30}]'),
    (:'c', '0000000000000000000000a3', '0000000000000000000000c2', '2024-03-04 12:00+00', 60, 'P1', NULL,
     '[{"sku": "sku-1", "maker": "ACME", "labels": [{"key": "Color", "value": "Blue"}], "quantity": 1, "amount": 60}]'),
    (:'c', '0000000000000000000000a4', '0000000000000000000000c2', '2024-03-05 12:00+00', -60, 'P1', '0000000000000000000000a3', '[]'),
    (:'c', '0000000000000000000000a5', '0000000000000000000000c4', '2024-06-01 09:00+00', 15, 'P3', NULL, '[]'),
    (:'c', '0000000000000000000000a6', '0000000000000000000000c5', '2024-03-03 09:00+00', 500, 'P1', NULL,
     '[{"sku": "SKU-1", "maker": "Acme", "quantity": 1, "amount": 500}]');
INSERT INTO segext.segment_groups (company_id, id, name) VALUES (:'c', 7, 'reporting');
INSERT INTO segext.segments (company_id, name, group_id, position, criteria) VALUES
    (:'c', 'field', 7, 3, '[{"field": "city", "op": "eq", "value": "Oslo"}]'),
    (:'c', 'field number', 0, 4, '[{"field": "age", "op": "gt", "value": 35}]'),
    (:'c', 'count', 0, 5, '[{"type": "transaction_count", "min": 1, "max": 2}]'),
    (:'c', 'count zero', 0, 6, '[{"type": "transaction_count", "min": 0, "max": 0}]'),
    (:'c', 'amount', 0, 7, '[{"type": "transaction_amount", "fromAmount": 50, "toAmount": 1000}]'),
    (:'c', 'average', 0, 8, '[{"type": "average_transaction_amount", "fromAmount": 10, "toAmount": 100}]'),
    (:'c', 'pos', 0, 9, '[{"type": "bought_in_pos", "posIds": ["P1"]}]'),
    (:'c', 'sku', 0, 10, '[{"type": "bought_skus", "skuIds": ["sku-1"]}]'),
    (:'c', 'maker', 0, 11, '[{"type": "bought_makers", "makers": ["acme"]}]'),
    (:'c', 'item label', 0, 12, '[{"type": "bought_labels", "labels": [{"key": "color", "value": "red"}]}]'),
    (:'c', 'recent', 0, 13, '[{"type": "last_purchase_n_days_before", "days": 30}]'),
    (:'c', 'period', 0, 14, '[{"type": "purchase_period", "fromDate": "2024-03-01", "toDate": "2024-03-03"}]'),
    (:'c', 'two periods', 0, 15, '[{"criteria": [{"type": "purchase_period", "fromDate": "2024-03-01", "toDate": "2024-03-02"}, {"type": "purchase_period", "fromDate": "2024-05-01", "toDate": "2024-07-01"}]}]'),
    (:'c', 'percent in pos', 0, 16, '[{"type": "transaction_percent_in_pos", "posId": "P1", "percent": 0.5}]'),
    (:'c', 'birthday', 0, 17, '[{"type": "anniversary", "anniversaryType": "birthday", "days": 366}]'),
    (:'c', 'registration', 0, 18, '[{"type": "anniversary", "anniversaryType": "registration", "days": 366}]'),
    (:'c', 'has label', 0, 19, '[{"type": "customer_has_labels", "labels": [{"key": "TIER"}]}]'),
    (:'c', 'label value', 0, 20, '[{"type": "customer_with_labels_values", "labels": [{"key": "tier", "value": "GOLD"}]}]'),
    (:'c', 'list', 0, 21, '[{"type": "customer_list", "customers": ["0000000000000000000000c1", "0000000000000000000000c3"]}]'),
    (:'c', 'list and sku', 0, 22, '[{"criteria": [{"type": "customer_list", "customers": ["0000000000000000000000c1", "0000000000000000000000c2"]}]}, {"criteria": [{"type": "bought_skus", "skuIds": ["SKU-1"]}]}]'),
    (:'c', 'mixed', 0, 23, '[{"criteria": [{"type": "transaction_amount", "fromAmount": 1, "toAmount": 200}, {"type": "customer_has_labels", "labels": [{"key": "region"}]}]}, {"criteria": [{"type": "last_purchase_n_days_before", "days": 10000}]}]'),
    (:'c', 'hand picked', 0, 24, NULL);
INSERT INTO segext.segments (company_id, name, active, criteria) VALUES
    (:'c', 'dormant', false, '[{"type": "bought_in_pos", "posIds": ["P3"]}]');
UPDATE segext.channels SET segment_mix = pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('segment_id', (SELECT id FROM segext.segments WHERE company_id = :'c' AND name = 'field'), 'distribution', 0.25),
    pg_catalog.jsonb_build_object('segment_id', (SELECT id FROM segext.segments WHERE company_id = :'c' AND name = 'count'), 'distribution', 0.75))
 WHERE company_id = :'c' AND name = 'web';
SELECT segext.refresh_company(:'c') > 0 AS refreshed \gset
SELECT segext.add_segment_members(id, ARRAY['0000000000000000000000c1', '0000000000000000000000c3']::segext.objectid[]) AS added
  FROM segext.segments WHERE company_id = :'c' AND name = 'hand picked' \gset

CREATE TABLE public.hostile_events (company_id segext.objectid, act pg_catalog.text, city pg_catalog.text,
    props pg_catalog.jsonb, segment pg_catalog.int4, segment_group pg_catalog.int4);
CREATE TRIGGER stamp BEFORE INSERT ON public.hostile_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group', 'props');
GRANT INSERT, SELECT ON public.hostile_events TO PUBLIC;

-- The id of a segment of the current company by name, and what the
-- statements of a run changed: segments, members, history, mixes,
-- customers and sales of the current company (ids generated during a run
-- left out, as they differ between the two runs).
CREATE FUNCTION hostile.seg(segment_name pg_catalog.text) RETURNS segext.objectid
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.id FROM segext.segments s
     WHERE s.company_id OPERATOR(pg_catalog.=) segext.current_company_id() AND s.name = segment_name $$;
CREATE FUNCTION hostile.seg_channel(channel_name pg_catalog.text) RETURNS segext.objectid
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.id FROM segext.channels c
     WHERE c.company_id OPERATOR(pg_catalog.=) segext.current_company_id() AND c.name = channel_name $$;
CREATE FUNCTION hostile.state() RETURNS pg_catalog.text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(' ', s.number, s.name, s.active, s.position, s.group_id, segext.segment_customers_count(s.company_id, s.id),
                                     s.criteria::text), '; ' ORDER BY s.number)
           FROM segext.segments s WHERE s.company_id OPERATOR(pg_catalog.=) segext.current_company_id()),
        (SELECT string_agg(concat_ws(' ', g.id, g.name, g.status), '; ' ORDER BY g.id)
           FROM segext.segment_groups g WHERE g.company_id OPERATOR(pg_catalog.=) segext.current_company_id()),
        (SELECT string_agg(concat_ws(' ', s.number, m.customer_id, m.since), '; ' ORDER BY s.number, m.customer_id)
           FROM segext.memberships m JOIN segext.segments s
             ON s.company_id OPERATOR(pg_catalog.=) m.company_id AND s.id OPERATOR(pg_catalog.=) m.segment_id
          WHERE m.company_id OPERATOR(pg_catalog.=) segext.current_company_id()),
        (SELECT string_agg(concat_ws(' ', s.number, h.customer_id, h.kind, h.at), '; ' ORDER BY h.id)
           FROM segext.membership_history h JOIN segext.segments s
             ON s.company_id OPERATOR(pg_catalog.=) h.company_id AND s.id OPERATOR(pg_catalog.=) h.segment_id
          WHERE h.company_id OPERATOR(pg_catalog.=) segext.current_company_id()),
        (SELECT string_agg(concat_ws(' ', c.name, c.commission, cs.distribution, s.number), '; ' ORDER BY c.name, s.number)
           FROM segext.channels c LEFT JOIN segext.channel_segments cs
             ON cs.company_id OPERATOR(pg_catalog.=) c.company_id AND cs.channel_id OPERATOR(pg_catalog.=) c.id
           LEFT JOIN segext.segments s ON s.company_id OPERATOR(pg_catalog.=) cs.company_id AND s.id OPERATOR(pg_catalog.=) cs.segment_id
          WHERE c.company_id OPERATOR(pg_catalog.=) segext.current_company_id()),
        (SELECT string_agg(concat_ws(' ', c.external_id, c.first_name, c.active, c.labels::text), '; ' ORDER BY c.first_name)
           FROM segext.customers c WHERE c.company_id OPERATOR(pg_catalog.=) segext.current_company_id()),
        (SELECT string_agg(concat_ws(' ', t.customer_id, t.amount, t.returned_amount, t.item_skus::text), '; '
                           ORDER BY t.customer_id, t.amount, t.occurred_at)
           FROM segext.transactions t WHERE t.company_id OPERATOR(pg_catalog.=) segext.current_company_id())) $$;

-- The environment detects an unqualified operator: a canary.
SELECT hostile.compare('canary', ARRAY['SELECT (1 = 1)::pg_catalog.text']) IS NULL AS ran \gset
SELECT isnt((SELECT r.calls FROM hostile.results r WHERE r.name = 'canary'), '',
            'the hostile schema records an unqualified operator');
DELETE FROM hostile.results;

-- As a superuser: segment_members of every segment.
SELECT pg_catalog.count(hostile.compare('segment_members of ' || s.name, ARRAY[pg_catalog.format(
        'SELECT pg_catalog.array_agg(m.customer_id ORDER BY m.customer_id)::pg_catalog.text '
        'FROM segext.segment_members(%L::segext.objectid) AS m', s.id)])) AS ran
  FROM (SELECT * FROM segext.segments WHERE company_id = :'c' ORDER BY number) AS s \gset

-- As a superuser: every other function.
SELECT hostile.compare('refresh_company', ARRAY[
    'UPDATE segext.customers SET active = true WHERE id OPERATOR(pg_catalog.=) ''0000000000000000000000c5''::segext.objectid',
    'DELETE FROM segext.transactions WHERE id OPERATOR(pg_catalog.=) ''0000000000000000000000a2''::segext.objectid',
    'SELECT segext.refresh_company(segext.current_company_id())::pg_catalog.text',
    'SELECT hostile.state()']) IS NULL AS ran \gset
SELECT hostile.compare('refresh_segment', ARRAY[
    'UPDATE segext.customers SET active = false WHERE id OPERATOR(pg_catalog.=) ''0000000000000000000000c2''::segext.objectid',
    'SELECT segext.refresh_segment(hostile.seg(''amount''))::pg_catalog.text',
    'SELECT segext.refresh_segment(hostile.seg(''field''))::pg_catalog.text',
    'SELECT hostile.state()']) IS NULL AS ran \gset
SELECT hostile.compare('activate and deactivate', ARRAY[
    'SELECT segext.activate_segment(hostile.seg(''dormant''))::pg_catalog.text',
    'SELECT segext.deactivate_segment(hostile.seg(''sku''))::pg_catalog.text',
    'SELECT hostile.state()']) IS NULL AS ran \gset
SELECT hostile.compare('manual members', ARRAY[
    'SELECT segext.add_segment_members(hostile.seg(''hand picked''), ''{0000000000000000000000c2,0000000000000000000000c4,0000000000000000000000c5}'')::pg_catalog.text',
    'SELECT segext.remove_segment_members(hostile.seg(''hand picked''), ''{0000000000000000000000c1}'')::pg_catalog.text',
    'SELECT hostile.state()',
    'SELECT segext.add_segment_members(hostile.seg(''hand picked''), ''{0000000000000000000000ff}'')::pg_catalog.text']) IS NULL AS ran \gset
SELECT hostile.compare('segment_customers', ARRAY[
    'SELECT pg_catalog.array_agg(m)::pg_catalog.text FROM segext.segment_customers(hostile.seg(''All''), sort => ''email'', direction => ''desc'') AS m',
    'SELECT pg_catalog.array_agg(m)::pg_catalog.text FROM segext.segment_customers(hostile.seg(''All''), first_name => ''a'', last_name => ''SMI'', page_limit => 1, page_offset => 1) AS m',
    'SELECT pg_catalog.array_agg(m)::pg_catalog.text FROM segext.segment_customers(hostile.seg(''All''), sort => ''since'') AS m',
    'SELECT pg_catalog.array_agg(m)::pg_catalog.text FROM segext.segment_customers(hostile.seg(''All''), sort => ''nope'') AS m']) IS NULL AS ran \gset
SELECT hostile.compare('classify and event stamping', ARRAY[
    'SELECT segext.classify(segext.current_company_id(), ''{"city": "Oslo"}'')::pg_catalog.text',
    'SELECT segext.classify(segext.current_company_id(), ''{"age": 50}'')::pg_catalog.text',
    'SELECT segext_api.classify(''{"city": "Rome"}'')::pg_catalog.text',
    'WITH i AS (INSERT INTO public.hostile_events (company_id, act, props) VALUES
        (segext.current_company_id(), ''a'', ''{"city": "Oslo"}''), (segext.current_company_id(), ''b'', ''{"age": 36}''),
        (segext.current_company_id(), ''c'', NULL) RETURNING act, segment, segment_group)
     SELECT pg_catalog.array_agg(i ORDER BY i.act)::pg_catalog.text FROM i',
    'SELECT pg_catalog.array_agg(e)::pg_catalog.text FROM segext.check_event_segments(segext.current_company_id()) AS e']) IS NULL AS ran \gset
SELECT hostile.compare('criteria evaluation', ARRAY[
    'SELECT segext.criteria_match_facts(''[{"type": "transaction_count", "min": 1, "max": 3}]'', ''{"transaction_count": 2}'', ''2024-03-01'', ''2024-03-01 12:00+00'')::pg_catalog.text',
    'SELECT segext.criteria_match_event(''[{"field": "city", "op": "begins", "value": "Os"}]'', ''{"city": "Oslo"}'')::pg_catalog.text',
    'SELECT (''[{"type": "bought_skus", "skuIds": ["A"]}]''::segext.criteria)::pg_catalog.jsonb::pg_catalog.text']) IS NULL AS ran \gset
SELECT hostile.compare('channel forecast and commission', ARRAY[
    'SELECT pg_catalog.array_agg(f)::pg_catalog.text FROM segext_api.channel_forecast(hostile.seg_channel(''web''), 1000) AS f',
    'SELECT segext_api.commission_value(hostile.seg_channel(''web''), 250)::pg_catalog.text']) IS NULL AS ran \gset
SELECT hostile.compare('reports', ARRAY[
    'SELECT pg_catalog.array_agg(r ORDER BY r.segment_number)::pg_catalog.text FROM segext_api.report_segment_sizes AS r',
    'SELECT pg_catalog.array_agg(r ORDER BY r.segment_number)::pg_catalog.text FROM segext_api.report_channel_forecast AS r',
    'SELECT pg_catalog.array_agg(r ORDER BY r.segment_number, r.day)::pg_catalog.text FROM segext_api.report_segment_size_history AS r',
    'SELECT pg_catalog.count(*)::pg_catalog.text FROM segext_api.report_membership_history AS r',
    'SELECT pg_catalog.array_agg(r ORDER BY r.segment_number)::pg_catalog.text FROM segext_api.report_channel_mix AS r']) IS NULL AS ran \gset
SELECT hostile.compare('writes of the rules', ARRAY[
    'SELECT segext.create_company(''another'') IS NOT NULL',
    'INSERT INTO segext.segment_groups (company_id, name) VALUES (segext.current_company_id(), ''auto group'') RETURNING id::pg_catalog.text',
    'INSERT INTO segext.segments (company_id, name, criteria) VALUES (segext.current_company_id(), ''new'', ''[{"type": "bought_in_pos", "posIds": ["P2"]}]'') RETURNING number::pg_catalog.text',
    'UPDATE segext.segments SET number = 300, name = ''renamed'' WHERE id OPERATOR(pg_catalog.=) hostile.seg(''two periods'') RETURNING number::pg_catalog.text',
    'INSERT INTO segext.segments (company_id, name) VALUES (segext.current_company_id(), ''next free'') RETURNING number::pg_catalog.text',
    'DELETE FROM segext.segments WHERE id OPERATOR(pg_catalog.=) hostile.seg(''next free'')',
    'DELETE FROM segext.segment_groups WHERE company_id OPERATOR(pg_catalog.=) segext.current_company_id() AND name OPERATOR(pg_catalog.=) ''auto group''',
    'SELECT segext.reorder_segments(segext.current_company_id(), ''{20,19,18}'')::pg_catalog.text',
    'UPDATE segext.companies SET name = ''renamed company'' WHERE id OPERATOR(pg_catalog.=) segext.current_company_id() RETURNING name',
    'SELECT hostile.state()']) IS NULL AS ran \gset
SELECT hostile.compare('refused: segment in a mix', ARRAY[
    'DELETE FROM segext.segments WHERE id OPERATOR(pg_catalog.=) hostile.seg(''field'')']) IS NULL AS ran \gset
SELECT hostile.compare('refused: group with segments', ARRAY[
    'DELETE FROM segext.segment_groups WHERE company_id OPERATOR(pg_catalog.=) segext.current_company_id() AND name OPERATOR(pg_catalog.=) ''reporting''']) IS NULL AS ran \gset
SELECT hostile.compare('refused: reordering a built-in', ARRAY[
    'SELECT segext.reorder_segments(segext.current_company_id(), ''{1}'')::pg_catalog.text']) IS NULL AS ran \gset
SELECT hostile.compare('refused: a built-in segment', ARRAY[
    'UPDATE segext.segments SET name = ''x'' WHERE id OPERATOR(pg_catalog.=) hostile.seg(''Default'')']) IS NULL AS ran \gset
SELECT hostile.compare('writes of the mix rules', ARRAY[
    'INSERT INTO segext.channels (company_id, name, commission) VALUES (segext.current_company_id(), ''shop'', 0.1) RETURNING name',
    'UPDATE segext.channels SET segment_mix = pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(''segment_id'', hostile.seg(''pos''), ''distribution'', 1))
      WHERE id OPERATOR(pg_catalog.=) hostile.seg_channel(''web'') RETURNING segment_mix::pg_catalog.text',
    'UPDATE segext.channel_segments SET distribution = 0.5 WHERE channel_id OPERATOR(pg_catalog.=) hostile.seg_channel(''web'')',
    'INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution) VALUES (segext.current_company_id(), hostile.seg_channel(''web''), hostile.seg(''sku''), 0.5)',
    'SET CONSTRAINTS ALL IMMEDIATE',
    'SET CONSTRAINTS ALL DEFERRED',
    'UPDATE segext.channels SET segment_mix = ''[{"segment_id": 5}]'' WHERE id OPERATOR(pg_catalog.=) hostile.seg_channel(''web'')']) IS NULL AS ran \gset
SELECT hostile.compare('writes of customers and sales', ARRAY[
    'INSERT INTO segext.customers (company_id, id, first_name, labels) VALUES (segext.current_company_id(), ''0000000000000000000000c9'', ''Finn'', ''[{"key": "tier", "value": "gold"}]'') RETURNING first_name',
    'INSERT INTO segext.transactions (company_id, id, customer_id, amount, pos_id, items) VALUES (segext.current_company_id(), ''0000000000000000000000b1'', ''0000000000000000000000c9'', 80, ''P1'', ''[{"sku": "Z-1", "maker": "Zed", "labels": [{"key": "k", "value": "v"}], "quantity": 1, "amount": 80}]'') RETURNING item_labels::pg_catalog.text',
    'INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id) VALUES (segext.current_company_id(), ''0000000000000000000000c9'', -30, ''0000000000000000000000b1'') RETURNING amount::pg_catalog.text',
    'UPDATE segext.transactions SET amount = -20 WHERE returns_id OPERATOR(pg_catalog.=) ''0000000000000000000000b1''::segext.objectid',
    'DELETE FROM segext.transactions WHERE returns_id OPERATOR(pg_catalog.=) ''0000000000000000000000b1''::segext.objectid',
    'UPDATE segext.customers SET labels = ''[{"key": "x", "value": "y"}]'' WHERE id OPERATOR(pg_catalog.=) ''0000000000000000000000c9''::segext.objectid',
    'SELECT segext.refresh_company(segext.current_company_id())::pg_catalog.text',
    'DELETE FROM segext.customers WHERE id OPERATOR(pg_catalog.=) ''0000000000000000000000c9''::segext.objectid',
    'SELECT hostile.state()']) IS NULL AS ran \gset

-- As a segext_writer login, through the API.
CREATE ROLE hostile_writer LOGIN IN ROLE segext_writer;
SELECT segext.grant_company(:'c', 'hostile_writer', 'writer') IS NULL AS granted \gset
SET ROLE hostile_writer;
SELECT hostile.compare('writer: API writes', ARRAY[
    'INSERT INTO segext_api.segments (name, criteria, position) VALUES (''api new'', ''[{"type": "transaction_amount", "fromAmount": 10, "toAmount": 100}]'', 2) RETURNING number::pg_catalog.text',
    'UPDATE segext_api.segments SET description = ''d'', group_id = 7 WHERE id OPERATOR(pg_catalog.=) hostile.seg(''pos'') RETURNING name',
    'INSERT INTO segext_api.segment_groups (name) VALUES (''api group'') RETURNING id::pg_catalog.text',
    'DELETE FROM segext_api.segments WHERE id OPERATOR(pg_catalog.=) hostile.seg(''recent'')',
    'INSERT INTO segext_api.channels (name, commission, segment_mix) VALUES (''api channel'', 0.3, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(''segment_id'', hostile.seg(''amount''), ''distribution'', 1))) RETURNING segment_mix::pg_catalog.text',
    'INSERT INTO segext_api.customers (id, first_name, attributes) VALUES (''0000000000000000000000d1'', ''Gina'', ''{"city": "Oslo"}'') RETURNING first_name',
    'INSERT INTO segext_api.transactions (customer_id, amount, pos_id) VALUES (''0000000000000000000000d1'', 40, ''P1'') RETURNING amount::pg_catalog.text',
    'SELECT segext_api.reorder_segments(''{9,8}'')::pg_catalog.text',
    'SELECT segext_api.refresh()::pg_catalog.text',
    'SELECT hostile.state()']) IS NULL AS ran \gset
SELECT hostile.compare('writer: API actions', ARRAY[
    'SELECT segext_api.activate_segment(hostile.seg(''dormant''))::pg_catalog.text',
    'SELECT segext_api.deactivate_segment(hostile.seg(''maker''))::pg_catalog.text',
    'SELECT segext_api.refresh_segment(hostile.seg(''average''))::pg_catalog.text',
    'SELECT segext_api.add_segment_members(hostile.seg(''hand picked''), ''{0000000000000000000000c4}'')::pg_catalog.text',
    'SELECT segext_api.remove_segment_members(hostile.seg(''hand picked''), ''{0000000000000000000000c3}'')::pg_catalog.text',
    'SELECT hostile.state()',
    'SELECT segext_api.activate_segment(hostile.seg(''All''))::pg_catalog.text']) IS NULL AS ran \gset
SELECT hostile.compare('writer: API reads', ARRAY[
    'SELECT pg_catalog.array_agg(m ORDER BY m.customer_id)::pg_catalog.text FROM segext_api.segment_customers(hostile.seg(''All''), first_name => ''n'') AS m',
    'SELECT pg_catalog.count(*)::pg_catalog.text FROM segext_api.segment_customers(hostile.seg(''count''))',
    'SELECT segext_api.classify(''{"city": "Oslo"}'')::pg_catalog.text',
    'SELECT pg_catalog.array_agg(f)::pg_catalog.text FROM segext_api.channel_forecast(hostile.seg_channel(''web''), 10) AS f',
    'SELECT segext_api.commission_value(hostile.seg_channel(''web''), 10)::pg_catalog.text',
    'SELECT pg_catalog.array_agg(m ORDER BY m.customer_id)::pg_catalog.text FROM segext.segment_members(hostile.seg(''period'')) AS m',
    'SELECT pg_catalog.array_agg(m ORDER BY m.customer_id)::pg_catalog.text FROM segext.segment_members(hostile.seg(''count zero'')) AS m',
    'SELECT pg_catalog.array_agg(r ORDER BY r.segment_number)::pg_catalog.text FROM segext_api.report_channel_mix AS r']) IS NULL AS ran \gset
RESET ROLE;

SELECT is(r.plain ~ 'error [0-9A-Z]{5}: .*(does not exist|hostile)', false,
          r.name || ': runs under the normal search_path')
  FROM hostile.results r ORDER BY r.n;
SELECT is(r.hostile, r.plain, r.name || ': same result with hostile objects on the search_path')
  FROM hostile.results r ORDER BY r.n;
SELECT is(r.calls, '', r.name || ': no hostile operator, function, type or relation used')
  FROM hostile.results r ORDER BY r.n;
SELECT is((SELECT pg_catalog.count(*) FROM hostile.results), 25 + 19::pg_catalog.int8,
          'every segment and every path ran');

-- The search_path of segext's own functions.
SET LOCAL search_path = public;
CREATE TEMP VIEW segext_functions AS
    SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text AS name, p.prosecdef, l.lanname, p.proconfig,
           p.prosqlbody IS NOT NULL AS bound
      FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_language l ON l.oid = p.prolang
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
       AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
      JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'segext';
SELECT is(ARRAY(SELECT f.name FROM segext_functions f
                 WHERE f.prosecdef AND f.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp'] ORDER BY 1),
          '{}'::pg_catalog.text[], 'every SECURITY DEFINER function of segext has search_path = pg_catalog, pg_temp');
SELECT is(ARRAY(SELECT f.name FROM segext_functions f
                 WHERE f.lanname = 'plpgsql' AND f.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp'] ORDER BY 1),
          '{}'::pg_catalog.text[], 'every PL/pgSQL function of segext has search_path = pg_catalog, pg_temp');
SELECT is(ARRAY(SELECT f.name FROM segext_functions f
                 WHERE f.lanname = 'sql' AND NOT f.bound AND f.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']
                 ORDER BY 1),
          ARRAY['segext.check_event_segments(segext.objectid)',
                'segext_api.channel_forecast(segext.objectid,numeric)',
                'segext_api.commission_value(segext.objectid,numeric)',
                'segext_api.segment_customers(segext.objectid,text,text,text,text)'],
          'SQL functions without a fixed search_path are bound at creation or exercised above (fully qualified, some kept inlinable)');

SELECT * FROM finish();
ROLLBACK;
