-- Returns, refunds, exchanges and claims (issue 13): the application role
-- calls every return function and writes no return table itself, the
-- reporting role calls none, every SECURITY DEFINER function pins its
-- search_path (temporary tables named like oms's change nothing), and every
-- bad input of the issue's list has its own SQLSTATE of class OM and leaves
-- nothing behind.
BEGIN;
SELECT plan(134);

CREATE ROLE oms_rt_app;
CREATE ROLE oms_rt_bi;
CREATE ROLE oms_rt_admin;
SELECT oms.grant_app('oms_rt_app');
SELECT oms.grant_reporting('oms_rt_bi');
SELECT oms.grant_admin('oms_rt_admin');

-- The shop.  WEB takes the defaults (30 days, authorized at once, refunded on
-- receipt); APP wants every return authorized, refunds on request and takes
-- returns for 14 days.  DRP takes no returns; OLD is closed.
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web'), ('APP', 'App', 'app');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, accepts_returns, active) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 10, true, true),
    ('DRP', 'Dropship vendor', 'dropship', 50.11, 8.68, 1, false, true),
    ('OLD', 'Closed store', 'store', 48.137, 11.575, 0, true, false);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('MUG', 'Mug'), ('VASE', 'Vase'),
                                         ('LAST', 'The last one');
INSERT INTO oms.return_reason (code, label, resellable, active) VALUES
    ('too_small', 'Too small', true, true), ('retired', 'Retired reason', true, false);
INSERT INTO oms.return_policy (channel_id, window_days, refund_on, authorization_required)
SELECT id, 14, 'request', true FROM oms.channel WHERE code = 'APP';
SELECT oms.receive_stock('TEE', 'BER', 30), oms.receive_stock('CAP', 'BER', 30), oms.receive_stock('MUG', 'BER', 10),
       oms.receive_stock('VASE', 'DRP', 10), oms.receive_stock('LAST', 'BER', 1);

-- The return, refund and exchange functions.
CREATE TEMP TABLE rfn AS
SELECT p.oid::regprocedure AS fn FROM pg_proc p
 WHERE p.pronamespace = 'oms'::regnamespace
   AND p.proname IN ('request_return', 'authorize_return', 'decline_return', 'cancel_return', 'receive_return',
                     'close_return', 'release_quarantine', 'expire_returns', 'refund_return',
                     'return_refund_preview', 'refund_breakdown', 'refund_captures');
-- The tables they write.
CREATE TEMP TABLE rtab AS
SELECT t::regclass AS t FROM unnest(ARRAY['oms.returns', 'oms.return_ref', 'oms.return_line', 'oms.return_receipt',
                                          'oms.return_key', 'oms.payment', 'oms.stock', 'oms.stock_movement',
                                          'oms.order_lines', 'oms.orders', 'oms.order_event']) t;

--
-- Privileges.
--
SELECT is((SELECT count(*) FROM rfn), 12::bigint, 'the twelve return, refund and exchange functions exist');
SELECT is(ARRAY(SELECT fn::text FROM rfn WHERE NOT has_function_privilege('oms_rt_app', fn, 'EXECUTE') ORDER BY 1),
          '{}'::text[], 'the app role may call every return, refund and exchange function');
SELECT is(ARRAY(SELECT fn::text FROM rfn WHERE has_function_privilege('oms_rt_bi', fn, 'EXECUTE') ORDER BY 1),
          '{}'::text[], 'the reporting role may call none of them');
SELECT is(ARRAY(SELECT fn::text FROM rfn WHERE has_function_privilege('public', fn, 'EXECUTE') ORDER BY 1),
          '{}'::text[], 'PUBLIC may call none of them');
SELECT is(ARRAY(SELECT t::text || ' ' || p FROM rtab, unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
                 WHERE has_table_privilege('oms_rt_app', t, p) ORDER BY 1),
          '{}'::text[], 'the app role may not write the return tables, payments, stock, ledger or orders');
SELECT is(ARRAY(SELECT t::text || ' ' || p
                  FROM unnest(ARRAY['oms.returns', 'oms.return_ref', 'oms.return_line', 'oms.return_receipt',
                                    'oms.return_key']::regclass[]) t,
                       unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
                 WHERE has_table_privilege('oms_rt_admin', t, p) ORDER BY 1),
          '{}'::text[], 'nor may the admin role write the return tables');
SELECT is(ARRAY(SELECT t::text || ' ' || p
                  FROM unnest(ARRAY['oms.return_reason', 'oms.return_policy']::regclass[]) t,
                       unnest(ARRAY['INSERT', 'UPDATE']) p
                 WHERE NOT has_table_privilege('oms_rt_admin', t, p) ORDER BY 1),
          '{}'::text[], 'the admin role keeps the return reasons and policies');
SELECT is(ARRAY(SELECT t::text || ' ' || p
                  FROM unnest(ARRAY['oms.return_reason', 'oms.return_policy']::regclass[]) t,
                       unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
                 WHERE has_table_privilege('oms_rt_app', t, p) ORDER BY 1),
          '{}'::text[], 'the app role does not');
SELECT is(ARRAY(SELECT t::text FROM unnest(ARRAY['oms.returns', 'oms.return_line', 'oms.return_receipt', 'oms.return_key',
                                                 'oms.v_returns', 'oms.payment']::regclass[]) t
                 WHERE has_table_privilege('oms_rt_bi', t, 'SELECT') ORDER BY 1),
          '{}'::text[], 'the reporting role reads no return table nor oms.v_returns');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'oms'::regnamespace AND p.prosecdef
                   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false) ORDER BY 1),
          '{}'::text[], 'every SECURITY DEFINER function of oms pins search_path to pg_catalog, pg_temp');
SELECT is(ARRAY(SELECT fn::text FROM rfn JOIN pg_proc p ON p.oid = fn
                 WHERE p.proname NOT IN ('return_refund_preview', 'refund_breakdown', 'refund_captures')
                   AND NOT p.prosecdef ORDER BY 1),
          '{}'::text[], 'the return functions that write are SECURITY DEFINER (the app role writes nothing itself)');
SELECT is(ARRAY(SELECT fn::text FROM rfn JOIN pg_proc p ON p.oid = fn
                 WHERE NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false) ORDER BY 1),
          '{}'::text[], 'the read-only ones pin their search_path too');

--
-- The app role carries returns through every function, with temporary
-- tables named like oms's in its search path (a SECURITY DEFINER function
-- whose SQL named a table unqualified would find these).
--
SET ROLE oms_rt_app;
CREATE TEMP TABLE returns (order_id bigint, return_id bigint, status text, kind text);
INSERT INTO returns VALUES (1, 1, 'completed', 'claim');
CREATE TEMP TABLE return_line (order_id bigint, return_id bigint, line_no integer, qty_requested integer);
INSERT INTO return_line VALUES (1, 1, 1, 99);
CREATE TEMP TABLE order_lines (order_id bigint, line_no integer, qty_shipped integer, qty_returned integer);
INSERT INTO order_lines VALUES (1, 1, 0, 99);
CREATE TEMP TABLE payment (order_id bigint, id bigint, kind text, amount numeric);
INSERT INTO payment VALUES (1, 1, 'capture', 1000000);
CREATE TEMP TABLE location (id bigint, code text, accepts_returns boolean, active boolean);
INSERT INTO location VALUES (1, 'DRP', true, true);

SELECT oms.place_order('WEB', 'W-1', '[{"sku": "TEE", "qty": 3, "unit_price": 20}, {"sku": "CAP", "qty": 4, "unit_price": 10}]') AS w1 \gset
SELECT oms.record_payment(:w1, 'authorize', 100, 'rt-auth-w1') > 0, oms.record_payment(:w1, 'capture', 100, 'rt-cap-w1') > 0;
SELECT oms.ship(oms.create_shipment(:w1, 'BER'), 'DHL', 'RT-1');

SELECT lives_ok(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1, "reason": "too_small"}]', '{"idempotency_key": "rt-1"}')$$, :w1),
                'the app role requests a return');
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 1, "reason": "too_small"}]', '{"idempotency_key": "rt-1"}') AS r1 \gset
SELECT is((SELECT status || ' ' || created_by FROM oms.returns WHERE return_id = :r1), 'authorized oms_rt_app',
          'authorized at once, recorded as the app role''s');
SELECT is(oms.receive_return(:r1, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]', 'rt-parcel-1'), 1,
          'the app role receives a unit into stock');
SELECT is(oms.receive_return(:r1, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]', 'rt-parcel-1'), 1,
          'a replay of the receipt answers the same and receives nothing');
SELECT is((SELECT count(*) FROM oms.stock_movement WHERE kind = 'return'), 1::bigint,
          'one ledger row of kind return for the unit');
SELECT is((oms.return_refund_preview(:r1) ->> 'refundable')::numeric, 20.00, 'the app role previews the refund: 20.00');
SELECT is(oms.refund_return(:r1, 5, 'rt-refund-1a'), 5.00, 'the app role refunds a part');
SELECT is(oms.refund_return(:r1), 15.00, 'and then the rest');
SELECT is((SELECT refund_status || ' ' || refund_amount FROM oms.returns WHERE return_id = :r1), 'refunded 20.00',
          'the return is refunded');

SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 2}]') AS r2 \gset
SELECT is(oms.receive_return(:r2, '[{"line_no": 1, "qty": 2, "disposition": "quarantine"}]'), 2,
          'the app role receives units into quarantine');
SELECT is(oms.release_quarantine(:r2, 1, 1, 'restock'), 1, 'the app role restocks one of them');
SELECT is(oms.release_quarantine(:r2, 1, 1, 'write_off', 'BER', 'rt-release-1'), 1, 'and writes the other off');
SELECT is(oms.close_return(:r2, 'inspected'), 0, 'the app role closes a return with nothing missing');

SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]') AS r3 \gset
SELECT lives_ok(format($$SELECT oms.cancel_return(%s, 'kept it')$$, :r3), 'the app role cancels a return');
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"kind": "exchange", "exchange": [{"sku": "MUG", "qty": 1}]}') AS r4 \gset
SELECT ok((SELECT o.replaces_return_id = :r4 FROM oms.returns r JOIN oms.orders o ON o.order_id = r.replacement_order_id
            WHERE r.return_id = :r4), 'the app role requests an exchange: its replacement order is placed and linked');
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"kind": "claim"}') AS r5 \gset
SELECT is(oms.refund_return(:r5), 10.00, 'the app role refunds a claim without a parcel');
SELECT oms.request_return(:w1, '[{"line_no": 2, "qty": 1}]', '{"kind": "claim", "resolution": "replace"}') AS r6 \gset
SELECT isnt((SELECT replacement_order_id FROM oms.returns WHERE return_id = :r6), NULL,
            'the app role requests a replace claim: its replacement order is placed');
SELECT is((SELECT count(*) FROM oms.refund_breakdown(:w1, :r1)), 1::bigint, 'the app role reads oms.refund_breakdown');
SELECT is((SELECT sum(refundable) FROM oms.refund_captures(:w1)), 70.00, 'and oms.refund_captures: 100 captured, 30 refunded');

SELECT oms.place_order('APP', 'A-1', '[{"sku": "TEE", "qty": 2, "unit_price": 20}]') AS a1 \gset
SELECT oms.ship(oms.create_shipment(:a1, 'BER'), 'DHL', 'RT-2');
SELECT oms.request_return(:a1, '[{"line_no": 1, "qty": 1}]') AS r7 \gset
SELECT is((SELECT status FROM oms.returns WHERE return_id = :r7), 'requested', 'APP returns wait for authorization');
SELECT lives_ok(format($$SELECT oms.decline_return(%s, 'worn')$$, :r7), 'the app role declines a return');
SELECT oms.request_return(:a1, '[{"line_no": 1, "qty": 1}]') AS r8 \gset
SELECT lives_ok(format($$SELECT oms.authorize_return(%s)$$, :r8), 'the app role authorizes a return');
SELECT is(oms.expire_returns(), 0, 'the app role expires returns (none due)');

-- Writing the tables directly is refused.
SELECT throws_ok($$INSERT INTO oms.returns (order_id, kind, window_days, created_by) VALUES (1, 'return', 30, 'me')$$,
                 '42501', NULL, 'the app role cannot insert a return');
SELECT throws_ok($$INSERT INTO oms.return_ref VALUES (999, 1)$$, '42501', NULL, 'nor a return reference');
SELECT throws_ok($$UPDATE oms.return_line SET note = 'x'$$, '42501', NULL, 'nor change a return line');
SELECT throws_ok($$DELETE FROM oms.return_receipt$$, '42501', NULL, 'nor delete a receipt');
SELECT throws_ok($$TRUNCATE oms.return_key$$, '42501', NULL, 'nor truncate the idempotency keys');
SELECT throws_ok($$UPDATE oms.returns SET refund_amount = 0$$, '42501', NULL, 'nor change what a return refunded');
SELECT throws_ok(format($$INSERT INTO oms.payment (order_id, kind, amount, created_by) VALUES (%s, 'refund', 1, 'me')$$, :w1),
                 '42501', NULL, 'nor record a refund');
SELECT throws_ok($$INSERT INTO oms.return_reason (code, label) VALUES ('x', 'x')$$, '42501', NULL,
                 'nor add a return reason');
SELECT throws_ok($$UPDATE oms.return_policy SET window_days = 3650$$, '42501', NULL, 'nor change a return policy');
DROP TABLE returns, return_line, order_lines, payment, location;
RESET ROLE;
SELECT is((SELECT count(*) || ' returns by ' || string_agg(DISTINCT created_by, ',') FROM oms.returns),
          '8 returns by oms_rt_app', 'the temporary tables named like oms''s changed nothing: 8 returns, the app role''s');
SELECT is((SELECT count(*) FROM oms.check_invariants()), 0::bigint, 'and check_invariants() finds nothing');

-- The reporting role calls none of them.
SET ROLE oms_rt_bi;
SELECT throws_ok(format($$SELECT oms.request_return(%s, '[{"line_no": 2, "qty": 1}]')$$, :w1), '42501', NULL,
                 'the reporting role cannot request a return');
SELECT throws_ok(format($$SELECT oms.authorize_return(%s)$$, :r8), '42501', NULL, 'nor authorize one');
SELECT throws_ok(format($$SELECT oms.decline_return(%s, 'x')$$, :r8), '42501', NULL, 'nor decline one');
SELECT throws_ok(format($$SELECT oms.cancel_return(%s, 'x')$$, :r8), '42501', NULL, 'nor cancel one');
SELECT throws_ok(format($$SELECT oms.receive_return(%s, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]')$$, :r8),
                 '42501', NULL, 'nor receive one');
SELECT throws_ok(format($$SELECT oms.close_return(%s, 'x')$$, :r8), '42501', NULL, 'nor close one');
SELECT throws_ok(format($$SELECT oms.release_quarantine(%s, 1, 1, 'restock')$$, :r2), '42501', NULL,
                 'nor release quarantined units');
SELECT throws_ok($$SELECT oms.expire_returns()$$, '42501', NULL, 'nor expire returns');
SELECT throws_ok(format($$SELECT oms.refund_return(%s)$$, :r1), '42501', NULL, 'nor refund one');
SELECT throws_ok(format($$SELECT oms.return_refund_preview(%s)$$, :r1), '42501', NULL, 'nor preview a refund');
SELECT throws_ok(format($$SELECT * FROM oms.refund_breakdown(%s, %s)$$, :w1, :r1), '42501', NULL, 'nor read a breakdown');
SELECT throws_ok(format($$SELECT * FROM oms.refund_captures(%s)$$, :w1), '42501', NULL, 'nor the captures');
SELECT throws_ok($$SELECT * FROM oms.returns$$, '42501', NULL, 'nor read the returns');
RESET ROLE;

--
-- Bad input (the issue's list and the rest of README's OM150-OM169): each
-- call fails with its SQLSTATE, and the return tables, payments, stock, the
-- ledger, the order lines' return counts and the events are as they were.
--
CREATE FUNCTION pg_temp.snap() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' ',
        'returns', (SELECT count(*) FROM oms.returns), (SELECT string_agg(status || refund_amount, ',' ORDER BY return_id) FROM oms.returns),
        'lines', (SELECT count(*) || '/' || coalesce(sum(qty_received + qty_missing + qty_quarantined + qty_refunded), 0) FROM oms.return_line),
        'receipts', (SELECT count(*) FROM oms.return_receipt), 'keys', (SELECT count(*) FROM oms.return_key),
        'refs', (SELECT count(*) FROM oms.return_ref), 'payments', (SELECT count(*) FROM oms.payment),
        'ledger', (SELECT count(*) FROM oms.stock_movement), 'stock', (SELECT sum(on_hand) || '/' || sum(reserved) FROM oms.stock),
        'order lines', (SELECT sum(qty_in_returns) || '/' || sum(qty_returned) FROM oms.order_lines),
        'orders', (SELECT count(*) FROM oms.orders), 'events', (SELECT count(*) FROM oms.order_event))
$$;
-- Runs stmt and returns its SQLSTATE ('00000' when it did not fail), with
-- what it changed if anything did.
CREATE FUNCTION pg_temp.fails(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_before text := pg_temp.snap();
    v_code   text := '00000';
BEGIN
    BEGIN
        EXECUTE stmt;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_code = RETURNED_SQLSTATE;
    END;
    IF pg_temp.snap() IS DISTINCT FROM v_before THEN
        RETURN v_code || ', and it changed ' || v_before || ' into ' || pg_temp.snap();
    END IF;
    RETURN v_code;
END
$$;
-- The SQLSTATE of each kind of bad input of the issue's list.
CREATE TEMP TABLE bad (input text PRIMARY KEY, sqlstate text);
CREATE FUNCTION pg_temp.bad(input text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_out text := pg_temp.fails(stmt);
BEGIN
    INSERT INTO bad VALUES (input, v_out) ON CONFLICT DO NOTHING;
    RETURN v_out;
END
$$;

-- E-1: 3 TEE and 2 CAP shipped, a MUG never; E-2 delivered 40 days ago on
-- APP; E-3 shipped by the dropship vendor (the only one with vases); E-4 unpaid.
SELECT oms.place_order('WEB', 'E-1', '[{"sku": "TEE", "qty": 3, "unit_price": 20}, {"sku": "CAP", "qty": 2, "unit_price": 10},
                                       {"sku": "MUG", "qty": 1, "unit_price": 5}]') AS e1 \gset
SELECT oms.record_payment(:e1, 'authorize', 85) > 0, oms.record_payment(:e1, 'capture', 85) > 0;
SELECT oms.ship(oms.create_shipment(:e1, 'BER', '[{"line_no": 1, "qty": 3}, {"line_no": 2, "qty": 2}]'), 'DHL', 'E-1');
SELECT oms.place_order('APP', 'E-2', '[{"sku": "TEE", "qty": 1, "unit_price": 20}]') AS e2 \gset
SELECT oms.create_shipment(:e2, 'BER') AS e2s \gset
SELECT oms.ship(:e2s, 'DHL', 'E-2');
SELECT oms.track(:e2s, 'delivered', now() - interval '40 days');
SELECT oms.place_order('WEB', 'E-3', '[{"sku": "VASE", "qty": 1, "unit_price": 5}]') AS e3 \gset
SELECT oms.ship(oms.create_shipment(:e3, 'DRP'), 'UPS', 'E-3');
SELECT oms.place_order('WEB', 'E-4', '[{"sku": "TEE", "qty": 1, "unit_price": 20}]') AS e4 \gset
SELECT oms.ship(oms.create_shipment(:e4, 'BER'), 'DHL', 'E-4');
-- An open return of 1 TEE of E-1 (q1), one with 2 CAP quarantined (q2), one cancelled (q3), a
-- refund claim of 1 TEE of E-1 (q5, 20.00 refundable) and one of E-4 (q4, nothing captured).
SELECT oms.request_return(:e1, '[{"line_no": 1, "qty": 1}]', '{"idempotency_key": "e-key"}') AS q1 \gset
SELECT oms.request_return(:e1, '[{"line_no": 2, "qty": 2}]') AS q2 \gset
SELECT oms.receive_return(:q2, '[{"line_no": 2, "qty": 2, "disposition": "quarantine"}]');
SELECT oms.request_return(:e1, '[{"line_no": 1, "qty": 1}]') AS q3 \gset
SELECT oms.cancel_return(:q3, 'kept it');
SELECT oms.request_return(:e4, '[{"line_no": 1, "qty": 1}]', '{"kind": "claim"}') AS q4 \gset
SELECT oms.request_return(:e1, '[{"line_no": 1, "qty": 1}]', '{"kind": "claim"}') AS q5 \gset

-- The issue's list.
SELECT is(pg_temp.bad('unknown order', $$SELECT oms.request_return(999999, '[{"line_no": 1, "qty": 1}]')$$),
          'OM040', 'an unknown order: OM040, nothing written');
SELECT is(pg_temp.bad('unknown return', $$SELECT oms.receive_return(999999, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]')$$),
          'OM150', 'an unknown return: OM150, nothing written');
SELECT is(pg_temp.bad('unknown line', format($$SELECT oms.request_return(%s, '[{"line_no": 9, "qty": 1}]')$$, :e1)),
          'OM153', 'an unknown line: OM153, nothing written');
SELECT is(pg_temp.bad('more than returnable', format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 3}]')$$, :e1)),
          'OM154', 'more units than returnable (1 left of 3 shipped): OM154, nothing written');
SELECT is(pg_temp.bad('never shipped', format($$SELECT oms.request_return(%s, '[{"line_no": 3, "qty": 1}]')$$, :e1)),
          'OM155', 'a line never shipped: OM155, nothing written');
SELECT is(pg_temp.bad('window over', format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]')$$, :e2)),
          'OM156', 'the window is over (delivered 40 days ago, 14 days): OM156, nothing written');
SELECT is(pg_temp.bad('unknown reason', format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1, "reason": "no_such"}]')$$, :e1)),
          'OM157', 'an unknown reason: OM157, nothing written');
SELECT is(pg_temp.bad('unknown disposition', format($$SELECT oms.receive_return(%s, '[{"line_no": 1, "qty": 1, "disposition": "resell"}]')$$, :q1)),
          'OM158', 'an unknown disposition: OM158, nothing written');
SELECT is(pg_temp.bad('location cannot receive', format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"return_location": "DRP"}')$$, :e1)),
          'OM159', 'a location that takes no returns: OM159, nothing written');
SELECT is(pg_temp.bad('bad quantity', format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 0}]')$$, :e1)),
          'OM152', 'a quantity of 0: OM152, nothing written');
SELECT is(pg_temp.bad('amount over refundable', format($$SELECT oms.refund_return(%s, 20.01)$$, :q5)),
          'OM167', 'an amount over the refundable (20.00 claimed): OM167, nothing written');
SELECT is((SELECT count(DISTINCT sqlstate) FROM bad WHERE sqlstate LIKE 'OM%'), 11::bigint,
          'each bad input of the issue''s list has its own SQLSTATE of class OM');

-- The same again, other ways.
SELECT is(pg_temp.fails($$SELECT oms.authorize_return(999999)$$), 'OM150', 'authorize_return of an unknown return: OM150');
SELECT is(pg_temp.fails($$SELECT oms.decline_return(999999, 'x')$$), 'OM150', 'decline_return: OM150');
SELECT is(pg_temp.fails($$SELECT oms.cancel_return(999999, 'x')$$), 'OM150', 'cancel_return: OM150');
SELECT is(pg_temp.fails($$SELECT oms.close_return(-1, 'x')$$), 'OM150', 'close_return: OM150');
SELECT is(pg_temp.fails($$SELECT oms.release_quarantine(999999, 1, 1, 'restock')$$), 'OM150', 'release_quarantine: OM150');
SELECT is(pg_temp.fails($$SELECT oms.refund_return(999999)$$), 'OM150', 'refund_return: OM150');
SELECT is(pg_temp.fails($$SELECT oms.return_refund_preview(0)$$), 'OM150', 'return_refund_preview: OM150');
SELECT is(pg_temp.fails(format($$SELECT oms.receive_return(%s, '[{"line_no": 3, "qty": 1, "disposition": "restock"}]')$$, :q1)),
          'OM153', 'a receipt of a line the return has not: OM153');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}, {"line_no": 9, "qty": 1}]')$$, :e1)),
          'OM153', 'a good line and an unknown one: OM153, and the good one is not requested either');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1, "reason": "retired"}]')$$, :e1)),
          'OM157', 'an inactive reason: OM157');
SELECT is(pg_temp.fails(format($$SELECT oms.receive_return(%s, '[{"line_no": 1, "qty": 1, "disposition": "restock"}, {"line_no": 1, "qty": 1, "disposition": "damaged"}]')$$, :q1)),
          'OM162', 'two receipts of a line expecting one unit (1 restocked, 1 damaged): OM162, the first not recorded either');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"return_location": "OLD"}')$$, :e1)),
          'OM159', 'an inactive location: OM159');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]')$$, :e3)),
          'OM159', 'the default location (the dropship vendor that shipped it) takes no returns: OM159');
SELECT is(pg_temp.fails(format($$SELECT oms.receive_return(%s, '[{"line_no": 1, "qty": 1, "disposition": "restock", "location": "DRP"}]')$$, :q1)),
          'OM159', 'a receipt at a location that takes no returns: OM159');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"return_location": "NOWHERE"}')$$, :e1)),
          'OM002', 'an unknown location: OM002');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": -1}]')$$, :e1)), 'OM152', 'qty -1: OM152');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1.5}]')$$, :e1)), 'OM152', 'qty 1.5: OM152');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": "NaN"}]')$$, :e1)), 'OM152', 'qty "NaN": OM152');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 2147483648}]')$$, :e1)), 'OM152', 'qty 2^31: OM152');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1e400}]')$$, :e1)), 'OM152', 'qty 1e400: OM152');
SELECT is(pg_temp.fails(format($$SELECT oms.receive_return(%s, '[{"line_no": 1, "qty": 0, "disposition": "restock"}]')$$, :q1)),
          'OM152', 'a receipt of 0 units: OM152');
SELECT is(pg_temp.fails(format($$SELECT oms.release_quarantine(%s, 2, 0, 'restock')$$, :q2)), 'OM152',
          'releasing 0 quarantined units: OM152');
SELECT is(pg_temp.fails(format($$SELECT oms.release_quarantine(%s, 2, -1, 'restock')$$, :q2)), 'OM152',
          'releasing -1 quarantined units: OM152');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 'NaN')$$, :q4)), 'OM169', 'a refund of NaN: OM169');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 0)$$, :q4)), 'OM169', 'a refund of 0: OM169');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, -1)$$, :q4)), 'OM169', 'a refund of -1: OM169');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 'Infinity')$$, :q4)), 'OM169', 'a refund of Infinity: OM169');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 1e12)$$, :q4)), 'OM169', 'a refund of 10^12: OM169');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s)$$, :q4)), 'OM168',
          'a refund claim of an order nothing was captured for: OM168');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 5)$$, :q1)), 'OM167',
          'a refund of a return nothing of which arrived (refund on receipt): OM167');

-- The rest of OM150-OM169.
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '{"line_no": 1, "qty": 1}')$$, :e1)), 'OM151', 'lines not an array: OM151');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[]')$$, :e1)), 'OM151', 'no lines: OM151');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1}]')$$, :e1)), 'OM151', 'a line without qty: OM151');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1, "colour": "red"}]')$$, :e1)),
          'OM151', 'an unknown field: OM151');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}, {"line_no": 1, "qty": 1}]')$$, :e1)),
          'OM151', 'a line twice: OM151');
SELECT is(pg_temp.fails(format($$SELECT oms.authorize_return(%s)$$, :q1)), 'OM160', 'authorizing an authorized return: OM160');
SELECT is(pg_temp.fails(format($$SELECT oms.receive_return(%s, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]')$$, :q3)),
          'OM160', 'receiving a cancelled return: OM160');
SELECT is(pg_temp.fails(format($$SELECT oms.cancel_return(%s, 'x')$$, :q2)), 'OM160', 'cancelling a received return: OM160');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 2, "qty": 1}]', '{"idempotency_key": "e-key"}')$$, :e1)),
          'OM161', 'a request key used for other lines: OM161');
SELECT is(pg_temp.fails(format($$SELECT oms.receive_return(%s, '[{"line_no": 1, "qty": 2, "disposition": "restock"}]')$$, :q1)),
          'OM162', 'receiving more than the line expects: OM162');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"kind": "swap"}')$$, :e1)),
          'OM163', 'an unknown kind: OM163');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"kind": "exchange"}')$$, :e1)),
          'OM163', 'an exchange without replacement goods: OM163');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"resolution": "replace"}')$$, :e1)),
          'OM163', 'a resolution for other than a claim: OM163');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"idempotency_key": " padded"}')$$, :e1)),
          'OM163', 'a padded idempotency key: OM163');
SELECT is(pg_temp.fails(format($$SELECT oms.receive_return(%s, '[{"line_no": 1, "qty": 1, "disposition": "restock"}]', '')$$, :q1)),
          'OM163', 'an empty receipt key: OM163');
SET ROLE oms_rt_app;
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"override_policy": true}')$$, :e2)),
          'OM164', 'override_policy by the app role: OM164');
RESET ROLE;
SELECT is(pg_temp.fails(format($$SELECT oms.cancel_return(%s, '')$$, :q1)), 'OM165', 'cancelling without a reason: OM165');
SELECT is(pg_temp.fails(format($$SELECT oms.close_return(%s, NULL)$$, :q1)), 'OM165', 'closing without a reason: OM165');
SELECT is(pg_temp.fails(format($$SELECT oms.release_quarantine(%s, 2, 3, 'restock')$$, :q2)), 'OM166',
          'releasing more than is in quarantine: OM166');
SELECT is(pg_temp.fails(format($$SELECT oms.release_quarantine(%s, 2, 1, 'damaged')$$, :q2)), 'OM166',
          'releasing quarantined units as damaged: OM166');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"kind": "exchange", "exchange": [{"sku": "LAST", "qty": 2}]}')$$, :e1)),
          'OM030', 'an exchange for more than there is: OM030, and no return is left behind');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, '[{"line_no": 1, "qty": 1}]', '{"kind": "exchange", "exchange": [{"sku": "NOPE", "qty": 1}]}')$$, :e1)),
          'OM001', 'an exchange for an unknown SKU: OM001, no return left behind');
SELECT is(pg_temp.fails(format($$SELECT oms.request_return(%s, NULL)$$, :e1)), '22004', 'NULL lines: 22004');
SELECT is(pg_temp.fails(format($$SELECT oms.receive_return(%s, NULL)$$, :q1)), '22004', 'NULL receipts: 22004');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 5, '')$$, :q4)), 'OM025', 'an empty provider_ref: OM025');

-- provider_ref: a retry answers the first amount; the reference of another
-- return, another order or another payment is OM072 (once a crash: the
-- lookup detoasted the NULL sum of a reference that was not this return's).
SELECT is(oms.refund_return(:q5, 1, 'e-psp-1'), 1.00, 'a refund of the claim under a provider_ref');
SELECT is(oms.refund_return(:q5, 1, 'e-psp-1'), 1.00, 'its retry answers the same, recording nothing');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 2, 'e-psp-1')$$, :q5)), 'OM072',
          'the reference with another amount: OM072');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 1, 'e-psp-1')$$, :q1)), 'OM072',
          'the reference of another return of the order: OM072');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, 1, 'rt-cap-w1')$$, :q5)), 'OM072',
          'the reference of another order''s capture: OM072');
SELECT is(pg_temp.fails(format($$SELECT oms.refund_return(%s, NULL, 'e-psp-1')$$, :q4)), 'OM072',
          'the reference of another order''s refund, all refundable asked: OM072');

-- NULL options are no options (once a crash: the resolution was left unset).
SELECT oms.place_order('WEB', 'E-5', '[{"sku": "TEE", "qty": 1, "unit_price": 20}]') AS e5 \gset
SELECT oms.ship(oms.create_shipment(:e5, 'BER'), 'DHL', 'E-5');
SELECT oms.request_return(:e5, '[{"line_no": 1, "qty": 1}]', NULL) AS q6 \gset
SELECT is((SELECT kind || '/' || resolution || '/' || status FROM oms.returns WHERE return_id = :q6),
          'return/refund/authorized', 'request_return with NULL options requests a plain return');

-- After all that: nothing broken.
SELECT is((SELECT count(*) FROM oms.check_invariants()), 0::bigint, 'check_invariants() finds nothing');

SELECT * FROM finish();
ROLLBACK;
