#!/usr/bin/env bash
# test/scripts/package.sh: the Debian package.  dpkg-buildpackage builds
# postgresql-15-segext from a copy of the source tree (debian/, pg_buildext);
# the package must hold the library, the control file and every install and
# upgrade script, depend on PostgreSQL 15 and be installable (dpkg --no-act);
# then a throwaway cluster runs from a copy of the server tree that holds
# segext only as unpacked from the package, and there CREATE EXTENSION
# segext and a first segment work, and the update path from 0.1.0 is there.
# The build skips the package's own regression run (nocheck): the suite runs
# those tests already.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
fail() { echo "package: $*" >&2; exit 1; }
started=$(date +%s)

version=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$SEGEXT_ROOT/segext.control")
work=$(mktemp -d /tmp/segext_package.XXXXXX)
chmod 755 "$work"
cleanup_package() { stop_cluster; rm -rf "$work"; }
trap cleanup_package EXIT

command -v dpkg-buildpackage >/dev/null && command -v pg_buildext >/dev/null &&
    dpkg-query -W -f='${Status}' debhelper 2>/dev/null | grep -q 'install ok installed' ||
    fail "the packaging tools are missing (scripts/lib.sh ensure_packaging_tools installs them)"

# A copy of the tree as git sees it (tracked and new files, not the ignored
# build products), so that the build neither uses nor touches the checkout.
mkdir "$work/segext"
( cd "$SEGEXT_ROOT" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar -c --null -T - ) | tar -x -C "$work/segext"
( cd "$work/segext" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b ) >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log"; fail "dpkg-buildpackage failed"; }
built=$(date +%s)
deb=$work/postgresql-$PG_MAJOR-segext_${version}-1_$(dpkg --print-architecture).deb
[ -f "$deb" ] || fail "no $(basename "$deb") was built: $(ls "$work")"

# What the package holds and needs.
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/lib/postgresql/$PG_MAJOR/lib/segext.so \
         ./usr/share/postgresql/$PG_MAJOR/extension/segext.control \
         ./usr/share/postgresql/$PG_MAJOR/extension/segext--$version.sql \
         ./usr/share/postgresql/$PG_MAJOR/extension/segext--0.1.0.sql \
         ./usr/share/postgresql/$PG_MAJOR/extension/segext--0.1.0--$version.sql \
         ./usr/share/doc/postgresql-$PG_MAJOR-segext/copyright; do
    grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
[ "$(dpkg-deb -f "$deb" Package)" = "postgresql-$PG_MAJOR-segext" ] || fail "package name $(dpkg-deb -f "$deb" Package)"
[ "$(dpkg-deb -f "$deb" Version)" = "$version-1" ] || fail "package version $(dpkg-deb -f "$deb" Version), expected $version-1"
dpkg-deb -f "$deb" Depends | grep -q "postgresql-$PG_MAJOR\b" || fail "the package does not depend on postgresql-$PG_MAJOR: $(dpkg-deb -f "$deb" Depends)"
# dpkg accepts it on this machine (dependencies met), without installing it.
run_as_root dpkg --no-act -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i would fail"; }
# The packaged scripts are the ones make builds.
for f in segext--$version.sql segext--0.1.0--$version.sql; do
    [ -f "$SEGEXT_ROOT/$f" ] || continue
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/share/postgresql/$PG_MAJOR/extension/$f" |
        cmp -s - "$SEGEXT_ROOT/$f" || fail "the packaged $f differs from the built one"
done

# A server that has segext only from the package.
SEGEXT_STAGE_PACKAGE=$deb
export SEGEXT_STAGE_PACKAGE
start_cluster >/dev/null 2>&1 || fail "could not start a cluster from the package"
trap cleanup_package EXIT  # start_cluster set its own
lib=$SEGEXT_TMP/stage$("$PG_CONFIG" --pkglibdir)/segext.so
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/lib/postgresql/$PG_MAJOR/lib/segext.so" | cmp -s - "$lib" ||
    fail "the staged server's segext.so is not the packaged one"

createdb segext_pkg
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d segext_pkg <<'SQL'
CREATE EXTENSION segext;
SELECT extversion FROM pg_extension WHERE extname = 'segext';
SELECT segext.create_company('Acme') AS a \gset
INSERT INTO segext.segments (company_id, name, criteria)
    VALUES (:'a', 'Buyers', '[{"type": "transaction_count", "min": 1, "max": 10}]');
INSERT INTO segext.customers (company_id, id, external_id) VALUES (:'a', '0000000000000000000000c1', 'x1');
INSERT INTO segext.transactions (company_id, customer_id, amount) VALUES (:'a', '0000000000000000000000c1', 10);
SELECT s.name FROM segext.memberships m JOIN segext.segments s ON s.id OPERATOR(pg_catalog.=) m.segment_id
    WHERE s.number >= 2;
SQL
) || fail "CREATE EXTENSION from the package failed: $out"
[ "$out" = "$(printf '%s\nBuyers' "$version")" ] || fail "from the package: '$out', expected version $version and a member of Buyers"

# The update path from the released version is there (a 0.1.0 database,
# made by the 0.1.0 library, is updated by test/scripts/upgrade.sh).
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d segext_pkg -c "SELECT path FROM pg_catalog.pg_extension_update_paths('segext')
    WHERE source = '0.1.0' AND target = '$version'") || fail "reading the update paths failed: $out"
[ "$out" = "0.1.0--$version" ] || fail "update path from 0.1.0 with the package: '$out', expected 0.1.0--$version"

echo "package: built postgresql-$PG_MAJOR-segext_${version}-1 in $((built - started)) s; CREATE EXTENSION works from its files ($(( $(date +%s) - started )) s in all)"
