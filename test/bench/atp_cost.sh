#!/usr/bin/env bash
# test/bench/atp_cost.sh — what the available-to-promise feed costs an order,
# in CPU time, which the machine's noise moves far less than throughput (see
# README.md, "How to measure a change here").  One session places N orders of
# scenario (a) (3 random SKUs of 10,000, 1 to 3 units each), each in a
# transaction of its own (a procedure that commits after each), with
# oms.atp_feed off and on, ROUNDS times in the order off, on, on, off, ...
# (so that a drift over time weighs on both alike).  It reads its backend's
# CPU time from /proc/self/stat before and after, and the background worker's,
# which flushes the feed every second, from /proc/<pid>/stat until the feed
# has caught up; and the whole cluster's: every process's CPU time, the
# postmaster's children that ended included (its cutime and cstime), because
# the flush takes over work the orders would otherwise do later (pruning the
# stock rows they updated, setting hint bits).  Asynchronous commits: the
# disk's flushes are not in the figures.  Prints one line per run, and the
# medians and the lowest figures of each kind: other work on the machine
# only ever adds to a run's CPU time, so the lowest runs are the truest.
#
# Environment: ATP_COST_ORDERS (2000), ATP_COST_ROUNDS (8), BENCH_SKUS
# (10000), ATP_COST_PORT (5493), BENCH_ATP_INTERVAL (oms.atp_interval),
# BENCH_NO_BUILD=1, BENCH_KEEP=1.
. "$(dirname "$0")/../tools/lib.sh"
BENCH=$OMS_ROOT/test/bench
N=${ATP_COST_ORDERS:-2000}
ROUNDS=${ATP_COST_ROUNDS:-8}
NSKUS=${BENCH_SKUS:-10000}
DB=oms_atp_cost

ensure_packages
[ "${BENCH_NO_BUILD:-}" = 1 ] || build_and_install
cluster_start atp_cost "${ATP_COST_PORT:-5493}" shared_buffers=1GB synchronous_commit=off \
    max_wal_size=8GB checkpoint_timeout=30min \
    shared_preload_libraries=oms oms.database=$DB oms.publish_interval=0 oms.expire_holds_interval=0 \
    ${BENCH_ATP_INTERVAL:+oms.atp_interval=$BENCH_ATP_INTERVAL}
[ "${BENCH_KEEP:-}" = 1 ] || trap cluster_stop_quietly EXIT
export PGDATABASE=$DB
psql_q -d postgres -c "CREATE DATABASE $DB"
psql_q -c 'CREATE EXTENSION oms' -f "$BENCH/baseline.sql" >/dev/null
psql_q -v nskus="$NSKUS" -v nlocs=10 -v flash_units=1000 -f "$BENCH/setup.sql" >/dev/null
psql_q >/dev/null <<'SQL'
-- CPU time of this backend so far, in clock ticks (user + system).
CREATE FUNCTION bench.cpu_ticks() RETURNS bigint LANGUAGE sql AS $$
    SELECT f[12]::bigint + f[13]::bigint
      FROM string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') f
$$;
-- n orders of scenario (a), each committed on its own.
CREATE PROCEDURE bench.place_many(n integer, tag text, nskus integer) LANGUAGE plpgsql AS $$
DECLARE
    s1 integer; d2 integer; d3 integer;
BEGIN
    FOR i IN 1..n LOOP
        s1 := 1 + floor(random() * nskus)::integer;
        d2 := 1 + floor(random() * (nskus - 2))::integer;
        d3 := 1 + floor(random() * (nskus - 2))::integer;
        IF d3 >= d2 THEN d3 := d3 + 1; END IF;
        PERFORM bench.oms_try('WEB', tag || '-' || i, jsonb_build_array(
            jsonb_build_object('sku', 'SKU-' || s1, 'qty', 1 + floor(random() * 3)::integer, 'unit_price', 19.99),
            jsonb_build_object('sku', 'SKU-' || ((s1 - 1 + d2) % nskus + 1), 'qty', 1 + floor(random() * 3)::integer, 'unit_price', 5.49),
            jsonb_build_object('sku', 'SKU-' || ((s1 - 1 + d3) % nskus + 1), 'qty', 1 + floor(random() * 3)::integer, 'unit_price', 12.00)));
        COMMIT;
    END LOOP;
END
$$;
SQL
# The first flush (every SKU), then a warm-up of the same load.
until [ "$(psql_q -At -c "SELECT oms.atp_flush(100000) >= 0 AND NOT EXISTS (SELECT FROM oms.atp_signal)
                              AND (SELECT refresh_after IS NULL FROM oms.atp_flush_state)")" = t ]; do sleep 0.5; done
psql_q -c "VACUUM ANALYZE" -c "CALL bench.place_many(1000, 'warm', $NSKUS)"
tick=$(getconf CLK_TCK)

# CPU ticks of the whole cluster so far: the postmaster, the children it
# reaped, and those that run.
cluster_ticks() {
    local pm
    pm=$(head -1 "$PGDATA/postmaster.pid")
    {
        awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] + f[14] + f[15] }' "/proc/$pm/stat"
        for p in $(cat /proc/"$pm"/task/*/children 2>/dev/null); do
            awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$p/stat" 2>/dev/null
        done
    } | awk '{ s += $1 } END { print s }'
}

worker_ticks() {
    local pid
    pid=$(psql_q -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'oms worker'")
    awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$pid/stat"
}

step "$ROUNDS rounds of $N orders each with the feed off and on (off, on, on, off, ...), one session, asynchronous commits"
declare -a OFF_B OFF_W OFF_C ON_B ON_W ON_C
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then modes="off on"; else modes="on off"; fi
    for mode in $modes; do
        psql_q -c CHECKPOINT
        w0=$(worker_ticks)
        c0=$(cluster_ticks)
        read -r backend secs < <(psql_q -At -F ' ' <<SQL
SET oms.atp_feed = $mode;
SELECT bench.cpu_ticks() AS c0, extract(epoch FROM clock_timestamp()) AS t0 \gset
CALL bench.place_many($N, 'r$round-$mode', $NSKUS);
SELECT bench.cpu_ticks() - :c0, round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 2);
SQL
)
        # Until the worker has flushed every change (and a second more).
        until [ "$(psql_q -At -c 'SELECT count(*) FROM oms.atp_signal')" = 0 ]; do sleep 0.2; done
        sleep 1.2
        w=$(( $(worker_ticks) - w0 ))
        c=$(( $(cluster_ticks) - c0 ))
        b_us=$(awk -v t="$backend" -v k="$tick" -v n="$N" 'BEGIN { printf "%.0f", t / k * 1e6 / n }')
        w_us=$(awk -v t="$w" -v k="$tick" -v n="$N" 'BEGIN { printf "%.1f", t / k * 1e6 / n }')
        c_us=$(awk -v t="$c" -v k="$tick" -v n="$N" 'BEGIN { printf "%.0f", t / k * 1e6 / n }')
        printf '    round %d, feed %-3s: %d orders in %ss; backend %s us/order, worker %s, cluster %s\n' \
            "$round" "$mode" "$N" "$secs" "$b_us" "$w_us" "$c_us"
        if [ "$mode" = on ]; then ON_B+=("$b_us"); ON_W+=("$w_us"); ON_C+=("$c_us")
        else OFF_B+=("$b_us"); OFF_W+=("$w_us"); OFF_C+=("$c_us"); fi
    done
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
lowest() { printf '%s\n' "$@" | sort -n | head -1; }
report() {
    local how=$1 bo bn wo wn co cn
    bo=$($how "${OFF_B[@]}") bn=$($how "${ON_B[@]}") wo=$($how "${OFF_W[@]}") wn=$($how "${ON_W[@]}")
    co=$($how "${OFF_C[@]}") cn=$($how "${ON_C[@]}")
    awk -v how="$how" -v bo="$bo" -v bn="$bn" -v wo="$wo" -v wn="$wn" -v co="$co" -v cn="$cn" 'BEGIN {
        printf "  %-7s us/order without the feed / with it: backend %s / %s, worker %s / %s, cluster %s / %s\n",
            how, bo, bn, wo, wn, co, cn
        printf "          the feed costs %.1f us/order in the ordering backend (%.1f%%), %.1f in the worker, %.1f in the whole cluster (%.1f%%)\n",
            bn - bo, (bn - bo) / bo * 100, wn - wo, cn - co, (cn - co) / co * 100 }'
}
echo
report median
report lowest
