--
-- test/bench/report/gen.sql — the bulk path of the reporting benchmark:
-- :last - :first + 1 orders over the last :days days (ids after the highest in use), written straight into
-- the tables the reporting views read (orders, order_lines, shipment,
-- shipment_line, payment, and the first events of backordered lines) with
-- the values oms's functions write there, in the proportions of a shop:
-- channels WEB 60 %, APP 30 %, MKT 10 %; 1 to 3 lines of SKUs of skewed
-- popularity; 20 % of lines discounted; 2 % of lines backordered at first;
-- 4 % of orders cancelled before shipping; the rest shipped 1 to 90 hours
-- after the order (8 % split over two warehouses), delivered 12 to 120
-- hours later; 4 % of delivered lines with a unit returned and refunded.
-- Orders of the last days are still reserved or in transit.
--
-- It is not the real functions: no reservation, stock ledger, outbox or
-- routing explanation beyond its objective is written (those are not what
-- reports read), so oms.check_invariants() does not hold on these orders.
-- The rollups are computed afterwards (oms.report_rebuild()).
--
SET session_replication_role = replica;
SELECT setseed(:seed);
-- Order ids follow the highest one in use (orders placed through oms.place_order included).
SELECT greatest(coalesce(max(order_id), 0), (SELECT last_value FROM oms.order_id_seq)) AS base FROM oms.orders \gset

CREATE TEMP TABLE g AS
SELECT i AS order_id,
       (SELECT id FROM oms.channel WHERE code = CASE WHEN r.c < 0.6 THEN 'WEB' WHEN r.c < 0.9 THEN 'APP' ELSE 'MKT' END) AS channel_id,
       CASE WHEN r.c > 0.97 THEN 'USD' ELSE 'EUR' END AS currency,
       now() - r.age * interval '1 day' * :days AS placed_at,
       1 + floor(r.n * 3)::integer AS nlines,
       r.x < 0.04 AS cancelled,
       r.s < 0.08 AS split,
       1 + floor(89 * r.h ^ 2) AS ship_hours,
       12 + floor(108 * r.d) AS deliver_hours,
       1 + floor(r.l1 * 10)::integer AS loc1,
       1 + floor(r.l2 * 10)::integer AS loc2,
       1 + floor(random() * 3)::integer AS attempts_pick
  FROM generate_series(:base + 1, :base + :last - :first + 1) i
 CROSS JOIN LATERAL (SELECT random() AS c, random() AS age, random() AS n, random() AS x, random() AS s,
                            random() AS h, random() AS d, random() AS l1, random() AS l2, i AS dummy) r;
ALTER TABLE g ADD PRIMARY KEY (order_id);
UPDATE g SET loc2 = 1 + loc1 % 10 WHERE loc2 = loc1;

CREATE TEMP TABLE gl AS
SELECT g.order_id, n AS line_no,
       1 + floor((random() ^ 2) * :nskus)::bigint AS sku_no,
       1 + floor(random() * 3)::integer AS qty,
       random() < 0.2 AS discounted,
       random() < 0.02 AS backordered,
       random() < 0.04 AS returned
  FROM g CROSS JOIN LATERAL generate_series(1, g.nlines) n;
ALTER TABLE gl ADD COLUMN sku_id bigint, ADD COLUMN unit_price numeric, ADD COLUMN discount numeric, ADD COLUMN tax numeric;
UPDATE gl SET sku_id = s.id, unit_price = 4.99 + (s.id % 90)
  FROM oms.sku s WHERE s.code = 'SKU-' || gl.sku_no;
UPDATE gl SET discount = CASE WHEN discounted THEN round(qty * unit_price * 0.1, 2) ELSE 0 END;
UPDATE gl SET tax = round((qty * unit_price - discount) * 0.19, 2);

-- What happened to each order by now.
ALTER TABLE g ADD COLUMN shipped_at timestamptz, ADD COLUMN shipped2_at timestamptz,
              ADD COLUMN delivered_at timestamptz, ADD COLUMN delivered2_at timestamptz;
UPDATE g SET shipped_at = placed_at + ship_hours * interval '1 hour' WHERE NOT cancelled;
UPDATE g SET shipped_at = NULL WHERE shipped_at > now();
UPDATE g SET split = false WHERE nlines = 1;
UPDATE g SET shipped2_at = shipped_at + interval '5 hours' WHERE split AND shipped_at IS NOT NULL;
UPDATE g SET shipped2_at = NULL WHERE shipped2_at > now();
UPDATE g SET delivered_at = shipped_at + deliver_hours * interval '1 hour';
UPDATE g SET delivered_at = NULL WHERE delivered_at > now();
UPDATE g SET delivered2_at = shipped2_at + deliver_hours * interval '1 hour';
UPDATE g SET delivered2_at = NULL WHERE delivered2_at > now();
-- A line ships in the second parcel of a split order when it is not line 1.
ALTER TABLE gl ADD COLUMN parcel integer;
UPDATE gl SET parcel = CASE WHEN g.split AND gl.line_no > 1 THEN 2 ELSE 1 END FROM g WHERE g.order_id = gl.order_id;
ALTER TABLE gl ADD COLUMN shipped boolean, ADD COLUMN delivered boolean;
UPDATE gl SET shipped = CASE WHEN parcel = 1 THEN g.shipped_at IS NOT NULL ELSE g.shipped2_at IS NOT NULL END,
              delivered = CASE WHEN parcel = 1 THEN g.delivered_at IS NOT NULL ELSE g.delivered2_at IS NOT NULL END
  FROM g WHERE g.order_id = gl.order_id;
UPDATE gl SET returned = returned AND delivered;

INSERT INTO oms.order_lines (order_id, line_no, sku_id, qty, unit_price, qty_reserved, qty_shipped, qty_cancelled,
                             qty_backordered, qty_returned, status, cancel_reason, discount_amount, tax_amount)
SELECT gl.order_id, gl.line_no, gl.sku_id, gl.qty, gl.unit_price,
       CASE WHEN g.cancelled OR gl.shipped THEN 0 ELSE gl.qty END,
       CASE WHEN gl.shipped THEN gl.qty ELSE 0 END,
       CASE WHEN g.cancelled THEN gl.qty ELSE 0 END,
       0,
       CASE WHEN gl.returned THEN 1 ELSE 0 END,
       CASE WHEN g.cancelled THEN 'cancelled' WHEN gl.delivered THEN 'delivered' WHEN gl.shipped THEN 'shipped'
            ELSE 'reserved' END,
       CASE WHEN g.cancelled THEN 'customer' END,
       gl.discount, gl.tax
  FROM gl JOIN g ON g.order_id = gl.order_id;

INSERT INTO oms.orders (order_id, channel_id, external_ref, status, payment_status, currency, units, total_amount,
                        options, routing, placed_at, updated_at, cancelled_at, cancel_reason,
                        order_discount, shipping_amount, shipping_tax, shipping_discount)
SELECT g.order_id, g.channel_id, 'G-' || g.order_id,
       CASE WHEN g.cancelled THEN 'cancelled'
            WHEN g.shipped_at IS NULL THEN 'reserved'
            WHEN g.split AND g.shipped2_at IS NULL THEN 'partially_shipped'
            WHEN g.delivered_at IS NOT NULL AND (NOT g.split OR g.delivered2_at IS NOT NULL) THEN 'delivered'
            ELSE 'shipped' END,
       CASE WHEN g.cancelled THEN 'voided' WHEN l.returned > 0 THEN 'partially_refunded' ELSE 'captured' END,
       g.currency, l.units,
       l.total + 4.90 + 0.93 - CASE WHEN l.net >= 50 THEN 4.90 ELSE 0 END,
       '{}',
       json_build_object('strategy', 'fewest_shipments', 'search', 'exact', 'attempts', CASE WHEN g.attempts_pick = 3 AND g.order_id % 20 = 0 THEN 2 ELSE 1 END,
                         'objective', json_build_object('units', l.units, 'shipments', CASE WHEN g.split THEN 2 ELSE 1 END,
                                                        'distance_km', 100 + g.order_id % 400, 'cost', 4 + (g.order_id % 400) * 0.01)),
       g.placed_at, coalesce(g.delivered_at, g.shipped_at, g.placed_at),
       CASE WHEN g.cancelled THEN g.placed_at + interval '1 hour' END,
       CASE WHEN g.cancelled THEN 'customer' END,
       0, 4.90, 0.93, CASE WHEN l.net >= 50 THEN 4.90 ELSE 0 END
  FROM g
  JOIN (SELECT order_id, sum(qty) AS units, sum(qty * unit_price - discount) AS net,
               sum(qty * unit_price - discount + tax) AS total, count(*) FILTER (WHERE returned) AS returned
          FROM gl GROUP BY order_id) l ON l.order_id = g.order_id;

INSERT INTO oms.order_ref (channel_id, external_ref, order_id, payload_hash)
SELECT channel_id, 'G-' || order_id, order_id, md5(order_id::text) FROM g;

-- First events of lines placed as backorders (what the routing view reads).
INSERT INTO oms.order_event (order_id, id, entity, entity_id, from_status, to_status, at, created_by)
SELECT gl.order_id, nextval('oms.order_event_id_seq'), 'line', gl.line_no, NULL, 'backordered', g.placed_at, 'bench'
  FROM gl JOIN g ON g.order_id = gl.order_id WHERE gl.backordered;

-- Parcels.
CREATE TEMP TABLE gs AS
SELECT g.order_id, p.parcel, nextval('oms.shipment_id_seq') AS id,
       (SELECT id FROM oms.location WHERE code = format('L%s', lpad((CASE WHEN p.parcel = 1 THEN g.loc1 ELSE g.loc2 END)::text, 2, '0'))) AS location_id,
       CASE WHEN p.parcel = 1 THEN g.shipped_at ELSE g.shipped2_at END AS shipped_at,
       CASE WHEN p.parcel = 1 THEN g.delivered_at ELSE g.delivered2_at END AS delivered_at
  FROM g CROSS JOIN LATERAL (SELECT 1 AS parcel UNION ALL SELECT 2 WHERE g.split) p
 WHERE (CASE WHEN p.parcel = 1 THEN g.shipped_at ELSE g.shipped2_at END) IS NOT NULL;
INSERT INTO oms.shipment (order_id, id, location_id, status, carrier, tracking_number, status_at, created_at, shipped_at, delivered_at)
SELECT order_id, id, location_id, CASE WHEN delivered_at IS NOT NULL THEN 'delivered' ELSE 'in_transit' END,
       'DHL', 'JJD' || id, coalesce(delivered_at, shipped_at), shipped_at - interval '1 hour', shipped_at, delivered_at
  FROM gs;
INSERT INTO oms.shipment_line (shipment_id, line_no, order_id, qty)
SELECT gs.id, gl.line_no, gl.order_id, gl.qty
  FROM gl JOIN gs ON gs.order_id = gl.order_id AND gs.parcel = gl.parcel;

-- Payments: authorized and captured at the order, voided when cancelled, a unit refunded per returned line.
INSERT INTO oms.payment (order_id, id, kind, amount, created_at, created_by)
SELECT o.order_id, nextval('oms.payment_id_seq'), k.kind, o.total_amount, o.placed_at + interval '1 minute', 'bench'
  FROM oms.orders o JOIN g ON g.order_id = o.order_id
 CROSS JOIN LATERAL (SELECT 'authorize' AS kind UNION ALL SELECT CASE WHEN g.cancelled THEN 'void' ELSE 'capture' END) k;
INSERT INTO oms.payment (order_id, id, kind, amount, created_at, created_by)
SELECT gl.order_id, nextval('oms.payment_id_seq'), 'refund', round(gl.unit_price - gl.discount / gl.qty, 2),
       least(CASE WHEN gl.parcel = 1 THEN g.delivered_at ELSE g.delivered2_at END + interval '3 days', now()), 'bench'
  FROM gl JOIN g ON g.order_id = gl.order_id WHERE gl.returned;

SELECT setval('oms.order_id_seq', (SELECT max(order_id) FROM g));
RESET session_replication_role;
-- The orders to fold into the rollups.
SELECT min(order_id) AS gen_first, max(order_id) AS gen_last FROM g;
