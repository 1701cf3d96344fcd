-- The comparison operators of objectid and criteria move to pg_catalog, so
-- that a session finds them (and the planner uses the objectid indexes)
-- whatever its search_path; the later parts refer to them there.
ALTER OPERATOR segext.= (segext.objectid, segext.objectid) SET SCHEMA pg_catalog;
ALTER OPERATOR segext.<> (segext.objectid, segext.objectid) SET SCHEMA pg_catalog;
ALTER OPERATOR segext.< (segext.objectid, segext.objectid) SET SCHEMA pg_catalog;
ALTER OPERATOR segext.<= (segext.objectid, segext.objectid) SET SCHEMA pg_catalog;
ALTER OPERATOR segext.> (segext.objectid, segext.objectid) SET SCHEMA pg_catalog;
ALTER OPERATOR segext.>= (segext.objectid, segext.objectid) SET SCHEMA pg_catalog;
ALTER OPERATOR segext.= (segext.criteria, segext.criteria) SET SCHEMA pg_catalog;
ALTER OPERATOR segext.<> (segext.criteria, segext.criteria) SET SCHEMA pg_catalog;

-- The bodies of segext's functions name the operators with their schema:
-- each released function that names one is created again naming pg_catalog
-- (CREATE OR REPLACE keeps its owner, privileges and comment).
DO $$
DECLARE
    f pg_catalog.oid;
BEGIN
    FOR f IN
        SELECT p.oid
          FROM pg_catalog.pg_proc AS p
          JOIN pg_catalog.pg_depend AS d
            ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) p.oid
           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
           AND d.deptype OPERATOR(pg_catalog.=) 'e'
          JOIN pg_catalog.pg_extension AS e
            ON e.oid OPERATOR(pg_catalog.=) d.refobjid AND e.extname OPERATOR(pg_catalog.=) 'segext'
         WHERE p.prosrc OPERATOR(pg_catalog.~~) '%OPERATOR(segext.%'
    LOOP
        EXECUTE pg_catalog.replace(pg_catalog.pg_get_functiondef(f), 'OPERATOR(segext.', 'OPERATOR(pg_catalog.');
    END LOOP;
END
$$;
