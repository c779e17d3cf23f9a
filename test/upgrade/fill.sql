--
-- test/upgrade/fill.sql — data in every state the released API can make,
-- written through that API on a fresh 0.1.0 install: the sample shop, then
-- orders reserved, backordered, on hold, partially shipped, shipped,
-- delivered, cancelled and closed; shipments pending, shipped, in transit,
-- delivered, failed, returned and cancelled; payments in each status; holds,
-- a hot row spread over slots, and events claimed, acknowledged and not.
--
\set ON_ERROR_STOP 1
\i test/demo/sample.sql

-- Ships every unit an order holds at its first location, with a scan.
CREATE FUNCTION pg_temp.ship_all(p_order bigint, p_ref text, p_scan text DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    loc text;
    shipment bigint;
BEGIN
    SELECT l.code INTO loc FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
     WHERE r.order_id = p_order AND r.state = 'held' ORDER BY l.code LIMIT 1;
    shipment := oms.create_shipment(p_order, loc);
    PERFORM oms.ship(shipment, 'DHL', p_ref);
    IF p_scan IS NOT NULL THEN
        PERFORM oms.track(shipment, p_scan, now() + interval '1 hour', '{"city": "Leipzig"}');
    END IF;
    RETURN shipment;
END $$;

-- reserved, with an authorized payment
SELECT oms.place_order('WEB', 'U-RESERVED', '[{"sku": "TEE-BLK-M", "qty": 2, "unit_price": 19.99}]',
                       '{"city": "Berlin", "latitude": 52.5, "longitude": 13.4}') AS o \gset
SELECT oms.record_payment(:o, 'authorize', 39.98, 'u-auth-1');
-- backordered
SELECT oms.place_order('APP', 'U-BACKORDER', '[{"sku": "BOTTLE-500", "qty": 500, "unit_price": 29}]',
                       NULL, '{"allow_backorder": true}');
-- on hold
SELECT oms.hold_order(oms.place_order('WEB', 'U-ONHOLD', '[{"sku": "CAP-BLK", "qty": 1, "unit_price": 24}]'));
-- partially shipped: one of two lines shipped
SELECT oms.place_order('WEB', 'U-PARTIAL',
                       '[{"sku": "JEANS-BLU-32", "qty": 1, "unit_price": 89}, {"sku": "SOCKS-M", "qty": 1, "unit_price": 16.5}]',
                       '{"city": "Munich", "latitude": 48.14, "longitude": 11.58}') AS o \gset
SELECT oms.create_shipment(:o, l.code, '[{"line_no": 1, "qty": 1}]') AS s
  FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = :o AND r.line_no = 1 \gset
SELECT oms.ship(:s, 'UPS', 'U-P-1');
-- shipped, captured; in transit
SELECT oms.place_order('WEB', 'U-SHIPPED', '[{"sku": "HOODIE-GRY-M", "qty": 1, "unit_price": 59}]') AS o \gset
SELECT oms.record_payment(:o, 'authorize', 59, 'u-auth-2'), oms.record_payment(:o, 'capture', 59, 'u-cap-2');
SELECT pg_temp.ship_all(:o, 'U-S-1', 'in_transit');
-- delivered and partially refunded
SELECT oms.place_order('APP', 'U-DELIVERED', '[{"sku": "SCARF-GRY", "qty": 2, "unit_price": 45}]') AS o \gset
SELECT oms.record_payment(:o, 'authorize', 90, 'u-auth-3'), oms.record_payment(:o, 'capture', 90, 'u-cap-3'),
       oms.record_payment(:o, 'refund', 45, 'u-ref-3');
SELECT pg_temp.ship_all(:o, 'U-D-1', 'delivered');
-- delivered and closed
SELECT oms.place_order('WEB', 'U-CLOSED', '[{"sku": "BEANIE-BLK", "qty": 1, "unit_price": 22}]') AS o \gset
SELECT pg_temp.ship_all(:o, 'U-C-1', 'delivered');
SELECT oms.close_order(:o);
-- a failed delivery and a parcel returned to sender
SELECT pg_temp.ship_all(oms.place_order('WEB', 'U-FAILED', '[{"sku": "BELT-85", "qty": 1}]'), 'U-F-1', 'delivery_failed');
SELECT pg_temp.ship_all(oms.place_order('WEB', 'U-RTS', '[{"sku": "BELT-95", "qty": 1}]'), 'U-R-1', 'returned_to_sender');
-- cancelled, with a voided payment; a cancelled line; a pending and a cancelled shipment
SELECT oms.place_order('WEB', 'U-CANCELLED', '[{"sku": "BELT-90", "qty": 1, "unit_price": 49}]') AS o \gset
SELECT oms.record_payment(:o, 'authorize', 49, 'u-auth-4'), oms.record_payment(:o, 'void', 49, 'u-void-4');
SELECT oms.cancel_order(:o, 'customer changed their mind');
SELECT oms.place_order('WEB', 'U-LINES', '[{"sku": "CAP-SND", "qty": 3, "unit_price": 24}, {"sku": "CAP-OLV", "qty": 1, "unit_price": 24}]') AS o \gset
SELECT oms.cancel_line(:o, 1, 1, 'one too many');
SELECT oms.create_shipment(:o, l.code) AS s FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = :o AND r.state = 'held' ORDER BY l.code LIMIT 1 \gset
SELECT oms.cancel_shipment(:s);
SELECT oms.create_shipment(:o, l.code) FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = :o AND r.state = 'held' ORDER BY l.code LIMIT 1;
-- click and collect
SELECT oms.place_order('POS', 'U-PICKUP', '[{"sku": "TEE-WHT-M", "qty": 1, "unit_price": 19.99}]', NULL,
                       '{"pickup_location": "MUC-STORE"}');
-- holds: one active, one released; a hot row spread over slots with an order from it
SELECT oms.hold_stock('u-cart-1', 'WEB', '[{"sku": "SCARF-RED", "qty": 1}]', '1 day');
SELECT oms.hold_stock('u-cart-2', 'WEB', '[{"sku": "SCARF-NVY", "qty": 1}]');
SELECT oms.release_hold('u-cart-2');
SELECT oms.set_stock_slots('SNEAKER-WHT-42', 'BER-DC', 4);
SELECT oms.place_order('WEB', 'U-HOT', '[{"sku": "SNEAKER-WHT-42", "qty": 1, "unit_price": 74.5}]');
-- events: some acknowledged by one consumer, some claimed and not yet, the rest untouched
SELECT oms.ack_events('u-mailer', array_agg(event_id)) FROM oms.claim_events('u-mailer', 5);
SELECT count(*) FROM oms.claim_events('u-mailer', 3);
SELECT count(*) FROM oms.claim_events('u-erp', 2);
-- the rest of the released surface, so that each of its C entry points runs
-- once on the new library under its 0.1.0 definition
SELECT oms.available('TEE-BLK-M'), oms.available('TEE-BLK-M', 'MKT-AMZ');
SELECT count(*) FROM oms.route('[{"sku": "JEANS-BLU-34", "qty": 2}]', '{"latitude": 50.1, "longitude": 8.7}', 'WEB');
SELECT count(*) FROM oms.route_explain('[{"sku": "JEANS-BLU-34", "qty": 2}]', '{"latitude": 50.1, "longitude": 8.7}');
SELECT oms.hold_order(order_id), oms.release_order(order_id) FROM oms.order_ref WHERE external_ref = 'U-PICKUP';
SELECT oms.expire_holds(), oms.publish_events(10), oms.purge_outbox('30 days');
SELECT oms.receive_stock('BOTTLE-500', 'HAM-DC', 5, 'late delivery');
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'oms_upgrade_app') THEN CREATE ROLE oms_upgrade_app; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'oms_upgrade_bi') THEN CREATE ROLE oms_upgrade_bi; END IF;
END $$;
SELECT oms.grant_app('oms_upgrade_app'), oms.grant_reporting('oms_upgrade_bi');
