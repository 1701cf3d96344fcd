-- 70: the public API schema segext_api, designed for PostgREST (v12+) and
-- equally usable from SQL.  Naming: snake_case columns, the same names as the
-- private tables (PostgreSQL's convention, and what PostgREST exposes as-is).
-- Every view shows the current company's rows only (segext.current_company_id()).
-- A writable view starts with the key of its table, (company_id, id), so
-- that PostgREST finds the view's primary key (it follows each view column
-- back to its table and keeps only keys whose every column is shown);
-- company_id defaults to the current company, so clients may leave it out.
-- Views are security_invoker, so row level security and privileges of the
-- caller apply.  segments, segment_groups, customers and transactions are
-- updatable by PostgreSQL itself WITH CASCADED CHECK OPTION: INSERT, UPDATE,
-- DELETE and INSERT ... ON CONFLICT (PostgREST's PUT and upsert) go to the
-- private tables, where the C rule triggers live, and the check option
-- refuses a row of another company.  So is channels: its segment_mix is a
-- column of segext.channels that the rules keep in step with the rows of
-- segext.channel_segments both ways (src/rules.c).

-- Segment criteria print as JSON in json_agg/to_json (what PostgREST builds
-- its bodies with): those functions use a type's cast to json when it has one.
CREATE FUNCTION segext.criteria_to_json(segext.criteria) RETURNS pg_catalog.json
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CAST(CAST($1 AS pg_catalog.text) AS pg_catalog.json);
COMMENT ON FUNCTION segext.criteria_to_json(segext.criteria) IS 'segment criteria as canonical JSON text (parts shape, stable key order)';
CREATE CAST (segext.criteria AS pg_catalog.json)
    WITH FUNCTION segext.criteria_to_json(segext.criteria);
COMMENT ON CAST (segext.criteria AS pg_catalog.json) IS 'segment criteria as canonical JSON, so that to_json, json_agg and PostgREST print them as JSON rather than a string';

-- Segments.
CREATE VIEW segext_api.segments WITH (security_invoker = true) AS
    SELECT s.company_id, s.id, s.number, s.name, s.ref, s.description, s.active, s.position,
           s.group_id, s.org_id, s.criteria,
           (SELECT COALESCE(pg_catalog.sum(m.delta), 0)::pg_catalog.int8 FROM segext.segment_member_counts AS m
             WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
               AND m.company_id OPERATOR(pg_catalog.=) segext.current_company_id()) AS customers_count, s.created_at, s.updated_at
      FROM segext.segments s
     WHERE s.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.segments ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.segments IS 'segments of the current company: 0 "All" and 1 "Default" are built in and read-only; list, get, create (201 with the generated id and number), update, upsert (PUT with company_id and id), delete';
COMMENT ON COLUMN segext_api.segments.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.segments.id IS 'ObjectId of the segment (generated when not given); never changes';
COMMENT ON COLUMN segext_api.segments.number IS 'segment number: 0 and 1 built in, user segments 2-65535, assigned when not given; unique per company';
COMMENT ON COLUMN segext_api.segments.name IS 'name, 1-100 characters, unique per company';
COMMENT ON COLUMN segext_api.segments.ref IS 'optional reference of the caller, at most 100 characters, unique per company when set';
COMMENT ON COLUMN segext_api.segments.description IS 'free text description';
COMMENT ON COLUMN segext_api.segments.active IS 'whether membership is maintained (Infinity status 200) or not (410)';
COMMENT ON COLUMN segext_api.segments.position IS 'detection order (Infinity segmentOrder), 0-65535; always 0 for built-ins';
COMMENT ON COLUMN segext_api.segments.group_id IS 'segment group (0 = "Ungrouped")';
COMMENT ON COLUMN segext_api.segments.org_id IS 'optional organisation id';
COMMENT ON COLUMN segext_api.segments.criteria IS 'condition as JSON, parts shape [{"criteria": [...]}] (a part matches when any of its criteria does; all parts must match) or flat [c1, c2] (all must match); printed canonically in the parts shape; null for a manual segment';
COMMENT ON COLUMN segext_api.segments.customers_count IS 'number of current members at the query''s snapshot (computed by segext; not writable)';
COMMENT ON COLUMN segext_api.segments.created_at IS 'creation time (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.segments.updated_at IS 'time of the last change (maintained by segext: a value written is ignored)';

-- Segment groups.
CREATE VIEW segext_api.segment_groups WITH (security_invoker = true) AS
    SELECT g.company_id, g.id, g.name, g.status, g.created_at, g.updated_at
      FROM segext.segment_groups g
     WHERE g.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.segment_groups ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.segment_groups IS 'segment groups of the current company: group 0 "Ungrouped" is built in; a group that still holds segments cannot be deleted (409)';
COMMENT ON COLUMN segext_api.segment_groups.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.segment_groups.id IS 'group number, unique per company (0 = "Ungrouped"), the next free one when not given; never changes';
COMMENT ON COLUMN segext_api.segment_groups.name IS 'name, 1-100 characters';
COMMENT ON COLUMN segext_api.segment_groups.status IS 'Infinity status: 200 active, 410 deleted';
COMMENT ON COLUMN segext_api.segment_groups.created_at IS 'creation time (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.segment_groups.updated_at IS 'time of the last change (maintained by segext: a value written is ignored)';

-- Channels, with their segment mix embedded and writable in the same request.
CREATE VIEW segext_api.channels WITH (security_invoker = true) AS
    SELECT c.company_id, c.id, c.name, c.commission, c.segment_mix, c.created_at, c.updated_at
      FROM segext.channels c
     WHERE c.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.channels ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.channels IS 'acquisition channels of the current company with their forecast segment mix; writing segment_mix replaces the mix, whose distributions must sum to 1 at commit; list, get, create, update, upsert (PUT with company_id and id), delete';
COMMENT ON COLUMN segext_api.channels.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.channels.id IS 'ObjectId of the channel (generated when not given); never changes';
COMMENT ON COLUMN segext_api.channels.name IS 'name, 1-100 characters, unique per company';
COMMENT ON COLUMN segext_api.channels.commission IS 'commission rate applied to revenue (0.2 = 20%), at least 0, may exceed 1; default 0';
COMMENT ON COLUMN segext_api.channels.segment_mix IS 'forecast segment mix: JSON array of {"segment_id", "distribution"}, read back ordered by segment_id; distributions > 0 summing to 1; 100% on the first user segment when not given; null in an update keeps the mix';
COMMENT ON COLUMN segext_api.channels.created_at IS 'creation time (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.channels.updated_at IS 'time of the last change (maintained by segext: a value written is ignored)';

-- Channel forecast and commission value.
CREATE FUNCTION segext_api.channel_forecast(channel_id segext.objectid, volume pg_catalog.numeric)
    RETURNS TABLE (segment_id segext.objectid, segment_number pg_catalog.int4,
                   segment_name pg_catalog.text, distribution pg_catalog.numeric,
                   expected_customers pg_catalog.numeric)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$
    SELECT m.segment_id, s.number, s.name, m.distribution, volume OPERATOR(pg_catalog.*) m.distribution
      FROM segext.channel_segments m
      JOIN segext.segments s
        ON s.company_id OPERATOR(pg_catalog.=) m.company_id AND s.id OPERATOR(pg_catalog.=) m.segment_id
     WHERE m.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
       AND m.channel_id OPERATOR(pg_catalog.=) channel_forecast.channel_id
     ORDER BY s.position, s.number
    $$;
COMMENT ON FUNCTION segext_api.channel_forecast(segext.objectid, pg_catalog.numeric) IS 'expected customers per segment when a channel brings volume customers: volume x distribution of its segment mix';

CREATE FUNCTION segext_api.commission_value(channel_id segext.objectid, revenue pg_catalog.numeric)
    RETURNS pg_catalog.numeric
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$
    SELECT revenue OPERATOR(pg_catalog.*) c.commission
      FROM segext.channels c
     WHERE c.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
       AND c.id OPERATOR(pg_catalog.=) commission_value.channel_id
    $$;
COMMENT ON FUNCTION segext_api.commission_value(segext.objectid, pg_catalog.numeric) IS 'commission owed on revenue brought by a channel: revenue x commission rate (NULL for an unknown channel)';
