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
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    criteria        segext.criteria,
    PRIMARY KEY (company_id, id),
    UNIQUE (company_id, number),
    UNIQUE (company_id, name),
    UNIQUE (company_id, ref),
    FOREIGN KEY (company_id, group_id) REFERENCES segext.segment_groups (company_id, id)
);
COMMENT ON TABLE segext.segments IS 'segments: 0 "All" and 1 "Default" are built in, user segments are numbered 2-65535';
COMMENT ON COLUMN segext.segments.criteria IS 'segment condition (in_segment criteria name other segments of the company by id); NULL for a manual segment whose members are assigned explicitly';

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
