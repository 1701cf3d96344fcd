-- demo/50_events.sql: event stamping (Infinity triggers).
\set ECHO queries
\echo '--- events: each inserted event is stamped with its segment and the segment''s group'
SET search_path = public, segext, pg_catalog;

-- A company with its built-ins (segment 0 All, 1 Default, group 0 Ungrouped) and three
-- field segments in two groups.
INSERT INTO segext.companies (id, name) VALUES ('5e5e5e5e5e5e5e5e5e5e5e5e', 'Demo Shop');
INSERT INTO segext.segment_groups (company_id, id, name) VALUES
    ('5e5e5e5e5e5e5e5e5e5e5e5e', 1, 'Sales'), ('5e5e5e5e5e5e5e5e5e5e5e5e', 2, 'Content');
INSERT INTO segext.segments (company_id, number, name, position, group_id, criteria) VALUES
    ('5e5e5e5e5e5e5e5e5e5e5e5e', 400, 'Checkout', 0, 1,
     '[{"field":"href","op":"begins","value":"/checkout"}]'),
    ('5e5e5e5e5e5e5e5e5e5e5e5e', 401, 'Big spenders', 1, 1,
     '[{"field":"amount","op":"gte","value":100},{"field":"country","op":"in","value":["NZ","AU"]}]'),
    ('5e5e5e5e5e5e5e5e5e5e5e5e', 402, 'Blog readers', 2, 2,
     '[{"field":"href","op":"regex","value":"^/blog/[0-9]{4}/"}]');

-- The user's own events table; the trigger names the company, segment and group columns,
-- and a jsonb column whose keys are further fields.
CREATE TABLE demo_events (
    id            bigint GENERATED ALWAYS AS IDENTITY,
    company_id    segext.objectid NOT NULL,
    href          text,
    amount        numeric,
    props         jsonb,
    segment       int4,
    segment_group int4
);
CREATE TRIGGER stamp BEFORE INSERT ON demo_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group', 'props');

-- A stream of 1,000 sample events.
INSERT INTO demo_events (company_id, href, amount, props)
SELECT '5e5e5e5e5e5e5e5e5e5e5e5e',
       (ARRAY['/checkout/pay', '/blog/2026/hello', '/blog/draft', '/home', '/shop/item'])[i % 5 + 1],
       (i * 37) % 250,
       pg_catalog.jsonb_build_object('country', (ARRAY['NZ', 'AU', 'GB', 'US'])[i % 4 + 1])
  FROM generate_series(1, 1000) i;

\echo '--- distribution of the stream by segment and group'
SELECT e.segment, s.name AS segment_name, e.segment_group, count(*) AS events
  FROM demo_events e
  JOIN segext.segments s ON s.company_id OPERATOR(pg_catalog.=) e.company_id AND s.number = e.segment
 GROUP BY 1, 2, 3 ORDER BY 1;

\echo '--- moving a segment to another group affects new events only (the stamp is history)'
UPDATE segext.segments SET group_id = 2
 WHERE company_id = '5e5e5e5e5e5e5e5e5e5e5e5e' AND number = 400;
INSERT INTO demo_events (company_id, href) VALUES ('5e5e5e5e5e5e5e5e5e5e5e5e', '/checkout/pay');
SELECT segment_group, count(*) AS checkout_events FROM demo_events WHERE segment = 400 GROUP BY 1 ORDER BY 1;

\echo '--- classify(): the same decision for one event given as jsonb (SQL and HTTP callers)'
SELECT segext.classify('5e5e5e5e5e5e5e5e5e5e5e5e', '{"href": "/blog/2025/news"}') AS blog,
       segext.classify('5e5e5e5e5e5e5e5e5e5e5e5e', '{"amount": 120, "country": "AU"}') AS big_spender,
       segext.classify('5e5e5e5e5e5e5e5e5e5e5e5e', '{"href": "/about"}') AS fallback;

\echo '--- a trigger with wrong arguments is refused when it is created'
\set ON_ERROR_STOP 0
CREATE TRIGGER stamp_bad BEFORE INSERT ON demo_events FOR EACH ROW
    EXECUTE FUNCTION segext.stamp_event('company_id', 'segment_no', 'segment_group');
\set ON_ERROR_STOP 1
RESET search_path;
