--
-- test/demo/lifecycle.sql — the life of one order: placed, paid, shipped,
-- tracked to the door, sent back; every change is an event, heard by LISTEN and claimed
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

\echo '==> the customer sends both back: the jacket goes back on the shelf, sellable at once; the beanie arrived torn'
INSERT INTO oms.return_reason (code, label, resellable)
VALUES ('too_small', 'Too small', true), ('damaged', 'Arrived damaged', false) ON CONFLICT DO NOTHING;
SELECT oms.request_return(:order_id, '[{"line_no": 1, "qty": 1, "reason": "too_small"},
                                       {"line_no": 2, "qty": 1, "reason": "damaged"}]',
                          '{"idempotency_key": "rma-20001"}') AS return_id \gset
SELECT oms.receive_return(:return_id, '[{"line_no": 1, "qty": 1, "disposition": "restock"},
                                        {"line_no": 2, "qty": 1, "disposition": "damaged", "note": "torn seam"}]',
                          'parcel-20001') AS units_received;
SELECT return_id, line_no, sku, reason, status, qty_requested, qty_restocked, qty_damaged, unit_amount, return_location
  FROM oms.v_returns WHERE return_id = :return_id ORDER BY line_no;
SELECT sku, location, on_hand, available FROM oms.v_stock WHERE sku = 'JACKET-BLK-M' AND location = :'location';
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
