#!/usr/bin/env bash
# scripts/test.sh: install what is missing, build segext, start a throwaway
# cluster (with pg_cron loaded) and run every suite (pg_regress, isolation, pgTAP, client and
# scripted tests, and the distributed suite on Citus where Citus is
# available), then the same suites on an AddressSanitizer/UBSan build
# (scripts/sanitize.sh, on a cluster of its own).  Exits non-zero if
# anything fails.
#
#   SEGEXT_SKIP_INSTALL=1  skip apt-get (for a machine already set up; pg_cron
#                          and the packaging tools are still installed when
#                          missing)
#   SEGEXT_KEEP=1          keep the temporary cluster directory afterwards
#   SEGEXT_SANITIZE=0      skip the sanitizer suite

source "$(dirname "$0")/lib.sh"
cd "$SEGEXT_ROOT"

[ "${SEGEXT_SKIP_INSTALL:-0}" = 1 ] || install_prerequisites
ensure_pg_cron
ensure_packaging_tools
build_extension
# Citus first, so that the staged server copy has it (scripts/lib.sh).
citus_started=$(date +%s)
prepare_citus
citus_prepared=$(( $(date +%s) - citus_started ))
start_cluster
load_pg_cron

passed=0
failed=0
declare -a failed_names=()

# count_results adds the "... ok" and "... FAILED" lines of a pg_regress-style log.
count_results() {
    local log=$1 ok bad
    ok=$(grep -cE '(\.\.\.|\.\.) +ok( |$)' "$log" || true)
    bad=$(grep -cE '(\.\.\.|\.\.) +(FAILED|failed|Failed)' "$log" || true)
    passed=$((passed + ok))
    failed=$((failed + bad))
}

# run_logged runs one suite, shows its output and records a failure.
run_logged() {
    local name=$1; shift
    local log="$SEGEXT_TMP/$name.log"
    log "suite: $name"
    if "$@" >"$log" 2>&1; then
        cat "$log"
        count_results "$log"
    else
        cat "$log"
        count_results "$log"
        failed_names+=("$name")
        [ "$(grep -cE 'FAILED|failed|Failed' "$log" || true)" -gt 0 ] || failed=$((failed + 1))
    fi
}

run_logged regress make -s PG_CONFIG="$PG_CONFIG" installcheck ISOLATION=
if [ -f regression.diffs ]; then cat regression.diffs; fi

if ls test/isolation/specs/*.spec >/dev/null 2>&1; then
    run_logged isolation make -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS=
    if [ -f output_iso/regression.diffs ]; then cat output_iso/regression.diffs; fi
fi

if ls test/*.sql >/dev/null 2>&1; then
    createdb segext_tap
    run_logged pgtap pg_prove --ext .sql -d segext_tap test/*.sql
fi

# Scripted tests: each test/scripts/*.sh exits 0 on success.
for script in test/scripts/*.sh; do
    [ -e "$script" ] || continue
    name=$(basename "$script" .sh)
    log "script: $name"
    if bash "$script" >"$SEGEXT_TMP/script-$name.log" 2>&1; then
        cat "$SEGEXT_TMP/script-$name.log"
        echo "test/scripts/$name .. ok"
        passed=$((passed + 1))
    else
        cat "$SEGEXT_TMP/script-$name.log"
        echo "test/scripts/$name .. FAILED"
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
done

# The distributed suite: a coordinator and two workers from the staged
# server (test/citus/run.sh), where Citus is available.
case "$SEGEXT_CITUS" in
    1)
        log "Citus ready in ${citus_prepared}s"
        run_logged citus bash test/citus/run.sh ;;
    failed)
        echo "citus: FAILED, $SEGEXT_CITUS_WHY"
        failed=$((failed + 1))
        failed_names+=("citus") ;;
    *)
        echo "citus: skipped, $SEGEXT_CITUS_WHY" ;;
esac

stop_cluster
trap - EXIT

# The sanitizer suite: one result, the whole run under the sanitizers.
if [ "${SEGEXT_SANITIZE:-1}" != 0 ]; then
    log "suite: sanitize"
    sanitize_log=$(mktemp /tmp/segext-sanitize-log.XXXXXX)
    if SEGEXT_SKIP_INSTALL=1 bash scripts/sanitize.sh >"$sanitize_log" 2>&1; then
        cat "$sanitize_log"
        echo "scripts/sanitize .. ok"
        passed=$((passed + 1))
    else
        cat "$sanitize_log"
        echo "scripts/sanitize .. FAILED"
        failed=$((failed + 1))
        failed_names+=("sanitize")
    fi
    rm -f "$sanitize_log"
fi

if [ ${#failed_names[@]} -gt 0 ]; then
    echo "failing suites: ${failed_names[*]}"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failed_names[@]} -eq 0 ]
