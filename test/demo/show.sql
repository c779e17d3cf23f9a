--
-- test/demo/show.sql — what a newcomer should see once the sample is loaded.
--
\pset footer off

\echo
\echo '==> channels, and the locations each may sell from'
SELECT c.code AS channel, c.kind, c.safety_stock AS kept_back,
       coalesce(string_agg(l.code || coalesce(' (keeps ' || cl.safety_stock || ')', ''), ', ' ORDER BY l.code),
                'every active location') AS locations
  FROM oms.channel c
  LEFT JOIN oms.channel_location cl ON cl.channel_id = c.id
  LEFT JOIN oms.location l ON l.id = cl.location_id
 GROUP BY c.id ORDER BY c.id;

\echo '==> locations, with their shipping cost (fixed + per km) and daily capacity'
SELECT code, kind, latitude, longitude, priority, can_ship, can_pickup,
       coalesce(shipping_cost_fixed || ' + ' || shipping_cost_per_km || '/km', 'by distance') AS shipping_cost,
       coalesce(daily_capacity::text, 'unlimited') AS daily_capacity
  FROM oms.location ORDER BY priority DESC, code;

\echo '==> stock per location (oms.v_stock)'
SELECT location, count(*) AS skus, sum(on_hand) AS on_hand, sum(reserved) AS reserved,
       sum(available) AS available
  FROM oms.v_stock GROUP BY location ORDER BY location;

\echo '==> one SKU everywhere, and what each channel may promise of it (oms.available)'
SELECT * FROM oms.v_stock WHERE sku = 'JACKET-BLK-M' ORDER BY location;
SELECT oms.available('JACKET-BLK-M') AS any_channel,
       oms.available('JACKET-BLK-M', 'WEB') AS web,
       oms.available('JACKET-BLK-M', 'POS') AS pos,
       oms.available('JACKET-BLK-M', 'MKT-AMZ') AS marketplace;

\echo '==> the ledger: every change of on_hand is a row (latest three)'
SELECT m.id, s.code AS sku, l.code AS location, m.kind, m.quantity, m.on_hand_after, m.reason, m.created_by
  FROM oms.stock_movement m
  JOIN oms.sku s ON s.id = m.sku_id
  JOIN oms.location l ON l.id = m.location_id
 ORDER BY m.id DESC LIMIT 3;

\echo '==> on_hand cannot be written around the ledger'
\set ON_ERROR_STOP 0
\set VERBOSITY default
UPDATE oms.stock SET on_hand = on_hand + 100;
\set ON_ERROR_STOP 1

\echo '==> routing: where would a Leipzig order ship from, and why? (oms.route, oms.route_explain)'
SELECT * FROM oms.route('[{"sku": "JACKET-BLK-M", "qty": 1}, {"sku": "TEE-WHT-L", "qty": 2}, {"sku": "BOTTLE-750", "qty": 1}]',
                        '{"latitude": 51.34, "longitude": 12.37}', 'WEB');
SELECT e->>'strategy' AS strategy, e->>'search' AS search, e->'objective' AS objective
  FROM oms.route_explain('[{"sku": "JACKET-BLK-M", "qty": 1}, {"sku": "TEE-WHT-L", "qty": 2}, {"sku": "BOTTLE-750", "qty": 1}]',
                         '{"latitude": 51.34, "longitude": 12.37}', 'WEB') e;
SELECT c->>'location' AS location, c->>'status' AS status, c->>'reason' AS reason,
       c->>'distance_km' AS distance_km, c->>'cost' AS cost, c->'available' AS available
  FROM oms.route_explain('[{"sku": "JACKET-BLK-M", "qty": 1}, {"sku": "TEE-WHT-L", "qty": 2}, {"sku": "BOTTLE-750", "qty": 1}]',
                         '{"latitude": 51.34, "longitude": 12.37}', 'WEB') e,
       jsonb_array_elements(e->'candidates') c;
\echo '    a Vienna customer: by cost the Berlin warehouse wins (4.50 + 0.2 cents/km) over the'
\echo '    hand-packing Vienna store (9.00); nearest_first ignores cost and picks the store'
SELECT s.strategy, r.location, r.distance_km, r.cost
  FROM unnest(ARRAY['fewest_shipments', 'nearest_first']) AS s(strategy),
       oms.route('[{"sku": "TEE-WHT-L", "qty": 1}]', '{"latitude": 48.20, "longitude": 16.37}', 'WEB',
                 jsonb_build_object('strategy', s.strategy)) r;

\echo '==> orders: place_order routes each order and reserves every line in one step'
\echo '    a Hamburg customer buys two things; the Hamburg warehouse has both, so one parcel'
SELECT oms.place_order('WEB', 'WEB-10001',
    '[{"sku": "HOODIE-NVY-M", "qty": 1, "unit_price": 59.00}, {"sku": "BEANIE-GRY", "qty": 2, "unit_price": 22.00}]',
    '{"name": "Ada Lovelace", "address1": "Jungfernstieg 1", "city": "Hamburg", "postal_code": "20354",
      "country": "DE", "latitude": 53.5530, "longitude": 9.9925}',
    '{"customer": {"email": "ada@example.com"}}') AS order_id \gset
\echo '    the web shop retries after a timeout: same reference, same order, nothing reserved twice'
SELECT oms.place_order('WEB', 'WEB-10001',
    '[{"sku": "HOODIE-NVY-M", "qty": 1, "unit_price": 59.00}, {"sku": "BEANIE-GRY", "qty": 2, "unit_price": 22.00}]',
    '{"name": "Ada Lovelace", "address1": "Jungfernstieg 1", "city": "Hamburg", "postal_code": "20354",
      "country": "DE", "latitude": 53.5530, "longitude": 9.9925}',
    '{"customer": {"email": "ada@example.com"}}') = :order_id AS same_order;
SELECT o.order_id, o.external_ref, o.status, o.units, o.total_amount, s.code AS sku, loc.code AS ships_from, r.qty
  FROM oms.orders o
  JOIN oms.reservation r ON r.order_id = o.order_id
  JOIN oms.sku s ON s.id = r.sku_id
  JOIN oms.location loc ON loc.id = r.location_id
 WHERE o.order_id = :order_id ORDER BY s.code;
\echo '    why it ships from there stays with the order (oms.orders.routing)'
SELECT routing->'objective' AS objective FROM oms.orders WHERE order_id = :order_id;

\echo '==> a B2B order larger than any one location: split over the fewest locations'
SELECT oms.place_order('ERP', 'PO-7781', '[{"sku": "JACKET-OLV-L", "qty": 150, "unit_price": 140.00}]',
                       NULL, '{"currency": "EUR"}') AS b2b \gset
SELECT loc.code AS ships_from, r.qty FROM oms.reservation r JOIN oms.location loc ON loc.id = r.location_id
 WHERE r.order_id = :b2b ORDER BY r.qty DESC;

\echo '==> more than there is: an error that names the SKU ...'
\set ON_ERROR_STOP 0
SELECT oms.place_order('APP', 'APP-501', '[{"sku": "BOTTLE-750", "qty": 1000}]');
\set ON_ERROR_STOP 1
\echo '    ... or, if the customer may wait, a backorder for the rest'
SELECT oms.place_order('APP', 'APP-501', '[{"sku": "BOTTLE-750", "qty": 1000}]', NULL,
                       '{"allow_backorder": true}') AS backorder \gset
SELECT o.status, l.qty, l.qty_reserved, l.qty_backordered FROM oms.orders o JOIN oms.order_lines l USING (order_id)
 WHERE order_id = :backorder;

\echo '==> a checkout holds its units for 15 minutes, then becomes the order'
SELECT oms.hold_stock('checkout-42', 'WEB', '[{"sku": "SNEAKER-BLK-43", "qty": 1}]') AS hold_expires_at;
SELECT sku, location, held, available FROM oms.v_stock WHERE sku = 'SNEAKER-BLK-43' AND held > 0;
SELECT oms.place_order('WEB', 'WEB-10002', '[{"sku": "SNEAKER-BLK-43", "qty": 1, "unit_price": 74.50}]',
                       '{"city": "Berlin", "latitude": 52.52, "longitude": 13.40}', '{"hold": "checkout-42"}') AS held_order;

\echo '==> click and collect in Munich'
SELECT oms.place_order('WEB', 'WEB-10003', '[{"sku": "BACKPACK-GRY", "qty": 1, "unit_price": 99.00}]',
                       NULL, '{"pickup_location": "MUC-STORE"}') AS pickup;

\echo '==> the customer cancels the backorder: reservations released exactly once'
SELECT oms.cancel_order(:backorder, 'customer cancelled') AS units_cancelled;
SELECT external_ref, status, units, total_amount FROM oms.orders ORDER BY order_id;
