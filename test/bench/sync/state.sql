-- test/bench/sync/state.sql — everything a sync may change, in an order that
-- does not depend on ids or times: stock rows, slots, hold lines, the ledger
-- (ids and times left out), and the invariants that fail.
\set ON_ERROR_STOP 1
COPY (SELECT 'stock', sku_id, location_id, on_hand, reserved, held, escrow, safety_stock, slots
        FROM oms.stock ORDER BY sku_id, location_id) TO STDOUT;
COPY (SELECT 'slot', sku_id, location_id, slot, quota, reserved FROM oms.stock_slot ORDER BY 2, 3, 4) TO STDOUT;
COPY (SELECT 'hold line', hold_ref, sku_id, location_id, qty, expires_at FROM oms.hold_line ORDER BY 2, 3, 4) TO STDOUT;
COPY (SELECT 'ledger', sku_id, location_id, kind, quantity, on_hand_after, reason, reference, created_by
        FROM oms.stock_movement ORDER BY 2, 3, 4, 5, 6, 7, 8, 9) TO STDOUT;
COPY (SELECT 'invariant', * FROM oms.check_invariants()) TO STDOUT;
