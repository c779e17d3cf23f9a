--
-- test/demo/returns.sql — one order comes partly back: a T-shirt restocked,
-- a beanie that arrived torn, the money refunded through the payment that
-- captured it (less the restocking fee), and the other T-shirt exchanged for
-- a larger size through a linked replacement order.
--
\pset footer off

\echo
\echo '==> returns: the web shop keeps 10 % of returned goods as a restocking fee, exchanges reserve at once'
INSERT INTO oms.return_reason (code, label, resellable) VALUES ('too_small', 'Too small', true),
                                                              ('changed_mind', 'Changed my mind', true)
    ON CONFLICT (code) DO NOTHING;
INSERT INTO oms.return_policy (channel_id, window_days, restocking_fee_pct, refund_shipping, refund_on, exchange_reserve)
SELECT id, 30, 10, 'full_return', 'receipt', 'on_request' FROM oms.channel WHERE code = 'WEB'
    ON CONFLICT (channel_id) DO NOTHING;

\echo '    WEB-20002: two T-shirts and a beanie, paid and shipped'
SELECT oms.place_order('WEB', 'WEB-20002',
    '[{"sku": "TEE-BLK-M", "qty": 2, "unit_price": 19.99}, {"sku": "BEANIE-GRY", "qty": 1, "unit_price": 22.00}]',
    '{"name": "Ada Lovelace", "city": "Berlin", "postal_code": "10117", "country": "DE",
      "latitude": 52.517, "longitude": 13.389}',
    '{"customer": {"email": "ada@example.com"}, "shipping": {"price": 4.90}, "total": 66.88}') AS order_id \gset
SELECT oms.record_payment(:order_id, 'authorize', 66.88, 'psp-auth-20002') > 0 AS authorized;
SELECT l.code AS location FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = :order_id LIMIT 1 \gset
SELECT oms.ship(oms.create_shipment(:order_id, :'location'), 'DHL', 'JJD0099887767') AS shipped \gset
SELECT oms.record_payment(:order_id, 'capture', 66.88, 'psp-capture-20002') > 0 AS captured;

\echo '==> a partial return: one T-shirt (back on the shelf) and the beanie (arrives torn)'
SELECT oms.request_return(:order_id, '[{"line_no": 1, "qty": 1, "reason": "changed_mind"},
                                       {"line_no": 2, "qty": 1, "reason": "changed_mind"}]') AS return_id \gset
SELECT on_hand AS tee_on_hand_before FROM oms.v_stock WHERE sku = 'TEE-BLK-M' AND location = :'location' \gset
SELECT oms.receive_return(:return_id, '[{"line_no": 1, "qty": 1, "disposition": "restock"},
                                        {"line_no": 2, "qty": 1, "disposition": "damaged", "note": "torn seam"}]',
                          'wms-parcel-20002') AS units_received;
SELECT :tee_on_hand_before AS tee_on_hand_before, on_hand AS tee_on_hand_after
  FROM oms.v_stock WHERE sku = 'TEE-BLK-M' AND location = :'location';

\echo '==> the refund: what was paid for both units, less 10 % restocking fee (shipping stays: not all came back)'
SELECT jsonb_pretty(oms.return_refund_preview(:return_id) - 'captures' - 'order_id');
SELECT oms.refund_return(:return_id, NULL, 'psp-refund-20002') AS refunded;
SELECT kind, amount, provider_ref, refund_of FROM oms.payment WHERE order_id = :order_id ORDER BY id;
SELECT payment_status FROM oms.orders WHERE order_id = :order_id;

\echo '==> an exchange: the other T-shirt comes back for size L; the replacement order is placed at once'
SELECT oms.request_return(:order_id, '[{"line_no": 1, "qty": 1, "reason": "too_small"}]',
                          '{"kind": "exchange", "exchange": [{"sku": "TEE-BLK-L", "qty": 1}]}') AS exchange_id \gset
SELECT o.order_id, o.external_ref, o.status, o.replaces_order_id, o.replaces_return_id
  FROM oms.returns r JOIN oms.orders o ON o.order_id = r.replacement_order_id WHERE r.return_id = :exchange_id;
SELECT oms.receive_return(:exchange_id, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]') AS units_received;

\echo '==> the order''s returns (oms.v_returns) and their events'
SELECT return_id, kind, status, line_no, sku, reason, qty_received AS received, qty_restocked AS restocked,
       qty_damaged AS damaged, refund_amount, replacement_order_id
  FROM oms.v_returns WHERE order_id = :order_id ORDER BY return_id, line_no;
SELECT entity, entity_id, coalesce(from_status, '(new)') AS from_status, to_status
  FROM oms.order_event WHERE order_id = :order_id AND entity IN ('return', 'refund', 'payment') ORDER BY id;

\echo '==> oms.check_invariants() (no rows: healthy)'
SELECT * FROM oms.check_invariants();
