-- Every error path of the stock API: its SQLSTATE, and nothing half-written.
BEGIN;
SELECT plan(24);

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt');
SELECT oms.receive_stock('TEE', 'BER', 10);
SELECT oms.set_safety_stock('TEE', 'BER', 1);

SELECT throws_ok($$SELECT oms.receive_stock('NOPE', 'BER', 1)$$, 'OM001', 'unknown sku "NOPE"');
SELECT throws_ok($$SELECT oms.adjust_stock('NOPE', 'BER', 1, 'x')$$, 'OM001');
SELECT throws_ok($$SELECT oms.count_stock('NOPE', 'BER', 1)$$, 'OM001');
SELECT throws_ok($$SELECT oms.set_safety_stock('NOPE', 'BER', 1)$$, 'OM001');
SELECT throws_ok($$SELECT oms.available('NOPE')$$, 'OM001');
SELECT throws_ok($$SELECT oms.receive_stock('TEE', 'NOPE', 1)$$, 'OM002', 'unknown location "NOPE"');
SELECT throws_ok($$SELECT oms.available('TEE', 'NOPE')$$, 'OM003', 'unknown channel "NOPE"');
SELECT throws_ok($$SELECT oms.receive_stock('TEE', 'BER', 0)$$, 'OM010');
SELECT throws_ok($$SELECT oms.receive_stock('TEE', 'BER', -1)$$, 'OM010');
SELECT throws_ok($$SELECT oms.adjust_stock('TEE', 'BER', 0, 'x')$$, 'OM010');
SELECT throws_ok($$SELECT oms.count_stock('TEE', 'BER', -1)$$, 'OM010');
SELECT throws_ok($$SELECT oms.set_safety_stock('TEE', 'BER', -1)$$, 'OM010');
SELECT throws_ok($$SELECT oms.receive_stock('TEE', 'BER', 2147483647)$$, 'OM011');
SELECT throws_ok($$SELECT oms.adjust_stock('TEE', 'BER', 2147483647, 'x')$$, 'OM011');
SELECT throws_ok($$SELECT oms.adjust_stock('TEE', 'BER', -11, 'x')$$, 'OM012');
SELECT throws_ok($$SELECT oms.adjust_stock('TEE', 'BER', -2147483648, 'x')$$, 'OM012');
SELECT throws_ok($$SELECT oms.adjust_stock('TEE', 'BER', 1, NULL)$$, 'OM014');
SELECT throws_ok($$SELECT oms.receive_stock(NULL, 'BER', 1)$$, '22004');
SELECT throws_ok($$SELECT oms.count_stock('TEE', NULL, 1)$$, '22004');
SELECT throws_ok($$UPDATE oms.stock SET on_hand = 0$$, 'OM091');
SELECT throws_ok($$DELETE FROM oms.stock_movement$$, 'OM090');

-- Nothing half-written: the failures above changed nothing.
SELECT is((SELECT on_hand FROM oms.stock), 10, 'on_hand is untouched');
SELECT is((SELECT count(*) FROM oms.stock_movement), 1::bigint, 'the ledger has only the first receipt');
SELECT is_empty('SELECT * FROM oms.check_invariants()', 'every invariant holds');

SELECT * FROM finish();
ROLLBACK;
