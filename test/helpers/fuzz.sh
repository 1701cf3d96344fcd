# test/helpers/fuzz.sh: shared steps of the fuzz scripts (sourced).  Builds
# the corpus player (test/client/segext_fuzz.c), plays a corpus a script has
# generated into its database, and checks that no server process died.
#
#   SEGEXT_FUZZ_INPUTS=N  inputs per type (default 30000)
#   SEGEXT_FUZZ_SEED=S    seed of the generators (default 1); the same seed
#                         gives the same inputs
set -euo pipefail

fuzz_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fuzz_inputs=${SEGEXT_FUZZ_INPUTS:-30000}
fuzz_seed=${SEGEXT_FUZZ_SEED:-1}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
fuzz_work=$(mktemp -d)
fuzz_server_log=${SEGEXT_TMP:+$SEGEXT_TMP/socket/server.log}
fuzz_log_offset=0
if [ -n "$fuzz_server_log" ] && [ -f "$fuzz_server_log" ]; then
    fuzz_log_offset=$(stat -c %s "$fuzz_server_log")
fi

# fuzz_setseed prints the setseed call for the seed and a per-script salt.
fuzz_setseed() {
    echo "SELECT pg_catalog.setseed(((${fuzz_seed}::numeric * 7919 + $1) % 1000003) / 1000003.0) \\gset"
}

# fuzz_build_player compiles the player into the work directory.
fuzz_build_player() {
    cc -O2 -Wall -Wextra -Werror -I"$($PG_CONFIG --includedir)" "$fuzz_root/test/client/segext_fuzz.c" \
        -L"$($PG_CONFIG --libdir)" -lpq -o "$fuzz_work/segext_fuzz"
}

# fuzz_play db type allowed_text allowed_binary: plays fuzz_corpus of db.
fuzz_play() {
    "$fuzz_work/segext_fuzz" "dbname=$1" "$2" "$3" "$4"
}

# fuzz_check_server fails when the server log shows a server process that
# died since the script started, or the server does not answer.
fuzz_check_server() {
    local died
    psql -X -q -At -d postgres -c 'SELECT 1' >/dev/null || { echo "the server does not answer" >&2; return 1; }
    if [ -z "$fuzz_server_log" ] || [ ! -f "$fuzz_server_log" ]; then
        echo "no server log to check (SEGEXT_TMP is not set)"
        return 0
    fi
    died=$(tail -c +"$((fuzz_log_offset + 1))" "$fuzz_server_log" |
           grep -E 'terminated by signal|exited with exit code|was terminated by exception' || true)
    if [ -n "$died" ]; then
        echo "server processes died:" >&2
        echo "$died" >&2
        return 1
    fi
    echo "server log: no server process died"
}
