#!/usr/bin/env bash
# test/citus/scripts/tenancy.sh: tenancy on Citus (run by test/citus/run.sh
# against the coordinator CITUS_HOST:CITUS_PORT, whose workers listen on the
# next two ports).  Real logins connect with psql, so that the session user is
# the gateway, the BI login or the attacker, as for a client.
#
# Proves that the company decided on the coordinator holds on the workers:
# a gateway session (a LOGIN member of segext_gateway that SET LOCAL ROLEs
# to a web role, as PostgREST does) with a claim of either shape, a BI login
# with a session-level segext.company_id, the one granted company, an admin;
# and that nothing else makes a worker accept a company: an attack matrix
# generated from the catalog (every table of segext, every view of
# segext_api) run by an ungranted login, a reader of another company, a
# non-gateway session with claims, a claim that is not JSON, an empty claim,
# set_config inside a function, and logins connected straight to a worker
# that set segext.company_id, forged company tokens and tokens replayed from
# another transaction (with its distributed transaction id).  A leak is a row
# holding a marker of company B in a result, or a change of B's rows (digest
# read by the superuser).  Prints the number of attempts; TAP output.
set -euo pipefail

: "${CITUS_HOST:?}" "${CITUS_PORT:?}" "${CITUS_DB:?}"
worker1=$((CITUS_PORT + 1))
worker2=$((CITUS_PORT + 2))
sfx=$$
gw=citus_gw_$sfx; web_reader=citus_web_reader_$sfx; web_writer=citus_web_writer_$sfx
bi=citus_bi_$sfx; other=citus_other_$sfx; nobody=citus_nobody_$sfx; admin=citus_admin_$sfx
work=$(mktemp -d)
# segext's operators without schema-qualifying them
export PGOPTIONS="-c search_path=segext,public"

# sql runs psql as a role against a port (coordinator by default), quietly.
sql() {
    local user=$1 port=${2:-$CITUS_PORT}
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$CITUS_HOST" -p "$port" -U "$user" -d "$CITUS_DB"
}
# try runs psql without stopping at errors, output and errors merged.
try() {
    local user=$1 port=${2:-$CITUS_PORT}
    psql -X -q -A -t -v ON_ERROR_STOP=0 -h "$CITUS_HOST" -p "$port" -U "$user" -d "$CITUS_DB" 2>&1
}

cleanup() {
    sql postgres <<SQL >/dev/null 2>&1 || true
SET client_min_messages = warning;
DELETE FROM segext.company_roles WHERE role::text LIKE 'citus\_%\_$sfx';
DROP OWNED BY $gw, $web_reader, $web_writer, $bi, $other, $nobody, $admin;
DROP ROLE IF EXISTS $gw, $web_reader, $web_writer, $bi, $other, $nobody, $admin;
SQL
    rm -rf "$work"
}
trap cleanup EXIT

tests=0
failures=0
# check compares an actual value with the expected one, printing a TAP line.
check() {
    local got=$1 want=$2 what=$3
    tests=$((tests + 1))
    if [ "$got" = "$want" ]; then
        echo "ok $tests - $what"
    else
        echo "not ok $tests - $what"
        printf '#   got:  %s\n#   want: %s\n' "$got" "$want"
        failures=$((failures + 1))
    fi
}

# Roles: the gateway login (NOINHERIT, as PostgREST's authenticator) and the
# web roles it switches to, which need LOGIN on Citus (Citus connects to the
# workers as the current role); a BI login, a reader of another company, a
# login with no company, an admin.  Citus creates the roles on the workers.
sql postgres <<SQL >/dev/null
CREATE ROLE $web_reader LOGIN IN ROLE segext_reader;
CREATE ROLE $web_writer LOGIN IN ROLE segext_writer;
CREATE ROLE $gw LOGIN NOINHERIT IN ROLE segext_gateway;
GRANT $web_reader, $web_writer TO $gw;
CREATE ROLE $bi LOGIN IN ROLE segext_reader;
CREATE ROLE $other LOGIN IN ROLE segext_writer;
CREATE ROLE $nobody LOGIN IN ROLE segext_writer;
CREATE ROLE $admin LOGIN IN ROLE segext_admin;
SQL

# Companies A, B (the target, whose names hold the marker ZZB) and C.
a=$(echo "SELECT segext.create_company('Tenancy A $sfx')" | sql postgres)
b=$(echo "SELECT segext.create_company('ZZB Tenancy B $sfx')" | sql postgres)
c=$(echo "SELECT segext.create_company('Tenancy C $sfx')" | sql postgres)
sql postgres <<SQL >/dev/null
INSERT INTO segext.customers (company_id, external_id, first_name) VALUES
    ('$a', 'a1', 'Ann'), ('$a', 'a2', 'Al'), ('$b', 'ZZB1', 'ZZB Bea'), ('$b', 'ZZB2', 'ZZB Bo'),
    ('$c', 'c1', 'Cy');
INSERT INTO segext.transactions (company_id, customer_id, amount)
    SELECT company_id, id, 10 FROM segext.customers WHERE company_id IN ('$a', '$b');
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES ('$a', 'Buyers', '[{"type": "transaction_count", "min": 1, "max": 10}]'),
           ('$b', 'ZZB Buyers', '[{"type": "transaction_count", "min": 1, "max": 10}]');
INSERT INTO segext.segment_groups (company_id, name) VALUES ('$a', 'Group A'), ('$b', 'ZZB Group');
INSERT INTO segext.channels (company_id, name) VALUES ('$a', 'Web A'), ('$b', 'ZZB Web');
SELECT segext.grant_company('$a', '$bi', 'reader');
SELECT segext.grant_company('$c', '$bi', 'reader');
SELECT segext.grant_company('$a', '$other', 'writer');
SQL

a_ids=$(echo "SELECT string_agg(id::text, ',' ORDER BY id) FROM segext.customers WHERE company_id = '$a'" | sql postgres)

# --- What works as on one node --------------------------------------------

# gateway runs statements in a transaction of the gateway login with a claim
# and SET LOCAL ROLE, as PostgREST does.
gateway() {
    local role=$1 claim=$2
    shift 2
    {
        echo "BEGIN;"
        echo "SELECT set_config('request.jwt.claims', '$claim', true) \\g /dev/null"
        echo "SET LOCAL ROLE $role;"
        cat
        echo "COMMIT;"
    } | sql "$gw"
}

got=$(echo "SELECT string_agg(id::text, ',' ORDER BY id) FROM segext_api.customers;" |
      gateway "$web_reader" "{\"role\": \"$web_reader\", \"company_id\": \"$a\"}") || true
check "$got" "$a_ids" "a gateway session with a request.jwt.claims claim of A reads A's customers through the coordinator"
got=$(echo "SELECT string_agg(name, ',' ORDER BY number) FROM segext_api.segments;" |
      gateway "$web_reader" "{\"role\": \"$web_reader\", \"company_id\": \"$a\"}") || true
check "$got" "All,Default,Buyers" "and A's segments"
got=$(echo "SELECT string_agg(name, ',') FROM segext_api.channels;" |
      gateway "$web_reader" "{\"role\": \"$web_reader\", \"company_id\": \"$a\"}") || true
check "$got" "Web A" "and A's channels"
got=$(printf '%s\n' "SELECT line FROM (SELECT substring(p FROM 'Task Count: (\\d+)') AS line FROM pg_temp.plan() AS p) AS t WHERE line IS NOT NULL;" |
      sed '1i SET client_min_messages = error; CREATE FUNCTION pg_temp.plan() RETURNS SETOF text LANGUAGE plpgsql AS $$ DECLARE l text; BEGIN FOR l IN EXECUTE '"'"'EXPLAIN (COSTS OFF) SELECT * FROM segext_api.customers'"'"' LOOP RETURN NEXT l; END LOOP; END $$;' |
      gateway "$web_reader" "{\"role\": \"$web_reader\", \"company_id\": \"$a\"}") || true
check "$got" "1" "routed to one shard group (EXPLAIN: Task Count 1)"
got=$({
    echo "BEGIN;"
    echo "SELECT set_config('jwt.claims.company_id', '$a', true) \\g /dev/null"
    echo "SET LOCAL ROLE $web_reader;"
    echo "SELECT string_agg(id::text, ',' ORDER BY id) FROM segext_api.customers;"
    echo "COMMIT;"
} | sql "$gw") || true
check "$got" "$a_ids" "a gateway session with a jwt.claims.company_id claim (PostGraphile) reads A's customers"
got=$(echo "INSERT INTO segext.customers (company_id, external_id) VALUES ('$a', 'a3') RETURNING external_id;" |
      gateway "$web_writer" "{\"role\": \"$web_writer\", \"company_id\": \"$a\"}") || true
check "$got" "a3" "a gateway session of a writer with a claim of A writes A's customer through the coordinator"
echo "DELETE FROM segext.customers WHERE company_id = '$a' AND external_id = 'a3'" | sql postgres >/dev/null

got=$(printf '%s\n' "SET segext.company_id = '$a';" \
      "SELECT string_agg(id::text, ',' ORDER BY id) FROM segext_api.customers;" | sql "$bi") || true
check "$got" "$a_ids" "a BI login granted A and C with a session-level SET segext.company_id = A reads A's customers"
got=$(printf '%s\n' "SET segext.company_id = '$a';" "SELECT count(*) FROM segext.customers;" | sql "$bi") || true
check "$got" "2" "and exactly A's rows of segext.customers"
got=$(printf '%s\n' "SET segext.company_id = '$b';" "SELECT count(*) FROM segext_api.customers;" | try "$bi" | grep -m1 ERROR || true) || true
check "$got" "ERROR:  permission denied for company \"$b\"" "naming B is refused with the message of one node"
got=$(printf '%s\n' "\\set VERBOSITY verbose" "SET segext.company_id = '$b';" "SELECT count(*) FROM segext_api.customers;" | try "$bi" | grep -m1 -o 'ERROR:  [0-9A-Z]*' || true) || true
check "$got" "ERROR:  42501" "with SQLSTATE 42501"
got=$(echo "SELECT count(*) FROM segext_api.customers;" | sql "$bi") || true
check "$got" "0" "with no setting and two granted companies, no company and no rows"
got=$(printf '%s\n' "SELECT segext.revoke_company('$c', '$bi');" | sql postgres >/dev/null;
      echo "SELECT string_agg(id::text, ',' ORDER BY id) FROM segext_api.customers;" | sql "$bi") || true
check "$got" "$a_ids" "with no setting and one granted company, that one"
echo "SELECT segext.grant_company('$c', '$bi', 'reader')" | sql postgres >/dev/null
got=$(printf '%s\n' "SET segext.company_id = '$a';" "SELECT string_agg(id::text, ',' ORDER BY id) FROM segext_api.customers;" | sql "$admin") || true
check "$got" "$a_ids" "an admin with a session-level SET segext.company_id reads that company through the views"
got=$(printf '%s\n' "SET segext.company_id = '$a';" "SELECT count(*) FROM segext.customers WHERE company_id OPERATOR(pg_catalog.=) '$b';" | sql "$admin") || true
check "$got" "2" "and every company in segext's tables, as on one node"
got=$(printf '%s\n' "SET segext.company_id = '$a';" \
      "INSERT INTO segext.customers (company_id, external_id) VALUES ('$a', 'a4') RETURNING external_id;" | try "$bi" | grep -c ERROR || true) || true
check "$got" "1" "a reader grant does not write through the coordinator"

# --- Tokens to replay -------------------------------------------------------

# The worker's company token of a gateway transaction for B, read back by a
# query pushed down to the worker (current_setting runs there).
tok_query="SELECT current_setting('segext.company_token') FROM segext.customers WHERE company_id OPERATOR(pg_catalog.=) '$b'::segext.objectid LIMIT 1;"
web_token=$(echo "$tok_query" | gateway "$web_reader" "{\"role\": \"$web_reader\", \"company_id\": \"$b\"}") || true
# The BI login's own token for B while B was granted to it, then revoked.
echo "SELECT segext.grant_company('$b', '$bi', 'reader')" | sql postgres >/dev/null
bi_token=$(printf '%s\n' "SET segext.company_id = '$b';" "$tok_query" | sql "$bi") || true
echo "SELECT segext.revoke_company('$b', '$bi')" | sql postgres >/dev/null
check "$([ -n "$web_token" ] && [ -n "$bi_token" ] && echo captured)" "captured" "company tokens captured for replay"
# assign_of prints the assign_distributed_transaction_id call of a token's transaction.
assign_of() {
    local t=${1:0:60}
    local ids=${t:26}
    ids=${ids%%:*}
    IFS=. read -r init num stamp <<<"$ids"
    echo "SELECT assign_distributed_transaction_id($init, $num, timestamptz '2000-01-01 00:00:00+00'
        + interval '1 second' * ($stamp / 1000000) + interval '1 microsecond' * ($stamp % 1000000)) \\g /dev/null"
}
forged="${b}cw0.1.1:$(printf '%064d' 0)"

# --- The attack matrix -----------------------------------------------------

# Relations from the catalog: every table of segext and view of segext_api.
mapfile -t relations < <(echo "SELECT c.oid::regclass FROM pg_class AS c
    WHERE c.relnamespace IN ('segext'::regnamespace, 'segext_api'::regnamespace)
      AND c.relkind IN ('r', 'v', 'p') AND NOT EXISTS (SELECT FROM pg_dist_shard AS s
          WHERE c.relname LIKE (SELECT r.relname FROM pg_class AS r WHERE r.oid = s.logicalrelid) || '\\_' || s.shardid)
    ORDER BY 1" | sql postgres)
mapfile -t company_tables < <(echo "SELECT a.attrelid::regclass FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'segext'::regnamespace AND c.relkind = 'r' AND a.attname = 'company_id'
      AND c.relname !~ '_[0-9]+$' ORDER BY 1" | sql postgres)
mapfile -t company_views < <(echo "SELECT a.attrelid::regclass FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'segext_api'::regnamespace AND c.relkind = 'v' AND a.attname = 'company_id' ORDER BY 1" | sql postgres)

# A row of B: its id or the marker ZZB in the row's text; any row of the secret.
marker="($b|ZZB)"
digest_query="SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
    SELECT r::text AS t FROM segext.companies AS r WHERE r.id = '$b'
    $(for t in "${company_tables[@]}"; do printf "UNION ALL SELECT '%s' || r::text FROM %s AS r WHERE r.company_id = '%s'\n" "$t" "$t" "$b"; done)
    UNION ALL SELECT r::text FROM segext.cluster_secret AS r) AS d"
digest_before=$(echo "$digest_query" | sql postgres)

# The shards that hold B's rows, and the placements of the reference tables.
mapfile -t b_shards < <(echo "SELECT format('segext.%I', c.relname || '_' ||
        get_shard_id_for_distribution_column(d.logicalrelid, CASE WHEN d.partmethod = 'h' THEN '$b' END))
    FROM pg_dist_partition AS d JOIN pg_class AS c ON c.oid = d.logicalrelid
    WHERE c.relnamespace = 'segext'::regnamespace ORDER BY 1" | sql postgres)

# relations_on lists the relations to attack on a node: on a worker, also the
# shards of B and the placements of the reference tables that it holds.
relations_on() {
    printf '%s\n' "${relations[@]}"
    if [ "$1" != "$CITUS_PORT" ]; then
        printf "SELECT to_regclass('%s') UNION ALL\n" "${b_shards[@]}" | sed '$ s/ UNION ALL$//' |
            sql postgres "$1" | grep -v '^$' || true
    fi
}

# attempts prints, for a preamble, one attempt per relation and write: each in
# a transaction of its own that starts with the preamble; a line "@@ ..."
# before each, so that the attempts can be counted.
attempts() {
    local preamble=$1 port=$2 rel t pattern
    while read -r rel; do
        case $rel in segext.cluster_secret*) pattern='.' ;; *) pattern=$marker ;; esac
        printf 'BEGIN;\n%s\n\\echo @@ read %s\nSELECT '"'"'LEAK read '"'"' || count(*) FROM %s AS r WHERE r::text ~ '"'"'%s'"'"' HAVING count(*) > 0;\nCOMMIT;\n' \
            "$preamble" "$rel" "$rel" "$pattern"
        # shards and placements (plain tables on a worker): delete what holds B
        case " ${relations[*]} " in *" $rel "*) continue ;; esac
        printf 'BEGIN;\n%s\n\\echo @@ delete %s\nDELETE FROM %s AS r WHERE r::text ~ '"'"'%s'"'"' RETURNING '"'"'LEAK delete'"'"';\nCOMMIT;\n' \
            "$preamble" "$rel" "$rel" "$pattern"
    done < <(relations_on "$port")
    for t in "${company_tables[@]}" "${company_views[@]}"; do
        printf 'BEGIN;\n%s\n\\echo @@ update %s\nUPDATE %s AS r SET company_id = r.company_id WHERE r.company_id OPERATOR(pg_catalog.=) '"'"'%s'"'"'::segext.objectid RETURNING '"'"'LEAK update'"'"';\nCOMMIT;\n' \
            "$preamble" "$t" "$t" "$b"
        printf 'BEGIN;\n%s\n\\echo @@ delete %s\nDELETE FROM %s AS r WHERE r.company_id OPERATOR(pg_catalog.=) '"'"'%s'"'"'::segext.objectid RETURNING '"'"'LEAK delete'"'"';\nCOMMIT;\n' \
            "$preamble" "$t" "$t" "$b"
    done
    for t in "INSERT INTO segext.customers (company_id, external_id) VALUES ('$b', 'evil')" \
             "INSERT INTO segext.segments (company_id, name) VALUES ('$b', 'evil')" \
             "INSERT INTO segext.channels (company_id, name) VALUES ('$b', 'evil')" \
             "INSERT INTO segext.transactions (company_id, customer_id, amount) SELECT '$b', id, 1 FROM segext.customers WHERE company_id OPERATOR(pg_catalog.=) '$b'::segext.objectid" \
             "INSERT INTO segext.company_roles (company_id, role, level) VALUES ('$b', current_user::regrole, 'writer')" \
             "UPDATE segext.companies SET name = 'evil' WHERE id OPERATOR(pg_catalog.=) '$b'::segext.objectid" \
             "DELETE FROM segext.companies WHERE id OPERATOR(pg_catalog.=) '$b'::segext.objectid" \
             "UPDATE segext.cluster_secret SET secret = secret"; do
        printf 'BEGIN;\n%s\n\\echo @@ write\n%s RETURNING '"'"'LEAK write'"'"';\nCOMMIT;\n' "$preamble" "$t"
    done
}

total=0
leaks=0
# attack runs the attempts of a scenario as a login on a port and counts them.
attack() {
    local name=$1 user=$2 port=$3 preamble=$4 out n l
    if [ "$port" != "$CITUS_PORT" ]; then
        # Citus propagates this attacker's SET LOCAL to its own worker connections
        preamble="SET LOCAL citus.propagate_set_commands = 'local';
$preamble"
    fi
    out=$(attempts "$preamble" "$port" | try "$user" "$port")
    n=$(grep -c '^@@ ' <<<"$out" || true)
    l=$(grep -c 'LEAK' <<<"$out" || true)
    total=$((total + n))
    leaks=$((leaks + l))
    check "$l" "0" "attack: $name ($n attempts): no row of B read or written"
    [ "$l" = 0 ] || grep -B3 'LEAK' <<<"$out" | sed 's/^/#   /' | head -20
}

set_b="SET LOCAL segext.company_id = '$b';"
fn_b="CREATE OR REPLACE FUNCTION pg_temp.pick() RETURNS text LANGUAGE sql AS \$\$ SELECT set_config('segext.company_id', '$b', false) || set_config('request.jwt.claims', '{\"company_id\": \"$b\"}', false) \$\$; SELECT pg_temp.pick() \\g /dev/null"
claims_b="SELECT set_config('request.jwt.claims', '{\"company_id\": \"$b\"}', true) \\g /dev/null"
graphile_b="SELECT set_config('jwt.claims.company_id', '$b', true) \\g /dev/null"

for port in "$CITUS_PORT" "$worker1" "$worker2"; do
    case $port in "$CITUS_PORT") node=coordinator ;; "$worker1") node=worker1 ;; *) node=worker2 ;; esac
    attack "$node, ungranted login" "$nobody" "$port" "SELECT 1 \\g /dev/null"
    attack "$node, ungranted login naming B" "$nobody" "$port" "$set_b"
    attack "$node, writer of A naming B" "$other" "$port" "$set_b"
    attack "$node, writer of A, set_config inside a function" "$other" "$port" "$fn_b"
    attack "$node, non-gateway session with a request.jwt.claims claim of B" "$other" "$port" "$claims_b"
    attack "$node, non-gateway session with a jwt.claims.company_id claim of B" "$other" "$port" "$graphile_b"
    attack "$node, non-gateway session with a claim of B, SET ROLE to the web role" "$bi" "$port" "$claims_b SET LOCAL ROLE segext_reader;"
    attack "$node, gateway session with a claim that is not JSON" "$gw" "$port" \
        "SELECT set_config('request.jwt.claims', 'not json $b', true) \\g /dev/null
SET LOCAL ROLE $web_writer;"
    attack "$node, gateway session with an empty claim" "$gw" "$port" \
        "SELECT set_config('request.jwt.claims', '', true) \\g /dev/null
SET LOCAL ROLE $web_writer;"
    attack "$node, BI login whose grant of B was revoked, naming B" "$bi" "$port" "$set_b"
    if [ "$port" != "$CITUS_PORT" ]; then
        attack "$node, a forged company token" "$other" "$port" "SET LOCAL segext.company_token = '$forged';"
        attack "$node, a web role's token of B replayed by another login" "$other" "$port" \
            "$(assign_of "$web_token")
SET LOCAL segext.company_token = '$web_token';"
        attack "$node, the BI login's token of B replayed after the grant was revoked" "$bi" "$port" \
            "$(assign_of "$bi_token")
SET LOCAL segext.company_token = '$bi_token';"
        attack "$node, a token of B replayed in a transaction without its id" "$bi" "$port" \
            "SET LOCAL segext.company_token = '$bi_token $web_token';"
        attack "$node, a forged token with the distributed transaction id of a real one" "$other" "$port" \
            "$(assign_of "$web_token")
SET LOCAL segext.company_token = '${web_token:0:-64}$(printf '%064d' 0)';"
        attack "$node, a token of B moved to company A's id" "$other" "$port" \
            "$(assign_of "$web_token")
SET LOCAL segext.company_token = '$a${web_token:24}';"
    fi
done

digest_after=$(echo "$digest_query" | sql postgres)
check "$digest_after" "$digest_before" "B's rows (and the secret) are unchanged after every attack"
check "$(echo "SELECT count(*) FROM segext.company_roles WHERE company_id = '$b'" | sql postgres)" "0" "no grant of B was made"
echo "# citus attack matrix: $total attempts, $leaks rows of another company read or written"
check "$([ "$total" -gt 1000 ] && echo many)" "many" "the matrix ran its attempts"

echo "1..$tests"
[ "$failures" = 0 ]
