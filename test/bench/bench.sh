#!/usr/bin/env bash
# test/bench/bench.sh — `make bench`: oms.place_order against a plain PL/pgSQL
# baseline doing the same job (test/bench/baseline.sql), on a throwaway cluster
# with durable commits, in one run: (a) 3-line orders over many SKUs and
# locations, (b) a flash sale of one SKU at one location, and (b2) the same flash
# sale selling out, (a) with the available-to-promise feed off and on again,
# alternating, to show what it costs, and (a) without events to show what
# they cost.
# Prints successful orders per second, p50/p99 latency, the
# oms/baseline ratio and the invariant checks after every run.  See README.md.
#
# Environment: BENCH_SECONDS (20) per timed run, BENCH_WARMUP (5) seconds of
# unmeasured load before each timed run, BENCH_CLIENTS_A (16),
# BENCH_CLIENTS_B (64), BENCH_SKUS (10000), BENCH_FLASH_UNITS (1000000),
# BENCH_ATP_ROUNDS (5) pairs of (a) with the feed off and on,
# BENCH_ATP_INTERVAL (oms.atp_interval of the cluster, default its own), BENCH_PORT
# (5497), BENCH_NO_BUILD=1 to skip building and installing oms, BENCH_KEEP=1
# to leave the cluster running afterwards.
. "$(dirname "$0")/../tools/lib.sh"
BENCH=$OMS_ROOT/test/bench
OUT=$BENCH/results
SECS=${BENCH_SECONDS:-20}
WARMUP=${BENCH_WARMUP:-5}
CLIENTS_A=${BENCH_CLIENTS_A:-16}
CLIENTS_B=${BENCH_CLIENTS_B:-64}
NSKUS=${BENCH_SKUS:-10000}
NLOCS=10
FLASH_UNITS=${BENCH_FLASH_UNITS:-1000000}
ATP_ROUNDS=${BENCH_ATP_ROUNDS:-5}
JOBS=$(nproc)
DB=oms_bench

. "$BENCH/stats.sh"

if [ "${1:-}" = --selftest ]; then
    stats_selftest
    exit 0
fi

ensure_packages
[ "${BENCH_NO_BUILD:-}" = 1 ] || build_and_install
# Durable and realistic: fsync, synchronous_commit and full_page_writes on (the
# defaults, spelled out), room for 64+ clients, shared_buffers holding the data,
# and no checkpoint in the middle of a run (each run starts with one).  oms is
# preloaded so that its background worker flushes the available-to-promise
# feed of $DB every second, as in production; the worker publishes no NOTIFYs
# and expires no holds here (neither is part of placing an order).
cluster_start bench "${BENCH_PORT:-5497}" max_connections=200 shared_buffers=1GB \
    fsync=on synchronous_commit=on full_page_writes=on \
    max_wal_size=8GB checkpoint_timeout=30min \
    shared_preload_libraries=oms oms.database=$DB oms.publish_interval=0 oms.expire_holds_interval=0 \
    ${BENCH_ATP_INTERVAL:+oms.atp_interval=$BENCH_ATP_INTERVAL}
[ "${BENCH_KEEP:-}" = 1 ] || trap cluster_stop_quietly EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

step "creating database $DB: oms, the baseline, and the same shop in each ($NSKUS SKUs x $NLOCS locations)"
psql_q -c "CREATE DATABASE $DB"
export PGDATABASE=$DB
psql_q -c 'CREATE EXTENSION oms' -f "$BENCH/baseline.sql"
psql_q -v nskus="$NSKUS" -v nlocs="$NLOCS" -v flash_units="$FLASH_UNITS" -f "$BENCH/setup.sql" >/dev/null
# The feed's first flush computes every SKU: before the runs, not in one.
if psql_q -At -c "SELECT to_regprocedure('oms.atp_flush(integer)') IS NOT NULL" | grep -q t; then
    until [ "$(psql_q -At -c "SELECT oms.atp_flush(100000) >= 0 AND NOT EXISTS (SELECT FROM oms.atp_signal)
                                  AND (SELECT refresh_after IS NULL FROM oms.atp_flush_state)")" = t ]; do
        sleep 0.5
    done
fi
psql_q -c 'VACUUM ANALYZE'

HAVE_OMS=$(psql_q -At -c "
    SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'oms' AND p.proname IN ('place_order', 'cancel_order')")
if [ "$HAVE_OMS" != 2 ]; then
    echo "    oms.place_order is not in this build of oms: running the baseline only"
fi

count_orders() {
    psql_q -At -c "SELECT count(*) FROM $1.orders"
}

# Runs pgbench once: run SCENARIO SYSTEM CLIENTS SCRIPT PGBENCH-ARGS...  Sets
# R_OK (orders placed), R_TRIES (calls), R_RATE (orders/s), R_P50, R_P99 (ms),
# R_SECS and R_ERR (what went wrong, if anything).
run() {
    local scenario=$1 system=$2 clients=$3 script=$4 before after rc=0
    shift 4
    local prefix=$OUT/$scenario-$system
    printf '    %-8s %-8s %3d clients ... ' "$scenario" "$system" "$clients"
    psql_q -c CHECKPOINT
    # Timed runs warm up first: right after a checkpoint every first change of
    # a page writes the whole page to the WAL, which would weigh on a short run
    # far more than on a server that checkpoints every few minutes.
    if [ "$1" = -T ] && [ "$WARMUP" -gt 0 ]; then
        timeout $((WARMUP * 4 + 120)) "$PGBIN/pgbench" -n -M prepared -c "$clients" -j "$JOBS" \
            -D nskus="$NSKUS" -T "$WARMUP" "${@:3}" -f "$BENCH/$script" >"$prefix.warmup" 2>&1 || true
    fi
    before=$(count_orders "$system")
    rm -f "$prefix".[0-9]*      # a scenario run again: only this run's transactions count
    timeout $((SECS * 4 + 120)) "$PGBIN/pgbench" -n -M prepared -c "$clients" -j "$JOBS" \
        --failures-detailed --verbose-errors -l --log-prefix="$prefix" \
        -D nskus="$NSKUS" "$@" -f "$BENCH/$script" >"$prefix.out" 2>&1 || rc=$?
    after=$(count_orders "$system")
    R_OK=$((after - before))
    read -r R_TRIES R_P50 R_P99 R_SECS < <(latency_stats "$prefix".[0-9]*)
    R_RATE=$(awk -v n="$R_OK" -v s="$R_SECS" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
    R_ERR="" R_FLAG=""
    if [ "$rc" != 0 ] || grep -q 'aborted' "$prefix.out"; then
        R_FLAG="CLIENTS ABORTED"
        R_ERR="pgbench exit $rc: $(grep -m1 -E 'error|aborted' "$prefix.out" || true)"
    elif grep -qE '^number of failed transactions: [1-9]' "$prefix.out"; then
        R_FLAG="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$prefix.out") TXNS FAILED"
        R_ERR="$(grep -E '^number of (failed transactions|serialization failures|deadlock failures)' "$prefix.out" | paste -sd ';' -)"
        R_ERR="$R_ERR; first error: $(grep -m1 -E 'ERROR' "$prefix.out" | sed 's/.*ERROR: *//' || true)"
    fi
    echo "$R_OK orders placed of $R_TRIES calls in ${R_SECS}s"
    [ -z "$R_ERR" ] || echo "      $R_ERR"
}

# The invariant checks after a run, as one word for the table; the offending
# rows go to the notes.
check() {
    local system=$1 rows
    if [ "$system" = oms ]; then
        rows=$(psql_q -At -F ': ' -c 'SELECT * FROM bench.oms_check()' 2>&1) || rows="check failed: $rows"
    else
        rows=$(psql_q -At -F ': ' -c 'SELECT * FROM bench.baseline_check()' 2>&1) || rows="check failed: $rows"
    fi
    if [ -z "$rows" ]; then
        R_CHECK=ok
    else
        R_CHECK="FAIL($(echo "$rows" | wc -l))"
        NOTES+=("$system: $(printf '%s\n' "$rows" | sed -n 1,5p | paste -sd ';' -)")
    fi
}

# The query for a flash SKU's stock at L01: stock_sql SYSTEM SKU COLUMNS.  oms
# spreads a hot row over slots, so its reserved units are read from oms.v_stock.
stock_sql() {
    if [ "$1" = oms ]; then
        echo "SELECT $3 FROM oms.v_stock WHERE sku = '$2' AND location = 'L01'"
    else
        echo "SELECT $3 FROM baseline.stock st JOIN baseline.sku s ON s.id = st.sku_id
               JOIN baseline.location l ON l.id = st.location_id WHERE s.code = '$2' AND l.code = 'L01'"
    fi
}

ROWS=()
NOTES=()
declare -A RATE
# Adds a line to the table: row SCENARIO SYSTEM CLIENTS.
row() {
    local scenario=$1 system=$2 clients=$3 ratio=-
    RATE[$scenario-$system]=$R_RATE
    if [ "$system" = oms ] && [ "$R_RATE" != - ] && [ -n "${RATE[$scenario-baseline]:-}" ]; then
        ratio=$(awk -v a="$R_RATE" -v b="${RATE[$scenario-baseline]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    fi
    ROWS+=("$(printf '%-18s %-9s %7s %12s %8s %8s %13s  %s' "$scenario" "$system" "$clients" \
        "$R_RATE" "$R_P50" "$R_P99" "$ratio" "$R_CHECK")")
    if [ -n "$R_ERR" ]; then
        ROWS[-1]="${ROWS[-1]}, $R_FLAG"
        NOTES+=("$scenario $system: $R_ERR")
    fi
}

# Runs one scenario for both systems: scenario NAME CLIENTS SCRIPT-STEM PGBENCH-ARGS...
scenario() {
    local name=$1 clients=$2 stem=$3 system
    shift 3
    for system in baseline oms; do
        if [ "$system" = oms ] && [ "$HAVE_OMS" != 2 ]; then
            R_RATE=- R_P50=- R_P99=- R_CHECK="n/a" R_ERR="" R_FLAG=""
            row "$name" "$system" "$clients"
            continue
        fi
        run "$name" "$system" "$clients" "${stem}_$system.sql" "$@"
        check "$system"
        row "$name" "$system" "$clients"
        R_OKS[$name-$system]=$R_OK
    done
}
declare -A R_OKS

step "a: 3-line orders, $CLIENTS_A clients, ${SECS}s per system"
scenario a-3lines "$CLIENTS_A" order3 -T "$SECS"

A_WITH_EVENTS=$R_RATE

step "b: flash sale of FLASH-1 ($FLASH_UNITS units at L01), $CLIENTS_B clients, 1 unit per order, ${SECS}s per system"
scenario b-flash "$CLIENTS_B" flash -T "$SECS" -D sku=FLASH-1
for system in baseline oms; do
    [ "$system" = oms ] && [ "$HAVE_OMS" != 2 ] && continue
    left=$(psql_q -At -c "$(stock_sql "$system" FLASH-1 'on_hand - reserved')")
    [ "$left" -gt 0 ] || NOTES+=("b-flash $system: FLASH-1 sold out during the run; raise BENCH_FLASH_UNITS")
done

# The sell-out: as many units as the slower system sells in about half a run,
# the same for both, and 25% more orders than units, so both sell out.
slowest=$(printf '%s\n' "${RATE[b-flash-baseline]}" "${RATE[b-flash-oms]}" | { grep -E '^[0-9.]+$' || true; } | sort -n | head -1)
UNITS=$(awk -v r="${slowest:-0}" -v s="$SECS" 'BEGIN { u = int(r * s / 2 / 100) * 100; print (u < 100 ? 100 : u) }')
PER_CLIENT=$(( (UNITS * 5 / 4 + CLIENTS_B - 1) / CLIENTS_B ))
psql_q -c "SELECT oms.receive_stock('FLASH-2', 'L01', $UNITS, 'bench sell-out')" \
       -c "INSERT INTO baseline.stock (sku_id, location_id, on_hand)
           SELECT s.id, l.id, $UNITS FROM baseline.sku s, baseline.location l
            WHERE s.code = 'FLASH-2' AND l.code = 'L01'" >/dev/null
step "b2: flash sale of FLASH-2 selling out: $UNITS units, $CLIENTS_B clients x $PER_CLIENT orders of 1 unit"
scenario "b2-sellout" "$CLIENTS_B" flash -t "$PER_CLIENT" -D sku=FLASH-2
for system in baseline oms; do
    [ "$system" = oms ] && [ "$HAVE_OMS" != 2 ] && continue
    read -r on_hand reserved < <(psql_q -At -F ' ' -c "$(stock_sql "$system" FLASH-2 'on_hand, reserved')")
    ok=${R_OKS[b2-sellout-$system]}
    if [ "$on_hand" = "$UNITS" ] && [ "$reserved" = "$UNITS" ] && [ "$ok" = "$UNITS" ]; then
        NOTES+=("b2-sellout $system: sold out exactly: $ok orders for $UNITS units, reserved = on_hand = $reserved")
    else
        NOTES+=("b2-sellout $system: FAIL: $ok orders for $UNITS units, on_hand $on_hand, reserved $reserved")
        for i in "${!ROWS[@]}"; do
            case ${ROWS[$i]} in "b2-sellout"*" $system "*) ROWS[$i]="${ROWS[$i]%ok} OVERSOLD/UNDERSOLD" ;; esac
        done
    fi
done

# Tops every stock row of SKU-i at Lj up to its opening free units again,
# (7 i + 13 j) mod 30 above what it has reserved or held, with one
# oms.sync_stock per location, and waits for the feed to take it in: each run
# of the feed's comparison starts from the same stock (they would otherwise
# sell the shop empty), and none pays for the one before.
refill() {
    psql_q -c "SELECT count(*) FROM oms.location l, LATERAL oms.sync_stock(l.code, (
                   SELECT jsonb_agg(jsonb_build_object('sku', s.code, 'on_hand',
                              st.reserved + st.held + st.escrow
                              + (7 * substr(s.code, 5)::integer + 13 * substr(l.code, 2)::integer) % 30))
                     FROM oms.stock st JOIN oms.sku s ON s.id = st.sku_id
                    WHERE st.location_id = l.id AND s.code LIKE 'SKU-%'), 'bench: refill')
                WHERE l.code ~ '^L[0-9]+\$'" >/dev/null
    until [ "$(psql_q -At -c "SELECT oms.atp_flush(100000) >= 0 AND NOT EXISTS (SELECT FROM oms.atp_signal)")" = t ]; do
        sleep 0.5
    done
}

# What the available-to-promise feed costs: scenario (a) with oms.atp_feed off
# (the orders signal nothing, the worker flushes nothing) and on, alternating,
# ATP_ROUNDS times, each from the same stock.  Their invariants are not
# checked: the orders placed with the feed off leave it behind
# (oms.atp_refresh() would catch up).
if [ "$HAVE_OMS" = 2 ] && [ "$ATP_ROUNDS" -gt 0 ]; then
    ATP_OFF=() ATP_ON=()
    for round in $(seq 1 "$ATP_ROUNDS"); do
        # Off first in odd rounds, on first in even ones: the shop's tables
        # grow with every run, and that must not weigh on one side only.
        if [ $((round % 2)) = 1 ]; then order="off on"; else order="on off"; fi
        step "a with the available-to-promise feed ${order/ /, then } (round $round of $ATP_ROUNDS), $CLIENTS_A clients, ${SECS}s each"
        for feed in $order; do
            refill
            if [ "$feed" = off ]; then
                PGOPTIONS="-c oms.atp_feed=off" run a-no-atp oms "$CLIENTS_A" order3_oms.sql -T "$SECS"
                R_CHECK="not checked"
                row a-no-atp oms "$CLIENTS_A"
                ATP_OFF+=("$R_RATE")
            else
                run a-atp oms "$CLIENTS_A" order3_oms.sql -T "$SECS"
                R_CHECK="not checked"
                row a-atp oms "$CLIENTS_A"
                ATP_ON+=("$R_RATE")
            fi
        done
    done
    NOTES+=("available-to-promise feed: oms places $(IFS=/; echo "${ATP_ON[*]}") orders/s with it, $(IFS=/; echo "${ATP_OFF[*]}")/s without: $(awk -v on="${ATP_ON[*]}" -v off="${ATP_OFF[*]}" 'BEGIN { n = split(on, a, " "); split(off, b, " "); for (i = 1; i <= n; i++) { s += a[i]; t += b[i] } printf "%.1f%% of throughput", (t > 0 ? (1 - s / t) * 100 : 0) }') (sums over the rounds)")
    # Each round's on/off ratio, and their median: a round's two runs are
    # next to each other, so a change of load on the machine weighs on both.
    NOTES+=("available-to-promise feed, on/off per round: $(awk -v on="${ATP_ON[*]}" -v off="${ATP_OFF[*]}" 'BEGIN {
                n = split(on, a, " "); split(off, b, " ")
                for (i = 1; i <= n; i++) { r[i] = (b[i] > 0 ? a[i] / b[i] : 0); printf "%s%.3f", (i > 1 ? " " : ""), r[i] }
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { x = r[i]; r[i] = r[j]; r[j] = x }
                m = (n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2)
                printf "; median %.3f (a cost of %.1f%%)", m, (1 - m) * 100 }')")
fi

# What the event path costs: scenario (a) again with oms.events off, which
# writes no order_event and outbox rows.  It runs last: the orders it places
# have no events, so the invariants no longer hold afterwards.
if [ "$HAVE_OMS" = 2 ]; then
    step "a without events: oms.place_order with oms.events = off, $CLIENTS_A clients, ${SECS}s"
    refill
    PGOPTIONS="-c oms.events=off" run a-no-events oms "$CLIENTS_A" order3_oms.sql -T "$SECS"
    R_CHECK="not checked"
    row a-no-events oms "$CLIENTS_A"
    NOTES+=("event path: oms places $A_WITH_EVENTS orders/s writing events, $R_RATE/s without: $(awk -v a="$A_WITH_EVENTS" -v b="$R_RATE" 'BEGIN { printf "%.1f%% of throughput", (b > 0 ? (1 - a / b) * 100 : 0) }')")
fi

{
    echo
    echo "oms $(psql_q -At -c "SELECT extversion FROM pg_extension WHERE extname = 'oms'"), PostgreSQL $(psql_q -At -c 'SHOW server_version'), $(nproc) cores; fsync, synchronous_commit on; pgbench -M prepared -j $JOBS"
    echo "load average before the runs: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews the figures)"
    echo
    printf '%-18s %-9s %7s %12s %8s %8s %13s  %s\n' scenario system clients "ok orders/s" "p50 ms" "p99 ms" "oms/baseline" invariants
    printf '%s\n' "${ROWS[@]}"
    echo
    for note in "${NOTES[@]}"; do echo "  $note"; done
    echo
    echo "  pgbench output and per-transaction logs: $OUT"
} | tee "$OUT/summary.txt"

! grep -qE 'FAIL|OVERSOLD|ABORTED' "$OUT/summary.txt"
