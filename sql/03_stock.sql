--
-- Ledgered stock: receipts, adjustments, counts, safety stock, availability,
-- and every error path with its SQLSTATE.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never
INSERT INTO oms.channel (code, name, kind, safety_stock) VALUES
    ('WEB', 'Web shop', 'web', 0), ('POS', 'Store tills', 'pos', 0), ('MKT', 'Marketplace', 'marketplace', 1),
    ('OLD', 'Retired channel', 'web', 0);
UPDATE oms.channel SET active = false WHERE code = 'OLD';
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405), ('MUC', 'Munich', 'store', 48.137, 11.575),
    ('HAM', 'Hamburg (closed)', 'warehouse', 53.55, 9.99);
UPDATE oms.location SET active = false WHERE code = 'HAM';
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('GONE', 'Discontinued');
UPDATE oms.sku SET active = false WHERE code = 'GONE';
-- POS sells from Munich only; the marketplace keeps 4 units back in Berlin.
INSERT INTO oms.channel_location (channel_id, location_id, safety_stock)
SELECT c.id, l.id, v.safety
  FROM (VALUES ('POS', 'MUC', NULL), ('MKT', 'BER', 4), ('MKT', 'MUC', NULL)) v(channel, location, safety)
  JOIN oms.channel c ON c.code = v.channel JOIN oms.location l ON l.code = v.location;

-- Receipts create the stock row and return the new on_hand.
SELECT oms.receive_stock('TEE', 'BER', 10, 'PO-1001');
SELECT oms.receive_stock('TEE', 'BER', 5);
SELECT oms.receive_stock('TEE', 'MUC', 3, 'transfer');
SELECT oms.receive_stock('TEE', 'HAM', 100, 'closed, not promised');
SELECT oms.adjust_stock('TEE', 'BER', -2, 'damaged');
SELECT oms.count_stock('TEE', 'MUC', 4, 'cycle count');
SELECT oms.count_stock('TEE', 'MUC', 4);
SELECT oms.count_stock('CAP', 'BER', 0, 'first count of a new SKU');
SELECT oms.set_safety_stock('TEE', 'BER', 1);
SELECT oms.set_safety_stock('CAP', 'MUC', 2);
SELECT * FROM oms.v_stock ORDER BY sku, location;
SELECT l.code AS location, m.kind, m.quantity, m.on_hand_after, m.reason, m.created_by = current_user AS by_caller
  FROM oms.stock_movement m JOIN oms.location l ON l.id = m.location_id ORDER BY m.id;

-- Availability: BER 13 - 1 safety = 12, MUC 4, HAM inactive.
SELECT oms.available('TEE') AS any_channel, oms.available('TEE', 'WEB') AS web,
       oms.available('TEE', 'POS') AS pos, oms.available('TEE', 'MKT') AS marketplace,
       oms.available('TEE', 'OLD') AS inactive_channel, oms.available('GONE') AS inactive_sku,
       oms.available('CAP') AS none_on_hand;

-- Errors: each with its own SQLSTATE, and nothing written.
SELECT oms.receive_stock('NOPE', 'BER', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_stock('TEE', 'NOPE', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.available('TEE', 'NOPE');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_stock('TEE', 'BER', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_stock('TEE', 'BER', -3);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_stock('TEE', 'BER', 2147483647);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_stock(NULL, 'BER', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_stock('TEE', 'BER', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.adjust_stock('TEE', 'BER', -14, 'more than on hand');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.adjust_stock('CAP', 'MUC', -1, 'never stocked');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.adjust_stock('TEE', 'BER', 0, 'nothing');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.adjust_stock('TEE', 'BER', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.adjust_stock('TEE', 'BER', 1, '  ');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.count_stock('TEE', 'BER', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.set_safety_stock('TEE', 'BER', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS stock_rows, sum(on_hand) AS on_hand FROM oms.stock;
SELECT count(*) AS movements FROM oms.stock_movement;

-- on_hand and reserved change only through oms; the ledger is append-only.
UPDATE oms.stock SET on_hand = on_hand + 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.stock SET reserved = 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM oms.stock;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE oms.stock CASCADE;
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.stock_movement SET quantity = 1000;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM oms.stock_movement;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE oms.stock_movement;
\echo :LAST_ERROR_SQLSTATE
SELECT oms.stock_guard();
\echo :LAST_ERROR_SQLSTATE
-- Safety stock is not guarded: it is not counted in the ledger.
UPDATE oms.stock SET safety_stock = 0 WHERE on_hand = 4;
-- A row without units or ledger may go.
DELETE FROM oms.stock WHERE safety_stock = 2 AND on_hand = 0;
SELECT * FROM oms.v_stock ORDER BY sku, location;

SELECT * FROM oms.check_invariants();
-- check_invariants sees a ledger that disagrees with on_hand (replica mode
-- turns the guard off, as for a restore).
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE oms.stock SET on_hand = on_hand + 1 WHERE on_hand = 4;
SELECT invariant FROM oms.check_invariants();
ROLLBACK;
-- Availability adds up in bigint: safety stock near 2^31 at the location and
-- for the channel leaves nothing to promise, and more than 2^31 - 1 units
-- over all locations is 2147483647.
BEGIN;
SELECT oms.set_safety_stock('TEE', 'BER', 2147483647);
UPDATE oms.channel SET safety_stock = 2147483647 WHERE code = 'WEB';
SELECT oms.available('TEE', 'WEB') AS safety_near_int_max;
SELECT oms.receive_stock('CAP', 'BER', 2147483647), oms.receive_stock('CAP', 'MUC', 2147483647);
SELECT oms.available('CAP') AS beyond_int_max;
ROLLBACK;
