#!/usr/bin/env bash
# test/scripts/tenancy_attack_matrix.sh: the tenancy attack matrix.  Company
# A's users (and users of no company) attack company B through every relation
# and function that the extension has in schemas segext and segext_api, read
# from the catalog (test/helpers/attack_matrix_setup.sql), each naming a
# company in every way a session can: the segext.company_id setting, the
# PostgREST claim (request.jwt.claims), the PostGraphile claim
# (jwt.claims.company_id), SET ROLE, set_config inside a function of pg_temp
# (also SECURITY DEFINER), a claim that is not JSON, an empty claim.  Each
# attacker is a login of its own, connected with psql, so that the session
# user is the attacker (or the gateway).
#
# A leak is any of:
#   read    a row of B in the result (a row holding a marker of B)
#   write   B's rows differ after the attempt (digest read by the superuser)
#   error   the error's message, detail or hint holds a marker of B that the
#           attempt did not itself pass
#   oracle  the outcome with B's ids differs from the outcome with ids that
#           exist nowhere (all ids masked)
#   unclear an internal error (SQLSTATE XX..., 58...) or an empty message
# Prints "attack matrix: N attempts, M leaks" and fails on a leak that is not
# in the known-leaks list below, and on a known leak that no longer occurs.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
db=segext_attack_$$
sfx=$$
role() { printf 'attack_%s_%s' "$1" "$sfx"; }
ungranted=$(role ungranted); reader=$(role reader); readers=$(role a_readers)
writer=$(role writer); forger=$(role forger); gateway=$(role gateway)
mixed=$(role mixed); bteam=$(role b_team); admin=$(role admin)
all_roles="$ungranted, $reader, $readers, $writer, $forger, $gateway, $mixed, $bteam, $admin"

cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $all_roles" >/dev/null 2>&1 || true
}
[ "${ATTACK_MATRIX_KEEP:-0}" = 1 ] || trap cleanup EXIT

# Known leaks: "actor way op target kind" as extended regular expressions
# matched against each leak, one per line, each with the reason it is still
# open.  The lead resolves them; an entry that matches nothing fails the test.
known_leaks=$(cat <<'KNOWN'
# None.  (A refusal of the session's company input is raised when a
# query on segext's tables starts and names no company inside it, so it
# cannot tell whether a row with some key exists.)
KNOWN
)

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION segext"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$root/test/helpers/attack_matrix_setup.sql"

a=aaaaaaaaaaaaaaaa00000001
b=bbbbbbbbbbbbbbbb00000001

# The attackers.  ungranted: a login of no segext role.  reader: reads A
# through a group role granted A.  writer: writes A.  forger: a writer with
# no company, carrying claims.  gateway: logs in like PostgREST's
# authenticator (NOINHERIT, member of segext_gateway) and switches to the
# JWT role.  mixed: a writer of A granted B as a reader only (it may read B,
# never write it).  admin: a member of segext_admin acting for A, which may
# read and write B when it names B's objects, but whose calls with an id A
# and B both use, and whose reads and writes through segext_api, concern A
# alone.  b_team: granted B, nobody is a member.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE ROLE $ungranted LOGIN;
CREATE ROLE $readers NOLOGIN IN ROLE segext_reader;
CREATE ROLE $reader LOGIN IN ROLE $readers;
CREATE ROLE $writer LOGIN IN ROLE segext_writer;
CREATE ROLE $forger LOGIN IN ROLE segext_writer;
CREATE ROLE $gateway LOGIN NOINHERIT IN ROLE segext_reader, segext_writer;
CREATE ROLE $mixed LOGIN IN ROLE segext_writer;
CREATE ROLE $bteam NOLOGIN IN ROLE segext_writer;
CREATE ROLE $admin LOGIN IN ROLE segext_admin;
DO \$\$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'segext_gateway') THEN
        GRANT segext_gateway TO $gateway;
    END IF;
    IF to_regprocedure('segext.grant_company(segext.objectid, regrole, text)') IS NOT NULL THEN
        PERFORM segext.grant_company('$a', '$readers', 'reader');
        PERFORM segext.grant_company('$a', '$writer', 'writer');
        PERFORM segext.grant_company('$a', '$mixed', 'writer');
        PERFORM segext.grant_company('$b', '$mixed', 'reader');
        PERFORM segext.grant_company('$b', '$bteam', 'writer');
    END IF;
END
\$\$;

-- Ways of naming a company: settings applied (names, vals) and mode.
-- trust: 'none' (B is out of reach), 'reads_b' (may read B, not write it),
-- 'admin' (acts for every company: only the checks described above).
CREATE TABLE attack.ways (actor text, way text, mode text, names text[], vals text[], trust text DEFAULT 'none',
                          PRIMARY KEY (actor, way));
GRANT SELECT ON attack.ways TO PUBLIC;
INSERT INTO attack.ways (actor, way, mode, names, vals)
SELECT actor, way, mode,
       CASE WHEN way = 'own' AND own IS NULL THEN '{}' ELSE names END,
       CASE WHEN way = 'own' AND own IS NULL THEN '{}' ELSE replace(vals::text, 'OWN', coalesce(own, ''))::text[] END
  FROM (VALUES ('ungranted', NULL, 'segext_reader'), ('reader', '$a', 'segext_reader'),
               ('writer', '$a', 'segext_writer'), ('forger', NULL, 'segext_writer')) AS actors(actor, own, base),
       LATERAL (VALUES
    ('own',                 'direct',   ARRAY['segext.company_id'], ARRAY['OWN']),
    ('setting_b',           'direct',   ARRAY['segext.company_id'], ARRAY['$b']),
    ('postgrest_claim_b',   'direct',   ARRAY['request.jwt.claims'], ARRAY['{"role": "' || base || '", "company_id": "$b"}']),
    ('postgraphile_claim_b','direct',   ARRAY['jwt.claims.company_id'], ARRAY['$b']),
    ('set_role_setting_b',  'direct',   ARRAY['role', 'segext.company_id'], ARRAY[base, '$b']),
    ('set_role_b_team',     'direct',   ARRAY['role'], ARRAY['$bteam']),
    ('function_setting_b',  'function', ARRAY['segext.company_id'], ARRAY['$b']),
    ('definer_own',         'definer',  ARRAY['segext.company_id'], ARRAY['OWN']),
    ('definer_setting_b',   'definer',  ARRAY['segext.company_id'], ARRAY['$b']),
    ('definer_claim_b',     'definer',  ARRAY['request.jwt.claims'], ARRAY['{"company_id": "$b"}']),
    ('claim_not_json',      'direct',   ARRAY['request.jwt.claims', 'segext.company_id'], ARRAY['company_id=$b', '$b']),
    ('claim_empty',         'direct',   ARRAY['request.jwt.claims', 'jwt.claims.company_id', 'segext.company_id'], ARRAY['', '', '$b'])
    ) AS ways(way, mode, names, vals);
INSERT INTO attack.ways (actor, way, mode, names, vals) VALUES
    ('gateway', 'no_claim',                'direct', ARRAY['role'], ARRAY['segext_writer']),
    ('gateway', 'postgrest_claim_a',       'direct', ARRAY['role', 'request.jwt.claims'], ARRAY['segext_writer', '{"role": "segext_writer", "company_id": "$a"}']),
    ('gateway', 'postgraphile_claim_a',    'direct', ARRAY['role', 'jwt.claims.company_id'], ARRAY['segext_writer', '$a']),
    ('gateway', 'reader_postgrest_claim_a','direct', ARRAY['role', 'request.jwt.claims'], ARRAY['segext_reader', '{"role": "segext_reader", "company_id": "$a"}']),
    ('gateway', 'setting_b',               'direct', ARRAY['role', 'segext.company_id'], ARRAY['segext_writer', '$b']),
    ('gateway', 'claim_a_setting_b',       'direct', ARRAY['role', 'request.jwt.claims', 'segext.company_id'], ARRAY['segext_writer', '{"company_id": "$a"}', '$b']),
    ('gateway', 'claim_not_json',          'direct', ARRAY['role', 'request.jwt.claims', 'segext.company_id'], ARRAY['segext_writer', '{"company_id": "$b"', '$b']),
    ('gateway', 'claim_empty',             'direct', ARRAY['role', 'request.jwt.claims', 'jwt.claims.company_id', 'segext.company_id'], ARRAY['segext_writer', '', '', '$b']),
    ('gateway', 'claim_not_a_string',      'direct', ARRAY['role', 'request.jwt.claims'], ARRAY['segext_writer', '{"company_id": 42}']),
    ('gateway', 'set_role_b_team',         'direct', ARRAY['role'], ARRAY['$bteam']);
INSERT INTO attack.ways (actor, way, mode, names, vals, trust) VALUES
    ('mixed', 'setting_b',          'direct',  ARRAY['segext.company_id'], ARRAY['$b'], 'reads_b'),
    ('mixed', 'function_setting_b', 'function', ARRAY['segext.company_id'], ARRAY['$b'], 'reads_b'),
    ('mixed', 'definer_setting_b',  'definer', ARRAY['segext.company_id'], ARRAY['$b'], 'reads_b'),
    ('admin', 'setting_a',          'direct',  ARRAY['segext.company_id'], ARRAY['$a'], 'admin'),
    ('admin', 'definer_setting_a',  'definer', ARRAY['segext.company_id'], ARRAY['$a'], 'admin'),
    ('gateway', 'admin_postgrest_claim_a', 'direct', ARRAY['role', 'request.jwt.claims'],
     ARRAY['segext_admin', '{"role": "segext_admin", "company_id": "$a"}'], 'admin');

-- B's rows as the attacks find them (its grants included).
UPDATE attack.baseline SET checksum = attack.b_checksum();
SQL

# Each attacker runs every way in a session of its own login.  What the
# server sends it besides errors (notices, warnings: psql prints them on
# stderr) is kept per way in attack.notices and checked for markers too.
work=$(mktemp -d "${TMPDIR:-/tmp}/attack_matrix.XXXXXX")
[ "${ATTACK_MATRIX_KEEP:-0}" = 1 ] || trap 'cleanup; rm -rf "$work"' EXIT
start=$(date +%s)
for actor in ungranted reader writer forger gateway mixed admin; do
    login=$(role "$actor")
    {
        cat "$root/test/helpers/attack_matrix_driver.sql"
        psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" \
            -c "SELECT format(E'\\\\warn attack-way %s\\nSELECT pg_temp.attack_run(%L, %L) \\\\g /dev/null', way, actor, way)
                  FROM attack.ways WHERE actor = '$actor' ORDER BY way"
    } | psql -X -q -v ON_ERROR_STOP=1 -d "$db" -U "$login" 2>"$work/$actor.stderr" \
        || { cat "$work/$actor.stderr"; echo "FAILED: the session of $actor ended"; exit 1; }
    awk -v actor="$actor" '/^attack-way / { way = $2; next }
        { gsub(/"/, "\"\""); printf "\"%s\",\"%s\",\"%s\"\n", actor, way, $0 }' "$work/$actor.stderr" >>"$work/notices.csv"
done
echo "# attack runs took $(( $(date +%s) - start )) s"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE TABLE attack.notices (actor text, way text, line text)" \
    -c "\\copy attack.notices FROM '$work/notices.csv' WITH (FORMAT csv)"

# NOTIFY: attackers listening on segext_membership while B's members change
# (as the superuser, in another session) receive nothing of B.
for actor in ungranted writer; do
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -U "$(role "$actor")" >"$work/notify-$actor.out" 2>&1 <<SQL
LISTEN segext_membership;
\\! psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "UPDATE segext.customers SET active = NOT active WHERE id::text = 'bbbbbbbbbbbbbbbb00000032'" -c "SELECT segext.refresh_company('$b')" >/dev/null
SELECT 1 \\g /dev/null
SQL
    grep -q 'Asynchronous notification "segext_membership"' "$work/notify-$actor.out" \
        || { cat "$work/notify-$actor.out"; echo "FAILED: $actor received no notification"; exit 1; }
    while IFS= read -r line; do
        printf '"%s","notify","%s"\n' "$actor" "${line//\"/\"\"}" >>"$work/notify.csv"
    done <"$work/notify-$actor.out"
done
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "INSERT INTO attack.ways (actor, way, mode, names, vals) VALUES
                                              ('ungranted', 'notify', 'listen', '{}', '{}'), ('writer', 'notify', 'listen', '{}', '{}')" \
    -c "\\copy attack.notices FROM '$work/notify.csv' WITH (FORMAT csv)"

# The leaks.
psql -X -qAt -v ON_ERROR_STOP=1 -d "$db" -F $'\t' >"${TMPDIR:-/tmp}/attack_leaks_$$" <<'SQL'
WITH r AS (
    SELECT r.*, t.target, t.op, t.sql, t.control, w.trust, array_to_string(w.vals, ' ') AS way_values,
           -- what an admin acting for A must not reach: B through segext_api,
           -- or through any function given no id of B's own
           w.trust = 'admin' AND NOT t.names_b AND (t.op = 'call' OR t.target LIKE 'segext\_api.%')
           AND t.target <> 'segext_api.company_roles' AS admin_scope    -- admins see every grant
      FROM attack.results r JOIN attack.attempts t ON t.id = r.attempt
      JOIN attack.ways w ON w.actor = r.actor AND w.way = r.way
), outcome AS (
    SELECT r.*, regexp_replace(concat_ws('|', CASE WHEN r.ok THEN 'ok' ELSE r.sqlstate END, r.message, r.detail, r.hint,
                                         CASE WHEN r.ok THEN r.sample END),
                               '[0-9a-f]{24}', '<id>', 'g') AS shape
      FROM r
), leaks AS (
    SELECT actor, way, op, target, 'read' AS kind, format('%s rows of B: %s', leaked, sample) AS what
      FROM r WHERE (trust = 'none' OR admin_scope) AND leaked > 0
    UNION ALL
    SELECT actor, way, op, target, 'write', format('B''s rows changed: %s', left(sql, 160))
      FROM r WHERE (trust <> 'admin' OR admin_scope) AND ok AND checksum <> (SELECT checksum FROM attack.baseline)
    UNION ALL
    SELECT actor, way, op, target, 'error',
           format('%s %s (markers: %s)', sqlstate, concat_ws(' / ', message, detail, hint),
                  attack.leaked(concat_ws(' ', message, detail, hint), sql || ' ' || way_values))
      FROM r WHERE trust = 'none' AND NOT ok
       AND attack.leaks(concat_ws(' ', message, detail, hint), sql || ' ' || way_values)
    UNION ALL
    SELECT o.actor, o.way, o.op, o.target, 'oracle', format('with B''s ids: %s; with unknown ids: %s', o.shape, c.shape)
      FROM outcome o JOIN outcome c ON c.attempt = o.control AND c.actor = o.actor AND c.way = o.way
     WHERE o.trust = 'none' AND o.shape IS DISTINCT FROM c.shape
    UNION ALL
    SELECT n.actor, n.way, 'message', '-', 'notice', format('%s (markers: %s)', n.line, attack.leaked(n.line, array_to_string(w.vals, ' ')))
      FROM attack.notices n JOIN attack.ways w ON w.actor = n.actor AND w.way = n.way
     WHERE w.trust = 'none' AND attack.leaks(n.line, array_to_string(w.vals, ' '))
    UNION ALL
    SELECT actor, way, op, target, 'unclear', format('%s %s', sqlstate, concat_ws(' / ', message, detail, hint))
      FROM r WHERE NOT ok AND (sqlstate ~ '^(XX|58)' OR coalesce(message, '') = '')
)
SELECT DISTINCT actor || ' ' || way || ' ' || op || ' ' || target || ' ' || kind, what FROM leaks ORDER BY 1;
SQL

# The detectors work: where B may be read (mixed, a reader of B) its rows are
# seen, and where B may be written (an admin naming B's rows) B's digest changes.
seen=$(psql -X -qAt -d "$db" -c "SELECT count(*) FROM attack.results WHERE actor = 'mixed' AND leaked > 0")
changed=$(psql -X -qAt -d "$db" -c "SELECT count(*) FROM attack.results WHERE actor = 'admin' AND ok
                                      AND checksum <> (SELECT checksum FROM attack.baseline)")
[ "$seen" -gt 0 ] || { echo "FAILED: no row of B seen even by a reader of B: the read check sees nothing"; exit 1; }
[ "$changed" -gt 0 ] || { echo "FAILED: B's digest never changed even for an admin writing B: the write check sees nothing"; exit 1; }
echo "# detectors: $seen reads of B by a reader of B, $changed writes of B by an admin"

attempts=$(psql -X -qAt -d "$db" -c "SELECT count(*) FROM attack.results")
expected=$(psql -X -qAt -d "$db" -c "SELECT count(*) FROM attack.ways, attack.attempts WHERE mode <> 'listen'")
psql -X -q -d "$db" -c "SELECT actor, count(*) AS attempts, count(*) FILTER (WHERE ok) AS succeeded,
                               string_agg(DISTINCT sqlstate, ' ') AS refused_with
                          FROM attack.results GROUP BY actor ORDER BY actor"

leaks_file="${TMPDIR:-/tmp}/attack_leaks_$$"
total=$(wc -l <"$leaks_file")
unknown=0
known=0
while IFS=$'\t' read -r key what; do
    matched=0
    while IFS= read -r pattern; do
        [[ -z "$pattern" || "$pattern" == \#* ]] && continue
        if [[ "$key" =~ ^${pattern}$ ]]; then matched=1; break; fi
    done <<<"$known_leaks"
    if [ "$matched" = 1 ]; then
        known=$((known + 1))
    else
        unknown=$((unknown + 1))
        echo "LEAK $key: $what"
    fi
done <"$leaks_file"

stale=0
while IFS= read -r pattern; do
    [[ -z "$pattern" || "$pattern" == \#* ]] && continue
    if ! cut -f1 "$leaks_file" | grep -Eqx -- "$pattern"; then
        echo "known leak no longer occurs (remove it from the list): $pattern"
        stale=$((stale + 1))
    fi
done <<<"$known_leaks"
rm -f "$leaks_file"

echo "# attack matrix: $attempts attempts, $total leaks ($known known, $unknown new)"
[ "$attempts" = "$expected" ] || { echo "FAILED: $attempts attempts recorded, $expected expected"; exit 1; }
[ "$unknown" = 0 ] && [ "$stale" = 0 ]
