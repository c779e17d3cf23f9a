--
-- Routing: the objective (units, then the strategy's terms, then codes), its
-- constraints (channel, capabilities, capacity, exclusions, pickup, caps),
-- the explanation, the decision kept with each order, and every error.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

-- Berlin is the ship-to point throughout.  POT and KW are two small stores
-- near it, HAM a big warehouse further away, MUC and VIE far away.
INSERT INTO oms.channel (code, name, kind) VALUES
    ('WEB', 'Web shop', 'web'), ('POS', 'Store tills', 'pos'), ('MKT', 'Marketplace', 'marketplace');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, can_ship, can_pickup) VALUES
    ('POT', 'Potsdam store', 'store', 52.39, 13.06, 0, true, true),
    ('KW', 'Koenigs Wusterhausen store', 'store', 52.30, 13.63, 0, true, false),
    ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 0, true, false),
    ('MUC', 'Munich', 'warehouse', 48.14, 11.58, 0, true, false),
    ('VIE', 'Vienna', 'warehouse', 48.21, 16.37, 0, true, false),
    ('CGN', 'Cologne store', 'store', 50.94, 6.96, 0, false, true);
INSERT INTO oms.channel_location (channel_id, location_id)
SELECT c.id, l.id FROM oms.channel c, oms.location l WHERE c.code = 'POS' AND l.kind = 'store';
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('BAG', 'Bag');
SELECT count(*) FROM (
    SELECT oms.receive_stock(s, l, q) FROM (VALUES
        ('TEE', 'POT', 2), ('CAP', 'KW', 2), ('TEE', 'HAM', 10), ('CAP', 'HAM', 10),
        ('TEE', 'MUC', 10), ('CAP', 'MUC', 10), ('BAG', 'VIE', 1), ('TEE', 'CGN', 5)) AS v(s, l, q)) r;

-- The plan in one line: location, its lines, and its shipment number.
CREATE FUNCTION pg_temp.plan(lines jsonb, options jsonb DEFAULT '{}', channel text DEFAULT NULL,
                             ship_to jsonb DEFAULT '{"latitude": 52.52, "longitude": 13.405}')
RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s:%s %s x%s', coalesce(shipment::text, '-'), coalesce(location, 'backorder'), sku, qty),
                      ', ' ORDER BY shipment NULLS LAST, line_no)
      FROM oms.route(lines, ship_to, channel, options)
$$;

-- One location with everything beats two closer ones.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 2}]');
-- Nearest wins among equals: HAM and MUC both hold everything; HAM is nearer.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}, {"sku": "CAP", "qty": 5}]');
-- ... and from Munich, Munich is.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}]', '{}', NULL, '{"latitude": 48.1, "longitude": 11.6}');
-- A cost model beats distance once set: MUC ships for a flat 2, HAM for 5 + 0.01/km.
UPDATE oms.location SET shipping_cost_fixed = 2, shipping_cost_per_km = 0 WHERE code = 'MUC';
UPDATE oms.location SET shipping_cost_fixed = 5, shipping_cost_per_km = 0.01 WHERE code = 'HAM';
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}, {"sku": "CAP", "qty": 5}]');
SELECT shipment, location, distance_km::numeric(10, 3), cost
  FROM oms.route('[{"sku": "TEE", "qty": 5}]', '{"latitude": 52.52, "longitude": 13.405}', NULL, '{"exclude_locations": ["MUC"]}');
-- nearest_first ignores the cost model.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}, {"sku": "CAP", "qty": 5}]', '{"strategy": "nearest_first"}');
-- Priority breaks ties: without ship_to coordinates every distance is 0.
UPDATE oms.location SET shipping_cost_fixed = NULL, shipping_cost_per_km = NULL;
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}]', '{}', NULL, '{"city": "Somewhere"}');
UPDATE oms.location SET priority = 5 WHERE code = 'MUC';
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}]', '{}', NULL, '{"city": "Somewhere"}');
-- priority_first takes the higher priority before distance.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}]', '{"strategy": "priority_first"}');
-- cheapest ranks cost before shipments: two nearby stores beat one far warehouse.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 2}]', '{"strategy": "cheapest"}');
-- balance_stock takes the location with more of the order's SKUs left.
SELECT oms.receive_stock('TEE', 'MUC', 5);
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 1}]', '{"strategy": "balance_stock"}');
-- The last resort breaks ties: the smaller code (byte order).
UPDATE oms.location SET priority = 0;
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 1}]', '{"exclude_locations": ["POT"]}', NULL, '{"city": "Somewhere"}');

-- Splits: the fewest shipments, each line filled from them in shipment order.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 12}, {"sku": "BAG", "qty": 1}]');
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 12}, {"sku": "BAG", "qty": 1}]', '{"max_shipments": 2, "allow_backorder": true}');
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 12}, {"sku": "BAG", "qty": 1}]', '{"allow_split": false, "allow_backorder": true}');
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 12}, {"sku": "BAG", "qty": 1}]', '{"max_shipments": 1}');
\echo :LAST_ERROR_SQLSTATE
-- Partial stock: backordered with allow_backorder, else an error naming the SKU.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 30}, {"sku": "BAG", "qty": 2}]', '{"allow_backorder": true}');
SELECT pg_temp.plan('[{"sku": "BAG", "qty": 2}]');
\echo :LAST_ERROR_SQLSTATE

-- Channels: POS may use the stores only; inactive and non-shipping locations never serve.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}]', '{}', 'POS');
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 3}]', '{}', 'POS');
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.location SET active = false WHERE code = 'POT';
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}]');
UPDATE oms.location SET active = true WHERE code = 'POT';
-- Pickup: collected whole from that store, or not at all.
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}]', '{"pickup_location": "CGN"}');
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 1}]', '{"pickup_location": "POT"}');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}]', '{"pickup_location": "KW"}');
\echo :LAST_ERROR_SQLSTATE

-- A channel's policy: strategy and a cap that an order's option can only lower.
INSERT INTO oms.routing_policy (channel_id, strategy, max_shipments)
SELECT id, 'cheapest', 1 FROM oms.channel WHERE code = 'MKT';
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 2}]', '{}', 'MKT');
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 12}]', '{"max_shipments": 3}', 'MKT');
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.routing_policy SET max_shipments = NULL;
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 2}]', '{}', 'MKT');
INSERT INTO oms.routing_policy (channel_id, strategy) SELECT id, 'fastest' FROM oms.channel WHERE code = 'WEB';
\echo :LAST_ERROR_SQLSTATE

-- Daily capacity: orders routed today count; a full location is skipped.
UPDATE oms.location SET daily_capacity = 1 WHERE code = 'HAM';
SELECT oms.place_order('WEB', 'cap-1', '[{"sku": "TEE", "qty": 5}, {"sku": "CAP", "qty": 5}]',
                       '{"latitude": 52.52, "longitude": 13.405}') AS order_id \gset
SELECT l.code, ll.orders FROM oms.location_load ll JOIN oms.location l ON l.id = ll.location_id;
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}, {"sku": "CAP", "qty": 5}]');
-- Why each location was chosen or not, for the web shop and for the tills.
SELECT c->>'location' AS location, c->>'status' AS status, c->>'reason' AS reason, c->'available' AS available
  FROM jsonb_array_elements(oms.route_explain('[{"sku": "TEE", "qty": 5}, {"sku": "CAP", "qty": 5}]',
                                              '{"latitude": 52.52, "longitude": 13.405}', 'WEB')->'candidates') c;
SELECT c->>'location' AS location, c->>'status' AS status, c->>'reason' AS reason
  FROM jsonb_array_elements(oms.route_explain('[{"sku": "TEE", "qty": 1}]', NULL, 'POS',
                                              '{"exclude_locations": ["KW"]}')->'candidates') c;
UPDATE oms.location SET daily_capacity = 0 WHERE code = 'MUC';
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 5}, {"sku": "CAP", "qty": 5}]');
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.location SET daily_capacity = NULL;

-- The decision kept with the order: what route_explain says, without candidates.
SELECT routing::jsonb - 'nodes' FROM oms.orders WHERE order_id = :order_id;
SELECT jsonb_pretty(oms.route_explain('[{"sku": "TEE", "qty": 9}, {"sku": "BAG", "qty": 1}]',
                                      '{"latitude": 52.52, "longitude": 13.405}', 'WEB',
                                      '{"exclude_locations": ["MUC"], "allow_backorder": true}') - 'nodes');

-- place_order reserves what route previewed.
SELECT string_agg(format('%s %s x%s', location, sku, qty), ', ' ORDER BY location, sku) AS preview
  FROM oms.route('[{"sku": "TEE", "qty": 17}, {"sku": "CAP", "qty": 1}]', '{"latitude": 50, "longitude": 10}', 'WEB');
SELECT oms.place_order('WEB', 'agree-1', '[{"sku": "TEE", "qty": 17}, {"sku": "CAP", "qty": 1}]',
                       '{"latitude": 50, "longitude": 10}') AS order_id \gset
SELECT string_agg(format('%s %s x%s', l.code, s.code, r.qty), ', ' ORDER BY l.code, s.code) AS reserved
  FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id JOIN oms.sku s ON s.id = r.sku_id
 WHERE r.order_id = :order_id;

-- A bounded search: the best plan found within oms.route_search_limit nodes.
SET oms.route_search_limit = 1;
SELECT r->>'search' AS search, r->>'nodes' AS nodes, r->'objective'->>'shipments' AS shipments
  FROM oms.route_explain('[{"sku": "TEE", "qty": 9}, {"sku": "BAG", "qty": 1}]', '{"latitude": 52.52, "longitude": 13.405}',
                         NULL, '{"allow_backorder": true}') r;
RESET oms.route_search_limit;
SELECT r->>'search' AS search, r->'objective'->>'shipments' AS shipments
  FROM oms.route_explain('[{"sku": "TEE", "qty": 9}, {"sku": "BAG", "qty": 1}]', '{"latitude": 52.52, "longitude": 13.405}',
                         NULL, '{"allow_backorder": true}') r;

-- Errors: each with its SQLSTATE; route writes nothing.
SELECT oms.route(NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.route('[{"sku": "NOPE", "qty": 1}]', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.route('[{"sku": "TEE", "qty": 1}]', NULL, 'NOPE');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.route('[{"sku": "TEE", "qty": 1}]', NULL, NULL, '{"strategy": "fastest"}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.route('[{"sku": "TEE", "qty": 1}]', NULL, NULL, '{"strategy": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.route('[{"sku": "TEE", "qty": 1}]', '{"latitude": 91, "longitude": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.route_explain('[{"sku": "TEE", "qty": 0}]', NULL);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
UPDATE oms.location SET shipping_cost_fixed = 1 WHERE code = 'HAM';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.location SET shipping_cost_fixed = -1, shipping_cost_per_km = 0 WHERE code = 'HAM';
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS orders FROM oms.orders;
SELECT * FROM oms.check_invariants();

-- Routing finds the columns of oms.stock by name: an upgrade that moves one
-- (here safety_stock, dropped and added again at the end) changes nothing.
BEGIN;
SELECT oms.receive_stock('TEE', 'POT', 2) > 0 AS received;
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}]') AS from_potsdam;
SELECT oms.set_safety_stock('TEE', 'POT', on_hand) FROM oms.stock
 WHERE sku_id = (SELECT id FROM oms.sku WHERE code = 'TEE') AND location_id = (SELECT id FROM oms.location WHERE code = 'POT');
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}]') AS potsdam_kept_back;
CREATE TEMP TABLE kept AS SELECT sku_id, location_id, safety_stock FROM oms.stock;
ALTER EXTENSION oms DROP VIEW oms.v_stock;
ALTER EXTENSION oms DROP VIEW oms_report.stock_health;
ALTER EXTENSION oms DROP VIEW oms.stock_level;
DROP VIEW oms.v_stock, oms_report.stock_health, oms.stock_level;
ALTER TABLE oms.stock DROP COLUMN safety_stock;
ALTER TABLE oms.stock ADD COLUMN safety_stock oms.units NOT NULL DEFAULT 0;
UPDATE oms.stock s SET safety_stock = k.safety_stock
  FROM kept k WHERE k.sku_id = s.sku_id AND k.location_id = s.location_id;
SELECT pg_temp.plan('[{"sku": "TEE", "qty": 2}]') AS safety_stock_moved;
SELECT oms.place_order('WEB', 'MOVED-1', '[{"sku": "TEE", "qty": 2}]') AS moved \gset
SELECT l.code AS location, r.qty FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = :moved;
SELECT * FROM oms.check_invariants();
ROLLBACK;
