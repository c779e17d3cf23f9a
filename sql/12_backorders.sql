--
-- Backorders that fill themselves: units that arrive (a receipt, an
-- adjustment or count upwards) go to backordered lines at once, units that
-- become free otherwise (a cancel, a released or expired hold) with
-- oms.allocate_backorders (the background worker calls it every second);
-- oldest order first, only from locations the order may use, never from
-- units a hold or safety stock keeps back; statuses and events follow.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

INSERT INTO oms.channel (code, name, kind, safety_stock) VALUES
    ('WEB', 'Web shop', 'web', 0), ('APP', 'App', 'app', 0), ('MKT', 'Marketplace', 'marketplace', 2);
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, can_pickup) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 10, false),
    ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 5, false),
    ('MUC', 'Munich store', 'store', 48.137, 11.575, 1, true);
-- The app may ship from Hamburg only.
INSERT INTO oms.channel_location (channel_id, location_id)
SELECT c.id, l.id FROM oms.channel c, oms.location l WHERE c.code = 'APP' AND l.code = 'HAM';
INSERT INTO oms.sku (code, name)
SELECT code, initcap(code) FROM unnest(ARRAY['TEE', 'CAP', 'BAG', 'MUG', 'JAR', 'CUP', 'PEN', 'HAT', 'SOX', 'KEY', 'LID', 'ZIP']) code;

-- An order's status, its lines and where its units are held, one row.
CREATE FUNCTION pg_temp.summary(ref text) RETURNS TABLE (status text, lines text, reservations text)
LANGUAGE sql AS $$
    SELECT o.status,
           (SELECT string_agg(format('%s %s x%s %s (reserved %s, backordered %s)', l.line_no, s.code, l.qty,
                                     l.status, l.qty_reserved, l.qty_backordered), '; ' ORDER BY l.line_no)
              FROM oms.order_lines l JOIN oms.sku s ON s.id = l.sku_id WHERE l.order_id = o.order_id),
           (SELECT string_agg(format('%s %s@%s x%s', r.line_no, s.code, loc.code, r.qty), '; ' ORDER BY r.id)
              FROM oms.reservation r JOIN oms.sku s ON s.id = r.sku_id JOIN oms.location loc ON loc.id = r.location_id
             WHERE r.order_id = o.order_id AND r.state = 'held')
      FROM oms.orders o WHERE o.external_ref = ref
$$;
-- The events of an order, in the order they happened.
CREATE FUNCTION pg_temp.history(ref text) RETURNS TABLE (entity text, entity_id bigint, change text)
LANGUAGE sql AS $$
    SELECT e.entity, e.entity_id, coalesce(e.from_status, '(new)') || ' -> ' || e.to_status
      FROM oms.order_event e JOIN oms.orders o ON o.order_id = e.order_id
     WHERE o.external_ref = ref ORDER BY e.id
$$;
CREATE FUNCTION pg_temp.place(channel text, ref text, lines jsonb, options jsonb DEFAULT '{}',
                              ship_to jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    SELECT oms.place_order(channel, ref, lines, ship_to, options || '{"allow_backorder": true}')
$$;

--
-- Oldest order first; a receipt fills in the same transaction.
--
SELECT pg_temp.place('WEB', 'B-1', '[{"sku": "TEE", "qty": 2}]') > 0 AS placed;
SELECT pg_temp.place('WEB', 'B-2', '[{"sku": "TEE", "qty": 2}]') > 0 AS placed;
SELECT * FROM pg_temp.summary('B-1');
SELECT oms.receive_stock('TEE', 'BER', 3) AS on_hand;
-- B-1 came first and gets both; B-2 gets the third unit and waits for one more.
SELECT * FROM pg_temp.summary('B-1');
SELECT * FROM pg_temp.summary('B-2');
SELECT sku, location, on_hand, reserved, available FROM oms.v_stock WHERE sku = 'TEE';
-- The line and the order moved backordered -> reserved; a partial fill is no transition.
SELECT * FROM pg_temp.history('B-1');
SELECT * FROM pg_temp.history('B-2');
-- Nothing free: nothing to give.
SELECT oms.allocate_backorders() AS allocated;

-- An adjustment upwards fills too, a count upwards, and a bulk sync, all its
-- SKUs in one pass.
SELECT oms.adjust_stock('TEE', 'BER', 1, 'found in the back') AS on_hand;
SELECT * FROM pg_temp.summary('B-2');
SELECT pg_temp.place('WEB', 'B-3', '[{"sku": "TEE", "qty": 3}]') > 0 AS placed;
SELECT oms.count_stock('TEE', 'BER', 5) AS on_hand;
SELECT * FROM pg_temp.summary('B-3');
SELECT pg_temp.place('WEB', 'Y-1', '[{"sku": "KEY", "qty": 2}, {"sku": "LID", "qty": 1}]') > 0 AS placed;
SELECT sku, outcome, on_hand_before, on_hand_after
  FROM oms.sync_stock('BER', '[{"sku": "KEY", "on_hand": 1}, {"sku": "LID", "on_hand": 3}]');
SELECT * FROM pg_temp.summary('Y-1');

-- A SKU on two lines: its units go to the lines in line order.
SELECT pg_temp.place('WEB', 'R-1', '[{"sku": "ZIP", "qty": 1, "unit_price": 5}, {"sku": "ZIP", "qty": 2, "unit_price": 0}]') > 0 AS placed;
SELECT oms.receive_stock('ZIP', 'BER', 2) AS on_hand;
SELECT * FROM pg_temp.summary('R-1');
SELECT oms.receive_stock('ZIP', 'HAM', 5) AS on_hand;
SELECT * FROM pg_temp.summary('R-1');

-- Units freed by a cancel wait for allocate_backorders (or the worker).
SELECT oms.cancel_order(order_id, 'changed mind') AS cancelled FROM oms.orders WHERE external_ref = 'B-1';
SELECT * FROM pg_temp.summary('B-3');
SELECT oms.allocate_backorders('TEE') AS allocated;
SELECT * FROM pg_temp.summary('B-3');
SELECT oms.allocate_backorders('TEE') AS allocated;

--
-- Only locations the order's channel may use: the app ships from Hamburg only.
--
SELECT pg_temp.place('APP', 'A-1', '[{"sku": "CAP", "qty": 2}]') > 0 AS placed;
SELECT oms.receive_stock('CAP', 'BER', 5) AS on_hand;
SELECT oms.allocate_backorders() AS allocated;
SELECT * FROM pg_temp.summary('A-1');
SELECT oms.receive_stock('CAP', 'HAM', 1) AS on_hand;
SELECT * FROM pg_temp.summary('A-1');
-- An inactive location gives nothing.
UPDATE oms.location SET active = false WHERE code = 'HAM';
SELECT oms.receive_stock('CAP', 'HAM', 1) AS on_hand;
SELECT oms.allocate_backorders('CAP') AS allocated;
UPDATE oms.location SET active = true WHERE code = 'HAM';
SELECT oms.allocate_backorders('CAP') AS allocated;
SELECT * FROM pg_temp.summary('A-1');

-- Nor a location the order excluded; a pickup order only its store.
SELECT pg_temp.place('WEB', 'X-1', '[{"sku": "BAG", "qty": 1}]', '{"exclude_locations": ["BER"]}') > 0 AS placed;
SELECT oms.receive_stock('BAG', 'BER', 1) AS on_hand;
SELECT * FROM pg_temp.summary('X-1');
SELECT pg_temp.place('WEB', 'P-1', '[{"sku": "BAG", "qty": 1}]', '{"pickup_location": "MUC"}') > 0 AS placed;
SELECT oms.receive_stock('BAG', 'HAM', 1) AS on_hand;
SELECT * FROM pg_temp.summary('X-1');
SELECT * FROM pg_temp.summary('P-1');
SELECT oms.receive_stock('BAG', 'MUC', 1) AS on_hand;
SELECT * FROM pg_temp.summary('P-1');

--
-- Safety stock: the location's and the channel's are never given away.
--
SELECT pg_temp.place('MKT', 'M-1', '[{"sku": "MUG", "qty": 3}]') > 0 AS placed;
SELECT oms.set_safety_stock('MUG', 'HAM', 1);
SELECT oms.receive_stock('MUG', 'HAM', 3) AS on_hand;
-- 3 on hand, 1 kept back at HAM and 2 more from the marketplace: nothing to give.
SELECT * FROM pg_temp.summary('M-1');
SELECT oms.receive_stock('MUG', 'HAM', 2) AS on_hand;
SELECT * FROM pg_temp.summary('M-1');
SELECT oms.available('MUG', 'MKT') AS mkt_available, oms.available('MUG') AS any_available;

--
-- A cart hold keeps its units from a backorder until it is released or expires.
--
SELECT oms.receive_stock('JAR', 'BER', 2) AS on_hand;
SELECT oms.hold_stock('cart-1', 'WEB', '[{"sku": "JAR", "qty": 2}]', '1 hour') IS NOT NULL AS held;
SELECT pg_temp.place('WEB', 'H-1', '[{"sku": "JAR", "qty": 2}]') > 0 AS placed;
SELECT oms.allocate_backorders('JAR') AS allocated;
-- A receipt gives only the unit it brings.
SELECT oms.receive_stock('JAR', 'BER', 1) AS on_hand;
SELECT * FROM pg_temp.summary('H-1');
-- Expired (not yet cleaned up), the hold keeps nothing.
UPDATE oms.hold_line SET expires_at = now() - interval '1 second' WHERE hold_ref = 'cart-1';
SELECT oms.allocate_backorders('JAR') AS allocated;
SELECT * FROM pg_temp.summary('H-1');
SELECT sku, location, on_hand, reserved, held, available FROM oms.v_stock WHERE sku = 'JAR';

--
-- Where a filled unit ships from: where routing would send the order now, by
-- its ship_to (Hamburg is nearer to Kiel, Berlin to Dresden).
--
SELECT oms.receive_stock('CUP', 'BER', 1), oms.receive_stock('CUP', 'HAM', 1);
SELECT pg_temp.place('WEB', 'G-1', '[{"sku": "CUP", "qty": 2}]') > 0 AS placed;
SELECT pg_temp.place('WEB', 'N-1', '[{"sku": "CUP", "qty": 1}]', '{}',
                     '{"city": "Kiel", "latitude": 54.32, "longitude": 10.13}') > 0 AS placed;
SELECT pg_temp.place('WEB', 'N-2', '[{"sku": "CUP", "qty": 1}]', '{}',
                     '{"city": "Dresden", "latitude": 51.05, "longitude": 13.74}') > 0 AS placed;
SELECT oms.cancel_order(order_id, 'changed mind') AS cancelled FROM oms.orders WHERE external_ref = 'G-1';
SELECT oms.allocate_backorders('CUP') AS allocated;
SELECT * FROM pg_temp.summary('N-1');
SELECT * FROM pg_temp.summary('N-2');

--
-- An order that may not split stays where it ships from.
--
SELECT oms.receive_stock('PEN', 'MUC', 1) AS on_hand;
SELECT pg_temp.place('WEB', 'S-1', '[{"sku": "PEN", "qty": 3}]', '{"allow_split": false}') > 0 AS placed;
SELECT * FROM pg_temp.summary('S-1');
SELECT oms.receive_stock('PEN', 'HAM', 5) AS on_hand;
SELECT oms.allocate_backorders('PEN') AS allocated;
SELECT * FROM pg_temp.summary('S-1');
SELECT oms.receive_stock('PEN', 'MUC', 2) AS on_hand;
SELECT * FROM pg_temp.summary('S-1');

--
-- An order on hold waits; a partly shipped order fills and stays partially_shipped.
--
SELECT pg_temp.place('WEB', 'O-1', '[{"sku": "HAT", "qty": 1}]') > 0 AS placed;
SELECT oms.hold_order(order_id) FROM oms.orders WHERE external_ref = 'O-1';
SELECT oms.receive_stock('HAT', 'BER', 1) AS on_hand;
SELECT * FROM pg_temp.summary('O-1');
SELECT oms.release_order(order_id) FROM oms.orders WHERE external_ref = 'O-1';
SELECT oms.allocate_backorders('HAT') AS allocated;
SELECT * FROM pg_temp.summary('O-1');

SELECT oms.receive_stock('SOX', 'BER', 1) AS on_hand;
SELECT pg_temp.place('WEB', 'O-2', '[{"sku": "SOX", "qty": 3}]') > 0 AS placed;
SELECT oms.ship(oms.create_shipment(order_id, 'BER'), 'DHL') FROM oms.orders WHERE external_ref = 'O-2';
SELECT * FROM pg_temp.summary('O-2');
SELECT oms.receive_stock('SOX', 'BER', 1) AS on_hand;
SELECT * FROM pg_temp.summary('O-2');
SELECT entity, change FROM pg_temp.history('O-2') WHERE entity <> 'shipment';

-- Unknown SKUs are an error; NULL means every SKU, and none has anything to give.
SELECT oms.allocate_backorders('NOPE');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.allocate_backorders(NULL) AS allocated;

-- Every invariant holds.
SELECT * FROM oms.check_invariants();
