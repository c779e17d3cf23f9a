#!/usr/bin/env bash
# test/tools/test.sh — `make test`: builds and installs oms, runs every suite
# against a throwaway cluster, stops it, and ends with "N passed, N failed".
. "$(dirname "$0")/lib.sh"

ensure_packages
build_and_install
cluster_start test 5498 fsync=off synchronous_commit=off full_page_writes=off \
    shared_preload_libraries=oms oms.expire_holds_interval=1s oms.database=postgres
trap cluster_stop_quietly EXIT

LOG_DIR=$OMS_ROOT/.cluster/log
mkdir -p "$LOG_DIR"
passed=0
failed=0

# Adds the results a suite printed to the totals: pg_regress's lines
# ("test x ... ok" up to PostgreSQL 15, TAP from 16 on) or TAP's.
tally() {
    local suite=$1 log=$2 rc=$3 ok bad
    if [ "$suite" = regress ] || [ "$suite" = isolation ]; then
        ok=$(grep -cE '(\.\.\. ok|^ok [0-9]+)' "$log" || true)
        bad=$(grep -cE '(\.\.\. FAILED|\.\.\. failed|^not ok [0-9]+)' "$log" || true)
    else
        ok=$(grep -cE '^ok [0-9]+' "$log" || true)
        bad=$(grep -cE '^not ok [0-9]+' "$log" || true)
    fi
    if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then bad=1; fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    printf '    %-14s %4d passed, %d failed%s\n' "$suite" "$ok" "$bad" \
        "$([ "$bad" = 0 ] || echo "  (see $log)")"
}

# Runs a suite, keeping its output in $LOG_DIR/<suite>.log.
suite() {
    local name=$1 rc=0
    shift
    "$@" >"$LOG_DIR/$name.log" 2>&1 || rc=$?
    tally "$name" "$LOG_DIR/$name.log" "$rc"
    if [ "$rc" != 0 ]; then
        cat "$LOG_DIR/$name.log"
        [ -f "$OMS_ROOT/regression.diffs" ] && cat "$OMS_ROOT/regression.diffs"
        [ -f "$OMS_ROOT/output_iso/regression.diffs" ] && cat "$OMS_ROOT/output_iso/regression.diffs"
    fi
    return 0
}

pgtap() {
    psql_q -c 'DROP DATABASE IF EXISTS oms_tap' -c 'CREATE DATABASE oms_tap'
    psql_q -d oms_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION oms'
    pg_prove --psql-bin "$PGBIN/psql" --verbose --ext .sql -d oms_tap "$OMS_ROOT"/test/pgtap/
}

step "running the suites"
suite regress make -s -C "$OMS_ROOT" PG_CONFIG="$PG_CONFIG" installcheck ISOLATION=
suite isolation make -s -C "$OMS_ROOT" PG_CONFIG="$PG_CONFIG" installcheck REGRESS=
suite pgtap pgtap
suite dump "$OMS_ROOT/test/dump/dump_restore.sh"
suite upgrade "$OMS_ROOT/test/upgrade/upgrade.sh"
suite dump-upgraded env DUMP_SOURCE=oms_upgrade "$OMS_ROOT/test/dump/dump_restore.sh"
suite worker "$OMS_ROOT/test/worker/worker.sh"
suite events "$OMS_ROOT/test/events/listen.sh"
suite storm "$OMS_ROOT/test/storm/storm.sh"

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
