--
-- oms.check_invariants(): one row per violated invariant of design.md.
--
-- Each table is aggregated on its own first and only then joined, so the
-- checks stay valid once tables are distributed (design.md, "Scale").
--

CREATE FUNCTION oms.check_invariants()
    RETURNS TABLE (invariant text, detail text)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- 1. 0 <= reserved <= on_hand, counting holds and slots.
    SELECT 'stock.reserved within [0, on_hand]',
           format('sku %s at %s: on_hand %s, reserved %s, held %s, escrow %s',
                  st.sku_id, st.location_id, st.on_hand, st.reserved, st.held, st.escrow)
      FROM oms.stock st
     WHERE NOT (0 <= st.reserved AND 0 <= st.held AND 0 <= st.escrow
                AND st.reserved + st.held + st.escrow <= st.on_hand)
    UNION ALL
    SELECT 'stock_slot.reserved within [0, quota]',
           format('sku %s at %s slot %s: quota %s, reserved %s',
                  s.sku_id, s.location_id, s.slot, s.quota, s.reserved)
      FROM oms.stock_slot s
     WHERE NOT (0 <= s.reserved AND s.reserved <= s.quota)
    UNION ALL
    -- 2. reserved equals the open reservations; held the hold lines; escrow the slot quotas.
    SELECT 'stock.reserved equals the held reservations',
           format('sku %s at %s: reserved %s (row %s, slots %s), held reservations %s',
                  st.sku_id, st.location_id, st.reserved + coalesce(sl.reserved, 0),
                  st.reserved, coalesce(sl.reserved, 0), coalesce(r.qty, 0))
      FROM oms.stock st
      LEFT JOIN (SELECT sku_id, location_id, sum(reserved) AS reserved, sum(quota) AS quota
                   FROM oms.stock_slot GROUP BY sku_id, location_id) sl
        ON sl.sku_id = st.sku_id AND sl.location_id = st.location_id
      FULL JOIN (SELECT sku_id, location_id, sum(qty) AS qty
                   FROM oms.reservation WHERE state = 'held' GROUP BY sku_id, location_id) r
        ON r.sku_id = st.sku_id AND r.location_id = st.location_id
     WHERE coalesce(st.reserved, 0) + coalesce(sl.reserved, 0) <> coalesce(r.qty, 0)
    UNION ALL
    SELECT 'stock.escrow equals the slot quotas',
           format('sku %s at %s: escrow %s, quotas %s', st.sku_id, st.location_id, st.escrow, coalesce(sl.quota, 0))
      FROM oms.stock st
      LEFT JOIN (SELECT sku_id, location_id, sum(quota) AS quota
                   FROM oms.stock_slot GROUP BY sku_id, location_id) sl
        ON sl.sku_id = st.sku_id AND sl.location_id = st.location_id
     WHERE st.escrow <> coalesce(sl.quota, 0)
    UNION ALL
    SELECT 'stock.held equals the hold lines',
           format('sku %s at %s: held %s, hold lines %s',
                  coalesce(st.sku_id, h.sku_id), coalesce(st.location_id, h.location_id),
                  coalesce(st.held, 0), coalesce(h.qty, 0))
      FROM oms.stock st
      FULL JOIN (SELECT sku_id, location_id, sum(qty) AS qty
                   FROM oms.hold_line GROUP BY sku_id, location_id) h
        ON h.sku_id = st.sku_id AND h.location_id = st.location_id
     WHERE coalesce(st.held, 0) <> coalesce(h.qty, 0)
    UNION ALL
    -- 3. on_hand equals the ledger.
    SELECT 'stock.on_hand equals the ledger sum',
           format('sku %s at %s: on_hand %s, ledger sum %s',
                  coalesce(st.sku_id, m.sku_id), coalesce(st.location_id, m.location_id),
                  coalesce(st.on_hand, 0), coalesce(m.total, 0))
      FROM oms.stock st
      FULL JOIN (SELECT sku_id, location_id, sum(quantity) AS total
                   FROM oms.stock_movement GROUP BY sku_id, location_id) m
        ON m.sku_id = st.sku_id AND m.location_id = st.location_id
     WHERE coalesce(st.on_hand, 0) <> coalesce(m.total, 0)
    UNION ALL
    -- 4. every line adds up, and its reserved units are its held reservations.
    SELECT 'order line quantities add up',
           format('order %s line %s: qty %s, reserved %s, shipped %s, cancelled %s, backordered %s, returned %s',
                  l.order_id, l.line_no, l.qty, l.qty_reserved, l.qty_shipped, l.qty_cancelled,
                  l.qty_backordered, l.qty_returned)
      FROM oms.order_lines l
     WHERE l.qty <> l.qty_reserved + l.qty_shipped + l.qty_cancelled + l.qty_backordered
        OR l.qty_returned > l.qty_shipped
    UNION ALL
    SELECT 'order line reserved equals its held reservations',
           format('order %s line %s: qty_reserved %s, held reservations %s',
                  coalesce(l.order_id, r.order_id), coalesce(l.line_no, r.line_no),
                  coalesce(l.qty_reserved, 0), coalesce(r.qty, 0))
      FROM oms.order_lines l
      FULL JOIN (SELECT order_id, line_no, sum(qty) AS qty
                   FROM oms.reservation WHERE state = 'held' GROUP BY order_id, line_no) r
        ON r.order_id = l.order_id AND r.line_no = l.line_no
     WHERE coalesce(l.qty_reserved, 0) <> coalesce(r.qty, 0)
    UNION ALL
    SELECT 'reservations belong to order lines',
           format('order %s line %s has reservations but no line', r.order_id, r.line_no)
      FROM (SELECT DISTINCT order_id, line_no FROM oms.reservation) r
      LEFT JOIN oms.order_lines l ON l.order_id = r.order_id AND l.line_no = r.line_no
     WHERE l.order_id IS NULL
    UNION ALL
    -- 6. each channel reference names one existing order, placed by that channel.
    SELECT 'order references match orders',
           format('channel %s reference %s: order %s', coalesce(f.channel_id, o.channel_id),
                  coalesce(f.external_ref, o.external_ref), coalesce(f.order_id, o.order_id))
      FROM oms.order_ref f
      FULL JOIN oms.orders o
        ON o.order_id = f.order_id AND o.channel_id = f.channel_id AND o.external_ref = f.external_ref
     WHERE f.order_id IS NULL OR o.order_id IS NULL
$$;
COMMENT ON FUNCTION oms.check_invariants() IS
    'Lists every violated invariant (one row each, with the offending keys); no rows means healthy.';
