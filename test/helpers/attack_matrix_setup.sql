-- test/helpers/attack_matrix_setup.sql: fixture and attempt generator of
-- test/scripts/tenancy_attack_matrix.sh (run as a superuser, psql variable
-- "suffix" names the login roles of this run).
--
-- Company A (the attackers' own) and company B (the victim).  B's segment,
-- channel and customer share an id with one of A's ("shared" ids: ids are
-- unique per company only), the rest of B's ids are B's alone.  Every text
-- and id of B that A does not also have is a marker: a marker in a row, a
-- result or an error an attacker receives is a leak (attack.markers).
-- Attempts are generated from the catalog: every relation and function of
-- schemas segext and segext_api that belongs to the extension.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA attack;
GRANT USAGE ON SCHEMA attack TO PUBLIC;

-- Fixed ids: A, B, objects with an id A and B share, ids nobody has (ghosts).
CREATE TABLE attack.ids (name text PRIMARY KEY, id segext.objectid NOT NULL);
INSERT INTO attack.ids VALUES
    ('A',            'aaaaaaaaaaaaaaaa00000001'),
    ('B',            'bbbbbbbbbbbbbbbb00000001'),
    ('shared_seg',   'cccccccccccccccc00000011'),
    ('shared_chan',  'cccccccccccccccc00000021'),
    ('shared_cust',  'cccccccccccccccc00000031'),
    ('A_field_seg',  'aaaaaaaaaaaaaaaa00000012'),
    ('A_cust',       'aaaaaaaaaaaaaaaa00000032'),
    ('B_field_seg',  'bbbbbbbbbbbbbbbb00000012'),
    ('B_count_seg',  'bbbbbbbbbbbbbbbb00000013'),
    ('B_chan',       'bbbbbbbbbbbbbbbb00000022'),
    ('B_cust',       'bbbbbbbbbbbbbbbb00000032'),
    ('B_cust_off',   'bbbbbbbbbbbbbbbb00000033'),
    ('B_sale',       'bbbbbbbbbbbbbbbb00000041'),
    ('ghost_company','dddddddddddddddd00000001'),
    ('ghost_seg',    'dddddddddddddddd00000011'),
    ('ghost_chan',   'dddddddddddddddd00000021'),
    ('ghost_cust',   'dddddddddddddddd00000031');
GRANT SELECT ON attack.ids TO PUBLIC;

SELECT id AS a FROM attack.ids WHERE name = 'A' \gset
SELECT id AS b FROM attack.ids WHERE name = 'B' \gset

-- Company A: room to spare.  Company B: at its maximum of segments (3 user
-- segments) and channels (2), so its limits show in any error about them.
INSERT INTO segext.companies (id, name, max_segments, max_channels)
    VALUES (:'a', 'Alpha Attackers', 50, 50), (:'b', 'Zorblax Secret Holdings', 3, 2);
INSERT INTO segext.segment_groups (company_id, id, name)
    VALUES (:'a', 1, 'Alpha Group'), (:'b', 1, 'Zorblax Group');
INSERT INTO segext.segments (company_id, id, number, name, ref, description, group_id, criteria, active) VALUES
    (:'a', 'cccccccccccccccc00000011', 2, 'Alpha Manual', 'alpha-manual', 'alpha description', 1, NULL, true),
    (:'a', 'aaaaaaaaaaaaaaaa00000012', 3, 'Alpha Field', NULL, NULL, 0, '[{"field":"act","op":"eq","value":"web"}]', true),
    (:'b', 'cccccccccccccccc00000011', 4, 'Zorblax Manual', 'zorblax-manual-ref', 'zorblax confidential plan', 1, NULL, false),
    (:'b', 'bbbbbbbbbbbbbbbb00000012', 3, 'Zorblax Field', 'zorblax-field-ref', NULL, 1, '[{"field":"act","op":"eq","value":"web"}]', true),
    (:'b', 'bbbbbbbbbbbbbbbb00000013', 2, 'Zorblax Count', NULL, NULL, 0, '[{"type": "transaction_count", "min": 1, "max": 100}]', true);
INSERT INTO segext.channels (company_id, id, name, commission) VALUES
    (:'a', 'cccccccccccccccc00000021', 'Alpha Web', 0.1),
    (:'b', 'cccccccccccccccc00000021', 'Zorblax Channel One', 0.4242),
    (:'b', 'bbbbbbbbbbbbbbbb00000022', 'Zorblax Channel Two', 0.4242);
INSERT INTO segext.customers (company_id, id, external_id, first_name, last_name, email, phone, channel_id, labels, attributes, active) VALUES
    (:'a', 'cccccccccccccccc00000031', 'alpha-ext-shared', 'Alicia', 'Alpha', 'alicia@alpha.example', '+100', 'cccccccccccccccc00000021', '[]', '{}', true),
    (:'a', 'aaaaaaaaaaaaaaaa00000032', 'alpha-ext-1', 'Albert', 'Alpha', 'albert@alpha.example', '+101', NULL, '[]', '{}', true),
    (:'b', 'cccccccccccccccc00000031', 'zorblax-ext-shared', 'Zorblaxina', 'Zorblaxdottir', 'zorblaxina@secret.example', '+4242001', 'cccccccccccccccc00000021', '[{"key": "zorblaxtier", "value": "zorblaxgold"}]', '{"zorblaxattr": "zorblaxvalue"}', true),
    (:'b', 'bbbbbbbbbbbbbbbb00000032', 'zorblax-ext-1', 'Zorbert', 'Zorblaxson', 'zorbert@secret.example', '+4242002', 'bbbbbbbbbbbbbbbb00000022', '[]', '{}', true),
    (:'b', 'bbbbbbbbbbbbbbbb00000033', 'zorblax-ext-off', 'Zorbina', 'Offline', 'zorbina@secret.example', '+4242003', NULL, '[]', '{}', false);
INSERT INTO segext.transactions (company_id, id, customer_id, amount, pos_id, items) VALUES
    (:'a', 'aaaaaaaaaaaaaaaa00000041', 'aaaaaaaaaaaaaaaa00000032', 10, 'alpha-pos', '[]'),
    (:'b', 'bbbbbbbbbbbbbbbb00000041', 'bbbbbbbbbbbbbbbb00000032', 4242.42, 'zorblax-pos', '[{"sku": "ZORBLAX-SKU", "maker": "Zorblaxmaker"}]');
SELECT segext.refresh_company(:'a') + segext.refresh_company(:'b') AS refreshed \gset
SET segext.company_id = :'a';
SELECT segext.add_segment_members('cccccccccccccccc00000011', ARRAY['cccccccccccccccc00000031']::segext.objectid[]) \gset
RESET segext.company_id;

-- Markers: every id and text of B's rows that no row of A holds (built-in
-- names are common to all), plus B's limits, commission and amounts.
CREATE TABLE attack.markers (token text PRIMARY KEY, regex bool NOT NULL DEFAULT false);
GRANT SELECT ON attack.markers TO PUBLIC;
DO $$
DECLARE
    r record;
    sql text;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, a.attname,
               EXISTS (SELECT FROM pg_attribute k WHERE k.attrelid = c.oid AND k.attname = 'company_id' AND NOT k.attisdropped) AS has_company
          FROM pg_class c
          JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segext'
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE c.relkind = 'r'
           AND a.atttypid IN ('text'::regtype, 'segext.objectid'::regtype, 'jsonb'::regtype)
    LOOP
        IF r.has_company THEN
            sql := format('SELECT DISTINCT v FROM (SELECT x.%1$I::text AS v FROM %2$s x WHERE x.company_id::text = %3$L) b
                           WHERE NOT EXISTS (SELECT FROM %2$s y WHERE y.company_id::text <> %3$L AND y.%1$I::text = b.v)',
                          r.attname, r.rel, (SELECT id FROM attack.ids WHERE name = 'B'));
        ELSIF r.rel = 'segext.companies'::regclass THEN
            sql := format('SELECT x.%1$I::text FROM segext.companies x WHERE x.id::text = %2$L', r.attname, (SELECT id FROM attack.ids WHERE name = 'B'));
        ELSE
            CONTINUE;
        END IF;
        EXECUTE format('INSERT INTO attack.markers (token) SELECT lower(v) FROM (%s) m(v)
                        WHERE v IS NOT NULL AND char_length(v) >= 5 AND v NOT IN (''[]'', ''{}'')
                        ON CONFLICT DO NOTHING', sql);
    END LOOP;
END
$$;
-- jsonb columns give whole documents; their parts are markers too.
INSERT INTO attack.markers (token) VALUES ('zorblax'), ('4242'), ('0.4242'), ('424.2')
ON CONFLICT DO NOTHING;
INSERT INTO attack.markers (token, regex) VALUES
    ('maximum of 3 segments', true), ('has 3 user segments', true), ('max_segments is 3', true),
    ('maximum of 2 channels', true), ('has 2 channels', true), ('max_channels is 2', true);

-- attack.leaked(text, allowed) lists the markers in a text, except those the
-- attempt itself passed (allowed: the attempt's own SQL).
CREATE FUNCTION attack.leaked(t text, allowed text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(m.token ORDER BY m.token)
      FROM attack.markers m
     WHERE CASE WHEN m.regex THEN lower(t) ~ m.token ELSE strpos(lower(t), m.token) > 0 END
       AND NOT CASE WHEN m.regex THEN lower(coalesce(allowed, '')) ~ m.token
                    ELSE strpos(lower(coalesce(allowed, '')), m.token) > 0 END
$$;
CREATE FUNCTION attack.leaks(t text, allowed text) RETURNS bool
LANGUAGE sql STABLE AS $$ SELECT attack.leaked(t, allowed) IS NOT NULL $$;

-- attack.b_checksum() digests every row of B in every table of the
-- extension that has a company_id (and B's row of companies), read as the
-- superuser, inside the attacker's transaction: a write to B changes it.
DO $$
DECLARE
    parts text;
BEGIN
    SELECT string_agg(format('SELECT %L || to_jsonb(x)::text FROM %s x WHERE x.company_id::text = %L',
                             c.oid::regclass::text, c.oid::regclass, (SELECT id FROM attack.ids WHERE name = 'B')),
                      ' UNION ALL ' ORDER BY c.oid::regclass::text)
      INTO parts
      FROM pg_class c
      JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segext'
     WHERE c.relkind = 'r'
       AND EXISTS (SELECT FROM pg_attribute k WHERE k.attrelid = c.oid AND k.attname = 'company_id' AND NOT k.attisdropped);
    EXECUTE format($f$
        CREATE FUNCTION attack.b_checksum() RETURNS text
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET enable_seqscan = on AS $b$
            SELECT md5(string_agg(t, E'\n' ORDER BY t)) FROM (
                SELECT 'companies' || to_jsonb(x)::text FROM segext.companies x WHERE x.id::text = %L
                UNION ALL %s) AS rows(t)
        $b$
        $f$, (SELECT id FROM attack.ids WHERE name = 'B'), parts);
END
$$;
CREATE TABLE attack.baseline AS SELECT attack.b_checksum() AS checksum;

-- Sample values of each argument type.  kind: 'b' names an object of B
-- alone (its control is the same call with the ghost id), 'shared' an id A
-- and B both use, 'ghost' an id nobody has, 'any' a value of no company.
-- hint: the argument's name must contain it (NULL: any argument).
CREATE TABLE attack.samples (
    type regtype NOT NULL, hint text, value text NOT NULL, kind text NOT NULL, ghost text);
INSERT INTO attack.samples
SELECT 'segext.objectid', h, format('%L::segext.objectid', (SELECT id FROM attack.ids i WHERE i.name = v.n)), k,
       CASE WHEN g IS NOT NULL THEN format('%L::segext.objectid', (SELECT id FROM attack.ids i WHERE i.name = g)) END
  FROM (VALUES ('compan', 'B', 'b', 'ghost_company'), ('compan', 'ghost_company', 'ghost', NULL),
               ('segment', 'B_field_seg', 'b', 'ghost_seg'), ('segment', 'B_count_seg', 'b', 'ghost_seg'),
               ('segment', 'shared_seg', 'shared', NULL), ('segment', 'ghost_seg', 'ghost', NULL),
               ('channel', 'B_chan', 'b', 'ghost_chan'), ('channel', 'shared_chan', 'shared', NULL),
               ('channel', 'ghost_chan', 'ghost', NULL),
               ('customer', 'B_cust', 'b', 'ghost_cust'), ('customer', 'shared_cust', 'shared', NULL),
               ('customer', 'ghost_cust', 'ghost', NULL),
               (NULL, 'B', 'b', 'ghost_company'), (NULL, 'shared_seg', 'shared', NULL),
               (NULL, 'ghost_company', 'ghost', NULL)) AS v(h, n, k, g);
INSERT INTO attack.samples VALUES
    ('segext.objectid[]', 'customer', 'ARRAY[''bbbbbbbbbbbbbbbb00000032'', ''bbbbbbbbbbbbbbbb00000033'']::segext.objectid[]', 'b',
     'ARRAY[''dddddddddddddddd00000031'', ''dddddddddddddddd00000032'']::segext.objectid[]'),
    ('segext.objectid[]', 'customer', 'ARRAY[''cccccccccccccccc00000031'']::segext.objectid[]', 'shared', NULL),
    ('segext.objectid[]', 'customer', 'ARRAY[''dddddddddddddddd00000031'', ''dddddddddddddddd00000032'']::segext.objectid[]', 'ghost', NULL),
    ('segext.objectid[]', NULL, 'ARRAY[''bbbbbbbbbbbbbbbb00000012'']::segext.objectid[]', 'b', 'ARRAY[''dddddddddddddddd00000011'']::segext.objectid[]'),
    ('segext.objectid[]', NULL, 'ARRAY[''dddddddddddddddd00000011'']::segext.objectid[]', 'ghost', NULL),
    ('text', NULL, '''activated''', 'any', NULL),
    ('int4', NULL, '2', 'any', NULL),
    ('int4[]', NULL, 'ARRAY[3, 2]', 'any', NULL),
    ('int8', NULL, '1', 'any', NULL),
    ('numeric', NULL, '1000', 'any', NULL),
    ('bool', NULL, 'true', 'any', NULL),
    ('jsonb', NULL, '''{"act": "web"}''::jsonb', 'any', NULL),
    ('timestamptz', NULL, 'pg_catalog.now()', 'any', NULL),
    ('date', NULL, 'CURRENT_DATE', 'any', NULL),
    ('bytea', NULL, 'NULL::bytea', 'any', NULL),
    ('oid', NULL, '0', 'any', NULL),
    ('regclass', NULL, '''segext.segments''::regclass', 'any', NULL),
    ('cstring', NULL, '''bbbbbbbbbbbbbbbb00000012''::cstring', 'any', NULL),
    ('segext.criteria', NULL, '''[{"field":"act","op":"eq","value":"web"}]''::segext.criteria', 'any', NULL),
    ('segext.criteria[]', NULL, 'ARRAY[''[{"field":"act","op":"eq","value":"web"}]''::segext.criteria]', 'any', NULL);

-- Attempts.  sql returns one row (leaked rows, rows, sample of the leaked
-- rows); control: the attempt with each of B's ids replaced by a ghost id,
-- whose outcome must be the same (else the outcome tells of B).
CREATE TABLE attack.attempts (
    id serial PRIMARY KEY, target text NOT NULL, op text NOT NULL, sql text NOT NULL,
    key text, control_key text, control int, index_only bool NOT NULL DEFAULT false);
GRANT SELECT ON attack.attempts TO PUBLIC;

-- Functions: every one the extension has in segext and segext_api, with
-- every combination of sample arguments (the trailing defaults left out,
-- and given).
DO $$
DECLARE
    f record;
    shape int;
    nargs int;
    combos text[][];
    lists jsonb;
    i int;
    call text;
    r record;
BEGIN
    FOR f IN
        SELECT p.oid, p.oid::regprocedure::text AS sig, p.proname, n.nspname, p.pronargs, p.pronargdefaults,
               ARRAY(SELECT unnest(p.proargtypes::oid[])) AS types, coalesce(p.proargnames, '{}') AS names, p.proretset, p.prokind, p.provolatile,
               p.prorettype
          FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segext'
         WHERE n.nspname IN ('segext', 'segext_api')
         ORDER BY 2
    LOOP
        FOR shape IN 0 .. CASE WHEN f.pronargdefaults > 0 THEN 1 ELSE 0 END LOOP
            nargs := CASE shape WHEN 0 THEN f.pronargs - f.pronargdefaults ELSE f.pronargs END;
            -- one row per combination: arrays of values, kinds and ghosts
            CREATE TEMP TABLE IF NOT EXISTS combo (vals text[], kinds text[], ghosts text[]);
            TRUNCATE combo;
            INSERT INTO combo VALUES ('{}', '{}', '{}');
            FOR i IN 1 .. nargs LOOP
                CREATE TEMP TABLE IF NOT EXISTS combo_next (LIKE combo);
                TRUNCATE combo_next;
                INSERT INTO combo_next
                SELECT c.vals || s.value, c.kinds || s.kind, c.ghosts || coalesce(s.ghost, s.value)
                  FROM combo c,
                       LATERAL (SELECT x.value, x.kind, x.ghost FROM attack.samples x
                                 WHERE x.type = f.types[i]
                                   AND (x.hint IS NULL AND NOT EXISTS (
                                            SELECT FROM attack.samples y WHERE y.type = f.types[i] AND y.hint IS NOT NULL
                                               AND strpos(coalesce(f.names[i], ''), y.hint) > 0)
                                        OR strpos(coalesce(f.names[i], ''), x.hint) > 0)
                                UNION ALL
                                -- a type without samples (pseudo-types): an untyped NULL
                                SELECT 'NULL', 'any', NULL
                                 WHERE NOT EXISTS (SELECT FROM attack.samples x WHERE x.type = f.types[i])) s;
                TRUNCATE combo;
                INSERT INTO combo SELECT * FROM combo_next;
            END LOOP;
            FOR r IN SELECT * FROM combo LOOP
                call := format('%I.%I(%s)', f.nspname, f.proname, array_to_string(r.vals, ', '));
                INSERT INTO attack.attempts (target, op, key, control_key, sql)
                VALUES (f.sig, 'call', call,
                        -- an immutable function only computes on its arguments:
                        -- other ids give other results, and tell nothing of B
                        CASE WHEN 'b' = ANY (r.kinds) AND f.provolatile <> 'i'
                             THEN format('%I.%I(%s)', f.nspname, f.proname, array_to_string(r.ghosts, ', ')) END,
                        CASE WHEN f.proretset
                             THEN format('SELECT count(*) FILTER (WHERE attack.leaks(to_jsonb(r)::text, %1$L)), count(*), '
                                         'left(string_agg(to_jsonb(r)::text, '' '' ORDER BY to_jsonb(r)::text), 400) FROM %2$s AS r',
                                         call, call)
                             ELSE format('SELECT count(*) FILTER (WHERE attack.leaks(to_jsonb(r)::text, %1$L)), count(*), '
                                         'left(string_agg(to_jsonb(r)::text, '' ''), 400) FROM (SELECT %2$s AS v) AS r',
                                         call, call) END);
            END LOOP;
        END LOOP;
    END LOOP;
    UPDATE attack.attempts a SET control = c.id
      FROM attack.attempts c WHERE c.key = a.control_key AND a.control_key IS NOT NULL;
END
$$;

-- Relations: read B's rows, insert a copy of one under a new id, upsert it,
-- update and delete B's rows, move A's rows to B; insert and update rows of A
-- that refer to B's objects.  The sample row of each relation and company
-- is the one with the fewest nulls, read as that company (views show the
-- current company's rows).
CREATE TABLE attack.sample_rows (rel regclass, company text, row jsonb, PRIMARY KEY (rel, company));
DO $$
DECLARE
    r record;
    row jsonb;
    company text;
BEGIN
    FOREACH company IN ARRAY ARRAY['A', 'B'] LOOP
        PERFORM set_config('segext.company_id', (SELECT id::text FROM attack.ids WHERE name = company), false);
        FOR r IN
            SELECT c.oid::regclass AS rel
              FROM pg_class c
              JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
              JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segext'
             WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND c.relnamespace::regnamespace::text IN ('segext', 'segext_api')
        LOOP
            IF EXISTS (SELECT FROM pg_attribute k WHERE k.attrelid = r.rel AND k.attname = 'company_id' AND NOT k.attisdropped) THEN
                EXECUTE format('SELECT to_jsonb(x) FROM %s x WHERE x.company_id::text = %L
                                 ORDER BY (SELECT count(*) FROM jsonb_each(to_jsonb(x)) AS e WHERE e.value = ''null''), to_jsonb(x)::text LIMIT 1',
                               r.rel, current_setting('segext.company_id')) INTO row;
            ELSIF r.rel = 'segext.companies'::regclass THEN
                EXECUTE format('SELECT to_jsonb(x) FROM %s x WHERE x.id::text = %L', r.rel, current_setting('segext.company_id')) INTO row;
            ELSE
                EXECUTE format('SELECT to_jsonb(x) FROM %s x
                                 ORDER BY (SELECT count(*) FROM jsonb_each(to_jsonb(x)) AS e WHERE e.value = ''null''), to_jsonb(x)::text LIMIT 1',
                               r.rel) INTO row;
            END IF;
            INSERT INTO attack.sample_rows VALUES (r.rel, company, row);
        END LOOP;
    END LOOP;
    PERFORM set_config('segext.company_id', '', false);
END
$$;

-- References: a row of A whose reference columns name an object of B alone,
-- inserted (a copy under a fresh id) and written over A's row; the control
-- names ids nobody has.  A column refers to segments, channels, customers or
-- sales by its name; channels.segment_mix holds segment ids.
DO $$
DECLARE
    r record;
    cols text;
    ref record;
    fresh jsonb;
    attacked jsonb;
    control jsonb;
    ret text := 'SELECT count(*) FILTER (WHERE attack.leaks(to_jsonb(r)::text, %1$L)), count(*), '
                'left(string_agg(to_jsonb(r)::text, '' '' ORDER BY to_jsonb(r)::text), 400) FROM %2$s AS r';
    dml text;
    control_id int;
    op text;
BEGIN
    FOR r IN SELECT s.rel, s.row, s.rel::text AS name FROM attack.sample_rows s
              WHERE s.company = 'A' AND s.row IS NOT NULL ORDER BY 3
    LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
          INTO cols
          FROM pg_attribute a WHERE a.attrelid = r.rel AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attgenerated = '' AND a.attidentity <> 'a';
        FOR ref IN
            SELECT a.attname::text AS col, v.b_id, v.ghost_id
              FROM pg_attribute a
              JOIN (VALUES ('segment', 'B_field_seg', 'ghost_seg'), ('channel', 'B_chan', 'ghost_chan'),
                           ('customer', 'B_cust', 'ghost_cust'), ('returns', 'B_sale', 'ghost_company')) AS k(hint, b, g)
                ON strpos(a.attname, k.hint) = 1
              CROSS JOIN LATERAL (SELECT (SELECT id::text FROM attack.ids WHERE name = k.b) AS b_id,
                                         (SELECT id::text FROM attack.ids WHERE name = k.g) AS ghost_id) AS v
             WHERE a.attrelid = r.rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
               AND (a.atttypid = 'segext.objectid'::regtype OR a.attname = 'segment_mix')
        LOOP
            FOREACH op IN ARRAY ARRAY['insert_ref', 'update_ref'] LOOP
                control_id := NULL;
                FOR i IN 1 .. 2 LOOP    -- the control first, then the attack
                    fresh := r.row;
                    IF ref.col = 'segment_mix' THEN
                        fresh := fresh || jsonb_build_object(ref.col, jsonb_build_array(jsonb_build_object(
                                     'segment_id', CASE i WHEN 1 THEN ref.ghost_id ELSE ref.b_id END, 'distribution', 1)));
                    ELSE
                        fresh := fresh || jsonb_build_object(ref.col, CASE i WHEN 1 THEN ref.ghost_id ELSE ref.b_id END);
                    END IF;
                    IF ref.col = 'returns_id' THEN fresh := fresh || '{"amount": -1}'; END IF;
                    IF op = 'insert_ref' THEN
                        IF fresh ? 'id' AND jsonb_typeof(fresh -> 'id') = 'string' THEN
                            fresh := fresh || jsonb_build_object('id', 'eeeeeeeeeeeeeeee00000002');
                        END IF;
                        IF fresh ? 'name' THEN fresh := fresh || '{"name": "Attack reference"}'; END IF;
                        IF fresh ? 'number' THEN fresh := fresh || '{"number": 4001}'; END IF;
                        IF fresh ? 'ref' THEN fresh := fresh || '{"ref": null}'; END IF;
                        IF fresh ? 'external_id' THEN fresh := fresh || '{"external_id": "attack-reference"}'; END IF;
                        dml := format('WITH i AS (INSERT INTO %1$s (%2$s) SELECT %2$s FROM jsonb_populate_record(NULL::%1$s, %3$L) RETURNING *) ',
                                      r.name, cols, fresh);
                        dml := dml || format(ret, dml, 'i');
                    ELSE
                        dml := format('WITH u AS (UPDATE %1$s AS t SET %2$I = (jsonb_populate_record(NULL::%1$s, %3$L)).%2$I '
                                      'WHERE to_jsonb(t) = %4$L RETURNING t.*) ',
                                      r.name, ref.col, fresh, r.row);
                        dml := dml || format(ret, dml, 'u');
                    END IF;
                    INSERT INTO attack.attempts (target, op, sql, control)
                    VALUES (r.name, op || ':' || ref.col, dml, control_id)
                    RETURNING id INTO control_id;
                END LOOP;
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;

-- attack.scrub(row) keeps B's ids in a row but replaces its texts and
-- documents that hold markers, so that an error echoing them is caught.
CREATE FUNCTION attack.scrub(doc jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_object_agg(key,
             CASE WHEN NOT attack.leaks(value::text, '') THEN value
                  WHEN jsonb_typeof(value) = 'string' AND value #>> '{}' ~ '^[0-9a-f]{24}$' THEN value
                  WHEN jsonb_typeof(value) = 'string' THEN '"attack"'
                  WHEN jsonb_typeof(value) = 'array' THEN '[]'
                  WHEN jsonb_typeof(value) = 'object' THEN '{}'
                  ELSE 'null' END)
      FROM jsonb_each(doc)
$$;

DO $$
DECLARE
    r record;
    cols text;
    setcol text;
    pk text;
    fresh jsonb;
    b text := (SELECT id FROM attack.ids WHERE name = 'B');
    a text := (SELECT id FROM attack.ids WHERE name = 'A');
    ret text := 'SELECT count(*) FILTER (WHERE attack.leaks(to_jsonb(r)::text, %1$L)), count(*), '
                'left(string_agg(to_jsonb(r)::text, '' '' ORDER BY to_jsonb(r)::text) '
                'FILTER (WHERE attack.leaks(to_jsonb(r)::text, %1$L)), 400) FROM %2$s AS r';
    dml text;
BEGIN
    FOR r IN SELECT s.rel, attack.scrub(s.row) AS row, s.rel::text AS name,
                    EXISTS (SELECT FROM pg_attribute k WHERE k.attrelid = s.rel AND k.attname = 'company_id' AND NOT k.attisdropped) AS has_company
               FROM attack.sample_rows s WHERE s.company = 'B' ORDER BY 3
    LOOP
        -- SELECT: every visible row, counting B's
        INSERT INTO attack.attempts (target, op, sql) VALUES (r.name, 'select', format(ret, '', r.name));
        -- the column an UPDATE sets to itself: name, else the first one not in the key
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '' AND a.attidentity <> 'a'),
               (array_agg(quote_ident(a.attname) ORDER BY a.attname <> 'name', a.attnum)
                    FILTER (WHERE a.attname NOT IN ('company_id', 'id') AND a.attgenerated = '' AND a.attidentity <> 'a'))[1]
          INTO cols, setcol
          FROM pg_attribute a WHERE a.attrelid = r.rel AND a.attnum > 0 AND NOT a.attisdropped;
        dml := format('WITH u AS (UPDATE %1$s AS t SET %2$s = t.%2$s WHERE attack.leaks(to_jsonb(t)::text, '''') RETURNING t.*) ',
                      r.name, setcol);
        INSERT INTO attack.attempts (target, op, sql) VALUES (r.name, 'update', dml || format(ret, '', 'u'));
        dml := format('WITH d AS (DELETE FROM %1$s AS t WHERE attack.leaks(to_jsonb(t)::text, '''') RETURNING t.*) ', r.name);
        INSERT INTO attack.attempts (target, op, sql) VALUES (r.name, 'delete', dml || format(ret, '', 'd'));
        IF r.has_company THEN
            dml := format('WITH u AS (UPDATE %1$s AS t SET company_id = %2$L::segext.objectid WHERE t.company_id::text = %3$L RETURNING t.*) ', r.name, b, a);
            INSERT INTO attack.attempts (target, op, sql) VALUES (r.name, 'move_to_b', dml || format(ret, dml, 'u'));
        END IF;
        IF r.row IS NOT NULL THEN
            -- a copy of B's row under a fresh id and name
            fresh := r.row;
            IF fresh ? 'id' AND jsonb_typeof(fresh -> 'id') = 'string' THEN
                fresh := fresh || jsonb_build_object('id', 'eeeeeeeeeeeeeeee00000001');
            END IF;
            IF fresh ? 'name' THEN fresh := fresh || '{"name": "Attack copy"}'; END IF;
            IF fresh ? 'number' THEN fresh := fresh || '{"number": 4000}'; END IF;
            IF fresh ? 'ref' THEN fresh := fresh || '{"ref": null}'; END IF;
            IF fresh ? 'external_id' THEN fresh := fresh || '{"external_id": "attack-copy"}'; END IF;
            IF fresh ? 'customer_id' AND r.name LIKE '%membership%' THEN
                fresh := fresh || '{"customer_id": "bbbbbbbbbbbbbbbb00000033"}';
            END IF;
            dml := format('WITH i AS (INSERT INTO %1$s (%2$s) SELECT %2$s FROM jsonb_populate_record(NULL::%1$s, %3$L) RETURNING *) ',
                          r.name, cols, fresh);
            INSERT INTO attack.attempts (target, op, sql) VALUES (r.name, 'insert', dml || format(ret, dml, 'i'));
            -- upsert of B's own row (PostgREST PUT): same key, the name changed
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(k.conkey, a.attnum))
              INTO pk
              FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
             WHERE k.conrelid = r.rel AND k.contype = 'p';
            IF pk IS NULL AND r.has_company
               AND EXISTS (SELECT FROM pg_attribute k WHERE k.attrelid = r.rel AND k.attname = 'id' AND NOT k.attisdropped) THEN
                pk := 'company_id, id';    -- a view shows its table's key first
            END IF;
            IF pk IS NOT NULL THEN
                dml := format('WITH i AS (INSERT INTO %1$s (%2$s) SELECT %2$s FROM jsonb_populate_record(NULL::%1$s, %3$L) '
                              'ON CONFLICT (%4$s) DO UPDATE SET %5$s = EXCLUDED.%5$s RETURNING *) ',
                              r.name, cols, r.row || CASE WHEN r.row ? 'name' THEN '{"name": "Attack upsert"}' ELSE '{}' END,
                              pk, setcol);
                INSERT INTO attack.attempts (target, op, sql) VALUES (r.name, 'upsert', dml || format(ret, dml, 'i'));
            END IF;
        END IF;
    END LOOP;
END
$$;

-- Results, one row per attempt, actor and way.
CREATE TABLE attack.results (
    actor text NOT NULL, way text NOT NULL, attempt int NOT NULL,
    ok bool NOT NULL, leaked bigint, total bigint, sample text, checksum text,
    sqlstate text, message text, detail text, hint text);
GRANT INSERT ON attack.results TO PUBLIC;

-- Lookups by key: B's row found by its primary key (the table's, or
-- company_id and id for a view), against the same company with keys nobody
-- has.  These run with enable_seqscan off, so the key is looked up in an
-- index, as in a table of any size: seeing a row (or an error) only when
-- the key exists would tell that B has it.
DO $$
DECLARE
    r record;
    conds text[];
    ghost_conds text[];
    k record;
    ret text := 'SELECT count(*) FILTER (WHERE attack.leaks(to_jsonb(r)::text, %1$L)), count(*), '
                'left(string_agg(to_jsonb(r)::text, '' '' ORDER BY to_jsonb(r)::text), 400) FROM %2$s AS r WHERE %3$s';
    control_id int;
BEGIN
    FOR r IN SELECT s.rel, s.row, s.rel::text AS name FROM attack.sample_rows s
              WHERE s.company = 'B' AND s.row IS NOT NULL AND s.row ? 'company_id' ORDER BY 3
    LOOP
        conds := '{}';
        ghost_conds := '{}';
        FOR k IN
            SELECT a.attname::text AS col, a.atttypid::regtype::text AS type,
                   format('%I.%s', o.oprnamespace::regnamespace::text, o.oprname) AS eq
              FROM pg_attribute a
              JOIN pg_operator o ON o.oprname = '=' AND o.oprleft = a.atttypid AND o.oprright = a.atttypid
             WHERE a.attrelid = r.rel AND NOT a.attisdropped
               AND a.attnum = ANY (coalesce(
                       (SELECT c.conkey FROM pg_constraint c WHERE c.conrelid = r.rel AND c.contype = 'p'),
                       (SELECT array_agg(x.attnum) FROM pg_attribute x WHERE x.attrelid = r.rel AND x.attname IN ('company_id', 'id'))))
             ORDER BY a.attnum
        LOOP
            conds := conds || format('r.%I OPERATOR(%s) %L::%s', k.col, k.eq, r.row ->> k.col, k.type);
            ghost_conds := ghost_conds || format('r.%I OPERATOR(%s) %L::%s', k.col, k.eq,
                CASE WHEN k.col = 'company_id' THEN r.row ->> k.col
                     WHEN k.type = 'segext.objectid' THEN 'dddddddddddddddd00000099'
                     ELSE '65000' END, k.type);
        END LOOP;
        CONTINUE WHEN cardinality(conds) < 2;
        INSERT INTO attack.attempts (target, op, sql, index_only)
        VALUES (r.name, 'lookup', format(ret, '', r.name, array_to_string(ghost_conds, ' AND ')), true)
        RETURNING id INTO control_id;
        INSERT INTO attack.attempts (target, op, sql, control, index_only)
        VALUES (r.name, 'lookup', format(ret, '', r.name, array_to_string(conds, ' AND ')), control_id, true);
    END LOOP;
END
$$;

-- Whether an attempt names an object of B's own (an admin may act on those).
ALTER TABLE attack.attempts ADD COLUMN names_b bool;
UPDATE attack.attempts SET names_b = attack.leaks(sql, '');
