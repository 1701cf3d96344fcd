-- bench/tenancy_statement_loop.sql: per-statement cost of the tenancy check
-- on one node, in one backend: 20,000 single-segment reads of
-- segext_api.segments (each a statement that passes segext's executor-start
-- check) as the login bench_tenancy_writer of the database bench_tenancy that
-- bench/tenancy.sh makes; prints the microseconds per call.
--   psql -X -h <socket dir> -p <port> -U bench_tenancy_writer -d bench_tenancy -f bench/tenancy_statement_loop.sql
SET segext.company_id = 'bbbbbbbbbbbbbbbbbbbbbbbb';
DO $$ DECLARE t0 timestamptz; n int; BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..20000 LOOP
    SELECT count(*) INTO n FROM segext_api.segments WHERE number = 2;
  END LOOP;
  RAISE NOTICE 'us_per_call %', round(extract(epoch FROM clock_timestamp() - t0) * 1e6 / 20000, 2);
END $$;
