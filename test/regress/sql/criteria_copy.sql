-- Binary COPY round trip of a criteria column (server-side file in the
-- data directory), and binary input checks.
CREATE TABLE criteria_copy_src (id int, c segext.criteria);
INSERT INTO criteria_copy_src VALUES
    (1, '[{"type": "transaction_count", "min": 1, "max": 5}]'),
    (2, '[{"criteria": [{"field": "act", "op": "regex", "value": "^a\\d"}, {"type": "bought_skus", "skuIds": ["X", "y"]}]},
          {"criteria": [{"type": "purchase_period", "fromDate": "2024-01-01", "toDate": "2024-01-02T03:04:05.5+01:00"}]}]'),
    (3, '[{"type": "customer_list", "customers": ["507f1f77bcf86cd799439011"]}, {"field": "n", "op": "in", "value": [1, "é"]}]'),
    (4, NULL);
CREATE TABLE criteria_copy_dst (LIKE criteria_copy_src);
DO $$
DECLARE
    f text := pg_catalog.current_setting('data_directory') || '/criteria_copy.bin';
BEGIN
    EXECUTE pg_catalog.format('COPY criteria_copy_src TO %L WITH (FORMAT binary)', f);
    EXECUTE pg_catalog.format('COPY criteria_copy_dst FROM %L WITH (FORMAT binary)', f);
END $$;
SELECT s.id, d.c::text IS NOT DISTINCT FROM s.c::text AS same_text, d.c::text
FROM criteria_copy_src s JOIN criteria_copy_dst d USING (id) ORDER BY id;
SELECT count(*) AS equal_rows FROM criteria_copy_src s JOIN criteria_copy_dst d
    ON d.id = s.id AND d.c OPERATOR(pg_catalog.=) s.c;

-- The binary form is a version byte and the canonical text.
SELECT segext.criteria_send('[{"type": "transaction_count", "min": 1, "max": 5}]');
-- recv validates: a version byte other than 1 (parts) or 2 (a tree of
-- groups) is refused (22P03), as is a tree after byte 1, and the text
-- behind it is validated like text input.
CREATE TEMP TABLE criteria_copy_raw (c segext.criteria);
CREATE FUNCTION pg_temp.recv(b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
    f text := pg_catalog.current_setting('data_directory') || '/criteria_copy_raw.bin';
BEGIN
    -- A bytea column's binary COPY image carries the raw bytes, which COPY
    -- FROM hands to criteria_recv.
    EXECUTE pg_catalog.format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, f);
    TRUNCATE criteria_copy_raw;
    EXECUTE pg_catalog.format('COPY criteria_copy_raw FROM %L WITH (FORMAT binary)', f);
    SELECT c::text INTO r FROM criteria_copy_raw;
    RETURN r;
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.recv('\x01' || pg_catalog.convert_to('[{"field": "a", "op": "exists"}]', 'UTF8'));
SELECT pg_temp.recv('\x03' || pg_catalog.convert_to('[{"field": "a", "op": "exists"}]', 'UTF8'));
SELECT pg_temp.recv('\x02' || pg_catalog.convert_to('{"not": {"field": "a", "op": "exists"}}', 'UTF8'));
SELECT pg_temp.recv('\x01' || pg_catalog.convert_to('{"not": {"field": "a", "op": "exists"}}', 'UTF8'));
SELECT pg_temp.recv('\x01' || pg_catalog.convert_to('[{"field": "a", "op": "exists", "value": 1}]', 'UTF8'));
SELECT pg_temp.recv('\x01' || pg_catalog.convert_to('[{', 'UTF8'));
SELECT pg_temp.recv('\x');
DROP TABLE criteria_copy_src, criteria_copy_dst;
