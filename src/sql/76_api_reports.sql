-- 76: reporting views for BI tools (segext_reader over libpq, or PostgREST):
-- current segment sizes and each channel's forecast mix; segment sizes over
-- time and membership history, read from segext.membership_history; and each
-- channel's forecast segment mix against the actual mix of the customers it
-- brought.  Security invoker, current company only, like every segext_api
-- view.

-- Current segment sizes and each channel's forecast mix.
CREATE VIEW segext_api.report_segment_sizes WITH (security_invoker = true) AS
    SELECT s.id AS segment_id, s.number AS segment_number, s.name AS segment_name,
           s.active, g.id AS group_id, g.name AS group_name,
           (SELECT COALESCE(pg_catalog.sum(m.delta), 0)::pg_catalog.int8 FROM segext.segment_member_counts AS m
             WHERE m.company_id OPERATOR(pg_catalog.=) s.company_id AND m.segment_id OPERATOR(pg_catalog.=) s.id
               AND m.company_id OPERATOR(pg_catalog.=) segext.current_company_id()) AS customers_count,
           pg_catalog.now() AS measured_at
      FROM segext.segments s
      JOIN segext.segment_groups g
        ON g.company_id OPERATOR(pg_catalog.=) s.company_id AND g.id OPERATOR(pg_catalog.=) s.group_id
     WHERE s.company_id OPERATOR(pg_catalog.=) segext.current_company_id();
COMMENT ON VIEW segext_api.report_segment_sizes IS 'reporting: current size of every segment of the current company, with its group';
COMMENT ON COLUMN segext_api.report_segment_sizes.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_segment_sizes.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_segment_sizes.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_segment_sizes.active IS 'whether the segment is active';
COMMENT ON COLUMN segext_api.report_segment_sizes.group_id IS 'segment group number';
COMMENT ON COLUMN segext_api.report_segment_sizes.group_name IS 'segment group name';
COMMENT ON COLUMN segext_api.report_segment_sizes.customers_count IS 'number of current members at the query''s snapshot';
COMMENT ON COLUMN segext_api.report_segment_sizes.measured_at IS 'time of the reading (start of the transaction)';

CREATE VIEW segext_api.report_channel_forecast WITH (security_invoker = true) AS
    SELECT c.id AS channel_id, c.name AS channel_name, c.commission,
           s.id AS segment_id, s.number AS segment_number, s.name AS segment_name,
           m.distribution
      FROM segext.channels c
      JOIN segext.channel_segments m
        ON m.company_id OPERATOR(pg_catalog.=) c.company_id AND m.channel_id OPERATOR(pg_catalog.=) c.id
      JOIN segext.segments s
        ON s.company_id OPERATOR(pg_catalog.=) m.company_id AND s.id OPERATOR(pg_catalog.=) m.segment_id
     WHERE c.company_id OPERATOR(pg_catalog.=) segext.current_company_id();
COMMENT ON VIEW segext_api.report_channel_forecast IS 'reporting: forecast segment mix of every channel of the current company, one row per channel and segment';
COMMENT ON COLUMN segext_api.report_channel_forecast.channel_id IS 'ObjectId of the channel';
COMMENT ON COLUMN segext_api.report_channel_forecast.channel_name IS 'channel name';
COMMENT ON COLUMN segext_api.report_channel_forecast.commission IS 'commission rate of the channel';
COMMENT ON COLUMN segext_api.report_channel_forecast.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_channel_forecast.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_channel_forecast.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_channel_forecast.distribution IS 'forecast share of the channel''s customers in the segment';

-- Days are calendar days in the session's time zone.  size is the running sum
-- of entered - exited: membership only changes through segext.memberships,
-- whose triggers record every change, so it equals the segment's size at the
-- end of that day.
CREATE VIEW segext_api.report_segment_size_history WITH (security_invoker = true) AS
    SELECT d.segment_id, s.number AS segment_number, s.name AS segment_name, d.day,
           d.entered, d.exited, d.entered OPERATOR(pg_catalog.-) d.exited AS net,
           pg_catalog.sum(d.entered OPERATOR(pg_catalog.-) d.exited)
               OVER (PARTITION BY d.segment_id ORDER BY d.day)::pg_catalog.int8 AS size
      FROM (SELECT h.segment_id, CAST(h.at AS pg_catalog.date) AS day,
                   pg_catalog.count(*) FILTER (WHERE h.kind OPERATOR(pg_catalog.=) 'entered') AS entered,
                   pg_catalog.count(*) FILTER (WHERE h.kind OPERATOR(pg_catalog.=) 'left') AS exited
              FROM segext.membership_history h
             WHERE h.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
             GROUP BY h.segment_id, CAST(h.at AS pg_catalog.date)) d
      JOIN segext.segments s
        ON s.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
       AND s.id OPERATOR(pg_catalog.=) d.segment_id;
COMMENT ON VIEW segext_api.report_segment_size_history IS 'reporting: per segment of the current company and per day with changes, the members that entered and left and the size at the end of the day';
COMMENT ON COLUMN segext_api.report_segment_size_history.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_segment_size_history.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_segment_size_history.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_segment_size_history.day IS 'calendar day in the session time zone';
COMMENT ON COLUMN segext_api.report_segment_size_history.entered IS 'customers that entered the segment that day';
COMMENT ON COLUMN segext_api.report_segment_size_history.exited IS 'customers that left the segment that day';
COMMENT ON COLUMN segext_api.report_segment_size_history.net IS 'entered minus exited';
COMMENT ON COLUMN segext_api.report_segment_size_history.size IS 'number of members at the end of the day';

CREATE VIEW segext_api.report_membership_history WITH (security_invoker = true) AS
    SELECT h.id, h.segment_id, s.number AS segment_number, s.name AS segment_name,
           h.customer_id, c.external_id, h.kind, h.at
      FROM segext.membership_history h
      JOIN segext.segments s
        ON s.company_id OPERATOR(pg_catalog.=) h.company_id AND s.id OPERATOR(pg_catalog.=) h.segment_id
      LEFT JOIN segext.customers c
        ON c.company_id OPERATOR(pg_catalog.=) h.company_id AND c.id OPERATOR(pg_catalog.=) h.customer_id
     WHERE h.company_id OPERATOR(pg_catalog.=) segext.current_company_id();
COMMENT ON VIEW segext_api.report_membership_history IS 'reporting: every time a customer of the current company entered or left a segment';
COMMENT ON COLUMN segext_api.report_membership_history.id IS 'history row number, increasing with time';
COMMENT ON COLUMN segext_api.report_membership_history.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_membership_history.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_membership_history.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_membership_history.customer_id IS 'ObjectId of the customer';
COMMENT ON COLUMN segext_api.report_membership_history.external_id IS 'the customer''s external id (null once the customer is deleted)';
COMMENT ON COLUMN segext_api.report_membership_history.kind IS '"entered" or "left"';
COMMENT ON COLUMN segext_api.report_membership_history.at IS 'time of the change';

-- Forecast against actual: for each channel and each segment that is in its
-- forecast mix or holds some of its customers, the forecast share and the
-- actual share of the channel's active customers that are members now.  A
-- customer can be in several segments (and every active one is in 0 "All"),
-- so actual shares of a channel need not sum to 1.
CREATE VIEW segext_api.report_channel_mix WITH (security_invoker = true) AS
    WITH channel_customers AS (
        SELECT c.company_id, c.channel_id, pg_catalog.count(*) AS customers
          FROM segext.customers c
         WHERE c.company_id OPERATOR(pg_catalog.=) segext.current_company_id() AND c.active AND c.channel_id IS NOT NULL
         GROUP BY c.company_id, c.channel_id
    ), actual AS (
        SELECT m.company_id, c.channel_id, m.segment_id, pg_catalog.count(*) AS members
          FROM segext.memberships m
          JOIN segext.customers c
            ON c.company_id OPERATOR(pg_catalog.=) m.company_id AND c.id OPERATOR(pg_catalog.=) m.customer_id
         WHERE m.company_id OPERATOR(pg_catalog.=) segext.current_company_id() AND c.active AND c.channel_id IS NOT NULL
         GROUP BY m.company_id, c.channel_id, m.segment_id
    ), forecast AS (
        SELECT f.company_id, f.channel_id, f.segment_id, f.distribution
          FROM segext.channel_segments f
         WHERE f.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
    )
    SELECT ch.id AS channel_id, ch.name AS channel_name, s.id AS segment_id,
           s.number AS segment_number, s.name AS segment_name,
           COALESCE(f.distribution, 0) AS forecast_distribution,
           COALESCE(cc.customers, 0) AS channel_customers,
           COALESCE(cc.customers, 0) OPERATOR(pg_catalog.*) COALESCE(f.distribution, 0) AS expected_customers,
           COALESCE(a.members, 0) AS actual_customers,
           CASE WHEN COALESCE(cc.customers, 0) OPERATOR(pg_catalog.=) 0 THEN NULL
                ELSE pg_catalog.round(COALESCE(a.members, 0)::pg_catalog.numeric
                                      OPERATOR(pg_catalog./) cc.customers, 4) END AS actual_distribution
      FROM forecast f
      FULL JOIN actual a
        ON a.company_id OPERATOR(pg_catalog.=) f.company_id
       AND a.channel_id OPERATOR(pg_catalog.=) f.channel_id AND a.segment_id OPERATOR(pg_catalog.=) f.segment_id
      JOIN segext.channels ch
        ON ch.company_id OPERATOR(pg_catalog.=) COALESCE(f.company_id, a.company_id)
       AND ch.id OPERATOR(pg_catalog.=) COALESCE(f.channel_id, a.channel_id)
      JOIN segext.segments s
        ON s.company_id OPERATOR(pg_catalog.=) ch.company_id
       AND s.id OPERATOR(pg_catalog.=) COALESCE(f.segment_id, a.segment_id)
      LEFT JOIN channel_customers cc
        ON cc.company_id OPERATOR(pg_catalog.=) ch.company_id AND cc.channel_id OPERATOR(pg_catalog.=) ch.id
     WHERE ch.company_id OPERATOR(pg_catalog.=) segext.current_company_id()
       AND s.company_id OPERATOR(pg_catalog.=) segext.current_company_id();
COMMENT ON VIEW segext_api.report_channel_mix IS 'reporting: each channel''s forecast segment mix against the actual segments of the active customers it brought (customers.channel_id), one row per channel and segment in the forecast or holding its customers';
COMMENT ON COLUMN segext_api.report_channel_mix.channel_id IS 'ObjectId of the channel';
COMMENT ON COLUMN segext_api.report_channel_mix.channel_name IS 'channel name';
COMMENT ON COLUMN segext_api.report_channel_mix.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_channel_mix.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_channel_mix.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_channel_mix.forecast_distribution IS 'forecast share of the channel''s customers in the segment (0 when not in the mix)';
COMMENT ON COLUMN segext_api.report_channel_mix.channel_customers IS 'active customers acquired through the channel';
COMMENT ON COLUMN segext_api.report_channel_mix.expected_customers IS 'channel_customers x forecast_distribution';
COMMENT ON COLUMN segext_api.report_channel_mix.actual_customers IS 'active customers of the channel that are members of the segment now';
COMMENT ON COLUMN segext_api.report_channel_mix.actual_distribution IS 'actual_customers / channel_customers, 4 decimals (null when the channel has no active customers)';
