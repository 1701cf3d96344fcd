-- segext install script, assembled by the Makefile from src/sql/NN_*.sql.
-- 00: guard and schemas.

\echo Use "CREATE EXTENSION segext" to load this file. \quit

-- Schema segext (private: tables and internal functions) is created by
-- CREATE EXTENSION from the control file; segext_api is the public API.
COMMENT ON SCHEMA segext IS 'segext private schema: tables, types and internal functions';

CREATE SCHEMA segext_api;
COMMENT ON SCHEMA segext_api IS 'segext public API: views and functions for SQL, PostgREST and BI tools';
-- 10: the segext.objectid type (src/objectid.c).

CREATE TYPE segext.objectid;

CREATE FUNCTION segext.objectid_in(pg_catalog.cstring) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'objectid_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_in(pg_catalog.cstring) IS 'objectid text input: 24 hexadecimal digits';
CREATE FUNCTION segext.objectid_out(segext.objectid) RETURNS pg_catalog.cstring
    AS 'MODULE_PATHNAME', 'objectid_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_out(segext.objectid) IS 'objectid text output: 24 lowercase hexadecimal digits';
CREATE FUNCTION segext.objectid_recv(pg_catalog.internal) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'objectid_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_recv(pg_catalog.internal) IS 'objectid binary input: exactly 12 bytes';
CREATE FUNCTION segext.objectid_send(segext.objectid) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'objectid_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_send(segext.objectid) IS 'objectid binary output: 12 bytes';

CREATE TYPE segext.objectid (
    INTERNALLENGTH = 12,
    INPUT = segext.objectid_in,
    OUTPUT = segext.objectid_out,
    RECEIVE = segext.objectid_recv,
    SEND = segext.objectid_send,
    ALIGNMENT = char,
    STORAGE = plain
);
COMMENT ON TYPE segext.objectid IS '12-byte BSON ObjectId: creation second, per-process random bytes, counter';

-- Casts to and from text and bytea.
CREATE FUNCTION segext.objectid_to_text(segext.objectid) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'objectid_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_to_text(segext.objectid) IS 'cast objectid to text';
CREATE FUNCTION segext.text_to_objectid(pg_catalog.text) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'text_to_objectid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.text_to_objectid(pg_catalog.text) IS 'cast text (24 hexadecimal digits) to objectid';
CREATE FUNCTION segext.objectid_to_bytea(segext.objectid) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'objectid_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_to_bytea(segext.objectid) IS 'cast objectid to its 12 bytes';
CREATE FUNCTION segext.bytea_to_objectid(pg_catalog.bytea) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'bytea_to_objectid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.bytea_to_objectid(pg_catalog.bytea) IS 'cast exactly 12 bytes to objectid';

CREATE CAST (segext.objectid AS pg_catalog.text)
    WITH FUNCTION segext.objectid_to_text(segext.objectid) AS ASSIGNMENT;
COMMENT ON CAST (segext.objectid AS pg_catalog.text) IS 'objectid as 24 lowercase hexadecimal digits';
CREATE CAST (pg_catalog.text AS segext.objectid)
    WITH FUNCTION segext.text_to_objectid(pg_catalog.text) AS ASSIGNMENT;
COMMENT ON CAST (pg_catalog.text AS segext.objectid) IS 'text of 24 hexadecimal digits as objectid';
CREATE CAST (segext.objectid AS pg_catalog.bytea)
    WITH FUNCTION segext.objectid_to_bytea(segext.objectid);
COMMENT ON CAST (segext.objectid AS pg_catalog.bytea) IS 'objectid as its 12 bytes';
CREATE CAST (pg_catalog.bytea AS segext.objectid)
    WITH FUNCTION segext.bytea_to_objectid(pg_catalog.bytea);
COMMENT ON CAST (pg_catalog.bytea AS segext.objectid) IS 'exactly 12 bytes as objectid';

-- Comparison.
CREATE FUNCTION segext.objectid_eq(segext.objectid, segext.objectid) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'objectid_eq' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_eq(segext.objectid, segext.objectid) IS 'objectid equal';
CREATE FUNCTION segext.objectid_ne(segext.objectid, segext.objectid) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'objectid_ne' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_ne(segext.objectid, segext.objectid) IS 'objectid not equal';
CREATE FUNCTION segext.objectid_lt(segext.objectid, segext.objectid) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'objectid_lt' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_lt(segext.objectid, segext.objectid) IS 'objectid less than';
CREATE FUNCTION segext.objectid_le(segext.objectid, segext.objectid) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'objectid_le' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_le(segext.objectid, segext.objectid) IS 'objectid less than or equal';
CREATE FUNCTION segext.objectid_gt(segext.objectid, segext.objectid) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'objectid_gt' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_gt(segext.objectid, segext.objectid) IS 'objectid greater than';
CREATE FUNCTION segext.objectid_ge(segext.objectid, segext.objectid) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'objectid_ge' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_ge(segext.objectid, segext.objectid) IS 'objectid greater than or equal';
CREATE FUNCTION segext.objectid_cmp(segext.objectid, segext.objectid) RETURNS pg_catalog.int4
    AS 'MODULE_PATHNAME', 'objectid_cmp' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_cmp(segext.objectid, segext.objectid) IS 'objectid btree comparison: -1, 0 or 1';
CREATE FUNCTION segext.objectid_sortsupport(pg_catalog.internal) RETURNS pg_catalog.void
    AS 'MODULE_PATHNAME', 'objectid_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_sortsupport(pg_catalog.internal) IS 'objectid sort support with abbreviated keys';
CREATE FUNCTION segext.objectid_hash(segext.objectid) RETURNS pg_catalog.int4
    AS 'MODULE_PATHNAME', 'objectid_hash' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_hash(segext.objectid) IS 'objectid hash';
CREATE FUNCTION segext.objectid_hash_extended(segext.objectid, pg_catalog.int8) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'objectid_hash_extended' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_hash_extended(segext.objectid, pg_catalog.int8) IS 'objectid seeded 64-bit hash';

CREATE OPERATOR segext.= (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_eq,
    COMMUTATOR = OPERATOR(segext.=), NEGATOR = OPERATOR(segext.<>),
    RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel, HASHES, MERGES
);
COMMENT ON OPERATOR segext.= (segext.objectid, segext.objectid) IS 'equal';
CREATE OPERATOR segext.<> (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_ne,
    COMMUTATOR = OPERATOR(segext.<>), NEGATOR = OPERATOR(segext.=),
    RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
COMMENT ON OPERATOR segext.<> (segext.objectid, segext.objectid) IS 'not equal';
CREATE OPERATOR segext.< (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_lt,
    COMMUTATOR = OPERATOR(segext.>), NEGATOR = OPERATOR(segext.>=),
    RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);
COMMENT ON OPERATOR segext.< (segext.objectid, segext.objectid) IS 'less than (created earlier)';
CREATE OPERATOR segext.<= (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_le,
    COMMUTATOR = OPERATOR(segext.>=), NEGATOR = OPERATOR(segext.>),
    RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);
COMMENT ON OPERATOR segext.<= (segext.objectid, segext.objectid) IS 'less than or equal';
CREATE OPERATOR segext.> (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_gt,
    COMMUTATOR = OPERATOR(segext.<), NEGATOR = OPERATOR(segext.<=),
    RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);
COMMENT ON OPERATOR segext.> (segext.objectid, segext.objectid) IS 'greater than (created later)';
CREATE OPERATOR segext.>= (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_ge,
    COMMUTATOR = OPERATOR(segext.<=), NEGATOR = OPERATOR(segext.<),
    RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);
COMMENT ON OPERATOR segext.>= (segext.objectid, segext.objectid) IS 'greater than or equal';

CREATE OPERATOR CLASS segext.objectid_ops
    DEFAULT FOR TYPE segext.objectid USING btree AS
        OPERATOR 1 segext.< ,
        OPERATOR 2 segext.<= ,
        OPERATOR 3 segext.= ,
        OPERATOR 4 segext.>= ,
        OPERATOR 5 segext.> ,
        FUNCTION 1 segext.objectid_cmp(segext.objectid, segext.objectid),
        FUNCTION 2 segext.objectid_sortsupport(pg_catalog.internal),
        FUNCTION 4 pg_catalog.btequalimage(pg_catalog.oid);
COMMENT ON OPERATOR CLASS segext.objectid_ops USING btree IS 'btree ordering of objectid (creation order)';

CREATE OPERATOR CLASS segext.objectid_hash_ops
    DEFAULT FOR TYPE segext.objectid USING hash AS
        OPERATOR 1 segext.= ,
        FUNCTION 1 segext.objectid_hash(segext.objectid),
        FUNCTION 2 segext.objectid_hash_extended(segext.objectid, pg_catalog.int8);
COMMENT ON OPERATOR CLASS segext.objectid_hash_ops USING hash IS 'hashing of objectid';

-- Generation and time.  objectid_generate is PARALLEL RESTRICTED so that the
-- ids one statement makes all come from one process, in increasing order.
CREATE FUNCTION segext.objectid_generate() RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'objectid_generate' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.objectid_generate() IS 'new objectid, unique across backends and increasing within one';
CREATE FUNCTION segext.objectid_timestamp(segext.objectid) RETURNS pg_catalog.timestamptz
    AS 'MODULE_PATHNAME', 'objectid_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_timestamp(segext.objectid) IS 'creation second stored in an objectid';
CREATE FUNCTION segext.objectid_from_time(pg_catalog.timestamptz) RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'objectid_from_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.objectid_from_time(pg_catalog.timestamptz) IS 'smallest objectid of the second holding the given time, for range queries';
-- 20: the segext.criteria type (src/criteria.c) and its evaluator's SQL
-- entry points (src/evaluate.c).

CREATE TYPE segext.criteria;

CREATE FUNCTION segext.criteria_in(pg_catalog.cstring) RETURNS segext.criteria
    AS 'MODULE_PATHNAME', 'criteria_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_in(pg_catalog.cstring) IS 'criteria text input: JSON, parts shape or flat list';
CREATE FUNCTION segext.criteria_out(segext.criteria) RETURNS pg_catalog.cstring
    AS 'MODULE_PATHNAME', 'criteria_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_out(segext.criteria) IS 'criteria text output: canonical JSON in the parts shape';
CREATE FUNCTION segext.criteria_recv(pg_catalog.internal) RETURNS segext.criteria
    AS 'MODULE_PATHNAME', 'criteria_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_recv(pg_catalog.internal) IS 'criteria binary input: version byte and JSON text, validated like text input';
CREATE FUNCTION segext.criteria_send(segext.criteria) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'criteria_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_send(segext.criteria) IS 'criteria binary output: version byte and canonical JSON text';

CREATE TYPE segext.criteria (
    INPUT = segext.criteria_in,
    OUTPUT = segext.criteria_out,
    RECEIVE = segext.criteria_recv,
    SEND = segext.criteria_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE segext.criteria IS 'validated segment condition: every part must match, a part matches when any of its criteria matches';

-- Casts to and from jsonb.
CREATE FUNCTION segext.jsonb_to_criteria(pg_catalog.jsonb) RETURNS segext.criteria
    AS 'MODULE_PATHNAME', 'jsonb_to_criteria' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.jsonb_to_criteria(pg_catalog.jsonb) IS 'cast jsonb to criteria (validates it)';
CREATE FUNCTION segext.criteria_to_jsonb(segext.criteria) RETURNS pg_catalog.jsonb
    AS 'MODULE_PATHNAME', 'criteria_to_jsonb' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_to_jsonb(segext.criteria) IS 'cast criteria to their canonical jsonb document';

CREATE CAST (pg_catalog.jsonb AS segext.criteria)
    WITH FUNCTION segext.jsonb_to_criteria(pg_catalog.jsonb) AS ASSIGNMENT;
COMMENT ON CAST (pg_catalog.jsonb AS segext.criteria) IS 'validate a jsonb document as segment criteria';
CREATE CAST (segext.criteria AS pg_catalog.jsonb)
    WITH FUNCTION segext.criteria_to_jsonb(segext.criteria) AS ASSIGNMENT;
COMMENT ON CAST (segext.criteria AS pg_catalog.jsonb) IS 'segment criteria as canonical jsonb (parts shape)';

-- Equality: the same canonical condition.
CREATE FUNCTION segext.criteria_eq(segext.criteria, segext.criteria) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'criteria_eq' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_eq(segext.criteria, segext.criteria) IS 'criteria equal (same canonical condition)';
CREATE FUNCTION segext.criteria_ne(segext.criteria, segext.criteria) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'criteria_ne' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_ne(segext.criteria, segext.criteria) IS 'criteria not equal';

CREATE OPERATOR segext.= (
    LEFTARG = segext.criteria, RIGHTARG = segext.criteria, PROCEDURE = segext.criteria_eq,
    COMMUTATOR = OPERATOR(segext.=), NEGATOR = OPERATOR(segext.<>),
    RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel
);
COMMENT ON OPERATOR segext.= (segext.criteria, segext.criteria) IS 'same canonical condition';
CREATE OPERATOR segext.<> (
    LEFTARG = segext.criteria, RIGHTARG = segext.criteria, PROCEDURE = segext.criteria_ne,
    COMMUTATOR = OPERATOR(segext.<>), NEGATOR = OPERATOR(segext.=),
    RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
COMMENT ON OPERATOR segext.<> (segext.criteria, segext.criteria) IS 'different canonical conditions';

-- Evaluation entry points.
CREATE FUNCTION segext.criteria_match_event(segext.criteria, pg_catalog.jsonb) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'criteria_match_event' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_match_event(segext.criteria, pg_catalog.jsonb) IS
    'does an event (a jsonb object whose top-level keys are its fields) match the criteria? Non-field criteria never match an event';
CREATE FUNCTION segext.criteria_match_facts(segext.criteria, pg_catalog.jsonb,
                                            today pg_catalog.date DEFAULT CURRENT_DATE,
                                            now pg_catalog.timestamptz DEFAULT pg_catalog.now())
    RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'criteria_match_facts' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.criteria_match_facts(segext.criteria, pg_catalog.jsonb, pg_catalog.date, pg_catalog.timestamptz) IS
    'preview/debug: does a customer described by per-customer facts (jsonb) match the criteria at the given today and now?';
-- 30: companies, segment groups, segments, channels and the channel segment mix.
-- Every key leads with company_id, so every table can be distributed by tenant.

CREATE TABLE segext.companies (
    id              segext.objectid NOT NULL DEFAULT segext.objectid_generate(),
    name            pg_catalog.text NOT NULL CHECK (pg_catalog.char_length(name) BETWEEN 1 AND 200),
    max_segments    pg_catalog.int4 NOT NULL DEFAULT 50 CHECK (max_segments BETWEEN 0 AND 65534),
    max_channels    pg_catalog.int4 NOT NULL DEFAULT 50 CHECK (max_channels >= 1),
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (id)
);
COMMENT ON TABLE segext.companies IS 'tenants (Infinity installations): every other row belongs to one company';

CREATE TABLE segext.segment_groups (
    company_id      segext.objectid NOT NULL REFERENCES segext.companies (id) ON DELETE CASCADE,
    id              pg_catalog.int4 NOT NULL CHECK (id BETWEEN 0 AND 65535),
    name            pg_catalog.text NOT NULL CHECK (pg_catalog.char_length(name) BETWEEN 1 AND 100),
    status          pg_catalog.int4 NOT NULL DEFAULT 200 CHECK (status IN (200, 410)),
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, id)
);
COMMENT ON TABLE segext.segment_groups IS 'segment groups for reporting; group 0 "Ungrouped" is built in';

CREATE TABLE segext.segments (
    company_id      segext.objectid NOT NULL REFERENCES segext.companies (id) ON DELETE CASCADE,
    id              segext.objectid NOT NULL DEFAULT segext.objectid_generate(),
    number          pg_catalog.int4 NOT NULL CHECK (number BETWEEN 0 AND 65535),
    name            pg_catalog.text NOT NULL CHECK (pg_catalog.char_length(name) BETWEEN 1 AND 100),
    ref             pg_catalog.text CHECK (pg_catalog.char_length(ref) BETWEEN 1 AND 100),
    description     pg_catalog.text,
    active          pg_catalog.bool NOT NULL DEFAULT true,
    position        pg_catalog.int4 NOT NULL DEFAULT 0 CHECK (position BETWEEN 0 AND 65535),
    group_id        pg_catalog.int4 NOT NULL DEFAULT 0,
    org_id          pg_catalog.int4,
    customers_count pg_catalog.int8 NOT NULL DEFAULT 0,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, id),
    UNIQUE (company_id, number),
    UNIQUE (company_id, name),
    UNIQUE (company_id, ref),
    FOREIGN KEY (company_id, group_id) REFERENCES segext.segment_groups (company_id, id)
);
COMMENT ON TABLE segext.segments IS 'segments: 0 "All" and 1 "Default" are built in, user segments are numbered 2-65535';

CREATE TABLE segext.channels (
    company_id      segext.objectid NOT NULL REFERENCES segext.companies (id) ON DELETE CASCADE,
    id              segext.objectid NOT NULL DEFAULT segext.objectid_generate(),
    name            pg_catalog.text NOT NULL CHECK (pg_catalog.char_length(name) BETWEEN 1 AND 100),
    commission      pg_catalog.numeric NOT NULL DEFAULT 0,
    segment_mix     pg_catalog.jsonb NOT NULL DEFAULT '[]',
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, id),
    UNIQUE (company_id, name)
);
COMMENT ON TABLE segext.channels IS 'acquisition channels with a commission rate (0.2 = 20%)';

CREATE TABLE segext.channel_segments (
    company_id      segext.objectid NOT NULL,
    channel_id      segext.objectid NOT NULL,
    segment_id      segext.objectid NOT NULL,
    distribution    pg_catalog.numeric NOT NULL,
    PRIMARY KEY (company_id, channel_id, segment_id),
    FOREIGN KEY (company_id, channel_id) REFERENCES segext.channels (company_id, id) ON DELETE CASCADE,
    -- CASCADE only takes effect when a company is deleted: the segments_rules
    -- trigger refuses to delete a segment that is still in a mix.
    FOREIGN KEY (company_id, segment_id) REFERENCES segext.segments (company_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE segext.channel_segments IS 'forecast segment mix of a channel: distributions sum to exactly 1';

SELECT pg_catalog.pg_extension_config_dump('segext.companies', '');
SELECT pg_catalog.pg_extension_config_dump('segext.segment_groups', '');
SELECT pg_catalog.pg_extension_config_dump('segext.segments', '');
SELECT pg_catalog.pg_extension_config_dump('segext.channels', '');
SELECT pg_catalog.pg_extension_config_dump('segext.channel_segments', '');
-- 31: the segment condition (NULL = manual segment whose members are assigned explicitly).
ALTER TABLE segext.segments ADD COLUMN criteria segext.criteria;
COMMENT ON COLUMN segext.segments.criteria IS 'segment condition; NULL for a manual segment whose members are assigned explicitly';
-- 35: business rules of companies, segment groups, segments, channels and the
-- channel segment mix (C trigger functions in src/rules.c), company creation,
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
COMMENT ON COLUMN segext.segments.customers_count IS 'number of members, maintained by segext';
COMMENT ON COLUMN segext.channels.commission IS 'rate applied to revenue, 0 or more (0.2 = 20%), may exceed 1';
COMMENT ON COLUMN segext.channels.segment_mix IS 'the channel''s rows of segext.channel_segments as canonical JSON, [{"segment_id", "distribution"}] ordered by segment_id, kept in step both ways: writing it replaces the rows';
COMMENT ON COLUMN segext.channel_segments.distribution IS 'forecast share of the channel''s customers, greater than 0 and at most 1';

-- The current company.
CREATE FUNCTION segext.current_company_id() RETURNS segext.objectid
    AS 'MODULE_PATHNAME', 'segext_current_company_id' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION segext.current_company_id() IS 'current company: the company_id claim of request.jwt.claims, else the segext.company_id setting, else NULL';

-- Trigger functions.
CREATE FUNCTION segext.companies_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_companies_rules' LANGUAGE C;
COMMENT ON FUNCTION segext.companies_rules() IS 'companies: creates the built-in segments and group of a new company, maintains updated_at';
CREATE FUNCTION segext.segments_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'segext_segments_rules' LANGUAGE C;
COMMENT ON FUNCTION segext.segments_rules() IS 'segments: built-ins, max_segments, last segment, segment in a mix, number assignment, validation, updated_at';
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

-- The one writer of segments.customers_count (the membership trigger of
-- 50_membership.sql calls it); any other write of the column is ignored.
CREATE FUNCTION segext.add_customers_count(company segext.objectid, segment segext.objectid,
                                           delta pg_catalog.int8)
    RETURNS pg_catalog.int4
    AS 'MODULE_PATHNAME', 'segext_add_customers_count' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.add_customers_count(segext.objectid, segext.objectid, pg_catalog.int8) IS 'internal to the membership trigger: adds delta to a segment''s customers_count, the only way it changes; returns the segment number, NULL when there is no such segment';

CREATE FUNCTION segext.reorder_segments(company segext.objectid, numbers pg_catalog.int4[])
    RETURNS void
    AS 'MODULE_PATHNAME', 'segext_reorder_segments' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.reorder_segments(segext.objectid, pg_catalog.int4[]) IS 'sets the position of each listed user segment to its 0-based index in the array; unlisted segments keep theirs';
-- 40: customers and their transactions (src/transactions.c holds the triggers).
-- Labels and items are jsonb arrays validated by C triggers, so one scan of
-- transactions (and one of customers) yields every per-customer figure: no
-- join to item or label tables during evaluation.  The trigger also keeps
-- lower-cased derived arrays of SKUs, makers and item labels (GIN indexed)
-- and, on every sale, the amount returned so far, so "fully returned" is a
-- comparison of two columns of the same row.

CREATE TABLE segext.customers (
    company_id      segext.objectid NOT NULL REFERENCES segext.companies (id) ON DELETE CASCADE,
    id              segext.objectid NOT NULL DEFAULT segext.objectid_generate(),
    external_id     pg_catalog.text CHECK (pg_catalog.char_length(external_id) BETWEEN 1 AND 200),
    first_name      pg_catalog.text,
    last_name       pg_catalog.text,
    email           pg_catalog.text,
    phone           pg_catalog.text,
    birth_date      pg_catalog.date,
    registered_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    active          pg_catalog.bool NOT NULL DEFAULT true,
    channel_id      segext.objectid,
    labels          pg_catalog.jsonb NOT NULL DEFAULT '[]',
    attributes      pg_catalog.jsonb NOT NULL DEFAULT '{}'
                    CHECK (pg_catalog.jsonb_typeof(attributes) OPERATOR(pg_catalog.=) 'object'),
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, id),
    UNIQUE (company_id, external_id),
    FOREIGN KEY (company_id, channel_id) REFERENCES segext.channels (company_id, id)
        ON DELETE SET NULL (channel_id)
);
COMMENT ON TABLE segext.customers IS 'customers of a company; only active customers can be members of a segment';
COMMENT ON COLUMN segext.customers.external_id IS 'the customer''s id in the company''s own systems, unique per company';
COMMENT ON COLUMN segext.customers.channel_id IS 'acquisition channel (set to NULL when the channel is deleted)';
COMMENT ON COLUMN segext.customers.labels IS 'labels: jsonb array of {"key": text, "value": text}, checked by a trigger';
COMMENT ON COLUMN segext.customers.attributes IS 'free-form attributes (a jsonb object) for field criteria';

CREATE INDEX customers_company_active_idx ON segext.customers (company_id, active);
COMMENT ON INDEX segext.customers_company_active_idx IS 'active customers of a company';
CREATE INDEX customers_channel_idx ON segext.customers (company_id, channel_id) WHERE channel_id IS NOT NULL;
COMMENT ON INDEX segext.customers_channel_idx IS 'customers per acquisition channel';

CREATE TABLE segext.transactions (
    company_id      segext.objectid NOT NULL,
    id              segext.objectid NOT NULL DEFAULT segext.objectid_generate(),
    customer_id     segext.objectid NOT NULL,
    occurred_at     pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    amount          pg_catalog.numeric(14,2) NOT NULL,
    pos_id          pg_catalog.text,
    returns_id      segext.objectid,
    items           pg_catalog.jsonb NOT NULL DEFAULT '[]',
    returned_amount pg_catalog.numeric(14,2) NOT NULL DEFAULT 0,
    item_skus       pg_catalog.text[] NOT NULL DEFAULT '{}',
    item_makers     pg_catalog.text[] NOT NULL DEFAULT '{}',
    item_labels     pg_catalog.text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (company_id, id),
    FOREIGN KEY (company_id, customer_id) REFERENCES segext.customers (company_id, id) ON DELETE CASCADE,
    FOREIGN KEY (company_id, returns_id) REFERENCES segext.transactions (company_id, id),
    CHECK (CASE WHEN returns_id IS NULL
                THEN amount OPERATOR(pg_catalog.>) 0
                     AND returned_amount OPERATOR(pg_catalog.>=) 0
                     AND returned_amount OPERATOR(pg_catalog.<=) amount
                ELSE amount OPERATOR(pg_catalog.<) 0
                     AND returned_amount OPERATOR(pg_catalog.=) 0 END)
);
COMMENT ON TABLE segext.transactions IS 'sales (amount > 0) and returns (amount < 0, returns_id = the sale returned)';
COMMENT ON COLUMN segext.transactions.amount IS 'sale amount (> 0), or minus the amount returned (< 0) for a return';
COMMENT ON COLUMN segext.transactions.returns_id IS 'for a return: the sale of the same customer it returns; NULL for a sale';
COMMENT ON COLUMN segext.transactions.items IS 'items: jsonb array of {"sku", "maker", "labels": [{"key","value"}], "quantity", "amount"}, checked by a trigger';
COMMENT ON COLUMN segext.transactions.returned_amount IS 'on a sale: the amount returned so far (kept by a trigger); the sale is fully returned when it equals amount';
COMMENT ON COLUMN segext.transactions.item_skus IS 'lower-cased distinct SKUs of the items (kept by a trigger)';
COMMENT ON COLUMN segext.transactions.item_makers IS 'lower-cased distinct makers of the items (kept by a trigger)';
COMMENT ON COLUMN segext.transactions.item_labels IS 'lower-cased distinct item labels as key, U+001F, value (kept by a trigger)';

CREATE INDEX transactions_customer_idx ON segext.transactions (company_id, customer_id, occurred_at);
COMMENT ON INDEX segext.transactions_customer_idx IS 'transactions of a customer in time order';
CREATE INDEX transactions_occurred_idx ON segext.transactions (company_id, occurred_at);
COMMENT ON INDEX segext.transactions_occurred_idx IS 'transactions of a company by time (purchase periods, recent purchases)';
CREATE INDEX transactions_pos_idx ON segext.transactions (company_id, pos_id);
COMMENT ON INDEX segext.transactions_pos_idx IS 'transactions of a company by point of sale';
CREATE INDEX transactions_returns_idx ON segext.transactions (company_id, returns_id) WHERE returns_id IS NOT NULL;
COMMENT ON INDEX segext.transactions_returns_idx IS 'returns of a sale';
CREATE INDEX transactions_skus_idx ON segext.transactions USING gin (item_skus);
COMMENT ON INDEX segext.transactions_skus_idx IS 'transactions containing an SKU (lower-cased)';
CREATE INDEX transactions_makers_idx ON segext.transactions USING gin (item_makers);
COMMENT ON INDEX segext.transactions_makers_idx IS 'transactions containing an item of a maker (lower-cased)';
CREATE INDEX transactions_labels_idx ON segext.transactions USING gin (item_labels);
COMMENT ON INDEX segext.transactions_labels_idx IS 'transactions containing an item label (lower-cased key U+001F value)';

CREATE FUNCTION segext.customers_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'customers_check' LANGUAGE C;
COMMENT ON FUNCTION segext.customers_check() IS 'trigger: validates customer labels and maintains updated_at';
CREATE TRIGGER customers_check BEFORE INSERT OR UPDATE ON segext.customers
    FOR EACH ROW EXECUTE FUNCTION segext.customers_check();
COMMENT ON TRIGGER customers_check ON segext.customers IS 'validates labels, maintains updated_at';

CREATE FUNCTION segext.transactions_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'transactions_check' LANGUAGE C;
COMMENT ON FUNCTION segext.transactions_check() IS 'trigger: validates items and the sale a return refers to, fills the derived item arrays';
CREATE TRIGGER transactions_check BEFORE INSERT OR UPDATE ON segext.transactions
    FOR EACH ROW EXECUTE FUNCTION segext.transactions_check();
COMMENT ON TRIGGER transactions_check ON segext.transactions IS 'validates items, sign of amount and the returned sale';

CREATE FUNCTION segext.transactions_returned() RETURNS trigger
    AS 'MODULE_PATHNAME', 'transactions_returned' LANGUAGE C;
COMMENT ON FUNCTION segext.transactions_returned() IS 'trigger: keeps returned_amount of the sale a return refers to, refusing to return more than was sold';
CREATE TRIGGER transactions_returned_insert AFTER INSERT ON segext.transactions
    FOR EACH ROW WHEN (NEW.returns_id IS NOT NULL) EXECUTE FUNCTION segext.transactions_returned();
COMMENT ON TRIGGER transactions_returned_insert ON segext.transactions IS 'adds a new return to the returned amount of its sale';
CREATE TRIGGER transactions_returned_update AFTER UPDATE OF amount, returns_id ON segext.transactions
    FOR EACH ROW WHEN (OLD.returns_id IS NOT NULL OR NEW.returns_id IS NOT NULL)
    EXECUTE FUNCTION segext.transactions_returned();
COMMENT ON TRIGGER transactions_returned_update ON segext.transactions IS 'moves a changed return between the returned amounts of its sales';
CREATE TRIGGER transactions_returned_delete AFTER DELETE ON segext.transactions
    FOR EACH ROW WHEN (OLD.returns_id IS NOT NULL) EXECUTE FUNCTION segext.transactions_returned();
COMMENT ON TRIGGER transactions_returned_delete ON segext.transactions IS 'takes a deleted return off the returned amount of its sale';

SELECT pg_catalog.pg_extension_config_dump('segext.customers', '');
SELECT pg_catalog.pg_extension_config_dump('segext.transactions', '');
-- 50: segment membership (src/membership.c): evaluation now, materialized
-- members with their history, refresh, activation and manual members.
--
-- segext.memberships holds the current members.  Every INSERT or DELETE on it
-- (refresh, activation, manual members, cascades from deleted customers) is
-- seen by two statement triggers that, in the same transaction: keep
-- segments.customers_count exact, append to segext.membership_history, and
-- send one NOTIFY per segment and statement on channel "segext_membership"
-- with payload {"company_id", "segment" (number), "event" ("entered" or
-- "left"), "count", "customer_ids" (sorted; null when more than 100, to stay
-- far below the 8000-byte payload limit: read membership_history then)}.

-- A segment is looked up by its id alone (segment_members, refresh_segment,
-- activation, manual members): every key leads with company_id, so without
-- this index a caller to whom every company is visible reads every segment.
CREATE INDEX segments_id_idx ON segext.segments (id);
COMMENT ON INDEX segext.segments_id_idx IS 'a segment by its id alone (membership functions)';

CREATE TABLE segext.memberships (
    company_id      segext.objectid NOT NULL,
    segment_id      segext.objectid NOT NULL,
    customer_id     segext.objectid NOT NULL,
    since           pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, segment_id, customer_id),
    FOREIGN KEY (company_id, segment_id) REFERENCES segext.segments (company_id, id) ON DELETE CASCADE,
    FOREIGN KEY (company_id, customer_id) REFERENCES segext.customers (company_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE segext.memberships IS 'current members of each active segment (materialized; refreshed by segext.refresh_company/refresh_segment)';
CREATE INDEX memberships_customer_idx ON segext.memberships (company_id, customer_id);
COMMENT ON INDEX segext.memberships_customer_idx IS 'segments of a customer';

CREATE TABLE segext.membership_history (
    company_id      segext.objectid NOT NULL,
    id              pg_catalog.int8 GENERATED ALWAYS AS IDENTITY,
    segment_id      segext.objectid NOT NULL,
    customer_id     segext.objectid NOT NULL,
    kind            pg_catalog.text NOT NULL CHECK (kind IN ('entered', 'left')),
    at              pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (company_id, id),
    FOREIGN KEY (company_id, segment_id) REFERENCES segext.segments (company_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE segext.membership_history IS 'every time a customer entered or left a segment';
CREATE INDEX membership_history_segment_idx ON segext.membership_history (company_id, segment_id, at);
COMMENT ON INDEX segext.membership_history_segment_idx IS 'history of a segment in time order';

CREATE FUNCTION segext.memberships_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
    number pg_catalog.int4;
    kind pg_catalog.text := CASE TG_OP WHEN 'INSERT' THEN 'entered' ELSE 'left' END;
BEGIN
    INSERT INTO segext.membership_history (company_id, segment_id, customer_id, kind)
    SELECT c.company_id, c.segment_id, c.customer_id, kind
    FROM changed AS c
    WHERE EXISTS (SELECT FROM segext.segments AS s
                  WHERE s.company_id OPERATOR(segext.=) c.company_id AND s.id OPERATOR(segext.=) c.segment_id);
    FOR r IN
        SELECT c.company_id, c.segment_id, pg_catalog.count(*) AS n,
               (pg_catalog.array_agg(c.customer_id::pg_catalog.text ORDER BY c.customer_id))[1:100] AS ids
        FROM changed AS c GROUP BY c.company_id, c.segment_id
    LOOP
        number := segext.add_customers_count(r.company_id, r.segment_id,
                      CASE TG_OP WHEN 'INSERT' THEN r.n ELSE OPERATOR(pg_catalog.-) r.n END);
        IF number IS NOT NULL THEN
            PERFORM pg_catalog.pg_notify('segext_membership', pg_catalog.json_build_object(
                'company_id', r.company_id, 'segment', number, 'event', kind, 'count', r.n,
                'customer_ids', CASE WHEN r.n OPERATOR(pg_catalog.<=) 100 THEN r.ids END)::pg_catalog.text);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$ SECURITY DEFINER SET search_path = pg_catalog;
COMMENT ON FUNCTION segext.memberships_changed() IS 'trigger: keeps customers_count, records history and notifies segext_membership for the members a statement added or removed';
CREATE TRIGGER memberships_entered AFTER INSERT ON segext.memberships
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segext.memberships_changed();
COMMENT ON TRIGGER memberships_entered ON segext.memberships IS 'count, history and NOTIFY of new members';
CREATE TRIGGER memberships_left AFTER DELETE ON segext.memberships
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segext.memberships_changed();
COMMENT ON TRIGGER memberships_left ON segext.memberships IS 'count, history and NOTIFY of members that left';

CREATE FUNCTION segext.customer_facts_step(state pg_catalog.bytea, criteria segext.criteria[], now pg_catalog.timestamptz,
        amount pg_catalog.numeric, returned_amount pg_catalog.numeric, is_sale pg_catalog.bool,
        occurred_at pg_catalog.timestamptz, pos_id pg_catalog.text, item_skus pg_catalog.text[],
        item_makers pg_catalog.text[], item_labels pg_catalog.text[]) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'segext_customer_facts_step' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100;
COMMENT ON FUNCTION segext.customer_facts_step(pg_catalog.bytea, segext.criteria[], pg_catalog.timestamptz, pg_catalog.numeric, pg_catalog.numeric, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.text[], pg_catalog.text[], pg_catalog.text[])
    IS 'transition function of segext.customer_facts: folds one transaction into the figures the criteria need';
CREATE FUNCTION segext.customer_facts_combine(pg_catalog.bytea, pg_catalog.bytea) RETURNS pg_catalog.bytea
    AS 'MODULE_PATHNAME', 'segext_customer_facts_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segext.customer_facts_combine(pg_catalog.bytea, pg_catalog.bytea)
    IS 'combine function of segext.customer_facts: adds two partial states (parallel aggregation)';
CREATE AGGREGATE segext.customer_facts(segext.criteria[], pg_catalog.timestamptz, pg_catalog.numeric, pg_catalog.numeric,
        pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.text[], pg_catalog.text[], pg_catalog.text[]) (
    SFUNC = segext.customer_facts_step, STYPE = pg_catalog.bytea,
    COMBINEFUNC = segext.customer_facts_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE segext.customer_facts(segext.criteria[], pg_catalog.timestamptz, pg_catalog.numeric, pg_catalog.numeric, pg_catalog.bool, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.text[], pg_catalog.text[], pg_catalog.text[])
    IS 'internal to the membership engine: per-customer transaction figures (count, amount, last purchase, POS counts, bought items and periods) for the given criteria, as a compact state; arguments (criteria, now, amount, returned_amount, is_sale, occurred_at, pos_id, item_skus, item_makers, item_labels)';

CREATE FUNCTION segext.segment_members(segment_id segext.objectid)
    RETURNS TABLE (segment_id segext.objectid, customer_id segext.objectid)
    AS 'MODULE_PATHNAME', 'segext_segment_members' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 10000;
COMMENT ON FUNCTION segext.segment_members(segext.objectid) IS 'evaluates a segment now: (segment, customer) for the customers that match its criteria (0: active customers, 1: active customers in no other active segment, manual: its active explicit members)';

CREATE FUNCTION segext.refresh_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_refresh_segment' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.refresh_segment(segext.objectid) IS 'refreshes the members of one active segment (and built-ins 0 and 1) atomically; returns the number of changes';

CREATE FUNCTION segext.refresh_company(company_id segext.objectid DEFAULT segext.current_company_id()) RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'segext_refresh_company' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION segext.refresh_company(segext.objectid) IS 'refreshes every active segment of a company in one pass over its transactions, atomically; returns the number of changes';

CREATE FUNCTION segext.activate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
BEGIN
    UPDATE segext.segments AS s SET active = true WHERE s.id OPERATOR(segext.=) activate_segment.segment_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', segment_id USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('No segment of the current company has id "%s".', segment_id),
            HINT = 'Pass the id of an existing segment.';
    END IF;
    RETURN segext.refresh_segment(segment_id);
END
$$ SET search_path = pg_catalog;
COMMENT ON FUNCTION segext.activate_segment(segext.objectid) IS 'activates a segment and computes its members at once; returns the number of membership changes';

CREATE FUNCTION segext.deactivate_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    company segext.objectid;
    removed pg_catalog.int8;
    builtin segext.objectid;
BEGIN
    UPDATE segext.segments AS s SET active = false WHERE s.id OPERATOR(segext.=) deactivate_segment.segment_id
    RETURNING s.company_id INTO company;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', segment_id USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('No segment of the current company has id "%s".', segment_id),
            HINT = 'Pass the id of an existing segment.';
    END IF;
    DELETE FROM segext.memberships AS m
    WHERE m.company_id OPERATOR(segext.=) company AND m.segment_id OPERATOR(segext.=) deactivate_segment.segment_id;
    GET DIAGNOSTICS removed = ROW_COUNT;
    SELECT s.id INTO builtin FROM segext.segments AS s
    WHERE s.company_id OPERATOR(segext.=) company AND s.number OPERATOR(pg_catalog.=) 1;
    RETURN removed OPERATOR(pg_catalog.+) segext.refresh_segment(builtin);
END
$$ SET search_path = pg_catalog;
COMMENT ON FUNCTION segext.deactivate_segment(segext.objectid) IS 'deactivates a segment and removes all its members at once (they may enter Default); returns the number of membership changes';

CREATE FUNCTION segext.manual_segment_company(segment_id segext.objectid) RETURNS segext.objectid
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
    seg record;
BEGIN
    SELECT s.company_id, s.name, s.active, s.criteria IS NULL AS manual, s.number INTO seg
    FROM segext.segments AS s WHERE s.id OPERATOR(segext.=) manual_segment_company.segment_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', segment_id USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('No segment of the current company has id "%s".', segment_id),
            HINT = 'Pass the id of an existing segment.';
    END IF;
    IF NOT seg.manual OR seg.number OPERATOR(pg_catalog.<=) 1 THEN
        RAISE EXCEPTION 'segment "%" is not a manual segment', seg.name USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('Segment "%s" has criteria (or is built in), so its members are computed.', seg.name),
            HINT = 'Assign members only to segments whose criteria are NULL.';
    END IF;
    IF NOT seg.active THEN
        RAISE EXCEPTION 'segment "%" is inactive', seg.name USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('Segment "%s" is inactive and has no members.', seg.name),
            HINT = 'Activate the segment first.';
    END IF;
    RETURN seg.company_id;
END
$$ SET search_path = pg_catalog;
COMMENT ON FUNCTION segext.manual_segment_company(segext.objectid) IS 'company of an active manual segment; raises 22023 for any other segment';

CREATE FUNCTION segext.add_segment_members(segment_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    company segext.objectid := segext.manual_segment_company(segment_id);
    missing pg_catalog.text;
    added pg_catalog.int8;
    builtin segext.objectid;
BEGIN
    SELECT pg_catalog.string_agg(u.id::pg_catalog.text, ', ') INTO missing
    FROM pg_catalog.unnest(customer_ids) AS u(id)
    WHERE NOT EXISTS (SELECT FROM segext.customers AS c
                      WHERE c.company_id OPERATOR(segext.=) company AND c.id OPERATOR(segext.=) u.id);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'customers do not exist: %', missing USING ERRCODE = '23503',
            DETAIL = pg_catalog.format('The company of segment "%s" has no customers %s.', segment_id, missing),
            HINT = 'Pass ids of existing customers of the segment''s company.';
    END IF;
    INSERT INTO segext.memberships (company_id, segment_id, customer_id)
    SELECT DISTINCT company, add_segment_members.segment_id, c.id
    FROM segext.customers AS c
    WHERE c.company_id OPERATOR(segext.=) company AND c.id OPERATOR(segext.=) ANY (customer_ids) AND c.active
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    SELECT s.id INTO builtin FROM segext.segments AS s
    WHERE s.company_id OPERATOR(segext.=) company AND s.number OPERATOR(pg_catalog.=) 1;
    PERFORM segext.refresh_segment(builtin);
    RETURN added;
END
$$ SET search_path = pg_catalog;
COMMENT ON FUNCTION segext.add_segment_members(segext.objectid, segext.objectid[]) IS 'adds active customers to a manual segment (inactive ones are skipped); returns how many were added';

CREATE FUNCTION segext.remove_segment_members(segment_id segext.objectid, customer_ids segext.objectid[]) RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    company segext.objectid := segext.manual_segment_company(segment_id);
    removed pg_catalog.int8;
    builtin segext.objectid;
BEGIN
    DELETE FROM segext.memberships AS m
    WHERE m.company_id OPERATOR(segext.=) company AND m.segment_id OPERATOR(segext.=) remove_segment_members.segment_id
      AND m.customer_id OPERATOR(segext.=) ANY (customer_ids);
    GET DIAGNOSTICS removed = ROW_COUNT;
    SELECT s.id INTO builtin FROM segext.segments AS s
    WHERE s.company_id OPERATOR(segext.=) company AND s.number OPERATOR(pg_catalog.=) 1;
    PERFORM segext.refresh_segment(builtin);
    RETURN removed;
END
$$ SET search_path = pg_catalog;
COMMENT ON FUNCTION segext.remove_segment_members(segext.objectid, segext.objectid[]) IS 'removes customers from a manual segment; returns how many were removed';

CREATE TYPE segext.segment_customer AS (
    customer_id segext.objectid, external_id pg_catalog.text, first_name pg_catalog.text,
    last_name pg_catalog.text, email pg_catalog.text, phone pg_catalog.text,
    active pg_catalog.bool, since pg_catalog.timestamptz, total_count pg_catalog.int8);
COMMENT ON TYPE segext.segment_customer IS 'a member of a segment as listed by segext.segment_customers, with the total count of matching members';

CREATE FUNCTION segext.segment_customers(
    segment_id segext.objectid,
    first_name pg_catalog.text DEFAULT NULL,
    last_name pg_catalog.text DEFAULT NULL,
    phone pg_catalog.text DEFAULT NULL,
    email pg_catalog.text DEFAULT NULL,
    sort pg_catalog.text DEFAULT 'name',
    direction pg_catalog.text DEFAULT 'asc',
    page_limit pg_catalog.int4 DEFAULT 10,
    page_offset pg_catalog.int4 DEFAULT 0)
RETURNS SETOF segext.segment_customer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    order_by pg_catalog.text;
BEGIN
    order_by := CASE pg_catalog.lower(sort)
        WHEN 'name' THEN 'c.last_name %1$s, c.first_name %1$s'
        WHEN 'firstname' THEN 'c.first_name %1$s' WHEN 'first_name' THEN 'c.first_name %1$s'
        WHEN 'lastname' THEN 'c.last_name %1$s' WHEN 'last_name' THEN 'c.last_name %1$s'
        WHEN 'email' THEN 'c.email %1$s' WHEN 'phone' THEN 'c.phone %1$s'
        WHEN 'since' THEN 'm.since %1$s' WHEN 'createdat' THEN 'c.created_at %1$s'
        WHEN 'created_at' THEN 'c.created_at %1$s' END;
    IF order_by IS NULL THEN
        RAISE EXCEPTION 'unrecognized sort column "%"', sort USING ERRCODE = '22023',
            DETAIL = 'Members can be sorted by name, firstName, lastName, email, phone, since or createdAt.',
            HINT = 'Pass one of those names as sort.';
    END IF;
    IF pg_catalog.upper(direction) NOT IN ('ASC', 'DESC') THEN
        RAISE EXCEPTION 'unrecognized sort direction "%"', direction USING ERRCODE = '22023',
            DETAIL = 'The direction of sorting is ASC or DESC.', HINT = 'Pass ASC or DESC as direction.';
    END IF;
    IF page_limit OPERATOR(pg_catalog.<) 0 OR page_offset OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'invalid page: limit % offset %', page_limit, page_offset USING ERRCODE = '22023',
            DETAIL = 'page_limit and page_offset cannot be negative.', HINT = 'Pass 0 or more.';
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT c.id, c.external_id, c.first_name, c.last_name, c.email, c.phone, c.active, m.since,
                pg_catalog.count(*) OVER ()
         FROM segext.memberships AS m
         JOIN segext.customers AS c ON c.company_id OPERATOR(segext.=) m.company_id AND c.id OPERATOR(segext.=) m.customer_id
         WHERE m.segment_id OPERATOR(segext.=) $1
           AND ($2 IS NULL OR c.first_name ILIKE ''%%'' || segext.like_escape($2) || ''%%'')
           AND ($3 IS NULL OR c.last_name ILIKE ''%%'' || segext.like_escape($3) || ''%%'')
           AND ($4 IS NULL OR c.phone ILIKE ''%%'' || segext.like_escape($4) || ''%%'')
           AND ($5 IS NULL OR c.email ILIKE ''%%'' || segext.like_escape($5) || ''%%'')
         ORDER BY ' || order_by || ', c.id
         LIMIT $6 OFFSET $7', pg_catalog.upper(direction))
    USING segment_id, first_name, last_name, phone, email, page_limit, page_offset;
END
$$ SET search_path = pg_catalog;
COMMENT ON FUNCTION segext.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int4, pg_catalog.int4)
    IS 'members of a segment (Open Loyalty GET /api/segment/<segment>/customers): case-insensitive substring filters, sort (name, firstName, lastName, email, phone, since, createdAt), direction, limit/offset and the total count';

CREATE FUNCTION segext.like_escape(pattern pg_catalog.text) RETURNS pg_catalog.text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pattern, '\', '\\'), '%', '\%'), '_', '\_');
COMMENT ON FUNCTION segext.like_escape(pg_catalog.text) IS 'escapes \, % and _ so a text is matched literally by LIKE';

SELECT pg_catalog.pg_extension_config_dump('segext.memberships', '');
SELECT pg_catalog.pg_extension_config_dump('segext.membership_history', '');
COMMENT ON SEQUENCE segext.membership_history_id_seq IS 'ids of membership history rows';
SELECT pg_catalog.pg_extension_config_dump('segext.membership_history_id_seq', '');
-- 60: event stamping (Infinity triggers): the BEFORE INSERT trigger function users attach to
-- their events tables, classify() for one jsonb event, and the segment cache invalidation.

CREATE FUNCTION segext.stamp_event() RETURNS pg_catalog.trigger
    AS 'MODULE_PATHNAME', 'segext_stamp_event' LANGUAGE C;
COMMENT ON FUNCTION segext.stamp_event() IS
'BEFORE INSERT FOR EACH ROW trigger for an events table: stamps each row with the number of the first active segment '
'of its company (by position, then number) whose field criteria match the row, or 1 (Default), and with that segment''s '
'group id. Arguments: company column, segment column, group column and, optionally, a jsonb column whose top-level '
'keys are further fields';

CREATE FUNCTION segext.classify(company segext.objectid, event pg_catalog.jsonb) RETURNS pg_catalog.int4
    AS 'MODULE_PATHNAME', 'segext_classify' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.classify(segext.objectid, pg_catalog.jsonb) IS
'segment number of an event given as a JSON object (its top-level keys are the fields): the first active segment of '
'the company, by position then number, whose field criteria match, or 1 (Default)';

CREATE FUNCTION segext.check_event_trigger(trigger_oid pg_catalog.oid, relation pg_catalog.regclass)
    RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'segext_check_event_trigger' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION segext.check_event_trigger(pg_catalog.oid, pg_catalog.regclass) IS
'checks the arguments and timing of a segext.stamp_event() trigger against its table, raising the error the trigger '
'would raise when fired; true when the trigger was found';

CREATE FUNCTION segext.check_event_triggers_on_create() RETURNS pg_catalog.event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT t.oid, t.tgrelid
          FROM pg_catalog.pg_event_trigger_ddl_commands() c
          JOIN pg_catalog.pg_trigger t ON t.oid OPERATOR(pg_catalog.=) c.objid
         WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
           AND t.tgfoid OPERATOR(pg_catalog.=) 'segext.stamp_event()'::pg_catalog.regprocedure
    LOOP
        PERFORM segext.check_event_trigger(r.oid, r.tgrelid::pg_catalog.regclass);
    END LOOP;
END
$$;
COMMENT ON FUNCTION segext.check_event_triggers_on_create() IS
'event trigger function: checks every segext.stamp_event() trigger right after CREATE TRIGGER';

CREATE EVENT TRIGGER segext_check_event_trigger ON ddl_command_end
    WHEN TAG IN ('CREATE TRIGGER')
    EXECUTE FUNCTION segext.check_event_triggers_on_create();
COMMENT ON EVENT TRIGGER segext_check_event_trigger IS
'refuses a CREATE TRIGGER whose segext.stamp_event() arguments or timing are wrong';

CREATE FUNCTION segext.event_criteria_usable(criteria segext.criteria) RETURNS pg_catalog.bool
    AS 'MODULE_PATHNAME', 'segext_event_criteria_usable' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segext.event_criteria_usable(segext.criteria) IS
'true when every criterion is a field criterion, so that events can be matched against the condition';

CREATE FUNCTION segext.check_event_segments(company segext.objectid)
    RETURNS TABLE (number pg_catalog.int4, name pg_catalog.text, reason pg_catalog.text)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE ROWS 10 AS $$
    SELECT s.number, s.name,
           CASE WHEN s.criteria IS NULL THEN 'manual segment: members are assigned explicitly'
                ELSE 'criteria on customer aggregates: an event cannot match them' END
      FROM segext.segments s
     WHERE s.company_id OPERATOR(segext.=) $1
       AND s.active
       AND s.number OPERATOR(pg_catalog.>=) 2
       AND (s.criteria IS NULL OR NOT segext.event_criteria_usable(s.criteria))
     ORDER BY s.position, s.number
$$;
COMMENT ON FUNCTION segext.check_event_segments(segext.objectid) IS
'active user segments of a company that event stamping leaves out, with the reason: manual (no criteria) or '
'criteria on customer aggregates';

-- Any change to segments, their criteria, order, group or status empties the segment cache
-- of every backend (at commit; at once in this backend).
CREATE FUNCTION segext.segment_cache_invalidate() RETURNS pg_catalog.trigger
    AS 'MODULE_PATHNAME', 'segext_segment_cache_invalidate' LANGUAGE C;
COMMENT ON FUNCTION segext.segment_cache_invalidate() IS
'statement trigger on segext.segments: invalidates the compiled segment cache of every backend';

CREATE TRIGGER segment_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON segext.segments
    FOR EACH STATEMENT EXECUTE FUNCTION segext.segment_cache_invalidate();
COMMENT ON TRIGGER segment_cache_invalidate ON segext.segments IS
'invalidates the compiled segment cache used by event stamping and classify()';
-- 70: the public API schema segext_api, designed for PostgREST (v12+) and
-- equally usable from SQL.  Naming: snake_case columns, the same names as the
-- private tables (PostgreSQL's convention, and what PostgREST exposes as-is).
-- Every view shows the current company's rows only (segext.current_company_id()).
-- A writable view starts with the key of its table, (company_id, id), so
-- that PostgREST finds the view's primary key (it follows each view column
-- back to its table and keeps only keys whose every column is shown);
-- company_id defaults to the current company, so clients may leave it out.
-- Views are security_invoker, so row level security and privileges of the
-- caller apply.  segments, segment_groups, customers and transactions are
-- updatable by PostgreSQL itself WITH CASCADED CHECK OPTION: INSERT, UPDATE,
-- DELETE and INSERT ... ON CONFLICT (PostgREST's PUT and upsert) go to the
-- private tables, where the C rule triggers live, and the check option
-- refuses a row of another company.  So is channels: its segment_mix is a
-- column of segext.channels that the rules keep in step with the rows of
-- segext.channel_segments both ways (src/rules.c).

-- Segment criteria print as JSON in json_agg/to_json (what PostgREST builds
-- its bodies with): those functions use a type's cast to json when it has one.
CREATE FUNCTION segext.criteria_to_json(segext.criteria) RETURNS pg_catalog.json
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CAST(CAST($1 AS pg_catalog.text) AS pg_catalog.json);
COMMENT ON FUNCTION segext.criteria_to_json(segext.criteria) IS 'segment criteria as canonical JSON text (parts shape, stable key order)';
CREATE CAST (segext.criteria AS pg_catalog.json)
    WITH FUNCTION segext.criteria_to_json(segext.criteria);
COMMENT ON CAST (segext.criteria AS pg_catalog.json) IS 'segment criteria as canonical JSON, so that to_json, json_agg and PostgREST print them as JSON rather than a string';

-- Segments.
CREATE VIEW segext_api.segments WITH (security_invoker = true) AS
    SELECT s.company_id, s.id, s.number, s.name, s.ref, s.description, s.active, s.position,
           s.group_id, s.org_id, s.criteria, s.customers_count, s.created_at, s.updated_at
      FROM segext.segments s
     WHERE s.company_id OPERATOR(segext.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.segments ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.segments IS 'segments of the current company: 0 "All" and 1 "Default" are built in and read-only; list, get, create (201 with the generated id and number), update, upsert (PUT with company_id and id), delete';
COMMENT ON COLUMN segext_api.segments.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.segments.id IS 'ObjectId of the segment (generated when not given); never changes';
COMMENT ON COLUMN segext_api.segments.number IS 'segment number: 0 and 1 built in, user segments 2-65535, assigned when not given; unique per company';
COMMENT ON COLUMN segext_api.segments.name IS 'name, 1-100 characters, unique per company';
COMMENT ON COLUMN segext_api.segments.ref IS 'optional reference of the caller, at most 100 characters, unique per company when set';
COMMENT ON COLUMN segext_api.segments.description IS 'free text description';
COMMENT ON COLUMN segext_api.segments.active IS 'whether membership is maintained (Infinity status 200) or not (410)';
COMMENT ON COLUMN segext_api.segments.position IS 'detection order (Infinity segmentOrder), 0-65535; always 0 for built-ins';
COMMENT ON COLUMN segext_api.segments.group_id IS 'segment group (0 = "Ungrouped")';
COMMENT ON COLUMN segext_api.segments.org_id IS 'optional organisation id';
COMMENT ON COLUMN segext_api.segments.criteria IS 'condition as JSON, parts shape [{"criteria": [...]}] (a part matches when any of its criteria does; all parts must match) or flat [c1, c2] (all must match); printed canonically in the parts shape; null for a manual segment';
COMMENT ON COLUMN segext_api.segments.customers_count IS 'number of current members (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.segments.created_at IS 'creation time (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.segments.updated_at IS 'time of the last change (maintained by segext: a value written is ignored)';

-- Segment groups.
CREATE VIEW segext_api.segment_groups WITH (security_invoker = true) AS
    SELECT g.company_id, g.id, g.name, g.status, g.created_at, g.updated_at
      FROM segext.segment_groups g
     WHERE g.company_id OPERATOR(segext.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.segment_groups ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.segment_groups IS 'segment groups of the current company: group 0 "Ungrouped" is built in; a group that still holds segments cannot be deleted (409)';
COMMENT ON COLUMN segext_api.segment_groups.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.segment_groups.id IS 'group number, unique per company (0 = "Ungrouped"), the next free one when not given; never changes';
COMMENT ON COLUMN segext_api.segment_groups.name IS 'name, 1-100 characters';
COMMENT ON COLUMN segext_api.segment_groups.status IS 'Infinity status: 200 active, 410 deleted';
COMMENT ON COLUMN segext_api.segment_groups.created_at IS 'creation time (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.segment_groups.updated_at IS 'time of the last change (maintained by segext: a value written is ignored)';

-- Channels, with their segment mix embedded and writable in the same request.
CREATE VIEW segext_api.channels WITH (security_invoker = true) AS
    SELECT c.company_id, c.id, c.name, c.commission, c.segment_mix, c.created_at, c.updated_at
      FROM segext.channels c
     WHERE c.company_id OPERATOR(segext.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.channels ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.channels IS 'acquisition channels of the current company with their forecast segment mix; writing segment_mix replaces the mix, whose distributions must sum to 1 at commit; list, get, create, update, upsert (PUT with company_id and id), delete';
COMMENT ON COLUMN segext_api.channels.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.channels.id IS 'ObjectId of the channel (generated when not given); never changes';
COMMENT ON COLUMN segext_api.channels.name IS 'name, 1-100 characters, unique per company';
COMMENT ON COLUMN segext_api.channels.commission IS 'commission rate applied to revenue (0.2 = 20%), at least 0, may exceed 1; default 0';
COMMENT ON COLUMN segext_api.channels.segment_mix IS 'forecast segment mix: JSON array of {"segment_id", "distribution"}, read back ordered by segment_id; distributions > 0 summing to 1; 100% on the first user segment when not given; null in an update keeps the mix';
COMMENT ON COLUMN segext_api.channels.created_at IS 'creation time (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.channels.updated_at IS 'time of the last change (maintained by segext: a value written is ignored)';

-- Channel forecast and commission value.
CREATE FUNCTION segext_api.channel_forecast(channel_id segext.objectid, volume pg_catalog.numeric)
    RETURNS TABLE (segment_id segext.objectid, segment_number pg_catalog.int4,
                   segment_name pg_catalog.text, distribution pg_catalog.numeric,
                   expected_customers pg_catalog.numeric)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$
    SELECT m.segment_id, s.number, s.name, m.distribution, volume OPERATOR(pg_catalog.*) m.distribution
      FROM segext.channel_segments m
      JOIN segext.segments s
        ON s.company_id OPERATOR(segext.=) m.company_id AND s.id OPERATOR(segext.=) m.segment_id
     WHERE m.company_id OPERATOR(segext.=) segext.current_company_id()
       AND m.channel_id OPERATOR(segext.=) channel_forecast.channel_id
     ORDER BY s.position, s.number
    $$;
COMMENT ON FUNCTION segext_api.channel_forecast(segext.objectid, pg_catalog.numeric) IS 'expected customers per segment when a channel brings volume customers: volume x distribution of its segment mix';

CREATE FUNCTION segext_api.commission_value(channel_id segext.objectid, revenue pg_catalog.numeric)
    RETURNS pg_catalog.numeric
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$
    SELECT revenue OPERATOR(pg_catalog.*) c.commission
      FROM segext.channels c
     WHERE c.company_id OPERATOR(segext.=) segext.current_company_id()
       AND c.id OPERATOR(segext.=) commission_value.channel_id
    $$;
COMMENT ON FUNCTION segext_api.commission_value(segext.objectid, pg_catalog.numeric) IS 'commission owed on revenue brought by a channel: revenue x commission rate (NULL for an unknown channel)';

-- Reporting views for BI tools (read by segext_reader over libpq).
CREATE VIEW segext_api.report_segment_sizes WITH (security_invoker = true) AS
    SELECT s.id AS segment_id, s.number AS segment_number, s.name AS segment_name,
           s.active, g.id AS group_id, g.name AS group_name, s.customers_count,
           pg_catalog.now() AS measured_at
      FROM segext.segments s
      JOIN segext.segment_groups g
        ON g.company_id OPERATOR(segext.=) s.company_id AND g.id OPERATOR(pg_catalog.=) s.group_id
     WHERE s.company_id OPERATOR(segext.=) segext.current_company_id();
COMMENT ON VIEW segext_api.report_segment_sizes IS 'reporting: current size of every segment of the current company, with its group';
COMMENT ON COLUMN segext_api.report_segment_sizes.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_segment_sizes.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_segment_sizes.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_segment_sizes.active IS 'whether the segment is active';
COMMENT ON COLUMN segext_api.report_segment_sizes.group_id IS 'segment group number';
COMMENT ON COLUMN segext_api.report_segment_sizes.group_name IS 'segment group name';
COMMENT ON COLUMN segext_api.report_segment_sizes.customers_count IS 'number of current members';
COMMENT ON COLUMN segext_api.report_segment_sizes.measured_at IS 'time of the reading (start of the transaction)';

CREATE VIEW segext_api.report_channel_forecast WITH (security_invoker = true) AS
    SELECT c.id AS channel_id, c.name AS channel_name, c.commission,
           s.id AS segment_id, s.number AS segment_number, s.name AS segment_name,
           m.distribution
      FROM segext.channels c
      JOIN segext.channel_segments m
        ON m.company_id OPERATOR(segext.=) c.company_id AND m.channel_id OPERATOR(segext.=) c.id
      JOIN segext.segments s
        ON s.company_id OPERATOR(segext.=) m.company_id AND s.id OPERATOR(segext.=) m.segment_id
     WHERE c.company_id OPERATOR(segext.=) segext.current_company_id();
COMMENT ON VIEW segext_api.report_channel_forecast IS 'reporting: forecast segment mix of every channel of the current company, one row per channel and segment';
COMMENT ON COLUMN segext_api.report_channel_forecast.channel_id IS 'ObjectId of the channel';
COMMENT ON COLUMN segext_api.report_channel_forecast.channel_name IS 'channel name';
COMMENT ON COLUMN segext_api.report_channel_forecast.commission IS 'commission rate of the channel';
COMMENT ON COLUMN segext_api.report_channel_forecast.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_channel_forecast.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_channel_forecast.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_channel_forecast.distribution IS 'forecast share of the channel''s customers in the segment';

-- Segment order (Infinity PUT .../segments/order).
CREATE FUNCTION segext_api.reorder_segments(numbers pg_catalog.int4[]) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        company segext.objectid := segext.current_company_id();
    BEGIN
        IF company IS NULL THEN
            RAISE EXCEPTION 'no current company for reordering segments'
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'Neither the JWT claim "company_id" nor the setting "segext.company_id" names a company.',
                      HINT = 'Send a JWT carrying a "company_id" claim, or SET segext.company_id to the company''s id.';
        END IF;
        PERFORM segext.reorder_segments(company, numbers);
    END
    $$;
COMMENT ON FUNCTION segext_api.reorder_segments(pg_catalog.int4[]) IS 'sets the position of the current company''s listed user segments to their 0-based index in numbers; built-ins 0 and 1 are refused (403)';
-- 72: customers and transactions in the public API, in the shape of the views
-- of 70_api.sql: the current company's rows only, the key (company_id, id)
-- first, updatable by PostgreSQL itself WITH CASCADED CHECK OPTION into the
-- private tables, where the C triggers check labels, items and returns.

CREATE VIEW segext_api.customers WITH (security_invoker = true) AS
    SELECT c.company_id, c.id, c.external_id, c.first_name, c.last_name, c.email, c.phone,
           c.birth_date, c.registered_at, c.active, c.channel_id, c.labels,
           c.attributes, c.created_at, c.updated_at
      FROM segext.customers c
     WHERE c.company_id OPERATOR(segext.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.customers ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.customers IS 'customers of the current company: list, get, create (201 with the generated id), update, upsert (PUT with company_id and id), delete (their transactions and memberships go with them)';
COMMENT ON COLUMN segext_api.customers.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.customers.id IS 'ObjectId of the customer (generated when not given); never changes';
COMMENT ON COLUMN segext_api.customers.external_id IS 'the customer''s id in the company''s own systems, 1-200 characters, unique per company';
COMMENT ON COLUMN segext_api.customers.first_name IS 'first name';
COMMENT ON COLUMN segext_api.customers.last_name IS 'last name';
COMMENT ON COLUMN segext_api.customers.email IS 'e-mail address';
COMMENT ON COLUMN segext_api.customers.phone IS 'phone number';
COMMENT ON COLUMN segext_api.customers.birth_date IS 'date of birth (anniversary criteria)';
COMMENT ON COLUMN segext_api.customers.registered_at IS 'registration time (anniversary criteria); defaults to the time of creation';
COMMENT ON COLUMN segext_api.customers.active IS 'only active customers can be members of a segment; default true';
COMMENT ON COLUMN segext_api.customers.channel_id IS 'ObjectId of the acquisition channel, or null';
COMMENT ON COLUMN segext_api.customers.labels IS 'labels: JSON array of {"key", "value"}';
COMMENT ON COLUMN segext_api.customers.attributes IS 'free-form attributes (a JSON object) that field criteria can test';
COMMENT ON COLUMN segext_api.customers.created_at IS 'creation time (maintained by segext: a value written is ignored)';
COMMENT ON COLUMN segext_api.customers.updated_at IS 'time of the last change (maintained by segext: a value written is ignored)';

CREATE VIEW segext_api.transactions WITH (security_invoker = true) AS
    SELECT t.company_id, t.id, t.customer_id, t.occurred_at, t.amount, t.pos_id, t.returns_id,
           t.items, t.returned_amount
      FROM segext.transactions t
     WHERE t.company_id OPERATOR(segext.=) segext.current_company_id()
    WITH CASCADED CHECK OPTION;
ALTER VIEW segext_api.transactions ALTER COLUMN company_id SET DEFAULT segext.current_company_id();
COMMENT ON VIEW segext_api.transactions IS 'sales and returns of the current company''s customers: list, get, create (201 with the generated id), update, upsert (PUT with company_id and id), delete; a return must point at a sale of the same customer (409 otherwise)';
COMMENT ON COLUMN segext_api.transactions.company_id IS 'ObjectId of the company: the current company, which is the default; with id the primary key';
COMMENT ON COLUMN segext_api.transactions.id IS 'ObjectId of the transaction (generated when not given); never changes';
COMMENT ON COLUMN segext_api.transactions.customer_id IS 'ObjectId of the customer';
COMMENT ON COLUMN segext_api.transactions.occurred_at IS 'time of the sale or return; defaults to the time of creation';
COMMENT ON COLUMN segext_api.transactions.amount IS 'sale amount (> 0), or minus the amount returned (< 0) for a return';
COMMENT ON COLUMN segext_api.transactions.pos_id IS 'point of sale';
COMMENT ON COLUMN segext_api.transactions.returns_id IS 'for a return: ObjectId of the sale it returns; null for a sale';
COMMENT ON COLUMN segext_api.transactions.items IS 'items: JSON array of {"sku", "maker", "labels": [{"key", "value"}], "quantity", "amount"}';
COMMENT ON COLUMN segext_api.transactions.returned_amount IS 'on a sale: the amount returned so far (maintained by segext: a value written is ignored)';
-- 74: actions of the public API (PostgREST /rpc/...), always for the current
-- company: activate, deactivate, refresh, members of a segment, manual
-- members and classify.  They check the segment id against the current
-- company first (PT404, which PostgREST answers 404, for an unknown id or
-- another company's), refuse built-ins where the seeds do (PT403), then call
-- the membership and events functions, whose rules stay where they are.
-- All are security invoker: the caller's rights and row level security hold.

CREATE FUNCTION segext.api_company() RETURNS segext.objectid
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        company segext.objectid := segext.current_company_id();
    BEGIN
        IF company IS NULL THEN
            RAISE EXCEPTION 'no current company for this API call'
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'Neither the JWT claim "company_id" nor the setting "segext.company_id" names a company.',
                      HINT = 'Send a JWT carrying a "company_id" claim, or SET segext.company_id to the company''s id.';
        END IF;
        RETURN company;
    END
    $$;
COMMENT ON FUNCTION segext.api_company() IS 'the current company for an API call; raises 42501 when there is none';

CREATE FUNCTION segext.api_segment(segment_id segext.objectid, action pg_catalog.text)
    RETURNS pg_catalog.bool
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        company segext.objectid := segext.api_company();
        seg record;
    BEGIN
        SELECT s.number, s.name INTO seg
          FROM segext.segments s
         WHERE s.company_id OPERATOR(segext.=) company
           AND s.id OPERATOR(segext.=) api_segment.segment_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'segment "%" does not exist', segment_id
                USING ERRCODE = 'PT404',
                      DETAIL = format('The current company has no segment with id "%s".', segment_id),
                      HINT = 'Pass the id of one of the company''s segments (GET /segments lists them).';
        END IF;
        IF action IS NOT NULL AND seg.number OPERATOR(pg_catalog.<=) 1 THEN
            RAISE EXCEPTION 'built-in segment % "%" cannot be %', seg.number, seg.name, action
                USING ERRCODE = 'PT403',
                      DETAIL = format('Segments 0 "All" and 1 "Default" are maintained by segext; segment %s "%s" cannot be %s.',
                                      seg.number, seg.name, action),
                      HINT = 'Pass the id of a user segment (numbers 2 to 65535).';
        END IF;
        RETURN true;
    END
    $$;
COMMENT ON FUNCTION segext.api_segment(segext.objectid, pg_catalog.text) IS 'checks that a segment belongs to the current company (else PT404) and, when action is given, that it is a user segment (else PT403, naming the action); returns true';

CREATE FUNCTION segext_api.activate_segment(segment_id segext.objectid) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, 'activated');
        PERFORM segext.activate_segment(segment_id);
    END
    $$;
COMMENT ON FUNCTION segext_api.activate_segment(segext.objectid) IS 'activates a user segment of the current company and computes its members at once (Open Loyalty POST /api/segment/<segment>/activate); 404 for an unknown segment, 403 for built-ins';

CREATE FUNCTION segext_api.deactivate_segment(segment_id segext.objectid) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, 'deactivated');
        PERFORM segext.deactivate_segment(segment_id);
    END
    $$;
COMMENT ON FUNCTION segext_api.deactivate_segment(segext.objectid) IS 'deactivates a user segment of the current company and removes all its members at once (Open Loyalty POST /api/segment/<segment>/deactivate); 404 for an unknown segment, 403 for built-ins';

CREATE FUNCTION segext_api.refresh_segment(segment_id segext.objectid) RETURNS pg_catalog.int8
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, NULL);
        RETURN segext.refresh_segment(segment_id);
    END
    $$;
COMMENT ON FUNCTION segext_api.refresh_segment(segext.objectid) IS 'refreshes the members of one segment of the current company (and of built-ins 0 and 1) now; returns the number of members that entered or left';

CREATE FUNCTION segext_api.refresh() RETURNS pg_catalog.int8
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN segext.refresh_company(segext.api_company());
    END
    $$;
COMMENT ON FUNCTION segext_api.refresh() IS 'refreshes every active segment of the current company in one pass; returns the number of members that entered or left';

-- Members of a segment: a set-returning SQL function that the planner inlines,
-- so PostgREST's filters, order, limit/offset and exact count apply to it (and
-- reach the scan).  The segment check has no reference to the rows, so it is a
-- one-time filter: an unknown segment is 404 even when no row would come back.
CREATE FUNCTION segext_api.segment_customers(
        segment_id segext.objectid,
        first_name pg_catalog.text DEFAULT NULL,
        last_name pg_catalog.text DEFAULT NULL,
        phone pg_catalog.text DEFAULT NULL,
        email pg_catalog.text DEFAULT NULL)
    RETURNS TABLE (segment_id segext.objectid, customer_id segext.objectid,
                   external_id pg_catalog.text, first_name pg_catalog.text,
                   last_name pg_catalog.text, email pg_catalog.text, phone pg_catalog.text,
                   active pg_catalog.bool, since pg_catalog.timestamptz,
                   created_at pg_catalog.timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT m.segment_id, c.id, c.external_id, c.first_name, c.last_name, c.email, c.phone,
           c.active, m.since, c.created_at
      FROM segext.memberships m
      JOIN segext.customers c
        ON c.company_id OPERATOR(segext.=) m.company_id AND c.id OPERATOR(segext.=) m.customer_id
     WHERE segext.api_segment($1, NULL)
       AND m.company_id OPERATOR(segext.=) segext.current_company_id()
       AND m.segment_id OPERATOR(segext.=) $1
       AND ($2 IS NULL OR c.first_name OPERATOR(pg_catalog.~~*) ('%' OPERATOR(pg_catalog.||) segext.like_escape($2) OPERATOR(pg_catalog.||) '%'))
       AND ($3 IS NULL OR c.last_name OPERATOR(pg_catalog.~~*) ('%' OPERATOR(pg_catalog.||) segext.like_escape($3) OPERATOR(pg_catalog.||) '%'))
       AND ($4 IS NULL OR c.phone OPERATOR(pg_catalog.~~*) ('%' OPERATOR(pg_catalog.||) segext.like_escape($4) OPERATOR(pg_catalog.||) '%'))
       AND ($5 IS NULL OR c.email OPERATOR(pg_catalog.~~*) ('%' OPERATOR(pg_catalog.||) segext.like_escape($5) OPERATOR(pg_catalog.||) '%'))
    $$;
COMMENT ON FUNCTION segext_api.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text)
    IS 'current members of a segment of the current company (Open Loyalty GET /api/segment/<segment>/customers): first_name, last_name, phone and email are case-insensitive substring filters; sort, page and total come from PostgREST''s order, limit/offset and Prefer: count=exact; 404 for an unknown segment';

CREATE FUNCTION segext_api.add_segment_members(segment_id segext.objectid, customer_ids segext.objectid[])
    RETURNS pg_catalog.int8
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, 'given members');
        RETURN segext.add_segment_members(segment_id, customer_ids);
    END
    $$;
COMMENT ON FUNCTION segext_api.add_segment_members(segext.objectid, segext.objectid[]) IS 'adds customers of the current company to one of its active manual segments (criteria null); returns how many were added; 409 for unknown customers, 400 for a segment with criteria';

CREATE FUNCTION segext_api.remove_segment_members(segment_id segext.objectid, customer_ids segext.objectid[])
    RETURNS pg_catalog.int8
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        PERFORM segext.api_segment(segment_id, 'given members');
        RETURN segext.remove_segment_members(segment_id, customer_ids);
    END
    $$;
COMMENT ON FUNCTION segext_api.remove_segment_members(segext.objectid, segext.objectid[]) IS 'removes customers from one of the current company''s active manual segments; returns how many were removed';

CREATE FUNCTION segext_api.classify(event pg_catalog.jsonb) RETURNS pg_catalog.int4
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN segext.classify(segext.api_company(), event);
    END
    $$;
COMMENT ON FUNCTION segext_api.classify(pg_catalog.jsonb) IS 'segment number of an event (a JSON object of fields) for the current company: the first active segment by position, then number, whose criteria match, else 1 (Default)';
-- 76: reporting views for BI tools (segext_reader over libpq, or PostgREST):
-- segment sizes over time and membership history, read from
-- segext.membership_history, and each channel's forecast segment mix against
-- the actual mix of the customers it brought.  Security invoker, current
-- company only, like every segext_api view.

-- Days are calendar days in the session's time zone.  size is the running sum
-- of entered - exited: membership only changes through segext.memberships,
-- whose triggers record every change, so it equals the segment's size at the
-- end of that day.
CREATE VIEW segext_api.report_segment_size_history WITH (security_invoker = true) AS
    SELECT d.segment_id, s.number AS segment_number, s.name AS segment_name, d.day,
           d.entered, d.exited, d.entered OPERATOR(pg_catalog.-) d.exited AS net,
           pg_catalog.sum(d.entered OPERATOR(pg_catalog.-) d.exited)
               OVER (PARTITION BY d.segment_id ORDER BY d.day)::pg_catalog.int8 AS size
      FROM (SELECT h.segment_id, CAST(h.at AS pg_catalog.date) AS day,
                   pg_catalog.count(*) FILTER (WHERE h.kind OPERATOR(pg_catalog.=) 'entered') AS entered,
                   pg_catalog.count(*) FILTER (WHERE h.kind OPERATOR(pg_catalog.=) 'left') AS exited
              FROM segext.membership_history h
             WHERE h.company_id OPERATOR(segext.=) segext.current_company_id()
             GROUP BY h.segment_id, CAST(h.at AS pg_catalog.date)) d
      JOIN segext.segments s
        ON s.company_id OPERATOR(segext.=) segext.current_company_id()
       AND s.id OPERATOR(segext.=) d.segment_id;
COMMENT ON VIEW segext_api.report_segment_size_history IS 'reporting: per segment of the current company and per day with changes, the members that entered and left and the size at the end of the day';
COMMENT ON COLUMN segext_api.report_segment_size_history.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_segment_size_history.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_segment_size_history.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_segment_size_history.day IS 'calendar day in the session time zone';
COMMENT ON COLUMN segext_api.report_segment_size_history.entered IS 'customers that entered the segment that day';
COMMENT ON COLUMN segext_api.report_segment_size_history.exited IS 'customers that left the segment that day';
COMMENT ON COLUMN segext_api.report_segment_size_history.net IS 'entered minus exited';
COMMENT ON COLUMN segext_api.report_segment_size_history.size IS 'number of members at the end of the day';

CREATE VIEW segext_api.report_membership_history WITH (security_invoker = true) AS
    SELECT h.id, h.segment_id, s.number AS segment_number, s.name AS segment_name,
           h.customer_id, c.external_id, h.kind, h.at
      FROM segext.membership_history h
      JOIN segext.segments s
        ON s.company_id OPERATOR(segext.=) h.company_id AND s.id OPERATOR(segext.=) h.segment_id
      LEFT JOIN segext.customers c
        ON c.company_id OPERATOR(segext.=) h.company_id AND c.id OPERATOR(segext.=) h.customer_id
     WHERE h.company_id OPERATOR(segext.=) segext.current_company_id();
COMMENT ON VIEW segext_api.report_membership_history IS 'reporting: every time a customer of the current company entered or left a segment';
COMMENT ON COLUMN segext_api.report_membership_history.id IS 'history row number, increasing with time';
COMMENT ON COLUMN segext_api.report_membership_history.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_membership_history.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_membership_history.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_membership_history.customer_id IS 'ObjectId of the customer';
COMMENT ON COLUMN segext_api.report_membership_history.external_id IS 'the customer''s external id (null once the customer is deleted)';
COMMENT ON COLUMN segext_api.report_membership_history.kind IS '"entered" or "left"';
COMMENT ON COLUMN segext_api.report_membership_history.at IS 'time of the change';

-- Forecast against actual: for each channel and each segment that is in its
-- forecast mix or holds some of its customers, the forecast share and the
-- actual share of the channel's active customers that are members now.  A
-- customer can be in several segments (and every active one is in 0 "All"),
-- so actual shares of a channel need not sum to 1.
CREATE VIEW segext_api.report_channel_mix WITH (security_invoker = true) AS
    WITH company AS (
        SELECT segext.current_company_id() AS id
    ), channel_customers AS (
        SELECT c.channel_id, pg_catalog.count(*) AS customers
          FROM segext.customers c, company
         WHERE c.company_id OPERATOR(segext.=) company.id AND c.active AND c.channel_id IS NOT NULL
         GROUP BY c.channel_id
    ), actual AS (
        SELECT c.channel_id, m.segment_id, pg_catalog.count(*) AS members
          FROM segext.memberships m
          JOIN segext.customers c
            ON c.company_id OPERATOR(segext.=) m.company_id AND c.id OPERATOR(segext.=) m.customer_id,
               company
         WHERE m.company_id OPERATOR(segext.=) company.id AND c.active AND c.channel_id IS NOT NULL
         GROUP BY c.channel_id, m.segment_id
    ), forecast AS (
        SELECT f.channel_id, f.segment_id, f.distribution
          FROM segext.channel_segments f, company
         WHERE f.company_id OPERATOR(segext.=) company.id
    )
    SELECT ch.id AS channel_id, ch.name AS channel_name, s.id AS segment_id,
           s.number AS segment_number, s.name AS segment_name,
           COALESCE(f.distribution, 0) AS forecast_distribution,
           COALESCE(cc.customers, 0) AS channel_customers,
           COALESCE(cc.customers, 0) OPERATOR(pg_catalog.*) COALESCE(f.distribution, 0) AS expected_customers,
           COALESCE(a.members, 0) AS actual_customers,
           CASE WHEN COALESCE(cc.customers, 0) OPERATOR(pg_catalog.=) 0 THEN NULL
                ELSE pg_catalog.round(COALESCE(a.members, 0)::pg_catalog.numeric
                                      OPERATOR(pg_catalog./) cc.customers, 4) END AS actual_distribution
      FROM forecast f
      FULL JOIN actual a
        ON a.channel_id OPERATOR(segext.=) f.channel_id AND a.segment_id OPERATOR(segext.=) f.segment_id
      JOIN segext.channels ch
        ON ch.company_id OPERATOR(segext.=) (SELECT company.id FROM company)
       AND ch.id OPERATOR(segext.=) COALESCE(f.channel_id, a.channel_id)
      JOIN segext.segments s
        ON s.company_id OPERATOR(segext.=) (SELECT company.id FROM company)
       AND s.id OPERATOR(segext.=) COALESCE(f.segment_id, a.segment_id)
      LEFT JOIN channel_customers cc ON cc.channel_id OPERATOR(segext.=) ch.id;
COMMENT ON VIEW segext_api.report_channel_mix IS 'reporting: each channel''s forecast segment mix against the actual segments of the active customers it brought (customers.channel_id), one row per channel and segment in the forecast or holding its customers';
COMMENT ON COLUMN segext_api.report_channel_mix.channel_id IS 'ObjectId of the channel';
COMMENT ON COLUMN segext_api.report_channel_mix.channel_name IS 'channel name';
COMMENT ON COLUMN segext_api.report_channel_mix.segment_id IS 'ObjectId of the segment';
COMMENT ON COLUMN segext_api.report_channel_mix.segment_number IS 'segment number';
COMMENT ON COLUMN segext_api.report_channel_mix.segment_name IS 'segment name';
COMMENT ON COLUMN segext_api.report_channel_mix.forecast_distribution IS 'forecast share of the channel''s customers in the segment (0 when not in the mix)';
COMMENT ON COLUMN segext_api.report_channel_mix.channel_customers IS 'active customers acquired through the channel';
COMMENT ON COLUMN segext_api.report_channel_mix.expected_customers IS 'channel_customers x forecast_distribution';
COMMENT ON COLUMN segext_api.report_channel_mix.actual_customers IS 'active customers of the channel that are members of the segment now';
COMMENT ON COLUMN segext_api.report_channel_mix.actual_distribution IS 'actual_customers / channel_customers, 4 decimals (null when the channel has no active customers)';
-- 80: roles, privileges and row level security.
--
-- segext_reader reads its company's rows (BI tools), segext_writer also
-- changes them, segext_admin sees and changes every company and creates
-- companies.  The roles are cluster-wide: they are created here only when
-- missing (another database of the cluster may have made them) and are not
-- dropped with the extension.  segext_admin reaches every company through a
-- policy on role membership, not BYPASSRLS: membership is inherited by login
-- roles granted segext_admin, BYPASSRLS is not, and the policy only concerns
-- segext's tables.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_reader') THEN
        CREATE ROLE segext_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_writer') THEN
        CREATE ROLE segext_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'segext_admin') THEN
        CREATE ROLE segext_admin NOLOGIN;
    END IF;
    IF NOT pg_catalog.pg_has_role('segext_writer', 'segext_reader', 'member') THEN
        GRANT segext_reader TO segext_writer;
    END IF;
    IF NOT pg_catalog.pg_has_role('segext_admin', 'segext_writer', 'member') THEN
        GRANT segext_writer TO segext_admin;
    END IF;
END
$roles$;

GRANT USAGE ON SCHEMA segext TO segext_reader;

-- segext_reader: read.
GRANT SELECT ON segext.companies, segext.segment_groups, segext.segments,
    segext.channels, segext.channel_segments TO segext_reader;

-- segext_writer: read and write its company (and rename it).
GRANT INSERT, UPDATE, DELETE ON segext.segment_groups, segext.segments,
    segext.channels, segext.channel_segments TO segext_writer;
GRANT UPDATE (name) ON segext.companies TO segext_writer;
REVOKE EXECUTE ON FUNCTION segext.reorder_segments(segext.objectid, pg_catalog.int4[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.reorder_segments(segext.objectid, pg_catalog.int4[]) TO segext_writer;

-- segext_admin: every company, their limits, creation and deletion.
GRANT INSERT, UPDATE, DELETE ON segext.companies TO segext_admin;
REVOKE EXECUTE ON FUNCTION segext.create_company(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.create_company(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) TO segext_admin;

-- Trigger functions are not for calling, nor is the customers_count writer.
REVOKE EXECUTE ON FUNCTION segext.companies_rules(), segext.segments_rules(),
    segext.segment_groups_rules(), segext.channels_rules(),
    segext.channel_segments_rules(), segext.channel_mix_check(),
    segext.channel_mix_write(), segext.channel_mix_sync() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.add_customers_count(segext.objectid, segext.objectid, pg_catalog.int8) FROM PUBLIC;

-- Row level security: a row is visible and changeable when it belongs to the
-- current company, or to anyone when the user is a member of segext_admin.
-- The current company is read once per query ((SELECT ...) is an InitPlan).
ALTER TABLE segext.companies ENABLE ROW LEVEL SECURITY;
CREATE POLICY company_tenant ON segext.companies
    USING (id OPERATOR(segext.=) (SELECT segext.current_company_id()))
    WITH CHECK (id OPERATOR(segext.=) (SELECT segext.current_company_id()));
COMMENT ON POLICY company_tenant ON segext.companies IS 'the current company only';
CREATE POLICY company_admin ON segext.companies
    USING (pg_catalog.pg_has_role('segext_admin', 'member'))
    WITH CHECK (pg_catalog.pg_has_role('segext_admin', 'member'));
COMMENT ON POLICY company_admin ON segext.companies IS 'members of segext_admin: every company';

-- enable_tenant_policies gives a company-scoped table the two policies every
-- such table has; install scripts call it for each table.
CREATE FUNCTION segext.enable_tenant_policies(tbl pg_catalog.regclass) RETURNS pg_catalog.void
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog AS $$
DECLARE
    name pg_catalog.text := (SELECT c.relname FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) tbl);
BEGIN
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s '
        'USING (company_id OPERATOR(segext.=) (SELECT segext.current_company_id())) '
        'WITH CHECK (company_id OPERATOR(segext.=) (SELECT segext.current_company_id()))',
        name || '_tenant', tbl);
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name || '_tenant', tbl, 'rows of the current company only');
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s '
        'USING (pg_catalog.pg_has_role(%L, %L)) WITH CHECK (pg_catalog.pg_has_role(%L, %L))',
        name || '_admin', tbl, 'segext_admin', 'member', 'segext_admin', 'member');
    EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L',
        name || '_admin', tbl, 'members of segext_admin: every company');
END
$$;
COMMENT ON FUNCTION segext.enable_tenant_policies(pg_catalog.regclass) IS
'install-time helper: enables row level security on a company-scoped table with its tenant and admin policies';
REVOKE EXECUTE ON FUNCTION segext.enable_tenant_policies(pg_catalog.regclass) FROM PUBLIC;

SELECT segext.enable_tenant_policies(t) FROM (VALUES
    ('segext.segment_groups'::pg_catalog.regclass), ('segext.segments'),
    ('segext.channels'), ('segext.channel_segments')) AS v(t);
-- 85: privileges on the API for the segext roles (created in 80_roles.sql).
-- segext_reader reads (BI tools); segext_writer, a member of segext_reader,
-- also writes through the views; segext_admin is a member of segext_writer.
-- The views are security_invoker: the privileges on the private tables and
-- their row level security (80_roles.sql) apply to the caller as well.

GRANT USAGE ON SCHEMA segext_api TO segext_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA segext_api TO segext_reader;
GRANT INSERT, UPDATE, DELETE ON segext_api.segments, segext_api.segment_groups,
    segext_api.channels TO segext_writer;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA segext_api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext_api.channel_forecast(segext.objectid, pg_catalog.numeric),
    segext_api.commission_value(segext.objectid, pg_catalog.numeric)
    TO segext_reader;
GRANT EXECUTE ON FUNCTION segext_api.reorder_segments(pg_catalog.int4[]) TO segext_writer;
GRANT INSERT, UPDATE, DELETE ON segext_api.customers, segext_api.transactions TO segext_writer;
REVOKE ALL ON FUNCTION segext.api_company(), segext.api_segment(segext.objectid, pg_catalog.text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.api_company(), segext.api_segment(segext.objectid, pg_catalog.text) TO segext_reader;
GRANT EXECUTE ON FUNCTION segext_api.segment_customers(segext.objectid, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text),
    segext_api.classify(pg_catalog.jsonb) TO segext_reader;
GRANT EXECUTE ON FUNCTION segext_api.activate_segment(segext.objectid), segext_api.deactivate_segment(segext.objectid),
    segext_api.refresh_segment(segext.objectid), segext_api.refresh(),
    segext_api.add_segment_members(segext.objectid, segext.objectid[]),
    segext_api.remove_segment_members(segext.objectid, segext.objectid[]) TO segext_writer;
-- 85: privileges and row level security of customers, transactions and
-- membership (history and counts are written by a SECURITY DEFINER trigger), in the shape of 80_roles.sql: a row is visible and changeable
-- when it belongs to the current company, or to anyone when the user is a
-- member of segext_admin.

GRANT SELECT ON segext.customers, segext.transactions, segext.memberships,
    segext.membership_history TO segext_reader;
GRANT INSERT, UPDATE, DELETE ON segext.customers, segext.transactions TO segext_writer;
GRANT INSERT, DELETE ON segext.memberships TO segext_writer;
REVOKE EXECUTE ON FUNCTION segext.customers_check(), segext.transactions_check(),
    segext.transactions_returned(), segext.memberships_changed() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION segext.refresh_segment(segext.objectid), segext.refresh_company(segext.objectid),
    segext.activate_segment(segext.objectid), segext.deactivate_segment(segext.objectid),
    segext.add_segment_members(segext.objectid, segext.objectid[]),
    segext.remove_segment_members(segext.objectid, segext.objectid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION segext.refresh_segment(segext.objectid), segext.refresh_company(segext.objectid),
    segext.activate_segment(segext.objectid), segext.deactivate_segment(segext.objectid),
    segext.add_segment_members(segext.objectid, segext.objectid[]),
    segext.remove_segment_members(segext.objectid, segext.objectid[]) TO segext_writer;

SELECT segext.enable_tenant_policies(t) FROM (VALUES
    ('segext.customers'::pg_catalog.regclass), ('segext.transactions'),
    ('segext.memberships'), ('segext.membership_history')) AS v(t);
