--
-- The order lifecycle: every legal transition that the API can reach,
-- shown through the event history; illegal ones refused (OM060) and leaving
-- no event; shipments, tracking, payments and the event outbox, with every
-- error and its SQLSTATE.  Tracking times are fixed and lie in the future,
-- after every shipment's ship time; no other time is shown.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never
SET timezone = 'UTC';

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 10),
    ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 5);
INSERT INTO oms.sku (code, name) VALUES
    ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('MUG', 'Mug'), ('PEN', 'Pen'), ('HAT', 'Hat'), ('BAG', 'Bag');
SELECT count(*) FROM (
    SELECT oms.receive_stock(s, l, q) FROM (VALUES
        ('TEE', 'BER', 20), ('TEE', 'HAM', 10), ('CAP', 'BER', 10), ('MUG', 'BER', 1), ('PEN', 'BER', 1),
        ('HAT', 'BER', 1), ('HAT', 'HAM', 5)) AS v(s, l, q)) r;

-- What is legal, by entity (the whole table is oms.v_transitions).
SELECT entity, count(*) AS transitions FROM oms.v_transitions GROUP BY entity
 ORDER BY array_position(ARRAY['order', 'line', 'shipment', 'payment'], entity);

-- The history of an order, in the order it happened.
CREATE FUNCTION pg_temp.history(order_no bigint)
RETURNS TABLE (entity text, entity_id bigint, change text, details jsonb)
LANGUAGE sql AS $$
    SELECT e.entity, e.entity_id, coalesce(e.from_status, '(new)') || ' -> ' || e.to_status, e.details
      FROM oms.order_event e WHERE e.order_id = order_no ORDER BY e.id
$$;
-- An order's status and its lines, one line of text.
CREATE FUNCTION pg_temp.summary(order_no bigint) RETURNS TABLE (status text, lines text)
LANGUAGE sql AS $$
    SELECT o.status,
           (SELECT string_agg(format('%s %s x%s %s (reserved %s, shipped %s, cancelled %s, backordered %s)',
                                     l.line_no, s.code, l.qty, l.status, l.qty_reserved, l.qty_shipped,
                                     l.qty_cancelled, l.qty_backordered), '; ' ORDER BY l.line_no)
              FROM oms.order_lines l JOIN oms.sku s ON s.id = l.sku_id WHERE l.order_id = o.order_id)
      FROM oms.orders o WHERE o.order_id = order_no
$$;
-- The shipments of an order: status, location, carrier and lines.
CREATE FUNCTION pg_temp.shipments(order_no bigint)
RETURNS TABLE (shipment bigint, status text, location text, carrier text, tracking_number text, lines text)
LANGUAGE sql AS $$
    SELECT sh.id, sh.status, l.code, sh.carrier, sh.tracking_number,
           (SELECT string_agg(format('line %s x%s', sl.line_no, sl.qty), ', ' ORDER BY sl.line_no)
              FROM oms.shipment_line sl WHERE sl.shipment_id = sh.id)
      FROM oms.shipment sh JOIN oms.location l ON l.id = sh.location_id
     WHERE sh.order_id = order_no ORDER BY sh.id
$$;
-- Carrier scans for a shipment, one hour apart from start; returns its status.
CREATE FUNCTION pg_temp.journey(shipment_no bigint, start timestamptz, VARIADIC path text[]) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. cardinality(path) LOOP
        PERFORM oms.track(shipment_no, path[i], start + make_interval(hours => i - 1));
    END LOOP;
    RETURN (SELECT s.status FROM oms.shipment s WHERE s.id = shipment_no);
END
$$;

--
-- An order shipped in two parcels and delivered:
-- reserved -> partially_shipped -> shipped -> delivered -> closed.
--
SELECT oms.place_order('WEB', 'L-1',
    '[{"sku": "TEE", "qty": 2, "unit_price": 10}, {"sku": "CAP", "qty": 1, "unit_price": 5}]') AS o1 \gset
-- A parcel with the lines given: one of the two T-shirts.
SELECT oms.create_shipment(:o1, 'BER', '[{"line_no": 1, "qty": 1}]') AS s1 \gset
-- The default: every reserved unit at the location not yet in a parcel.
SELECT oms.create_shipment(:o1, 'BER') AS s2 \gset
SELECT * FROM pg_temp.shipments(:o1);
-- Nothing is left to put in a parcel.
SELECT oms.create_shipment(:o1, 'BER');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s1, 'DHL', 'DHL-0001');
SELECT * FROM pg_temp.summary(:o1);
-- A parcel ships once.
SELECT oms.ship(:s1, 'DHL', 'DHL-0001');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s2, 'UPS');
SELECT * FROM pg_temp.summary(:o1);
SELECT * FROM pg_temp.shipments(:o1);
-- The units left on_hand through the ledger.
SELECT s.code AS sku, l.code AS location, m.kind, m.quantity, m.reference
  FROM oms.stock_movement m JOIN oms.sku s ON s.id = m.sku_id JOIN oms.location l ON l.id = m.location_id
 WHERE m.kind = 'shipment' ORDER BY m.id;
SELECT sku, location, on_hand, reserved FROM oms.v_stock WHERE location = 'BER' AND sku IN ('TEE', 'CAP') ORDER BY sku;

-- The first parcel's journey: a failed delivery, then delivered.
SELECT pg_temp.journey(:s1, '2099-06-01 08:00+00', 'in_transit', 'out_for_delivery', 'delivery_failed');
-- A scan older than the status arrives late: kept, but it moves nothing;
-- nor does one no newer than the status.
SELECT oms.track(:s1, 'in_transit', '2099-06-01 09:30+00', '{"depot": "Spandau"}');
SELECT oms.track(:s1, 'out_for_delivery', '2099-06-01 10:00+00');
SELECT status, status_at FROM oms.shipment WHERE id = :s1;
SELECT pg_temp.journey(:s1, '2099-06-02 08:00+00', 'out_for_delivery', 'delivered');
-- The same status again changes nothing either.
SELECT oms.track(:s1, 'delivered', '2099-06-02 12:00+00');
-- The second parcel's first scan applies even when stamped before oms.ship (the
-- carrier scanned it first); then it is delivered, and a scan older than that is late.
SELECT oms.track(:s2, 'in_transit', '2000-01-01 00:00+00');
SELECT oms.track(:s2, 'delivered', '2099-06-03 10:00+00', '{"signed_by": "A. Lovelace"}');
SELECT oms.track(:s2, 'out_for_delivery', '2099-06-03 09:00+00');
-- A delivered parcel is final: a later scan it cannot follow is kept, with a notice.
SELECT oms.track(:s1, 'returned_to_sender', '2099-07-01 00:00+00');
SELECT shipment_id, status, at, details, applied FROM oms.tracking_event ORDER BY id;
SELECT id, status, status_at, delivered_at, status_details FROM oms.shipment WHERE order_id = :o1 ORDER BY id;
SELECT * FROM pg_temp.summary(:o1);
-- Closing by hand, as the owner: a legal UPDATE is recorded like any other.
UPDATE oms.orders SET status = 'closed' WHERE order_id = :o1;
SELECT * FROM pg_temp.history(:o1);
SELECT bool_and(created_by = current_user) AS by_caller FROM oms.order_event WHERE order_id = :o1;

--
-- Every other carrier journey, one parcel per unit of a Hamburg order.
--
SELECT oms.place_order('WEB', 'L-2', '[{"sku": "TEE", "qty": 6}]', NULL,
                       '{"exclude_locations": ["BER"]}') AS o2 \gset
SELECT oms.create_shipment(:o2, 'HAM', '[{"line_no": 1, "qty": 1}]') AS s3 \gset
SELECT oms.create_shipment(:o2, 'HAM', '[{"line_no": 1, "qty": 1}]') AS s4 \gset
SELECT oms.create_shipment(:o2, 'HAM', '[{"line_no": 1, "qty": 1}]') AS s5 \gset
SELECT oms.create_shipment(:o2, 'HAM', '[{"line_no": 1, "qty": 1}]') AS s6 \gset
SELECT oms.create_shipment(:o2, 'HAM', '[{"line_no": 1, "qty": 1}]') AS s7 \gset
SELECT oms.create_shipment(:o2, 'HAM', '[{"line_no": 1}]') AS s8 \gset
SELECT oms.ship(:s3, 'DHL'), oms.ship(:s4, 'DHL'), oms.ship(:s5, 'DHL'), oms.ship(:s6, 'DHL'),
       oms.ship(:s7, 'DHL'), oms.ship(:s8, 'DHL');
SELECT pg_temp.journey(:s3, '2099-06-01 08:00+00',
                       'out_for_delivery', 'in_transit', 'delivery_failed', 'in_transit', 'delivered') AS s3,
       pg_temp.journey(:s4, '2099-06-01 08:00+00', 'delivery_failed', 'delivered') AS s4,
       pg_temp.journey(:s5, '2099-06-01 08:00+00', 'returned_to_sender') AS s5,
       pg_temp.journey(:s6, '2099-06-01 08:00+00', 'in_transit', 'returned_to_sender') AS s6,
       pg_temp.journey(:s7, '2099-06-01 08:00+00', 'out_for_delivery', 'returned_to_sender') AS s7,
       pg_temp.journey(:s8, '2099-06-01 08:00+00', 'delivery_failed', 'returned_to_sender') AS s8;
-- Parcels on their way back keep the order shipped.
SELECT * FROM pg_temp.summary(:o2);
SELECT entity, entity_id, change FROM pg_temp.history(:o2) WHERE entity <> 'shipment';
SELECT entity_id AS shipment, string_agg(coalesce(from_status, '(new)') || ' -> ' || to_status, ', ' ORDER BY id) AS path
  FROM oms.order_event WHERE order_id = :o2 AND entity = 'shipment' AND from_status IS NOT NULL
 GROUP BY entity_id ORDER BY entity_id;

--
-- A backordered order: on hold and back, shipped in part, the rest cancelled:
-- backordered -> on_hold -> backordered -> partially_shipped -> shipped.
--
SELECT oms.place_order('WEB', 'L-3', '[{"sku": "TEE", "qty": 1}, {"sku": "MUG", "qty": 2}]', NULL,
                       '{"allow_backorder": true}') AS o3 \gset
SELECT * FROM pg_temp.summary(:o3);
SELECT oms.hold_order(:o3);
-- Nothing ships while the order is on hold.
SELECT oms.create_shipment(:o3, 'BER');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_order(:o3);
SELECT oms.create_shipment(:o3, 'BER') AS s9 \gset
SELECT oms.ship(:s9, 'DHL');
SELECT * FROM pg_temp.summary(:o3);
-- Shipping has begun: no more holds.
SELECT oms.hold_order(:o3);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_order(:o3, 'the mug will not come back') AS cancelled;
SELECT * FROM pg_temp.summary(:o3);
SELECT * FROM pg_temp.history(:o3);
-- A shipped order is past cancelling.
SELECT oms.cancel_order(:o3, 'too late');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_line(:o3, 1, 1, 'too late');
\echo :LAST_ERROR_SQLSTATE

--
-- Part of a line delivered, the rest cancelled: partially_shipped -> delivered.
--
SELECT oms.place_order('WEB', 'L-4', '[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 1}]') AS o4 \gset
SELECT oms.create_shipment(:o4, 'BER', '[{"line_no": 1, "qty": 1}]') AS s10 \gset
SELECT oms.ship(:s10, 'GLS', 'GLS-10');
SELECT oms.track(:s10, 'delivered', '2099-06-05 10:00+00');
SELECT * FROM pg_temp.summary(:o4);
SELECT oms.cancel_order(:o4, 'customer asked') AS cancelled;
SELECT * FROM pg_temp.summary(:o4);
SELECT entity, entity_id, change FROM pg_temp.history(:o4);

--
-- Backorders given up, holds, a cancelled order with a parcel, closed:
-- backordered -> reserved -> on_hold -> reserved -> cancelled -> closed.
--
SELECT oms.place_order('WEB', 'L-5', '[{"sku": "PEN", "qty": 3}]', NULL, '{"allow_backorder": true}') AS o5 \gset
SELECT * FROM pg_temp.summary(:o5);
SELECT oms.cancel_line(:o5, 1, 2, 'no restock') AS cancelled;
SELECT * FROM pg_temp.summary(:o5);
SELECT oms.hold_order(:o5);
-- Holding twice changes nothing.
SELECT oms.hold_order(:o5);
SELECT oms.release_order(:o5);
SELECT oms.release_order(:o5);
\echo :LAST_ERROR_SQLSTATE
-- Only a delivered or cancelled order closes.
SELECT oms.close_order(:o5);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o5, 'BER') AS s11 \gset
-- Cancelling the order calls off its pending parcel and gives the pen back.
SELECT oms.cancel_order(:o5, 'fraud check failed') AS cancelled;
SELECT * FROM pg_temp.shipments(:o5);
SELECT sku, on_hand, reserved, available FROM oms.v_stock WHERE sku = 'PEN';
SELECT oms.close_order(:o5);
SELECT * FROM pg_temp.history(:o5);

-- backordered -> on_hold -> backordered -> on_hold -> cancelled; backordered -> cancelled.
SELECT oms.place_order('WEB', 'L-6', '[{"sku": "BAG", "qty": 1}]', NULL, '{"allow_backorder": true}') AS o6 \gset
SELECT oms.hold_order(:o6), oms.release_order(:o6), oms.hold_order(:o6);
SELECT oms.cancel_order(:o6, 'waited too long') AS cancelled;
SELECT oms.place_order('WEB', 'L-7', '[{"sku": "BAG", "qty": 2}]', NULL, '{"allow_backorder": true}') AS o7 \gset
SELECT oms.cancel_order(:o7, NULL) AS cancelled;
SELECT order_id, entity, entity_id, coalesce(from_status, '(new)') || ' -> ' || to_status AS change, details
  FROM oms.order_event WHERE order_id IN (:o6, :o7) ORDER BY id;

--
-- Cancelling units that wait in a parcel, then after the parcel is called
-- off; the rest ships: reserved -> shipped.
--
SELECT oms.place_order('WEB', 'L-8', '[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 1}]') AS o8 \gset
SELECT oms.create_shipment(:o8, 'BER', '[{"line_no": 1, "qty": 1}]') AS s12 \gset
SELECT oms.cancel_line(:o8, 1, 1, 'changed mind');
\echo :LAST_ERROR_SQLSTATE
-- A line without units in the parcel cancels as usual.
SELECT oms.cancel_line(:o8, 2, 1, 'changed mind') AS cancelled;
SELECT oms.cancel_shipment(:s12);
SELECT oms.cancel_line(:o8, 1, 1, 'changed mind') AS cancelled;
-- A called-off parcel can be neither called off again, nor shipped, nor tracked.
SELECT oms.cancel_shipment(:s12);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s12, 'DHL');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s12, 'in_transit', '2099-06-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o8, 'BER') AS s13 \gset
SELECT oms.ship(:s13, 'DHL');
SELECT * FROM pg_temp.shipments(:o8);
SELECT * FROM pg_temp.summary(:o8);
SELECT entity, entity_id, change, details FROM pg_temp.history(:o8);

--
-- create_shipment: a split order ships from each location separately; errors.
--
SELECT oms.place_order('WEB', 'L-9', '[{"sku": "HAT", "qty": 6}, {"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 1}]') AS o9 \gset
SELECT l.code AS location, r.line_no, r.qty FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = :o9 ORDER BY r.line_no, l.code;
SELECT oms.create_shipment(:o9, 'HAM') AS s14 \gset
SELECT * FROM pg_temp.shipments(:o9);
SELECT oms.create_shipment(:o9, 'HAM');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(NULL, 'BER');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(999999, 'BER');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'NOPE');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '{"line_no": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '2');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[2]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 2, "qty": 1, "sku": "TEE"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 2, "sku": "TEE"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 0}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 1.5}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": "2"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 2, "qty": 0}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 2, "qty": 1.5}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 2, "qty": null}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 4}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 3}, {"line_no": 3, "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 3, "qty": 2}]');
\echo :LAST_ERROR_SQLSTATE
-- Line 1 has one hat reserved at BER; the five at HAM and line 2 are in a parcel already.
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 1, "qty": 2}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 2}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'HAM', '[{"line_no": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o9, 'HAM', '[{"line_no": 2}]');
\echo :LAST_ERROR_SQLSTATE
-- Nothing to ship from a cancelled, a closed or a shipped order.
SELECT oms.create_shipment(:o7, 'BER');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o5, 'BER');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.create_shipment(:o3, 'BER');
\echo :LAST_ERROR_SQLSTATE
-- None of that left a parcel or an event behind.
SELECT count(*) AS shipments FROM oms.shipment WHERE order_id = :o9;
SELECT count(*) AS events FROM oms.order_event WHERE order_id = :o9;
-- The cap explicitly, then the rest at BER by default.
SELECT oms.create_shipment(:o9, 'BER', '[{"line_no": 3}]') AS s15 \gset
SELECT oms.create_shipment(:o9, 'BER') AS s16 \gset
SELECT * FROM pg_temp.shipments(:o9);

--
-- ship and track: errors.
--
SELECT oms.ship(NULL, 'DHL');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(999999, 'DHL');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s14, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s14, '');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s14, ' DHL');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s14, repeat('x', 201));
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s14, 'DHL', '');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.ship(:s14, 'DHL', 'X-1 ');
\echo :LAST_ERROR_SQLSTATE
-- A pending parcel is not tracked yet.
SELECT oms.track(:s14, 'in_transit', '2099-06-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s14, 'lost', '2099-06-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s14, 'shipped', '2099-06-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s14, 'pending', '2099-06-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s14, NULL, '2099-06-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s14, 'in_transit', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s14, 'in_transit', 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s14, 'in_transit', '2099-06-01 08:00+00', '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(:s14, 'in_transit', '2099-06-01 08:00+00', '"Spandau"');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.track(999999, 'in_transit', '2099-06-01 08:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_shipment(:s13);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_shipment(999999);
\echo :LAST_ERROR_SQLSTATE
-- None of them recorded a scan or moved a parcel.
SELECT status FROM oms.shipment WHERE id = :s14;
SELECT count(*) AS scans FROM oms.tracking_event WHERE shipment_id = :s14;

--
-- Illegal transitions, tried by hand as the table owner: each is refused
-- with the statuses it may go to, and leaves no event.
--
SELECT count(*) AS events FROM oms.order_event \gset before_
UPDATE oms.orders SET status = 'delivered' WHERE status = 'reserved';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.orders SET status = 'reserved' WHERE status = 'cancelled';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.orders SET status = 'on_hold' WHERE status = 'shipped';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.orders SET status = 'shipped' WHERE order_id = :o4;
\echo :LAST_ERROR_SQLSTATE
-- A status that does not exist is refused by the column's domain first.
UPDATE oms.orders SET status = 'lost' WHERE order_id = :o9;
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.orders SET payment_status = 'captured' WHERE payment_status = 'unpaid';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.order_lines SET status = 'delivered' WHERE order_id = :o9 AND line_no = 3;
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.order_lines SET status = 'reserved' WHERE order_id = :o4 AND line_no = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.shipment SET status = 'delivered' WHERE id = :s15;
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.shipment SET status = 'in_transit' WHERE id = :s5;
\echo :LAST_ERROR_SQLSTATE
-- An UPDATE that leaves the status as it is records nothing.
UPDATE oms.orders SET status = status, updated_at = updated_at WHERE order_id = :o9;
SELECT count(*) - :before_events AS new_events FROM oms.order_event;
SELECT * FROM pg_temp.summary(:o9);

--
-- Payments: every kind, every limit, idempotency and every error.
--
SELECT oms.place_order('WEB', 'P-1', '[{"sku": "TEE", "qty": 1, "unit_price": 100}]') AS p1 \gset
SELECT oms.place_order('WEB', 'P-2', '[{"sku": "TEE", "qty": 1, "unit_price": 100}]') AS p2 \gset
SELECT oms.place_order('WEB', 'P-3', '[{"sku": "TEE", "qty": 1, "unit_price": 100}]') AS p3 \gset
SELECT oms.place_order('WEB', 'P-4', '[{"sku": "TEE", "qty": 1, "unit_price": 100}]') AS p4 \gset
SELECT oms.place_order('WEB', 'P-5', '[{"sku": "TEE", "qty": 1, "unit_price": 100}]') AS p5 \gset
CREATE FUNCTION pg_temp.pay(order_no bigint, kind text, amount numeric, ref text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    payment bigint := oms.record_payment(order_no, kind, amount, ref);
BEGIN
    RETURN format('payment %s: %s', payment, (SELECT o.payment_status FROM oms.orders o WHERE o.order_id = order_no));
END
$$;

-- unpaid -> authorized -> partially_captured -> captured -> partially_refunded -> refunded,
-- and after a new authorization is captured: -> partially_refunded -> refunded.
SELECT pg_temp.pay(:p1, 'authorize', 100, 'psp-1');
-- The provider's retry: the same payment, nothing recorded twice ...
SELECT oms.record_payment(:p1, 'authorize', 100.00, 'psp-1') AS same_payment;
-- ... but another operation under the same reference is refused.
SELECT oms.record_payment(:p1, 'authorize', 90, 'psp-1');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p1, 'capture', 100, 'psp-1');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p2, 'authorize', 100, 'psp-1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.pay(:p1, 'capture', 40, 'psp-2');
-- Captures and voids take from what is authorized and not yet captured or voided.
SELECT oms.record_payment(:p1, 'capture', 60.01);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p1, 'void', 61);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.pay(:p1, 'capture', 60);
SELECT oms.record_payment(:p1, 'void', 0.01);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.pay(:p1, 'refund', 30);
-- Refunds take from what is captured and not yet refunded.
SELECT oms.record_payment(:p1, 'refund', 70.5);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.pay(:p1, 'refund', 70);
SELECT oms.record_payment(:p1, 'refund', 1);
\echo :LAST_ERROR_SQLSTATE
-- A new authorization captured after the full refund: refunded -> partially_refunded -> refunded.
SELECT pg_temp.pay(:p1, 'authorize', 20), pg_temp.pay(:p1, 'capture', 20), pg_temp.pay(:p1, 'refund', 20);
SELECT kind, amount, provider_ref, created_by = current_user AS by_caller FROM oms.payment WHERE order_id = :p1 ORDER BY id;

-- authorized -> voided -> authorized -> captured -> partially_captured -> partially_refunded
SELECT pg_temp.pay(:p2, 'authorize', 50);
-- Nothing is captured: nothing to refund.
SELECT oms.record_payment(:p2, 'refund', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.pay(:p2, 'void', 50);
SELECT oms.record_payment(:p2, 'capture', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.pay(:p2, 'authorize', 30);
-- A partial void leaves it authorized.
SELECT pg_temp.pay(:p2, 'void', 10);
SELECT pg_temp.pay(:p2, 'capture', 20);
-- A further authorization opens a new part to capture.
SELECT pg_temp.pay(:p2, 'authorize', 25);
SELECT pg_temp.pay(:p2, 'refund', 5);

-- partially_captured -> refunded; authorized -> captured -> refunded; captured -> partially_captured
SELECT pg_temp.pay(:p3, 'authorize', 100), pg_temp.pay(:p3, 'capture', 40), pg_temp.pay(:p3, 'refund', 40);
SELECT pg_temp.pay(:p4, 'authorize', 10), pg_temp.pay(:p4, 'capture', 10), pg_temp.pay(:p4, 'refund', 10);

-- A cancelled order takes no new money; what it holds can still be voided and refunded.
SELECT pg_temp.pay(:p5, 'authorize', 20, 'psp-5'), pg_temp.pay(:p5, 'capture', 5);
SELECT oms.cancel_order(:p5, 'out of stock') AS cancelled;
SELECT oms.record_payment(:p5, 'authorize', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p5, 'capture', 5);
\echo :LAST_ERROR_SQLSTATE
-- A retry of what was recorded before the cancellation is still the same payment.
SELECT oms.record_payment(:p5, 'authorize', 20, 'psp-5') AS same_payment;
SELECT pg_temp.pay(:p5, 'void', 15), pg_temp.pay(:p5, 'refund', 5);

-- Invalid payments.
SELECT oms.record_payment(:p4, 'settle', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, 'authorize', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, 'authorize', -5);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, 'authorize', 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, 'authorize', 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, 'authorize', 1e12);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, 'authorize', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, 'authorize', 1, '');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(:p4, 'authorize', 1, repeat('r', 201));
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(NULL, 'authorize', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.record_payment(999999, 'authorize', 1);
\echo :LAST_ERROR_SQLSTATE

SELECT o.external_ref, o.payment_status,
       string_agg(format('%s %s', p.kind, p.amount), ', ' ORDER BY p.id) AS payments
  FROM oms.orders o JOIN oms.payment p ON p.order_id = o.order_id
 GROUP BY o.order_id ORDER BY o.order_id;
SELECT o.external_ref, string_agg(e.from_status || ' -> ' || e.to_status, ', ' ORDER BY e.id) AS payment_history
  FROM oms.orders o JOIN oms.order_event e ON e.order_id = o.order_id AND e.entity = 'payment'
 GROUP BY o.order_id ORDER BY o.order_id;

--
-- The history is append-only.
--
UPDATE oms.order_event SET to_status = 'delivered' WHERE order_id = :o9;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM oms.order_event WHERE order_id = :o9;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE oms.order_event;
\echo :LAST_ERROR_SQLSTATE
-- Every event went to the outbox with it.
SELECT count(*) AS events, count(x.event_id) AS in_outbox
  FROM oms.order_event e LEFT JOIN oms.outbox x ON x.event_id = e.id;

--
-- Consumers claim events in commit order and acknowledge them.
--
\i sql/include/await_horizon.sql
SELECT event_id, order_id, entity, entity_id, from_status, to_status, deliveries
  FROM oms.claim_events('shop', 4);
SELECT oms.ack_events('shop', '{1, 2, 3}') AS acked;
SELECT oms.ack_events('shop', '{1, 2, 3}') AS acked_again;
-- Event 4 is still leased to shop: the next claim goes on after it.
SELECT event_id, entity, entity_id, to_status, deliveries FROM oms.claim_events('shop', 2);
-- A lease that runs out unacknowledged brings the event back first.
SELECT event_id, deliveries FROM oms.claim_events('slow', 2, '1 millisecond');
SELECT pg_sleep(0.05);
SELECT event_id, deliveries FROM oms.claim_events('slow', 3);
SELECT consumer, count(*) AS leased FROM oms.event_lease GROUP BY consumer ORDER BY consumer;
-- Events of a transaction still open are not claimed, not even by itself.
BEGIN;
SELECT oms.place_order('WEB', 'L-10', '[{"sku": "TEE", "qty": 1}]') AS o10 \gset
SELECT count(*) = (SELECT count(*) FROM oms.order_event WHERE order_id <> :o10) AS all_but_its_own,
       count(*) FILTER (WHERE order_id = :o10) AS its_own
  FROM oms.claim_events('peek', 10000);
ROLLBACK;
SELECT count(*) AS consumers FROM oms.event_consumer WHERE consumer = 'peek';
-- Errors.
SELECT * FROM oms.claim_events('');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events(' shop');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events(repeat('c', 101));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events('oms:notify');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events('shop', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events('shop', 10001);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events('shop', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events('shop', 1, '0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events('shop', 1, '25 hours');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.claim_events('shop', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
-- Acknowledging what is not leased does nothing.
SELECT oms.ack_events('nobody', '{1}') AS acked, oms.ack_events('shop', NULL) AS acked_null;

-- The publisher starts at the events committed after its first run.
SELECT oms.publish_events() AS published;
SELECT oms.place_order('WEB', 'L-11', '[{"sku": "TEE", "qty": 1}]') AS o11 \gset
SELECT oms.publish_events() AS published;
SELECT oms.publish_events() AS published;

-- The outbox is trimmed up to where every consumer has claimed and acknowledged:
-- slow acknowledges its three, shop still holds 4 to 6.
SELECT oms.ack_events('slow', '{1, 2, 3}') AS acked;
SELECT oms.purge_outbox() AS purged;
SELECT min(event_id) AS first_kept FROM oms.outbox;
-- Both consumers claim the rest and acknowledge everything.
\i sql/include/await_horizon.sql
SELECT c.consumer, count(*) AS claimed
  FROM (SELECT consumer FROM oms.event_consumer WHERE consumer NOT LIKE 'oms:%') c,
       oms.claim_events(c.consumer, 10000) e
 GROUP BY c.consumer ORDER BY c.consumer;
SELECT consumer, oms.ack_events(consumer, array_agg(event_id)) = count(*) AS acked_all
  FROM oms.event_lease GROUP BY consumer ORDER BY consumer;
SELECT oms.purge_outbox() AS purged;
SELECT count(*) AS outbox FROM oms.outbox;
-- keep: rows older than that go whatever their state.
SELECT oms.place_order('WEB', 'L-12', '[{"sku": "TEE", "qty": 1}]') AS o12 \gset
SELECT oms.purge_outbox() AS purged;
SELECT pg_sleep(0.01);
SELECT oms.purge_outbox('1 microsecond') AS purged;
SELECT oms.purge_outbox('0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS outbox FROM oms.outbox;
-- The history keeps everything.
SELECT count(*) AS events FROM oms.order_event;

-- Logical replication applies rows as the origin wrote them
-- (session_replication_role = replica): no guard, no event.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE oms.orders SET status = 'delivered' WHERE order_id = :o11;
SELECT status, (SELECT count(*) FROM oms.order_event e WHERE e.order_id = :o11 AND e.to_status = 'delivered') AS events
  FROM oms.orders WHERE order_id = :o11;
ROLLBACK;

-- After a restore into another cluster the outbox and the positions carry
-- transaction ids from that cluster's future: they are rebased, and a
-- consumer goes on where it stood, then gets what this cluster writes.
SELECT oms.place_order('WEB', 'L-15', '[{"sku": "TEE", "qty": 1}]') AS o15 \gset
UPDATE oms.outbox SET txid = (oms.next_xact_id()::text::bigint + 1000000)::text::xid8;
UPDATE oms.event_consumer SET after_txid = (oms.next_xact_id()::text::bigint + 1000000)::text::xid8
 WHERE consumer = 'slow';
SELECT oms.place_order('WEB', 'L-16', '[{"sku": "TEE", "qty": 1}]') AS o16 \gset
\i sql/include/await_horizon.sql
SELECT order_id, entity, to_status FROM oms.claim_events('slow', 100) ORDER BY event_id;
SELECT count(*) AS strangers FROM oms.outbox WHERE txid >= oms.next_xact_id();

-- An order on hold ships nothing, even a parcel packed before the hold; a
-- closed order takes no new money.
SELECT oms.place_order('WEB', 'L-14', '[{"sku": "TEE", "qty": 1}]') AS o14 \gset
SELECT oms.create_shipment(:o14, 'BER') AS s14 \gset
SELECT oms.hold_order(:o14);
SELECT oms.ship(:s14, 'DHL');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_order(:o14), oms.ship(:s14, 'DHL');
SELECT status FROM oms.orders WHERE order_id = :o14;
SELECT oms.record_payment(:o5, 'authorize', 10);
\echo :LAST_ERROR_SQLSTATE

-- With oms.events off (superuser only, for bulk loads and measuring), nothing is recorded.
BEGIN;
SET LOCAL oms.events = off;
SELECT oms.place_order('WEB', 'L-13', '[{"sku": "TEE", "qty": 1}]') AS o13 \gset
SELECT count(*) AS events FROM oms.order_event WHERE order_id = :o13;
ROLLBACK;

--
-- Where is my order?
--
SELECT order_id, external_ref, status, payment_status, units, total_amount,
       (SELECT coalesce(jsonb_agg(s - '{status_at, shipped_at, delivered_at}'::text[] ORDER BY s->'shipment_id'), '[]')
          FROM jsonb_array_elements(shipments) s) AS shipments
  FROM oms.v_order_tracking WHERE order_id IN (:o1, :o3, :o5, :o7, :o9) ORDER BY order_id;

-- Every transition the API can reach was taken.  These are the ones it
-- cannot: oms creates no pending orders, and a line placed in full starts out
-- reserved without an event of its own.  (Orders created delivered or shipped,
-- till sales and marketplace orders, are sql/08_money.sql's; returns, and
-- closing a shipped order whose units came back, are sql/13_returns.sql's.)
SELECT t.entity, t.from_status, t.to_status
  FROM oms.v_transitions t
 WHERE t.entity <> 'return' AND (t.entity, t.from_status, t.to_status) <> ('order', 'shipped', 'closed')
   AND NOT EXISTS (SELECT FROM oms.order_event e
                    WHERE e.entity = t.entity AND coalesce(e.from_status, '(new)') = t.from_status
                      AND e.to_status = t.to_status);
-- ... and no event is a transition the table does not list.
SELECT e.entity, e.from_status, e.to_status FROM oms.order_event e
 WHERE NOT EXISTS (SELECT FROM oms.v_transitions t
                    WHERE e.entity = t.entity AND coalesce(e.from_status, '(new)') = t.from_status
                      AND e.to_status = t.to_status);

SELECT * FROM oms.check_invariants();
-- publish_events takes a max from 1 to 10000, as claim_events does (OM081).
SELECT oms.publish_events(-1);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.publish_events(0);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.publish_events(10001);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.publish_events(NULL);
\echo :LAST_ERROR_SQLSTATE
-- purge_outbox keeps everything for a keep however long, without an overflow.
SELECT oms.purge_outbox('106751992 days') IS NOT NULL AS purged;
