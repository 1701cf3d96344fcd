-- 35: business rules of companies, segment groups, segments, channels and the
-- channel segment mix (C trigger functions in src/companies.c, src/segment_groups.c,
-- src/segments.c and src/channels.c), company creation,
-- segment reordering and the current company (src/tenancy.c).

-- Indexes the rules and foreign keys look up by.
CREATE INDEX segments_company_id_group_id_idx ON segext.segments (company_id, group_id);
COMMENT ON INDEX segext.segments_company_id_group_id_idx IS 'segments of a segment group (group delete check, foreign key)';
CREATE INDEX channel_segments_company_id_segment_id_idx ON segext.channel_segments (company_id, segment_id);
COMMENT ON INDEX segext.channel_segments_company_id_segment_id_idx IS 'channel mixes using a segment (segment delete check, foreign key)';

-- segment_groups.id and segments.number are assigned by the rules when not given.
COMMENT ON COLUMN segext.segment_groups.id IS 'group id per company: 0 is "Ungrouped" (built in), others 1-65535, next free id when not given';
COMMENT ON COLUMN segext.segment_groups.status IS '200 active, 410 deleted (Infinity status codes)';
COMMENT ON COLUMN segext.segments.number IS 'Infinity segment id: 0 "All" and 1 "Default" are built in, user segments 2-65535, next free number when not given';
COMMENT ON COLUMN segext.segments.position IS 'detection order (Infinity segmentOrder), 0-65535; built-ins always 0';
COMMENT ON COLUMN segext.segments.active IS 'Infinity status 200 (true) or 410 (false)';
COMMENT ON COLUMN segext.channels.commission IS 'rate applied to revenue, 0 or more (0.2 = 20%), may exceed 1';
COMMENT ON COLUMN segext.channels.segment_mix IS 'the channel''s rows of segext.channel_segments as canonical JSON, [{"segment_id", "distribution"}] ordered by segment_id, kept in step both ways: writing it replaces the rows';
COMMENT ON COLUMN segext.channel_segments.distribution IS 'forecast share of the channel''s customers, greater than 0 and at most 1';

-- The current company.
CREATE FUNCTION segext.current_company_id() RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_current_company_id' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION segext.current_company_id() IS 'current company: the company_id claim of a gateway session (request.jwt.claims or jwt.claims.company_id), else segext.company_id when the current role is granted it (any company for segext_admin), else the one company granted to the role, else NULL; NULL too when segext.company_id names an ungranted company or a claim is malformed, which a query on segext''s tables refuses when it starts (42501, 22P02)';

-- Trigger functions.
CREATE FUNCTION segext.companies_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_companies_rules' LANGUAGE C;
COMMENT ON FUNCTION segext.companies_rules() IS 'companies: creates the built-in segments and group of a new company, maintains updated_at';
CREATE FUNCTION segext.segments_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_segments_rules' LANGUAGE C;
COMMENT ON FUNCTION segext.segments_rules() IS 'segments: built-ins, max_segments, last segment, segment in a mix or named by in_segment criteria, number assignment, in_segment references (a segment of the same company, stored by id, never 1 "Default", no cycle), validation, updated_at';
CREATE FUNCTION segext.segment_groups_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_segment_groups_rules' LANGUAGE C;
COMMENT ON FUNCTION segext.segment_groups_rules() IS 'segment groups: built-in group 0, group still containing segments, id assignment, validation, updated_at';
CREATE FUNCTION segext.channels_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_channels_rules' LANGUAGE C;
COMMENT ON FUNCTION segext.channels_rules() IS 'channels: max_channels, last channel, commission of 0 or more, segment_mix shape and canonical form, validation, updated_at';
CREATE FUNCTION segext.channel_segments_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_channel_segments_rules' LANGUAGE C;
COMMENT ON FUNCTION segext.channel_segments_rules() IS 'channel segment mix rows: distribution greater than 0 and at most 1, never on segment 0';
CREATE FUNCTION segext.channel_mix_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_channel_mix_write' LANGUAGE C;
COMMENT ON FUNCTION segext.channel_mix_write() IS 'replaces a channel''s rows of segext.channel_segments by the segment_mix written to the channel';
CREATE FUNCTION segext.channel_mix_sync() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_channel_mix_sync' LANGUAGE C;
COMMENT ON FUNCTION segext.channel_mix_sync() IS 'sets channels.segment_mix of the channels whose rows of segext.channel_segments a statement changed';
CREATE FUNCTION segext.channel_mix_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_channel_mix_check' LANGUAGE C;
COMMENT ON FUNCTION segext.channel_mix_check() IS 'deferred check that a channel''s segment mix sums to exactly 1; gives a channel without a mix the default mix';

CREATE TRIGGER companies_rules BEFORE UPDATE ON segext.companies
    FOR EACH ROW EXECUTE FUNCTION segext.companies_rules();
COMMENT ON TRIGGER companies_rules ON segext.companies IS 'maintains updated_at';
CREATE TRIGGER companies_builtins AFTER INSERT ON segext.companies
    FOR EACH ROW EXECUTE FUNCTION segext.companies_rules();
COMMENT ON TRIGGER companies_builtins ON segext.companies IS 'creates segments 0 "All" and 1 "Default" and segment group 0 "Ungrouped"';
CREATE TRIGGER segments_rules BEFORE INSERT OR UPDATE OR DELETE ON segext.segments
    FOR EACH ROW EXECUTE FUNCTION segext.segments_rules();
COMMENT ON TRIGGER segments_rules ON segext.segments IS 'business rules of segments';
CREATE TRIGGER segment_groups_rules BEFORE INSERT OR UPDATE OR DELETE ON segext.segment_groups
    FOR EACH ROW EXECUTE FUNCTION segext.segment_groups_rules();
COMMENT ON TRIGGER segment_groups_rules ON segext.segment_groups IS 'business rules of segment groups';
CREATE TRIGGER channels_rules BEFORE INSERT OR UPDATE OR DELETE ON segext.channels
    FOR EACH ROW EXECUTE FUNCTION segext.channels_rules();
COMMENT ON TRIGGER channels_rules ON segext.channels IS 'business rules of channels';
CREATE TRIGGER channel_segments_rules BEFORE INSERT OR UPDATE ON segext.channel_segments
    FOR EACH ROW EXECUTE FUNCTION segext.channel_segments_rules();
COMMENT ON TRIGGER channel_segments_rules ON segext.channel_segments IS 'validates each row of a channel segment mix';
CREATE CONSTRAINT TRIGGER channel_segments_mix_sum AFTER INSERT OR UPDATE OR DELETE ON segext.channel_segments
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION segext.channel_mix_check();
COMMENT ON TRIGGER channel_segments_mix_sum ON segext.channel_segments IS 'at commit: the mix of every changed channel sums to exactly 1';
CREATE CONSTRAINT TRIGGER channels_default_mix AFTER INSERT ON segext.channels
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION segext.channel_mix_check();
COMMENT ON TRIGGER channels_default_mix ON segext.channels IS 'at commit: a new channel without a mix gets 100% on the first segment';
CREATE TRIGGER channels_mix_write AFTER INSERT OR UPDATE OF segment_mix ON segext.channels
    FOR EACH ROW EXECUTE FUNCTION segext.channel_mix_write();
COMMENT ON TRIGGER channels_mix_write ON segext.channels IS 'a segment_mix written to a channel replaces its rows of segext.channel_segments';
CREATE TRIGGER channel_segments_sync_insert AFTER INSERT ON segext.channel_segments
    REFERENCING NEW TABLE AS mix_new
    FOR EACH STATEMENT EXECUTE FUNCTION segext.channel_mix_sync();
COMMENT ON TRIGGER channel_segments_sync_insert ON segext.channel_segments IS 'mix rows inserted: the segment_mix of their channels follows';
CREATE TRIGGER channel_segments_sync_update AFTER UPDATE ON segext.channel_segments
    REFERENCING OLD TABLE AS mix_old NEW TABLE AS mix_new
    FOR EACH STATEMENT EXECUTE FUNCTION segext.channel_mix_sync();
COMMENT ON TRIGGER channel_segments_sync_update ON segext.channel_segments IS 'mix rows updated: the segment_mix of their channels follows';
CREATE TRIGGER channel_segments_sync_delete AFTER DELETE ON segext.channel_segments
    REFERENCING OLD TABLE AS mix_old
    FOR EACH STATEMENT EXECUTE FUNCTION segext.channel_mix_sync();
COMMENT ON TRIGGER channel_segments_sync_delete ON segext.channel_segments IS 'mix rows deleted: the segment_mix of their channels follows';

-- Company creation and segment order.
CREATE FUNCTION segext.create_company(name pg_catalog.text,
                                      max_segments pg_catalog.int4 DEFAULT 50,
                                      max_channels pg_catalog.int4 DEFAULT 50)
    RETURNS segext.objectid
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
        INSERT INTO segext.companies (name, max_segments, max_channels)
        VALUES ($1, $2, $3)
        RETURNING id
    $$;
COMMENT ON FUNCTION segext.create_company(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) IS 'creates a company with its built-in segments 0 "All", 1 "Default" and group 0 "Ungrouped"; returns its id';

CREATE FUNCTION segext.reorder_segments(company segext.objectid, numbers pg_catalog.int4[])
    RETURNS void
    AS 'MODULE_PATHNAME', 'segext_reorder_segments' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.reorder_segments(segext.objectid, pg_catalog.int4[]) IS 'sets the position of each listed user segment to its 0-based index in the array; unlisted segments keep theirs';
