#!/usr/bin/env bash
# test/bench/report/report.sh — `make bench-report` (issue #14): the
# reporting views of schema oms_report on a generated shop, on a throwaway
# cluster of its own (port BENCH_REPORT_PORT, 5491).
#
#   0. Proves the bulk path (prove.sh): BENCH_REPORT_PROVE (2000) orders of
#      one plan loaded by bulk.sql and by oms's functions (real.sql), in two
#      databases: the same rows in every table the reports read, the same
#      figures in every view (one md5 each).
#   1. Loads BENCH_REPORT_ORDERS or ORDERS (1000000) orders over
#      BENCH_REPORT_DAYS (365) days in BENCH_REPORT_STAGES steps (plan.sql
#      draws them, bulk.sql writes them; the rollups rebuilt after each
#      step), and after each
#      step times every view's typical dashboard query (queries.txt) with
#      pgbench: mean and p95 of BENCH_REPORT_RUNS (30) runs, once with
#      nothing noted and once with a tail of orders not yet folded in
#      (BENCH_REPORT_TAIL, 1000, placed through oms.place_order with the
#      worker's compaction paused); EXPLAIN ANALYZE of each in explain_*.txt.
#   2. Checks the daily sales against the oracle of sql/14_reporting.sql
#      (every row) on the full data set.
#   3. Measures (last, on the whole history) oms.place_order throughput
#      (place.sql, 3-line orders, BENCH_REPORT_CLIENTS clients,
#      BENCH_REPORT_SECONDS per run, durable commits) with oms.report off, on
#      (the worker compacting every second) and on with compaction deferred
#      to after the run (the notes alone), BENCH_REPORT_ROUNDS rounds in
#      rotating order; the cost is the median of each round's 1 - tps / off.
#   4. Draws test/bench/results/report/latency.png, latency_tail.png and
#      throughput.png with
#      gnuplot (plot.sh).
#
# Environment: BENCH_REPORT_ORDERS (1000000; 10000000 for the issue's full
# size), BENCH_REPORT_STAGES ("100000 300000" orders after which to measure
# too, besides the last), BENCH_REPORT_DAYS (365), BENCH_REPORT_SKUS (1000),
# BENCH_REPORT_RUNS (30), BENCH_REPORT_TAIL (1000), BENCH_REPORT_CLIENTS (8),
# BENCH_REPORT_SECONDS (20), BENCH_REPORT_ROUNDS (5), BENCH_REPORT_PROVE (2000; 0 skips), BENCH_REPORT_PORT
# (5491), BENCH_NO_BUILD=1, BENCH_KEEP=1.  Output: test/bench/results/report/.
. "$(dirname "$0")/../../tools/lib.sh"
HERE=$OMS_ROOT/test/bench/report
OUT=$OMS_ROOT/test/bench/results/report
ORDERS=${BENCH_REPORT_ORDERS:-${ORDERS:-1000000}}
STAGES=${BENCH_REPORT_STAGES:-100000 300000}
DAYS=${BENCH_REPORT_DAYS:-365}
NSKUS=${BENCH_REPORT_SKUS:-1000}
RUNS=${BENCH_REPORT_RUNS:-30}
PROVE=${BENCH_REPORT_PROVE:-2000}
TAIL=${BENCH_REPORT_TAIL:-1000}
CLIENTS=${BENCH_REPORT_CLIENTS:-8}
SECS=${BENCH_REPORT_SECONDS:-20}
ROUNDS=${BENCH_REPORT_ROUNDS:-5}
DB=oms_report_bench
# The settings README gives a BI role: JIT off (it compiled the stock view's plan for 2.3 s
# at 100,000 orders, its estimate inflated by the stock view's subplans, to save milliseconds).
BI_OPTIONS=${BENCH_REPORT_BI_OPTIONS:--c jit=off}

ensure_packages
command -v gnuplot >/dev/null || as_root apt-get install -y -qq gnuplot-nox >/dev/null \
    || echo "gnuplot could not be installed: no plots" >&2
[ "${BENCH_NO_BUILD:-}" = 1 ] || build_and_install
cluster_start bench_report "${BENCH_REPORT_PORT:-5491}" max_connections=100 shared_buffers=1GB \
    fsync=on synchronous_commit=on full_page_writes=on max_wal_size=8GB checkpoint_timeout=30min \
    maintenance_work_mem=512MB work_mem=64MB \
    shared_preload_libraries=oms oms.database=$DB oms.publish_interval=0 oms.expire_holds_interval=0 \
    oms.allocate_backorders_interval=0
[ "${BENCH_KEEP:-}" = 1 ] || trap cluster_stop_quietly EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
export PGDATABASE=$DB
psql_q -d postgres -c "CREATE DATABASE $DB"
psql_q -c 'CREATE EXTENSION oms'
step "loading the shop: 4 channels, 10 warehouses, $NSKUS SKUs"
psql_q -v nskus="$NSKUS" -f "$HERE/setup.sql" >/dev/null

# Times each query of queries.txt: "view mean_ms p95_ms" per line.
time_queries() {
    local label=$1 name sql
    while IFS='|' read -r name sql; do
        [ -n "$name" ] || continue
        echo "$sql;" >"$OUT/q_$name.sql"
        PGOPTIONS="$BI_OPTIONS" psql_q -c "EXPLAIN (ANALYZE, BUFFERS) $sql" >"$OUT/explain_${label}_$name.txt" 2>&1 || true
        PGOPTIONS="$BI_OPTIONS" "$PGBIN/pgbench" -n -c 1 -t "$RUNS" -f "$OUT/q_$name.sql" -l \
            --log-prefix="$OUT/log_${label}_$name" >"$OUT/pgbench_${label}_$name.txt" 2>&1
        cat "$OUT"/log_"${label}_$name".* | awk '{ print $3 / 1000.0 }' | sort -n | awk -v name="$name" '
            { v[NR] = $1; s += $1 }
            END { i = int(0.95 * NR); if (i < 0.95 * NR) i++; printf "%s %.2f %.2f\n", name, s / NR, v[i] }'
        rm -f "$OUT"/log_"${label}_$name".*
    done <"$HERE/queries.txt"
}

# Places n orders through oms.place_order (real functions), as the tail.
place_tail() {
    "$PGBIN/pgbench" -n -c 2 -t $(( $1 / 2 )) -D nskus="$NSKUS" -f "$HERE/place.sql" >/dev/null 2>&1
}

# oms.place_order with reporting on and off, alternating.
throughput() {
    step "oms.place_order with reporting off, on, and on with compaction deferred: $CLIENTS clients, ${SECS}s per run, $ROUNDS rounds"
    echo "round report tps" >"$OUT/throughput.txt"
    local modes="off on deferred" round mode tps
    for round in $(seq 1 "$ROUNDS"); do
        for mode in $modes; do
            psql_q -c CHECKPOINT >/dev/null
            if [ "$mode" = deferred ]; then
                psql_q -c "ALTER SYSTEM SET oms.report_compact_interval = 0" -c "SELECT pg_reload_conf()" >/dev/null
                sleep 1
            fi
            tps=$(PGOPTIONS="-c oms.report=$([ "$mode" = off ] && echo off || echo on)" "$PGBIN/pgbench" -n -M prepared \
                      -c "$CLIENTS" -j 2 -T "$SECS" -D nskus="$NSKUS" -f "$HERE/place.sql" 2>&1 \
                      | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
            echo "$round $mode $tps" | tee -a "$OUT/throughput.txt"
            if [ "$mode" = deferred ]; then
                # The run's notes folded here, with the worker still paused, before the next
                # run, which must not pay for them.
                start=$(date +%s%N)
                folded=$(psql_q -At -c "SELECT oms.report_compact(1000000)")
                echo "round $round: the deferred run's $folded orders folded in $(( ($(date +%s%N) - start) / 1000000 )) ms" \
                    | tee -a "$OUT/notes.txt"
                psql_q -c "ALTER SYSTEM RESET oms.report_compact_interval" -c "SELECT pg_reload_conf()" >/dev/null
            fi
        done
        # The next round in another order: off on deferred, on deferred off, deferred off on.
        modes="${modes#* } ${modes%% *}"
    done
    # Orders placed with oms.report off were never noted: note them now, so the rollups count them.
    psql_q -c "INSERT INTO oms.report_dirty (order_id, txid)
               SELECT o.order_id, pg_current_xact_id() FROM oms.orders o
                WHERE o.external_ref LIKE 'B-%'
                  AND NOT EXISTS (SELECT FROM oms.report_order_contrib c WHERE c.order_id = o.order_id)
               ON CONFLICT DO NOTHING" >/dev/null
    # Means per mode, and the median over rounds of each round's ratio to its own "off" run.
    awk 'NR > 1 { s[$2] += $3; n[$2]++; t[$1, $2] = $3; r = $1 > r ? $1 : r }
         function median(a, k,   i, j, x) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
                                           return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
         END { for (i = 1; i <= r; i++) { on[i] = 100 * (1 - t[i, "on"] / t[i, "off"]); de[i] = 100 * (1 - t[i, "deferred"] / t[i, "off"]) }
               printf "place_order tps (means of %d rounds): report off %.1f, on %.1f, on with compaction deferred %.1f\n", r,
                      s["off"] / n["off"], s["on"] / n["on"], s["deferred"] / n["deferred"]
               printf "cost of reporting, median over rounds of (1 - mode / off of the same round): on %.1f %%, notes only (compaction deferred) %.1f %%\n",
                      median(on, r), median(de, r) }' "$OUT/throughput.txt" | tee -a "$OUT/notes.txt"
}

loaded=0
echo "orders view mean_ms p95_ms tail" >"$OUT/latency.txt"
step "proving the bulk path: $PROVE orders both ways (prove.sh)"
if [ "$PROVE" -gt 0 ]; then
    "$HERE/prove.sh" "$OUT" | tee -a "$OUT/notes.txt"
fi
for target in $STAGES $ORDERS; do
    [ "$target" -gt "$loaded" ] || continue
    [ "$target" -le "$ORDERS" ] || continue
    step "generating orders $((loaded + 1)) to $target over $DAYS days (plan.sql, bulk.sql)"
    first=$((loaded + 1))
    start=$(date +%s)
    # In chunks of 250000, each in its own transaction, after the ids in use
    # (the tails placed through oms.place_order included).
    while [ "$first" -le "$target" ]; do
        last=$(( first + 249999 )); [ "$last" -le "$target" ] || last=$target
        base=$(psql_q -At -c "SELECT greatest(coalesce(max(order_id), 0), (SELECT last_value FROM oms.order_id_seq)) FROM oms.orders")
        psql_q -v n=$((last - first + 1)) -v base="$base" -v days="$DAYS" -v nskus="$NSKUS" -v seed="0.$first" \
            -v anchor="$(date -u +'%Y-%m-%d %H:%M:%S+00')" \
            -f "$HERE/plan.sql" -f "$HERE/bulk.sql" >/dev/null
        first=$((last + 1))
    done
    loaded=$target
    echo "generated orders up to $target in $(( $(date +%s) - start )) s" | tee -a "$OUT/notes.txt"
    # The bulk path notes nothing: the rollups are recomputed from every order, set-based.
    # Statistics first: planned as if the tables were empty, the rebuild's joins are quadratic.
    psql_q -c "ANALYZE" >/dev/null
    start=$(date +%s)
    psql_q -c "SELECT oms.report_rebuild()" >/dev/null
    echo "oms.report_rebuild() of $target orders (and the tails placed before) in $(( $(date +%s) - start )) s" \
        | tee -a "$OUT/notes.txt"
    psql_q -c "SELECT oms.report_compact(1000000)" -c "VACUUM ANALYZE" >/dev/null
    psql_q -At -c "SELECT '$target orders: ' || sum(n) || ' rollup rows (by kind ' || string_agg(kind || ': ' || n, ', ' ORDER BY kind)
                          || '), ' || (SELECT count(*) FROM oms.report_order_contrib) || ' contribution rows'
                     FROM (SELECT kind, count(*) AS n FROM oms.report_rollup GROUP BY kind) x" | tee -a "$OUT/notes.txt"
    step "timing the dashboard queries at $loaded orders (nothing noted)"
    time_queries "${loaded}_0" | sed "s/^/$loaded /; s/\$/ 0/" | tee -a "$OUT/latency.txt"
    step "timing them again with $TAIL orders placed through oms.place_order and not yet folded in"
    psql_q -c "ALTER SYSTEM SET oms.report_compact_interval = 0" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 2
    place_tail "$TAIL"
    time_queries "${loaded}_$TAIL" | sed "s/^/$loaded /; s/\$/ $TAIL/" | tee -a "$OUT/latency.txt"
    # What folding them costs: the worker's work per order, off the order path.
    start=$(date +%s%N)
    folded=$(psql_q -At -c "SELECT oms.report_compact(1000000)")
    echo "$loaded orders: oms.report_compact() folded $folded orders in $(( ($(date +%s%N) - start) / 1000000 )) ms" \
        | tee -a "$OUT/notes.txt"
    psql_q -c "ALTER SYSTEM RESET oms.report_compact_interval" -c "SELECT pg_reload_conf()" >/dev/null
done

# Last, on the whole history, so that the orders it places (all of them today) weigh on no
# query timed above.
throughput

step "checking daily sales against the oracle over the base tables ($loaded orders)"
psql_q -At -f "$HERE/check.sql" | tee -a "$OUT/notes.txt"

psql_q -At -c "SELECT 'rollup rows ' || count(*) FROM oms.report_rollup" \
    -c "SELECT 'contribution rows ' || count(*) FROM oms.report_order_contrib" \
    -c "SELECT 'database size ' || pg_size_pretty(pg_database_size(current_database()))" \
    -c "SELECT 'reporting tables ' || pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c WHERE c.relnamespace = 'oms'::regnamespace AND c.relname LIKE 'report\_%' AND c.relkind = 'r'" \
    | tee -a "$OUT/notes.txt"

step "drawing the plots"
"$HERE/plot.sh" "$OUT" || echo "no plots (gnuplot failed)"
echo
cat "$OUT/latency.txt"
cat "$OUT/notes.txt"
