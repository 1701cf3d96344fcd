-- 55: criteria that change with the calendar, not with data
-- (last_purchase_n_days_before, anniversary), re-checked on a schedule
-- (src/time_windows.c).  segext.recheck_time_windows re-evaluates only the
-- customers whose window edge was crossed since the company's last run,
-- found through indexes: the last counted sale of the customer states, and
-- the month and day of birth and registration.  The evaluator's "today" is
-- the date of the transaction's start in the session's time zone, and so is
-- the recheck's.

CREATE FUNCTION segext.customer_state_last_sale(figures pg_catalog.bytea) RETURNS pg_catalog.timestamptz
    AS 'MODULE_PATHNAME', 'segext_customer_state_last_sale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.customer_state_last_sale(pg_catalog.bytea) IS
'the latest sale time with a positive count in customer state figures, NULL when there is none';

ALTER TABLE segext.customer_states ADD COLUMN last_sale_at pg_catalog.timestamptz
    GENERATED ALWAYS AS (segext.customer_state_last_sale(figures)) STORED;
COMMENT ON COLUMN segext.customer_states.last_sale_at IS 'time of the latest counted sale (NULL: none), for finding the customers a last_purchase_n_days_before window has left';
CREATE INDEX customer_states_last_sale_idx ON segext.customer_states (company_id, last_sale_at) INCLUDE (customer_id);
COMMENT ON INDEX segext.customer_states_last_sale_idx IS 'customers of a company by their latest counted sale (index-only scans)';

CREATE FUNCTION segext.month_day(pg_catalog.date) RETURNS pg_catalog.int4
    AS 'MODULE_PATHNAME', 'segext_month_day' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.month_day(pg_catalog.date) IS
'month * 100 + day of a date (229 for 29 February), NULL for an infinite date';
CREATE FUNCTION segext.utc_month_day(pg_catalog.timestamptz) RETURNS pg_catalog.int4
    AS 'MODULE_PATHNAME', 'segext_utc_month_day' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.utc_month_day(pg_catalog.timestamptz) IS
'month * 100 + day of the date of a timestamptz in UTC (whatever the session''s time zone), NULL when infinite';

CREATE INDEX customers_birth_month_day_idx ON segext.customers (company_id, segext.month_day(birth_date))
    INCLUDE (id, birth_date);
COMMENT ON INDEX segext.customers_birth_month_day_idx IS 'customers of a company by the month and day of their birth date (birthday windows; index-only scans)';
CREATE INDEX customers_registered_month_day_idx ON segext.customers (company_id, segext.utc_month_day(registered_at))
    INCLUDE (id, registered_at);
COMMENT ON INDEX segext.customers_registered_month_day_idx IS 'customers of a company by the month and day of their registration in UTC (registration anniversary windows; index-only scans)';

CREATE TABLE segext.time_window_checks (
    company_id      segext.objectid NOT NULL REFERENCES segext.companies (id) ON DELETE CASCADE,
    checked_at      pg_catalog.timestamptz,
    customers       pg_catalog.int8 NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id)
);
COMMENT ON TABLE segext.time_window_checks IS 'the last successful segext.recheck_time_windows of each company; the row is locked while a recheck runs';
COMMENT ON COLUMN segext.time_window_checks.company_id IS 'the company re-checked';
COMMENT ON COLUMN segext.time_window_checks.checked_at IS 'start of the transaction of the last successful recheck: the next one covers the window edges crossed after it';
COMMENT ON COLUMN segext.time_window_checks.customers IS 'number of customers the last recheck re-evaluated';
SELECT pg_catalog.pg_extension_config_dump('segext.time_window_checks', '');

CREATE FUNCTION segext.time_window_candidates(company_id segext.objectid, from_at pg_catalog.timestamptz,
                                              to_at pg_catalog.timestamptz)
    RETURNS SETOF segext.objectid
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    company segext.objectid := time_window_candidates.company_id;
    purchase_days pg_catalog.int4[];
    birthday_days pg_catalog.int4[];
    registration_days pg_catalog.int4[];
    span pg_catalog.int4;
    window_days pg_catalog.int4;
    from_day pg_catalog.date;
    to_day pg_catalog.date;
    birthdays pg_catalog.int4[];
    registrations pg_catalog.int4[];
BEGIN
    IF company IS NULL OR to_at IS NULL THEN
        RETURN;
    END IF;
    -- the windows of the company's active segments (nothing else is read
    -- when there are none; an anniversary window of 366 days or more always
    -- holds every anniversary, so it never changes)
    SELECT pg_catalog.array_agg(DISTINCT k.days) FILTER (WHERE k.type OPERATOR(pg_catalog.=) 'last_purchase_n_days_before'),
           pg_catalog.array_agg(DISTINCT k.days) FILTER (WHERE k.type OPERATOR(pg_catalog.=) 'anniversary'
               AND k.kind OPERATOR(pg_catalog.=) 'birthday' AND k.days OPERATOR(pg_catalog.<) 366),
           pg_catalog.array_agg(DISTINCT k.days) FILTER (WHERE k.type OPERATOR(pg_catalog.=) 'anniversary'
               AND k.kind OPERATOR(pg_catalog.=) 'registration' AND k.days OPERATOR(pg_catalog.<) 366),
           pg_catalog.max(k.days) FILTER (WHERE k.type OPERATOR(pg_catalog.=) 'last_purchase_n_days_before'
               OR k.days OPERATOR(pg_catalog.<) 366)
      INTO purchase_days, birthday_days, registration_days, span
      FROM segext.segments AS s
      CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(segext.criteria_to_jsonb(s.criteria)) AS p(part)
      CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(p.part OPERATOR(pg_catalog.->) 'criteria') AS c(criterion)
      CROSS JOIN LATERAL (SELECT c.criterion OPERATOR(pg_catalog.->>) 'type',
                                 (c.criterion OPERATOR(pg_catalog.->>) 'days')::pg_catalog.int4,
                                 c.criterion OPERATOR(pg_catalog.->>) 'anniversaryType') AS k(type, days, kind)
     WHERE s.company_id OPERATOR(pg_catalog.=) company AND s.active AND s.criteria IS NOT NULL
       AND k.type OPERATOR(pg_catalog.=) ANY (ARRAY['last_purchase_n_days_before', 'anniversary']);
    IF span IS NULL THEN
        RETURN;
    END IF;
    -- a first run covers the span of the longest window
    IF from_at IS NULL THEN
        from_at := to_at OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => span OPERATOR(pg_catalog.+) 1);
    END IF;
    IF from_at OPERATOR(pg_catalog.>=) to_at THEN
        RETURN;
    END IF;

    -- last counted sale: the window start (midnight of today - days) passed
    -- it, or it was in the future (the evaluator skips sales after now)
    IF purchase_days IS NOT NULL THEN
        FOREACH window_days IN ARRAY purchase_days LOOP
            RETURN QUERY
                SELECT st.customer_id FROM segext.customer_states AS st
                 WHERE st.company_id OPERATOR(pg_catalog.=) company
                   AND st.last_sale_at OPERATOR(pg_catalog.>=)
                       (from_at::pg_catalog.date OPERATOR(pg_catalog.-) window_days)::pg_catalog.timestamptz
                   AND st.last_sale_at OPERATOR(pg_catalog.<)
                       (to_at::pg_catalog.date OPERATOR(pg_catalog.-) window_days)::pg_catalog.timestamptz;
        END LOOP;
        RETURN QUERY
            SELECT st.customer_id FROM segext.customer_states AS st
             WHERE st.company_id OPERATOR(pg_catalog.=) company
               AND st.last_sale_at OPERATOR(pg_catalog.>) from_at;
    END IF;

    -- anniversaries: one leaves the window [today, today + days) the day
    -- after it, one enters it when today + days - 1 reaches it; so the
    -- anniversaries in [from_day, to_day) and [from_day + days, to_day + days)
    -- are candidates.  A 29 February falls on 28 February in other years.
    from_day := from_at::pg_catalog.date;
    to_day := to_at::pg_catalog.date;
    IF to_day OPERATOR(pg_catalog.<=) from_day THEN
        RETURN;
    END IF;
    IF to_day OPERATOR(pg_catalog.-) from_day OPERATOR(pg_catalog.<) 366 THEN
        SELECT pg_catalog.array_agg(DISTINCT m.md) FILTER (WHERE n.kind OPERATOR(pg_catalog.=) 'birthday'),
               pg_catalog.array_agg(DISTINCT m.md) FILTER (WHERE n.kind OPERATOR(pg_catalog.=) 'registration')
          INTO birthdays, registrations
          FROM (SELECT 'birthday', pg_catalog.unnest(birthday_days)
                UNION ALL
                SELECT 'registration', pg_catalog.unnest(registration_days)) AS n(kind, days)
          CROSS JOIN LATERAL (VALUES (0), (n.days)) AS o(shift)
          CROSS JOIN LATERAL pg_catalog.generate_series(0, to_day OPERATOR(pg_catalog.-) from_day OPERATOR(pg_catalog.-) 1) AS i(i)
          CROSS JOIN LATERAL (SELECT from_day OPERATOR(pg_catalog.+) (i.i OPERATOR(pg_catalog.+) o.shift)) AS a(day)
          CROSS JOIN LATERAL (VALUES (segext.month_day(a.day)),
              (CASE WHEN segext.month_day(a.day) OPERATOR(pg_catalog.=) 228
                     AND segext.month_day(a.day OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.=) 301 THEN 229 END)) AS m(md)
         WHERE m.md IS NOT NULL;
        -- registrations are indexed by their UTC date, which is at most a day
        -- away from the session's: take the neighbouring days too
        SELECT pg_catalog.array_agg(DISTINCT x.md) INTO registrations
          FROM pg_catalog.unnest(registrations) AS m(md)
          CROSS JOIN LATERAL (VALUES (2000), (2001)) AS y(year)
          CROSS JOIN LATERAL (SELECT pg_catalog.make_date(y.year, m.md OPERATOR(pg_catalog./) 100, m.md OPERATOR(pg_catalog.%) 100)
                               WHERE NOT (m.md OPERATOR(pg_catalog.=) 229 AND y.year OPERATOR(pg_catalog.=) 2001)) AS d(day)
          CROSS JOIN LATERAL (VALUES (segext.month_day(d.day OPERATOR(pg_catalog.-) 1)), (m.md),
                                     (segext.month_day(d.day OPERATOR(pg_catalog.+) 1))) AS x(md);
        IF birthdays IS NOT NULL THEN
            RETURN QUERY
                SELECT c.id FROM segext.customers AS c
                 WHERE c.company_id OPERATOR(pg_catalog.=) company
                   AND segext.month_day(c.birth_date) OPERATOR(pg_catalog.=) ANY (birthdays);
        END IF;
        IF registrations IS NOT NULL THEN
            RETURN QUERY
                SELECT c.id FROM segext.customers AS c
                 WHERE c.company_id OPERATOR(pg_catalog.=) company
                   AND segext.utc_month_day(c.registered_at) OPERATOR(pg_catalog.=) ANY (registrations);
        END IF;
    ELSE
        -- a year or more: every anniversary passed an edge
        IF birthday_days IS NOT NULL THEN
            RETURN QUERY
                SELECT c.id FROM segext.customers AS c
                 WHERE c.company_id OPERATOR(pg_catalog.=) company
                   AND segext.month_day(c.birth_date) IS NOT NULL;
        END IF;
        IF registration_days IS NOT NULL THEN
            RETURN QUERY
                SELECT c.id FROM segext.customers AS c
                 WHERE c.company_id OPERATOR(pg_catalog.=) company
                   AND segext.utc_month_day(c.registered_at) IS NOT NULL;
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION segext.time_window_candidates(segext.objectid, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
'customers of a company whose last_purchase_n_days_before or anniversary window of an active segment may have changed between from_at (NULL: the span of the longest window before to_at) and to_at, in the session''s time zone, found through indexes; nothing is read when no active segment has such a criterion (row level security applies)';

CREATE FUNCTION segext.recheck_time_windows(company_id segext.objectid DEFAULT NULL) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_recheck_time_windows' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION segext.recheck_time_windows(segext.objectid) IS
're-evaluates the customers whose last_purchase_n_days_before or anniversary window edge was crossed since the company''s last recheck (NULL: the current company; a member of segext_admin with none: every company), one recheck per company at a time; returns the number of membership changes (for a schedule, e.g. pg_cron hourly)';

CREATE FUNCTION segext.refresh_all() RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    changed pg_catalog.int8 := 0;
BEGIN
    IF NOT pg_catalog.pg_has_role('segext_admin', 'member') THEN
        RAISE EXCEPTION 'permission denied to refresh every company'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Role "%s" is not a member of segext_admin.', CURRENT_USER),
                  HINT = 'Refresh the current company with segext.refresh_company(), or call segext.refresh_all() as a member of segext_admin.';
    END IF;
    FOR r IN SELECT c.id FROM segext.companies AS c ORDER BY c.id LOOP
        changed := changed OPERATOR(pg_catalog.+) segext.refresh_company(r.id);
    END LOOP;
    RETURN changed;
END
$$;
COMMENT ON FUNCTION segext.refresh_all() IS
'refreshes every company in turn (segext.refresh_company), for members of segext_admin; returns the total number of membership changes';
