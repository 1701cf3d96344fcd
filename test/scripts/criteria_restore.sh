#!/usr/bin/env bash
# test/scripts/criteria_restore.sh: a dump holding a segment row that input
# refuses must not restore "successfully" without it.  A directory-format
# dump gets one segments row replaced by criteria input refuses; the restore
# command of the README (--exit-on-error --single-transaction) must fail and
# leave nothing behind, while the same dump restored without those options
# is shown to lose the whole segments table.
set -euo pipefail

src=segext_crestore_src_$$
dst=segext_crestore_dst_$$
dump=$(mktemp -d /tmp/segext_crestore.XXXXXX)
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" >/dev/null 2>&1 || true
    rm -rf "$dump"
}
trap cleanup EXIT
fail() { echo "criteria_restore: $*" >&2; exit 1; }

createdb "$src"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" <<'SQL'
CREATE EXTENSION segext;
SELECT segext.create_company('Acme') AS a \gset
INSERT INTO segext.segments (company_id, name, criteria) VALUES
    (:'a', 'Late', '[{"type": "purchase_period", "fromDate": "2020-01-01", "toDate": "9999-12-31T08:59:59-15:00"}]'),
    (:'a', 'Buyers', '[{"type": "transaction_count", "min": 1, "max": 10}]');
SQL

pg_dump -Fd -Z0 -d "$src" -f "$dump/d"
# The table data file of segext.segments, with the accepted bound replaced by
# one that prints outside year 9999 (as 0.1.0 accepted and printed it).
data=$(grep -l '9999-12-31T23:59:59Z' "$dump"/d/*.dat) || fail "no data file holds the segments rows"
sed -i 's/9999-12-31T23:59:59Z/10000-01-01T14:59:59Z/' "$data"

createdb "$dst"
if PGOPTIONS='-c session_replication_role=replica' pg_restore --exit-on-error --single-transaction \
    -d "$dst" "$dump/d" 2>"$dump/err"; then
    fail "the documented restore reported success for a dump with a row input refuses"
fi
grep -q 'invalid segment criteria' "$dump/err" || fail "the restore failed for another reason: $(cat "$dump/err")"
n=$(psql -X -q -At -d "$dst" -c "SELECT count(*) FROM pg_extension WHERE extname = 'segext'")
[ "$n" = 0 ] || fail "the failed single-transaction restore left the extension behind"

# Without those options pg_restore goes on and the segments table stays empty.
dropdb "$dst"; createdb "$dst"
if PGOPTIONS='-c session_replication_role=replica' pg_restore -d "$dst" "$dump/d" 2>/dev/null; then
    fail "pg_restore without --exit-on-error reported success"
fi
n=$(psql -X -q -At -d "$dst" -c "SELECT count(*) FROM segext.segments")
[ "$n" = 0 ] || fail "expected the unprotected restore to lose the segments rows, found $n"
echo "criteria_restore: the documented restore fails and leaves nothing; without its options the segments rows are lost"
