--
-- test/bench/report/real.sql — the orders planned by plan.sql through
-- oms's own functions, one call per business step, then every time stamp
-- the reports read moved to the plan's time (the functions stamp now()).
-- Slow (a few hundred orders per second): prove.sh runs it on a small
-- shop to show that bulk.sql writes the same rows.
--
DO $$
DECLARE
    o record;
    l record;
    v_ship bigint;
BEGIN
    FOR o IN SELECT g.*, lo.latitude, lo.longitude, lo.code AS location FROM g
               JOIN oms.location lo ON lo.code = format('L%s', lpad(g.loc::text, 2, '0')) ORDER BY g.order_id LOOP
        PERFORM oms.place_order(o.channel, 'G-' || o.order_id,
            (SELECT jsonb_agg(jsonb_build_object('sku', gl.sku, 'qty', gl.qty, 'unit_price', gl.unit_price,
                                                 'discount', gl.discount, 'tax', gl.tax) ORDER BY gl.line_no)
               FROM gl WHERE gl.order_id = o.order_id),
            jsonb_build_object('country', 'DE', 'latitude', o.latitude, 'longitude', o.longitude),
            jsonb_build_object('currency', o.currency,
                               'shipping', jsonb_build_object('price', 4.90, 'tax', 0.93,
                                                              'discount', CASE WHEN o.net >= 50 THEN 4.90 ELSE 0 END)));
        IF o.paid_at IS NOT NULL THEN
            PERFORM oms.record_payment(o.order_id, 'authorize', x.total_amount) FROM oms.orders x WHERE x.order_id = o.order_id;
            IF NOT o.cancelled THEN
                PERFORM oms.record_payment(o.order_id, 'capture', x.total_amount) FROM oms.orders x WHERE x.order_id = o.order_id;
            END IF;
        END IF;
        FOR l IN SELECT * FROM gl WHERE gl.order_id = o.order_id AND gl.cut ORDER BY gl.line_no LOOP
            PERFORM oms.cancel_line(o.order_id, l.line_no, 1, 'customer');
        END LOOP;
        IF o.cancelled THEN
            PERFORM oms.cancel_order(o.order_id, 'customer');
            PERFORM oms.record_payment(o.order_id, 'void', x.total_amount) FROM oms.orders x WHERE x.order_id = o.order_id;
        END IF;
    END LOOP;
    -- Every first parcel, then every second one (the shipment ids bulk.sql gives them).
    FOR o IN SELECT g.*, format('L%s', lpad(g.loc::text, 2, '0')) AS location FROM g
              WHERE g.shipped_at IS NOT NULL ORDER BY g.order_id LOOP
        v_ship := oms.create_shipment(o.order_id, o.location,
                      CASE WHEN o.split THEN (SELECT jsonb_agg(jsonb_build_object('line_no', gl.line_no, 'qty', gl.qty - gl.cut::integer))
                                                FROM gl WHERE gl.order_id = o.order_id AND gl.parcel = 1) END);
        PERFORM oms.ship(v_ship, 'DHL', 'JJD' || o.order_id || '-1');
    END LOOP;
    FOR o IN SELECT g.*, format('L%s', lpad(g.loc::text, 2, '0')) AS location FROM g
              WHERE g.shipped2_at IS NOT NULL ORDER BY g.order_id LOOP
        PERFORM oms.ship(oms.create_shipment(o.order_id, o.location), 'DHL', 'JJD' || o.order_id || '-2');
    END LOOP;
    FOR o IN SELECT s.id, x.delivered_at FROM oms.shipment s
               JOIN (SELECT order_id, 1 AS parcel, delivered_at FROM g UNION ALL SELECT order_id, 2, delivered2_at FROM g) x
                 ON s.tracking_number = 'JJD' || x.order_id || '-' || x.parcel
              WHERE x.delivered_at IS NOT NULL ORDER BY s.id LOOP
        PERFORM oms.track(o.id, 'delivered', o.delivered_at);
    END LOOP;
END
$$;

-- The plan's times, where the functions stamped now().
SET session_replication_role = replica;
UPDATE oms.orders o SET placed_at = g.placed_at, cancelled_at = g.cancelled_at,
                        updated_at = coalesce(g.delivered2_at, g.delivered_at, g.shipped2_at, g.shipped_at, g.cancelled_at, g.placed_at)
  FROM g WHERE g.order_id = o.order_id;
UPDATE oms.order_cancellation k SET cancelled_at = coalesce(g.cancelled_at, gl.cut_at)
  FROM g JOIN gl ON gl.order_id = g.order_id WHERE g.order_id = k.order_id AND gl.line_no = k.line_no;
UPDATE oms.shipment s SET shipped_at = x.shipped_at, created_at = x.shipped_at - interval '1 hour',
                          status_at = coalesce(x.delivered_at, x.shipped_at)
  FROM (SELECT order_id, 1 AS parcel, shipped_at, delivered_at FROM g
        UNION ALL SELECT order_id, 2, shipped2_at, delivered2_at FROM g) x
 WHERE s.order_id = x.order_id AND s.tracking_number = 'JJD' || x.order_id || '-' || x.parcel;
UPDATE oms.payment p SET created_at = CASE WHEN p.kind = 'void' THEN g.cancelled_at ELSE g.paid_at END
  FROM g WHERE g.order_id = p.order_id;
RESET session_replication_role;

-- Returns, in the order of their day: requested, received, refunded; then their times.
CREATE TEMP TABLE gr (return_id bigint, refund_id bigint, order_id bigint, line_no integer, at timestamptz);
DO $$
DECLARE
    l record;
    v_return bigint;
BEGIN
    FOR l IN SELECT gl.*, format('L%s', lpad(g.loc::text, 2, '0')) AS location FROM gl JOIN g ON g.order_id = gl.order_id
              WHERE gl.returned ORDER BY gl.returned_at, gl.order_id, gl.line_no LOOP
        v_return := oms.request_return(l.order_id, jsonb_build_array(
                        jsonb_build_object('line_no', l.line_no, 'qty', 1)
                        || CASE WHEN l.how < 0.4 THEN '{"reason": "too_small"}'::jsonb
                                WHEN l.how < 0.6 THEN '{"reason": "broken"}' ELSE '{}' END));
        PERFORM oms.receive_return(v_return, jsonb_build_array(jsonb_build_object(
                    'line_no', l.line_no, 'qty', 1, 'location', l.location,
                    'disposition', CASE WHEN l.how BETWEEN 0.4 AND 0.6 THEN 'damaged' ELSE 'restock' END)));
        INSERT INTO gr VALUES (v_return,
                               oms.record_payment(l.order_id, 'refund', round(l.unit_price - l.discount / l.qty, 2)),
                               l.order_id, l.line_no, l.returned_at);
    END LOOP;
END
$$;
SET session_replication_role = replica;
UPDATE oms.returns r SET requested_at = gr.at, authorized_at = CASE WHEN r.authorized_at IS NOT NULL THEN gr.at END,
                         received_at = CASE WHEN r.received_at IS NOT NULL THEN gr.at END,
                         completed_at = CASE WHEN r.completed_at IS NOT NULL THEN gr.at END, updated_at = gr.at
  FROM gr WHERE r.order_id = gr.order_id AND r.return_id = gr.return_id;
UPDATE oms.return_receipt rc SET received_at = gr.at
  FROM gr WHERE rc.order_id = gr.order_id AND rc.return_id = gr.return_id;
UPDATE oms.payment p SET created_at = gr.at FROM gr WHERE p.order_id = gr.order_id AND p.id = gr.refund_id;
RESET session_replication_role;
