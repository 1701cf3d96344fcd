-- test/citus/events.sql: event stamping on a distributed events table,
-- colocated with segext.companies: the trigger runs on the shards, with the
-- company's segments of its shard group, and sees a change of the segments
-- from the next insert, as on one node.
SET search_path = segext, public;
SELECT plan(6);

SELECT segext.create_company('Events') AS e \gset
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'e', 'Checkout', '[{"field": "href", "op": "eq", "value": "/checkout"}]');
CREATE TABLE public.citus_events (company_id segext.objectid NOT NULL, id bigserial, href text,
                                  segment int, segment_group int, props jsonb, PRIMARY KEY (company_id, id));
SELECT create_distributed_table('public.citus_events', 'company_id', colocate_with => 'segext.companies') \g /dev/null
-- Citus refuses triggers on distributed tables unless told they are safe.
SET citus.enable_unsafe_triggers = on;
CREATE TRIGGER stamp BEFORE INSERT ON public.citus_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group', 'props');
RESET citus.enable_unsafe_triggers;

WITH r AS (INSERT INTO public.citus_events (company_id, href, props)
           VALUES (:'e', '/checkout', NULL), (:'e', '/home', NULL), (:'e', NULL, '{"href": "/checkout"}')
           RETURNING href, segment)
SELECT pg_catalog.string_agg(COALESCE(r.href, '-') || ':' || r.segment, ',' ORDER BY r.href) AS v1 FROM r \gset
SELECT is(:'v1'::text, '/checkout:2,/home:1,-:1', 'events are stamped on the shards');
-- (values are read into variables first: Citus runs a single-company query
-- whole on the worker, where pgTAP has no plan)
SELECT (SELECT count(*) FROM public.citus_events WHERE company_id = :'e' AND segment = 2) AS v3 \gset
SELECT is(:'v3'::int, 1, 'and stored');

-- A change of the segment is seen by the next insert (the compiled segments
-- on the worker are invalidated by the write on the shard of segments).
UPDATE segext.segments SET criteria = '[{"field": "href", "op": "eq", "value": "/home"}]'
 WHERE company_id = :'e' AND name = 'Checkout';
WITH r AS (INSERT INTO public.citus_events (company_id, href) VALUES (:'e', '/checkout'), (:'e', '/home')
           RETURNING href, segment)
SELECT pg_catalog.string_agg(r.href || ':' || r.segment, ',' ORDER BY r.href) AS v2 FROM r \gset
SELECT is(:'v2'::text, '/checkout:1,/home:2', 'a changed segment applies to the next insert');

SET segext.company_id = :'e';
SELECT is(segext.classify(:'e', '{"href": "/home"}'), 2, 'classify through the coordinator gives the same answer');
RESET segext.company_id;

-- An unknown company is refused as on one node; a null one by Citus first
-- (the distribution column), with its own SQLSTATE.
SELECT throws_ok(format($$INSERT INTO public.citus_events (company_id, href) VALUES (%L, '/home')$$, '0000000000000000000000ff'),
                 '23503', NULL, 'an event of an unknown company is refused');
SELECT throws_ok($$INSERT INTO public.citus_events (company_id, href) VALUES (NULL, '/home')$$,
                 '22004', 'cannot perform an INSERT with NULL in the partition column',
                 'an event without a company is refused');

DROP TABLE public.citus_events;
SELECT * FROM finish();
