-- test/helpers/describe_extension.sql: prints one line per fact of every
-- object the extension segext owns and of what hangs off them (columns,
-- constraints, indexes, triggers, policies, comments, privileges, pg_dump
-- configuration), by name and never by OID, sorted, so that two databases
-- can be compared with diff (a fresh install against an updated one).
\pset format unaligned
\pset tuples_only on
\pset footer off
WITH ext AS (
    SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'segext'
), member AS (
    SELECT d.classid, d.objid
    FROM pg_catalog.pg_depend AS d, ext
    WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
      AND d.refobjid = ext.oid AND d.deptype = 'e'
), rel AS (
    SELECT c.oid, c.oid::pg_catalog.regclass::pg_catalog.text AS name, c.relkind
    FROM pg_catalog.pg_class AS c JOIN member AS m
      ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND m.objid = c.oid
), fn AS (
    SELECT p.oid, p.oid::pg_catalog.regprocedure::pg_catalog.text AS name, p.prokind
    FROM pg_catalog.pg_proc AS p JOIN member AS m
      ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid = p.oid
)
SELECT line FROM (
    -- every member object, by its address
    SELECT 'member ' || a.type || ' ' || pg_catalog.array_to_string(a.object_names, '.')
           || COALESCE('(' || pg_catalog.array_to_string(a.object_args, ',') || ')', '') AS line
    FROM member AS m, pg_catalog.pg_identify_object_as_address(m.classid, m.objid, 0) AS a
    UNION ALL
    -- comments on members and on their sub-objects (columns, policies, triggers, constraints)
    SELECT 'comment ' || pg_catalog.pg_describe_object(dsc.classoid, dsc.objoid, dsc.objsubid) || ': ' || dsc.description
    FROM pg_catalog.pg_description AS dsc
    WHERE EXISTS (SELECT FROM member AS m WHERE m.classid = dsc.classoid AND m.objid = dsc.objoid)
       OR (dsc.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dsc.objoid IN (SELECT oid FROM rel))
       OR (dsc.classoid = 'pg_catalog.pg_policy'::pg_catalog.regclass
           AND dsc.objoid IN (SELECT oid FROM pg_catalog.pg_policy WHERE polrelid IN (SELECT oid FROM rel)))
       OR (dsc.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass
           AND dsc.objoid IN (SELECT oid FROM pg_catalog.pg_trigger WHERE tgrelid IN (SELECT oid FROM rel)))
       OR (dsc.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
           AND dsc.objoid IN (SELECT oid FROM pg_catalog.pg_constraint WHERE conrelid IN (SELECT oid FROM rel)))
       OR (dsc.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
           AND dsc.objoid IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('segext', 'segext_api')))
    UNION ALL
    -- relations: kind, options, row level security, privileges
    SELECT 'relation ' || r.name || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity
           || ' options=' || COALESCE(c.reloptions::pg_catalog.text, '') || ' acl=' || COALESCE(c.relacl::pg_catalog.text, '')
    FROM rel AS r JOIN pg_catalog.pg_class AS c ON c.oid = r.oid
    UNION ALL
    -- columns in order, with type, nullability, default and privileges
    -- (numbered by position among the live columns: a column an update dropped
    -- leaves a gap in attnum that no query sees)
    SELECT 'column ' || r.name || ' #' || pg_catalog.lpad((SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute AS p
                                                           WHERE p.attrelid = a.attrelid AND p.attnum > 0 AND NOT p.attisdropped
                                                             AND p.attnum <= a.attnum)::pg_catalog.text, 3, '0') || ' ' || a.attname || ' '
           || pg_catalog.format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || COALESCE(' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')
           || CASE WHEN a.attgenerated <> '' THEN ' generated ' || a.attgenerated::text ELSE '' END
           || COALESCE(' collation ' || NULLIF(a.attcollation, 0)::pg_catalog.regcollation::pg_catalog.text, '')
           || ' acl=' || COALESCE(a.attacl::pg_catalog.text, '')
    FROM rel AS r
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT 'constraint ' || r.name || ' ' || co.conname || ' ' || pg_catalog.pg_get_constraintdef(co.oid)
           || ' deferrable=' || co.condeferrable || '/' || co.condeferred
    FROM rel AS r JOIN pg_catalog.pg_constraint AS co ON co.conrelid = r.oid
    UNION ALL
    SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
    FROM rel AS r JOIN pg_catalog.pg_index AS i ON i.indrelid = r.oid
    UNION ALL
    SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
    FROM rel AS r JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT 'policy ' || r.name || ' ' || po.polname || ' cmd=' || po.polcmd::text || ' permissive=' || po.polpermissive
           || ' roles=' || pg_catalog.array_to_string(ARRAY(
                SELECT CASE WHEN x = 0 THEN 'public' ELSE x::pg_catalog.regrole::pg_catalog.text END
                FROM pg_catalog.unnest(po.polroles) AS x ORDER BY 1), ',')
           || ' using=' || COALESCE(pg_catalog.pg_get_expr(po.polqual, po.polrelid), '')
           || ' check=' || COALESCE(pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid), '')
    FROM rel AS r JOIN pg_catalog.pg_policy AS po ON po.polrelid = r.oid
    UNION ALL
    SELECT 'view ' || r.name || ' ' || pg_catalog.pg_get_viewdef(r.oid)
    FROM rel AS r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'sequence ' || r.name || ' ' || s.seqtypid::pg_catalog.regtype || ' ' || s.seqstart || ' ' || s.seqincrement
           || ' ' || s.seqmax || ' ' || s.seqmin || ' ' || s.seqcache || ' ' || s.seqcycle
    FROM rel AS r JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = r.oid
    UNION ALL
    -- functions: definition (language, volatility, strictness, parallel
    -- safety, security, settings, body), privileges, and aggregates' parts
    SELECT 'function ' || f.name || ' ' || CASE WHEN f.prokind = 'a'
               THEN 'aggregate' ELSE pg_catalog.pg_get_functiondef(f.oid) END
           || ' acl=' || COALESCE(p.proacl::pg_catalog.text, '')
    FROM fn AS f JOIN pg_catalog.pg_proc AS p ON p.oid = f.oid
    UNION ALL
    SELECT 'aggregate ' || f.name || ' ' || ag.aggtransfn::pg_catalog.text || ' ' || ag.aggfinalfn::pg_catalog.text
           || ' ' || ag.aggcombinefn::pg_catalog.text || ' ' || ag.aggserialfn::pg_catalog.text || ' '
           || ag.aggdeserialfn::pg_catalog.text || ' ' || ag.aggtranstype::pg_catalog.regtype || ' '
           || COALESCE(ag.agginitval, '') || ' acl=' || COALESCE(p.proacl::pg_catalog.text, '')
    FROM fn AS f JOIN pg_catalog.pg_aggregate AS ag ON ag.aggfnoid = f.oid
    JOIN pg_catalog.pg_proc AS p ON p.oid = f.oid
    UNION ALL
    -- types: storage and I/O functions, composite attributes, privileges
    SELECT 'type ' || t.oid::pg_catalog.regtype || ' ' || t.typtype::text || ' len=' || t.typlen || ' align=' || t.typalign::text
           || ' storage=' || t.typstorage::text || ' in=' || t.typinput::pg_catalog.text || ' out=' || t.typoutput::pg_catalog.text
           || ' recv=' || t.typreceive::pg_catalog.text || ' send=' || t.typsend::pg_catalog.text
           || ' analyze=' || t.typanalyze::pg_catalog.text || ' category=' || t.typcategory::text
           || ' acl=' || COALESCE(t.typacl::pg_catalog.text, '')
    FROM member AS m JOIN pg_catalog.pg_type AS t
      ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND m.objid = t.oid
    UNION ALL
    SELECT 'operator ' || o.oid::pg_catalog.regoperator || ' fn=' || o.oprcode::pg_catalog.text
           || ' com=' || o.oprcom::pg_catalog.regoperator || ' neg=' || o.oprnegate::pg_catalog.regoperator
           || ' rest=' || o.oprrest::pg_catalog.text || ' join=' || o.oprjoin::pg_catalog.text
           || ' merges=' || o.oprcanmerge || ' hashes=' || o.oprcanhash
    FROM member AS m JOIN pg_catalog.pg_operator AS o
      ON m.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND m.objid = o.oid
    UNION ALL
    SELECT 'opfamily-member ' || pg_catalog.pg_describe_object('pg_catalog.pg_amop'::pg_catalog.regclass, ao.oid, 0)
    FROM member AS m JOIN pg_catalog.pg_amop AS ao
      ON m.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND ao.amopfamily = m.objid
    UNION ALL
    SELECT 'opfamily-member ' || pg_catalog.pg_describe_object('pg_catalog.pg_amproc'::pg_catalog.regclass, ap.oid, 0)
    FROM member AS m JOIN pg_catalog.pg_amproc AS ap
      ON m.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND ap.amprocfamily = m.objid
    UNION ALL
    SELECT 'opclass ' || oc.opcname || ' default=' || oc.opcdefault || ' type=' || oc.opcintype::pg_catalog.regtype
    FROM member AS m JOIN pg_catalog.pg_opclass AS oc
      ON m.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND m.objid = oc.oid
    UNION ALL
    SELECT 'cast ' || ca.castsource::pg_catalog.regtype || ' -> ' || ca.casttarget::pg_catalog.regtype
           || ' fn=' || ca.castfunc::pg_catalog.regprocedure::pg_catalog.text || ' context=' || ca.castcontext::text || ' method=' || ca.castmethod::text
    FROM member AS m JOIN pg_catalog.pg_cast AS ca
      ON m.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass AND m.objid = ca.oid
    UNION ALL
    SELECT 'schema ' || n.nspname || ' owner-is-superuser=' || (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = n.nspowner)
           || ' acl=' || COALESCE(n.nspacl::pg_catalog.text, '')
    FROM pg_catalog.pg_namespace AS n WHERE n.nspname IN ('segext', 'segext_api')
    UNION ALL
    -- what pg_dump dumps of the extension's tables
    SELECT 'config-dump ' || u.tbl::pg_catalog.regclass || ' ' || COALESCE(u.cond, '')
    FROM pg_catalog.pg_extension AS e, ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS u(tbl, cond)
    WHERE e.extname = 'segext'
    UNION ALL
    SELECT 'extension ' || e.extname || ' ' || e.extversion || ' schema=' || e.extnamespace::pg_catalog.regnamespace
           || ' relocatable=' || e.extrelocatable
    FROM pg_catalog.pg_extension AS e WHERE e.extname = 'segext'
) AS facts
ORDER BY line COLLATE "C";
