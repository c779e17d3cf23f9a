--
-- oms.check_invariants(): one row per violated invariant of design.md.
--
-- Each table is aggregated on its own first and only then joined, so the
-- checks stay valid once tables are distributed (design.md, "Scale").
--
-- CREATE OR REPLACE: every upgrade script includes this file whole, so a new
-- invariant is written here only.
--

CREATE OR REPLACE FUNCTION oms.check_invariants()
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
    SELECT 'order line cancelled equals its cancellations',
           format('order %s line %s: qty_cancelled %s, cancellations %s',
                  coalesce(l.order_id, c.order_id), coalesce(l.line_no, c.line_no),
                  coalesce(l.qty_cancelled, 0), coalesce(c.qty, 0))
      FROM oms.order_lines l
      FULL JOIN (SELECT order_id, line_no, sum(qty) AS qty
                   FROM oms.order_cancellation GROUP BY order_id, line_no) c
        ON c.order_id = l.order_id AND c.line_no = l.line_no
     WHERE coalesce(l.qty_cancelled, 0) <> coalesce(c.qty, 0)
    UNION ALL
    SELECT 'reservations belong to order lines',
           format('order %s line %s has reservations but no line', r.order_id, r.line_no)
      FROM (SELECT DISTINCT order_id, line_no FROM oms.reservation) r
      LEFT JOIN oms.order_lines l ON l.order_id = r.order_id AND l.line_no = r.line_no
     WHERE l.order_id IS NULL
    UNION ALL
    SELECT 'reservations are of their line''s SKU',
           format('order %s line %s (sku %s) has reservations of sku %s', r.order_id, r.line_no, l.sku_id, r.sku_id)
      FROM (SELECT DISTINCT order_id, line_no, sku_id FROM oms.reservation) r
      JOIN oms.order_lines l ON l.order_id = r.order_id AND l.line_no = r.line_no
     WHERE l.sku_id <> r.sku_id
    UNION ALL
    SELECT 'order lines belong to orders',
           format('order %s has %s lines but no order row', l.order_id, l.n)
      FROM (SELECT order_id, count(*) AS n FROM oms.order_lines GROUP BY order_id) l
      LEFT JOIN oms.orders o ON o.order_id = l.order_id
     WHERE o.order_id IS NULL
    UNION ALL
    -- 6. each channel reference names one existing order, placed by that channel.
    SELECT 'order references match orders',
           format('channel %s reference %s: order %s', coalesce(f.channel_id, o.channel_id),
                  coalesce(f.external_ref, o.external_ref), coalesce(f.order_id, o.order_id))
      FROM oms.order_ref f
      FULL JOIN oms.orders o
        ON o.order_id = f.order_id AND o.channel_id = f.channel_id AND o.external_ref = f.external_ref
     WHERE f.order_id IS NULL OR o.order_id IS NULL
    UNION ALL
    -- 7. every transition has exactly one event: the events of each order,
    --    line, shipment and payment status chain from creation to its status.
    --    A payment starts out unpaid and a line placed in full reserved
    --    without an event; a backordered line has one from creation.
    SELECT 'events chain from creation to the current status',
           format('%s %s of order %s: event %s goes %s -> %s after %s', ev.entity, ev.entity_id, ev.order_id,
                  ev.id, coalesce(ev.from_status, '(new)'), ev.to_status, coalesce(ev.prev, '(nothing)'))
      FROM (SELECT e.*, lag(e.to_status) OVER w AS prev, row_number() OVER w AS n
              FROM oms.order_event e
            WINDOW w AS (PARTITION BY e.order_id, e.entity, e.entity_id ORDER BY e.id)) ev
     WHERE ev.from_status IS DISTINCT FROM ev.prev
       AND NOT (ev.n = 1 AND (ev.entity, ev.from_status) IN (('payment', 'unpaid'), ('line', 'reserved')))
    UNION ALL
    SELECT 'the last event of each entity is its status',
           format('%s %s of order %s: status %s, last event %s', x.entity, x.entity_id, x.order_id,
                  x.status, coalesce(ev.last, '(none)'))
      FROM (SELECT 'order' AS entity, o.order_id AS entity_id, o.order_id, o.status FROM oms.orders o
            UNION ALL
            SELECT 'payment', o.order_id, o.order_id, o.payment_status FROM oms.orders o
            UNION ALL
            SELECT 'line', l.line_no, l.order_id, l.status FROM oms.order_lines l
            UNION ALL
            SELECT 'shipment', s.id, s.order_id, s.status FROM oms.shipment s
            UNION ALL
            SELECT 'return', r.return_id, r.order_id, r.status FROM oms.returns r) x
      LEFT JOIN (SELECT DISTINCT ON (e.order_id, e.entity, e.entity_id) e.order_id, e.entity, e.entity_id,
                        e.to_status AS last
                   FROM oms.order_event e ORDER BY e.order_id, e.entity, e.entity_id, e.id DESC) ev
        ON ev.order_id = x.order_id AND ev.entity = x.entity AND ev.entity_id = x.entity_id
     WHERE x.status IS DISTINCT FROM coalesce(ev.last, CASE x.entity WHEN 'payment' THEN 'unpaid'
                                                                      WHEN 'line' THEN 'reserved' END)
    UNION ALL
    SELECT 'every outbox row is an event',
           format('outbox row %s has no event', x.event_id)
      FROM oms.outbox x
      LEFT JOIN oms.order_event e ON e.order_id = x.order_id AND e.id = x.event_id
      LEFT JOIN oms.stock_event s ON x.order_id = 0 AND s.sku_id = x.entity_id AND s.id = x.event_id
     WHERE e.id IS NULL AND s.id IS NULL
    UNION ALL
    -- 8. line quantities agree with shipments; statuses follow from the facts.
    --    The lines of an order a store sold or a marketplace shipped are
    --    shipped in full without an oms shipment; every other shipped unit
    --    is in a shipped shipment.
    SELECT 'shipped units are in shipped shipments',
           format('order %s line %s: qty_shipped %s, in shipped shipments %s, sold by a store or shipped by a marketplace %s',
                  coalesce(l.order_id, s.order_id), coalesce(l.line_no, s.line_no),
                  coalesce(l.qty_shipped, 0), coalesce(s.qty, 0), coalesce(l.outside, 0))
      FROM (SELECT l.order_id, l.line_no, l.qty_shipped,
                   CASE WHEN o.fulfilment = 'merchant' THEN 0 ELSE l.qty END AS outside
              FROM oms.order_lines l JOIN oms.orders o ON o.order_id = l.order_id) l
      FULL JOIN (SELECT sl.order_id, sl.line_no, sum(sl.qty) AS qty
                   FROM oms.shipment_line sl JOIN oms.shipment sh ON sh.id = sl.shipment_id
                  WHERE sh.status NOT IN ('pending', 'cancelled')
                  GROUP BY sl.order_id, sl.line_no) s
        ON s.order_id = l.order_id AND s.line_no = l.line_no
     WHERE coalesce(l.qty_shipped, 0) <> coalesce(l.outside, 0) + coalesce(s.qty, 0)
    UNION ALL
    SELECT 'pending shipments hold reserved units',
           format('order %s line %s at location %s: %s units in pending shipments, %s reserved',
                  p.order_id, p.line_no, p.location_id, p.qty, coalesce(r.qty, 0))
      FROM (SELECT sl.order_id, sl.line_no, sh.location_id, sum(sl.qty) AS qty
              FROM oms.shipment_line sl JOIN oms.shipment sh ON sh.id = sl.shipment_id
             WHERE sh.status = 'pending' GROUP BY 1, 2, 3) p
      LEFT JOIN (SELECT order_id, line_no, location_id, sum(qty) AS qty FROM oms.reservation
                  WHERE state = 'held' GROUP BY 1, 2, 3) r
        ON r.order_id = p.order_id AND r.line_no = p.line_no AND r.location_id = p.location_id
     WHERE p.qty > coalesce(r.qty, 0)
    UNION ALL
    SELECT 'line status follows from its quantities',
           format('order %s line %s is %s: qty %s, reserved %s, shipped %s, cancelled %s, backordered %s',
                  l.order_id, l.line_no, l.status, l.qty, l.qty_reserved, l.qty_shipped, l.qty_cancelled,
                  l.qty_backordered)
      FROM oms.order_lines l
     WHERE l.status <> CASE WHEN l.qty_cancelled = l.qty THEN 'cancelled'
                            WHEN l.qty_shipped > 0 AND l.qty_shipped = l.qty - l.qty_cancelled
                                 THEN CASE WHEN l.status = 'delivered' THEN 'delivered' ELSE 'shipped' END
                            WHEN l.qty_shipped > 0 THEN 'partially_shipped'
                            WHEN l.qty_backordered > 0 THEN 'backordered'
                            ELSE 'reserved' END
    UNION ALL
    SELECT 'order status follows from its lines',
           format('order %s is %s', o.order_id, o.status)
      FROM oms.orders o
      JOIN (SELECT order_id,
                   bool_and(status = 'cancelled') AS cancelled,
                   bool_and(status IN ('delivered', 'cancelled')) AS delivered,
                   bool_and(status IN ('shipped', 'delivered', 'cancelled')) AS shipped,
                   bool_or(status IN ('partially_shipped', 'shipped', 'delivered')) AS some_shipped,
                   bool_or(status = 'backordered') AS backordered,
                   bool_and(qty_returned = qty_shipped AND qty_reserved = 0 AND qty_backordered = 0) AS returned
              FROM oms.order_lines GROUP BY order_id) l ON l.order_id = o.order_id
     WHERE o.status <> CASE WHEN o.status = 'closed' AND (l.delivered OR l.returned) THEN 'closed'
                            WHEN l.cancelled THEN 'cancelled'
                            WHEN o.status = 'on_hold' AND NOT l.some_shipped THEN 'on_hold'
                            WHEN l.delivered THEN 'delivered'
                            WHEN l.shipped THEN 'shipped'
                            WHEN l.some_shipped THEN 'partially_shipped'
                            WHEN l.backordered THEN 'backordered'
                            ELSE 'reserved' END
    UNION ALL
    SELECT 'payment status follows from the payments',
           format('order %s is %s: authorized %s, captured %s, refunded %s, voided %s',
                  o.order_id, o.payment_status, coalesce(p.a, 0), coalesce(p.c, 0), coalesce(p.r, 0), coalesce(p.v, 0))
      FROM oms.orders o
      LEFT JOIN (SELECT order_id,
                        coalesce(sum(amount) FILTER (WHERE kind = 'authorize'), 0) AS a,
                        coalesce(sum(amount) FILTER (WHERE kind = 'capture'), 0) AS c,
                        coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS r,
                        coalesce(sum(amount) FILTER (WHERE kind = 'void'), 0) AS v
                   FROM oms.payment GROUP BY order_id) p ON p.order_id = o.order_id
     WHERE o.payment_status <> CASE WHEN coalesce(p.a, 0) = 0 THEN 'unpaid'
                                    WHEN p.c = 0 THEN CASE WHEN p.v = p.a THEN 'voided' ELSE 'authorized' END
                                    WHEN p.r = 0 THEN CASE WHEN p.c = p.a - p.v THEN 'captured' ELSE 'partially_captured' END
                                    WHEN p.r < p.c THEN 'partially_refunded'
                                    ELSE 'refunded' END
        OR p.c > p.a - p.v OR p.r > p.c
    UNION ALL
    -- 9. on_hand leaves only through shipments, sales and adjustments (or
    --    counts): the shipment movements are the units shipped from each
    --    location, and the sale movements the units of store-fulfilled
    --    orders sold there.
    SELECT 'shipment movements are the units shipped',
           format('sku %s at %s: shipment movements %s, units in shipped shipments %s',
                  coalesce(m.sku_id, s.sku_id), coalesce(m.location_id, s.location_id),
                  coalesce(m.qty, 0), coalesce(s.qty, 0))
      FROM (SELECT sku_id, location_id, -sum(quantity) AS qty FROM oms.stock_movement
             WHERE kind = 'shipment' GROUP BY 1, 2) m
      FULL JOIN (SELECT l.sku_id, sh.location_id, sum(sl.qty) AS qty
                   FROM oms.shipment_line sl
                   JOIN oms.shipment sh ON sh.id = sl.shipment_id
                   JOIN oms.order_lines l ON l.order_id = sl.order_id AND l.line_no = sl.line_no
                  WHERE sh.status NOT IN ('pending', 'cancelled') GROUP BY 1, 2) s
        ON s.sku_id = m.sku_id AND s.location_id = m.location_id
     WHERE coalesce(m.qty, 0) <> coalesce(s.qty, 0)
    UNION ALL
    SELECT 'sale movements are the units sold at stores',
           format('sku %s at %s: sale movements %s, units of store-fulfilled orders %s',
                  coalesce(m.sku_id, s.sku_id), coalesce(m.location_id, s.location_id),
                  coalesce(m.qty, 0), coalesce(s.qty, 0))
      FROM (SELECT sku_id, location_id, -sum(quantity) AS qty FROM oms.stock_movement
             WHERE kind = 'sale' GROUP BY 1, 2) m
      FULL JOIN (SELECT l.sku_id, o.fulfilment_location_id AS location_id, sum(l.qty) AS qty
                   FROM oms.order_lines l JOIN oms.orders o ON o.order_id = l.order_id
                  WHERE o.fulfilment = 'store' GROUP BY 1, 2) s
        ON s.sku_id = m.sku_id AND s.location_id = m.location_id
     WHERE coalesce(m.qty, 0) <> coalesce(s.qty, 0)
    UNION ALL
    -- 10. Channel intake: connectors and SKU maps name what exists, and an
    --     applied message names the order of its channel and reference.
    SELECT 'connectors and SKU maps name existing channels and SKUs',
           format('channel %s, external sku %s, sku %s', x.channel_id, x.external_sku, x.sku_id)
      FROM (SELECT channel_id, NULL AS external_sku, NULL::bigint AS sku_id FROM oms.channel_connector
            UNION ALL
            SELECT channel_id, external_sku, sku_id FROM oms.channel_sku) x
     WHERE NOT EXISTS (SELECT FROM oms.channel c WHERE c.id = x.channel_id)
        OR x.sku_id IS NOT NULL AND NOT EXISTS (SELECT FROM oms.sku s WHERE s.id = x.sku_id)
    UNION ALL
    SELECT 'applied inbound messages name their order',
           format('channel %s message %s: order %s, external_ref %s', m.channel_id, m.source_event_id,
                  m.order_id, m.external_ref)
      FROM oms.inbound_message m
      LEFT JOIN oms.order_ref r ON r.channel_id = m.channel_id AND r.external_ref::text = m.external_ref
     WHERE m.outcome IN ('applied', 'duplicate', 'stale')
       AND (m.order_id IS NULL OR r.order_id IS DISTINCT FROM m.order_id)
    UNION ALL
    -- 11. money adds up: each discount within what it discounts, and the
    --     order's total_amount the grand total of its lines, order discount,
    --     shipping and tax (README, "Orders").
    SELECT 'order total adds up',
           format('order %s: total_amount %s; lines net %s, line tax %s, order_discount %s, shipping %s - %s + tax %s, prices_include_tax %s',
                  o.order_id, o.total_amount, coalesce(l.net, 0), coalesce(l.tax, 0), o.order_discount,
                  o.shipping_amount, o.shipping_discount, o.shipping_tax, o.prices_include_tax)
      FROM oms.orders o
      LEFT JOIN (SELECT order_id, sum(qty * unit_price - discount_amount) AS net, sum(tax_amount) AS tax,
                        bool_or(discount_amount > qty * unit_price) AS over
                   FROM oms.order_lines GROUP BY order_id) l ON l.order_id = o.order_id
     WHERE o.total_amount <> coalesce(l.net, 0) - o.order_discount + o.shipping_amount - o.shipping_discount
                             + CASE WHEN o.prices_include_tax THEN 0 ELSE coalesce(l.tax, 0) + o.shipping_tax END
        OR l.over OR o.order_discount > coalesce(l.net, 0) OR o.shipping_discount > o.shipping_amount
    UNION ALL
    -- 12. the available-to-promise feed publishes, for every SKU and channel,
    --     the figure and level the stock gives at the last flush -- except
    --     for SKUs whose changes wait for the next flush (a signal, or a
    --     refresh of every SKU that has not reached them yet).
    SELECT 'the available-to-promise feed matches the stock',
           format('sku %s channel %s: the feed has %s (units %s, %s), the stock gives %s (units %s, %s)',
                  c.sku_id, c.channel_id, coalesce(l.available::text, 'nothing'), l.units, l.level,
                  c.available, c.units, c.level)
      FROM oms.atp_flush_state f
     CROSS JOIN LATERAL oms.atp_compute(ARRAY(SELECT k.id FROM oms.sku k
                                               WHERE f.refresh_after IS NULL OR k.id <= f.refresh_after),
                                         f.flushed_at) c
      LEFT JOIN oms.atp_level l ON l.sku_id = c.sku_id AND l.channel_id = c.channel_id
     WHERE NOT EXISTS (SELECT FROM oms.atp_signal s WHERE s.sku_id = c.sku_id)
       AND NOT EXISTS (SELECT FROM oms.atp_signal s WHERE s.sku_id IS NULL)
       AND (l.available, l.units, l.level)
           IS DISTINCT FROM (c.available, c.units, c.level)
    UNION ALL
    --     Each stock event follows the one before it of its SKU and channel
    --     (one flush at a time: no crossing is written twice), and the last
    --     one is the feed's: out of stock exactly while the level is.
    SELECT 'stock events follow one another',
           format('sku %s channel %s: event %s (%s) follows event %s, but the one before it is %s',
                  ev.sku_id, ev.channel_id, ev.id, ev.kind, coalesce(ev.previous_id::text, '(none)'),
                  coalesce(ev.prev::text, '(none)'))
      FROM (SELECT e.sku_id, e.channel_id, e.id, e.kind, e.previous_id, lag(e.id) OVER w AS prev
              FROM oms.stock_event e
            WINDOW w AS (PARTITION BY e.sku_id, e.channel_id ORDER BY e.id)) ev
     WHERE ev.previous_id IS DISTINCT FROM ev.prev
    UNION ALL
    SELECT 'the last stock event is the feed''s',
           format('sku %s channel %s: last event %s (to %s), the feed names %s at level %s',
                  coalesce(e.sku_id, l.sku_id), coalesce(e.channel_id, l.channel_id), coalesce(e.id::text, '(none)'),
                  e.to_level, coalesce(l.last_event_id::text, '(none)'), l.level)
      FROM (SELECT DISTINCT ON (sku_id, channel_id) sku_id, channel_id, id, to_level
              FROM oms.stock_event ORDER BY sku_id, channel_id, id DESC) e
      FULL JOIN (SELECT sku_id, channel_id, last_event_id, level FROM oms.atp_level
                  WHERE last_event_id IS NOT NULL) l
        ON l.sku_id = e.sku_id AND l.channel_id = e.channel_id
     WHERE e.id IS DISTINCT FROM l.last_event_id
        OR (e.to_level = 'out_of_stock') <> (l.level = 'out_of_stock')
    UNION ALL
    -- 13. Returns: every shipped unit comes back at most once -- per order
    --     line, units in open returns, returned and claimed stay within the
    --     units shipped, qty_in_returns counts the units in open returns,
    --     qty_returned is what returns received and qty_claimed what
    --     completed returns settled without a parcel (claims, and units
    --     refunded that never came); per
    --     return line, received + missing <= requested and every received
    --     unit has one disposition, as its receipts say; every restocked
    --     receipt is one ledger movement of kind return and every such
    --     movement a receipt's; a return's status follows from its lines.
    SELECT 'returned, open-return and claimed units within shipped',
           format('order %s line %s: shipped %s, qty_returned %s, received by returns %s, in open returns %s, qty_in_returns %s, in completed claims %s, qty_claimed %s',
                  l.order_id, l.line_no, l.qty_shipped, l.qty_returned, coalesce(x.received, 0), coalesce(x.open, 0),
                  l.qty_in_returns, coalesce(x.claimed, 0), l.qty_claimed)
      FROM oms.order_lines l
      LEFT JOIN (SELECT rl.order_id, rl.line_no, sum(rl.qty_received) AS received,
                        sum(CASE WHEN r.status IN ('requested', 'authorized', 'partially_received')
                                 THEN rl.qty_requested - rl.qty_received - rl.qty_missing ELSE 0 END) AS open,
                        sum(CASE WHEN r.status = 'completed'
                                 THEN rl.qty_requested - rl.qty_received - rl.qty_missing ELSE 0 END) AS claimed
                   FROM oms.return_line rl
                   JOIN oms.returns r ON r.order_id = rl.order_id AND r.return_id = rl.return_id
                  GROUP BY 1, 2) x ON x.order_id = l.order_id AND x.line_no = l.line_no
     WHERE coalesce(x.open, 0) + l.qty_returned + coalesce(x.claimed, 0) > l.qty_shipped
        OR coalesce(x.received, 0) <> l.qty_returned
        OR coalesce(x.open, 0) <> l.qty_in_returns OR coalesce(x.claimed, 0) <> l.qty_claimed
    UNION ALL
    SELECT 'return line units add up',
           format('order %s return %s line %s: requested %s, received %s (restocked %s, damaged %s, written off %s, quarantined %s), missing %s; receipts: restock %s, damaged %s, write_off %s, quarantine %s, released %s',
                  rl.order_id, rl.return_id, rl.line_no, rl.qty_requested, rl.qty_received, rl.qty_restocked,
                  rl.qty_damaged, rl.qty_written_off, rl.qty_quarantined, rl.qty_missing, coalesce(rc.restock, 0),
                  coalesce(rc.damaged, 0), coalesce(rc.write_off, 0), coalesce(rc.quarantine, 0),
                  coalesce(rc.released, 0))
      FROM oms.return_line rl
      LEFT JOIN oms.returns r ON r.order_id = rl.order_id AND r.return_id = rl.return_id
      LEFT JOIN (SELECT order_id, return_id, line_no,
                        sum(qty) FILTER (WHERE disposition = 'restock') AS restock,
                        sum(qty) FILTER (WHERE disposition = 'damaged') AS damaged,
                        sum(qty) FILTER (WHERE disposition = 'write_off') AS write_off,
                        sum(qty) FILTER (WHERE disposition = 'quarantine') AS quarantine,
                        sum(qty) FILTER (WHERE from_quarantine) AS released,
                        sum(qty) FILTER (WHERE NOT from_quarantine) AS received
                   FROM oms.return_receipt GROUP BY 1, 2, 3) rc
        ON rc.order_id = rl.order_id AND rc.return_id = rl.return_id AND rc.line_no = rl.line_no
     WHERE r.return_id IS NULL
        OR rl.qty_received + rl.qty_missing > rl.qty_requested
        OR rl.qty_restocked + rl.qty_damaged + rl.qty_written_off + rl.qty_quarantined <> rl.qty_received
        OR rl.qty_received <> coalesce(rc.received, 0)
        OR rl.qty_restocked <> coalesce(rc.restock, 0)
        OR rl.qty_damaged <> coalesce(rc.damaged, 0)
        OR rl.qty_written_off <> coalesce(rc.write_off, 0)
        OR rl.qty_quarantined <> coalesce(rc.quarantine, 0) - coalesce(rc.released, 0)
    UNION ALL
    SELECT 'quarantine per location within what came into it',
           format('order %s return %s line %s at location %s: %s units quarantined, %s released',
                  q.order_id, q.return_id, q.line_no, q.location_id, q.quarantined, q.released)
      FROM (SELECT order_id, return_id, line_no, location_id,
                   coalesce(sum(qty) FILTER (WHERE disposition = 'quarantine' AND NOT from_quarantine), 0) AS quarantined,
                   coalesce(sum(qty) FILTER (WHERE from_quarantine), 0) AS released
              FROM oms.return_receipt GROUP BY 1, 2, 3, 4) q
     WHERE q.released > q.quarantined
    UNION ALL
    SELECT 'return movements are the restocked receipts',
           format('sku %s: movement %s (%s units at %s), receipt %s of order %s (%s units at %s)',
                  coalesce(m.sku_id, rr.sku_id), m.id, m.quantity, m.location_id, rr.id, rr.order_id, rr.qty,
                  rr.location_id)
      FROM (SELECT sku_id, id, location_id, quantity FROM oms.stock_movement WHERE kind = 'return') m
      FULL JOIN (SELECT order_id, id, sku_id, movement_id, location_id, qty FROM oms.return_receipt
                  WHERE disposition = 'restock') rr
        ON rr.sku_id = m.sku_id AND rr.movement_id = m.id
     WHERE m.id IS NULL OR rr.id IS NULL OR m.quantity <> rr.qty OR m.location_id <> rr.location_id
    UNION ALL
    SELECT 'return status follows from its lines',
           format('order %s return %s is %s: requested %s, received %s, missing %s',
                  r.order_id, r.return_id, r.status, coalesce(x.requested, 0), coalesce(x.received, 0),
                  coalesce(x.missing, 0))
      FROM oms.returns r
      LEFT JOIN (SELECT order_id, return_id, sum(qty_requested) AS requested, sum(qty_received) AS received,
                        sum(qty_missing) AS missing
                   FROM oms.return_line GROUP BY 1, 2) x ON x.order_id = r.order_id AND x.return_id = r.return_id
     WHERE x.return_id IS NULL
        OR CASE r.status
               WHEN 'requested' THEN x.received + x.missing <> 0
               WHEN 'authorized' THEN x.received + x.missing <> 0
               WHEN 'declined' THEN x.received + x.missing <> 0
               WHEN 'cancelled' THEN x.received + x.missing <> 0
               WHEN 'expired' THEN x.received + x.missing <> 0
               WHEN 'partially_received' THEN x.received = 0 OR x.received + x.missing >= x.requested
               WHEN 'received' THEN x.received + x.missing <> x.requested
               ELSE false END  -- completed: what neither arrived nor is missing is settled (qty_claimed)
    UNION ALL
    SELECT 'every return has its reference',
           format('return %s: order %s in oms.returns, %s in oms.return_ref', coalesce(r.return_id, f.return_id),
                  r.order_id, f.order_id)
      FROM oms.returns r
      FULL JOIN oms.return_ref f ON f.return_id = r.return_id
     WHERE r.order_id IS DISTINCT FROM f.order_id
    UNION ALL
    -- 14. refunds: per capture, the refunds linked to it stay within it (and
    --     name a capture of the same order); per order, refunds stay within
    --     captures; shipping is refunded by one return of an order at most,
    --     and at most what was paid for it; a return's refund_amount is its
    --     refund rows and within what oms.refund_breakdown() lets it refund,
    --     its lines' refunds within its goods, and its refund_status follows.
    SELECT 'refunds within their capture',
           format('order %s refund %s: refund_of %s (%s), captured %s, refunded from it %s', r.order_id, r.id,
                  r.refund_of, coalesce(c.kind, 'missing'), c.amount, x.refunded)
      FROM oms.payment r
      LEFT JOIN oms.payment c ON c.id = r.refund_of
      LEFT JOIN (SELECT refund_of, sum(amount) AS refunded FROM oms.payment
                  WHERE kind = 'refund' AND refund_of IS NOT NULL GROUP BY refund_of) x ON x.refund_of = r.refund_of
     WHERE r.refund_of IS NOT NULL
       AND (r.kind <> 'refund' OR c.kind IS DISTINCT FROM 'capture' OR c.order_id <> r.order_id OR x.refunded > c.amount)
    UNION ALL
    SELECT 'refunds within captures per order',
           format('order %s: captured %s, refunded %s', p.order_id, p.c, p.r)
      FROM (SELECT order_id, coalesce(sum(amount) FILTER (WHERE kind = 'capture'), 0) AS c,
                   coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS r
              FROM oms.payment GROUP BY order_id) p
     WHERE p.r > p.c
    UNION ALL
    SELECT 'shipping refunded at most once per order',
           format('order %s: %s returns refund shipping, %s in all; shipping paid %s', o.order_id, x.n, x.shipping,
                  o.shipping_amount - o.shipping_discount + CASE WHEN o.prices_include_tax THEN 0 ELSE o.shipping_tax END)
      FROM (SELECT order_id, count(*) AS n, sum(shipping_refund) AS shipping FROM oms.returns
             WHERE shipping_refund > 0 GROUP BY order_id) x
      JOIN oms.orders o ON o.order_id = x.order_id
     WHERE x.n > 1
        OR x.shipping > o.shipping_amount - o.shipping_discount + CASE WHEN o.prices_include_tax THEN 0 ELSE o.shipping_tax END
    UNION ALL
    SELECT 'return refunds within the refundable',
           format('order %s return %s: refund_amount %s, refund rows %s, may refund %s (goods %s - fee %s + shipping %s), lines refunded %s of goods, refund_status %s',
                  r.order_id, r.return_id, r.refund_amount, coalesce(p.refunded, 0), b.refundable_total, b.goods,
                  b.restocking_fee, b.shipping, l.goods, r.refund_status)
      FROM oms.returns r
      LEFT JOIN (SELECT order_id, return_id, sum(amount) AS refunded FROM oms.payment
                  WHERE kind = 'refund' AND return_id IS NOT NULL GROUP BY order_id, return_id) p
        ON p.order_id = r.order_id AND p.return_id = r.return_id
      CROSS JOIN LATERAL oms.refund_breakdown(r.order_id, r.return_id) b
      CROSS JOIN LATERAL (SELECT sum(rl.refund_amount) AS goods FROM oms.return_line rl
                           WHERE rl.order_id = r.order_id AND rl.return_id = r.return_id) l
     WHERE r.refund_amount <> coalesce(p.refunded, 0) OR r.refund_amount > b.refundable_total OR l.goods > b.goods
        -- refund_status: none (nothing refundable yet), pending (refundable, nothing refunded),
        -- partial, refunded (all it may, every unit it expects eligible); src/returns.c
        OR r.refund_status <> CASE WHEN r.refund_amount >= b.refundable_total AND b.units_eligible > 0
                                        AND b.units_eligible >= b.units_expected THEN 'refunded'
                                   WHEN r.refund_amount > 0 THEN 'partial'
                                   WHEN b.refundable > 0 THEN 'pending'
                                   ELSE 'none' END
$$;
COMMENT ON FUNCTION oms.check_invariants() IS
    'Lists every violated invariant (one row each, with the offending keys); no rows means healthy.';
