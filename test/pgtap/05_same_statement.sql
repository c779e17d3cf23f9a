-- Several oms calls in one statement: each sees what the calls before it
-- wrote (every read takes a fresh snapshot, as SPI does for a statement that
-- is not read-only), whatever nests in whatever.
BEGIN;
SELECT plan(20);

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap');

-- Stock.
SELECT is(oms.available(CASE WHEN oms.receive_stock('TEE', 'BER', 10) > 0 THEN 'TEE' END), 10,
          'available sees a receipt of the same statement');
SELECT is(oms.available(CASE WHEN oms.adjust_stock('TEE', 'BER', -2, 'damaged') > 0 THEN 'TEE' END, 'WEB'), 8,
          'available for a channel sees an adjustment of the same statement');
SELECT is((SELECT location FROM oms.route(jsonb_build_array(jsonb_build_object('sku', 'CAP', 'qty',
                                              oms.receive_stock('CAP', 'BER', 4))), NULL)),
          'BER', 'route sees a receipt of the same statement');

-- Orders and shipments.
SELECT lives_ok($$SELECT oms.ship(oms.create_shipment(oms.place_order('WEB', 'N-1', '[{"sku": "TEE", "qty": 1}]'),
                                                      'BER'), 'DHL', 'T1')$$,
                'ship ships a shipment created in the same statement');
SELECT is((SELECT s.status FROM oms.shipment s JOIN oms.orders o USING (order_id) WHERE o.external_ref = 'N-1'),
          'shipped', 'and the shipment is shipped');
SELECT lives_ok($$SELECT oms.track(x.id + length(oms.ship(x.id, 'DHL', 'T2')::text), 'delivered')
                    FROM (SELECT oms.create_shipment(oms.place_order('WEB', 'N-2', '[{"sku": "TEE", "qty": 1}]'),
                                                     'BER') AS id OFFSET 0) x$$,
                'track tracks a shipment created and shipped in the same statement');
SELECT is((SELECT status FROM oms.orders WHERE external_ref = 'N-2'), 'delivered', 'and its order is delivered');
SELECT lives_ok($$SELECT oms.cancel_shipment(oms.create_shipment(oms.place_order('WEB', 'N-3',
                                                                     '[{"sku": "TEE", "qty": 1}]'), 'BER'))$$,
                'cancel_shipment calls off a shipment created in the same statement');
-- Returns.
SELECT oms.place_order('WEB', 'N-R', '[{"sku": "TEE", "qty": 2}]');
SELECT lives_ok($$SELECT oms.request_return(o.order_id + 0 * length(oms.ship(oms.create_shipment(o.order_id, 'BER'),
                                                                           'DHL', 'TR')::text),
                                            '[{"line_no": 1, "qty": 1}]')
                    FROM oms.orders o WHERE o.external_ref = 'N-R'$$,
                'request_return sees units shipped in the same statement');
SELECT is((SELECT oms.receive_return(oms.request_return(o.order_id, '[{"line_no": 1, "qty": 1}]'),
                                     '[{"line_no": 1, "qty": 1, "disposition": "restock"}]')
             FROM oms.orders o WHERE o.external_ref = 'N-R'), 1,
          'receive_return receives a return requested in the same statement');
SELECT is((SELECT oms.close_return(r.return_id + 0 * oms.receive_return(r.return_id,
                                          '[{"line_no": 1, "qty": 1, "disposition": "damaged"}]'), 'inspected')
             FROM oms.orders o JOIN oms.returns r ON r.order_id = o.order_id AND r.status = 'authorized'
            WHERE o.external_ref = 'N-R'), 0,
          'close_return sees units received in the same statement: none missing');
SELECT oms.place_order('WEB', 'N-4', '[{"sku": "TEE", "qty": 1}]');
SELECT throws_ok($$SELECT oms.cancel_line(o.order_id + 0 * oms.create_shipment(o.order_id, 'BER'), 1, 1, 'x')
                     FROM oms.orders o WHERE o.external_ref = 'N-4'$$,
                 'OM044', NULL, 'cancel_line sees the pending shipment created in the same statement');
SELECT oms.place_order('WEB', 'N-5', '[{"sku": "CAP", "qty": 1}, {"sku": "TEE", "qty": 50}]', NULL,
                       '{"allow_backorder": true}');
SELECT oms.hold_order(order_id) FROM oms.orders WHERE external_ref = 'N-5';
SELECT lives_ok($$SELECT oms.release_order(o.order_id + 0 * oms.cancel_line(o.order_id, 2, 50, 'no more'))
                    FROM oms.orders o WHERE o.external_ref = 'N-5'$$,
                'release_order after cancel_line in the same statement');
SELECT is((SELECT status::text FROM oms.orders WHERE external_ref = 'N-5'), 'reserved',
          'release_order sees that cancel_line left nothing backordered');
SELECT is(oms.cancel_order(oms.place_order('WEB', 'N-6', '[{"sku": "CAP", "qty": 1}]'), 'changed mind'), 1,
          'cancel_order cancels an order placed in the same statement');

-- Holds and payments.
SELECT is(oms.release_hold(CASE WHEN oms.hold_stock('cart-1', 'WEB', '[{"sku": "CAP", "qty": 1}]') IS NOT NULL
                                THEN 'cart-1' END), true, 'release_hold releases a hold of the same statement');
SELECT ok(oms.place_order('WEB', 'N-7', '[{"sku": "CAP", "qty": 1}]', NULL,
                          jsonb_build_object('hold', CASE WHEN oms.hold_stock('cart-2', 'WEB', '[{"sku": "CAP", "qty": 1}]')
                                                                IS NOT NULL THEN 'cart-2' END)) > 0,
          'place_order takes a hold of the same statement');
SELECT is_empty('SELECT * FROM oms.hold', 'and turns it into the order');
SELECT lives_ok($$SELECT oms.record_payment(x.id + 0 * oms.record_payment(x.id, 'authorize', 5), 'capture', 5)
                    FROM (SELECT oms.place_order('WEB', 'N-8', '[{"sku": "CAP", "qty": 1}]') AS id OFFSET 0) x$$,
                'a capture sees the authorization of the same statement');

SELECT is_empty('SELECT * FROM oms.check_invariants()', 'every invariant holds');

SELECT * FROM finish();
ROLLBACK;
