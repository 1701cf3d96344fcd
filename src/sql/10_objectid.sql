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

CREATE OPERATOR pg_catalog.= (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel, HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (segext.objectid, segext.objectid) IS 'equal';
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (segext.objectid, segext.objectid) IS 'not equal';
CREATE OPERATOR pg_catalog.< (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (segext.objectid, segext.objectid) IS 'less than (created earlier)';
CREATE OPERATOR pg_catalog.<= (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (segext.objectid, segext.objectid) IS 'less than or equal';
CREATE OPERATOR pg_catalog.> (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (segext.objectid, segext.objectid) IS 'greater than (created later)';
CREATE OPERATOR pg_catalog.>= (
    LEFTARG = segext.objectid, RIGHTARG = segext.objectid, PROCEDURE = segext.objectid_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (segext.objectid, segext.objectid) IS 'greater than or equal';

CREATE OPERATOR CLASS segext.objectid_ops
    DEFAULT FOR TYPE segext.objectid USING btree AS
        OPERATOR 1 pg_catalog.< ,
        OPERATOR 2 pg_catalog.<= ,
        OPERATOR 3 pg_catalog.= ,
        OPERATOR 4 pg_catalog.>= ,
        OPERATOR 5 pg_catalog.> ,
        FUNCTION 1 segext.objectid_cmp(segext.objectid, segext.objectid),
        FUNCTION 2 segext.objectid_sortsupport(pg_catalog.internal),
        FUNCTION 4 pg_catalog.btequalimage(pg_catalog.oid);
COMMENT ON OPERATOR CLASS segext.objectid_ops USING btree IS 'btree ordering of objectid (creation order)';

CREATE OPERATOR CLASS segext.objectid_hash_ops
    DEFAULT FOR TYPE segext.objectid USING hash AS
        OPERATOR 1 pg_catalog.= ,
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
