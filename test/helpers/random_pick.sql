-- test/helpers/random_pick.sql: helpers of the randomized tests:
-- pg_temp.rnd(n) is a random integer in [0, n), pg_temp.pick(a) a random
-- element of a text array.  Seed with setseed() first for a repeatable run.
CREATE FUNCTION pg_temp.rnd(n pg_catalog.int4) RETURNS pg_catalog.int4 LANGUAGE sql AS
$$ SELECT pg_catalog.floor(pg_catalog.random() * n)::pg_catalog.int4 $$;
CREATE FUNCTION pg_temp.pick(a pg_catalog.text[]) RETURNS pg_catalog.text LANGUAGE sql AS
$$ SELECT a[1 + pg_temp.rnd(pg_catalog.cardinality(a))] $$;
