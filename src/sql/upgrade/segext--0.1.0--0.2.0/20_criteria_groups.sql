-- 20: criteria also take a tree of groups ({"all": [...]}, {"any": [...]},
-- {"not": ...}); the type's functions say so.

COMMENT ON FUNCTION segext.criteria_in(pg_catalog.cstring) IS 'criteria text input: JSON, parts shape, flat list or a tree of all/any/not groups';
COMMENT ON FUNCTION segext.criteria_out(segext.criteria) IS 'criteria text output: canonical JSON, in the parts shape or as a tree of groups';
COMMENT ON FUNCTION segext.criteria_recv(pg_catalog.internal) IS 'criteria binary input: version byte (1 parts, 2 tree of groups) and JSON text, validated like text input';
COMMENT ON FUNCTION segext.criteria_send(segext.criteria) IS 'criteria binary output: version byte (1 parts, 2 tree of groups) and canonical JSON text';
COMMENT ON CAST (segext.criteria AS pg_catalog.jsonb) IS 'segment criteria as canonical jsonb (parts shape or tree of groups)';
