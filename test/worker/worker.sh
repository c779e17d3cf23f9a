#!/usr/bin/env bash
# test/worker/worker.sh — the background worker expires holds and returns,
# fills backorders from units a cancel freed and flushes the
# available-to-promise feed by itself.
# Needs a cluster started with shared_preload_libraries = oms,
# oms.expire_holds_interval = 1s and oms.database = postgres (test.sh does
# that), in PGHOST/PGPORT.  Prints TAP.
set -euo pipefail
. "$(dirname "$0")/../tools/lib.sh"    # PGBIN: the PostgreSQL test.sh runs
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
trap 'psql -c "DROP EXTENSION IF EXISTS oms CASCADE" >/dev/null 2>&1 || true' EXIT

echo "1..8"
workers=$(psql -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oms worker'")
if [ "$workers" = 1 ]; then
    echo "ok 1 - the oms background worker runs"
else
    echo "not ok 1 - $workers oms background workers run"
fi

psql >/dev/null <<'SQL'
CREATE EXTENSION oms;
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt');
SELECT oms.receive_stock('TEE', 'BER', 5);
SELECT oms.hold_stock('cart-w', 'WEB', '[{"sku": "TEE", "qty": 3}]', '1 second');
SQL

# The worker wakes every second; give it up to 20 seconds.
for _ in $(seq 1 40); do
    [ "$(psql -Atc 'SELECT count(*) FROM oms.hold')" = 0 ] && break
    sleep 0.5
done
if [ "$(psql -Atc 'SELECT count(*) FROM oms.hold')" = 0 ]; then
    echo "ok 2 - the worker expired the hold"
else
    echo "not ok 2 - the hold is still there"
fi
if [ "$(psql -Atc "SELECT held || '/' || (SELECT count(*) FROM oms.check_invariants()) FROM oms.stock")" = "0/0" ]; then
    echo "ok 3 - its units are free again and every invariant holds"
else
    echo "not ok 3 - held units or invariants are off"
fi

# Units a cancel frees go to a backorder within about oms.allocate_backorders_interval (1 s).
psql >/dev/null <<'SQL'
INSERT INTO oms.sku (code, name) VALUES ('CAP', 'Cap');
SELECT oms.receive_stock('CAP', 'BER', 2);
SELECT oms.place_order('WEB', 'W-GONE', '[{"sku": "CAP", "qty": 2}]');
SELECT oms.place_order('WEB', 'W-WAIT', '[{"sku": "CAP", "qty": 2}]', NULL, '{"allow_backorder": true}');
SQL
status() { psql -Atc "SELECT status FROM oms.orders WHERE external_ref = 'W-WAIT'"; }
before=$(status)
psql -Atc "SELECT oms.cancel_order(order_id, 'worker test') FROM oms.orders WHERE external_ref = 'W-GONE'" >/dev/null
start=$(date +%s%N)
for _ in $(seq 1 100); do
    [ "$(status)" = reserved ] && break
    sleep 0.05
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$before" = backordered ] && [ "$(status)" = reserved ] && [ "$ms" -le 2000 ]; then
    echo "ok 4 - the worker gave the backorder the units a cancel freed, ${ms} ms after the cancel"
else
    echo "not ok 4 - the backorder is $(status) (was $before) ${ms} ms after the cancel"
fi
got=$(psql -Atc "SELECT (SELECT string_agg(e.entity || ' ' || e.from_status || ' -> ' || e.to_status, ', ' ORDER BY e.id)
                           FROM oms.order_event e JOIN oms.orders o ON o.order_id = e.order_id
                          WHERE o.external_ref = 'W-WAIT' AND e.from_status IS NOT NULL)
                        || ' / ' || (SELECT count(*) FROM oms.check_invariants())")
if [ "$got" = "line backordered -> reserved, order backordered -> reserved / 0" ]; then
    echo "ok 5 - with the line's and the order's events, and every invariant holds"
else
    echo "not ok 5 - events and invariant violations: $got"
fi

# The feed: the worker flushes it every oms.atp_interval (5 s), with no one
# reading it, and a listener on oms_atp hears the channel whose figures moved.
tee_web="SELECT l.available FROM oms.atp_level l JOIN oms.sku s ON s.id = l.sku_id WHERE s.code = 'TEE'"
for _ in $(seq 1 60); do
    [ "$(psql -Atc "$tee_web")" = 5 ] && break
    sleep 0.25
done
listen_out=$(mktemp)
trap 'rm -f "$listen_out"; psql -c "DROP EXTENSION IF EXISTS oms CASCADE" >/dev/null 2>&1 || true' EXIT
psql -c "LISTEN oms_atp" -c "SELECT pg_sleep(9)" >"$listen_out" 2>&1 &
listener=$!
sleep 0.5
psql -c "SELECT oms.place_order('WEB', 'W-ATP', '[{\"sku\": \"TEE\", \"qty\": 2}]')" >/dev/null
start=$(date +%s%N)
for _ in $(seq 1 160); do
    [ "$(psql -Atc "$tee_web")" = 3 ] && break
    sleep 0.05
done
took=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$(psql -Atc "$tee_web")" = 3 ] && [ "$(psql -Atc 'SELECT count(*) FROM oms.atp_signal')" = 0 ]; then
    echo "ok 6 - the worker flushed an order's change to the feed within ${took} ms"
else
    echo "not ok 6 - the feed shows $(psql -Atc "$tee_web") units of TEE, not 3, after ${took} ms"
fi
wait "$listener" || true
if grep -q 'Asynchronous notification "oms_atp" with payload "WEB"' "$listen_out"; then
    echo "ok 7 - a listener on oms_atp heard that the figures of WEB moved"
else
    echo "not ok 7 - no NOTIFY oms_atp for WEB"
    sed 's/^/# /' "$listen_out"
fi

# An authorized return whose parcel is overdue expires within about
# oms.expire_holds_interval (1 s), and its unit is returnable again.
psql >/dev/null <<'SQL'
SELECT oms.ship(oms.create_shipment(order_id, 'BER', '[{"line_no": 1, "qty": 2}]'), 'DHL', 'W-1')
  FROM oms.orders WHERE external_ref = 'W-ATP';
SELECT oms.request_return(order_id, '[{"line_no": 1, "qty": 1}]') FROM oms.orders WHERE external_ref = 'W-ATP';
UPDATE oms.returns SET expires_at = now() - interval '1 day';   -- as if its policy's days were over
SQL
ret="SELECT r.status FROM oms.returns r JOIN oms.orders o USING (order_id) WHERE o.external_ref = 'W-ATP'"
for _ in $(seq 1 40); do
    [ "$(psql -Atc "$ret")" = expired ] && break
    sleep 0.25
done
went="SELECT string_agg(coalesce(e.from_status, '') || '>' || e.to_status, ' ' ORDER BY e.id)
        FROM oms.order_event e JOIN oms.orders o USING (order_id)
       WHERE o.external_ref = 'W-ATP' AND e.entity = 'return'"
if [ "$(psql -Atc "$went")" = ">requested requested>authorized authorized>expired" ] &&
   [ "$(psql -Atc 'SELECT count(*) FROM oms.check_invariants()')" = 0 ]; then
    echo "ok 8 - the worker expired an overdue authorized return, and every invariant holds"
else
    echo "not ok 8 - the return went $(psql -Atc "$went")"
fi
