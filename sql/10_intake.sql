--
-- Channel intake: oms.ingest through connectors, the inbound log, duplicates,
-- stale updates, held and failed messages and their replay, cancellations and
-- changes of address; the shipped connectors' transforms.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never
\set VERBOSITY terse
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web'), ('SHOP', 'Shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap');
SELECT oms.receive_stock('TEE', 'BER', 10), oms.receive_stock('CAP', 'BER', 2);
CREATE FUNCTION msgs() RETURNS TABLE (event text, topic text, outcome text, ref text, order_id bigint,
                                      sqlstate text, attempts integer, repeats integer)
    LANGUAGE sql AS $$
    SELECT source_event_id, topic, outcome, external_ref, order_id, error_sqlstate, attempts, repeats
      FROM oms.inbound_message ORDER BY received_at, source_event_id $$;

-- Without a connector a channel sends the canonical message itself.
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "updated_at": "2026-12-01T10:00:00Z",
    "lines": [{"sku": "TEE", "qty": 2, "unit_price": 19.99}], "ship_to": {"city": "Berlin"}}', 'e-1');
-- The same event id again is a duplicate and names the first's order.
SELECT outcome, order_id, error_sqlstate FROM oms.ingest('WEB', '{"anything": "else"}', 'e-1');
-- The same order under another event id, unchanged: a duplicate, nothing placed twice.
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "updated_at": "2026-12-01T10:00:00Z",
    "lines": [{"sku": "TEE", "qty": 2, "unit_price": 19.99}], "ship_to": {"city": "Berlin"}}', 'e-2');
-- A newer update with another address changes it; an older one is stale.
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "updated_at": "2026-12-01T12:00:00Z",
    "lines": [{"sku": "TEE", "qty": 2, "unit_price": 19.99}], "ship_to": {"city": "Hamburg"}}', 'e-3');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "updated_at": "2026-12-01T11:00:00Z",
    "lines": [{"sku": "TEE", "qty": 2, "unit_price": 19.99}], "ship_to": {"city": "Munich"}}', 'e-4');
SELECT ship_to->>'city' AS city, units FROM oms.orders WHERE external_ref = 'W-1';
-- Changed lines wait for an operator.
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "updated_at": "2026-12-01T13:00:00Z",
    "lines": [{"sku": "TEE", "qty": 3, "unit_price": 19.99}]}', 'e-5');

-- What cannot be applied is kept: an unknown SKU and no stock are held, a
-- malformed order failed; a cancellation before its order is held too.
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-2", "lines": [{"sku": "SHOP-TEE-9", "qty": 1}]}', 'e-6');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-2", "reason": "fraud"}', 'e-7', 'cancel');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-3", "lines": [{"sku": "CAP", "qty": 5}]}', 'e-8');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-4", "lines": "two caps"}', 'e-9');
SELECT * FROM oms.ingest('WEB', '{"no_ref": true}', 'e-10');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-5", "updated_at": "yesterday-ish"}', 'e-11');
SELECT * FROM msgs();

-- Mended: the SKU mapped, stock received.  Replay applies the held and
-- failed messages oldest first, so the order comes before its cancellation;
-- the malformed ones stay failed.
INSERT INTO oms.channel_sku (channel_id, external_sku, sku_id)
SELECT c.id, 'SHOP-TEE-9', s.id FROM oms.channel c, oms.sku s WHERE c.code = 'WEB' AND s.code = 'TEE';
SELECT oms.receive_stock('CAP', 'BER', 3);
SELECT source_event_id, outcome, order_id, error_sqlstate, attempts FROM oms.replay_inbound('WEB');
SELECT external_ref, status, units FROM oms.orders ORDER BY order_id;
-- One message alone, and nothing left to replay for it.
SELECT source_event_id, outcome, attempts FROM oms.replay_inbound('WEB', 'e-9');
SELECT count(*) FROM oms.replay_inbound('WEB', 'e-1');

-- Topics: cancel and address, on an order that is there.
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "ship_to": {"city": "Leipzig", "latitude": 51.34, "longitude": 12.37}}',
                         'e-12', 'address');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "ship_to": {"city": "Nowhere", "latitude": 91, "longitude": 0}}',
                         'e-13', 'address');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "cancelled": true, "reason": "customer asked"}', 'e-14');
SELECT external_ref, status, cancel_reason, ship_to->>'city' AS city FROM oms.orders WHERE external_ref = 'W-1';
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-1", "ship_to": {"city": "Bonn"}}', 'e-15', 'address');

-- A connector of the user's own: a SQL transform plus defaults for every order.
CREATE FUNCTION shop_transform(payload jsonb, topic text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog
    RETURN jsonb_build_object('external_ref', payload->>'no', 'lines',
        (SELECT jsonb_agg(jsonb_build_object('sku', i->>0, 'qty', (i->>1)::int)) FROM jsonb_array_elements(payload->'items') i));
INSERT INTO oms.channel_connector (channel_id, transform, options)
SELECT id, 'shop_transform(jsonb, text)', '{"allow_backorder": true}' FROM oms.channel WHERE code = 'SHOP';
SELECT * FROM oms.ingest('SHOP', '{"no": "S-1", "items": [["TEE", 1], ["CAP", 9]]}', 's-1');
SELECT external_ref, status, units FROM oms.orders WHERE external_ref = 'S-1';
-- A transform that would run with oms's privileges on behalf of its owner is refused.
CREATE ROLE oms_intake_tester;
CREATE FUNCTION risky_transform(payload jsonb, topic text) RETURNS jsonb LANGUAGE sql RETURN payload;
ALTER FUNCTION risky_transform(jsonb, text) OWNER TO oms_intake_tester;
UPDATE oms.channel_connector SET transform = 'risky_transform(jsonb, text)';
SELECT * FROM oms.ingest('SHOP', '{"external_ref": "S-2", "lines": [{"sku": "TEE", "qty": 1}]}', 's-2');
-- A transform that raises makes the message failed, with its SQLSTATE.
UPDATE oms.channel_connector SET transform = 'oms.connector_pos(jsonb, text)';
SELECT * FROM oms.ingest('SHOP', '{"till": 4}', 's-3');

-- Bad calls are refused outright, and log nothing.
SELECT * FROM oms.ingest('FAX', '{}', 'x-1');
SELECT * FROM oms.ingest('WEB', '{}', ' padded ');
SELECT * FROM oms.ingest('WEB', '{}', 'x-2', 'refund');
SELECT * FROM oms.ingest('WEB', NULL, 'x-3');
SELECT * FROM oms.replay_inbound('FAX');
SELECT * FROM oms.replay_inbound(max => 0);
SELECT oms.change_ship_to(999, '{}');
SELECT oms.change_ship_to(1, '[]');
SELECT oms.change_ship_to(1, '{"latitude": 1}');
SELECT count(*) AS messages FROM oms.inbound_message WHERE source_event_id LIKE 'x-%';

-- The shipped transforms, on their channels' shapes.
SELECT jsonb_pretty(oms.connector_shopify('{"id": 450789469, "updated_at": "2026-12-01T10:00:00-05:00",
    "currency": "EUR", "email": "ada@example.com", "customer": {"id": 207119551}, "taxes_included": false,
    "total_price": "54.40", "cancelled_at": null,
    "line_items": [{"id": 466157049, "sku": "TEE", "quantity": 2, "price": "19.99",
                    "discount_allocations": [{"amount": "2.00"}], "tax_lines": [{"price": "3.42"}]}],
    "shipping_lines": [{"price": "10.00", "tax_lines": [{"price": "1.00"}], "discount_allocations": []}],
    "shipping_address": {"name": "Ada", "address1": "Jungfernstieg 1", "city": "Hamburg", "zip": "20354",
                         "country_code": "DE", "latitude": 53.553, "longitude": 9.9925}}', 'order'));
SELECT oms.connector_shopify('{"id": 1, "source_name": "pos", "location_id": 64120, "line_items": []}', 'order')->'options';
SELECT jsonb_pretty(oms.connector_amazon('{"AmazonOrderId": "302-1", "LastUpdateDate": "2026-12-01T10:00:00Z",
    "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN", "OrderTotal": {"CurrencyCode": "EUR", "Amount": "34.99"},
    "OrderItems": [{"OrderItemId": "1", "SellerSKU": "TEE", "QuantityOrdered": 3, "ItemPrice": {"Amount": "10.00"},
                    "ItemTax": {"Amount": "1.60"}, "PromotionDiscount": {"Amount": "1.00"},
                    "ShippingPrice": {"Amount": "4.99"}}]}', 'order')->'lines');
SELECT oms.connector_amazon('{"AmazonOrderId": "302-2", "FulfillmentChannel": "AFN", "OrderStatus": "Canceled",
    "OrderItems": []}', 'order') - 'lines';
SELECT jsonb_pretty(oms.connector_pos('{"sale_id": "T4-0001", "store": "MUC-STORE", "sold_at": "2026-12-01T15:04:00+01:00",
    "currency": "EUR", "items": [{"sku": "TEE", "qty": 1, "price": 19.99, "tax": 3.19}], "total": 19.99}', 'order'));
SELECT oms.connector_shopify('{"line_items": []}', 'order');
SELECT oms.connector_amazon('{"AmazonOrderId": "1"}', 'order');
SELECT oms.connector_pos('{"sale_id": 1, "items": []}', 'order');
SELECT oms.connector_amazon('{"AmazonOrderId": "1", "OrderItems": [{"QuantityOrdered": "three"}]}', 'order');
SELECT oms.connector_shopify('{"id": 1, "line_items": [], "total_price": "1e400000"}', 'order');

-- A coordinate double precision cannot hold is OM021 here too, as in place_order.
SELECT oms.change_ship_to(order_id, '{"latitude": 1e-400, "longitude": 0}') FROM oms.orders ORDER BY order_id LIMIT 1;
\echo :LAST_ERROR_SQLSTATE

SELECT * FROM oms.check_invariants();
DROP FUNCTION msgs();
DROP FUNCTION shop_transform(jsonb, text), risky_transform(jsonb, text);
DROP ROLE oms_intake_tester;
