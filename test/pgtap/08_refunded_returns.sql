-- Returns that refunded money and then end short of it (issue 13): once a
-- defect (found by the storm and the fuzzer, fixed in e1dbc67), now kept to.
-- A return refunded in part or whole, then cancelled, closed with its units
-- missing (refunded on request) or expired, must neither leave more refunded
-- than oms.refund_breakdown allows (check_invariants()) nor make its refunded
-- units returnable, and refundable, again.
BEGIN;
SELECT plan(5);

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web', 'web'), ('APP', 'App', 'app');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt');
INSERT INTO oms.return_policy (channel_id, refund_on, expire_days) SELECT id, 'request', 1 FROM oms.channel WHERE code = 'APP';
SELECT oms.receive_stock('TEE', 'BER', 50);

-- Each order: 2 TEE at 20, 40 captured, shipped.
CREATE FUNCTION pg_temp.paid_order(channel text, ref text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := oms.place_order(channel, ref, '[{"sku": "TEE", "qty": 2, "unit_price": 20}]');
BEGIN
    PERFORM oms.record_payment(v_id, 'authorize', 40), oms.record_payment(v_id, 'capture', 40);
    PERFORM oms.ship(oms.create_shipment(v_id, 'BER'), 'DHL', ref);
    RETURN v_id;
END
$$;
-- Runs stmt; whatever oms refuses of it is skipped.
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'done';
EXCEPTION WHEN SQLSTATE 'OM160' OR SQLSTATE 'OM154' OR SQLSTATE 'OM167' OR SQLSTATE 'OM168' THEN
    RETURN 'refused';
END
$$;
CREATE FUNCTION pg_temp.violations() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(invariant || ': ' || detail, '; '), '') FROM oms.check_invariants()
$$;

-- APP refunds on request: 5.00 of an authorized return, then the return is cancelled.
SELECT pg_temp.paid_order('APP', 'A-1') AS a1 \gset
SELECT oms.request_return(:a1, '[{"line_no": 1, "qty": 2}]') AS r1 \gset
SELECT oms.refund_return(:r1, 5);
SELECT pg_temp.try(format($$SELECT oms.cancel_return(%s, 'kept it')$$, :r1));
SELECT is(pg_temp.violations(), '', 'cancelling a return refunded in part leaves the invariants whole');

-- The same, closed with both units missing.
SELECT pg_temp.paid_order('APP', 'A-2') AS a2 \gset
SELECT oms.request_return(:a2, '[{"line_no": 1, "qty": 2}]') AS r2 \gset
SELECT oms.refund_return(:r2, 5);
SELECT pg_temp.try(format($$SELECT oms.close_return(%s, 'lost')$$, :r2));
SELECT is(pg_temp.violations(), '', 'closing a return refunded in part on request leaves the invariants whole');

-- A refund claim refunded in part, then cancelled.
SELECT pg_temp.paid_order('WEB', 'W-1') AS w1 \gset
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 1}]', '{"kind": "claim"}') AS r3 \gset
SELECT oms.refund_return(:r3, 5);
SELECT pg_temp.try(format($$SELECT oms.cancel_return(%s, 'found it')$$, :r3));
SELECT is(pg_temp.violations(), '', 'cancelling a claim refunded in part leaves the invariants whole');

-- A refund claim of one unit refunded whole (20.00), cancelled; the unit
-- claimed and refunded again, cancelled again.
SELECT pg_temp.paid_order('WEB', 'W-2') AS w2 \gset
SELECT oms.request_return(:w2, '[{"line_no": 1, "qty": 1}]', '{"kind": "claim"}') AS r4 \gset
SELECT oms.refund_return(:r4);
SELECT pg_temp.try(format($$SELECT oms.cancel_return(%s, 'found it')$$, :r4)) AS cancel_1;
SELECT oms.request_return(:w2, '[{"line_no": 1, "qty": 1}]', '{"kind": "claim"}') AS r4b \gset
SELECT pg_temp.try(format($$SELECT oms.refund_return(%s)$$, :r4b)) AS refund_2;
SELECT pg_temp.try(format($$SELECT oms.cancel_return(%s, 'found it')$$, :r4b)) AS cancel_2;
SELECT is((SELECT coalesce(sum(amount), 0) FROM oms.payment WHERE order_id = :w2 AND kind = 'refund'),
          (SELECT coalesce(sum(refund_amount), 0) FROM oms.returns
            WHERE order_id = :w2 AND status NOT IN ('cancelled', 'declined', 'expired')),
          'every unit refunded is in a return still standing: none refunded and then handed back to the customer');

-- APP: refunded whole on request (40.00), the parcel never comes: expired.
SELECT pg_temp.paid_order('APP', 'A-3') AS a3 \gset
SELECT oms.request_return(:a3, '[{"line_no": 1, "qty": 2}]') AS r5 \gset
SELECT oms.refund_return(:r5);
UPDATE oms.returns SET expires_at = now() - interval '1 minute' WHERE return_id = :r5;
SELECT oms.expire_returns() >= 0;
SELECT throws_ok(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 2}]', '{"kind": "claim"}')$$, :a3),
                 'OM154', NULL, 'units refunded on request, their return expired, cannot be claimed (and refunded) again');

SELECT * FROM finish();
ROLLBACK;
