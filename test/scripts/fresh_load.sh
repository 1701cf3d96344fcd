#!/usr/bin/env bash
# test/scripts/fresh_load.sh: membership stays fresh under a concurrent write
# load.  pgbench runs FRESH_CLIENTS (8) clients for FRESH_SECONDS (30) over
# 3 companies of 1,000 customers with seven segments (amount, count, average,
# POS, SKU, customer label, recent purchase): sales (on the table and through
# segext_api.transactions, with items), returns of part or the rest of a sale,
# and customer edits (active, labels), so that customers keep entering and
# leaving segments.  Each pgbench transaction is one call of fresh_step(),
# which logs the error its write met (a rule refusing a return that another
# client's return made too large, for one) and lets the client go on.
# Afterwards, WITHOUT any refresh: the invariants of
# bench/mixed_load/check.sql hold (stored members = segment_members() for
# every active segment, counts = member rows, history agrees, segments 0 and
# 1 exact, no inactive customer is a member), every company's kept state
# equals a rebuild from its transactions, and no write met a deadlock
# (40P01), a duplicate key (23505) or an internal error.  Prints the tps and
# the error counts.  Uses the cluster that scripts/test.sh started (PGHOST).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DB=segext_fresh_load_$$
SECONDS_RUN=${FRESH_SECONDS:-30}
CLIENTS=${FRESH_CLIENTS:-8}
PGBENCH=${SEGEXT_PG_BIN:-/usr/lib/postgresql/15/bin}/pgbench
[ -x "$PGBENCH" ] || PGBENCH=pgbench
work=$(mktemp -d /tmp/segext_fresh.XXXXXX)
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "fresh_load: $*" >&2; exit 1; }
psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql_q <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION segext;
SET search_path = public, segext;
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET search_path = public, segext;

CREATE TABLE fresh_companies (n int PRIMARY KEY, id segext.objectid NOT NULL);
CREATE UNLOGGED TABLE fresh_errors (
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind text NOT NULL,
    sqlstate text NOT NULL,
    message text NOT NULL);

INSERT INTO fresh_companies (n, id)
SELECT g, segext.create_company('fresh ' || g) FROM generate_series(1, 3) AS g;

-- customers are numbered 1-1000 in their id, so a client picks one by number
INSERT INTO segext.customers (company_id, id, first_name, active, labels)
SELECT c.id, lpad(to_hex(c.n * 65536 + g), 24, '0')::segext.objectid, 'c' || g, g % 10 <> 0,
       CASE WHEN g % 4 = 0 THEN '[{"key": "tier", "value": "gold"}]'::jsonb ELSE '[]' END
FROM fresh_companies AS c CROSS JOIN generate_series(1, 1000) AS g;

INSERT INTO segext.segments (company_id, number, name, criteria)
SELECT c.id, s.number, s.name, s.criteria::segext.criteria
FROM fresh_companies AS c
CROSS JOIN (VALUES
    (2, 'big', '[{"type": "transaction_amount", "fromAmount": 150, "toAmount": 1000000}]'),
    (3, 'regular', '[{"type": "transaction_count", "min": 3, "max": 1000}]'),
    (4, 'mid basket', '[{"type": "average_transaction_amount", "fromAmount": 30, "toAmount": 60}]'),
    (5, 'at p1', '[{"type": "bought_in_pos", "posIds": ["p1"]}]'),
    (6, 'bought a1', '[{"type": "bought_skus", "skuIds": ["A1"]}]'),
    (7, 'tier', '[{"type": "customer_has_labels", "labels": [{"key": "tier"}]}]'),
    (8, 'recent', '[{"type": "last_purchase_n_days_before", "days": 5}]')) AS s(number, name, criteria);

INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id, occurred_at, items)
SELECT cu.company_id, cu.id, (5 + (g * 37 + get_byte(segext.objectid_to_bytea(cu.id), 11)) % 80)::numeric(14,2),
       'p' || (1 + g % 4), now() - ((g * 3) || ' days')::interval,
       jsonb_build_array(jsonb_build_object('sku', 'A' || (g % 3), 'quantity', 1, 'amount', 5))
FROM segext.customers AS cu CROSS JOIN generate_series(1, 2) AS g
WHERE get_byte(segext.objectid_to_bytea(cu.id), 11) % 3 <> 0;
SELECT count(segext.refresh_company(id)) FROM fresh_companies \g /dev/null
ANALYZE;

-- fresh_customer(n, i): the id of customer i of company n.
CREATE FUNCTION fresh_customer(n int, i int) RETURNS segext.objectid LANGUAGE sql IMMUTABLE
RETURN lpad(to_hex(n * 65536 + i), 24, '0')::segext.objectid;

-- fresh_step(kind, company number, customer number) performs one write and
-- returns NULL, or logs the error it met and returns its SQLSTATE.
CREATE FUNCTION fresh_step(kind text, n int, i int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    co segext.objectid := (SELECT c.id FROM fresh_companies AS c WHERE c.n = fresh_step.n);
    cu segext.objectid := fresh_customer(n, i);
    sale record;
    state text;
    msg text;
BEGIN
    IF kind = 'sale' THEN
        INSERT INTO segext.transactions (company_id, customer_id, amount, pos_id, occurred_at, items)
        VALUES (co, cu, (5 + random() * 75)::numeric(14,2), 'p' || (1 + (random() * 3)::int),
                now() - random() * interval '10 days',
                jsonb_build_array(jsonb_build_object('sku', 'A' || (random() * 2)::int,
                                                     'maker', 'M', 'quantity', 1, 'amount', 5)));
    ELSIF kind = 'api_sale' THEN
        PERFORM set_config('segext.company_id', co::text, true);
        INSERT INTO segext_api.transactions (customer_id, amount, pos_id, items)
        VALUES (cu, (5 + random() * 75)::numeric(14,2), 'p' || (1 + (random() * 3)::int),
                jsonb_build_array(jsonb_build_object('sku', 'A1', 'quantity', 2, 'amount', 3)));
    ELSIF kind = 'return' THEN
        SELECT t.id, t.amount - t.returned_amount AS left_amount INTO sale
        FROM segext.transactions AS t
        WHERE t.company_id = co AND t.customer_id = cu AND t.returns_id IS NULL AND t.returned_amount < t.amount
        ORDER BY t.id DESC LIMIT 1;
        IF FOUND THEN
            INSERT INTO segext.transactions (company_id, customer_id, amount, returns_id)
            VALUES (co, cu, -CASE WHEN random() < 0.5 THEN sale.left_amount
                                  ELSE greatest(0.01, round(sale.left_amount / 2, 2)) END, sale.id);
        END IF;
    ELSIF kind = 'customer_edit' THEN
        UPDATE segext.customers AS c
        SET active = random() < 0.9,
            labels = CASE WHEN random() < 0.5 THEN '[{"key": "tier", "value": "gold"}]'::jsonb ELSE '[]' END
        WHERE c.company_id = co AND c.id = cu;
    ELSE
        RAISE EXCEPTION 'unknown kind %', kind;
    END IF;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    INSERT INTO fresh_errors (kind, sqlstate, message) VALUES (kind, state, msg);
    RETURN state;
END
$$;
SQL

for kind in sale api_sale return customer_edit; do
    cat >"$work/$kind.sql" <<SQL
\\set n random(1, 3)
\\set i random(1, 1000)
SELECT fresh_step('$kind', :n, :i);
SQL
done
first=$(psql_q -c "SELECT coalesce(max(id), 0) FROM segext.membership_history")
"$PGBENCH" -n -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_RUN" \
    -f "$work/sale.sql@50" -f "$work/api_sale.sql@10" -f "$work/return.sql@20" -f "$work/customer_edit.sql@20" \
    "$DB" >"$work/pgbench.out" 2>&1 || fail "pgbench failed: $(cat "$work/pgbench.out")"
grep -E '^(tps|number of transactions actually processed|number of failed)' "$work/pgbench.out" || true
! grep -qiE 'aborted|error' "$work/pgbench.out" || fail "a pgbench client failed: $(grep -iE 'aborted|error' "$work/pgbench.out")"

echo "writes by kind: $(psql_q -c "SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind) FROM (
    SELECT CASE WHEN returns_id IS NULL THEN 'sales' ELSE 'returns' END AS kind, count(*) AS n
    FROM segext.transactions GROUP BY 1) AS k")"
echo "errors by SQLSTATE: $(psql_q -c "SELECT coalesce(string_agg(sqlstate || ' ' || n, ', ' ORDER BY sqlstate), 'none') FROM (
    SELECT sqlstate, count(*) AS n FROM fresh_errors GROUP BY 1) AS e")"
echo "membership changes during the load: $(psql_q -c "SELECT count(*) FILTER (WHERE kind = 'entered') || ' entered, ' || count(*) FILTER (WHERE kind = 'left') || ' left' FROM segext.membership_history WHERE id > $first")"

bad=$(psql_q -c "SELECT kind || ': ' || sqlstate || ' ' || message FROM fresh_errors
                 WHERE sqlstate IN ('40P01', '23505', 'XX000') OR sqlstate LIKE '58%' LIMIT 20")
[ -z "$bad" ] || fail "errors in the common paths:"$'\n'"$bad"

# The membership moved: customers entered and left the segments under load.
moved=$(psql_q -c "SELECT count(*) FILTER (WHERE kind = 'entered') > 100 AND count(*) FILTER (WHERE kind = 'left') > 100
                   FROM segext.membership_history AS h JOIN segext.segments AS s
                     ON s.company_id = h.company_id AND s.id = h.segment_id WHERE s.number > 1 AND h.id > $first")
[ "$moved" = t ] || fail "fewer than 100 customers entered or left the segments during the load"

out=$(psql_q -v settled=1 -f "$ROOT/bench/mixed_load/check.sql" 2>&1) || fail "check: $out"
[ -z "$out" ] || fail "invariants broken after the load, without a refresh:"$'\n'"$out"
echo "invariants hold after the load, without a refresh"

states=$(psql_q <<'SQL'
BEGIN;
CREATE TEMP TABLE kept AS SELECT * FROM segext.customer_states;
SELECT count(segext.rebuild_customer_states(id)) FROM fresh_companies \g /dev/null
SELECT count(*) FROM ((SELECT * FROM kept EXCEPT ALL SELECT * FROM segext.customer_states)
                      UNION ALL (SELECT * FROM segext.customer_states EXCEPT ALL SELECT * FROM kept)) AS d;
ROLLBACK;
SQL
)
[ "$states" = 0 ] || fail "$states customer state rows differ from a rebuild after the load"
echo "customer states equal a rebuild"
echo "fresh_load: ok"
