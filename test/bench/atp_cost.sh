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
# has caught up.  Asynchronous commits: the disk's flushes are not in the
# figures.  Prints one line per run and the medians.
#
# Environment: ATP_COST_ORDERS (4000), ATP_COST_ROUNDS (3), BENCH_SKUS
# (10000), ATP_COST_PORT (5493), BENCH_NO_BUILD=1, BENCH_KEEP=1.
. "$(dirname "$0")/../tools/lib.sh"
BENCH=$OMS_ROOT/test/bench
N=${ATP_COST_ORDERS:-4000}
ROUNDS=${ATP_COST_ROUNDS:-3}
NSKUS=${BENCH_SKUS:-10000}
DB=oms_atp_cost

ensure_packages
[ "${BENCH_NO_BUILD:-}" = 1 ] || build_and_install
cluster_start atp_cost "${ATP_COST_PORT:-5493}" shared_buffers=1GB synchronous_commit=off \
    max_wal_size=8GB checkpoint_timeout=30min \
    shared_preload_libraries=oms oms.database=$DB oms.publish_interval=0 oms.expire_holds_interval=0
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

worker_ticks() {
    local pid
    pid=$(psql_q -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'oms worker'")
    awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$pid/stat"
}

step "$ROUNDS rounds of $N orders each with the feed off and on (off, on, on, off, ...), one session, asynchronous commits"
declare -a OFF_B OFF_W ON_B ON_W
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then modes="off on"; else modes="on off"; fi
    for mode in $modes; do
        psql_q -c CHECKPOINT
        w0=$(worker_ticks)
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
        b_us=$(awk -v t="$backend" -v k="$tick" -v n="$N" 'BEGIN { printf "%.0f", t / k * 1e6 / n }')
        w_us=$(awk -v t="$w" -v k="$tick" -v n="$N" 'BEGIN { printf "%.1f", t / k * 1e6 / n }')
        printf '    round %d, feed %-3s: %d orders in %ss; backend %s us/order, worker %s us/order\n' \
            "$round" "$mode" "$N" "$secs" "$b_us" "$w_us"
        if [ "$mode" = on ]; then ON_B+=("$b_us"); ON_W+=("$w_us"); else OFF_B+=("$b_us"); OFF_W+=("$w_us"); fi
    done
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
mb_off=$(median "${OFF_B[@]}") mb_on=$(median "${ON_B[@]}") mw_off=$(median "${OFF_W[@]}") mw_on=$(median "${ON_W[@]}")
echo
echo "  medians: backend $mb_off us/order without the feed, $mb_on with it; worker $mw_off and $mw_on us/order"
awk -v bo="$mb_off" -v bn="$mb_on" -v wo="$mw_off" -v wn="$mw_on" 'BEGIN {
    printf "  the feed costs %.1f us/order in the order (%.1f%%) and %.1f in the worker: %.1f%% of the CPU an order takes\n",
        bn - bo, (bn - bo) / bo * 100, wn - wo, ((bn + wn) - (bo + wo)) / (bo + wo) * 100 }'
