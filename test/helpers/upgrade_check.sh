# test/helpers/upgrade_check.sh (sourced): what the upgrade tests share.
#
#   upgrade_check_setup NAME
#
# sets released (PREVIOUS_VERSION of the Makefile), current (the control
# file's default_version), two new databases $old and $new, a work directory
# $work (all removed on exit) and fail(), which prefixes NAME.
#
#   update_and_compare_catalog
#
# updates $old to $current, installs $current in $new, and fails unless the
# two catalogs (test/helpers/describe_extension.sql) are equal; sets $facts
# to the number of facts compared.

upgrade_check_setup() {
    upgrade_check_name=$1
    upgrade_check_helpers=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    local root
    root=$(cd "$upgrade_check_helpers/../.." && pwd)
    released=$(sed -n 's/^PREVIOUS_VERSION = //p' "$root/Makefile")
    current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$root/segext.control")
    old=segext_${upgrade_check_name}_old_$$
    new=segext_${upgrade_check_name}_new_$$
    work=$(mktemp -d "/tmp/segext_${upgrade_check_name}.XXXXXX")
    trap upgrade_check_cleanup EXIT
    createdb "$old"
    createdb "$new"
}

# upgrade_check_cleanup drops the two databases and the work directory.
upgrade_check_cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $old" -c "DROP DATABASE IF EXISTS $new" >/dev/null 2>&1 || true
    rm -rf "$work"
}

fail() { echo "$upgrade_check_name: $*" >&2; exit 1; }

update_and_compare_catalog() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$old" -c "ALTER EXTENSION segext UPDATE TO '$current'"
    psql -X -q -v ON_ERROR_STOP=1 -d "$new" -c "CREATE EXTENSION segext"
    psql -X -q -v ON_ERROR_STOP=1 -d "$old" -f "$upgrade_check_helpers/describe_extension.sql" >"$work/catalog_updated"
    psql -X -q -v ON_ERROR_STOP=1 -d "$new" -f "$upgrade_check_helpers/describe_extension.sql" >"$work/catalog_fresh"
    facts=$(grep -c . "$work/catalog_fresh")
    [ "$facts" -gt 300 ] || fail "the catalog description has only $facts lines"
    if ! diff -u "$work/catalog_fresh" "$work/catalog_updated" >"$work/catalog.diff"; then
        cat "$work/catalog.diff"
        fail "the catalog after ALTER EXTENSION UPDATE differs from a fresh install (- fresh, + updated)"
    fi
}
