--
-- Returns: shipped units come back once.  request_return checks every line
-- against its returnable units (shipped - in open returns - returned), the
-- channel's window and reasons; authorize, decline and cancel move it on;
-- every change is an event.  Every bad input has its own SQLSTATE and
-- leaves nothing behind.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web'), ('APP', 'App', 'app');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, accepts_returns, active) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 10, true, true),
    ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99, 5, true, true),
    ('DRP', 'Dropship vendor', 'dropship', 50.11, 8.68, 1, false, true),
    ('OLD', 'Closed store', 'store', 48.137, 11.575, 0, true, false);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('MUG', 'Mug');
INSERT INTO oms.return_reason (code, label, resellable, active) VALUES
    ('too_small', 'Too small', true, true), ('broken', 'Arrived broken', false, true),
    ('retired', 'Retired reason', true, false);
-- The web shop authorizes returns by hand; the app takes the defaults (automatic, 30 days).
INSERT INTO oms.return_policy (channel_id, window_days, restocking_fee_pct, authorization_required)
SELECT id, 14, 10, true FROM oms.channel WHERE code = 'WEB';
SELECT oms.receive_stock('TEE', 'BER', 10), oms.receive_stock('CAP', 'BER', 10),
       oms.receive_stock('MUG', 'DRP', 10), oms.receive_stock('TEE', 'HAM', 10);

-- A return, its lines and the order lines' returned units, one row.
CREATE FUNCTION pg_temp.ret(rid bigint) RETURNS TABLE (kind text, status text, location text, lines text)
LANGUAGE sql AS $$
    SELECT r.kind, r.status, l.code,
           (SELECT string_agg(format('%s %s: requested %s, received %s (restocked %s, damaged %s, written off %s, quarantined %s), missing %s, unit %s%s',
                                     rl.line_no, s.code, rl.qty_requested, rl.qty_received, rl.qty_restocked,
                                     rl.qty_damaged, rl.qty_written_off, rl.qty_quarantined, rl.qty_missing,
                                     rl.unit_amount, coalesce(', ' || rr.code, '')), '; ' ORDER BY rl.line_no)
              FROM oms.return_line rl JOIN oms.sku s ON s.id = rl.sku_id
              LEFT JOIN oms.return_reason rr ON rr.id = rl.reason_id
             WHERE rl.order_id = r.order_id AND rl.return_id = r.return_id)
      FROM oms.returns r LEFT JOIN oms.location l ON l.id = r.return_location_id
     WHERE r.return_id = rid
$$;
-- The return events of an order.
CREATE FUNCTION pg_temp.events(ref text) RETURNS TABLE (return_id bigint, change text, details jsonb)
LANGUAGE sql AS $$
    SELECT e.entity_id, coalesce(e.from_status, '(new)') || ' -> ' || e.to_status, e.details
      FROM oms.order_event e JOIN oms.orders o ON o.order_id = e.order_id
     WHERE o.external_ref = ref AND e.entity = 'return' ORDER BY e.id
$$;
-- What each line may still return.
CREATE FUNCTION pg_temp.returnable(ref text) RETURNS TABLE (line_no integer, shipped integer, returned integer)
LANGUAGE sql AS $$
    SELECT l.line_no, l.qty_shipped, l.qty_returned FROM oms.order_lines l JOIN oms.orders o ON o.order_id = l.order_id
     WHERE o.external_ref = ref ORDER BY l.line_no
$$;

-- W-1: 3 TEE (2 shipped and delivered), a CAP with a discount (shipped), a MUG never shipped.
SELECT oms.place_order('WEB', 'W-1',
    '[{"sku": "TEE", "qty": 3, "unit_price": 20, "tax": 11.40}, {"sku": "CAP", "qty": 2, "unit_price": 10, "discount": 5},
      {"sku": "MUG", "qty": 1, "unit_price": 8}]') AS w1 \gset
SELECT oms.create_shipment(:w1, 'BER', '[{"line_no": 1, "qty": 2}, {"line_no": 2, "qty": 2}]') AS s1 \gset
SELECT oms.ship(:s1, 'DHL', 'T-1');
SELECT oms.track(:s1, 'delivered');

-- A return asks for 1 TEE; the web shop wants it authorized first.
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 1, "reason": "too_small", "note": "fits like a glove, a small one"}]') AS r1 \gset
SELECT * FROM pg_temp.ret(:r1);
SELECT oms.authorize_return(:r1);
SELECT * FROM pg_temp.ret(:r1);
-- Twice is an illegal status change (OM160).
SELECT oms.authorize_return(:r1);
\echo :LAST_ERROR_SQLSTATE
-- Another TEE and both CAPs: the price paid per unit is frozen (CAP: (2 x 10 - 5) / 2).
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 1}, {"line_no": 2, "qty": 2, "reason": "broken"}]') AS r2 \gset
SELECT * FROM pg_temp.ret(:r2);
-- Nothing is left to return on line 1: its 2 shipped units are in open returns (OM154).
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
-- Declining r2 makes its units returnable again; a reason is required (OM165).
SELECT oms.decline_return(:r2, '  ');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.decline_return(:r2, 'outside policy');
SELECT oms.cancel_return(:r2, 'again');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 1}]') AS r3 \gset
-- Cancelling r3 too, once authorized.
SELECT oms.authorize_return(:r3);
SELECT oms.cancel_return(:r3, 'customer kept it');
SELECT * FROM pg_temp.events('W-1');
SELECT * FROM oms.check_invariants();

-- Idempotency: the same key and contents return the same return; other contents under it are OM161.
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"idempotency_key": "rma-7"}') AS r4 \gset
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"idempotency_key": "rma-7"}') = :r4 AS same_return;
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 2}]', '{"idempotency_key": "rma-7"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS returns_of_w1 FROM oms.returns WHERE order_id = :w1;

-- Bad input: each its own SQLSTATE, nothing written.
SELECT count(*) AS returns_before FROM oms.returns \gset
SELECT oms.request_return(999, '[{"line_no": 1, "qty": 1}]');                       -- unknown order
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 9, "qty": 1}]');                       -- unknown line
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 3, "qty": 1}]');                       -- never shipped
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 5}]');                       -- more than returnable
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1, "reason": "nope"}]');     -- unknown reason
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1, "reason": "retired"}]');  -- inactive reason
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 0}]');                       -- zero
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": -1}]');                      -- negative
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1.5}]');                     -- a fraction
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": "NaN"}]');                   -- not a number
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, jsonb_build_array(jsonb_build_object('line_no', 2, 'qty', 'NaN'::numeric)));  -- NaN
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1e10}]');                    -- too large
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[]');                                               -- no lines
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '{"line_no": 2}');                                   -- not an array
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1, "colour": "red"}]');     -- unknown field
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}, {"line_no": 2, "qty": 1}]');  -- a line twice
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"qty": 1}]');                                     -- no line_no
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"kind": "swap"}');  -- unknown kind
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"resolution": "replace"}');  -- resolution of a claim
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"kind": "exchange"}');  -- exchange without goods
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"speed": "fast"}');  -- unknown option
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"idempotency_key": " k "}');
\echo :LAST_ERROR_SQLSTATE
-- 200 characters are allowed, however many bytes they take; 201 are not.
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', jsonb_build_object('idempotency_key', repeat('é', 201)));
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"return_location": "NOWHERE"}');  -- unknown location
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"return_location": "DRP"}');  -- takes no returns
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"return_location": "OLD"}');  -- inactive
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) - :returns_before AS returns_written FROM oms.returns;

-- A-1 on the app (automatic authorization), shipped by the dropship vendor,
-- which takes no returns: the parcel must go back elsewhere.
SELECT oms.place_order('APP', 'A-1', '[{"sku": "MUG", "qty": 2, "unit_price": 8}]') AS a1 \gset
SELECT oms.ship(oms.create_shipment(:a1, 'DRP'), 'UPS', 'U-1');
SELECT oms.request_return(:a1, '[{"line_no": 1, "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:a1, '[{"line_no": 1, "qty": 1}]', '{"return_location": "BER"}') AS a1r \gset
SELECT * FROM pg_temp.ret(:a1r);
SELECT * FROM pg_temp.events('A-1');

-- The window: A-2 was delivered 40 days ago; the app takes returns for 30 days (OM156).
SELECT oms.place_order('APP', 'A-2', '[{"sku": "TEE", "qty": 1, "unit_price": 20}]') AS a2 \gset
SELECT oms.create_shipment(:a2, 'BER') AS a2s \gset
SELECT oms.ship(:a2s, 'DHL', 'T-2');
SELECT oms.track(:a2s, 'delivered', now() - interval '40 days');
SELECT oms.request_return(:a2, '[{"line_no": 1, "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE
-- Only an admin may override the policy (OM164); this session's role is one.
CREATE ROLE oms_returns_app;
SELECT oms.grant_app('oms_returns_app');
SET ROLE oms_returns_app;
SELECT oms.request_return(:a2, '[{"line_no": 1, "qty": 1}]', '{"override_policy": true}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT oms.request_return(:a2, '[{"line_no": 1, "qty": 1}]', '{"override_policy": true}') AS a2r \gset
SELECT status, policy_overridden, window_days FROM oms.returns WHERE return_id = :a2r;

-- Unknown returns (OM150) and status changes out of turn (OM160).
SELECT oms.authorize_return(999);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.decline_return(:a2r, 'too late');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.cancel_return(999, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.authorize_return(NULL);
\echo :LAST_ERROR_SQLSTATE
-- The table's transition guard refuses an illegal change even to its owner (OM060).
UPDATE oms.returns SET status = 'received' WHERE return_id = :r2;
\echo :LAST_ERROR_SQLSTATE

-- Receiving.  W-2: 4 TEE and 2 CAP shipped from BER and delivered; all come back.
SELECT oms.place_order('WEB', 'W-2', '[{"sku": "TEE", "qty": 4, "unit_price": 20}, {"sku": "CAP", "qty": 2, "unit_price": 10}]') AS w2 \gset
SELECT oms.create_shipment(:w2, 'BER') AS w2s \gset
SELECT oms.ship(:w2s, 'DHL', 'T-3');
SELECT oms.track(:w2s, 'delivered');
SELECT oms.request_return(:w2, '[{"line_no": 1, "qty": 4}, {"line_no": 2, "qty": 2}]') AS r5 \gset
-- Not authorized yet: nothing can be received (OM160).
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.authorize_return(:r5);
SELECT sku, location, on_hand FROM oms.v_stock WHERE sku IN ('TEE', 'CAP') ORDER BY 1, 2;
-- A parcel: one TEE restocked at BER (the return's location), one damaged, one CAP quarantined at HAM.
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock"},
                                 {"line_no": 1, "qty": 1, "disposition": "damaged", "note": "torn"},
                                 {"line_no": 2, "qty": 1, "disposition": "quarantine", "location": "HAM"}]',
                          'parcel-1') AS received;
SELECT * FROM pg_temp.ret(:r5);
SELECT sku, location, on_hand FROM oms.v_stock WHERE sku IN ('TEE', 'CAP') ORDER BY 1, 2;
SELECT s.code AS sku, l.code AS location, m.kind, m.quantity, m.reference
  FROM oms.stock_movement m JOIN oms.sku s ON s.id = m.sku_id JOIN oms.location l ON l.id = m.location_id
 WHERE m.kind = 'return' ORDER BY m.id;
SELECT * FROM pg_temp.returnable('W-2');
-- The same parcel again (a retry) receives nothing and answers the same; other receipts under its key are OM161.
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock"},
                                 {"line_no": 1, "qty": 1, "disposition": "damaged", "note": "torn"},
                                 {"line_no": 2, "qty": 1, "disposition": "quarantine", "location": "HAM"}]',
                          'parcel-1') AS received_again;
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 2, "disposition": "restock"}]', 'parcel-1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS receipts, sum(qty) AS units FROM oms.return_receipt WHERE return_id = :r5;

-- Bad receipts: each its own SQLSTATE, nothing received.
SELECT oms.receive_return(:r5, '[{"line_no": 3, "qty": 1, "disposition": "restock"}]');       -- not a line of the return
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 3, "disposition": "restock"}]');       -- 2 still expected
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock"},
                                 {"line_no": 1, "qty": 2, "disposition": "damaged"}]');       -- 3 in one call
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "resell"}]');        -- unknown disposition
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1}]');                                 -- no disposition
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 0, "disposition": "restock"}]');       -- zero
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": -2, "disposition": "restock"}]');      -- negative
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, jsonb_build_array(jsonb_build_object('line_no', 1, 'qty', 'NaN'::numeric, 'disposition', 'restock')));
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock", "location": "DRP"}]');  -- takes no returns
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock", "location": "NOWHERE"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock", "bin": "A1"}]');  -- unknown field
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]', ' padded');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(999, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS receipts, sum(qty) AS units FROM oms.return_receipt WHERE return_id = :r5;

-- The quarantined CAP is released to stock at HAM, where it was kept; more than is kept is OM166.
SELECT oms.release_quarantine(:r5, 2, 2, 'restock');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_quarantine(:r5, 2, 1, 'damaged');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_quarantine(:r5, 2, 0, 'restock');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_quarantine(:r5, 7, 1, 'restock');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_quarantine(:r5, 2, 1, 'restock');
SELECT * FROM pg_temp.ret(:r5);
SELECT sku, location, on_hand FROM oms.v_stock WHERE sku = 'CAP' ORDER BY 1, 2;
-- The rest never comes: closing counts 2 TEE and 1 CAP missing, and completes the return.
SELECT oms.close_return(:r5, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT oms.close_return(:r5, 'lost in the post') AS missing;
SELECT * FROM pg_temp.ret(:r5);
SELECT oms.cancel_return(:r5, 'too late');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.receive_return(:r5, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
\echo :LAST_ERROR_SQLSTATE
-- Missing units were never returned: the customer may still send them back.
SELECT * FROM pg_temp.returnable('W-2');
SELECT oms.request_return(:w2, '[{"line_no": 1, "qty": 3}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.events('W-2');
SELECT return_id, order_ref, channel, kind, status, line_no, sku, reason, qty_requested, qty_received, qty_restocked,
       qty_damaged, qty_written_off, qty_quarantined, qty_missing, qty_expected, unit_amount, currency, return_location,
       requested_at <= authorized_at AND authorized_at <= received_at AND received_at <= completed_at AS in_order
  FROM oms.v_returns WHERE order_ref IN ('W-1', 'W-2') ORDER BY return_id, line_no;

-- A restocked unit is sellable at once: it fills a backorder waiting for it.
INSERT INTO oms.sku (code, name) VALUES ('SOX', 'Socks');
SELECT oms.receive_stock('SOX', 'BER', 1);
SELECT oms.place_order('APP', 'A-3', '[{"sku": "SOX", "qty": 1, "unit_price": 5}]') AS a3 \gset
SELECT oms.ship(oms.create_shipment(:a3, 'BER'), 'DHL', 'T-4');
SELECT oms.place_order('APP', 'A-4', '[{"sku": "SOX", "qty": 1, "unit_price": 5}]', NULL, '{"allow_backorder": true}') AS a4 \gset
SELECT status FROM oms.orders WHERE order_id = :a4;
SELECT oms.request_return(:a3, '[{"line_no": 1, "qty": 1}]') AS a3r \gset
SELECT oms.receive_return(:a3r, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
SELECT status FROM oms.orders WHERE order_id = :a4;
SELECT on_hand, reserved FROM oms.v_stock WHERE sku = 'SOX';

-- A parcel the carrier brings back (returned_to_sender) comes in through the same path, whatever the window.
SELECT oms.place_order('APP', 'A-5', '[{"sku": "TEE", "qty": 2, "unit_price": 20}]') AS a5 \gset
SELECT oms.create_shipment(:a5, 'BER') AS a5s \gset
SELECT oms.ship(:a5s, 'GLS', 'G-1');
SELECT oms.track(:a5s, 'returned_to_sender', now() - interval '60 days');
SELECT oms.request_return(:a5, '[{"line_no": 1, "qty": 2, "reason": "broken"}]') AS a5r \gset
SELECT oms.receive_return(:a5r, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
SELECT oms.receive_return(:a5r, '[{"line_no": 1, "qty": 1, "disposition": "write_off"}]');
SELECT * FROM pg_temp.ret(:a5r);
SELECT * FROM pg_temp.returnable('A-5');

-- A-5's parcel came back whole: the order, stuck at shipped before, can close now.
SELECT status FROM oms.orders WHERE order_id = :a5;
SELECT oms.close_order(:a5);
SELECT status FROM oms.orders WHERE order_id = :a5;

-- Units and receipts change only through the return functions (OM091, OM090), even for their owner.
UPDATE oms.return_line SET qty_received = 0 WHERE return_id = :r5;
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.order_lines SET qty_returned = 0 WHERE order_id = :w2;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM oms.return_receipt WHERE return_id = :r5;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE oms.return_line;
\echo :LAST_ERROR_SQLSTATE

-- Expiry: the app's authorized returns wait 7 days for their parcel; A-6's has waited 8.
UPDATE oms.return_policy SET expire_days = 7;
INSERT INTO oms.return_policy (channel_id, expire_days) SELECT id, 7 FROM oms.channel WHERE code = 'APP';
SELECT oms.place_order('APP', 'A-6', '[{"sku": "TEE", "qty": 2, "unit_price": 20}]') AS a6 \gset
SELECT oms.ship(oms.create_shipment(:a6, 'BER'), 'DHL', 'T-6');
SELECT oms.request_return(:a6, '[{"line_no": 1, "qty": 1}]') AS a6r \gset
SELECT oms.request_return(:a6, '[{"line_no": 1, "qty": 1}]') AS a6r2 \gset
SELECT return_id, status, expires_at - authorized_at AS waits FROM oms.returns WHERE return_id IN (:a6r, :a6r2) ORDER BY 1;
UPDATE oms.returns SET expires_at = now() - interval '1 day' WHERE return_id = :a6r;
SELECT oms.receive_return(:a6r2, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
UPDATE oms.returns SET expires_at = now() - interval '1 day' WHERE return_id = :a6r2;
SELECT oms.expire_returns() AS expired, oms.expire_returns() AS again;
SELECT return_id, status, status_reason IS NOT NULL AS has_reason FROM oms.returns WHERE return_id IN (:a6r, :a6r2) ORDER BY 1;
SELECT oms.receive_return(:a6r, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]');
\echo :LAST_ERROR_SQLSTATE
-- Its unit is returnable again.
SELECT oms.request_return(:a6, '[{"line_no": 1, "qty": 1}]') > 0 AS requested_again;
-- A-6 shipped 2 units and got 1 back: it cannot close (OM060).
SELECT oms.close_order(:a6);
\echo :LAST_ERROR_SQLSTATE

-- Closing a return that received everything (A-5's) or nothing (r1) completes it; a requested one is cancelled.
SELECT oms.close_return(:a5r, 'all back') AS missing, oms.close_return(:r1, 'never sent') AS missing_r1;
SELECT oms.cancel_return(:r4, 'duplicate');
-- Only a return that ends with units missing, or cancelled, has closed_at.
SELECT return_id, status, status_reason, closed_at IS NOT NULL AS closed FROM oms.returns WHERE return_id IN (:r1, :r4, :a5r) ORDER BY 1;
-- Every return transition was taken but a requested return's expiry (only authorized ones expire), and
-- an order closed from shipped; no return event is one the table does not list.
SELECT t.entity, t.from_status, t.to_status
  FROM oms.v_transitions t
 WHERE (t.entity = 'return' OR (t.entity, t.from_status, t.to_status) = ('order', 'shipped', 'closed'))
   AND NOT EXISTS (SELECT FROM oms.order_event e
                    WHERE e.entity = t.entity AND coalesce(e.from_status, '(new)') = t.from_status
                      AND e.to_status = t.to_status);
SELECT e.entity, e.from_status, e.to_status FROM oms.order_event e
 WHERE e.entity = 'return'
   AND NOT EXISTS (SELECT FROM oms.v_transitions t
                    WHERE e.entity = t.entity AND coalesce(e.from_status, '(new)') = t.from_status
                      AND e.to_status = t.to_status);
-- Each status change is one event and one outbox row.
SELECT (SELECT count(*) FROM oms.order_event WHERE entity = 'return') AS events,
       (SELECT count(*) FROM oms.outbox WHERE entity = 'return') AS outbox;
-- A key of 200 characters of two bytes each is a key.
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', jsonb_build_object('idempotency_key', repeat('é', 200))) AS r_mb \gset
SELECT char_length(idempotency_key) AS key_chars, octet_length(idempotency_key) AS key_bytes FROM oms.returns WHERE return_id = :r_mb;
SELECT oms.cancel_return(:r_mb, 'a test of the key');
-- A return whose status is not its last event is a violation (the triggers off, as a restore might).
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE oms.returns SET status = 'cancelled' WHERE return_id = :a6r2;
SELECT invariant FROM oms.check_invariants() WHERE invariant = 'the last event of each entity is its status';
ROLLBACK;

-- The window counts per parcel.  A-7's 3 HAT left in three: one delivered 40 days ago (outside the app's
-- 30 days), one returned to sender 60 days ago (always returnable), one delivered 5 days ago.  Two units
-- are within the window, not all three (OM156); once they are in a return, none is.
INSERT INTO oms.sku (code, name) VALUES ('HAT', 'Hat');
SELECT oms.receive_stock('HAT', 'BER', 20);
SELECT oms.place_order('APP', 'A-7', '[{"sku": "HAT", "qty": 3, "unit_price": 10}]') AS a7 \gset
SELECT oms.create_shipment(:a7, 'BER', '[{"line_no": 1, "qty": 1}]') AS a7s1 \gset
SELECT oms.create_shipment(:a7, 'BER', '[{"line_no": 1, "qty": 1}]') AS a7s2 \gset
SELECT oms.create_shipment(:a7, 'BER', '[{"line_no": 1, "qty": 1}]') AS a7s3 \gset
SELECT oms.ship(:a7s1, 'DHL', 'T-71'), oms.ship(:a7s2, 'DHL', 'T-72'), oms.ship(:a7s3, 'DHL', 'T-73');
SELECT oms.track(:a7s1, 'delivered', now() - interval '40 days'),
       oms.track(:a7s2, 'returned_to_sender', now() - interval '60 days'),
       oms.track(:a7s3, 'delivered', now() - interval '5 days');
SELECT oms.request_return(:a7, '[{"line_no": 1, "qty": 3}]');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.request_return(:a7, '[{"line_no": 1, "qty": 2}]') > 0 AS requested;
SELECT oms.request_return(:a7, '[{"line_no": 1, "qty": 1}]');
\echo :LAST_ERROR_SQLSTATE

-- What a unit was paid, never more: A-8's line 1 (3 x 10 less 0.01) and line 2 (20) share its order discount
-- of 15 in proportion to their nets; each unit_amount is rounded down, so the units of a line are worth at
-- most what the line was paid, and the order's units at most its total.
SELECT oms.place_order('APP', 'A-8', '[{"sku": "HAT", "qty": 3, "unit_price": 10, "discount": 0.01},
                                       {"sku": "HAT", "qty": 1, "unit_price": 20}]', NULL,
                       '{"order_discount": 15}') AS a8 \gset
SELECT oms.ship(oms.create_shipment(:a8, 'BER'), 'DHL', 'T-8');
SELECT oms.request_return(:a8, '[{"line_no": 1, "qty": 3}, {"line_no": 2, "qty": 1}]') AS a8r \gset
SELECT rl.line_no, rl.unit_amount, rl.qty_requested * rl.unit_amount AS units_worth
  FROM oms.return_line rl WHERE rl.return_id = :a8r ORDER BY rl.line_no;
SELECT o.total_amount, sum(rl.qty_requested * rl.unit_amount) <= o.total_amount AS within_total
  FROM oms.return_line rl JOIN oms.orders o ON o.order_id = rl.order_id
 WHERE rl.return_id = :a8r GROUP BY o.total_amount;

-- Quarantine is kept per location.  A-9's 2 HAT came back into quarantine, one at BER, one at HAM: a
-- release must name where from (OM166), no more than is kept there (OM166); units are restocked where
-- they are kept, which must still take returns (OM159), else written off.
SELECT oms.place_order('APP', 'A-9', '[{"sku": "HAT", "qty": 2, "unit_price": 10}]') AS a9 \gset
SELECT oms.ship(oms.create_shipment(:a9, 'BER'), 'DHL', 'T-9');
SELECT oms.request_return(:a9, '[{"line_no": 1, "qty": 2}]') AS a9r \gset
SELECT oms.receive_return(:a9r, '[{"line_no": 1, "qty": 1, "disposition": "quarantine", "location": "HAM"},
                                  {"line_no": 1, "qty": 1, "disposition": "quarantine", "location": "BER"}]');
SELECT oms.release_quarantine(:a9r, 1, 1, 'restock');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_quarantine(:a9r, 1, 2, 'restock', 'HAM');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_quarantine(:a9r, 1, 1, 'restock', 'DRP');
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.location SET accepts_returns = false WHERE code = 'HAM';
SELECT oms.release_quarantine(:a9r, 1, 1, 'restock', 'HAM');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_quarantine(:a9r, 1, 1, 'write_off', 'HAM') AS written_off;
UPDATE oms.location SET accepts_returns = true WHERE code = 'HAM';
-- Only BER keeps any now: no need to name it.  A retry under the release's key releases nothing more and
-- answers the same; the key with other arguments is OM161.
SELECT oms.release_quarantine(:a9r, 1, 1, 'restock', NULL, 'rel-1') AS restocked;
SELECT oms.release_quarantine(:a9r, 1, 1, 'restock', NULL, 'rel-1') AS restocked_again;
SELECT oms.release_quarantine(:a9r, 1, 1, 'write_off', NULL, 'rel-1');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.release_quarantine(:a9r, 1, 1, 'restock');
\echo :LAST_ERROR_SQLSTATE
SELECT l.code AS location, rr.disposition, rr.from_quarantine, rr.qty
  FROM oms.return_receipt rr JOIN oms.location l ON l.id = rr.location_id
 WHERE rr.return_id = :a9r ORDER BY rr.id;
SELECT * FROM pg_temp.ret(:a9r);
SELECT * FROM oms.check_invariants();
DROP OWNED BY oms_returns_app;
DROP ROLE oms_returns_app;

-- A reason or location that returns name is deactivated, not deleted (23503): RET holds no stock, only a
-- cancelled return's parcel was to go there.
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('RET', 'Returns desk', 'store', 52.5, 13.4);
SELECT oms.place_order('APP', 'A-10', '[{"sku": "HAT", "qty": 1, "unit_price": 10}]') AS a10 \gset
SELECT oms.ship(oms.create_shipment(:a10, 'BER'), 'DHL', 'T-10');
SELECT oms.request_return(:a10, '[{"line_no": 1, "qty": 1}]', '{"return_location": "RET"}') AS a10r \gset
SELECT oms.cancel_return(:a10r, 'kept it');
DELETE FROM oms.return_reason WHERE code = 'too_small';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM oms.location WHERE code = 'RET';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS still_there FROM oms.location WHERE code = 'RET';
SELECT count(*) AS reasons FROM oms.return_reason WHERE code = 'too_small';

-- Every column of the return tables says what it holds.
SELECT c.relname, a.attname
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'oms' AND c.relkind = 'r' AND c.relname LIKE 'return%' AND a.attnum > 0 AND NOT a.attisdropped
   AND pg_catalog.col_description(c.oid, a.attnum) IS NULL
 ORDER BY 1, a.attnum;
