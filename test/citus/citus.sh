#!/usr/bin/env bash
# test/citus/citus.sh — `make test-citus`: oms on Citus 13.2.2 (issue 15).
#
# Installs Citus with ../shared/tools/citus (built once for the packaged
# PostgreSQL 15), starts a coordinator and two workers as throwaway clusters
# (unix sockets only, ports 5491-5493, data under .cluster/citus-*), creates
# citus and oms, adds the workers, fills a small shop, runs oms.distribute()
# on it, then places orders and checks that every row is where SQL sees it
# and nowhere else: the coordinator's local copies of the distributed tables
# stay empty.  Then it tries the other public functions; what Citus does not
# run yet is a TODO line (TAP), with the error it gives.  At the end it
# places the same orders on one node (a database of the coordinator without
# Citus) and on the distributed cluster, and prints the throughput ratio.
#
# Not part of `make test`: building Citus takes minutes.  Prints TAP.
. "$(dirname "$0")/../tools/lib.sh"

CITUS_TOOL=${CITUS_TOOL:-$OMS_ROOT/../shared/tools/citus}
ORDERS=${CITUS_ORDERS:-200}
COORD=5491
WORKERS="5492 5493"
LOG=$OMS_ROOT/.cluster/log
mkdir -p "$LOG"

ensure_packages
if ! PG_CONFIG=$PG_CONFIG "$CITUS_TOOL" check; then
    step "building and installing Citus ($CITUS_TOOL; a few minutes the first time)"
    as_root env PG_CONFIG="$PG_CONFIG" "$CITUS_TOOL" install
fi
build_and_install

common="fsync=off synchronous_commit=off full_page_writes=off max_prepared_transactions=50
        citus.enable_unsafe_triggers=on citus.shard_replication_factor=1 log_min_messages=warning"
# The second worker preloads oms as well: its background worker must stop there.
# shellcheck disable=SC2086
cluster_start "citus-5492" 5492 shared_preload_libraries=citus $common
# shellcheck disable=SC2086
cluster_start "citus-5493" 5493 shared_preload_libraries=citus,oms oms.database=postgres $common
# shellcheck disable=SC2086
cluster_start "citus-$COORD" "$COORD" shared_preload_libraries=citus,oms oms.database=postgres \
    oms.expire_holds_interval=1s $common

stop_all() {
    for port in $COORD $WORKERS; do
        cluster_env "citus-$port" "$port"
        cluster_stop_quietly
    done
}
trap stop_all EXIT

socket() { cluster_env "citus-$1" "$1" && echo "$PGDATA"; }
COORD_HOST=$(socket $COORD)
node() { local port=$1; shift; "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(socket "$port")" -p "$port" -U postgres "$@"; }
coord() { node $COORD -d postgres "$@"; }
val() { coord -Atc "$1"; }

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
todo() { n=$((n + 1)); echo "not ok $n - $1 # TODO not on Citus yet"; }
check() {   # check DESCRIPTION EXPECTED SQL
    local got
    got=$(val "$3" 2>&1) || true
    if [ "$got" = "$2" ]; then ok "$1"; else notok "$1"; echo "#   expected: $2"; echo "#   got:      $got"; fi
}
sqlstate() {   # sqlstate DESCRIPTION STATE SQL [port]
    local out
    out=$(node "${4:-$COORD}" -d postgres -v VERBOSITY=verbose -c "$3" 2>&1) || true
    if grep -q "ERROR:  $2:" <<<"$out"; then ok "$1"; else notok "$1"; echo "$out" | sed 's/^/#   /'; fi
}
# try DESCRIPTION SQL: runs SQL; a failure is a TODO with its error.
try() {
    local out
    if out=$(coord -v VERBOSITY=verbose -c "$2" 2>&1); then ok "$1"; else
        todo "$1"; grep -m1 ERROR <<<"$out" | sed 's/^/#   /'
        { grep -m1 -A1 'CONTEXT' <<<"$out" || true; } | cut -c1-400 | sed 's/^/#   /'
    fi
}

step "setting up Citus: coordinator $COORD, workers $WORKERS"
for port in $WORKERS; do node "$port" -d postgres -c 'CREATE EXTENSION citus' >/dev/null; done
coord >/dev/null <<SQL
CREATE EXTENSION citus;
SELECT citus_set_coordinator_host('$COORD_HOST', $COORD);
SELECT citus_add_node('$(socket 5492)', 5492);
SELECT citus_add_node('$(socket 5493)', 5493);
SQL

step "running the suite"

check "two workers are active" 2 "SELECT count(*) FROM citus_get_active_worker_nodes()"

# Without Citus in the database, distribute() refuses with OM180.
coord -c 'CREATE DATABASE oms_single' >/dev/null
node $COORD -d oms_single -c 'CREATE EXTENSION oms' >/dev/null
out=$(node $COORD -d oms_single -v VERBOSITY=verbose -c 'SELECT oms.distribute()' 2>&1 || true)
if grep -q "ERROR:  OM180:" <<<"$out"; then ok "distribute() without Citus is OM180"; else notok "distribute() without Citus is OM180"; echo "$out" | sed 's/^/#   /'; fi

coord -c 'CREATE EXTENSION oms' >/dev/null
check "CREATE EXTENSION oms reached both workers" 2 \
    "SELECT count(*) FROM run_command_on_workers('SELECT extversion FROM pg_extension WHERE extname = ''oms''') WHERE success AND result <> ''"

# A shop with data, before distribution: master data, stock, two orders.
coord >/dev/null <<'SQL'
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web'), ('APP', 'App', 'app');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority)
VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 2), ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 1),
       ('MUC', 'Munich', 'store', 48.14, 11.58, 0);
INSERT INTO oms.sku (code, name) SELECT 'SKU-' || g, 'Article ' || g FROM generate_series(1, 20) g;
SELECT oms.receive_stock('SKU-' || g, l, 1000) FROM generate_series(1, 20) g, unnest(ARRAY['BER', 'HAM', 'MUC']) l;
SELECT oms.place_order('WEB', 'BEFORE-1', '[{"sku": "SKU-1", "qty": 2}, {"sku": "SKU-2", "qty": 1}]',
                       '{"latitude": 52.5, "longitude": 13.4}');
SELECT oms.place_order('APP', 'BEFORE-2', '[{"sku": "SKU-3", "qty": 5}]', '{"latitude": 48.1, "longitude": 11.6}');
SQL

sqlstate "distribute() on a worker is OM181" OM181 'SELECT oms.distribute()' 5492
sqlstate "distribute() with shard_count 0 is OM183" OM183 'SELECT oms.distribute(0)'

step "oms.distribute(8)"
if coord -c 'SELECT * FROM oms.distribute(8)' >"$LOG/citus-distribute.log" 2>&1; then
    ok "distribute(8) ran"
else
    notok "distribute(8) ran"; sed 's/^/#   /' "$LOG/citus-distribute.log"
fi
if coord -c 'SELECT * FROM oms.distribute(8)' >>"$LOG/citus-distribute.log" 2>&1; then
    ok "distribute() again changes nothing and does not fail (idempotent)"
else
    notok "distribute() again"; tail -5 "$LOG/citus-distribute.log" | sed 's/^/#   /'
fi
check "master data (and holds) are reference tables" 12 \
    "SELECT count(*) FROM pg_dist_partition p JOIN oms.citus_layout() l ON p.logicalrelid = ('oms.' || l.table_name)::regclass
      WHERE l.placement = 'reference' AND p.partmethod = 'n'"
check "stock and its ledger share a co-location group" 1 \
    "SELECT count(DISTINCT colocationid) FROM pg_dist_partition
      WHERE logicalrelid IN ('oms.stock'::regclass, 'oms.stock_slot'::regclass, 'oms.stock_movement'::regclass)"
check "an order and every row under it share a co-location group" 1 \
    "SELECT count(DISTINCT colocationid) FROM pg_dist_partition
      WHERE logicalrelid IN ('oms.orders'::regclass, 'oms.order_lines'::regclass, 'oms.reservation'::regclass,
                             'oms.order_event'::regclass, 'oms.returns'::regclass, 'oms.return_line'::regclass)"
check "orders are in 8 shards over both workers" 8/2 \
    "SELECT count(*) || '/' || count(DISTINCT nodeport) FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
       JOIN pg_dist_node n USING (groupid) WHERE s.logicalrelid = 'oms.orders'::regclass"
check "the rows placed before distribution moved to the shards" "2/3/60" \
    "SELECT (SELECT count(*) FROM oms.orders) || '/' || (SELECT count(*) FROM oms.order_lines) || '/'
            || (SELECT count(*) FROM oms.stock)"

# Every distributed or reference table's own heap on the coordinator: empty
# (0 bytes) after distribute(), and it must stay so.
local_bytes="SELECT coalesce(sum(pg_relation_size(('oms.' || l.table_name)::regclass)), -1)
               FROM oms.citus_layout() l WHERE to_regclass('oms.' || l.table_name) IS NOT NULL"
check "the coordinator's local copies are empty after distribute()" 0 "$local_bytes"
check "check_invariants() is clean after distribute()" "" "SELECT invariant || ': ' || detail FROM oms.check_invariants()"

step "placing $ORDERS orders on the distributed cluster"
if coord >"$LOG/citus-place.log" 2>&1 <<SQL
SELECT count(oms.place_order(CASE WHEN g % 2 = 0 THEN 'WEB' ELSE 'APP' END, 'C-' || g,
         jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (1 + g % 20), 'qty', 1 + g % 3),
                           jsonb_build_object('sku', 'SKU-' || (1 + (g * 7) % 20), 'qty', 1)),
         '{"latitude": 52.0, "longitude": 12.0}'))
  FROM generate_series(1, $ORDERS) g;
SQL
then ok "$ORDERS orders placed"; else notok "$ORDERS orders placed"; sed 's/^/#   /' "$LOG/citus-place.log"; fi
check "the coordinator's local copies stay empty while orders are placed" 0 "$local_bytes"
check "every order is visible through SQL" $((ORDERS + 2)) "SELECT count(*) FROM oms.orders"
check "every line is visible through SQL" $((ORDERS * 2 + 3)) "SELECT count(*) FROM oms.order_lines"
check "every order reserved all its units" 0 \
    "SELECT count(*) FROM oms.orders WHERE status <> 'reserved' AND external_ref LIKE 'C-%'"
check "reservations add up to the lines' reserved units" t \
    "SELECT (SELECT sum(qty) FROM oms.reservation WHERE state = 'held') = (SELECT sum(qty_reserved) FROM oms.order_lines)"
check "stock.reserved adds up to the held reservations" t \
    "SELECT (SELECT sum(reserved) FROM oms.stock) = (SELECT sum(qty) FROM oms.reservation WHERE state = 'held')"
check "each placed order has its first event" $((ORDERS + 2)) \
    "SELECT count(DISTINCT order_id) FROM oms.order_event WHERE entity = 'order'"
check "the same external_ref again returns the same order" t \
    "SELECT oms.place_order('WEB', 'C-2', jsonb_build_array(jsonb_build_object('sku', 'SKU-3', 'qty', 3),
                             jsonb_build_object('sku', 'SKU-15', 'qty', 1)), '{\"latitude\": 52.0, \"longitude\": 12.0}')
            = (SELECT order_id FROM oms.orders WHERE external_ref = 'C-2')"
check "order ids are unique" t "SELECT count(*) = count(DISTINCT order_id) FROM oms.orders"
check "check_invariants() is clean on the distributed cluster" "" \
    "SELECT invariant || ': ' || detail FROM oms.check_invariants()"
check "a worker's sequences hand out ids of their own node's range" 2 \
    "SELECT count(*) FROM run_command_on_workers('SELECT last_value >= 1::bigint << 48 FROM oms.order_id_seq') WHERE result = 't'"

step "the other public functions on the distributed cluster"
try "available()" "SELECT oms.available('SKU-1', 'WEB')"
try "v_stock" "SELECT count(*) FROM oms.v_stock"
try "receive_stock" "SELECT oms.receive_stock('SKU-1', 'BER', 5)"
try "adjust_stock" "SELECT oms.adjust_stock('SKU-1', 'BER', -1, 'test')"
try "count_stock" "SELECT oms.count_stock('SKU-2', 'HAM', 900)"
try "route() preview" "SELECT count(*) FROM oms.route('[{\"sku\": \"SKU-4\", \"qty\": 1}]', '{\"latitude\": 52, \"longitude\": 13}', 'WEB')"
try "cancel_order" "SELECT oms.cancel_order((SELECT order_id FROM oms.orders WHERE external_ref = 'C-1'), 'test')"
try "cancel_line" "SELECT oms.cancel_line((SELECT order_id FROM oms.orders WHERE external_ref = 'C-3'), 1, 1, 'test')"
c4=$(val "SELECT order_id FROM oms.orders WHERE external_ref = 'C-4'")
c4_at=$(val "SELECT l.code FROM oms.location l WHERE l.id = (SELECT location_id FROM oms.reservation WHERE order_id = $c4 LIMIT 1)")
try "create_shipment" "SELECT oms.create_shipment($c4, '$c4_at')"
try "ship" "SELECT oms.ship(max(id), 'DHL', 'T1') FROM oms.shipment"
try "record_payment" "SELECT oms.record_payment((SELECT order_id FROM oms.orders WHERE external_ref = 'C-5'), 'authorize', 10)"
try "hold_stock" "SELECT oms.hold_stock('cart-1', 'WEB', '[{\"sku\": \"SKU-5\", \"qty\": 1}]', '10 minutes')"
try "place_order with a backorder" "SELECT oms.place_order('WEB', 'BO-1', '[{\"sku\": \"SKU-6\", \"qty\": 5000}]', NULL, '{\"allow_backorder\": true}')"
try "set_stock_slots" "SELECT oms.set_stock_slots('SKU-7', 'BER', 4)"
try "sync_stock" "SELECT count(*) FROM oms.sync_stock('BER', '[{\"sku\": \"SKU-8\", \"on_hand\": 500}]')"
try "atp_flush" "SELECT oms.atp_flush()"
check "the coordinator's local copies are still empty" 0 "$local_bytes"
check "the oms background worker runs on the coordinator" 1 \
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oms worker'"
check "and has stopped on the worker that preloads oms" 0 \
    "SELECT result FROM run_command_on_workers('SELECT count(*) FROM pg_stat_activity WHERE backend_type = ''oms worker''') WHERE nodeport = 5493"
check "no event lands in a worker's own outbox, which no consumer reads" 0 \
    "SELECT sum(result::integer) FROM run_command_on_workers('SELECT count(*) FROM oms.outbox')"

# A location deactivated by another session stops being a routing candidate
# of a session that loaded the master data before: the trigger on the
# reference table's shard invalidates the table's cache on the coordinator.
route_muc="SELECT count(*) FROM oms.route('[{\"sku\": \"SKU-9\", \"qty\": 1}]', '{\"latitude\": 48.14, \"longitude\": 11.58}', 'WEB') WHERE location = 'MUC';"
got=$(coord -At 2>&1 <<SQL
$route_muc
\! $PGBIN/psql -X -q -h $COORD_HOST -p $COORD -U postgres -d postgres -c "UPDATE oms.location SET active = false WHERE code = 'MUC'"
$route_muc
SQL
) || true
coord -c "UPDATE oms.location SET active = true WHERE code = 'MUC'" >/dev/null
if [ "$(echo $got)" = "1 0" ]; then
    ok "a location deactivated in another session is no longer routed to (cache invalidated from the shard)"
else
    notok "a location deactivated in another session is no longer routed to"; echo "#   got: $got"
fi
check "check_invariants() is still clean" "" "SELECT invariant || ': ' || detail FROM oms.check_invariants()"

step "throughput: place_order on one node against the Citus coordinator"
# SKUs of their own (no backorders waiting), in the database without Citus
# on the same server and on the distributed cluster.
tp_setup="INSERT INTO oms.sku (code, name) SELECT 'TP-' || g, 'Article ' || g FROM generate_series(1, 20) g;
          SELECT oms.receive_stock('TP-' || g, 'BER', 100000) FROM generate_series(1, 20) g;"
node $COORD -d oms_single >/dev/null <<'SQL'
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
SQL
node $COORD -d oms_single -c "$tp_setup" >/dev/null
coord -c "$tp_setup" >/dev/null
place_sql="SELECT count(oms.place_order('WEB', 'T-' || g, jsonb_build_array(jsonb_build_object('sku', 'TP-' || (1 + g % 20), 'qty', 1))))
             FROM generate_series(1, $ORDERS) g"
t0=$(date +%s%N); node $COORD -d oms_single -c "$place_sql" >/dev/null; t1=$(date +%s%N)
coord -c "$place_sql" >/dev/null; t2=$(date +%s%N)
single_ms=$(( (t1 - t0) / 1000000 )); citus_ms=$(( (t2 - t1) / 1000000 ))
echo "# place_order, $ORDERS one-line orders in one statement: one node ${single_ms} ms, Citus coordinator ${citus_ms} ms" \
     "(ratio $(awk "BEGIN { printf \"%.1f\", $citus_ms / ($single_ms > 0 ? $single_ms : 1) }"))"

# The same with clients of their own, one order per transaction.
cat >"$LOG/citus-place.pgbench" <<'SQL'
\set n random(1, 1000000000)
SELECT oms.place_order('WEB', 'PB-' || :client_id || '-' || :n,
                       jsonb_build_array(jsonb_build_object('sku', 'TP-' || (1 + :n % 20), 'qty', 1)));
SQL
tps() {   # tps DATABASE
    "$PGBIN/pgbench" -n -h "$COORD_HOST" -p $COORD -U postgres -c 4 -j 2 -T "${CITUS_SECONDS:-10}" \
        -f "$LOG/citus-place.pgbench" "$1" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
single_tps=$(tps oms_single); citus_tps=$(tps postgres)
echo "# place_order, 4 clients, one order per transaction, ${CITUS_SECONDS:-10} s: one node $single_tps tps," \
     "Citus coordinator $citus_tps tps (one node / Citus $(awk "BEGIN { printf \"%.1f\", ${single_tps:-0} / (${citus_tps:-0} > 0 ? $citus_tps : 1) }"))"
check "the coordinator's local copies are empty at the end" 0 "$local_bytes"
check "check_invariants() is clean at the end" "" "SELECT invariant || ': ' || detail FROM oms.check_invariants()"

echo "1..$n"
echo "# $n tests, $failed failed"
[ "$failed" = 0 ]
