-- bench/mixed_load/check.sql: the invariants of segext's tables after a
-- mixed load (test/scripts/mixed_load.sh).  Each query prints one line per
-- violation, prefixed with the name of the invariant; no output means they
-- all hold.  With :settled = 1 the load is over and every company was just
-- refreshed, so membership must also equal an evaluation now.
\set ON_ERROR_STOP on
SET search_path = public, segext;

-- every channel's mix sums to exactly 1, and its segment_mix column equals its rows
SELECT 'mix sum', c.company_id, c.id, COALESCE(sum(cs.distribution), 0)
FROM segext.channels c LEFT JOIN segext.channel_segments cs
  ON cs.company_id = c.company_id AND cs.channel_id = c.id
GROUP BY c.company_id, c.id HAVING COALESCE(sum(cs.distribution), 0) <> 1;
SELECT 'mix column', c.company_id, c.id
FROM segext.channels c
WHERE c.segment_mix <> (SELECT COALESCE(jsonb_agg(jsonb_build_object('segment_id', cs.segment_id,
                                  'distribution', cs.distribution) ORDER BY cs.segment_id), '[]')
                        FROM segext.channel_segments cs
                        WHERE cs.company_id = c.company_id AND cs.channel_id = c.id);

-- each segment's customers_count equals its member rows
SELECT 'customers_count', s.company_id, s.number, segext.segment_customers_count(s.company_id, s.id) AS customers_count, count(m.customer_id)
FROM segext.segments s LEFT JOIN segext.memberships m
  ON m.company_id = s.company_id AND m.segment_id = s.id
GROUP BY s.company_id, s.id HAVING segext.segment_customers_count(s.company_id, s.id) <> count(m.customer_id);

-- membership_history agrees with memberships: entered - left is 1 for a member, else 0
WITH h AS (
    SELECT company_id, segment_id, customer_id,
           count(*) FILTER (WHERE kind = 'entered') - count(*) FILTER (WHERE kind = 'left') AS balance
    FROM segext.membership_history GROUP BY 1, 2, 3)
SELECT 'history', COALESCE(h.company_id, m.company_id), COALESCE(h.segment_id, m.segment_id),
       COALESCE(h.customer_id, m.customer_id), h.balance, m.customer_id IS NOT NULL AS member
FROM h FULL JOIN segext.memberships m
  ON m.company_id = h.company_id AND m.segment_id = h.segment_id AND m.customer_id = h.customer_id
WHERE COALESCE(h.balance, 0) <> CASE WHEN m.customer_id IS NULL THEN 0 ELSE 1 END;

-- members belong to active segments only (deactivation removes them)
SELECT 'member of inactive segment', s.company_id, s.number, count(*)
FROM segext.segments s JOIN segext.memberships m ON m.company_id = s.company_id AND m.segment_id = s.id
WHERE NOT s.active GROUP BY s.company_id, s.number;

-- every company has its built-ins 0 "All" and 1 "Default", once each
SELECT 'built-ins', co.id, count(s.id) FILTER (WHERE s.number = 0), count(s.id) FILTER (WHERE s.number = 1)
FROM segext.companies co LEFT JOIN segext.segments s ON s.company_id = co.id
GROUP BY co.id
HAVING count(s.id) FILTER (WHERE s.number = 0) <> 1 OR count(s.id) FILTER (WHERE s.number = 1) <> 1;

\if :settled
-- no inactive customer is a member of any segment
SELECT 'inactive member', cu.company_id, cu.id, s.number
FROM segext.memberships m
JOIN segext.customers cu ON cu.company_id = m.company_id AND cu.id = m.customer_id
JOIN segext.segments s ON s.company_id = m.company_id AND s.id = m.segment_id
WHERE NOT cu.active;

-- segment 0 holds exactly the active customers
SELECT 'segment 0', cu.company_id, cu.id, cu.active, m.customer_id IS NOT NULL AS member
FROM segext.customers cu
JOIN segext.segments s ON s.company_id = cu.company_id AND s.number = 0
LEFT JOIN segext.memberships m ON m.company_id = cu.company_id AND m.segment_id = s.id AND m.customer_id = cu.id
WHERE cu.active <> (m.customer_id IS NOT NULL);

-- segment 1 holds exactly the active customers in no other active segment
SELECT 'segment 1', cu.company_id, cu.id
FROM segext.customers cu
JOIN segext.segments s ON s.company_id = cu.company_id AND s.number = 1
LEFT JOIN segext.memberships m ON m.company_id = cu.company_id AND m.segment_id = s.id AND m.customer_id = cu.id
WHERE (m.customer_id IS NOT NULL) <> (cu.active AND NOT EXISTS (
    SELECT FROM segext.memberships o JOIN segext.segments os ON os.company_id = o.company_id AND os.id = o.segment_id
    WHERE o.company_id = cu.company_id AND o.customer_id = cu.id AND os.number > 1 AND os.active));

-- materialized membership equals an evaluation now, for every active segment
SELECT 'membership differs from evaluation', s.company_id, s.number
FROM segext.segments s
WHERE s.active AND EXISTS (
    (SELECT e.customer_id FROM segext.segment_members(s.id) e
     EXCEPT SELECT m.customer_id FROM segext.memberships m WHERE m.company_id = s.company_id AND m.segment_id = s.id)
    UNION ALL
    (SELECT m.customer_id FROM segext.memberships m WHERE m.company_id = s.company_id AND m.segment_id = s.id
     EXCEPT SELECT e.customer_id FROM segext.segment_members(s.id) e));
\endif
