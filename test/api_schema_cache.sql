-- PostgREST finds a view's primary key by following the view's target list
-- back to the base table's key (the :resorigtbl/:resorigcol of each column in
-- the view's _RETURN rule).  The "id" column of every writable API view must
-- be such a plain reference to its table's "id", so that PostgREST knows the
-- key (Location header, single-object requests) and the view is writable.
\set ECHO none
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segext;

SELECT plan(10);

SELECT ok((SELECT r.ev_action::text ~ (':resname id :ressortgroupref 0 :resorigtbl ' || t.oid::text
                                        || ' :resorigcol ' || a.attnum::text || ' ')
             FROM pg_catalog.pg_rewrite r, pg_catalog.pg_class t, pg_catalog.pg_attribute a
            WHERE r.ev_class = ('segext_api.' || v)::regclass AND r.rulename = '_RETURN'
              AND t.oid = ('segext.' || v)::regclass AND a.attrelid = t.oid AND a.attname = 'id'),
          'segext_api.' || v || '.id refers to segext.' || v || '.id, part of its primary key')
  FROM unnest(ARRAY['segments', 'segment_groups', 'channels', 'customers', 'transactions']) AS v;

SELECT ok(pg_catalog.pg_relation_is_updatable(('segext_api.' || v)::regclass, false) & 28 = 28,
          'segext_api.' || v || ' accepts INSERT, UPDATE and DELETE')
  FROM unnest(ARRAY['segments', 'segment_groups', 'channels', 'customers', 'transactions']) AS v;

SELECT * FROM finish();
ROLLBACK;
