#!/usr/bin/env bash
# test/bench/sync/sync.sh — `make bench-sync`: oms.sync_stock of 100,000 counts
# at one location against count_stock called once per count, in one run, on
# copies of the same data, with durable commits.
#
# setup.sql loads the shop once into a template database (a warehouse with
# stock, reservations, holds and hot rows, and the ERP's counts of it); each
# round copies it three times and times, each in its own copy and transaction:
#
#   json      oms.sync_stock(location, counts)     the counts as one JSON text, cast to jsonb
#   staging   oms.sync_stock_from(location, table) the counts in a staging table
#   baseline  bench_sync.count_each(location)      count_stock once per count (setup.sql)
#
# After each round the three copies must hold the same stock rows, slots,
# hold lines and ledger (ids and times aside, state.sql) and no failed
# invariant; the table gives milliseconds (commit included), the
# baseline/oms ratio, the counts refused below reserved, and the medians over
# the rounds.  Target (issue 12): at least 20 times faster.
#
# Environment: BENCH_SYNC_SKUS (100000) counts and SKUs, BENCH_SYNC_ORDERS
# (5000) orders, BENCH_SYNC_HOLDS (1000) holds, BENCH_SYNC_ROUNDS (3),
# BENCH_SYNC_PORT (5493), BENCH_SYNC_FLOOR=1 to measure the pieces of the
# work in plain SQL afterwards (floor.sql), BENCH_NO_BUILD=1 to skip building and installing
# oms, BENCH_KEEP=1 to leave the cluster running afterwards
# (psql -h .cluster/bench_sync -p 5493 -U postgres sync_json).
# Output: test/bench/results/sync/ (summary.txt, the states compared).
. "$(dirname "$0")/../../tools/lib.sh"
SYNC=$OMS_ROOT/test/bench/sync
OUT=$OMS_ROOT/test/bench/results/sync
NSKUS=${BENCH_SYNC_SKUS:-100000}
NORDERS=${BENCH_SYNC_ORDERS:-5000}
NHOLDS=${BENCH_SYNC_HOLDS:-1000}
ROUNDS=${BENCH_SYNC_ROUNDS:-3}
PORT=${BENCH_SYNC_PORT:-5493}
SYSTEMS="json staging baseline"
HZ=$(getconf CLK_TCK)

declare -A CALL=(
    [json]="SELECT count(*) FILTER (WHERE outcome = 'below_reserved') AS refused, count(*) AS reported
              FROM oms.sync_stock('DC1', (SELECT doc::jsonb FROM bench_sync.doc), 'erp sync')"
    [staging]="SELECT count(*) FILTER (WHERE outcome = 'below_reserved') AS refused, count(*) AS reported
                 FROM oms.sync_stock_from('DC1', 'bench_sync.counts', 'erp sync')"
    [baseline]="SELECT bench_sync.count_each('DC1', 'erp sync') AS refused, '-' AS reported"
)

ensure_packages
[ "${BENCH_NO_BUILD:-}" = 1 ] || build_and_install
# Durable, as production runs; shared_buffers holds the data; no checkpoint
# in the middle of a timed call (each round starts with one).
cluster_start bench_sync "$PORT" shared_buffers=1GB fsync=on synchronous_commit=on full_page_writes=on \
    max_wal_size=8GB checkpoint_timeout=30min
[ "${BENCH_KEEP:-}" = 1 ] || trap cluster_stop_quietly EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
FAILED=0

step "loading the template: $NSKUS SKUs, $NORDERS orders, $NHOLDS holds (database sync_template)"
psql_q -c "CREATE DATABASE sync_template"
psql_q -d sync_template -c 'CREATE EXTENSION oms'
if [ "$(psql_q -d sync_template -At -c "SELECT to_regprocedure('oms.sync_stock(text,jsonb,text)') IS NOT NULL")" != t ]; then
    echo "oms.sync_stock is not in this build of oms: nothing to benchmark" >&2
    exit 1
fi
psql_q -d sync_template -v nskus="$NSKUS" -v norders="$NORDERS" -v nholds="$NHOLDS" -f "$SYNC/setup.sql" >/dev/null
psql_q -d sync_template -c 'VACUUM ANALYZE'
MIX=$(psql_q -d sync_template -At -c "
    SELECT format('%s counts: %s of SKUs not yet stocked at DC1, %s as booked, %s up, %s down, %s below the units reserved, held or in escrow',
                  count(*), count(*) FILTER (WHERE st.sku_id IS NULL), count(*) FILTER (WHERE c.on_hand = st.on_hand),
                  count(*) FILTER (WHERE c.on_hand > st.on_hand), count(*) FILTER (WHERE c.on_hand < st.on_hand),
                  count(*) FILTER (WHERE c.on_hand < st.reserved + st.held + st.escrow))
      FROM bench_sync.counts c JOIN oms.sku s ON s.code = c.sku
      LEFT JOIN oms.stock st ON st.sku_id = s.id AND st.location_id = (SELECT id FROM oms.location WHERE code = 'DC1')" \
    -c "SELECT format('DC1 before: %s stock rows, %s with reservations, %s with hold lines (%s of them expired), %s hot (8 slots); %s stock rows, %s ledger rows in all',
                  count(*) FILTER (WHERE l.code = 'DC1'), count(*) FILTER (WHERE l.code = 'DC1' AND st.reserved > 0),
                  (SELECT count(DISTINCT sku_id) FROM oms.hold_line), (SELECT count(DISTINCT sku_id) FROM oms.hold_line WHERE expires_at < now()),
                  count(*) FILTER (WHERE st.slots > 0), count(*), (SELECT count(*) FROM oms.stock_movement))
      FROM oms.stock st JOIN oms.location l ON l.id = st.location_id")
echo "$MIX" | sed 's/^/    /'

# ratio A B: A / B with one decimal.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

ROWS=()
declare -A TIMES
for round in $(seq 1 "$ROUNDS"); do
    step "round $round of $ROUNDS"
    for system in $SYSTEMS; do
        db=sync_$system
        psql_q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
            -c "CREATE DATABASE $db TEMPLATE sync_template"
        psql_q -c CHECKPOINT
        read -r ms ticks refused reported < <(psql_q -d "$db" -At -v call="${CALL[$system]}" -f "$SYNC/run.sql")
        TIMES[$round,$system]=$ms
        TIMES[$round,$system,cpu]=$(awk -v t="$ticks" -v hz="$HZ" 'BEGIN { printf "%.0f", t * 1000 / hz }')
        TIMES[$round,$system,refused]=$refused
        psql_q -d "$db" -f "$SYNC/state.sql" >"$OUT/state-$system.txt"
        printf '    %-9s %10s ms, %6s ms of CPU, %s refused below reserved, %s rows reported\n' "$system" "$ms" \
            "${TIMES[$round,$system,cpu]}" "$refused" "$reported"
    done
    same=yes
    for system in json staging; do
        if ! cmp -s "$OUT/state-$system.txt" "$OUT/state-baseline.txt"; then
            same=NO
            FAILED=1
            diff "$OUT/state-baseline.txt" "$OUT/state-$system.txt" | head -20 >"$OUT/diff-$round-$system.txt"
            echo "    $system differs from the baseline: $OUT/diff-$round-$system.txt"
        fi
    done
    if grep -q '^invariant' "$OUT/state-baseline.txt"; then
        same="$same, INVARIANTS FAIL"
        FAILED=1
    fi
    for system in $SYSTEMS; do
        [ "${TIMES[$round,$system,refused]}" = "${TIMES[$round,baseline,refused]}" ] || { same="$same, REFUSALS DIFFER"; FAILED=1; }
    done
    TIMES[$round,same]=$same
    ROWS+=("$(printf '%5s %9s %9s %9s %7s %7s %9s %9s %9s %7s %7s %8s  %s' "$round" \
        "${TIMES[$round,json]}" "${TIMES[$round,staging]}" "${TIMES[$round,baseline]}" \
        "$(ratio "${TIMES[$round,baseline]}" "${TIMES[$round,json]}")" \
        "$(ratio "${TIMES[$round,baseline]}" "${TIMES[$round,staging]}")" \
        "${TIMES[$round,json,cpu]}" "${TIMES[$round,staging,cpu]}" "${TIMES[$round,baseline,cpu]}" \
        "$(ratio "${TIMES[$round,baseline,cpu]}" "${TIMES[$round,json,cpu]}")" \
        "$(ratio "${TIMES[$round,baseline,cpu]}" "${TIMES[$round,staging,cpu]}")" \
        "${TIMES[$round,baseline,refused]}" "$same")")
done

# Medians over the rounds.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
declare -A MED
for key in json staging baseline json,cpu staging,cpu baseline,cpu; do
    MED[$key]=$(for round in $(seq 1 "$ROUNDS"); do echo "${TIMES[$round,$key]}"; done | median)
done
ratio_json=$(ratio "${MED[baseline]}" "${MED[json]}")
ratio_staging=$(ratio "${MED[baseline]}" "${MED[staging]}")
cpu_json=$(ratio "${MED[baseline,cpu]}" "${MED[json,cpu]}")
cpu_staging=$(ratio "${MED[baseline,cpu]}" "${MED[staging,cpu]}")
target=$(awk -v a="$ratio_json" -v b="$ratio_staging" 'BEGIN { print (a >= 20 && b >= 20 ? "target met (>= 20x)" : "BELOW THE TARGET OF 20x") }')

{
    echo
    echo "oms $(psql_q -d sync_template -At -c "SELECT extversion FROM pg_extension WHERE extname = 'oms'"), PostgreSQL $(psql_q -At -c 'SHOW server_version'), $(nproc) cores; fsync and synchronous_commit on; each call in a copy of the same template, commit included"
    echo "load average before the runs: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews the figures)"
    echo "$MIX" | sed 's/^/  /'
    echo
    printf '%5s %9s %9s %9s %7s %7s %9s %9s %9s %7s %7s %8s  %s\n' "" "wall ms" "" "" "" "" "CPU ms" "" "" "" "" "" ""
    printf '%5s %9s %9s %9s %7s %7s %9s %9s %9s %7s %7s %8s  %s\n' round json staging baseline "x json" "x stage" \
        json staging baseline "x json" "x stage" refused "identical stock and ledger"
    printf '%s\n' "${ROWS[@]}"
    printf '%5s %9s %9s %9s %7s %7s %9s %9s %9s %7s %7s\n' median "${MED[json]}" "${MED[staging]}" "${MED[baseline]}" \
        "$ratio_json" "$ratio_staging" "${MED[json,cpu]}" "${MED[staging,cpu]}" "${MED[baseline,cpu]}" "$cpu_json" "$cpu_staging"
    echo
    echo "  json: oms.sync_stock with the counts as JSON text; staging: oms.sync_stock_from a table;"
    echo "  baseline: oms.count_stock once per count (bench_sync.count_each); x: baseline / oms."
    echo "  wall: from BEGIN to COMMIT; CPU: of the backend, from /proc (what a busy machine inflates least)."
    echo "  Wall-clock ratio: $target"
    echo "  states compared: $OUT"
} | tee "$OUT/summary.txt"

# The floor (BENCH_SYNC_FLOOR=1): what the work every count needs costs by
# itself, in plain SQL, each in a fresh copy after a CHECKPOINT, rolled back;
# and the whole sync and baseline again for their WAL.  Medians of
# BENCH_SYNC_FLOOR_RUNS (3).
if [ "${BENCH_SYNC_FLOOR:-}" = 1 ]; then
    step "the floor: pieces of the work in plain SQL (CPU ms, WAL MB; medians of ${BENCH_SYNC_FLOOR_RUNS:-3} runs)"
    DC1="(SELECT id FROM oms.location WHERE code = 'DC1')"
    declare -A FLOOR=(
        [1-parse]="SELECT jsonb_array_length(doc::jsonb) FROM bench_sync.doc"
        [2-lookup]="SELECT count(*) FROM bench_sync.counts c JOIN oms.sku s ON s.code = c.sku"
        [3-lock]="SELECT count(*) FROM (SELECT FROM oms.stock WHERE location_id = $DC1 FOR NO KEY UPDATE) x"
        [4-ledger]="SET LOCAL session_replication_role = replica; INSERT INTO oms.stock_movement (sku_id, location_id, kind, quantity, on_hand_after, reason, created_by) SELECT sku_id, location_id, 'count', 0, on_hand, 'erp sync', 'postgres' FROM oms.stock WHERE location_id = $DC1"
        [5-staging]="${CALL[staging]}"
        [6-json]="${CALL[json]}"
        [7-baseline]="${CALL[baseline]}"
    )
    for key in $(printf '%s\n' "${!FLOOR[@]}" | sort); do
        cpus=() wals=()
        for run in $(seq 1 "${BENCH_SYNC_FLOOR_RUNS:-3}"); do
            psql_q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS sync_floor" \
                -c "CREATE DATABASE sync_floor TEMPLATE sync_template"
            read -r ticks wal < <(psql_q -d sync_floor -At -v call="${FLOOR[$key]}" -f "$SYNC/floor.sql")
            cpus+=("$(awk -v t="$ticks" -v hz="$HZ" 'BEGIN { printf "%.0f", t * 1000 / hz }')")
            wals+=("$wal")
        done
        printf '    %-14s %6s ms of CPU %8.1f MB of WAL   (runs: %s ms)\n' "${key#*-}" \
            "$(printf '%s\n' "${cpus[@]}" | median)" \
            "$(printf '%s\n' "${wals[@]}" | median | awk '{ print $1 / 1048576 }')" "${cpus[*]}" | tee -a "$OUT/summary.txt"
    done
fi

exit "$FAILED"
