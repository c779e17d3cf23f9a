--
-- Cart holds, their expiry, and hot stock rows spread over slots.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web'), ('APP', 'App', 'app');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 10), ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 5);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('HOT', 'Sneaker');
SELECT oms.receive_stock('TEE', 'BER', 3), oms.receive_stock('TEE', 'HAM', 3), oms.receive_stock('CAP', 'BER', 2);

-- A hold sets units aside: they are no longer available to anyone else.
SELECT oms.hold_stock('cart-1', 'WEB', '[{"sku": "TEE", "qty": 4}, {"sku": "CAP", "qty": 1}]', '10 minutes')
       BETWEEN now() + interval '9 minutes' AND now() + interval '11 minutes' AS expires_in_ten_minutes;
SELECT sku, location, on_hand, reserved, held, available FROM oms.v_stock ORDER BY sku, location;
SELECT oms.available('TEE', 'APP') AS tee_for_others;
SELECT oms.place_order('APP', 'A-1', '[{"sku": "TEE", "qty": 3}]');
\echo :LAST_ERROR_SQLSTATE

-- Calling again replaces the lines and extends the expiry.
SELECT oms.hold_stock('cart-1', 'WEB', '[{"sku": "TEE", "qty": 1}]', '1 hour')
       > now() + interval '59 minutes' AS extended;
SELECT sku, location, held, available FROM oms.v_stock ORDER BY sku, location;

-- Turning the hold into an order: its units, and no racing buyer, get them.
SELECT oms.place_order('WEB', 'W-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"hold": "cart-1"}') AS w1 \gset
SELECT count(*) AS holds_left FROM oms.hold;
SELECT sku, location, reserved, held, available FROM oms.v_stock ORDER BY sku, location;

-- An expired hold blocks nothing, even before anything cleaned it up.
SELECT oms.hold_stock('cart-2', 'WEB', '[{"sku": "TEE", "qty": 5}]') IS NOT NULL AS held;
SELECT oms.available('TEE') AS while_held;
UPDATE oms.hold SET expires_at = now() - interval '1 second' WHERE hold_ref = 'cart-2';
UPDATE oms.hold_line SET expires_at = now() - interval '1 second' WHERE hold_ref = 'cart-2';
SELECT oms.available('TEE') AS once_expired;
SELECT oms.place_order('APP', 'A-2', '[{"sku": "TEE", "qty": 2}]') > 0 AS placed_through_expired_hold;
SELECT oms.expire_holds() AS expired, oms.expire_holds() AS expired_again;
SELECT sku, location, reserved, held, available FROM oms.v_stock ORDER BY sku, location;

-- Releasing.
SELECT oms.hold_stock('cart-3', 'WEB', '[{"sku": "CAP", "qty": 1}]') IS NOT NULL AS held;
SELECT oms.release_hold('cart-3') AS released, oms.release_hold('cart-3') AS released_again;

-- Errors.
SELECT oms.hold_stock('cart-4', 'WEB', '[{"sku": "TEE", "qty": 99}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('cart-5', 'WEB', '[{"sku": "CAP", "qty": 1}]') IS NOT NULL AS held;
SELECT oms.hold_stock('cart-5', 'APP', '[{"sku": "CAP", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('APP', 'A-3', '[{"sku": "CAP", "qty": 1}]', NULL, '{"hold": "cart-5"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('cart-6', 'WEB', '[{"sku": "CAP", "qty": 1}]', '0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('cart-6', 'WEB', '[{"sku": "CAP", "qty": 1}]', '-5 minutes');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('cart-6', 'WEB', '[{"sku": "CAP", "qty": 1}]', '1 month');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('cart-6', 'WEB', '[{"sku": "CAP", "qty": 1, "unit_price": 5}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock(' ', 'WEB', '[{"sku": "CAP", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_hold(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.check_invariants();

-- A hot row spreads its units over slots; availability still reads exactly.
SELECT oms.receive_stock('HOT', 'BER', 10);
SELECT oms.set_stock_slots('HOT', 'BER', 4);
SELECT on_hand, reserved, escrow, slots FROM oms.stock WHERE slots > 0;
SELECT slot, quota, reserved FROM oms.stock_slot ORDER BY slot;
-- A slot holds units of the row: it cannot be deleted.
DELETE FROM oms.stock_slot WHERE slot = 0;
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'H-1', '[{"sku": "HOT", "qty": 2}]') > 0 AS placed;
SELECT oms.place_order('WEB', 'H-2', '[{"sku": "HOT", "qty": 3}]') > 0 AS placed;
SELECT sku, on_hand, reserved, available FROM oms.v_stock WHERE sku = 'HOT';
-- Units that no slot has alone are gathered from all of them.
SELECT oms.place_order('WEB', 'H-3', '[{"sku": "HOT", "qty": 5}]') > 0 AS placed;
SELECT oms.place_order('WEB', 'H-4', '[{"sku": "HOT", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT sku, on_hand, reserved, available FROM oms.v_stock WHERE sku = 'HOT';
-- Cancelling gives the units back to their slots.
SELECT oms.cancel_order(order_id, 'undo') FROM oms.orders WHERE external_ref = 'H-2';
SELECT sku, on_hand, reserved, available FROM oms.v_stock WHERE sku = 'HOT';
-- Stock leaves through the ledger even when slots hold it.
SELECT oms.adjust_stock('HOT', 'BER', -3, 'water damage');
SELECT oms.adjust_stock('HOT', 'BER', -1, 'more than is free');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.set_stock_slots('HOT', 'BER', 0);
SELECT on_hand, reserved, escrow, slots FROM oms.stock WHERE sku_id = (SELECT id FROM oms.sku WHERE code = 'HOT');
-- Slots this transaction spread, and so holds, are still its own to take from.
BEGIN;
SELECT oms.receive_stock('HOT', 'BER', 4);
SELECT oms.set_stock_slots('HOT', 'BER', 2);
SELECT oms.place_order('WEB', 'H-5', '[{"sku": "HOT", "qty": 1}]') AS h5 \gset
SELECT slot IS NOT NULL AS from_a_slot FROM oms.reservation WHERE order_id = :h5;
ROLLBACK;
-- A dropped column keeps its old values in the stock rows; orders take stock all the same.
BEGIN;
ALTER TABLE oms.stock ADD COLUMN note integer DEFAULT 1;
ALTER TABLE oms.stock_slot ADD COLUMN note integer DEFAULT 1;
SELECT oms.receive_stock('HOT', 'BER', 4), oms.receive_stock('CAP', 'BER', 1);
SELECT oms.set_stock_slots('HOT', 'BER', 2);
ALTER TABLE oms.stock DROP COLUMN note;
ALTER TABLE oms.stock_slot DROP COLUMN note;
SELECT oms.place_order('WEB', 'H-6', '[{"sku": "HOT", "qty": 1}, {"sku": "CAP", "qty": 1}]') AS h6 \gset
SELECT line_no, slot IS NOT NULL AS from_a_slot FROM oms.reservation WHERE order_id = :h6 ORDER BY line_no;
SELECT count(*) AS violations FROM oms.check_invariants();
ROLLBACK;
SELECT oms.set_stock_slots('HOT', 'BER', 257);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.check_invariants();
-- A ttl far beyond 7 days is refused as such, not by an overflow in the check.
SELECT oms.hold_stock('cart-7', 'WEB', '[{"sku": "CAP", "qty": 1}]', '106751992 days');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('cart-7', 'WEB', '[{"sku": "CAP", "qty": 1}]', '2147483647 days 2562047788 hours');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('cart-7', 'WEB', '[{"sku": "CAP", "qty": 1}]', '7 days 00:00:00.000001');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('cart-7', 'WEB', '[{"sku": "CAP", "qty": 1}]', '6 days 24:00:00') IS NOT NULL AS seven_days;
SELECT oms.release_hold('cart-7');
