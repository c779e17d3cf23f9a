--
-- test/demo/lifecycle.sql — the life of one order: placed, paid, shipped,
-- tracked to the door; every change is an event, heard by LISTEN and claimed
-- from the outbox as a notification service would.
--
\pset footer off

\echo
\echo '==> the life of an order, heard as it happens (LISTEN oms_events; the oms worker publishes)'
LISTEN oms_events;
SELECT oms.place_order('WEB', 'WEB-20001',
    '[{"sku": "JACKET-BLK-M", "qty": 1, "unit_price": 149.00}, {"sku": "BEANIE-GRY", "qty": 1, "unit_price": 22.00}]',
    '{"name": "Grace Hopper", "city": "Berlin", "postal_code": "10117", "country": "DE",
      "latitude": 52.517, "longitude": 13.389}',
    '{"customer": {"email": "grace@example.com"}}') AS order_id \gset
\echo '    payment authorized at checkout, captured when the parcel leaves'
SELECT oms.record_payment(:order_id, 'authorize', 171.00, 'psp-auth-20001') AS payment;
SELECT l.code AS location FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = :order_id LIMIT 1 \gset
SELECT oms.create_shipment(:order_id, :'location') AS shipment_id \gset
SELECT oms.ship(:shipment_id, 'DHL', 'JJD0099887766');
SELECT oms.record_payment(:order_id, 'capture', 171.00, 'psp-capture-20001') AS payment;
\echo '    the carrier scans the parcel; a scan from an hour ago arrives late and changes nothing'
SELECT oms.track(:shipment_id, 'in_transit', now() + interval '2 hours', '{"city": "Leipzig hub"}');
SELECT oms.track(:shipment_id, 'out_for_delivery', now() + interval '14 hours');
SELECT oms.track(:shipment_id, 'in_transit', now() + interval '1 hour', '{"city": "Berlin hub"}');
SELECT oms.track(:shipment_id, 'delivered', now() + interval '16 hours', '{"signed_by": "G. Hopper"}');
\echo '    (the notifications below arrive within oms.publish_interval)'
SELECT pg_sleep(1);

\echo '==> where is my order? (oms.v_order_tracking)'
SELECT order_id, status, payment_status, s->>'carrier' AS carrier, s->>'tracking_number' AS tracking_number,
       s->>'status' AS shipment_status
  FROM oms.v_order_tracking, jsonb_array_elements(shipments) s WHERE order_id = :order_id;

\echo '==> a notification service claims the events from the outbox (this order''s shown), sends, acknowledges'
SELECT event_id, entity, entity_id, coalesce(from_status, '(new)') AS from_status, to_status, details
  FROM oms.claim_events('notifications', 100) WHERE order_id = :order_id;
SELECT oms.ack_events('notifications', array_agg(id)) AS acknowledged FROM oms.order_event;

\echo '==> a delivered order cannot go back: transitions are enforced in the database'
\set ON_ERROR_STOP 0
UPDATE oms.orders SET status = 'reserved' WHERE order_id = :order_id;
\set ON_ERROR_STOP 1

\echo '==> oms.check_invariants() (no rows: healthy)'
SELECT * FROM oms.check_invariants();
