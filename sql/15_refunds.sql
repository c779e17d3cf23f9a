--
-- Refunds, exchanges and claims of returns.  refund_return refunds what
-- oms.refund_breakdown says a return may refund (eligible units at the price
-- paid for them, less the restocking fee, plus shipping at most once per
-- order) through the order's captures, oldest first; exchanges and replace
-- claims place a linked replacement order through place_order.  Every bad
-- input has its own SQLSTATE and leaves nothing behind.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never
\set VERBOSITY sqlstate

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web'), ('APP', 'App', 'app');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('MUG', 'Mug');
-- WEB: 10 % restocking fee, shipping refunded when everything comes back, refund on receipt,
-- exchanges reserved on request.  APP: no fee, shipping always, refund on request, exchanges on receipt.
INSERT INTO oms.return_policy (channel_id, restocking_fee_pct, refund_shipping, refund_on, exchange_reserve)
SELECT id, 10, 'full_return', 'receipt', 'on_request' FROM oms.channel WHERE code = 'WEB'
UNION ALL
SELECT id, 0, 'always', 'request', 'on_receipt' FROM oms.channel WHERE code = 'APP';
SELECT oms.receive_stock('TEE', 'BER', 20), oms.receive_stock('CAP', 'BER', 20), oms.receive_stock('MUG', 'BER', 1);

-- A return's money, one row.
CREATE FUNCTION pg_temp.money(rid bigint) RETURNS TABLE (status text, refund_status text, refund_amount numeric,
                                                        restocking_fee numeric, shipping_refund numeric, lines text)
LANGUAGE sql AS $$
    SELECT r.status, r.refund_status, r.refund_amount, r.restocking_fee, r.shipping_refund,
           (SELECT string_agg(format('%s: refunded %s units, %s', rl.line_no, rl.qty_refunded, rl.refund_amount), '; '
                              ORDER BY rl.line_no)
              FROM oms.return_line rl WHERE rl.order_id = r.order_id AND rl.return_id = r.return_id)
      FROM oms.returns r WHERE r.return_id = rid
$$;
-- An order's payments.
CREATE FUNCTION pg_temp.payments(oid bigint) RETURNS TABLE (id bigint, kind text, amount numeric, refund_of bigint,
                                                           return_id bigint, provider_ref text)
LANGUAGE sql AS $$
    SELECT id, kind, amount, refund_of, return_id, provider_ref FROM oms.payment WHERE order_id = oid ORDER BY id
$$;

-- W-1: 2 TEE at 20 with 7.60 tax, a CAP at 10 with 2 off; 4.80 off the order (in proportion to the
-- line nets 40 and 8: 4.00 and 0.80); shipping 5 + 0.95 tax.  Paid per TEE (47.60 - 4.00) / 2 = 21.80,
-- for the CAP 8 - 0.80 = 7.20; total 56.75, captured in two parts.
SELECT oms.place_order('WEB', 'W-1',
    '[{"sku": "TEE", "qty": 2, "unit_price": 20, "tax": 7.60}, {"sku": "CAP", "qty": 1, "unit_price": 10, "discount": 2}]',
    NULL, '{"order_discount": 4.80, "shipping": {"price": 5, "tax": 0.95}, "total": 56.75}') AS w1 \gset
SELECT oms.record_payment(:w1, 'authorize', 56.75) > 0 AS authorized,
       oms.record_payment(:w1, 'capture', 30) > 0 AS captured_1,
       oms.record_payment(:w1, 'capture', 26.75) > 0 AS captured_2;
SELECT oms.ship(oms.create_shipment(:w1, 'BER'), 'DHL', 'T-1') AS shipped \gset

-- R1: one TEE back.  Before it arrives nothing is refundable (refund on receipt).
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 1}]') AS r1 \gset
SELECT oms.return_refund_preview(:r1) -> 'refundable' AS refundable_before_receipt;
SELECT oms.refund_return(:r1) AS refunds_nothing_yet;
SELECT oms.receive_return(:r1, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
-- 21.80 - 10 % fee 2.18, no shipping (not everything came back): 19.62, all from the first capture.
SELECT jsonb_pretty(oms.return_refund_preview(:r1) - 'return_id' - 'order_id');

-- Bad input: each its own SQLSTATE, nothing recorded.
SELECT oms.refund_return(999999);                       -- OM150 unknown return
SELECT oms.return_refund_preview(999999);               -- OM150
SELECT oms.refund_return(:r1, 'NaN');                   -- OM169 not a number above 0
SELECT oms.refund_return(:r1, 0);                       -- OM169
SELECT oms.refund_return(:r1, -5);                      -- OM169
SELECT oms.refund_return(:r1, 1e12);                    -- OM169
SELECT oms.refund_return(:r1, 19.63);                   -- OM167 over the refundable
SELECT oms.refund_return(:r1, 5, '');                   -- OM025 empty provider_ref
SELECT oms.refund_return(NULL);                         -- 22004
SELECT count(*) AS refunds_so_far FROM oms.payment WHERE kind = 'refund';

-- A part, then a retry with the same provider_ref (nothing twice), then the rest.
SELECT oms.refund_return(:r1, 10, 'psp-r1-a') AS refunded;
SELECT oms.refund_return(:r1, 10, 'psp-r1-a') AS replayed;
SELECT oms.refund_return(:r1, 5, 'psp-r1-a');           -- OM072: the key with another amount
SELECT * FROM pg_temp.money(:r1);
SELECT oms.refund_return(:r1, NULL, 'psp-r1-b') AS rest;
SELECT oms.refund_return(:r1) AS nothing_left;
SELECT * FROM pg_temp.money(:r1);

-- R2: the other TEE (damaged) and the CAP: now every shipped unit came back, so shipping 5.95 is
-- refunded with it (once): 21.80 + 7.20 = 29.00 - 2.90 fee + 5.95 = 32.05, spread over what the
-- first capture has left (10.38) and the second.
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 1}, {"line_no": 2, "qty": 1}]') AS r2 \gset
SELECT oms.receive_return(:r2, '[{"line_no": 1, "qty": 1, "disposition": "damaged"},
                                  {"line_no": 2, "qty": 1, "disposition": "restock"}]');
SELECT oms.refund_return(:r2, NULL, 'psp-r2') AS refunded;
SELECT * FROM pg_temp.money(:r2);
SELECT * FROM pg_temp.payments(:w1);
SELECT payment_status FROM oms.orders WHERE order_id = :w1;
-- "refund issued": one event per refund.
SELECT e.entity_id AS return_id, coalesce(e.from_status, '(new)') || ' -> ' || e.to_status AS change,
       e.details - 'payments' AS details
  FROM oms.order_event e WHERE e.order_id = :w1 AND e.entity = 'refund' ORDER BY e.id;

-- W-2: authorized, never captured: the refund has no capture to take from (OM168), nothing recorded.
SELECT oms.place_order('WEB', 'W-2', '[{"sku": "TEE", "qty": 1, "unit_price": 20}]') AS w2 \gset
SELECT oms.record_payment(:w2, 'authorize', 20) > 0 AS authorized;
SELECT oms.ship(oms.create_shipment(:w2, 'BER'), 'DHL', 'T-2') AS shipped \gset
SELECT oms.request_return(:w2, '[{"line_no": 1, "qty": 1}]') AS r3 \gset
SELECT oms.receive_return(:r3, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
SELECT oms.refund_return(:r3);                          -- OM168
-- Captured, and refunded in part by hand meanwhile: the rest is all a capture can give.
SELECT oms.record_payment(:w2, 'capture', 20) > 0 AS captured, oms.record_payment(:w2, 'refund', 15) > 0 AS refunded_by_hand;
SELECT oms.refund_return(:r3);                          -- OM168: 18 due (20 - 2 fee), 5 left
SELECT oms.refund_return(:r3, 5) AS refunded;
SELECT * FROM pg_temp.money(:r3);

-- A-1 (APP: refund on request, shipping always): refundable as soon as it is requested.
SELECT oms.place_order('APP', 'A-1', '[{"sku": "TEE", "qty": 2, "unit_price": 15}]', NULL,
                       '{"shipping": {"price": 4}}') AS a1 \gset
SELECT oms.record_payment(:a1, 'authorize', 34) > 0, oms.record_payment(:a1, 'capture', 34) > 0;
SELECT oms.ship(oms.create_shipment(:a1, 'BER'), 'DHL', 'T-3') AS shipped \gset
SELECT oms.request_return(:a1, '[{"line_no": 1, "qty": 1}]') AS r4 \gset
SELECT oms.refund_return(:r4) AS refunded_on_request;  -- 15 + shipping 4
SELECT * FROM pg_temp.money(:r4);
-- Shipping once per order: a second return of A-1 refunds the unit alone.
SELECT oms.request_return(:a1, '[{"line_no": 1, "qty": 1}]') AS r5 \gset
SELECT (oms.return_refund_preview(:r5) ->> 'shipping')::numeric AS shipping, oms.refund_return(:r5) AS refunded;

-- Claims: a lost parcel refunded without a receipt (the requested units, no fee) ...
SELECT oms.place_order('WEB', 'W-3', '[{"sku": "CAP", "qty": 2, "unit_price": 12}]') AS w3 \gset
SELECT oms.record_payment(:w3, 'authorize', 24) > 0, oms.record_payment(:w3, 'capture', 24) > 0;
SELECT oms.ship(oms.create_shipment(:w3, 'BER'), 'DHL', 'T-4') AS shipped \gset
SELECT oms.request_return(:w3, '[{"line_no": 1, "qty": 2}]', '{"kind": "claim"}') AS c1 \gset
SELECT oms.refund_return(:c1) AS claim_refunded;
SELECT * FROM pg_temp.money(:c1);
-- ... or replaced: the replacement order is placed at once, the claimed units free of charge.
SELECT oms.place_order('WEB', 'W-4', '[{"sku": "CAP", "qty": 1, "unit_price": 12}]') AS w4 \gset
SELECT oms.ship(oms.create_shipment(:w4, 'BER'), 'DHL', 'T-5') AS shipped \gset
SELECT oms.request_return(:w4, '[{"line_no": 1, "qty": 1}]', '{"kind": "claim", "resolution": "replace"}') AS c2 \gset
SELECT o.external_ref, o.status, o.total_amount, o.replaces_order_id = :w4 AS replaces_w4,
       o.replaces_return_id = :c2 AS for_c2, r.replacement_order_id = o.order_id AS linked_back
  FROM oms.orders o JOIN oms.returns r ON r.return_id = :c2 WHERE o.replaces_return_id = :c2;
SELECT oms.refund_return(:c2, 1);                      -- OM167: a replace claim refunds nothing
-- Exchanges (WEB: reserved on request): a TEE for a CAP.  The replacement order goes through
-- place_order (routing, reservation, events); cancelling the exchange cancels it.
SELECT oms.place_order('WEB', 'W-5', '[{"sku": "TEE", "qty": 1, "unit_price": 20}]') AS w5 \gset
SELECT oms.ship(oms.create_shipment(:w5, 'BER'), 'DHL', 'T-6') AS shipped \gset
SELECT oms.request_return(:w5, '[{"line_no": 1, "qty": 1}]',
                          '{"kind": "exchange", "exchange": [{"sku": "NOPE", "qty": 1}]}');   -- OM001 from place_order
SELECT count(*) AS exchange_returns FROM oms.returns WHERE order_id = :w5;
SELECT oms.request_return(:w5, '[{"line_no": 1, "qty": 1}]',
                          '{"kind": "exchange", "exchange": [{"sku": "MUG", "qty": 2}]}');    -- OM030: 1 MUG in stock
SELECT count(*) AS exchange_returns FROM oms.returns WHERE order_id = :w5;
SELECT oms.request_return(:w5, '[{"line_no": 1, "qty": 1}]',
                          '{"kind": "exchange", "exchange": [{"sku": "CAP", "qty": 1}]}') AS x1 \gset
SELECT r.replacement_order_id AS x1_order FROM oms.returns r WHERE r.return_id = :x1 \gset
SELECT external_ref, status, replaces_order_id = :w5 AS replaces_w5, replaces_return_id = :x1 AS for_x1,
       (SELECT v.replacement_order_id FROM oms.v_returns v WHERE v.return_id = :x1) = order_id AS in_v_returns
  FROM oms.orders WHERE order_id = :x1_order;
SELECT oms.refund_return(:x1, 1);                      -- OM167: an exchange is settled by its replacement
SELECT oms.cancel_return(:x1, 'customer kept it');
SELECT status FROM oms.orders WHERE order_id = :x1_order;
-- APP reserves exchanges on receipt: nothing placed until the parcel arrives.
SELECT oms.place_order('APP', 'A-2', '[{"sku": "TEE", "qty": 1, "unit_price": 20}]') AS a2 \gset
SELECT oms.ship(oms.create_shipment(:a2, 'BER'), 'DHL', 'T-7') AS shipped \gset
SELECT oms.request_return(:a2, '[{"line_no": 1, "qty": 1}]',
                          '{"kind": "exchange", "exchange": [{"sku": "CAP", "qty": 1}]}') AS x2 \gset
SELECT replacement_order_id IS NULL AS not_yet FROM oms.returns WHERE return_id = :x2;
SELECT oms.receive_return(:x2, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
SELECT o.status, o.units FROM oms.returns r JOIN oms.orders o ON o.order_id = r.replacement_order_id
 WHERE r.return_id = :x2;

-- A settled claim completes, and its units are claimed for good: neither returnable nor claimable again.
-- A refund claim completes when refunded in full; a replace claim when its replacement has shipped
-- (the worker's round, oms.expire_returns, or the next return function on the order sees it).
SELECT oms.ship(oms.create_shipment(replacement_order_id, 'BER'), 'DHL', 'T-R2') AS shipped
  FROM oms.returns WHERE return_id = :c2 \gset
SELECT oms.expire_returns() AS expired;
SELECT r.return_id = :c1 AS is_c1, r.status, r.refund_status, l.qty_shipped, l.qty_claimed, l.qty_in_returns,
       l.qty_returned
  FROM oms.returns r JOIN oms.order_lines l ON l.order_id = r.order_id
 WHERE r.return_id IN (:c1, :c2) ORDER BY r.return_id;
SELECT oms.request_return(:w3, '[{"line_no": 1, "qty": 1}]');                      -- OM154: claimed already
SELECT oms.request_return(:w4, '[{"line_no": 1, "qty": 1}]', '{"kind": "claim"}'); -- OM154
-- Claimed units change only through the return functions, as returned ones do.
UPDATE oms.order_lines SET qty_claimed = 0 WHERE order_id = :w3;                   -- OM091
UPDATE oms.order_lines SET qty_in_returns = 1 WHERE order_id = :w3;                -- OM091
-- A refund claim refunded in part stays open; closing it accepts it as it stands (nothing is
-- missing, the units are claimed) and what it may refund stays refundable.
SELECT oms.place_order('WEB', 'W-6', '[{"sku": "CAP", "qty": 2, "unit_price": 12}]') AS w6 \gset
SELECT oms.record_payment(:w6, 'authorize', 24) > 0, oms.record_payment(:w6, 'capture', 24) > 0;
SELECT oms.ship(oms.create_shipment(:w6, 'BER'), 'DHL', 'T-8') AS shipped \gset
SELECT oms.request_return(:w6, '[{"line_no": 1, "qty": 2}]', '{"kind": "claim"}') AS c3 \gset
SELECT refund_status AS due FROM oms.returns WHERE return_id = :c3;
SELECT oms.refund_return(:c3, 12) AS refunded;
SELECT * FROM pg_temp.money(:c3);
SELECT oms.close_return(:c3, 'settled with the customer') AS missing;
SELECT * FROM pg_temp.money(:c3);
SELECT qty_claimed, qty_in_returns FROM oms.order_lines WHERE order_id = :w6;
SELECT oms.refund_return(:c3) AS rest;
SELECT * FROM pg_temp.money(:c3);
-- A replace claim that waits for authorization has its replacement at once and completes when
-- authorized and its replacement has shipped; cancelled before it ships, it cancels the replacement.
UPDATE oms.return_policy SET authorization_required = true
 WHERE channel_id = (SELECT id FROM oms.channel WHERE code = 'WEB');
SELECT oms.place_order('WEB', 'W-7', '[{"sku": "CAP", "qty": 1, "unit_price": 12}]') AS w7 \gset
SELECT oms.ship(oms.create_shipment(:w7, 'BER'), 'DHL', 'T-9') AS shipped \gset
SELECT oms.request_return(:w7, '[{"line_no": 1, "qty": 1}]', '{"kind": "claim", "resolution": "replace"}') AS c4 \gset
SELECT status, replacement_order_id IS NOT NULL AS replaced FROM oms.returns WHERE return_id = :c4;
SELECT oms.ship(oms.create_shipment(replacement_order_id, 'BER'), 'DHL', 'T-R4') AS shipped
  FROM oms.returns WHERE return_id = :c4 \gset
SELECT status FROM oms.returns WHERE return_id = :c4;             -- shipped, but not authorized yet
SELECT oms.cancel_return(:c4, 'too late');                        -- OM160: its replacement has shipped
SELECT oms.decline_return(:c4, 'not lost after all');             -- OM160 too
SELECT oms.authorize_return(:c4);
SELECT r.status, l.qty_claimed FROM oms.returns r JOIN oms.order_lines l ON l.order_id = r.order_id
 WHERE r.return_id = :c4;
UPDATE oms.return_policy SET authorization_required = false
 WHERE channel_id = (SELECT id FROM oms.channel WHERE code = 'WEB');

-- A part of a refund pays for whole units of a line once it covers them (the goods before the
-- fee): W-8, two TEE at 20 back (WEB: 10 % fee, 36 due); 18 pays for one.
SELECT oms.place_order('WEB', 'W-8', '[{"sku": "TEE", "qty": 2, "unit_price": 20}]') AS w8 \gset
SELECT oms.record_payment(:w8, 'authorize', 40) > 0, oms.record_payment(:w8, 'capture', 40) > 0;
SELECT oms.ship(oms.create_shipment(:w8, 'BER'), 'DHL', 'T-10') AS shipped \gset
SELECT oms.request_return(:w8, '[{"line_no": 1, "qty": 2}]') AS r8 \gset
SELECT refund_status AS before_receipt FROM oms.returns WHERE return_id = :r8;
SELECT oms.receive_return(:r8, '[{"line_no": 1, "qty": 2, "disposition": "restock"}]');
SELECT refund_status AS after_receipt FROM oms.returns WHERE return_id = :r8;
SELECT oms.refund_return(:r8, 17.99) AS refunded;
SELECT * FROM pg_temp.money(:r8);
SELECT oms.refund_return(:r8, 0.01) AS refunded;
SELECT * FROM pg_temp.money(:r8);
SELECT oms.refund_return(:r8) AS rest;
SELECT * FROM pg_temp.money(:r8);

-- Refunds are figured to the currency's minor unit: whole yen.  A-3 (APP: refund on request,
-- no fee): 3 units at 500 yen with 100 off the order, 1400 paid; one unit is worth 466.67, 466 refunded.
SELECT oms.currency_exponent('JPY') AS jpy, oms.currency_exponent('EUR') AS eur, oms.currency_exponent('KWD') AS kwd;
SELECT oms.place_order('APP', 'A-3', '[{"sku": "CAP", "qty": 3, "unit_price": 500}]', NULL,
                       '{"currency": "JPY", "order_discount": 100}') AS a3 \gset
SELECT oms.record_payment(:a3, 'authorize', 1400) > 0, oms.record_payment(:a3, 'capture', 1400) > 0;
SELECT oms.ship(oms.create_shipment(:a3, 'BER'), 'DHL', 'T-11') AS shipped \gset
SELECT oms.request_return(:a3, '[{"line_no": 1, "qty": 1}]') AS r9 \gset
SELECT oms.refund_return(:r9, 0.5);                                -- OM169: no half yen
SELECT oms.refund_return(:r9) AS yen;

-- A return refunded in part cannot be cancelled (its units would be returnable again, and
-- refunded twice); closed, the units refunded but never sent are settled (qty_claimed), the rest
-- missing.  A-4 (APP: refund on request, shipping always): 2 at 15 + 4 shipping; 20 refunded pays
-- for one unit (and a third of the other), nothing arrives.
SELECT oms.place_order('APP', 'A-4', '[{"sku": "CAP", "qty": 2, "unit_price": 15}]', NULL,
                       '{"shipping": {"price": 4}}') AS a4 \gset
SELECT oms.record_payment(:a4, 'authorize', 34) > 0, oms.record_payment(:a4, 'capture', 34) > 0;
SELECT oms.ship(oms.create_shipment(:a4, 'BER'), 'DHL', 'T-12') AS shipped \gset
SELECT oms.request_return(:a4, '[{"line_no": 1, "qty": 2}]') AS r10 \gset
SELECT oms.refund_return(:r10, 20) AS refunded;
SELECT * FROM pg_temp.money(:r10);
SELECT oms.cancel_return(:r10, 'changed my mind');                 -- OM160: settled in part
SELECT oms.close_return(:r10, 'never sent') AS missing;
SELECT * FROM pg_temp.money(:r10);
SELECT qty_claimed, qty_in_returns, (SELECT qty_missing FROM oms.return_line WHERE return_id = :r10) AS missing
  FROM oms.order_lines WHERE order_id = :a4;
SELECT oms.request_return(:a4, '[{"line_no": 1, "qty": 2}]');      -- OM154: one unit is settled
-- Money pays for the goods first, then shipping: A-5, the same order returned whole, refunded
-- 32 then the rest.
SELECT oms.place_order('APP', 'A-5', '[{"sku": "CAP", "qty": 2, "unit_price": 15}]', NULL,
                       '{"shipping": {"price": 4}}') AS a5 \gset
SELECT oms.record_payment(:a5, 'authorize', 34) > 0, oms.record_payment(:a5, 'capture', 34) > 0;
SELECT oms.ship(oms.create_shipment(:a5, 'BER'), 'DHL', 'T-13') AS shipped \gset
SELECT oms.request_return(:a5, '[{"line_no": 1, "qty": 2}]') AS r11 \gset
SELECT oms.refund_return(:r11, 32) AS refunded;
SELECT * FROM pg_temp.money(:r11);
SELECT oms.refund_return(:r11) AS rest;
SELECT * FROM pg_temp.money(:r11);

-- The worker's round expires a return whose parcel never came, unless money was refunded for it
-- (A-6, refunded on request): that one waits for close_return.
SELECT oms.place_order('APP', 'A-6', '[{"sku": "CAP", "qty": 2, "unit_price": 15}]') AS a6 \gset
SELECT oms.record_payment(:a6, 'authorize', 30) > 0, oms.record_payment(:a6, 'capture', 30) > 0;
SELECT oms.ship(oms.create_shipment(:a6, 'BER'), 'DHL', 'T-14') AS shipped \gset
SELECT oms.request_return(:a6, '[{"line_no": 1, "qty": 1}]') AS r12 \gset
SELECT oms.request_return(:a6, '[{"line_no": 1, "qty": 1}]') AS r13 \gset
SELECT oms.refund_return(:r12) AS refunded;
UPDATE oms.returns SET expires_at = now() - interval '1 day' WHERE return_id IN (:r12, :r13);
SELECT oms.expire_returns() AS expired;
SELECT return_id = :r12 AS refunded_one, status FROM oms.returns WHERE return_id IN (:r12, :r13) ORDER BY return_id;

SELECT * FROM oms.check_invariants();
