#!/usr/bin/env bash
# test/bench/route/route.sh — the routing benchmark (issue #4): oms.route
# against a PL/pgSQL implementation of the same objective (reference.sql), in
# one run, on three data sets, each in its own database of a throwaway cluster:
#
#   5x50    5-line orders,  50 locations: oms.route against bench_ref.route_exhaustive
#   10x200  10-line orders, 200 locations: oms.route against bench_ref.route_greedy
#   20x500  20-line orders, 500 locations: oms.route against bench_ref.route_greedy
#
# First it checks on orders of each pool that the engine's plans are sound and
# agree with the reference (check.sql): the same units, shipments and cost as
# the exhaustive search, never worse than the greedy one.  Then pgbench calls
# each function on random orders of the pool (oms.sql, exhaustive.sql,
# greedy.sql) and the table gives calls per second, the oms/reference ratio
# and latency percentiles from pgbench's per-call logs.  Targets (issue #4): at
# least 20 times the reference; median under 1 ms for 10x200.
#
# Environment: BENCH_ROUTE_SECONDS (10) per timed run, BENCH_ROUTE_WARMUP (2)
# seconds of unmeasured calls before each, BENCH_ROUTE_CLIENTS ("1"; "1 2" runs
# each case with 1 and then 2 clients), BENCH_ROUTE_ORDERS (1000) orders per
# pool, BENCH_ROUTE_CHECK (200) orders compared per data set,
# BENCH_ROUTE_PORT (5492), BENCH_NO_BUILD=1 to skip building and installing
# oms, BENCH_KEEP=1 to leave the cluster running afterwards
# (psql -h .cluster/bench_route -p 5492 -U postgres route_5x50).
# Output: test/bench/results/route/ (summary.txt, the comparisons, pgbench
# output and logs).  --selftest checks the percentile and duration maths.
. "$(dirname "$0")/../../tools/lib.sh"
ROUTE=$OMS_ROOT/test/bench/route
OUT=$OMS_ROOT/test/bench/results/route
SECS=${BENCH_ROUTE_SECONDS:-10}
WARMUP=${BENCH_ROUTE_WARMUP:-2}
CLIENTS=${BENCH_ROUTE_CLIENTS:-1}
ORDERS=${BENCH_ROUTE_ORDERS:-1000}
CHECK=${BENCH_ROUTE_CHECK:-200}
PORT=${BENCH_ROUTE_PORT:-5492}

# The cases: name, locations, SKUs, lines per order, reference, seed.
CASES=(
    "5x50 50 300 5 exhaustive 0.11"
    "10x200 200 1000 10 greedy 0.22"
    "20x500 500 2000 20 greedy 0.33"
)

# These calls take well under a millisecond: three decimals.
STATS_DECIMALS=3
. "$OMS_ROOT/test/bench/stats.sh"

if [ "${1:-}" = --selftest ]; then
    stats_selftest
    exit 0
fi

ensure_packages
[ "${BENCH_NO_BUILD:-}" = 1 ] || build_and_install
# Read-only calls: durability settings do not matter.  JIT off for both, as
# oms's own functions run: it would compile code for queries of a few rows.
cluster_start bench_route "$PORT" shared_buffers=256MB jit=off
[ "${BENCH_KEEP:-}" = 1 ] || trap cluster_stop_quietly EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
NOTES=()
FAILED=0

for c in "${CASES[@]}"; do
    read -r name nlocs nskus nlines ref seed <<<"$c"
    db=route_$name
    step "data set $name: $nlocs locations, $nskus SKUs, $ORDERS orders of $nlines lines (database $db)"
    psql_q -c "CREATE DATABASE $db"
    psql_q -d "$db" -c 'CREATE EXTENSION oms'
    if [ "$(psql_q -d "$db" -At -c "SELECT to_regprocedure('oms.route(jsonb,jsonb,text,jsonb)') IS NOT NULL")" != t ]; then
        echo "oms.route is not in this build of oms: nothing to benchmark" >&2
        exit 1
    fi
    psql_q -d "$db" -f "$ROUTE/reference.sql"
    psql_q -d "$db" -v nlocs="$nlocs" -v nskus="$nskus" -v nlines="$nlines" -v norders="$ORDERS" \
        -v seed="$seed" -f "$ROUTE/setup.sql" >/dev/null
    psql_q -d "$db" -f "$ROUTE/check.sql"
    psql_q -d "$db" -c 'VACUUM ANALYZE'
    psql_q -d "$db" -At -c "
        SELECT 'locations: ' || sum(n) || ' (' || string_agg(n || ' ' || kind, ', ' ORDER BY kind) || ')'
          FROM (SELECT kind, count(*) AS n FROM oms.location GROUP BY kind) k" \
        -c "SELECT 'stock rows: ' || count(*) || ', of which ' || count(*) FILTER (WHERE on_hand = 0) || ' empty, '
                   || count(*) FILTER (WHERE reserved > 0) || ' with reservations, '
                   || count(*) FILTER (WHERE held > 0) || ' with holds, '
                   || count(*) FILTER (WHERE safety_stock > 0) || ' with safety stock' FROM oms.stock" | sed 's/^/    /'
done

step "checking oms.route against the reference on orders 1..$CHECK of each pool"
for c in "${CASES[@]}"; do
    read -r name nlocs nskus nlines ref seed <<<"$c"
    db=route_$name
    exact=$([ "$ref" = exhaustive ] && echo true || echo false)
    psql_q -d "$db" -c "CREATE TABLE bench_route.checked AS
                        SELECT * FROM bench_route.compare('bench_ref.route_$ref', $exact, $CHECK)"
    psql_q -d "$db" -c "SELECT k.*, o.lines, o.ship_to FROM bench_route.checked k
                          JOIN bench_route.orders o USING (id) ORDER BY id" >"$OUT/check-$name.txt"
    summary=$(psql_q -d "$db" -At -c "
        SELECT string_agg(verdict || ' ' || n, ', ' ORDER BY verdict) FROM
               (SELECT verdict, count(*) AS n FROM bench_route.checked GROUP BY verdict) v")
    shipments=$(psql_q -d "$db" -At -c "
        SELECT string_agg(s || ': ' || n, ', ' ORDER BY s) FROM
               (SELECT (engine ->> 'shipments')::integer AS s, count(*) AS n FROM bench_route.checked
                 WHERE engine IS NOT NULL GROUP BY 1) v")
    search=$(psql_q -d "$db" -At -c "
        SELECT count(*) FILTER (WHERE engine ->> 'search' = 'exact') || ' exact, '
               || count(*) FILTER (WHERE engine ->> 'search' = 'bounded') || ' bounded, nodes median '
               || coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY (engine ->> 'nodes')::integer), 0)
               || ', max ' || coalesce(max((engine ->> 'nodes')::integer), 0)
          FROM bench_route.checked WHERE engine IS NOT NULL")
    better=$(psql_q -d "$db" -At -c "
        SELECT count(*) FILTER (WHERE (engine ->> 'shipments')::integer < (ref ->> 'shipments')::integer) || ' fewer shipments, '
               || count(*) FILTER (WHERE (engine ->> 'shipments')::integer = (ref ->> 'shipments')::integer
                                    AND (engine ->> 'cost')::numeric < (ref ->> 'cost')::numeric) || ' same shipments at less cost'
          FROM bench_route.checked WHERE verdict = 'improves'")
    printf '    %-7s %s\n' "$name" "$summary"
    NOTES+=("$name against $ref, orders 1..$CHECK: $summary")
    NOTES+=("    engine shipments per order: $shipments; search: $search")
    [ "$ref" = greedy ] && NOTES+=("    engine better than greedy: $better")
    # Failures, and for an exact reference any difference, with the order.
    failing="verdict IN ('error', 'invalid', 'explain', 'worse', 'better')"
    listed="$failing"
    [ "$ref" = exhaustive ] && listed="verdict NOT IN ('same')"
    bad=$(psql_q -d "$db" -At -c "SELECT count(*) FROM bench_route.checked WHERE $failing")
    [ "$bad" = 0 ] || FAILED=1
    while IFS= read -r line; do
        [ -n "$line" ] && NOTES+=("    $line")
    done < <(psql_q -d "$db" -At -c "
        SELECT format('%s order %s: %s%s; engine %s; reference %s; lines %s; ship_to %s',
                      CASE WHEN $failing THEN 'FAIL' ELSE 'differs' END, k.id, k.verdict,
                      coalesce(' (' || k.detail || ')', ''), k.engine, k.ref, o.lines, o.ship_to)
          FROM bench_route.checked k JOIN bench_route.orders o USING (id)
         WHERE $listed ORDER BY k.id LIMIT 10")
done

# Runs pgbench once: run CASE SYSTEM CLIENTS SCRIPT.  Sets R_RATE (calls/s),
# R_P50, R_P99 (ms) and R_ERR (what went wrong, if anything).
run() {
    local name=$1 system=$2 clients=$3 script=$4 rc=0 n secs
    local prefix=$OUT/$name-$system-c$clients
    printf '    %-7s %-10s %d client(s) ... ' "$name" "$system" "$clients"
    if [ "$WARMUP" -gt 0 ]; then
        timeout $((WARMUP * 4 + 60)) "$PGBIN/pgbench" -n -M prepared -c "$clients" -j "$clients" \
            -T "$WARMUP" -D norders="$ORDERS" -f "$ROUTE/$script" "route_$name" >"$prefix.warmup" 2>&1 || true
    fi
    timeout $((SECS * 4 + 60)) "$PGBIN/pgbench" -n -M prepared -c "$clients" -j "$clients" \
        --failures-detailed --verbose-errors -l --log-prefix="$prefix" \
        -T "$SECS" -D norders="$ORDERS" -f "$ROUTE/$script" "route_$name" >"$prefix.out" 2>&1 || rc=$?
    read -r n R_P50 R_P99 secs < <(latency_stats "$prefix".[0-9]*)
    R_RATE=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
    R_ERR=""
    if [ "$rc" != 0 ] || grep -q 'aborted' "$prefix.out"; then
        R_ERR="pgbench exit $rc: $(grep -m1 -E 'ERROR|error|aborted' "$prefix.out" || true)"
    elif grep -qE '^number of failed transactions: [1-9]' "$prefix.out"; then
        R_ERR="$(grep -E '^number of failed transactions' "$prefix.out"); first error: $(grep -m1 ERROR "$prefix.out" || true)"
    fi
    echo "$n calls in ${secs}s"
    if [ -n "$R_ERR" ]; then
        echo "      $R_ERR"
        NOTES+=("$name $system, $clients client(s): $R_ERR")
        FAILED=1
    fi
}

ROWS=()
for c in "${CASES[@]}"; do
    read -r name nlocs nskus nlines ref seed <<<"$c"
    step "$name: oms.route against bench_ref.route_$ref, ${SECS}s each"
    psql_q -d "route_$name" -c CHECKPOINT
    for clients in $CLIENTS; do
        run "$name" "$ref" "$clients" "$ref.sql"
        ref_rate=$R_RATE ref_p50=$R_P50 ref_p99=$R_P99
        run "$name" oms "$clients" oms.sql
        ratio=$(awk -v a="$R_RATE" -v b="$ref_rate" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
        targets=$(awk -v r="$ratio" -v p="$R_P50" -v c="$name" 'BEGIN {
            t = (r >= 20 ? "ratio ok" : "RATIO BELOW 20")
            if (c == "10x200") t = t (p != "-" && p < 1 ? ", p50 ok" : ", P50 NOT UNDER 1 MS")
            print t }')
        ROWS+=("$(printf '%-7s %-10s %7s %12s %12s %7s %9s %9s %9s %9s  %s' "$name" "$ref" "$clients" \
            "$R_RATE" "$ref_rate" "$ratio" "$R_P50" "$R_P99" "$ref_p50" "$ref_p99" "$targets")")
    done
done

{
    echo
    echo "oms $(psql_q -d route_5x50 -At -c "SELECT extversion FROM pg_extension WHERE extname = 'oms'"), PostgreSQL $(psql_q -At -c 'SHOW server_version'), $(nproc) cores; pgbench -M prepared, ${SECS}s per run after ${WARMUP}s of warm-up, random orders out of $ORDERS per data set"
    echo "load average before the runs: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews the figures)"
    echo
    printf '%-7s %-10s %7s %12s %12s %7s %9s %9s %9s %9s  %s\n' case reference clients "oms calls/s" "ref calls/s" ratio \
        "oms p50" "oms p99" "ref p50" "ref p99" "targets (>= 20x; 10x200 p50 < 1 ms)"
    printf '%s\n' "${ROWS[@]}"
    echo "(latencies in ms)"
    echo
    for note in "${NOTES[@]}"; do echo "  $note"; done
    echo
    echo "  comparisons, pgbench output and per-call logs: $OUT"
} | tee "$OUT/summary.txt"

exit "$FAILED"
