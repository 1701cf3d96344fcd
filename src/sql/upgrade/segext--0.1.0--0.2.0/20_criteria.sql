-- 20: segext.criteria input is stricter in 0.2.0 (purchase_period bounds in
-- years 1-9999 UTC, regex limits, no U+001F in bought_labels, nesting). A
-- stored value that 0.2.0 input refuses would make a dump of the segments
-- table fail to restore, so the update stops and names such segments first.
DO $$
DECLARE
    seg record;
    bad text := '';
BEGIN
    FOR seg IN SELECT s.company_id, s.number, s.name, s.criteria::pg_catalog.text AS criteria
               FROM segext.segments s WHERE s.criteria IS NOT NULL
               ORDER BY s.company_id, s.number
    LOOP
        BEGIN
            PERFORM seg.criteria::segext.criteria;
        EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
            bad := bad OPERATOR(pg_catalog.||) pg_catalog.format(E'\n  company %s, segment %s "%s": %s',
                                                                 seg.company_id, seg.number, seg.name, SQLERRM);
        END;
    END LOOP;
    IF bad OPERATOR(pg_catalog.<>) '' THEN
        RAISE EXCEPTION 'stored segment criteria that segext 0.2.0 does not accept'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'These segments would not restore from a dump:' OPERATOR(pg_catalog.||) bad,
                  HINT = 'Give these segments criteria that input accepts (see README, Criteria), or none, then update again.';
    END IF;
END $$;
