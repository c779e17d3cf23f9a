--
-- Reporting for BI tools (schema oms_report): every view's figures against
-- an oracle, plain SQL over the base tables that does not go through the
-- rollups, on a shop generated through the real functions, after
-- cancellations, partial shipments, deliveries, returns and refunds, with
-- orders folded into the rollups, not yet folded, and partly folded; a
-- rebuild from scratch gives the rollups compaction built; the views' types
-- and comments; the reporting role; errors.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never
SET timezone = 'UTC';

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web'), ('APP', 'App', 'app');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, shipping_cost_fixed, shipping_cost_per_km) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 10, 4, 0.01),
    ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 5, 3, 0.02),
    ('MUC', 'Munich', 'warehouse', 48.137, 11.575, 1, 5, 0.01);
INSERT INTO oms.sku (code, name) VALUES
    ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('MUG', 'Mug'), ('PEN', 'Pen'), ('BAG', 'Bag');
INSERT INTO oms.return_reason (code, label, resellable) VALUES ('too_small', 'Too small', true), ('broken', 'Arrived broken', false);
SELECT count(*) AS receipts FROM (
    SELECT oms.receive_stock(s, l, q) FROM (VALUES
        ('TEE', 'BER', 30), ('TEE', 'HAM', 10), ('CAP', 'BER', 8), ('CAP', 'MUC', 8), ('MUG', 'HAM', 12),
        ('PEN', 'MUC', 20), ('BAG', 'BER', 3), ('BAG', 'HAM', 3)) AS v(s, l, q)) r;

-- Mismatches between a view's rows and the oracle's, both ways.
CREATE FUNCTION pg_temp.diff(view_sql text, oracle_sql text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) x',
                   view_sql, oracle_sql, oracle_sql, view_sql) INTO n;
    RETURN n;
END
$$;

-- The oracles: the definitions of README, "Reporting", straight from the tables.
CREATE VIEW pg_temp.line_sums AS
SELECT order_id, sum(qty * unit_price) AS gross, sum(discount_amount) AS discount, sum(tax_amount) AS tax,
       sum(qty_cancelled) AS cancelled, sum(qty_returned) AS returned,
       sum(round((qty * unit_price - discount_amount) * qty_returned / qty, 4)) AS returns
  FROM oms.order_lines GROUP BY order_id;
-- Sales: an order's units and money on the day it was placed, an order
-- cancelled as a whole on its cancelled_at, cancelled units on the day of
-- their cancellation, refunds on the day they were recorded.
CREATE VIEW pg_temp.sales_oracle AS
SELECT x.d AS sales_date, c.code AS channel, x.cur AS currency,
       sum(x.orders) AS orders, sum(x.units) AS units, sum(x.gross) AS gross_sales, sum(x.discounts) AS discounts,
       sum(x.tax) AS tax, sum(x.shipping) AS shipping, sum(x.returns) AS returns,
       sum(x.gross) - sum(x.discounts) - sum(x.returns) AS net_sales,
       round((sum(x.gross) - sum(x.discounts) - sum(x.returns)) / nullif(sum(x.orders), 0), 2) AS average_order_value,
       sum(x.cancelled_orders) AS cancelled_orders, sum(x.cancelled_units) AS cancelled_units,
       sum(x.returned_units) AS returned_units, sum(x.refunds) AS refunds
  FROM (SELECT o.placed_at::date AS d, o.channel_id AS ch, o.currency::text AS cur, 1 AS orders, o.units,
               s.gross, s.discount + o.order_discount AS discounts, s.tax + o.shipping_tax AS tax,
               o.shipping_amount - o.shipping_discount AS shipping, s.returns, 0 AS cancelled_orders,
               0 AS cancelled_units, s.returned AS returned_units, 0 AS refunds
          FROM oms.orders o JOIN pg_temp.line_sums s ON s.order_id = o.order_id
        UNION ALL
        SELECT o.cancelled_at::date, o.channel_id, o.currency::text, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0
          FROM oms.orders o WHERE o.cancelled_at IS NOT NULL
        UNION ALL
        SELECT k.cancelled_at::date, o.channel_id, o.currency::text, 0, 0, 0, 0, 0, 0, 0, 0, k.qty, 0, 0
          FROM oms.order_cancellation k JOIN oms.orders o ON o.order_id = k.order_id
        UNION ALL
        SELECT p.created_at::date, o.channel_id, o.currency::text, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, p.amount
          FROM oms.payment p JOIN oms.orders o ON o.order_id = p.order_id
         WHERE p.kind = 'refund') x
  JOIN oms.channel c ON c.id = x.ch
 GROUP BY 1, 2, 3;
CREATE VIEW pg_temp.products_oracle AS
SELECT d AS sales_date, c.code AS channel, k.code AS sku, sum(ordered) AS units_ordered, sum(shipped) AS units_shipped,
       sum(cancelled) AS units_cancelled, sum(returned) AS units_returned, sum(lines) AS order_lines,
       sum(net) AS net_revenue
  FROM (SELECT o.placed_at::date AS d, o.channel_id AS ch, l.sku_id, l.qty AS ordered, 0 AS shipped,
               0 AS cancelled, l.qty_returned AS returned, 1 AS lines,
               round((l.qty * l.unit_price - l.discount_amount) * (l.qty - l.qty_cancelled - l.qty_returned) / l.qty, 4) AS net
          FROM oms.order_lines l JOIN oms.orders o ON o.order_id = l.order_id
        UNION ALL
        SELECT kc.cancelled_at::date, o.channel_id, l.sku_id, 0, 0, kc.qty, 0, 0, 0
          FROM oms.order_cancellation kc JOIN oms.order_lines l ON l.order_id = kc.order_id AND l.line_no = kc.line_no
          JOIN oms.orders o ON o.order_id = kc.order_id
        UNION ALL
        SELECT s.shipped_at::date, o.channel_id, l.sku_id, 0, sl.qty, 0, 0, 0, 0
          FROM oms.shipment s JOIN oms.shipment_line sl ON sl.shipment_id = s.id
          JOIN oms.order_lines l ON l.order_id = sl.order_id AND l.line_no = sl.line_no
          JOIN oms.orders o ON o.order_id = s.order_id
         WHERE s.shipped_at IS NOT NULL) x
  JOIN oms.channel c ON c.id = x.ch JOIN oms.sku k ON k.id = x.sku_id
 GROUP BY 1, 2, 3;
-- Whole hours as the fulfilment percentiles report them: exact below 32,
-- above it the highest hour of its sixteenth of a doubling (w hours wide,
-- w = 2^(bits - 5)), written here without the C of oms.report_bucket_hours.
CREATE FUNCTION pg_temp.bucketed(h integer) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN h < 32 THEN greatest(h, 0)
                ELSE (h::bigint / w + 1) * w - 1 END
      FROM (SELECT (1 << (length(ltrim(h::bit(32)::text, '0')) - 5)) AS w) x
$$;
CREATE VIEW pg_temp.shipped AS
SELECT s.*, o.placed_at, l.code AS location,
       (SELECT sum(sl.qty) FROM oms.shipment_line sl WHERE sl.shipment_id = s.id) AS units,
       (SELECT count(*) FROM oms.shipment_line sl WHERE sl.shipment_id = s.id) AS lines,
       (SELECT count(*) FROM oms.shipment_line sl JOIN oms.order_lines ol
                      ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no
         WHERE sl.shipment_id = s.id AND ol.qty_shipped = ol.qty) AS filled,
       (SELECT count(*) FROM oms.shipment x WHERE x.order_id = s.order_id AND x.shipped_at IS NOT NULL) > 1 AS split,
       pg_temp.bucketed(ceil(extract(epoch FROM s.shipped_at - o.placed_at) / 3600)::integer) AS to_ship,
       CASE WHEN s.delivered_at IS NOT NULL
            THEN pg_temp.bucketed(ceil(extract(epoch FROM s.delivered_at - s.shipped_at) / 3600)::integer) END AS to_deliver
  FROM oms.shipment s JOIN oms.orders o ON o.order_id = s.order_id JOIN oms.location l ON l.id = s.location_id
 WHERE s.shipped_at IS NOT NULL;
CREATE VIEW pg_temp.fulfilment_oracle AS
SELECT shipped_at::date AS ship_date, location, count(DISTINCT order_id) AS orders_shipped, count(*) AS shipments,
       sum(units) AS units_shipped, sum(lines) AS lines_shipped, sum(filled) AS lines_filled,
       round(sum(filled) / sum(lines)::numeric, 4) AS line_fill_rate,
       count(DISTINCT order_id) FILTER (WHERE split) AS split_orders,
       round(count(DISTINCT order_id) FILTER (WHERE split) / count(DISTINCT order_id)::numeric, 4) AS split_shipment_rate,
       count(*) FILTER (WHERE shipped_at <= placed_at + interval '48 hours') AS shipments_on_time,
       round(count(*) FILTER (WHERE shipped_at <= placed_at + interval '48 hours') / count(*)::numeric, 4) AS on_time_ship_rate,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY to_ship)::integer AS p50_hours_to_ship,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY to_ship)::integer AS p90_hours_to_ship,
       count(delivered_at) AS shipments_delivered,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY to_deliver)::integer AS p50_hours_to_deliver,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY to_deliver)::integer AS p90_hours_to_deliver
  FROM pg_temp.shipped GROUP BY 1, 2;
CREATE VIEW pg_temp.stock_oracle AS
SELECT v.sku, v.location, v.on_hand, v.reserved, v.held, v.available,
       coalesce((SELECT sum(sl.qty) FROM oms.shipment s JOIN oms.shipment_line sl ON sl.shipment_id = s.id
                   JOIN oms.order_lines l ON l.order_id = sl.order_id AND l.line_no = sl.line_no
                   JOIN oms.sku k ON k.id = l.sku_id JOIN oms.location lo ON lo.id = s.location_id
                  WHERE k.code = v.sku AND lo.code = v.location
                    AND s.shipped_at::date > current_date - 28), 0) AS units_shipped_28d,
       v.available = 0 AS is_stock_out
  FROM oms.v_stock v;
CREATE VIEW pg_temp.routing_oracle AS
SELECT o.placed_at::date AS order_date, c.code AS channel, count(*) AS orders, count(o.routing) AS routed_orders,
       sum((o.routing::jsonb #>> '{objective,shipments}')::integer) AS planned_shipments,
       count(*) FILTER (WHERE (o.routing::jsonb ->> 'attempts')::integer > 1) AS rerouted_orders,
       sum((SELECT count(*) FROM oms.order_event e WHERE e.order_id = o.order_id AND e.entity = 'line'
                                                     AND e.from_status IS NULL AND e.to_status = 'backordered')) AS backordered_lines,
       sum((SELECT count(*) FROM oms.order_lines l WHERE l.order_id = o.order_id)) AS order_lines,
       sum((o.routing::jsonb #>> '{objective,distance_km}')::numeric) AS distance_km,
       sum((o.routing::jsonb #>> '{objective,cost}')::numeric) AS shipping_cost
  FROM oms.orders o JOIN oms.channel c ON c.id = o.channel_id
 GROUP BY 1, 2;
CREATE VIEW pg_temp.returns_oracle AS
SELECT coalesce(r.m, s.m) AS month, k.code AS sku, r.reason, coalesce(r.returned, 0) AS returned_units,
       coalesce(s.shipped, 0) AS shipped_units
  FROM (SELECT date_trunc('month', sh.shipped_at)::date AS m, l.sku_id, sum(sl.qty) AS shipped
          FROM oms.shipment sh JOIN oms.shipment_line sl ON sl.shipment_id = sh.id
          JOIN oms.order_lines l ON l.order_id = sl.order_id AND l.line_no = sl.line_no
         WHERE sh.shipped_at IS NOT NULL GROUP BY 1, 2) s
  FULL JOIN (SELECT date_trunc('month', rc.received_at)::date AS m, rc.sku_id, coalesce(rr.code, 'unspecified') AS reason,
                    sum(rc.qty) AS returned
               FROM oms.return_receipt rc
               JOIN oms.return_line rl ON rl.order_id = rc.order_id AND rl.return_id = rc.return_id AND rl.line_no = rc.line_no
               LEFT JOIN oms.return_reason rr ON rr.id = rl.reason_id
              WHERE NOT rc.from_quarantine GROUP BY 1, 2, 3) r ON r.m = s.m AND r.sku_id = s.sku_id
  JOIN oms.sku k ON k.id = coalesce(r.sku_id, s.sku_id);

-- Every view against its oracle: 0 rows differ.
CREATE FUNCTION pg_temp.check_views() RETURNS TABLE (view text, has_rows boolean, differ bigint)
LANGUAGE sql AS $$
    SELECT 'sales_daily', (SELECT count(*) > 0 FROM oms_report.sales_daily),
           pg_temp.diff('SELECT sales_date, channel, currency, orders, units, gross_sales, discounts, tax, shipping,
                                returns, net_sales, average_order_value, cancelled_orders, cancelled_units,
                                returned_units, refunds FROM oms_report.sales_daily',
                        'SELECT * FROM pg_temp.sales_oracle')
    UNION ALL
    SELECT 'product_sales_daily', (SELECT count(*) > 0 FROM oms_report.product_sales_daily),
           pg_temp.diff('SELECT sales_date, channel, sku, units_ordered, units_shipped, units_cancelled, units_returned,
                                order_lines, net_revenue FROM oms_report.product_sales_daily',
                        'SELECT * FROM pg_temp.products_oracle')
    UNION ALL
    SELECT 'fulfilment_daily', (SELECT count(*) > 0 FROM oms_report.fulfilment_daily),
           pg_temp.diff('SELECT ship_date, location, orders_shipped, shipments, units_shipped, lines_shipped, lines_filled,
                                line_fill_rate, split_orders, split_shipment_rate, shipments_on_time, on_time_ship_rate,
                                p50_hours_to_ship, p90_hours_to_ship, shipments_delivered, p50_hours_to_deliver,
                                p90_hours_to_deliver FROM oms_report.fulfilment_daily',
                        'SELECT * FROM pg_temp.fulfilment_oracle')
    UNION ALL
    SELECT 'stock_health', (SELECT count(*) > 0 FROM oms_report.stock_health),
           pg_temp.diff('SELECT sku, location, on_hand, reserved, held, available, units_shipped_28d, is_stock_out
                           FROM oms_report.stock_health',
                        'SELECT * FROM pg_temp.stock_oracle')
    UNION ALL
    SELECT 'returns_monthly', (SELECT count(*) > 0 FROM oms_report.returns_monthly),
           pg_temp.diff('SELECT month, sku, reason, returned_units, shipped_units FROM oms_report.returns_monthly',
                        'SELECT * FROM pg_temp.returns_oracle')
    UNION ALL
    SELECT 'routing_daily', (SELECT count(*) > 0 FROM oms_report.routing_daily),
           pg_temp.diff('SELECT order_date, channel, orders, routed_orders, planned_shipments, rerouted_orders,
                                backordered_lines, order_lines, distance_km, shipping_cost FROM oms_report.routing_daily',
                        'SELECT * FROM pg_temp.routing_oracle')
    UNION ALL
    SELECT 'order_facts', (SELECT count(*) > 0 FROM oms_report.order_facts),
           pg_temp.diff('SELECT order_id, status, units_ordered, units_cancelled, units_shipped, gross_sales, total,
                                refunded, shipments FROM oms_report.order_facts',
                        $q$SELECT o.order_id, o.status::text, o.units::bigint, s.cancelled, (SELECT sum(qty_shipped) FROM oms.order_lines l WHERE l.order_id = o.order_id),
                                s.gross, o.total_amount::numeric,
                                (SELECT coalesce(sum(amount), 0) FROM oms.payment p WHERE p.order_id = o.order_id AND p.kind = 'refund'),
                                (SELECT count(*) FROM oms.shipment sh WHERE sh.order_id = o.order_id AND sh.shipped_at IS NOT NULL)
                           FROM oms.orders o JOIN pg_temp.line_sums s ON s.order_id = o.order_id$q$)
$$;
-- Where the figures come from right now: orders noted as changed, rows of the rollups.
CREATE FUNCTION pg_temp.state() RETURNS TABLE (noted_orders bigint, rollup_rows bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(DISTINCT order_id) FROM oms.report_dirty), (SELECT count(*) FROM oms.report_rollup)
$$;

--
-- 60 orders over two channels and two currencies, some with discounts, tax,
-- shipping and an order discount, some short of stock (backordered).  They
-- were placed over the last 12 days: the test moves placed_at back, before
-- anything is folded in.
--
SELECT count(*) AS placed FROM (
    SELECT oms.place_order(CASE WHEN i % 3 = 0 THEN 'APP' ELSE 'WEB' END, 'T-' || i,
               jsonb_build_array(jsonb_build_object('sku', (ARRAY['TEE', 'CAP', 'MUG', 'PEN', 'BAG'])[1 + i % 5],
                                                    'qty', 1 + i % 3, 'unit_price', 10 + i % 7,
                                                    'discount', (i % 4) / 2.0, 'tax', 1.9))
               || CASE WHEN i % 2 = 0
                       THEN jsonb_build_array(jsonb_build_object('sku', (ARRAY['PEN', 'TEE', 'CAP'])[1 + i % 3],
                                                                 'qty', 1 + i % 2, 'unit_price', 3.35))
                       ELSE '[]' END,
               jsonb_build_object('country', 'DE', 'latitude', 48 + i % 6, 'longitude', 8 + i % 5),
               jsonb_build_object('allow_backorder', true,
                                  'currency', CASE WHEN i % 7 = 0 THEN 'USD' ELSE 'EUR' END,
                                  'shipping', jsonb_build_object('price', 4.9, 'tax', 0.93, 'discount', i % 2),
                                  'order_discount', CASE WHEN i % 5 = 0 THEN 1.5 ELSE 0 END))
      FROM generate_series(1, 60) i) p;
UPDATE oms.orders SET placed_at = placed_at - (order_id % 12) * interval '1 day' - (order_id % 5) * interval '3 hours';
SELECT status, count(*) FROM oms.orders GROUP BY status ORDER BY status;
SELECT * FROM pg_temp.state();
-- Nothing folded in yet: every figure comes from the noted orders.
SELECT * FROM pg_temp.check_views();
SELECT oms.report_compact() AS folded;
SELECT * FROM pg_temp.state();
SELECT * FROM pg_temp.check_views();

--
-- Cancellations (whole orders and parts of lines), shipments (whole orders,
-- parts of them, from two locations), deliveries, and payments with refunds.
--
SELECT count(oms.cancel_order(order_id, 'customer')) AS cancelled
  FROM oms.orders WHERE order_id % 10 = 3;
SELECT count(oms.cancel_line(l.order_id, l.line_no, 1, 'out of season')) AS lines_cut
  FROM oms.order_lines l JOIN oms.orders o ON o.order_id = l.order_id
 WHERE o.order_id % 10 = 4 AND l.qty_reserved >= 2 AND l.line_no = 1;
-- Every reserved unit of the even orders ships, each location its own parcel.
SELECT count(oms.ship(oms.create_shipment(r.order_id, l.code), 'DHL')) AS shipped
  FROM (SELECT DISTINCT order_id, location_id FROM oms.reservation WHERE state = 'held' AND order_id % 2 = 0) r
  JOIN oms.location l ON l.id = r.location_id;
-- Odd orders ship one unit of line 1 only: partial shipments.
SELECT count(oms.ship(oms.create_shipment(r.order_id, l.code, '[{"line_no": 1, "qty": 1}]'), 'UPS')) AS partly_shipped
  FROM (SELECT DISTINCT ON (order_id) order_id, location_id FROM oms.reservation
         WHERE state = 'held' AND order_id % 2 = 1 AND line_no = 1 ORDER BY order_id, location_id) r
  JOIN oms.location l ON l.id = r.location_id;
SELECT count(oms.track(s.id, 'delivered', s.shipped_at + (s.id % 50) * interval '1 hour')) AS delivered
  FROM oms.shipment s WHERE s.id % 3 <> 0 AND s.status = 'shipped';
SELECT count(oms.record_payment(order_id, 'authorize', total_amount)) AS authorized,
       count(oms.record_payment(order_id, 'capture', total_amount)) AS captured
  FROM oms.orders WHERE order_id % 4 = 0;
SELECT count(oms.record_payment(order_id, 'refund', round(total_amount / 3, 2))) AS refunds
  FROM oms.orders WHERE order_id % 8 = 0;
-- A second refund of the same order leaves its payment status partially_refunded.
SELECT count(oms.record_payment(order_id, 'refund', 1)) AS second_refunds
  FROM oms.orders WHERE order_id % 16 = 0;
-- Returns: a unit of line 1 of every sixth order comes back (two reasons, and
-- none); the return of every fifth order is requested but has not arrived.
SELECT count(oms.request_return(l.order_id,
           jsonb_build_array(jsonb_build_object('line_no', l.line_no, 'qty', 1)
                             || CASE l.order_id % 18 WHEN 0 THEN '{"reason": "too_small"}'::jsonb
                                                     WHEN 6 THEN '{"reason": "broken"}' ELSE '{}' END))) AS requested
  FROM oms.order_lines l WHERE l.qty_shipped >= 1 AND l.order_id % 6 = 0 AND l.line_no = 1;
SELECT count(oms.receive_return(r.return_id, jsonb_build_array(jsonb_build_object(
           'line_no', 1, 'qty', 1, 'disposition', CASE WHEN r.order_id % 18 = 6 THEN 'damaged' ELSE 'restock' END))))
       AS received
  FROM oms.returns r WHERE r.order_id % 5 <> 0;
-- Shipments left over the last days too (the first ones 30 hours after the order, on average).
UPDATE oms.shipment SET shipped_at = greatest(shipped_at - (id % 9) * interval '1 day', created_at - interval '11 days'),
                        delivered_at = delivered_at - (id % 9) * interval '1 day'
 WHERE shipped_at IS NOT NULL;
SELECT * FROM pg_temp.state();
SELECT * FROM pg_temp.check_views();

-- Half folded: the rest stays noted.
SELECT oms.report_compact(25) AS folded;
SELECT * FROM pg_temp.state();
SELECT * FROM pg_temp.check_views();
SELECT oms.report_compact() AS folded;
SELECT * FROM pg_temp.state();
SELECT * FROM pg_temp.check_views();

-- Some figures, to read: the oracle agrees with them above.
SELECT reason, sum(returned_units) AS returned FROM oms_report.returns_monthly GROUP BY 1 ORDER BY 1;
SELECT channel, currency, sum(orders) AS orders, sum(units) AS units, sum(gross_sales) AS gross, sum(discounts) AS discounts,
       sum(net_sales) AS net, sum(cancelled_orders) AS cancelled, sum(refunds) AS refunds
  FROM oms_report.sales_daily GROUP BY 1, 2 ORDER BY 1, 2;
SELECT location, sum(shipments) AS shipments, sum(units_shipped) AS units, sum(split_orders) AS split,
       sum(shipments_delivered) AS delivered
  FROM oms_report.fulfilment_daily GROUP BY 1 ORDER BY 1;

-- Compacting again changes nothing; a rebuild from every order gives the same rollups.
SELECT oms.report_compact() AS folded;
CREATE TEMP TABLE before AS SELECT * FROM oms.report_rollup;
SELECT oms.report_rebuild() AS orders;
SELECT count(*) AS rollups_differ FROM (
    (SELECT * FROM before EXCEPT ALL SELECT * FROM oms.report_rollup)
    UNION ALL (SELECT * FROM oms.report_rollup EXCEPT ALL SELECT * FROM before)) x;

-- Plain types for drivers: no json, jsonb or domain in any view; a comment on each view and column.
SELECT c.relname AS view, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
  JOIN pg_type t ON t.oid = a.atttypid
 WHERE c.relnamespace = 'oms_report'::regnamespace
   AND (t.typtype = 'd' OR t.typname IN ('json', 'jsonb') OR col_description(c.oid, a.attnum) IS NULL);
SELECT c.relname AS uncommented FROM pg_class c
 WHERE c.relnamespace = 'oms_report'::regnamespace AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = 'oms_report'::regnamespace ORDER BY 1;

-- The reporting role reads these views and nothing else.
SET client_min_messages = warning;
DROP ROLE IF EXISTS oms_regress_bi;
RESET client_min_messages;
CREATE ROLE oms_regress_bi;
SELECT oms.grant_reporting('oms_regress_bi');
SET ROLE oms_regress_bi;
SELECT count(*) > 0 AS reads_sales FROM oms_report.sales_daily;
SELECT count(*) > 0 AS reads_stock FROM oms_report.stock_health;
SELECT count(*) FROM oms.orders;
SELECT count(*) FROM oms.v_stock;
SELECT oms.report_compact();
RESET ROLE;
DROP OWNED BY oms_regress_bi;
DROP ROLE oms_regress_bi;

-- Hour histograms: buckets exact below 32 hours, then 16 per doubling; any
-- histograms add up bucket by bucket, negated ones take counts out again;
-- percentiles as percentile_disc picks them, read as the bucket's highest hour.
SELECT h, oms.report_hours_bucket(h) AS bucket, oms.report_bucket_hours(oms.report_hours_bucket(h)) AS reads_as,
       pg_temp.bucketed(h) AS oracle
  FROM unnest(ARRAY[-3, 0, 1, 31, 32, 33, 34, 63, 64, 68, 100, 720, 2147483647]) h;
SELECT count(*) AS buckets_differ FROM generate_series(0, 5000) h
 WHERE oms.report_bucket_hours(oms.report_hours_bucket(h)) <> pg_temp.bucketed(h);
SELECT oms.report_hist(5) AS one, oms.report_hist_add(oms.report_hist(5), oms.report_hist(40)) AS two,
       oms.report_hist_add(oms.report_hist_add(oms.report_hist(5), oms.report_hist(40)), oms.report_hist_neg(oms.report_hist(40))) AS back,
       oms.report_hist_add(oms.report_hist(5), oms.report_hist_neg(oms.report_hist(5))) AS empty;
WITH hours AS (SELECT (i * 37) % 200 AS h FROM generate_series(1, 1001) i)
SELECT oms.report_hist_percentile(oms.report_hist_sum(oms.report_hist(h)), 0.5) AS p50,
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY pg_temp.bucketed(h)) FROM hours) AS p50_oracle,
       oms.report_hist_percentile(oms.report_hist_sum(oms.report_hist(h)), 0.9) AS p90,
       (SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY pg_temp.bucketed(h)) FROM hours) AS p90_oracle,
       oms.report_hist_percentile(oms.report_hist_sum(oms.report_hist(h)), 0) AS p0,
       oms.report_hist_percentile(oms.report_hist_sum(oms.report_hist(h)), 1) AS p100
  FROM hours;
SELECT oms.report_hist_sum(h) AS none, oms.report_hist_percentile('{}', 0.5) AS no_percentile
  FROM (SELECT NULL::bigint[] AS h WHERE false) x;
SELECT oms.report_hist_percentile(oms.report_hist(3), 1.5);
SELECT oms.report_hist_percentile('{1,NULL}', 0.5);
SELECT oms.report_hist_add('{{1},{2}}', '{}');
SELECT oms.report_bucket_hours(-1);

-- Errors.
SELECT oms.report_compact(0);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT oms.report_compact();
ROLLBACK;

SELECT * FROM oms.check_invariants();
