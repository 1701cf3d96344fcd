-- The CREATE TRIGGER check of stamp_event triggers is a C function: its
-- refusals carry no CONTEXT of segext's own statements.
CREATE OR REPLACE FUNCTION segext.check_event_triggers_on_create() RETURNS pg_catalog.event_trigger
    AS 'MODULE_PATHNAME', 'segext_check_event_triggers_on_create' LANGUAGE C;
