# test/helpers/released_library.sh (sourced): load a released version's data
# with that version's own library, as a user upgrading has it.
#
#   with_released_library VERSION COMMAND...
#
# builds the released library from test/released/segext-VERSION.tar.gz
# (once: the build is kept in .build/released-VERSION), puts it in place of
# the current library in the test cluster's server tree, runs COMMAND (whose
# new sessions load it), and puts the current library back, also when
# COMMAND fails.  Needs PG_CONFIG-compatible headers and SEGEXT_TMP (set by
# scripts/lib.sh's start_cluster).

# released_library_build prints the path of the released library, building it if needed.
released_library_build() {
    local version=$1 root tarball build sum
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    tarball=$root/test/released/segext-$version.tar.gz
    build=$root/.build/released-$version
    [ -f "$tarball" ] || { echo "no sources of released version $version: $tarball" >&2; return 1; }
    sum=$(sha256sum "$tarball" | cut -d' ' -f1)
    if [ ! -f "$build/segext-$version/segext.so" ] || [ "$(cat "$build/sha256" 2>/dev/null)" != "$sum" ]; then
        rm -rf "$build"
        mkdir -p "$build"
        tar -xzf "$tarball" -C "$build"
        make -C "$build/segext-$version" -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >"$build/build.log" 2>&1 \
            || { cat "$build/build.log" >&2; return 1; }
        echo "$sum" >"$build/sha256"
    fi
    echo "$build/segext-$version/segext.so"
}

# with_released_library runs a command while the cluster's server tree holds the released library.
with_released_library() {
    local version=$1 library lib saved rc errexit=0
    shift
    library=$(released_library_build "$version") || return 1
    lib=$(ls -d "$SEGEXT_TMP"/stage/usr/lib/postgresql/*/lib)/segext.so
    saved=$(mktemp "$SEGEXT_TMP/segext-current.XXXXXX")
    cp -p "$lib" "$saved"
    # a new file, renamed into place: running backends keep the library they mapped
    cp "$library" "$lib.new" && mv -f "$lib.new" "$lib"
    # the command stops at its first failure (errexit), and the library is put back anyway
    [[ $- == *e* ]] && errexit=1
    set +e
    (set -e; "$@")
    rc=$?
    [ "$errexit" = 0 ] || set -e
    cp -p "$saved" "$lib.new" && mv -f "$lib.new" "$lib"
    rm -f "$saved"
    return "$rc"
}
