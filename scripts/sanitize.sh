#!/usr/bin/env bash
# scripts/sanitize.sh: build segext with AddressSanitizer and UBSan
# (make SANITIZE=1) in its own directory, start a throwaway cluster whose
# server runs with gcc's sanitizer runtimes preloaded, run the pg_regress,
# isolation and pgTAP suites and the fuzz scripts against it, and fail on any
# failing test, any sanitizer report and any server process that died.
#
# The build lives in .build/sanitize (a copy of the sources, so the normal
# build is not disturbed) and is reused: a second run compiles only what
# changed.  Only segext is instrumented; the PostgreSQL server is the
# packaged one, into which LD_PRELOAD loads the runtimes.
#
#   SEGEXT_SKIP_INSTALL=1           skip apt-get (for a machine already set up)
#   SEGEXT_KEEP=1                   keep the cluster directory afterwards
#   SEGEXT_SANITIZE_FUZZ_INPUTS=N   fuzz inputs per type here (default 6000)
#   SEGEXT_SANITIZE_SUITES="..."    the suites to run, of: regress isolation
#                                   pgtap fuzz (default all)

source "$(dirname "$0")/lib.sh"
cd "$SEGEXT_ROOT"

[ "${SEGEXT_SKIP_INSTALL:-0}" = 1 ] || install_prerequisites

build_dir=$SEGEXT_ROOT/.build/sanitize

# sync_sources copies what the build and the regression suites read into
# build_dir, keeping modification times so make rebuilds only what changed,
# and removes every file that is neither in the repository nor made by the
# build or the suites (so a moved test directory leaves no stale copy that
# pg_regress would read first).
sync_sources() {
    local f
    mkdir -p "$build_dir"
    tar -C "$SEGEXT_ROOT" -cf - --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
        Makefile segext.control src test/regress test/isolation | tar -C "$build_dir" -xf -
    while IFS= read -r f; do
        [ -e "$SEGEXT_ROOT/$f" ] || rm -f "$build_dir/$f"
    done < <(cd "$build_dir" && find . \( -path ./results -o -path ./output_iso -o -path ./log \) -prune \
                 -o -type f ! -name '*.o' ! -name '*.so' ! -name '*.bc' ! -path './segext--*.sql' \
                 ! -name 'regression.*' -print)
}

# build_sanitized builds the instrumented segext, one build at a time.
build_sanitized() {
    log "building segext with AddressSanitizer and UBSan in $build_dir"
    mkdir -p "$build_dir"
    (
        flock 9
        sync_sources
        make -C "$build_dir" -s PG_CONFIG="$PG_CONFIG" SANITIZE=1 COPT=-Werror >/dev/null
    ) 9>"$SEGEXT_ROOT/.build/sanitize.lock"
}

# runtime_path prints the resolved path of one of gcc's runtime libraries.
runtime_path() {
    local path
    path=$(realpath -e "$(gcc -print-file-name="$1")" 2>/dev/null) || {
        echo "sanitize: gcc has no $1 (install libasan8 and libubsan1)" >&2
        return 1
    }
    echo "$path"
}

start=$(date +%s)
build_sanitized
asan=$(runtime_path libasan.so)
ubsan=$(runtime_path libubsan.so)

# Sanitizer reports go to files in this directory, one per process.
reports=$(mktemp -d /tmp/segext-sanitize.XXXXXX)
chmod 755 "$reports"
[ "$(id -u)" -ne 0 ] || chown postgres:postgres "$reports"  # the server writes here
cleanup() {
    stop_cluster
    rm -rf "$reports"
}
trap cleanup EXIT

# The server's own libraries are preloaded ahead of the runtime: with
# gcc 12's libasan first, a library constructor of the server's dependency
# tree (reproduced with a program linking only libp11-kit, which the server
# loads through libldap and libgnutls) leaves glibc's
# gettext lock unusable and the server hangs in bindtextdomain at start.
# libc stays after the runtime, so malloc and free are still the runtime's;
# verify_asan_link_order=0 allows this order.  detect_leaks=0: the server
# frees by memory context and at exit, not by free(), so leak reports would
# be noise.  abort_on_error=1: a report ends the process with SIGABRT, which
# the postmaster logs as a crash.  allocator_may_return_null=1: an
# allocation too large fails as PostgreSQL's "out of memory", as without the
# sanitizer.  malloc_context_size=5 and quarantine_size_mb=64: shorter
# allocation stacks and a smaller quarantine for the server's own mallocs
# (the pgTAP suite ran in 182 s instead of 281 s).  ASan writes its reports to files in $reports; gcc's UBSan
# writes "runtime error: ..." to the server log and ends the process.
export SEGEXT_BUILD_DIR=$build_dir
server_libs=$(ldd "$PG_BINDIR/postgres" | awk '$3 ~ /^\// && $1 !~ /^libc\.so/ {printf "%s:", $3}')
SEGEXT_SERVER_ENV="LD_PRELOAD=$server_libs$asan:$ubsan"
SEGEXT_SERVER_ENV+=" ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:malloc_context_size=5:quarantine_size_mb=64:log_path=$reports/asan"
SEGEXT_SERVER_ENV+=" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$reports/ubsan"
export SEGEXT_SERVER_ENV
start_cluster
trap cleanup EXIT
server_log=$SEGEXT_TMP/socket/server.log
if ! psql -X -At -d postgres -c 'SELECT 1' >/dev/null; then
    echo "sanitize: the server did not start with the sanitizer runtimes" >&2
    cat "$server_log" >&2
    exit 1
fi

failed=0

# step runs one suite, shows its output and records a failure.
step() {
    local name=$1; shift
    local log="$SEGEXT_TMP/sanitize-$name.log"
    local t0=$SECONDS
    log "sanitize suite: $name"
    if "$@" >"$log" 2>&1; then
        cat "$log"
        echo "sanitize/$name .. ok ($((SECONDS - t0)) s)"
    else
        cat "$log"
        echo "sanitize/$name .. FAILED ($((SECONDS - t0)) s)"
        failed=$((failed + 1))
    fi
}

# regress_suite runs pg_regress or the isolation specs in the build copy.
regress_suite() {
    local diffs=$1; shift
    rm -f "$build_dir/$diffs"
    if make -C "$build_dir" -s PG_CONFIG="$PG_CONFIG" SANITIZE=1 installcheck "$@"; then
        return 0
    fi
    [ ! -f "$build_dir/$diffs" ] || cat "$build_dir/$diffs"
    return 1
}

# pgtap_suite runs every pgTAP file in a database of its own.
pgtap_suite() {
    createdb segext_tap_sanitize
    pg_prove --ext .sql -d segext_tap_sanitize test/*.sql
}

suites=" ${SEGEXT_SANITIZE_SUITES:-regress isolation pgtap fuzz} "
[[ $suites != *" regress "* ]] || step regress regress_suite regression.diffs ISOLATION=
[[ $suites != *" isolation "* ]] || step isolation regress_suite output_iso/regression.diffs REGRESS=
[[ $suites != *" pgtap "* ]] || step pgtap pgtap_suite
if [[ $suites == *" fuzz "* ]]; then
    for fuzz in test/scripts/*_fuzz.sh; do
        [ -e "$fuzz" ] || continue
        step "$(basename "$fuzz" .sh)" env SEGEXT_FUZZ_INPUTS="${SEGEXT_SANITIZE_FUZZ_INPUTS:-6000}" bash "$fuzz"
    done
fi

# A server process that died (a sanitizer abort, a signal) is logged by the
# postmaster.  ASan writes its reports to the report files; UBSan's reports
# (with gcc, "runtime error: ...") can also land in the server log.
crashes=$(grep -E 'terminated by signal|exited with exit code|was terminated by exception|runtime error:|==[0-9]+==ERROR: |Sanitizer' "$server_log" || true)
as_postgres "$SEGEXT_PG_BIN/pg_ctl" -D "$SEGEXT_TMP/data" -m fast -w stop >/dev/null
if [ -n "$crashes" ]; then
    echo "sanitize: server processes died or sanitizers reported in the server log:"
    echo "$crashes"
    failed=$((failed + 1))
fi
report_files=$(find "$reports" -type f | sort)
if [ -n "$report_files" ]; then
    echo "sanitize: sanitizer reports:"
    while IFS= read -r f; do
        echo "--- $f"
        head -n 60 "$f"
    done <<<"$report_files"
    failed=$((failed + 1))
else
    echo "sanitize: no sanitizer report"
fi

echo "sanitize: $(( $(date +%s) - start )) s in all"
[ "$failed" -eq 0 ]
