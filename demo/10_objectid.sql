-- demo/10_objectid.sql: the objectid type.
\set ECHO queries
\echo '--- objectid: BSON ObjectIds, generated in creation order'
SELECT segext.objectid_generate() AS id, segext.objectid_timestamp(segext.objectid_generate()) AS created
FROM generate_series(1, 3);
SELECT '507F1F77BCF86CD799439011'::segext.objectid AS parsed_uppercase;
