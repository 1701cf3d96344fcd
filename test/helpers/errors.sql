-- test/helpers/errors.sql: shared by the pgTAP files that check error reports (\ir).

-- rules_error runs a statement and returns its SQLSTATE, message, DETAIL and HINT.
CREATE FUNCTION public.rules_error(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
        det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN ARRAY[st, msg, det, hnt];
END $$;
