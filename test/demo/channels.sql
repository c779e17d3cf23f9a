--
-- test/demo/channels.sql — orders as channels send them: a Shopify webhook,
-- an Amazon order with its items, a store till's sale, each through its
-- channel's connector; a webhook sent twice; then a backorder that fills
-- itself when stock arrives.
--
\pset footer off

\echo
\echo '==> connectors: each channel''s transform, and the marketplace''s own SKUs'
INSERT INTO oms.channel_connector (channel_id, transform, options, location_map)
SELECT c.id, t.transform::regprocedure, t.options::jsonb, t.location_map::jsonb
  FROM oms.channel c
  JOIN (VALUES ('WEB', 'oms.connector_shopify(jsonb, text)', '{}', '{}'),
               ('MKT-AMZ', 'oms.connector_amazon(jsonb, text)', '{"allow_backorder": true}', '{}'),
               ('POS', 'oms.connector_pos(jsonb, text)', '{}', '{}')) t(channel, transform, options, location_map)
    ON t.channel = c.code;
INSERT INTO oms.channel_sku (channel_id, external_sku, sku_id)
SELECT c.id, 'AMZ-' || s.code, s.id FROM oms.channel c, oms.sku s WHERE c.code = 'MKT-AMZ' AND s.code LIKE 'HOODIE-%';
SELECT c.code AS channel, k.transform, k.options FROM oms.channel_connector k JOIN oms.channel c ON c.id = k.channel_id ORDER BY 1;

\echo '==> a Shopify orders/create webhook: unit prices, a discount allocated to a line, taxes, shipping'
SELECT * FROM oms.ingest('WEB', $${"id": 5550001, "name": "#1001", "updated_at": "2026-12-01T10:00:00+01:00",
    "currency": "EUR", "email": "ada@example.com", "customer": {"id": 207119551}, "taxes_included": true,
    "total_price": "83.99",
    "line_items": [{"id": 1, "sku": "TEE-BLK-M", "quantity": 2, "price": "19.99",
                    "discount_allocations": [{"amount": "5.00"}], "tax_lines": [{"price": "5.58"}]},
                   {"id": 2, "sku": "BEANIE-GRY", "quantity": 1, "price": "22.00", "tax_lines": [{"price": "3.51"}]},
                   {"id": 3, "sku": "BEANIE-GRY", "quantity": 1, "price": "22.00", "tax_lines": [{"price": "3.51"}],
                    "properties": [{"name": "gift", "value": "yes"}]}],
    "shipping_lines": [{"price": "5.01", "tax_lines": [{"price": "0.80"}]}],
    "shipping_address": {"name": "Ada Lovelace", "address1": "Jungfernstieg 1", "city": "Hamburg", "zip": "20354",
                         "country_code": "DE", "latitude": 53.553, "longitude": 9.9925}}$$,
    'shopify-evt-9001');
\echo '    the same webhook again (Shopify delivers at least once): a duplicate, nothing placed twice'
SELECT * FROM oms.ingest('WEB', '{}', 'shopify-evt-9001');

\echo '==> an Amazon order: ItemPrice is the price of all units (41.00 for 3 pairs of socks is no whole cent each)'
SELECT * FROM oms.ingest('MKT-AMZ', $${"AmazonOrderId": "302-5550002-1", "PurchaseDate": "2026-12-01T09:00:00Z",
    "LastUpdateDate": "2026-12-01T09:05:00Z", "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN",
    "OrderTotal": {"CurrencyCode": "EUR", "Amount": "104.90"},
    "ShippingAddress": {"Name": "Grace Hopper", "AddressLine1": "Unter den Linden 5", "City": "Berlin",
                        "PostalCode": "10117", "CountryCode": "DE"},
    "OrderItems": [{"OrderItemId": "A1", "SellerSKU": "AMZ-HOODIE-GRY-M", "QuantityOrdered": 1,
                    "ItemPrice": {"Amount": "59.00"}, "ShippingPrice": {"Amount": "4.90"}},
                   {"OrderItemId": "A2", "SellerSKU": "SOCKS-M", "QuantityOrdered": 3, "ItemPrice": {"Amount": "41.00"}}]}$$,
    'amazon-302-5550002-1');

\echo '==> a till sale in Munich: paid and handed over, so the units leave the store at once'
SELECT * FROM oms.ingest('POS', $${"sale_id": "MUC-T2-0042", "store": "MUC-STORE", "sold_at": "2026-12-01T15:04:00+01:00",
    "currency": "EUR", "items": [{"sku": "HOODIE-GRY-M", "qty": 1, "price": 59.00, "tax": 9.42}], "total": 59.00}$$,
    'pos-MUC-T2-0042');

\echo '==> the three orders, money per line'
SELECT o.order_id, c.code AS channel, o.external_ref, o.status, o.fulfilment, l.line_no, s.code AS sku, l.qty,
       l.unit_price, l.discount_amount AS discount, l.tax_amount AS tax, l.external_line_id, o.total_amount AS order_total
  FROM oms.inbound_message m
  JOIN oms.orders o ON o.order_id = m.order_id
  JOIN oms.channel c ON c.id = o.channel_id
  JOIN oms.order_lines l ON l.order_id = o.order_id
  JOIN oms.sku s ON s.id = l.sku_id
 WHERE m.outcome = 'applied'
 ORDER BY o.order_id, l.line_no;

\echo '==> a message oms cannot apply yet is kept, held, and replayed once the mapping exists'
SELECT * FROM oms.ingest('MKT-AMZ', $${"AmazonOrderId": "302-5550003-1", "LastUpdateDate": "2026-12-01T11:00:00Z",
    "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN", "OrderTotal": {"CurrencyCode": "EUR", "Amount": "24.00"},
    "OrderItems": [{"OrderItemId": "B1", "SellerSKU": "AMZ-CAP-OLV", "QuantityOrdered": 1, "ItemPrice": {"Amount": "24.00"}}]}$$,
    'amazon-302-5550003-1');
INSERT INTO oms.channel_sku (channel_id, external_sku, sku_id)
SELECT c.id, 'AMZ-CAP-OLV', s.id FROM oms.channel c, oms.sku s WHERE c.code = 'MKT-AMZ' AND s.code = 'CAP-OLV';
SELECT source_event_id, outcome, order_id, attempts FROM oms.replay_inbound('MKT-AMZ');

\echo '==> the inbound log'
SELECT c.code AS channel, m.source_event_id, m.topic, m.outcome, m.order_id, m.error_sqlstate, m.attempts, m.repeats
  FROM oms.inbound_message m JOIN oms.channel c ON c.id = m.channel_id ORDER BY m.received_at;

\echo '==> a backorder fills itself: a customer collects scarves in Munich, two more than the store has ...'
SELECT oms.place_order('WEB', 'WEB-10777',
                       jsonb_build_array(jsonb_build_object(
                           'sku', 'SCARF-RED', 'unit_price', 45.00,
                           'qty', coalesce((SELECT available FROM oms.v_stock WHERE sku = 'SCARF-RED' AND location = 'MUC-STORE'), 0) + 2)),
                       NULL, '{"pickup_location": "MUC-STORE", "allow_backorder": true}') AS waiting \gset
SELECT o.status, l.qty, l.qty_reserved, l.qty_backordered
  FROM oms.orders o JOIN oms.order_lines l ON l.order_id = o.order_id WHERE o.order_id = :waiting;
\echo '    ... a delivery to Berlin changes nothing for it; one to the store fills it, in the receipt''s transaction'
SELECT oms.receive_stock('SCARF-RED', 'BER-DC', 2, 'purchase order 4711') AS berlin_on_hand;
SELECT oms.receive_stock('SCARF-RED', 'MUC-STORE', 2, 'store transfer 12') AS munich_on_hand;
SELECT o.status, l.qty, l.qty_reserved, l.qty_backordered,
       (SELECT string_agg(format('%s x%s', loc.code, r.qty), ', ' ORDER BY r.id)
          FROM oms.reservation r JOIN oms.location loc ON loc.id = r.location_id
         WHERE r.order_id = o.order_id AND r.state = 'held') AS held_at
  FROM oms.orders o JOIN oms.order_lines l ON l.order_id = o.order_id WHERE o.order_id = :waiting;
SELECT e.entity, coalesce(e.from_status, '(new)') || ' -> ' || e.to_status AS change
  FROM oms.order_event e WHERE e.order_id = :waiting ORDER BY e.id;
\echo '    units a cancel or an expired cart hold frees go to backorders through the background worker'
\echo '    within oms.allocate_backorders_interval (1 s), or at once with SELECT oms.allocate_backorders()'
