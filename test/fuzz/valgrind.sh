#!/usr/bin/env bash
# test/fuzz/valgrind.sh — `make valgrind`: runs the regression and isolation
# suites and then the fuzzer against a throwaway cluster (port 5495) whose
# every process runs under valgrind memcheck, and counts the reports that have
# a frame in oms.  Ends "valgrind: N reports, reports with an oms frame: N" and
# fails when that second number is not 0.
#
# Environment: VALGRIND_FUZZ_SECONDS (300; 0 skips the fuzzer), FUZZ_SEED (1),
# FUZZ_TIMEOUT (30s), VALGRIND_SUITES ("regress isolation"), VALGRIND_OPTS (more
# valgrind options), VALGRIND_SUPP (a suppression file; by default
# test/fuzz/valgrind.supp).  Reports, one file per process, and the suites'
# output land in .cluster/log/valgrind/.
#
# What it can see: Debian's server is not built with USE_VALGRIND, so memcheck
# knows malloc'd blocks, not palloc chunks: it finds reads of uninitialised
# memory, overruns past a memory-context block, and use of a block after its
# context was deleted (SPI_finish, a reset per-call context) — not an overrun
# into the next chunk of the same block.  See test/fuzz/README.md.
. "$(dirname "$0")/../tools/lib.sh"
PACKAGES="$PACKAGES valgrind python3 python3-psycopg2"
SUITES=${VALGRIND_SUITES:-regress isolation}
FUZZ_SECS=${VALGRIND_FUZZ_SECONDS:-300}
SUPP=${VALGRIND_SUPP:-$OMS_ROOT/test/fuzz/valgrind.supp}
LOG=$OMS_ROOT/.cluster/log/valgrind
export PGCTLTIMEOUT=600

ensure_packages
build_and_install

cluster_env valgrind 5495
cluster_stop_quietly
step "starting PostgreSQL $PG_MAJOR under valgrind ($PGDATA, port $PGPORT, reports in $LOG)"
as_root rm -rf "$PGDATA" "$LOG"
mkdir -p "$(dirname "$PGDATA")" "$LOG"
as_root chown "$(run_user)" "$LOG"
as_root install -d -o "$(run_user)" -m 700 "$PGDATA"
as_run_user "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
# Every backend is a fork of the postmaster and so runs under valgrind too.
as_run_user valgrind --quiet --tool=memcheck --leak-check=no --num-callers=40 --trace-children=yes \
    --track-origins=yes --read-var-info=no --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
    --suppressions="$SUPP" ${VALGRIND_OPTS:-} --log-file="$LOG/%p.log" \
    "$PGBIN/postgres" -D "$PGDATA" -p "$PGPORT" -k "$PGDATA" -c listen_addresses='' \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off \
    -c shared_preload_libraries=oms -c oms.database=postgres -c oms.expire_holds_interval=1s \
    -c max_connections=40 -c "log_line_prefix=%m [%p] %e %b " >"$PGDATA/server.log" 2>&1 &
trap cluster_stop_quietly EXIT
for _ in $(seq 1 300); do
    "$PGBIN/pg_isready" -q && break
    sleep 1
done
"$PGBIN/pg_isready" -q || { cat "$PGDATA/server.log"; exit 1; }

# Runs a suite with its output in $LOG/<name>.out; prints how it ended.
suite() {
    local name=$1 rc=0
    shift
    step "$name under valgrind"
    "$@" >"$LOG/$name.out" 2>&1 || rc=$?
    if [ "$name" = fuzz ]; then
        grep -E '^fuzz: seed' "$LOG/$name.out" | sed 's/^/    /' || true
    else
        grep -E '(\.\.\. ok|\.\.\. FAILED|\.\.\. failed|^(not )?ok [0-9]+)' "$LOG/$name.out" \
            | awk '/FAILED|failed|not ok/ { bad++ } { n++ } END { printf "    %d tests, %d failed\n", n, bad }' || true
    fi
    if [ "$rc" != 0 ] && [ "$name" = fuzz ]; then
        echo "    (the fuzzer failed: its report is in $LOG/$name.out)"
    elif [ "$rc" != 0 ]; then
        echo "    (exit $rc, see $LOG/$name.out; under valgrind timing-dependent tests may fail)"
    fi
    return 0
}
for s in $SUITES; do
    case $s in
        regress) suite regress make -s -C "$OMS_ROOT" PG_CONFIG="$PG_CONFIG" installcheck ISOLATION= ;;
        isolation) suite isolation make -s -C "$OMS_ROOT" PG_CONFIG="$PG_CONFIG" installcheck REGRESS= ;;
    esac
done
if [ "$FUZZ_SECS" != 0 ]; then
    suite fuzz env FUZZ_CLUSTER=running FUZZ_SECONDS="$FUZZ_SECS" FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-30s} \
        FUZZ_SERVER_LOG="$PGDATA/server.log" FUZZ_OUT="$LOG/fuzz" "$OMS_ROOT/test/fuzz/fuzz.sh"
fi

step "stopping the server and counting valgrind reports"
cluster_stop_quietly
trap - EXIT
python3 -B "$OMS_ROOT/test/fuzz/vgreport.py" "$OMS_ROOT/src" "$LOG"
