#!/usr/bin/env bash
# test/storm/storm.sh — the reservation engine under a storm: 32 pgbench clients
# place orders (half of them with one hot SKU at one location, some under
# shared references, a third repeating a SKU on two lines, some that wait for
# stock as backorders), sell at a store's till from the stock orders reserve
# at, cancel random earlier ones, ship, track and take payment for others,
# send channel messages, receive stock, hand free units to backorders, and a
# warehouse system syncs Hamburg's stock (oms.sync_stock), for a few seconds
# against LIMITED stock, while connectors read the available-to-promise feed;
# then a late delivery of the hot SKU arrives and 32 clients drain it;
# afterwards every invariant must hold, the hot SKU must be sold out to the
# unit, no backorder may wait for units that are free, and what the
# connectors read must be their channels' figures.  Prints TAP.
# Runs against the cluster in PGHOST/PGPORT (test.sh starts it), in a database
# oms_storm of its own.
#
# Environment: STORM_CLIENTS (32), STORM_SECONDS (12), STORM_HOT_UNITS (300),
# STORM_RESTOCK (50 units of the hot SKU received between storm and drain),
# STORM_OUT (a directory to keep pgbench's output in; by default a temporary one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/../tools/lib.sh"    # PGBIN: the PostgreSQL test.sh runs
CLIENTS=${STORM_CLIENTS:-32}
SECS=${STORM_SECONDS:-12}
HOT_UNITS=${STORM_HOT_UNITS:-300}
RESTOCK=${STORM_RESTOCK:-50}
DB=oms_storm
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
q() { psql -d "$DB" -At -F ' ' -c "$1"; }
if [ -n "${STORM_OUT:-}" ]; then
    out=$STORM_OUT
    mkdir -p "$out"
else
    out=$(mktemp -d /tmp/oms-storm.XXXXXX)
    trap 'rm -rf "$out"' EXIT
fi

psql -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -d "$DB" -c 'CREATE EXTENSION oms' -v hot_units="$HOT_UNITS" -f "$here/setup.sql" >/dev/null

# Runs pgbench: storm_run NAME PGBENCH-ARGS...; sets RUN_OK to "yes" when it
# ended normally with no aborted client and no failed transaction, else to what
# went wrong (exit 124: it hung and was stopped after 120 s).  Its output is
# kept in $out/NAME.log.
storm_run() {
    local name=$1 rc=0
    shift
    timeout 120 "$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 --failures-detailed --verbose-errors \
        "$@" "$DB" >"$out/$name.log" 2>&1 || rc=$?
    if [ "$rc" = 0 ] && ! grep -q 'aborted' "$out/$name.log" \
            && grep -q '^number of failed transactions: 0 ' "$out/$name.log"; then
        RUN_OK=yes
    else
        RUN_OK="pgbench exit $rc"
    fi
}
# Prints what went wrong in a pgbench run as TAP diagnostics: its totals and
# each distinct error once, with how often it happened.
diag() {
    grep -E '^(number of|duration|tps)' "$out/$1.log" | sed 's/^/#   /'
    grep -E 'error|ERROR|FATAL|abort' "$out/$1.log" | grep -v 'ends the failed transaction' \
        | sed -E 's/client [0-9]+/client N/g; s/[0-9]+ (\(|of )/N \1/g' | sort | uniq -c | sort -rn | head -10 | sed 's/^/#  /'
}

# The storm: places (6 in 19), places under a shared reference (1 in 19),
# cancels (2 in 19), ships (2 in 19), sends channel messages (1 in 19), sells
# at the store's till (1 in 19), places backorders (2 in 19), receives stock
# (1 in 19), fills backorders (1 in 19), syncs Hamburg's stock (1 in 19),
# reads the feed as a connector (1 in 19).
storm_run storm -T "$SECS" -f "$here/place.sql@6" -f "$here/dup.sql@1" -f "$here/cancel.sql@2" \
    -f "$here/fulfil.sql@2" -f "$here/ingest.sql@1" -f "$here/sell.sql@1" -f "$here/backorder.sql@2" \
    -f "$here/restock.sql@1" -f "$here/fill.sql@1" -f "$here/sync.sql@1" -f "$here/feed.sql@1" \
    -f "$here/return.sql@2"
storm_ok=$RUN_OK
read -r placed cancelled < <(q "SELECT count(*), count(*) FILTER (WHERE status = 'cancelled') FROM oms.orders")
shipped=$(q "SELECT count(*) FROM oms.shipment WHERE status <> 'cancelled'")
refused=$(q "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM storm.refused")
read -r repeated sales < <(q "SELECT (SELECT count(*) FROM (SELECT order_id FROM oms.order_lines
                                                            GROUP BY order_id, sku_id HAVING count(*) > 1) r),
                                    (SELECT count(*) FROM oms.orders WHERE fulfilment = 'store')")

# A late delivery of the hot SKU, then the drain: one unit of HOT-1 per order,
# at least one order per client more than there are units left, and no
# cancels: the hot SKU must end sold out, to the unit.
q "SELECT oms.receive_stock('HOT-1', 'BER', $RESTOCK, 'storm: late delivery')" >/dev/null
hot_left=$(q "SELECT on_hand - reserved FROM oms.v_stock WHERE sku = 'HOT-1' AND location = 'BER'")
per_client=$(( (hot_left + CLIENTS) / CLIENTS + 1 ))
storm_run drain -t "$per_client" -f "$here/drain.sql"
drain_ok=$RUN_OK
drained=$(q "SELECT count(*) FROM oms.orders WHERE external_ref LIKE 'drain-%'")
read -r syncs sync_refused sync_ledger skus_ham < <(q "
    SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM storm.syncs),
           (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM storm.sync_refused),
           (SELECT count(*) FROM oms.stock_movement WHERE reason = 'storm: wms count'),
           (SELECT count(*) FROM oms.v_stock WHERE location = 'HAM' AND sku LIKE 'S-%')")

# What the worker would do last: every unit free now goes to a backorder.
# Fills are reservations made after their order was placed.
final_fill=$(q "SELECT oms.allocate_backorders()")
read -r fills filled < <(q "SELECT count(*), coalesce(sum(r.qty), 0) FROM oms.reservation r
                             JOIN oms.orders o ON o.order_id = r.order_id WHERE r.created_at > o.placed_at")
read -r waiting_orders waiting_units < <(q "SELECT count(DISTINCT order_id), coalesce(sum(qty_backordered), 0)
                                             FROM oms.order_lines WHERE qty_backordered > 0")

# The connectors read on until the feed has nothing new for them.
for ch in 1 2 3; do
    for _ in $(seq 1 100); do
        [ "$(q "SELECT storm.read_feed($ch)")" = 0 ] && break
    done
done

echo "1..16"

if [ "$storm_ok" = yes ] && [ "$placed" -gt 0 ] && [ "$cancelled" -gt 0 ] && [ "$shipped" -gt 0 ]; then
    echo "ok 1 - $CLIENTS clients, ${SECS}s of storm: $placed orders placed, $refused refused for stock, $cancelled cancelled, $shipped parcels shipped, no client aborted"
else
    echo "not ok 1 - the storm: $storm_ok; $placed orders placed, $refused refused, $cancelled cancelled, $shipped shipped"
    diag storm
fi

if [ "$drain_ok" = yes ]; then
    echo "ok 2 - $CLIENTS clients drained the hot SKU ($per_client orders each), no client aborted"
else
    echo "not ok 2 - the drain: $drain_ok"
    diag drain
fi

bad=$(q 'SELECT invariant || $$: $$ || detail FROM oms.check_invariants()' 2>&1 || true)
if [ -z "$bad" ]; then
    echo "ok 3 - oms.check_invariants() finds nothing"
else
    echo "not ok 3 - oms.check_invariants() reports violations"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

bad=$(q "SELECT sku || ' at ' || location || ': on_hand ' || on_hand || ', reserved ' || reserved
           FROM oms.v_stock WHERE reserved > on_hand OR reserved < 0
         UNION ALL
         SELECT 'stock row ' || sku_id || '/' || location_id || ': on_hand ' || on_hand || ', reserved ' || reserved
           FROM oms.stock WHERE reserved > on_hand OR reserved < 0" 2>&1 || true)
if [ -z "$bad" ]; then
    echo "ok 4 - no stock row reserves more than it has"
else
    echo "not ok 4 - stock rows reserve more than they have"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

bad=$(q "SELECT coalesce(l.sku, v.sku) || ': order lines ' || coalesce(l.units, 0) || ', v_stock ' || coalesce(v.units, 0)
           FROM (SELECT s.code AS sku, sum(ol.qty_reserved) AS units
                   FROM oms.order_lines ol
                   JOIN oms.orders o ON o.order_id = ol.order_id
                   JOIN oms.sku s ON s.id = ol.sku_id
                  WHERE o.status <> 'cancelled' GROUP BY 1) l
           FULL JOIN (SELECT sku, sum(reserved) AS units FROM oms.v_stock GROUP BY 1) v ON v.sku = l.sku
          WHERE coalesce(l.units, 0) <> coalesce(v.units, 0)" 2>&1 || true)
if [ -z "$bad" ]; then
    echo "ok 5 - per SKU, the open order lines hold exactly the units v_stock shows reserved"
else
    echo "not ok 5 - order lines and stock disagree on reserved units"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

bad=$(q "SELECT 'order ' || ol.order_id || ' line ' || ol.line_no || ' (' || o.status || '): qty ' || ol.qty
                || ', reserved ' || ol.qty_reserved || ', shipped ' || ol.qty_shipped
                || ', cancelled ' || ol.qty_cancelled || ', backordered ' || ol.qty_backordered
           FROM oms.order_lines ol JOIN oms.orders o ON o.order_id = ol.order_id
          WHERE ol.qty <> ol.qty_reserved + ol.qty_shipped + ol.qty_cancelled + ol.qty_backordered
             OR (o.status = 'cancelled' AND ol.qty_reserved <> 0)
             OR (o.status NOT IN ('cancelled', 'shipped', 'delivered') AND ol.qty_cancelled <> 0)" 2>&1 || true)
if [ -z "$bad" ]; then
    echo "ok 6 - every line adds up, and cancelled orders hold nothing"
else
    echo "not ok 6 - order lines do not add up"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

read -r on_hand reserved < <(q "SELECT on_hand, reserved FROM oms.v_stock WHERE sku = 'HOT-1' AND location = 'BER'")
hot_shipped=$(q "SELECT coalesce(-sum(m.quantity), 0) FROM oms.stock_movement m JOIN oms.sku s ON s.id = m.sku_id
                  WHERE s.code = 'HOT-1' AND m.kind = 'shipment'")
if [ $((on_hand + hot_shipped)) = $((HOT_UNITS + RESTOCK)) ] && [ "$reserved" = "$on_hand" ] && [ "$refused" -gt 0 ]; then
    echo "ok 7 - HOT-1 sold out to the unit: $hot_shipped shipped, the other $reserved reserved, $refused orders refused"
else
    echo "not ok 7 - HOT-1: on_hand $on_hand + $hot_shipped shipped (received $((HOT_UNITS + RESTOCK))), reserved $reserved, $refused orders refused"
fi

if [ "$drained" = "$hot_left" ]; then
    echo "ok 8 - the drain sold exactly the $hot_left units of HOT-1 left after the storm and a late delivery"
else
    echo "not ok 8 - the drain placed $drained orders of 1 unit for $hot_left units left"
fi

bad=$(q "SELECT channel_id || '/' || external_ref || ': ' || count(*) || ' orders'
           FROM oms.orders GROUP BY channel_id, external_ref HAVING count(*) > 1" 2>&1 || true)
dups=$(q "SELECT count(*) FROM oms.orders WHERE external_ref LIKE 'dup-%'" 2>&1 || true)
if [ -z "$bad" ] && [ "$dups" -ge 1 ] 2>/dev/null; then
    echo "ok 9 - clients racing on 20 shared references made one order each ($dups orders)"
else
    echo "not ok 9 - a reference made more than one order (or none: $dups)"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

bad=$(q "SELECT v.sku || ' at ' || v.location || ': on_hand ' || v.on_hand || ', received ' || coalesce(m.received, 0)
                || ', shipped ' || coalesce(m.shipped, 0)
           FROM oms.v_stock v
           JOIN oms.sku s ON s.code = v.sku
           JOIN oms.location l ON l.code = v.location
           LEFT JOIN (SELECT sku_id, location_id, sum(quantity) FILTER (WHERE kind = 'receipt') AS received,
                             -sum(quantity) FILTER (WHERE kind = 'shipment') AS shipped,
                             -sum(quantity) FILTER (WHERE kind = 'sale') AS sold,
                             sum(quantity) FILTER (WHERE kind = 'count') AS counted,
                             sum(quantity) FILTER (WHERE kind = 'return') AS returned
                        FROM oms.stock_movement GROUP BY 1, 2) m ON m.sku_id = s.id AND m.location_id = l.id
          WHERE v.on_hand <> coalesce(m.received, 0) - coalesce(m.shipped, 0) - coalesce(m.sold, 0)
                             + coalesce(m.counted, 0) + coalesce(m.returned, 0)" 2>&1 || true)
if [ -z "$bad" ]; then
    echo "ok 10 - on_hand is what was received less what was shipped and sold at the till, plus what counts found and returns restocked, everywhere"
else
    echo "not ok 10 - on_hand does not match receipts and shipments"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

read -r messages outcomes unfinished < <(q "SELECT count(*), string_agg(DISTINCT outcome, ','),
                                                 count(*) FILTER (WHERE outcome = 'received')
                                            FROM oms.inbound_message")
bad=$(q "SELECT 'ing-' || n || ': ' || count(o.order_id) || ' orders'
           FROM generate_series(0, 24) n LEFT JOIN oms.orders o ON o.external_ref = 'ing-' || n
          GROUP BY n HAVING count(o.order_id) > 1
         UNION ALL
         SELECT 'message ' || m.source_event_id || ' applied without its order'
           FROM oms.inbound_message m WHERE m.outcome = 'applied' AND m.topic = 'order'
            AND NOT EXISTS (SELECT FROM oms.orders o WHERE o.order_id = m.order_id AND o.external_ref = m.external_ref)" \
      2>&1 || true)
if [ -z "$bad" ] && [ "$unfinished" = 0 ] && [ "$messages" -gt 0 ] 2>/dev/null; then
    echo "ok 11 - clients sending 60 channel messages at once: $messages logged ($outcomes), one order per reference"
else
    echo "not ok 11 - channel messages: $messages logged, $unfinished without an outcome ($outcomes)"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

if [ "$repeated" -gt 0 ] 2>/dev/null && [ "$sales" -gt 0 ] 2>/dev/null; then
    echo "ok 12 - $repeated orders repeated a SKU on two lines and $sales till sales were made during the storm"
else
    echo "not ok 12 - the storm made no order repeating a SKU ($repeated) or no till sale ($sales)"
fi

bad=$(q "SELECT s.code || ': ' || b.waiting || ' units backordered, ' || f.free || ' free'
           FROM (SELECT l.sku_id, sum(l.qty_backordered) AS waiting
                   FROM oms.order_lines l JOIN oms.orders o ON o.order_id = l.order_id
                  WHERE l.qty_backordered > 0 AND o.status IN ('backordered', 'partially_shipped')
                  GROUP BY 1) b
           JOIN (SELECT sku_id, sum(greatest(free, 0)) AS free FROM oms.stock_level GROUP BY 1) f
             ON f.sku_id = b.sku_id
           JOIN oms.sku s ON s.id = b.sku_id
          WHERE f.free > 0" 2>&1 || true)
if [ -z "$bad" ] && [ "$fills" -gt 0 ]; then
    echo "ok 13 - backorders got $filled units in $fills fills ($final_fill after the storm); the $waiting_units units $waiting_orders orders still wait for are nowhere free"
else
    echo "not ok 13 - backorders: $fills fills of $filled units; free units that waiting lines could have:"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

# Every count of every sync either applied, with its ledger row, or was
# refused below reserved; none made the storm fail (a deadlock would have).
if [ "$syncs" -gt 0 ] 2>/dev/null && [ "$sync_ledger" = $((syncs * skus_ham - sync_refused)) ]; then
    echo "ok 14 - $syncs stock syncs of Hamburg's $skus_ham SKUs during the storm: $sync_ledger counts in the ledger, $sync_refused refused below reserved"
else
    echo "not ok 14 - stock syncs: $syncs syncs of $skus_ham SKUs, $sync_ledger counts in the ledger, $sync_refused refused"
fi

bad=$(q "SELECT c.code || '/' || k.code || ': the connector shows ' || coalesce(s.available::text, 'nothing')
                || ', oms.available_to_promise ' || oms.available_to_promise(k.code, c.code)
           FROM oms.channel c JOIN storm.connector sc ON sc.channel = c.code CROSS JOIN oms.sku k
           LEFT JOIN storm.seen s ON s.channel = c.code AND s.sku = k.code
          WHERE s.available IS DISTINCT FROM oms.available_to_promise(k.code, c.code)" 2>&1 || true)
events=$(q "SELECT count(*) FROM oms.stock_event")
if [ -z "$bad" ] && [ "$events" -gt 0 ]; then
    echo "ok 15 - connectors reading the feed during the storm show every channel's figure of every SKU ($events stock events)"
else
    echo "not ok 15 - what the connectors read of the feed is not the channels' figures (or no stock event: $events)"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

returns=$(q "SELECT count(*) FROM oms.returns")
received=$(q "SELECT coalesce(sum(qty_received), 0) FROM oms.return_line")
restocked=$(q "SELECT coalesce(sum(quantity), 0) FROM oms.stock_movement WHERE kind = 'return'")
statuses=$(q "SELECT string_agg(status || ' ' || n, ', ' ORDER BY status) FROM (SELECT status, count(*) AS n FROM oms.returns GROUP BY 1) x")
bad=$(q "SELECT r.return_id || ': ' || r.status || ', ' || x.received || ' received, ' || x.receipts || ' receipts'
           FROM oms.returns r
           JOIN (SELECT rl.order_id, rl.return_id, sum(rl.qty_received) AS received,
                        (SELECT count(*) FROM oms.return_receipt rr
                          WHERE rr.order_id = rl.order_id AND rr.return_id = rl.return_id AND NOT rr.from_quarantine) AS receipts
                   FROM oms.return_line rl GROUP BY 1, 2) x ON x.order_id = r.order_id AND x.return_id = r.return_id
          WHERE x.received > 1 OR x.receipts > 1" 2>&1 || true)
if [ -z "$bad" ] && [ "$returns" -gt 0 ] && [ "$received" -gt 0 ] && [ "$restocked" -gt 0 ]; then
    echo "ok 16 - clients returning units during the storm: $returns returns ($statuses), $received units received once each, $restocked restocked"
else
    echo "not ok 16 - returns: $returns returns ($statuses), $received received, $restocked restocked; received twice:"
    echo "$bad" | head -10 | sed 's/^/# /'
fi
