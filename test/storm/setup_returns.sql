--
-- test/storm/setup_returns.sql — the reverse flow of the storm (issue 13):
-- returns, exchanges and claims requested, authorized, declined, received
-- with every disposition (under shared idempotency keys that clients replay
-- at once), cancelled, closed and released from quarantine; refunds of
-- returns (all that is refundable, or a part, some under a shared
-- provider_ref) racing refunds recorded by record_payment on the same
-- captures; exchanges whose replacement orders race buyers for the last units
-- of LAST-1.  Loaded after setup.sql.
--
-- Clients work on the 40 newest returns (storm.recent_return), so that they
-- meet on the same returns, orders and captures.  Each wrapper catches the
-- SQLSTATEs that losing such a race (or a deliberately bad call) may raise,
-- and logs every outcome in storm.oplog (insert only: counting takes no row
-- lock); any other error ends the pgbench client, and the storm fails.
--

-- Policies: WEB refunds on receipt with a 10 % restocking fee and refunds
-- shipping once everything is back; APP wants every return authorized,
-- refunds on request and always refunds shipping; MKT places exchanges'
-- replacement orders on receipt.  (POS keeps the defaults.)
INSERT INTO oms.return_reason (code, label, resellable) VALUES
    ('too_small', 'Too small', true), ('broken', 'Arrived broken', false), ('changed_mind', 'Changed my mind', true);
INSERT INTO oms.return_policy (channel_id, restocking_fee_pct, refund_shipping, refund_on, authorization_required,
                               exchange_reserve, expire_days)
SELECT id, 10, 'full_return', 'receipt', false, 'on_request', NULL FROM oms.channel WHERE code = 'WEB'
UNION ALL
SELECT id, 0, 'always', 'request', true, 'on_request', 30 FROM oms.channel WHERE code = 'APP'
UNION ALL
SELECT id, 5, 'never', 'receipt', false, 'on_receipt', NULL FROM oms.channel WHERE code = 'MKT';

-- LAST-1: 30 units at Berlin, which buyers (storm.buy_last) and exchanges'
-- replacement orders take, one or two at a time.
INSERT INTO oms.sku (code, name) VALUES ('LAST-1', 'The last units');
SELECT oms.receive_stock('LAST-1', 'BER', 30, 'storm');

-- Every outcome of a wrapper: op, and '00000' or the SQLSTATE it caught.
CREATE UNLOGGED TABLE storm.oplog (op text NOT NULL, outcome text NOT NULL);

-- Logs one outcome.
CREATE FUNCTION storm.log(op text, outcome text DEFAULT '00000') RETURNS void
    LANGUAGE sql
AS $$
    INSERT INTO storm.oplog VALUES (op, outcome)
$$;

-- One of the 40 newest returns: (return_id, order_id), or nothing yet.
CREATE FUNCTION storm.recent_return(r integer, OUT return_id bigint, OUT order_id bigint)
    LANGUAGE sql
AS $$
    SELECT x.return_id, x.order_id FROM oms.return_ref x ORDER BY x.return_id DESC OFFSET r % 40 LIMIT 1
$$;

-- Authorizes the order's total (once, whoever comes first: the references
-- are the order's) and captures it whole, or half of it for every fourth
-- order, so that some refunds find the captures short (OM168).
CREATE FUNCTION storm.pay(v_order bigint)
    RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    v_total numeric;
BEGIN
    SELECT total_amount INTO v_total FROM oms.orders WHERE order_id = v_order;
    IF v_total > 0 THEN
        PERFORM oms.record_payment(v_order, 'authorize', v_total, 'storm-auth-' || v_order);
        PERFORM oms.record_payment(v_order, 'capture',
                                   CASE WHEN v_order % 4 = 0 THEN round(v_total / 2, 2) ELSE v_total END,
                                   'storm-cap-' || v_order);
    END IF;
END
$$;

-- Requests a return of a random shipped order (the first from a random point
-- on with a returnable unit not of HOT-1, whose sell-out the storm counts),
-- paid first: one or two lines, 1 unit up to all that is returnable, of one
-- kind picked by r: a return (12 in 20), an exchange for LAST-1 (3 in 20), a
-- refund claim (2 in 20), a replace claim (2 in 20), or a return an admin
-- sends to Hamburg past the window (1 in 20).  Half of them under the key
-- req-<order>-<0..2>, which other clients may have used for other lines
-- (OM161) or the same (the same return); every fifth is replayed at once
-- and must answer the same return.
CREATE FUNCTION storm.rma_request(r integer)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    v_start bigint := storm.random_order(r);
    v_order bigint;
    v_lines jsonb;
    v_opts  jsonb := '{}';
    v_kind  integer := r % 20;
    v_ret   bigint;
    v_again bigint;
    v_state text;
BEGIN
    SELECT l.order_id INTO v_order FROM oms.order_lines l JOIN oms.sku s ON s.id = l.sku_id
     WHERE l.order_id >= v_start AND l.qty_shipped > l.qty_in_returns + l.qty_returned AND s.code <> 'HOT-1'
     ORDER BY l.order_id LIMIT 1;
    IF v_order IS NULL THEN
        PERFORM storm.log('request', 'nothing');
        RETURN NULL;
    END IF;
    PERFORM storm.pay(v_order);
    SELECT jsonb_agg(jsonb_build_object('line_no', x.line_no,
                                        'qty', 1 + (r / 20) % (x.qty_shipped - x.qty_in_returns - x.qty_returned),
                                        'reason', (ARRAY['too_small', 'broken', 'changed_mind'])[1 + x.line_no % 3])
                     ORDER BY x.line_no)
      INTO v_lines
      FROM (SELECT l.line_no, l.qty_shipped, l.qty_in_returns, l.qty_returned
              FROM oms.order_lines l JOIN oms.sku s ON s.id = l.sku_id
             WHERE l.order_id = v_order AND l.qty_shipped > l.qty_in_returns + l.qty_returned AND s.code <> 'HOT-1'
             ORDER BY l.line_no LIMIT 1 + (r / 7) % 2) x;
    IF v_lines IS NULL THEN
        PERFORM storm.log('request', 'nothing');   -- another client took the units meanwhile
        RETURN NULL;
    END IF;
    v_opts := CASE
        WHEN v_kind < 12 THEN '{}'
        WHEN v_kind < 15 THEN jsonb_build_object('kind', 'exchange', 'exchange',
                                  jsonb_build_array(jsonb_build_object('sku', 'LAST-1', 'qty', 1 + r % 2,
                                                                       'unit_price', 0)))
        WHEN v_kind < 17 THEN '{"kind": "claim", "resolution": "refund"}'
        WHEN v_kind < 19 THEN '{"kind": "claim", "resolution": "replace"}'
        ELSE '{"override_policy": true, "return_location": "HAM"}' END;
    IF r % 2 = 0 THEN
        v_opts := v_opts || jsonb_build_object('idempotency_key', 'req-' || v_order || '-' || (r / 2) % 3);
    END IF;
    v_ret := oms.request_return(v_order, v_lines, v_opts);
    PERFORM storm.log('request ' || coalesce(v_opts->>'kind', 'return') || coalesce('/' || (v_opts->>'resolution'), ''));
    IF r % 10 = 0 THEN
        v_again := oms.request_return(v_order, v_lines, v_opts);
        IF v_again IS DISTINCT FROM v_ret THEN
            RAISE EXCEPTION 'storm: the key % answered return % and then %', v_opts->>'idempotency_key', v_ret, v_again;
        END IF;
        PERFORM storm.log('request replayed');
    END IF;
    RETURN v_ret;
EXCEPTION WHEN SQLSTATE 'OM154' OR SQLSTATE 'OM161' OR SQLSTATE 'OM030' THEN
    -- another client took the units or the key first; no LAST-1 left for
    -- the exchange or for what a replace claim replaces
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
    PERFORM storm.log('request', v_state);
    RETURN NULL;
END
$$;

-- Works on one of the 40 newest returns, by its status and r: a requested
-- one is authorized (6 in 10), declined (3 in 10) or cancelled; one that
-- keeps units in quarantine has one restocked or written off (5 in 10); an open one receives
-- one of its lines (qty 1, a disposition and location the key fixes) under
-- the key parcel-<return>-<line>-<0..5>, which clients replay at once, or receives
-- more than expected (OM162), is cancelled (OM160 once units arrived) or
-- closed; a closed one is
-- sent a parcel anyway (OM160).  Now and then expired returns are expired.
CREATE FUNCTION storm.rma_work(r integer)
    RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    v_ret    bigint;
    v_order  bigint;
    v_status text;
    v_kind   text;
    v_line   integer;
    v_q      integer;
    v_left   integer;
    v_key    integer := (r / 40) % 6;
    v_act    integer := (r / 240) % 10;
    v_disp   text;
    v_loc    text;
    v_n      integer := 0;
    v_again  integer;
    v_op     text;
    v_state  text;
BEGIN
    IF r % 50 = 0 THEN
        v_op := 'expire_returns';
        PERFORM oms.expire_returns();
        PERFORM storm.log(v_op);
        RETURN 0;
    END IF;
    SELECT x.return_id, x.order_id INTO v_ret, v_order FROM storm.recent_return(r) x;
    IF v_ret IS NULL THEN
        RETURN 0;
    END IF;
    SELECT status, kind INTO v_status, v_kind FROM oms.returns WHERE order_id = v_order AND return_id = v_ret;
    -- A line of it: by the key, and one that keeps units in quarantine.
    SELECT line_no, qty_requested - qty_received - qty_missing INTO v_line, v_left
      FROM oms.return_line WHERE order_id = v_order AND return_id = v_ret
     ORDER BY line_no OFFSET v_key % 2 LIMIT 1;
    IF v_line IS NULL THEN
        SELECT line_no, qty_requested - qty_received - qty_missing INTO v_line, v_left
          FROM oms.return_line WHERE order_id = v_order AND return_id = v_ret ORDER BY line_no LIMIT 1;
    END IF;
    SELECT line_no INTO v_q
      FROM oms.return_line WHERE order_id = v_order AND return_id = v_ret AND qty_quarantined > 0
     ORDER BY line_no LIMIT 1;
    IF v_status = 'requested' THEN
        IF v_act < 6 THEN
            v_op := 'authorize';
            PERFORM oms.authorize_return(v_ret);
        ELSIF v_act < 9 THEN
            v_op := 'decline';
            PERFORM oms.decline_return(v_ret, 'storm: not ours');
        ELSE
            v_op := 'cancel';
            PERFORM oms.cancel_return(v_ret, 'storm: kept it');
        END IF;
    ELSIF v_status IN ('authorized', 'partially_received', 'received', 'completed') AND v_q IS NOT NULL AND v_act < 5 THEN
        -- release one quarantined unit: restock (key 0, 2) or write off (1, 3)
        v_op := 'release ' || CASE WHEN v_key % 2 = 0 THEN 'restock' ELSE 'write_off' END;
        v_n := oms.release_quarantine(v_ret, v_q, 1, CASE WHEN v_key % 2 = 0 THEN 'restock' ELSE 'write_off' END,
                                      NULL, 'release-' || v_ret || '-' || v_q || '-' || v_key);
    ELSIF v_status IN ('authorized', 'partially_received') AND v_act < 8 THEN
        -- a parcel: 1 unit of the line, disposition and location fixed by the
        -- key, so that every client sending it sends the same receipt
        v_disp := (ARRAY['restock', 'damaged', 'quarantine', 'write_off', 'quarantine', 'quarantine'])[1 + v_key];
        v_loc := (ARRAY['BER', 'HAM', 'BER', 'MUC', 'BER', 'BER'])[1 + v_key];
        IF v_act = 7 THEN
            v_op := 'receive too many';    -- more units than the line expects: OM162
            v_n := oms.receive_return(v_ret, jsonb_build_array(jsonb_build_object(
                       'line_no', v_line, 'qty', v_left + 1, 'disposition', v_disp, 'location', v_loc)));
        ELSE
            v_op := 'receive ' || v_disp;
            v_n := oms.receive_return(v_ret, jsonb_build_array(jsonb_build_object(
                       'line_no', v_line, 'qty', 1, 'disposition', v_disp, 'location', v_loc)),
                                      'parcel-' || v_ret || '-' || v_line || '-' || v_key);
            IF v_act % 3 = 0 THEN
                v_again := oms.receive_return(v_ret, jsonb_build_array(jsonb_build_object(
                               'line_no', v_line, 'qty', 1, 'disposition', v_disp, 'location', v_loc)),
                                              'parcel-' || v_ret || '-' || v_line || '-' || v_key);
                IF v_again IS DISTINCT FROM v_n THEN
                    RAISE EXCEPTION 'storm: receipt key parcel-%-% of return % received % and then %',
                        v_line, v_key, v_ret, v_n, v_again;
                END IF;
                PERFORM storm.log('receive replayed');
            END IF;
        END IF;
    ELSIF v_status IN ('authorized', 'partially_received') AND v_act = 8 THEN
        v_op := 'cancel';      -- OM160 once something arrived, money was refunded or the replacement shipped
        PERFORM oms.cancel_return(v_ret, 'storm: kept it');
    ELSIF v_status IN ('authorized', 'partially_received', 'received') THEN
        v_op := 'close';
        v_n := oms.close_return(v_ret, 'storm: the rest is lost');
    ELSE
        v_op := 'receive when ' || v_status;   -- too late: OM160
        v_n := oms.receive_return(v_ret, jsonb_build_array(jsonb_build_object(
                   'line_no', v_line, 'qty', 1, 'disposition', 'restock')));
    END IF;
    PERFORM storm.log(v_op);
    RETURN v_n;
EXCEPTION WHEN SQLSTATE 'OM160' OR SQLSTATE 'OM161' OR SQLSTATE 'OM162' OR SQLSTATE 'OM166'
                OR SQLSTATE 'OM030' THEN
    -- another client moved the return on, used the key or took the
    -- quarantined unit first; an exchange placed on receipt found no LAST-1
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
    PERFORM storm.log(coalesce(v_op, '?'), v_state);
    RETURN 0;
END
$$;

-- Refunds one of the 40 newest returns: all that is refundable (NULL), or a
-- part (0.50 to 10.00); a third of them under a provider_ref that other
-- clients send too, with the amount the reference fixes (a replay), one in
-- six after a look at the preview.  Returns the amount refunded.
CREATE FUNCTION storm.refund(r integer)
    RETURNS numeric
    LANGUAGE plpgsql
AS $$
DECLARE
    v_ret    bigint;
    v_order  bigint;
    v_k      integer := (r / 40) % 3;
    v_amount numeric;
    v_ref    text;
    v_done   numeric;
    v_again  numeric;
    v_op     text;
    v_state  text;
BEGIN
    SELECT x.return_id, x.order_id INTO v_ret, v_order FROM storm.recent_return(r) x;
    IF v_ret IS NULL THEN
        RETURN 0;
    END IF;
    IF (r / 120) % 6 = 0 THEN
        PERFORM oms.return_refund_preview(v_ret);
    END IF;
    IF (r / 120) % 3 = 0 THEN
        v_ref := 'storm-rr-' || v_ret || '-' || v_k;
        v_amount := CASE WHEN v_k = 0 THEN NULL ELSE 0.50 * v_k END;
    ELSIF (r / 120) % 3 = 1 THEN
        v_amount := 0.50 + (r % 20) * 0.50;
    END IF;
    v_op := 'refund ' || CASE WHEN v_amount IS NULL THEN 'all' ELSE 'part' END || CASE WHEN v_ref IS NULL THEN '' ELSE ' ref' END;
    v_done := oms.refund_return(v_ret, v_amount, v_ref);
    IF v_ref IS NOT NULL THEN
        v_again := oms.refund_return(v_ret, v_amount, v_ref);
        IF v_again IS DISTINCT FROM v_done THEN
            RAISE EXCEPTION 'storm: refund % of return % refunded % and then %', v_ref, v_ret, v_done, v_again;
        END IF;
    END IF;
    PERFORM storm.log(v_op || CASE WHEN v_done > 0 THEN '' ELSE ' (nothing)' END);
    RETURN v_done;
EXCEPTION WHEN SQLSTATE 'OM167' OR SQLSTATE 'OM168' OR SQLSTATE 'OM072' THEN
    -- over what the return may refund, more than the captures have left
    -- (record_payment refunded them), or the reference was used by
    -- another client for another amount
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
    PERFORM storm.log(v_op, v_state);
    RETURN 0;
END
$$;

-- A refund of an order with a recent return, recorded by record_payment as a
-- payment provider reports it (no capture named): 1 to 5, racing the
-- return's refunds for the same captures.  OM071 when the captures have
-- less left.
CREATE FUNCTION storm.pay_refund(r integer)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    v_order bigint;
    v_id    bigint;
    v_state text;
BEGIN
    SELECT x.order_id INTO v_order FROM storm.recent_return(r) x;
    IF v_order IS NULL THEN
        RETURN NULL;
    END IF;
    v_id := oms.record_payment(v_order, 'refund', 1 + r % 5, 'storm-prf-' || v_order || '-' || r);
    PERFORM storm.log('record_payment refund');
    RETURN v_id;
EXCEPTION WHEN SQLSTATE 'OM071' OR SQLSTATE 'OM072' THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
    PERFORM storm.log('record_payment refund', v_state);
    RETURN NULL;
END
$$;

-- A buyer of LAST-1 (1 or 2 units), racing exchanges for the last units;
-- OM030 when there are not that many left.  One call in four is a delivery
-- of 2 units instead, so that the race goes on all storm long.
CREATE FUNCTION storm.buy_last(ch integer, ref text, q integer)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF hashtext(ref) % 4 = 0 THEN
        PERFORM oms.receive_stock('LAST-1', 'BER', 2, 'storm: a trickle');
        PERFORM storm.log('receive LAST-1');
        RETURN NULL;
    END IF;
    v_id := oms.place_order((ARRAY['WEB', 'APP', 'MKT'])[ch], ref,
                            jsonb_build_array(jsonb_build_object('sku', 'LAST-1', 'qty', q, 'unit_price', 29.90)));
    PERFORM storm.log('buy LAST-1');
    RETURN v_id;
EXCEPTION WHEN SQLSTATE 'OM030' THEN
    PERFORM storm.log('buy LAST-1', 'OM030');
    RETURN NULL;
END
$$;
