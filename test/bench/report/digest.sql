--
-- test/bench/report/digest.sql — one md5 per table the reporting views read
-- (surrogate ids left out, rows in a fixed order), and one per view: what
-- prove.sh compares between a shop loaded by bulk.sql and one loaded by
-- real.sql.  orders.routing is compared by the figures the reports read.
--
SET timezone = 'UTC';
SELECT 'orders' AS what, md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', o.order_id, o.channel_id,
           o.external_ref, o.status, o.payment_status, o.currency, o.units, o.total_amount, o.placed_at, o.cancelled_at,
           o.cancel_reason, o.order_discount, o.shipping_amount, o.shipping_tax, o.shipping_discount, o.fulfilment,
           (o.routing #>> '{objective,shipments}')::numeric, (o.routing #>> '{objective,distance_km}')::numeric,
           (o.routing #>> '{objective,cost}')::numeric || '/' || (o.routing ->> 'attempts')), ';' ORDER BY o.order_id)) AS digest,
       count(*) AS rows FROM oms.orders o
UNION ALL
SELECT 'order_lines', md5(string_agg(format('%s', (l.order_id, l.line_no, l.sku_id, l.qty, l.unit_price, l.qty_reserved,
           l.qty_shipped, l.qty_cancelled, l.qty_backordered, l.qty_returned, l.status, l.cancel_reason,
           l.discount_amount, l.tax_amount, l.qty_in_returns)), ';' ORDER BY l.order_id, l.line_no)), count(*)
  FROM oms.order_lines l
UNION ALL
SELECT 'order_cancellation', md5(string_agg(format('%s', (k.order_id, k.line_no, k.qty, k.reason, k.cancelled_at)), ';'
           ORDER BY k.order_id, k.line_no, k.cancelled_at)), count(*) FROM oms.order_cancellation k
UNION ALL
SELECT 'shipment', md5(string_agg(format('%s', (s.order_id, s.location_id, s.status, s.carrier, s.tracking_number,
           s.created_at, s.shipped_at, s.delivered_at, s.status_at)), ';' ORDER BY s.order_id, s.tracking_number)), count(*)
  FROM oms.shipment s
UNION ALL
SELECT 'shipment_line', md5(string_agg(format('%s', (s.tracking_number, sl.line_no, sl.order_id, sl.qty)), ';'
           ORDER BY s.tracking_number, sl.line_no)), count(*)
  FROM oms.shipment_line sl JOIN oms.shipment s ON s.id = sl.shipment_id
UNION ALL
SELECT 'payment', md5(string_agg(format('%s', (p.order_id, p.kind, p.amount, p.created_at)), ';'
           ORDER BY p.order_id, p.created_at, p.kind, p.amount)), count(*) FROM oms.payment p
UNION ALL
SELECT 'returns', md5(string_agg(format('%s', (r.order_id, r.return_id, r.kind, r.status, r.resolution,
           r.return_location_id, r.window_days, r.refund_status, r.refund_amount, r.requested_at, r.authorized_at,
           r.received_at, r.completed_at)), ';' ORDER BY r.order_id, r.return_id)), count(*) FROM oms.returns r
UNION ALL
SELECT 'return_line', md5(string_agg(format('%s', rl), ';' ORDER BY rl.order_id, rl.return_id, rl.line_no)), count(*)
  FROM oms.return_line rl
UNION ALL
SELECT 'return_receipt', md5(string_agg(format('%s', (rc.order_id, rc.return_id, rc.line_no, rc.sku_id, rc.qty,
           rc.location_id, rc.received_at, rc.from_quarantine)), ';' ORDER BY rc.order_id, rc.return_id, rc.line_no, rc.received_at)), count(*)
  FROM oms.return_receipt rc
UNION ALL
SELECT 'view ' || v, md5(string_agg(r, ';' ORDER BY r)), count(*)
  FROM (SELECT 'sales_daily' AS v, format('%s', s) AS r FROM oms_report.sales_daily s
        UNION ALL SELECT 'product_sales_daily', format('%s', s) FROM oms_report.product_sales_daily s
        UNION ALL SELECT 'fulfilment_daily', format('%s', s) FROM oms_report.fulfilment_daily s
        UNION ALL SELECT 'stock_health', format('%s', (s.sku, s.location, s.units_shipped_28d))
                    FROM oms_report.stock_health s
        UNION ALL SELECT 'returns_monthly', format('%s', s) FROM oms_report.returns_monthly s
        UNION ALL SELECT 'routing_daily', format('%s', s) FROM oms_report.routing_daily s
        UNION ALL SELECT 'order_facts', format('%s', (s.order_id, s.status, s.payment_status, s.units_ordered,
                                                      s.units_cancelled, s.units_shipped, s.units_returned, s.total,
                                                      s.captured, s.refunded, s.first_shipped_at, s.delivered_at,
                                                      s.cancelled_at, s.shipments)) FROM oms_report.order_facts s) x
 GROUP BY v
 ORDER BY 1;
