--
-- test/bench/report/bulk.sql — the bulk path of the reporting benchmark:
-- writes the orders planned by plan.sql straight into the tables, with the
-- rows oms.place_order, oms.cancel_line, oms.cancel_order,
-- oms.record_payment, oms.create_shipment, oms.ship, oms.track,
-- oms.request_return and oms.receive_return write there (real.sql calls
-- them; prove.sh compares the two, row by row, by digest).  What those
-- functions also write and no report reads is left out: reservations, the
-- stock ledger (a restocked unit's receipt points at a movement id never
-- written), the event history and its outbox, tracking events, and routing
-- explanations beyond the figures the reports read.  So oms.check_invariants() does not hold on these orders.
-- Triggers are off (session_replication_role): nothing is noted for the
-- rollups, oms.report_rebuild() computes them afterwards.
--
SET session_replication_role = replica;

INSERT INTO oms.order_lines (order_id, line_no, sku_id, qty, unit_price, qty_reserved, qty_shipped, qty_cancelled,
                             qty_backordered, qty_returned, status, cancel_reason, discount_amount, tax_amount)
SELECT gl.order_id, gl.line_no, k.id, gl.qty, gl.unit_price,
       CASE WHEN g.cancelled OR s.shipped THEN 0 ELSE gl.qty - gl.cut::integer END,
       CASE WHEN s.shipped THEN gl.qty - gl.cut::integer ELSE 0 END,
       CASE WHEN g.cancelled THEN gl.qty ELSE gl.cut::integer END,
       0, 0,
       CASE WHEN g.cancelled THEN 'cancelled' WHEN s.delivered THEN 'delivered' WHEN s.shipped THEN 'shipped'
            ELSE 'reserved' END,
       CASE WHEN g.cancelled OR gl.cut THEN 'customer' END,
       gl.discount, gl.tax
  FROM gl JOIN g ON g.order_id = gl.order_id JOIN oms.sku k ON k.code = gl.sku
 CROSS JOIN LATERAL (SELECT CASE WHEN gl.parcel = 1 THEN g.shipped_at ELSE g.shipped2_at END IS NOT NULL AS shipped,
                            CASE WHEN gl.parcel = 1 THEN g.delivered_at ELSE g.delivered2_at END IS NOT NULL AS delivered) s;

INSERT INTO oms.order_cancellation (order_id, line_no, qty, reason, cancelled_at)
SELECT gl.order_id, gl.line_no, 1, 'customer', gl.cut_at FROM gl WHERE gl.cut ORDER BY gl.order_id, gl.line_no;
INSERT INTO oms.order_cancellation (order_id, line_no, qty, reason, cancelled_at)
SELECT gl.order_id, gl.line_no, gl.qty, 'customer', g.cancelled_at
  FROM gl JOIN g ON g.order_id = gl.order_id WHERE g.cancelled ORDER BY gl.order_id, gl.line_no;

INSERT INTO oms.orders (order_id, channel_id, external_ref, status, payment_status, ship_to, currency, units,
                        total_amount, options, routing, placed_at, updated_at, cancelled_at, cancel_reason,
                        order_discount, shipping_amount, shipping_tax, shipping_discount)
SELECT g.order_id, c.id, 'G-' || g.order_id,
       CASE WHEN g.cancelled THEN 'cancelled'
            WHEN g.shipped_at IS NULL THEN 'reserved'
            WHEN g.split AND g.shipped2_at IS NULL THEN 'partially_shipped'
            WHEN g.delivered_at IS NOT NULL AND (NOT g.split OR g.delivered2_at IS NOT NULL) THEN 'delivered'
            ELSE 'shipped' END,
       CASE WHEN g.paid_at IS NULL THEN 'unpaid' WHEN g.cancelled THEN 'voided' ELSE 'captured' END,
       jsonb_build_object('country', 'DE', 'latitude', lo.latitude, 'longitude', lo.longitude),
       g.currency, l.units,
       l.total + 4.90 + 0.93 - CASE WHEN g.net >= 50 THEN 4.90 ELSE 0 END,
       jsonb_build_object('currency', g.currency,
                          'shipping', jsonb_build_object('price', 4.90, 'tax', 0.93,
                                                         'discount', CASE WHEN g.net >= 50 THEN 4.90 ELSE 0 END)),
       json_build_object('attempts', 1,
                         'objective', json_build_object('shipments', 1, 'distance_km', 0, 'cost', lo.shipping_cost_fixed)),
       g.placed_at, coalesce(g.delivered2_at, g.delivered_at, g.shipped2_at, g.shipped_at, g.cancelled_at, g.placed_at),
       g.cancelled_at, CASE WHEN g.cancelled THEN 'customer' END,
       0, 4.90, 0.93, CASE WHEN g.net >= 50 THEN 4.90 ELSE 0 END
  FROM g
  JOIN oms.channel c ON c.code = g.channel
  JOIN oms.location lo ON lo.code = format('L%s', lpad(g.loc::text, 2, '0'))
  JOIN (SELECT order_id, sum(qty) AS units, sum(qty * unit_price - discount + tax) AS total FROM gl GROUP BY 1) l
    ON l.order_id = g.order_id;

INSERT INTO oms.order_ref (channel_id, external_ref, order_id, payload_hash)
SELECT o.channel_id, o.external_ref, o.order_id, md5(o.order_id::text)
  FROM oms.orders o JOIN g ON g.order_id = o.order_id;

-- Parcels: ids in the order real.sql creates them (every first parcel, then every second).
CREATE TEMP TABLE gs AS
SELECT g.order_id, p.parcel,
       (SELECT id FROM oms.location WHERE code = format('L%s', lpad(g.loc::text, 2, '0'))) AS location_id,
       CASE WHEN p.parcel = 1 THEN g.shipped_at ELSE g.shipped2_at END AS shipped_at,
       CASE WHEN p.parcel = 1 THEN g.delivered_at ELSE g.delivered2_at END AS delivered_at
  FROM g CROSS JOIN LATERAL (SELECT 1 AS parcel UNION ALL SELECT 2 WHERE g.split) p
 WHERE (CASE WHEN p.parcel = 1 THEN g.shipped_at ELSE g.shipped2_at END) IS NOT NULL;
ALTER TABLE gs ADD PRIMARY KEY (order_id, parcel), ADD COLUMN id bigint;
ANALYZE gs;
UPDATE gs SET id = x.id
  FROM (SELECT order_id, parcel, nextval('oms.shipment_id_seq') AS id
          FROM (SELECT order_id, parcel FROM gs ORDER BY parcel, order_id) o) x
 WHERE x.order_id = gs.order_id AND x.parcel = gs.parcel;
INSERT INTO oms.shipment (order_id, id, location_id, status, carrier, tracking_number, status_at, created_at,
                          shipped_at, delivered_at)
SELECT order_id, id, location_id, CASE WHEN delivered_at IS NOT NULL THEN 'delivered' ELSE 'shipped' END,
       'DHL', 'JJD' || order_id || '-' || parcel, coalesce(delivered_at, shipped_at), shipped_at - interval '1 hour',
       shipped_at, delivered_at
  FROM gs;
INSERT INTO oms.shipment_line (shipment_id, line_no, order_id, qty)
SELECT gs.id, gl.line_no, gl.order_id, gl.qty - gl.cut::integer
  FROM gl JOIN gs ON gs.order_id = gl.order_id AND gs.parcel = gl.parcel;

-- Payments: authorized and captured a minute after the order (the whole total), a cancellation voids.
INSERT INTO oms.payment (order_id, id, kind, amount, created_at, created_by)
SELECT o.order_id, nextval('oms.payment_id_seq'), k.kind, o.total_amount,
       CASE WHEN k.kind = 'void' THEN g.cancelled_at ELSE g.paid_at END, current_user
  FROM (SELECT * FROM g ORDER BY order_id) g JOIN oms.orders o ON o.order_id = g.order_id
 CROSS JOIN LATERAL (SELECT 'authorize' AS kind UNION ALL SELECT CASE WHEN g.cancelled THEN 'void' ELSE 'capture' END) k
 WHERE g.paid_at IS NOT NULL;

-- Returns: a unit of the line requested, received (restocked, or damaged
-- when it arrived broken) and refunded, as request_return, receive_return
-- and record_payment write them; ids in the order real.sql makes them.
CREATE TEMP TABLE gr AS
SELECT gl.order_id, gl.line_no, gl.returned_at AS at, k.id AS sku_id, gl.qty, gl.unit_price, gl.discount, gl.tax,
       lo.id AS location_id, rr.id AS reason_id, gl.how BETWEEN 0.4 AND 0.6 AS damaged,
       row_number() OVER (ORDER BY gl.returned_at, gl.order_id, gl.line_no) AS n
  FROM gl JOIN g ON g.order_id = gl.order_id
  JOIN oms.sku k ON k.code = gl.sku
  JOIN oms.location lo ON lo.code = format('L%s', lpad(g.loc::text, 2, '0'))
  LEFT JOIN oms.return_reason rr ON rr.code = CASE WHEN gl.how < 0.4 THEN 'too_small' WHEN gl.how < 0.6 THEN 'broken' END
 WHERE gl.returned;
ALTER TABLE gr ADD PRIMARY KEY (n), ADD COLUMN return_id bigint, ADD COLUMN receipt_id bigint, ADD COLUMN movement_id bigint;
ANALYZE gr;
UPDATE gr SET return_id = x.r, receipt_id = x.c
  FROM (SELECT n, nextval('oms.return_id_seq') AS r, nextval('oms.return_receipt_id_seq') AS c
          FROM (SELECT n FROM gr ORDER BY n) o) x
 WHERE x.n = gr.n;
UPDATE gr SET movement_id = nextval('oms.stock_movement_id_seq') WHERE NOT damaged;
INSERT INTO oms.returns (order_id, return_id, kind, status, resolution, return_location_id, window_days,
                         refund_status, requested_at, authorized_at, received_at, updated_at, created_by)
SELECT order_id, return_id, 'return', 'received', 'refund', location_id, 3650, 'pending', at, at, at, at, current_user
  FROM gr;
INSERT INTO oms.return_ref (return_id, order_id) SELECT return_id, order_id FROM gr;
INSERT INTO oms.return_line (order_id, return_id, line_no, sku_id, reason_id, qty_requested, qty_received,
                             qty_restocked, qty_damaged, unit_amount)
SELECT order_id, return_id, line_no, sku_id, reason_id, 1, 1, (NOT damaged)::integer, damaged::integer,
       trunc((qty * unit_price - discount + tax) / qty, 4)
  FROM gr;
INSERT INTO oms.return_receipt (order_id, id, return_id, line_no, sku_id, qty, disposition, location_id,
                                movement_id, received_at, created_by)
SELECT order_id, receipt_id, return_id, line_no, sku_id, 1, CASE WHEN damaged THEN 'damaged' ELSE 'restock' END,
       location_id, movement_id, at, current_user
  FROM gr;
UPDATE oms.order_lines l SET qty_returned = l.qty_returned + 1 FROM gr WHERE gr.order_id = l.order_id AND gr.line_no = l.line_no;
INSERT INTO oms.payment (order_id, id, kind, amount, created_at, created_by)
SELECT order_id, nextval('oms.payment_id_seq'), 'refund', round(unit_price - discount / qty, 2), at, current_user
  FROM (SELECT * FROM gr ORDER BY n) gr;
UPDATE oms.orders o SET payment_status = 'partially_refunded' WHERE o.order_id IN (SELECT order_id FROM gr);

SELECT setval('oms.order_id_seq', (SELECT max(order_id) FROM g));
RESET session_replication_role;
