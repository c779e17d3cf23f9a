#!/usr/bin/env bash
# test/storm/storm.sh — the reservation engine under a storm: 32 pgbench clients
# place orders (half of them with one hot SKU at one location, some under
# shared references, a third repeating a SKU on two lines, some that wait for
# stock as backorders), sell at a store's till from the stock orders reserve
# at, cancel random earlier ones, ship, track and take payment for others,
# send channel messages, receive stock, hand free units to backorders, and a
# warehouse system syncs Hamburg's stock (oms.sync_stock), for a few seconds
# against LIMITED stock, while connectors read the available-to-promise feed;
# and the reverse flow (setup_returns.sql): returns, exchanges and claims
# requested, authorized, declined, received with every disposition under
# keys clients replay at once, cancelled, closed and released from
# quarantine, refunded in whole or in part while record_payment refunds the
# same captures, and exchanges racing buyers for LAST-1's last units;
# then a late delivery of the hot SKU arrives and 32 clients drain it;
# afterwards every invariant must hold, the hot SKU must be sold out to the
# unit, no backorder may wait for units that are free, what the connectors
# read must be their channels' figures, refunds must stay within captures
# and what each return may refund, every restocked unit must be one ledger
# row of kind return, on_hand the ledger's sum, every exchange linked to its
# replacement, and every kind of return call must have been made.  Prints TAP.
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
TESTS=24
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
psql -d "$DB" -c 'CREATE EXTENSION oms' -v hot_units="$HOT_UNITS" -f "$here/setup.sql" -f "$here/setup_returns.sql" >/dev/null

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
# reads the feed as a connector (1 in 19).  And the reverse flow
# (setup_returns.sql): returns a unit and takes it on at once (2), requests
# returns, exchanges and claims (3), moves the newest returns on (4), refunds
# them or their orders (3), buys the last units of LAST-1 (1).
storm_run storm -T "$SECS" -f "$here/place.sql@6" -f "$here/dup.sql@1" -f "$here/cancel.sql@2" \
    -f "$here/fulfil.sql@3" -f "$here/ingest.sql@1" -f "$here/sell.sql@1" -f "$here/backorder.sql@2" \
    -f "$here/restock.sql@1" -f "$here/fill.sql@1" -f "$here/sync.sql@1" -f "$here/feed.sql@1" \
    -f "$here/return.sql@2" -f "$here/rma.sql@3" -f "$here/rmawork.sql@4" -f "$here/refund.sql@3" \
    -f "$here/last.sql@1"
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

echo "1..$TESTS"

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
          WHERE r.idempotency_key LIKE 'storm-rma-%' AND (x.received > 1 OR x.receipts > 1)" 2>&1 || true)
if [ -z "$bad" ] && [ "$returns" -gt 0 ] && [ "$received" -gt 0 ] && [ "$restocked" -gt 0 ]; then
    echo "ok 16 - clients returning units during the storm: $returns returns ($statuses), $received units received once each, $restocked restocked"
else
    echo "not ok 16 - returns: $returns returns ($statuses), $received received, $restocked restocked; received twice:"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

# The reverse flow (setup_returns.sql).  What the wrappers did, by outcome:
# every kind of call must have been made and have succeeded at least once.
ops=$(q "SELECT string_agg(op || ' ' || n, ', ' ORDER BY op) FROM (SELECT op, count(*) AS n FROM storm.oplog
                                                                      WHERE outcome = '00000' GROUP BY 1) x")
lost=$(q "SELECT string_agg(outcome || ' ' || n, ', ' ORDER BY n DESC) FROM (SELECT outcome, count(*) AS n FROM storm.oplog
                                                                               WHERE outcome <> '00000' GROUP BY 1) x")
missing=$(q "SELECT string_agg(op, ', ') FROM unnest(ARRAY[
                 'request return', 'request exchange', 'request claim/refund', 'request claim/replace', 'request replayed',
                 'authorize', 'decline', 'cancel', 'receive restock', 'receive damaged', 'receive quarantine',
                 'receive write_off', 'receive replayed', 'release restock', 'release write_off', 'close',
                 'refund all', 'refund part', 'refund part ref', 'record_payment refund', 'buy LAST-1',
                 'expire_returns']) op
              WHERE NOT EXISTS (SELECT FROM storm.oplog l WHERE l.op = op AND l.outcome = '00000')")
if [ "$storm_ok" = yes ] && [ -z "$missing" ]; then
    echo "ok 17 - the reverse flow ran under the storm, every kind of call: $ops; races lost and bad calls refused: $lost"
else
    echo "not ok 17 - the reverse flow: never done: ${missing:-none}; done: $ops; refused: $lost"
fi

# Money: no capture gives back more than it took, no order more than it was
# paid, and oms.refund_captures agrees (nothing below 0 left to refund).
bad=$(q "SELECT 'capture ' || c.id || ' of order ' || c.order_id || ': ' || c.amount || ' captured, '
                || coalesce(sum(r.amount), 0) || ' refunded from it'
           FROM oms.payment c LEFT JOIN oms.payment r ON r.order_id = c.order_id AND r.kind = 'refund' AND r.refund_of = c.id
          WHERE c.kind = 'capture' GROUP BY c.id, c.order_id, c.amount HAVING coalesce(sum(r.amount), 0) > c.amount
         UNION ALL
         SELECT 'order ' || order_id || ': captured ' || sum(amount) FILTER (WHERE kind = 'capture')
                || ', refunded ' || sum(amount) FILTER (WHERE kind = 'refund')
           FROM oms.payment GROUP BY order_id
         HAVING coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) > coalesce(sum(amount) FILTER (WHERE kind = 'capture'), 0)
         UNION ALL
         SELECT 'order ' || o.order_id || ', capture ' || c.payment_id || ': ' || c.refundable || ' left to refund'
           FROM (SELECT DISTINCT order_id FROM oms.payment WHERE kind = 'refund') o, oms.refund_captures(o.order_id) c
          WHERE c.refundable < 0 OR c.refunded > c.captured" 2>&1 || true)
read -r refunds refunded by_payment < <(q "SELECT count(*) FILTER (WHERE return_id IS NOT NULL), coalesce(sum(amount) FILTER (WHERE return_id IS NOT NULL), 0),
                                                  count(*) FILTER (WHERE return_id IS NULL)
                                             FROM oms.payment WHERE kind = 'refund'")
if [ -z "$bad" ] && [ "$refunds" -gt 0 ] && [ "$by_payment" -gt 0 ]; then
    echo "ok 18 - refunds never above captures: $refunds refunds of returns ($refunded) and $by_payment by record_payment raced for the same captures"
else
    echo "not ok 18 - refunds above captures ($refunds refunds of returns, $by_payment by record_payment):"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

# Each return's refunds: its refund_amount is its refund rows, within what
# oms.refund_breakdown says it may refund; shipping refunded once per order.
bad=$(q "SELECT 'return ' || r.return_id || ' (' || r.kind || ', ' || r.status || '): refund_amount ' || r.refund_amount
                || ', refund rows ' || coalesce(p.amount, 0) || ', refundable in all ' || b.refundable_total
           FROM oms.returns r
           LEFT JOIN (SELECT order_id, return_id, sum(amount) AS amount FROM oms.payment
                       WHERE kind = 'refund' AND return_id IS NOT NULL GROUP BY 1, 2) p
             ON p.order_id = r.order_id AND p.return_id = r.return_id
           CROSS JOIN LATERAL oms.refund_breakdown(r.order_id, r.return_id) b
          WHERE r.refund_amount <> coalesce(p.amount, 0) OR r.refund_amount > b.refundable_total
         UNION ALL
         SELECT 'order ' || order_id || ': shipping refunded by ' || count(*) || ' returns'
           FROM oms.returns WHERE shipping_refund > 0 GROUP BY order_id HAVING count(*) > 1" 2>&1 || true)
refund_statuses=$(q "SELECT string_agg(refund_status || ' ' || n, ', ' ORDER BY refund_status)
                       FROM (SELECT refund_status, count(*) AS n FROM oms.returns GROUP BY 1) x")
if [ -z "$bad" ] && [ "$refunds" -gt 0 ]; then
    echo "ok 19 - every return refunded exactly its refund rows, within its breakdown, shipping once per order ($refund_statuses)"
else
    echo "not ok 19 - returns' refunds do not add up ($refund_statuses):"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

# Every restocked unit is one ledger row of kind return: each restocking
# receipt (from a parcel or from quarantine) has its movement, of its SKU,
# location and units, and every movement of kind return is one receipt's.
bad=$(q "SELECT 'receipt ' || rr.id || ' of return ' || rr.return_id || ' (' || rr.qty || ' restocked): movement '
                || coalesce(m.id::text, 'none') || coalesce(' of ' || m.quantity || ' ' || m.kind, '')
           FROM oms.return_receipt rr
           LEFT JOIN oms.stock_movement m ON m.sku_id = rr.sku_id AND m.id = rr.movement_id
          WHERE rr.disposition = 'restock'
            AND (m.id IS NULL OR m.kind <> 'return' OR m.quantity <> rr.qty OR m.location_id <> rr.location_id)
         UNION ALL
         SELECT 'movement ' || m.id || ' (' || m.quantity || ' of kind return): ' || count(rr.id) || ' receipts'
           FROM oms.stock_movement m
           LEFT JOIN oms.return_receipt rr ON rr.sku_id = m.sku_id AND rr.movement_id = m.id
          WHERE m.kind = 'return' GROUP BY m.id, m.quantity HAVING count(rr.id) <> 1
         UNION ALL
         SELECT 'return lines restocked ' || (SELECT sum(qty_restocked) FROM oms.return_line)
                || ', ledger ' || (SELECT sum(quantity) FROM oms.stock_movement WHERE kind = 'return')
          WHERE (SELECT coalesce(sum(qty_restocked), 0) FROM oms.return_line)
                <> (SELECT coalesce(sum(quantity), 0) FROM oms.stock_movement WHERE kind = 'return')" 2>&1 || true)
read -r restocks restocked_units from_q < <(q "SELECT count(*), coalesce(sum(qty), 0), count(*) FILTER (WHERE from_quarantine)
                                                FROM oms.return_receipt WHERE disposition = 'restock'")
if [ -z "$bad" ] && [ "$restocks" -gt 0 ] && [ "$from_q" -gt 0 ]; then
    echo "ok 20 - every restocked unit is one ledger row of kind return: $restocks restocks ($from_q from quarantine), $restocked_units units, one movement each"
else
    echo "not ok 20 - restocks and the ledger disagree ($restocks restocks, $from_q from quarantine):"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

# on_hand = the ledger's sum, for every stock row.
bad=$(q "SELECT s.sku_id || '/' || s.location_id || ': on_hand ' || s.on_hand || ', ledger ' || coalesce(m.sum, 0)
           FROM oms.stock s
           LEFT JOIN (SELECT sku_id, location_id, sum(quantity) AS sum FROM oms.stock_movement GROUP BY 1, 2) m
             ON m.sku_id = s.sku_id AND m.location_id = s.location_id
          WHERE s.on_hand <> coalesce(m.sum, 0)" 2>&1 || true)
rows=$(q "SELECT count(*) FROM oms.stock")
if [ -z "$bad" ]; then
    echo "ok 21 - on_hand is the ledger's sum on all $rows stock rows"
else
    echo "not ok 21 - on_hand is not the ledger's sum:"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

# Per order line: units in open returns + units returned <= shipped, each the
# sum over its returns; per return line the units add up.
bad=$(q "SELECT 'order ' || l.order_id || ' line ' || l.line_no || ': shipped ' || l.qty_shipped || ', in returns '
                || l.qty_in_returns || ' (returns say ' || coalesce(x.open, 0) || '), returned ' || l.qty_returned
                || ' (returns say ' || coalesce(x.received, 0) || ')'
           FROM oms.order_lines l
           LEFT JOIN (SELECT rl.order_id, rl.line_no, sum(rl.qty_received) AS received,
                             sum(rl.qty_requested - rl.qty_received - rl.qty_missing)
                                 FILTER (WHERE r.status IN ('requested', 'authorized', 'partially_received')) AS open
                        FROM oms.return_line rl JOIN oms.returns r ON r.order_id = rl.order_id AND r.return_id = rl.return_id
                       GROUP BY 1, 2) x ON x.order_id = l.order_id AND x.line_no = l.line_no
          WHERE l.qty_in_returns + l.qty_returned > l.qty_shipped
             OR l.qty_in_returns <> coalesce(x.open, 0) OR l.qty_returned <> coalesce(x.received, 0)
         UNION ALL
         SELECT 'return ' || return_id || ' line ' || line_no || ': requested ' || qty_requested || ', received ' || qty_received
                || ', missing ' || qty_missing || ', restocked ' || qty_restocked || ', damaged ' || qty_damaged
                || ', written off ' || qty_written_off || ', quarantined ' || qty_quarantined
           FROM oms.return_line
          WHERE qty_received + qty_missing > qty_requested
             OR qty_restocked + qty_damaged + qty_written_off + qty_quarantined <> qty_received" 2>&1 || true)
read -r rl_units rl_received rl_missing < <(q "SELECT coalesce(sum(qty_requested), 0), coalesce(sum(qty_received), 0),
                                                      coalesce(sum(qty_missing), 0) FROM oms.return_line")
if [ -z "$bad" ]; then
    echo "ok 22 - no line has more units in returns and returned than it shipped ($rl_units units requested back, $rl_received received, $rl_missing missing)"
else
    echo "not ok 22 - returned units do not add up:"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

# Idempotency: a receipt key (or release key) recorded units of one line
# once, however many clients sent it; a request key made one return.
bad=$(q "SELECT 'order ' || order_id || ' key ' || idempotency_key || ' line ' || line_no || ': ' || count(*) || ' receipts'
           FROM oms.return_receipt WHERE idempotency_key IS NOT NULL
          GROUP BY order_id, idempotency_key, line_no, from_quarantine HAVING count(*) > 1
         UNION ALL
         SELECT 'order ' || order_id || ' key ' || idempotency_key || ': ' || count(*) || ' returns'
           FROM oms.returns WHERE idempotency_key IS NOT NULL GROUP BY order_id, idempotency_key HAVING count(*) > 1" 2>&1 || true)
read -r keyed replays < <(q "SELECT (SELECT count(*) FROM oms.return_key),
                                    (SELECT count(*) FROM storm.oplog WHERE op LIKE '%replayed' OR op LIKE '% ref')")
if [ -z "$bad" ] && [ "$keyed" -gt 0 ]; then
    echo "ok 23 - $keyed idempotency keys of the return functions, replayed $replays times by clients at once: nothing recorded twice"
else
    echo "not ok 23 - an idempotency key recorded twice ($keyed keys):"
    echo "$bad" | head -10 | sed 's/^/# /'
fi

# Exchanges and replace claims: each has its replacement order (an exchange
# of MKT once units arrived), linked back; a replacement of a return called
# off is cancelled unless it shipped; and LAST-1, which buyers and exchanges
# raced for, never promised more than it had.
bad=$(q "SELECT 'return ' || r.return_id || ' (' || r.kind || '/' || r.resolution || ', ' || r.status || ', ' || c.code
                || '): replacement ' || coalesce(o.order_id::text, 'none') || coalesce(' (' || o.status || ', replaces '
                || o.replaces_order_id || '/' || o.replaces_return_id || ')', '')
           FROM oms.returns r
           JOIN oms.orders ro ON ro.order_id = r.order_id
           JOIN oms.channel c ON c.id = ro.channel_id
           LEFT JOIN oms.orders o ON o.order_id = r.replacement_order_id
          WHERE r.resolution IN ('exchange', 'replace')
            AND ((o.order_id IS NULL AND NOT (c.code = 'MKT' AND r.kind = 'exchange'
                                              AND NOT EXISTS (SELECT FROM oms.return_line rl WHERE rl.order_id = r.order_id
                                                                 AND rl.return_id = r.return_id AND rl.qty_received > 0)))
                 OR (o.order_id IS NOT NULL
                     AND (o.replaces_order_id IS DISTINCT FROM r.order_id OR o.replaces_return_id IS DISTINCT FROM r.return_id
                          OR (r.status IN ('cancelled', 'declined')
                              AND o.status NOT IN ('cancelled', 'shipped', 'partially_shipped', 'delivered', 'closed')))))
         UNION ALL
         SELECT 'order ' || o.order_id || ' replaces return ' || o.replaces_return_id || ', which does not name it'
           FROM oms.orders o WHERE o.replaces_return_id IS NOT NULL
            AND NOT EXISTS (SELECT FROM oms.returns r WHERE r.order_id = o.replaces_order_id
                               AND r.return_id = o.replaces_return_id AND r.replacement_order_id = o.order_id)
         UNION ALL
         SELECT 'LAST-1 at ' || location || ': on_hand ' || on_hand || ', reserved ' || reserved
           FROM oms.v_stock WHERE sku = 'LAST-1' AND reserved > on_hand" 2>&1 || true)
read -r replacements exchanges_refused buyers buyers_refused < <(q "
    SELECT (SELECT count(*) FROM oms.orders WHERE replaces_return_id IS NOT NULL),
           (SELECT count(*) FROM storm.oplog WHERE op LIKE 'request%' AND outcome = 'OM030'),
           (SELECT count(*) FROM storm.oplog WHERE op = 'buy LAST-1' AND outcome = '00000'),
           (SELECT count(*) FROM storm.oplog WHERE op = 'buy LAST-1' AND outcome = 'OM030')")
if [ -z "$bad" ] && [ "$replacements" -gt 0 ] && [ $((exchanges_refused + buyers_refused)) -gt 0 ]; then
    echo "ok 24 - exchanges and buyers raced for LAST-1: $replacements replacement orders placed and linked, $exchanges_refused exchanges or claims refused for want of stock (leaving no return), $buyers buyers served, $buyers_refused refused; never more promised than there was"
else
    echo "not ok 24 - exchanges: $replacements replacements, $exchanges_refused refused, $buyers buyers, $buyers_refused refused:"
    echo "$bad" | head -10 | sed 's/^/# /'
fi
