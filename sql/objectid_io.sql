-- objectid text I/O
SELECT '507f1f77bcf86cd799439011'::segext.objectid;
SELECT '507F1F77BCF86CD799439011'::segext.objectid;
SELECT 'xyz'::segext.objectid;
