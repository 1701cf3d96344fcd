-- 0.2.0 upgrade part (mirrors 50_membership.sql, 74_api_actions.sql and
-- 85_customers_rls.sql): what one company could learn of another, or do to
-- it, through NOTIFY, membership writes and ids another company also uses.

-- NOTIFY on segext_membership carries only the range of history ids written.
CREATE OR REPLACE FUNCTION segext.memberships_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
    first_id pg_catalog.int8;
    last_id pg_catalog.int8;
    kind pg_catalog.text := CASE TG_OP WHEN 'INSERT' THEN 'entered' ELSE 'left' END;
BEGIN
    WITH written AS (
        INSERT INTO segext.membership_history (company_id, segment_id, customer_id, kind)
        SELECT c.company_id, c.segment_id, c.customer_id, kind
        FROM changed AS c
        WHERE EXISTS (SELECT FROM segext.segments AS s
                      WHERE s.company_id OPERATOR(segext.=) c.company_id AND s.id OPERATOR(segext.=) c.segment_id)
        RETURNING id)
    SELECT pg_catalog.min(w.id), pg_catalog.max(w.id) INTO first_id, last_id FROM written AS w;
    FOR r IN
        SELECT c.company_id, c.segment_id, pg_catalog.count(*) AS n
        FROM changed AS c GROUP BY c.company_id, c.segment_id
    LOOP
        PERFORM segext.add_customers_count(r.company_id, r.segment_id,
                    CASE TG_OP WHEN 'INSERT' THEN r.n ELSE OPERATOR(pg_catalog.-) r.n END);
    END LOOP;
    -- Listeners may be anyone: the payload names no company, segment or
    -- customer, only the history rows to read through row level security.
    IF first_id IS NOT NULL THEN
        PERFORM pg_catalog.pg_notify('segext_membership', pg_catalog.json_build_object(
            'first_id', first_id, 'last_id', last_id)::pg_catalog.text);
    END IF;
    RETURN NULL;
END
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION segext.memberships_changed() IS 'trigger: keeps customers_count, records history and notifies segext_membership with the range of history ids a statement wrote';
