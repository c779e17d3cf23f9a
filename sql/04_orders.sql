--
-- Placing and cancelling orders: every path of the API and every error,
-- with its SQLSTATE; a failed call leaves nothing behind.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

INSERT INTO oms.channel (code, name, kind, safety_stock) VALUES
    ('WEB', 'Web shop', 'web', 0), ('MKT', 'Marketplace', 'marketplace', 2), ('OLD', 'Closed channel', 'web', 0);
UPDATE oms.channel SET active = false WHERE code = 'OLD';
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, can_pickup) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 10, false),
    ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 5, false),
    ('MUC', 'Munich store', 'store', 48.137, 11.575, 1, true);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('BAG', 'Bag'), ('GONE', 'Retired');
UPDATE oms.sku SET active = false WHERE code = 'GONE';
SELECT oms.receive_stock('TEE', 'BER', 5), oms.receive_stock('TEE', 'HAM', 5), oms.receive_stock('TEE', 'MUC', 2),
       oms.receive_stock('CAP', 'HAM', 3), oms.receive_stock('CAP', 'MUC', 1), oms.receive_stock('BAG', 'BER', 1);

CREATE FUNCTION pg_temp.order_summary(id bigint) RETURNS TABLE (status text, lines text, reservations text)
LANGUAGE sql AS $$
    SELECT o.status,
           (SELECT string_agg(format('%s %s x%s (reserved %s, backordered %s, cancelled %s)',
                                     l.line_no, s.code, l.qty, l.qty_reserved, l.qty_backordered, l.qty_cancelled),
                              '; ' ORDER BY l.line_no)
              FROM oms.order_lines l JOIN oms.sku s ON s.id = l.sku_id WHERE l.order_id = o.order_id),
           (SELECT string_agg(format('%s@%s x%s %s', s.code, loc.code, r.qty, r.state), '; ' ORDER BY r.id)
              FROM oms.reservation r JOIN oms.sku s ON s.id = r.sku_id JOIN oms.location loc ON loc.id = r.location_id
             WHERE r.order_id = o.order_id)
      FROM oms.orders o WHERE o.order_id = id
$$;

-- One location with everything wins (Hamburg has both SKUs, Berlin a higher priority).
SELECT oms.place_order('WEB', 'W-1',
    '[{"sku": "TEE", "qty": 2, "unit_price": 19.99}, {"sku": "CAP", "qty": 1, "unit_price": 24}]',
    '{"name": "Ada", "city": "Hamburg", "country": "DE", "latitude": 53.55, "longitude": 10.0}',
    '{"customer": {"email": "ada@example.com"}, "currency": "EUR"}') AS w1 \gset
SELECT * FROM pg_temp.order_summary(:w1);
SELECT external_ref, status, currency, units, total_amount, customer, ship_to->>'city' AS city FROM oms.orders;

-- The same reference again: the same order, nothing more reserved.
SELECT oms.place_order('WEB', 'W-1',
    '[{"sku": "TEE", "qty": 2, "unit_price": 19.99}, {"sku": "CAP", "qty": 1, "unit_price": 24}]',
    '{"name": "Ada", "city": "Hamburg", "country": "DE", "latitude": 53.55, "longitude": 10.0}',
    '{"customer": {"email": "ada@example.com"}, "currency": "EUR"}') AS same_order;
SELECT sum(reserved) AS reserved FROM oms.v_stock;
-- ... but not with other contents.
SELECT oms.place_order('WEB', 'W-1', '[{"sku": "TEE", "qty": 3}]');
\echo :LAST_ERROR_SQLSTATE

-- Priority breaks a tie between locations that each have everything.
SELECT oms.place_order('WEB', 'W-2', '[{"sku": "TEE", "qty": 1}]') AS w2 \gset
SELECT * FROM pg_temp.order_summary(:w2);

-- Split across locations when no single one has it all.
SELECT oms.place_order('WEB', 'W-3', '[{"sku": "TEE", "qty": 6}]') AS w3 \gset
SELECT * FROM pg_temp.order_summary(:w3);
-- Without splitting it cannot be placed ...
SELECT oms.place_order('WEB', 'W-4', '[{"sku": "TEE", "qty": 4}]', NULL, '{"allow_split": false}');
\echo :LAST_ERROR_SQLSTATE
-- ... unless the rest may wait.
SELECT oms.place_order('WEB', 'W-4', '[{"sku": "TEE", "qty": 4}]', NULL,
                       '{"allow_split": false, "allow_backorder": true}') AS w4 \gset
SELECT * FROM pg_temp.order_summary(:w4);

-- Not enough anywhere: the error names the SKU, what was asked and what there is.
SELECT oms.place_order('WEB', 'W-5', '[{"sku": "BAG", "qty": 1}, {"sku": "TEE", "qty": 5}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'W-5', '[{"sku": "BAG", "qty": 1}, {"sku": "TEE", "qty": 5}]', NULL,
                       '{"allow_backorder": true}') AS w5 \gset
SELECT * FROM pg_temp.order_summary(:w5);

-- A channel never reserves into its safety stock: the marketplace keeps 2 back per location.
SELECT oms.available('CAP', 'MKT') AS cap_for_marketplace;
SELECT oms.place_order('MKT', 'M-1', '[{"sku": "CAP", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE

-- Click and collect: from that store, whole.
SELECT oms.place_order('WEB', 'P-1', '[{"sku": "CAP", "qty": 1}]', NULL, '{"pickup_location": "MUC"}') AS p1 \gset
SELECT * FROM pg_temp.order_summary(:p1);
SELECT oms.place_order('WEB', 'P-2', '[{"sku": "CAP", "qty": 1}]', NULL, '{"pickup_location": "BER"}');
\echo :LAST_ERROR_SQLSTATE

-- max_shipments caps the split; excluded locations are not used.
SELECT oms.place_order('WEB', 'W-6', '[{"sku": "CAP", "qty": 2}]', NULL,
                       '{"exclude_locations": ["HAM"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'W-6', '[{"sku": "CAP", "qty": 2}]', NULL,
                       '{"max_shipments": 1}') AS w6 \gset
SELECT * FROM pg_temp.order_summary(:w6);
SELECT oms.cancel_order(:w6, 'test done');

-- Cancelling a line: backordered units first, then reserved ones.
SELECT oms.cancel_line(:w5, 2, 2, 'customer asked');
SELECT * FROM pg_temp.order_summary(:w5);
SELECT oms.cancel_line(:w5, 2, 9, 'too many');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_line(:w5, 7, 1, 'no such line');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_line(:w5, 2, 0, 'nothing');
\echo :LAST_ERROR_SQLSTATE
-- Cancelling the order releases the rest, once.
SELECT oms.cancel_order(:w5, 'customer cancelled');
SELECT oms.cancel_order(:w5, 'again');
SELECT * FROM pg_temp.order_summary(:w5);
SELECT oms.cancel_line(:w5, 1, 1, 'after the fact');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_order(999, 'no such order');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_order(NULL, 'null');
\echo :LAST_ERROR_SQLSTATE

-- Bad input, each with its own SQLSTATE.
SELECT oms.place_order('NOPE', 'X', '[{"sku": "TEE", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('OLD', 'X', '[{"sku": "TEE", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "NOPE", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "GONE", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', '', '[{"sku": "TEE", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '{"sku": "TEE", "qty": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '["TEE"]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "quantity": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": 7, "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 0}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1.5}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": "1"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1e10}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 2000000000}, {"sku": "CAP", "qty": 2000000000}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1, "unit_price": -1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1, "unit_price": "free"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', '"Berlin"');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', '{"latitude": 91, "longitude": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', '{"latitude": 50}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', '{"latitude": "50N", "longitude": 8}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', NULL, '{"express": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', NULL, '{"allow_backorder": "yes"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', NULL, '{"currency": "euro"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', NULL, '{"pickup_location": "NOPE"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', NULL, '[]');
\echo :LAST_ERROR_SQLSTATE

-- None of the failures left anything behind.
SELECT count(*) AS orders, (SELECT count(*) FROM oms.order_ref) AS refs FROM oms.orders;
SELECT sku, location, on_hand, reserved, available FROM oms.v_stock ORDER BY sku, location;
SELECT * FROM oms.check_invariants();
-- Rows that count units are not deleted, not even by the owner.
DELETE FROM oms.orders WHERE order_id = (SELECT min(order_id) FROM oms.orders);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM oms.order_lines;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM oms.reservation;
\echo :LAST_ERROR_SQLSTATE
-- No foreign key ties lines to their order: check_invariants finds orphans
-- (replica mode turns the guards off, as for a restore).
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM oms.orders WHERE order_id = (SELECT min(order_id) FROM oms.orders);
SELECT invariant FROM oms.check_invariants() WHERE invariant LIKE 'order lines%';
ROLLBACK;
-- Coordinates a double cannot hold are wrong coordinates (OM021), not an
-- overflow.
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', '{"latitude": 1e-400, "longitude": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', '{"latitude": 1e309, "longitude": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'X', '[{"sku": "TEE", "qty": 1}]', '{"latitude": 0, "longitude": -1e309}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.route('[{"sku": "TEE", "qty": 1}]', '{"latitude": 52.5, "longitude": 1e-400}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS orders_named_x FROM oms.orders WHERE external_ref = 'X';
-- Requests over a size limit are OM026, checked before anything is looked
-- up: 1001 lines, 1001 excluded locations.
SELECT oms.place_order('WEB', 'X', (SELECT jsonb_agg(jsonb_build_object('sku', 'S' || g, 'qty', 1))
                                      FROM generate_series(1, 1001) g));
\echo :LAST_ERROR_SQLSTATE
SELECT oms.hold_stock('X', 'WEB', (SELECT jsonb_agg(jsonb_build_object('sku', 'S' || g, 'qty', 1))
                                     FROM generate_series(1, 1001) g));
\echo :LAST_ERROR_SQLSTATE
SELECT oms.route('[{"sku": "TEE", "qty": 1}]', NULL, NULL,
                 jsonb_build_object('exclude_locations', (SELECT jsonb_agg('L' || g) FROM generate_series(1, 1001) g)));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS routed_with_1000_exclusions
  FROM oms.route('[{"sku": "TEE", "qty": 1}]', NULL, NULL,
                 jsonb_build_object('exclude_locations', (SELECT jsonb_agg('MUC'::text) FROM generate_series(1, 1000) g)));
