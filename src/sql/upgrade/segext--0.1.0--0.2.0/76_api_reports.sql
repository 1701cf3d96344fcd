-- 0.2.0 upgrade part (mirrors 76_api_reports.sql): report_channel_mix
-- compares every table's company_id with the current company and joins on
-- company_id, so that Citus runs it for one company on one shard group.

CREATE OR REPLACE VIEW segext_api.report_channel_mix WITH (security_invoker = true) AS
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
