#!/usr/bin/env bash
# test/scripts/readme_examples.sh: every ```sql block of README.md and of
# docs/*.md runs as written, in order, in one psql session on a fresh
# database whose search_path is "$user", public (README.md: without the
# extension, which its quick start creates; each docs/ file: a database of
# its own with the extension created), as the superuser, switching roles only
# as the blocks themselves do (SET ROLE, \c).
#
# A block is marked by an HTML comment on the line before its fence:
#   <!-- not run: REASON -->           skipped (needs another server, a
#                                      preloaded library, placeholders)
#   <!-- expect error: SQLSTATE -->    one statement that fails on purpose
#                                      with that SQLSTATE
#   <!-- run last: REASON -->          run after every other block of the
#                                      file (e.g. one that drops the extension)
# Any other comment before a fence is an error, as is a mark without a reason.
# Roles the blocks create (CREATE ROLE name) are dropped afterwards.
#
#   test/scripts/readme_examples.sh [FILE.md ...]   (default: README.md docs/*.md)
#   SEGEXT_README_SHOW=1   print what psql printed
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/segext_readme.XXXXXX)
databases=()
roles=()
cleanup() {
    local db role
    for db in "${databases[@]}"; do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    for role in "${roles[@]}"; do
        psql -X -q -d postgres -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "readme_examples: $*" >&2; exit 1; }

if [ $# -gt 0 ]; then
    files=("$@")
else
    files=("$root/README.md")
    for doc in "$root"/docs/*.md; do
        [ -e "$doc" ] && files+=("$doc")
    done
fi

# make_script FILE OUT: writes the psql script of FILE's sql blocks to OUT and
# prints "blocks run skipped expected" counts; fails on a bad mark.
make_script() {
    awk -v file="$1" -v out="$2" '
    function flush_block(    text) {
        text = "\\echo \047@@ block at " file ":" start "\047\n"
        if (expect != "") {
            text = text "\\set ON_ERROR_STOP 0\n" body "\\set ON_ERROR_STOP 1\n" \
                   "\\echo \047@@ expected " expect " got\047 :SQLSTATE\n"
            expected++
        } else {
            text = text body
        }
        if (last) deferred = deferred text; else printf "%s", text > out
        run++
    }
    BEGIN { in_block = 0; mark = ""; blocks = 0; run = 0; skipped = 0; expected = 0; deferred = "" }
    in_block && /^```[ \t]*$/ {
        in_block = 0
        if (!skip) flush_block()
        next
    }
    in_block { if (!skip) body = body $0 "\n"; next }
    /^```sql[ \t]*$/ {
        in_block = 1; blocks++; start = NR; body = ""; skip = 0; expect = ""; last = 0
        if (mark ~ /^<!-- not run: [^ ].*-->$/) { skip = 1; skipped++ }
        else if (mark ~ /^<!-- expect error: [0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z] -->$/) { expect = mark; sub(/^<!-- expect error: /, "", expect); sub(/ -->$/, "", expect) }
        else if (mark ~ /^<!-- run last: [^ ].*-->$/) { last = 1 }
        else if (mark ~ /^<!--/) { printf "%s:%d: unknown mark before a sql block: %s\n", file, NR, mark > "/dev/stderr"; bad = 1 }
        mark = ""
        next
    }
    /^[ \t]*$/ { next }
    { mark = $0 }
    END {
        if (in_block) { printf "%s: unterminated sql block at line %d\n", file, start > "/dev/stderr"; bad = 1 }
        printf "%s", deferred > out
        print blocks, run, skipped, expected
        exit bad
    }' "$1"
}

total_run=0
n=0
for file in "${files[@]}"; do
    [ -f "$file" ] || fail "no such file: $file"
    file=$(realpath "$file")
    n=$((n + 1))
    name=$(basename "$file" .md)
    script=$work/$n-$name.sql
    counts=$(make_script "$file" "$script") || fail "$file: bad marks (see above)"
    read -r blocks run skipped expected <<<"$counts"
    echo "$file: $blocks sql blocks: $run run ($expected expect an error), $skipped not run"
    [ "$run" -gt 0 ] || continue
    total_run=$((total_run + run))

    db=segext_readme_${n}_$$
    databases+=("$db")
    createdb "$db"
    [ "$file" = "$root/README.md" ] || psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION segext"
    for role in $(grep -oiE 'create role [a-z_][a-z0-9_]*' "$file" | awk '{print tolower($3)}' | sort -u); do
        case "$role" in segext_*) continue ;; esac
        psql -X -q -At -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'" | grep -q 1 &&
            fail "$file creates role $role, which already exists in this cluster"
        roles+=("$role")
    done

    out=$work/$n-$name.out
    # The session a newcomer has: default search_path, psql without ~/.psqlrc.
    if ! PGOPTIONS='-c search_path="$user",public' \
        psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$script" >"$out" 2>&1; then
        cat "$out"
        where=$(grep '^@@ block at' "$out" | tail -1 | sed 's/^@@ block at //')
        fail "a block failed: $where (fix it, or mark it <!-- not run: reason --> or <!-- expect error: SQLSTATE -->)"
    fi
    if [ "${SEGEXT_README_SHOW:-0}" = 1 ]; then cat "$out"; fi
    search_path=$(PGOPTIONS='-c search_path="$user",public' psql -X -At -d "$db" -c 'SHOW search_path')
    [ "$search_path" = '"$user",public' ] || [ "$search_path" = '"$user", public' ] || fail "the session's search_path is $search_path"
    # Each block that shows an error: the SQLSTATE of its last statement, and
    # that statement its only error.
    while read -r line; do
        want=$(awk '{print $3}' <<<"$line")
        got=$(awk '{print $5}' <<<"$line")
        [ "$want" = "$got" ] || { cat "$out"; fail "expected SQLSTATE $want, got ${got:-none} ($line)"; }
    done < <(grep '^@@ expected' "$out")
    awk '/^@@ block at/ { block = $4; errors = 0; next }
         /^psql:.*ERROR:/ { errors++; if (errors > 1) { print "more than one error in the block at " block; bad = 1 } }
         END { exit bad }' "$out" || { cat "$out"; fail "a block that shows an error failed more than once"; }
    if grep -E '^psql:.*ERROR:' "$out" >/dev/null; then
        echo "errors shown on purpose:"
        grep -E '^psql:.*ERROR:' "$out" | sed 's/^psql:[^ ]* /  /'
    fi
done

echo "readme_examples: $total_run sql blocks ran as written"
