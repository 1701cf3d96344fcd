-- DROP EXTENSION segext (or DROP SCHEMA segext CASCADE) is refused while
-- any company exists, unless segext.drop_with_data is on (drop_guard.c).
CREATE FUNCTION segext.refuse_drop_with_data() RETURNS pg_catalog.event_trigger
    AS 'MODULE_PATHNAME', 'segext_refuse_drop_with_data' LANGUAGE C;
COMMENT ON FUNCTION segext.refuse_drop_with_data() IS
'event trigger function: refuses DROP EXTENSION segext or DROP SCHEMA segext while companies exist, unless segext.drop_with_data is on';
CREATE EVENT TRIGGER segext_refuse_drop_with_data ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION segext.refuse_drop_with_data();
COMMENT ON EVENT TRIGGER segext_refuse_drop_with_data IS
'refuses to drop segext while companies exist (SET segext.drop_with_data = on to drop them with it)';
