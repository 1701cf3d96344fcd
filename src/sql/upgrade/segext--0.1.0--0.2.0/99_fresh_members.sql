-- 99: from 0.2.0 on, members are true without a refresh; a 0.1.0 database
-- holds the members of its last refresh.  Bring every company's members up
-- to date once, from the customer states (45) and the segments as they are
-- now.
SELECT segext.refresh_company(c.id) FROM segext.companies AS c ORDER BY c.id;
