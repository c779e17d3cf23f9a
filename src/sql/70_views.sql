--
-- Views over stock for oms itself (stock_level) and for people and BI tools
-- (oms.v_*).
--

--
-- Stock as routing and availability see it: per SKU and location, reserved
-- includes the slots of a hot row, held only unexpired holds, and free is
-- what may still be promised (before any channel's safety stock).
--
CREATE VIEW oms.stock_level AS
SELECT st.sku_id,
       st.location_id,
       st.on_hand,
       st.reserved + sl.reserved AS reserved,
       hl.held,
       st.safety_stock,
       st.slots,
       st.on_hand - st.reserved - sl.reserved - hl.held - st.safety_stock AS free
  FROM oms.stock st
 CROSS JOIN LATERAL (
        SELECT CASE WHEN st.escrow > 0 THEN
                   (SELECT coalesce(sum(s.reserved), 0)::integer FROM oms.stock_slot s
                     WHERE s.sku_id = st.sku_id AND s.location_id = st.location_id)
               ELSE 0 END AS reserved) sl
 CROSS JOIN LATERAL (
        SELECT CASE WHEN st.held > 0 THEN
                   (SELECT coalesce(sum(h.qty), 0)::integer FROM oms.hold_line h
                     WHERE h.sku_id = st.sku_id AND h.location_id = st.location_id
                       AND h.expires_at > now())
               ELSE 0 END AS held) hl;
COMMENT ON VIEW oms.stock_level IS 'Stock per SKU and location id as oms reads it: reserved with a hot row''s slots, held by unexpired holds, and free units (never counted below 0 by readers).';

CREATE VIEW oms.v_stock AS
SELECT s.code AS sku,
       l.code AS location,
       lv.on_hand,
       lv.reserved,
       lv.held,
       lv.safety_stock,
       GREATEST(lv.free, 0) AS available
  FROM oms.stock_level lv
  JOIN oms.sku s ON s.id = lv.sku_id
  JOIN oms.location l ON l.id = lv.location_id;
COMMENT ON VIEW oms.v_stock IS 'Stock levels: one row per SKU and location; reserved for orders, held for carts (unexpired), and available = on_hand - reserved - held - safety_stock, never below 0.';

CREATE VIEW oms.v_order_tracking AS
SELECT o.order_id,
       c.code AS channel,
       o.external_ref,
       o.status,
       o.payment_status,
       o.units,
       o.total_amount,
       o.currency,
       o.placed_at,
       o.updated_at,
       coalesce(s.shipments, '[]') AS shipments
  FROM oms.orders o
  JOIN oms.channel c ON c.id = o.channel_id
  LEFT JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object(
                   'shipment_id', sh.id, 'location', l.code, 'status', sh.status,
                   'status_at', sh.status_at, 'carrier', sh.carrier, 'tracking_number', sh.tracking_number,
                   'shipped_at', sh.shipped_at, 'delivered_at', sh.delivered_at,
                   'units', (SELECT sum(sl.qty) FROM oms.shipment_line sl WHERE sl.shipment_id = sh.id))
                 ORDER BY sh.id) AS shipments
          FROM oms.shipment sh JOIN oms.location l ON l.id = sh.location_id
         WHERE sh.order_id = o.order_id) s ON true;
COMMENT ON VIEW oms.v_order_tracking IS 'One row per order: its status, payment status and shipments (location, carrier, tracking number, latest tracking status and its time) -- what a "where is my order" page shows.';
