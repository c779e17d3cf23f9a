--
-- Orders as channels send them: repeated SKUs, money per line and order,
-- till sales at a store and marketplace-fulfilled orders; every error with
-- its SQLSTATE, and the invariants after each step.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

INSERT INTO oms.channel (code, name, kind) VALUES
    ('WEB', 'Web shop', 'web'), ('POS', 'Store tills', 'pos'), ('MKT', 'Marketplace', 'marketplace');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, can_pickup) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 10, false),
    ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 5, false),
    ('MUC', 'Munich store', 'store', 48.137, 11.575, 1, true),
    ('OLD', 'Closed store', 'store', 50.11, 8.68, 1, true);
UPDATE oms.location SET active = false WHERE code = 'OLD';
-- The web shop ships from the warehouses only.
INSERT INTO oms.channel_location (channel_id, location_id)
SELECT c.id, l.id FROM oms.channel c, oms.location l WHERE c.code = 'WEB' AND l.code IN ('BER', 'HAM');
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('MUG', 'Mug');
SELECT oms.receive_stock('TEE', 'BER', 3), oms.receive_stock('TEE', 'HAM', 4), oms.receive_stock('CAP', 'HAM', 2),
       oms.receive_stock('TEE', 'MUC', 5), oms.receive_stock('CAP', 'MUC', 1), oms.receive_stock('MUG', 'MUC', 2);

CREATE FUNCTION pg_temp.lines(id bigint) RETURNS TABLE (line text)
LANGUAGE sql AS $$
    SELECT format('%s %s x%s @%s: %s (reserved %s, shipped %s, backordered %s, cancelled %s)%s',
                  l.line_no, s.code, l.qty, l.unit_price, l.status, l.qty_reserved, l.qty_shipped,
                  l.qty_backordered, l.qty_cancelled,
                  coalesce((SELECT ' ' || string_agg(format('%s x%s %s', loc.code, r.qty, r.state), ', ' ORDER BY loc.code, r.state)
                              FROM oms.reservation r JOIN oms.location loc ON loc.id = r.location_id
                             WHERE r.order_id = l.order_id AND r.line_no = l.line_no), ''))
      FROM oms.order_lines l JOIN oms.sku s ON s.id = l.sku_id WHERE l.order_id = $1 ORDER BY l.line_no
$$;
CREATE FUNCTION pg_temp.stock() RETURNS TABLE (sku text, location text, on_hand integer, reserved integer, held integer)
LANGUAGE sql AS $$ SELECT sku, location, on_hand, reserved, held FROM oms.v_stock ORDER BY 1, 2 $$;

--
-- Repeated SKUs.  TEE on lines 1 and 3 (a gift at 0): routing sees 6 TEE,
-- which no single warehouse has; the units go back onto the lines in line
-- order, each line keeping its own price.  The preview first: it routes
-- and splits the same way.
--
SELECT line_no, sku, location, qty FROM oms.route(
    '[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 1}, {"sku": "TEE", "qty": 4}]', NULL, 'WEB')
 ORDER BY line_no, location;
SELECT oms.place_order('WEB', 'R-1',
    '[{"sku": "TEE", "qty": 2, "unit_price": 10}, {"sku": "CAP", "qty": 1, "unit_price": 5},
      {"sku": "TEE", "qty": 4, "unit_price": 0, "external_line_id": "gift"}]') AS r1 \gset
SELECT * FROM pg_temp.lines(:r1);
SELECT status, units, total_amount FROM oms.orders WHERE order_id = :r1;
SELECT line_no, external_line_id FROM oms.order_lines WHERE order_id = :r1 ORDER BY line_no;
SELECT jsonb_path_query_array(routing::jsonb, '$.plan[*] ? (@.sku == "TEE")') AS tee_plan FROM oms.orders WHERE order_id = :r1;
SELECT * FROM pg_temp.stock();

-- Backordered units of a repeated SKU fall to its last lines: one TEE is left.
SELECT oms.place_order('WEB', 'R-2',
    '[{"sku": "TEE", "qty": 1, "unit_price": 10}, {"sku": "TEE", "qty": 2, "unit_price": 12}]', NULL,
    '{"allow_backorder": true}') AS r2 \gset
SELECT * FROM pg_temp.lines(:r2);
SELECT status FROM oms.orders WHERE order_id = :r2;
-- Without backorders, the error counts the SKU's total.
SELECT oms.place_order('WEB', 'R-3', '[{"sku": "CAP", "qty": 1}, {"sku": "CAP", "qty": 1}, {"sku": "CAP", "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE

-- cancel_line on either line of the SKU releases that line's units only.
SELECT oms.cancel_line(:r1, 1, 1, 'size');
SELECT oms.cancel_line(:r1, 3, 1, 'size');
SELECT * FROM pg_temp.lines(:r1);
SELECT * FROM pg_temp.stock();

-- Shipping both lines of the SKU from one warehouse, each line's units its own.
SELECT l.code AS location, string_agg(format('line %s x%s', r.line_no, r.qty), ', ' ORDER BY r.line_no) AS held
  FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = :r1 AND r.state = 'held' GROUP BY l.code ORDER BY l.code;
SELECT oms.create_shipment(:r1, 'HAM') AS s1 \gset
SELECT line_no, qty FROM oms.shipment_line WHERE shipment_id = :s1 ORDER BY line_no;
SELECT oms.ship(:s1, 'DHL', 'T-1');
SELECT oms.create_shipment(:r1, 'BER') AS s2 \gset
SELECT oms.ship(:s2, 'DHL', 'T-2');
SELECT * FROM pg_temp.lines(:r1);
SELECT status FROM oms.orders WHERE order_id = :r1;
SELECT kind, quantity, reference FROM oms.stock_movement m JOIN oms.sku s ON s.id = m.sku_id
 WHERE kind = 'shipment' ORDER BY m.id;
SELECT * FROM oms.check_invariants();

-- A hold may repeat a SKU too: it holds the total.
SELECT oms.hold_stock('H-R', 'WEB', '[{"sku": "TEE", "qty": 1}, {"sku": "TEE", "qty": 1}]', '1 hour') IS NOT NULL AS held;
SELECT s.code AS sku, sum(h.qty) AS held FROM oms.hold_line h JOIN oms.sku s ON s.id = h.sku_id WHERE hold_ref = 'H-R' GROUP BY s.code;
SELECT oms.release_hold('H-R');

--
-- Money.  Line total = qty * unit_price - discount + tax; order total = the
-- line totals - order_discount + shipping price - shipping discount +
-- shipping tax.
--
SELECT oms.receive_stock('TEE', 'BER', 20), oms.receive_stock('CAP', 'BER', 20);
SELECT oms.place_order('WEB', 'M-1',
    '[{"sku": "TEE", "qty": 3, "unit_price": 19.99, "discount": 5.97, "tax": 2.66, "external_line_id": "li-1"},
      {"sku": "CAP", "qty": 1, "unit_price": 24.50, "tax": 4.66}]', NULL,
    '{"shipping": {"price": 4.90, "tax": 0.93, "discount": 1.90}, "order_discount": 2.50, "total": 87.25}') AS m1 \gset
SELECT total_amount, order_discount, shipping_amount, shipping_tax, shipping_discount, prices_include_tax, fulfilment
  FROM oms.orders WHERE order_id = :m1;
SELECT line_no, qty, unit_price, discount_amount, tax_amount, external_line_id
  FROM oms.order_lines WHERE order_id = :m1 ORDER BY line_no;
-- The same order again: the same id; other money is other contents.
SELECT oms.place_order('WEB', 'M-1',
    '[{"sku": "TEE", "qty": 3, "unit_price": 19.99, "discount": 5.97, "tax": 2.66, "external_line_id": "li-1"},
      {"sku": "CAP", "qty": 1, "unit_price": 24.50, "tax": 4.66}]', NULL,
    '{"shipping": {"price": 4.90, "tax": 0.93, "discount": 1.90}, "order_discount": 2.50, "total": 87.25}') = :m1 AS same;
SELECT oms.place_order('WEB', 'M-1',
    '[{"sku": "TEE", "qty": 3, "unit_price": 19.99, "discount": 5.97, "tax": 2.66, "external_line_id": "li-1"},
      {"sku": "CAP", "qty": 1, "unit_price": 24.50, "tax": 4.66}]', NULL,
    '{"shipping": {"price": 4.90, "tax": 0.93, "discount": 0}, "order_discount": 2.50}');
\echo :LAST_ERROR_SQLSTATE

-- Prices that include tax: the tax is part of them, not added.
SELECT oms.place_order('WEB', 'M-2',
    '[{"sku": "TEE", "qty": 2, "unit_price": 11.90, "tax": 3.80, "discount": 1.90}]', NULL,
    '{"prices_include_tax": true, "shipping": {"price": 5.95, "tax": 0.95}, "total": 27.85}') AS m2 \gset
SELECT total_amount, prices_include_tax, shipping_amount, shipping_tax FROM oms.orders WHERE order_id = :m2;
-- Exactly, in numeric: 3 x 0.1 is 0.3, and 0.30 is the same number.
SELECT oms.place_order('WEB', 'M-3', '[{"sku": "CAP", "qty": 3, "unit_price": 0.1}]', NULL, '{"total": 0.30}') AS m3 \gset
SELECT total_amount FROM oms.orders WHERE order_id = :m3;
-- The whole order discounted away, shipping free.
SELECT oms.place_order('WEB', 'M-4', '[{"sku": "CAP", "qty": 1, "unit_price": 8, "discount": 3}]', NULL,
    '{"order_discount": 5, "shipping": {"price": 3, "discount": 3}, "total": 0}') AS m4 \gset
SELECT total_amount FROM oms.orders WHERE order_id = :m4;

-- A total that does not add up is refused, with oms's sum.
SELECT oms.place_order('WEB', 'M-5',
    '[{"sku": "TEE", "qty": 2, "unit_price": 10, "discount": 2, "tax": 1.5}]', NULL,
    '{"order_discount": 1, "shipping": {"price": 4, "tax": 0.5, "discount": 1}, "total": 22.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'M-5', '[{"sku": "TEE", "qty": 2, "unit_price": 10, "tax": 3}]', NULL,
    '{"prices_include_tax": true, "total": 23}');
\echo :LAST_ERROR_SQLSTATE

-- Amounts: numbers from 0 below 10^12 (OM114).
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1, "unit_price": 5, "discount": -1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1, "unit_price": 5, "tax": "1.00"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"shipping": {"price": "4.90"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"order_discount": 1e12}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"total": null}');
\echo :LAST_ERROR_SQLSTATE
-- A discount above what it discounts (OM115).
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 2, "unit_price": 5, "discount": 10.01}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 2, "unit_price": 5, "discount": 4}]', NULL,
    '{"order_discount": 6.01, "shipping": {"price": 10}}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"shipping": {"discount": 1}}');
\echo :LAST_ERROR_SQLSTATE
-- Options of the wrong shape (OM022) and line fields (OM020).
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"shipping": {"price": 1, "method": "express"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"shipping": 4.90}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"prices_include_tax": "yes"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"fulfilment": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1, "external_line_id": ""}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', format('[{"sku": "TEE", "qty": 1, "external_line_id": "%s"}]', repeat('x', 201))::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 1, "external_line_id": 7}]');
\echo :LAST_ERROR_SQLSTATE
-- Holds carry no money.
SELECT oms.hold_stock('H-M', 'WEB', '[{"sku": "TEE", "qty": 1, "discount": 1}]');
\echo :LAST_ERROR_SQLSTATE
-- Fulfilment options that do not go together (OM117).
SELECT oms.place_order('POS', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"fulfilment": "dropship"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('POS', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"fulfilment": "store"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('POS', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"location": "MUC"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('MKT', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"fulfilment": "marketplace", "location": "MUC"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('MKT', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"fulfilment": "marketplace", "hold": "H-1"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('POS', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"fulfilment": "store", "location": "MUC", "pickup_location": "MUC"}');
\echo :LAST_ERROR_SQLSTATE
-- The store must exist (OM002) and be active (OM006).
SELECT oms.place_order('POS', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"fulfilment": "store", "location": "NOPE"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('POS', 'E-1', '[{"sku": "TEE", "qty": 1}]', NULL, '{"fulfilment": "store", "location": "OLD"}');
\echo :LAST_ERROR_SQLSTATE
-- None of the failed calls left anything behind.
SELECT count(*) AS orders FROM oms.orders WHERE external_ref LIKE 'E-%' OR external_ref = 'M-5';
SELECT count(*) AS refs FROM oms.order_ref WHERE external_ref LIKE 'E-%' OR external_ref = 'M-5';

--
-- A till sale at the Munich store: no routing, no reservation; the units
-- leave the store's on_hand at once (ledger kind sale) and the order is
-- delivered.  A cart hold there keeps its unit.
--
SELECT oms.hold_stock('H-MUG', 'POS', '[{"sku": "MUG", "qty": 1}]', '1 hour') IS NOT NULL AS held;
SELECT oms.place_order('POS', 'TILL-1',
    '[{"sku": "TEE", "qty": 2, "unit_price": 19.99, "tax": 6.38}, {"sku": "MUG", "qty": 1, "unit_price": 9.50},
      {"sku": "TEE", "qty": 1, "unit_price": 15, "discount": 15}]', NULL,
    '{"fulfilment": "store", "location": "MUC", "prices_include_tax": true, "total": 49.48}') AS t1 \gset
SELECT status, fulfilment, l.code AS store, total_amount, routing IS NULL AS not_routed
  FROM oms.orders o JOIN oms.location l ON l.id = o.fulfilment_location_id WHERE order_id = :t1;
SELECT * FROM pg_temp.lines(:t1);
SELECT s.code, kind, quantity, on_hand_after, reference = 'order ' || :t1 AS reference
  FROM oms.stock_movement m JOIN oms.sku s ON s.id = m.sku_id WHERE kind = 'sale' ORDER BY m.id;
SELECT * FROM pg_temp.stock() WHERE location = 'MUC';
SELECT entity, entity_id, from_status, to_status FROM oms.order_event WHERE order_id = :t1 ORDER BY id;
-- The same sale again (a till's retry): the same order, sold once.
SELECT oms.place_order('POS', 'TILL-1',
    '[{"sku": "TEE", "qty": 2, "unit_price": 19.99, "tax": 6.38}, {"sku": "MUG", "qty": 1, "unit_price": 9.50},
      {"sku": "TEE", "qty": 1, "unit_price": 15, "discount": 15}]', NULL,
    '{"fulfilment": "store", "location": "MUC", "prices_include_tax": true, "total": 49.48}') = :t1 AS same;
SELECT count(*) AS sales FROM oms.stock_movement WHERE kind = 'sale';
-- The last mug is held for a cart: selling it is short of stock (OM030),
-- naming the store; a SKU the store never stocked, too.
SELECT oms.place_order('POS', 'TILL-2', '[{"sku": "MUG", "qty": 1}]', NULL, '{"fulfilment": "store", "location": "MUC"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('POS', 'TILL-2', '[{"sku": "CAP", "qty": 1}, {"sku": "CAP", "qty": 1}]', NULL,
    '{"fulfilment": "store", "location": "MUC"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.place_order('POS', 'TILL-2', '[{"sku": "MUG", "qty": 1}]', NULL, '{"fulfilment": "store", "location": "BER"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.stock() WHERE location = 'MUC';
-- A sold order is past cancelling; it can be closed.
SELECT oms.cancel_order(:t1, 'changed mind');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.close_order(:t1);
SELECT status FROM oms.orders WHERE order_id = :t1;

--
-- A marketplace-fulfilled order: recorded shipped, nothing reserved, no
-- ledger.
--
SELECT oms.place_order('MKT', 'AMZ-1',
    '[{"sku": "MUG", "qty": 5, "unit_price": 9.5, "tax": 9.03, "external_line_id": "item-1"},
      {"sku": "MUG", "qty": 1, "unit_price": 9.5, "discount": 9.5, "external_line_id": "item-2"}]', NULL,
    '{"fulfilment": "marketplace", "shipping": {"price": 3.99}}') AS a1 \gset
SELECT status, fulfilment, fulfilment_location_id, total_amount FROM oms.orders WHERE order_id = :a1;
SELECT * FROM pg_temp.lines(:a1);
SELECT entity, entity_id, from_status, to_status FROM oms.order_event WHERE order_id = :a1 ORDER BY id;
SELECT count(*) AS movements FROM oms.stock_movement WHERE reference = 'order ' || :a1;
SELECT * FROM pg_temp.stock() WHERE sku = 'MUG';

-- Every order's money and units add up.
SELECT external_ref, fulfilment, status, total_amount FROM oms.orders ORDER BY order_id;
SELECT * FROM oms.check_invariants();
-- ... and the checks would see a total that does not, or a sale that is not one.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE oms.orders SET total_amount = total_amount + 0.01 WHERE order_id = :m1;
INSERT INTO oms.stock_movement (sku_id, location_id, kind, quantity, on_hand_after, created_by)
SELECT sku_id, location_id, 'sale', -1, on_hand, 'test' FROM oms.stock WHERE on_hand > 0 ORDER BY sku_id, location_id LIMIT 1;
SELECT invariant FROM oms.check_invariants() ORDER BY 1;
ROLLBACK;
