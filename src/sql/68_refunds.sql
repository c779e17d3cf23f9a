--
-- Refunds, exchanges and claims of returns (README, "Returns": refunds,
-- exchanges, claims).
--
-- What a return may refund is defined once, in SQL: oms.refund_breakdown()
-- is the figure oms.refund_return() (C, src/refund.c) records against and
-- oms.check_invariants() holds every return to.  A refund is recorded as
-- refund rows of oms.payment, each linked to the capture it takes back
-- (refund_of) and to the return (return_id); oms.refund_captures() says
-- what each capture may still give.  An exchange's or a replace claim's
-- replacement order is placed by oms.place_order (src/exchange.c) and
-- linked both ways: oms.returns.replacement_order_id on the return, and
-- oms.orders.replaces_order_id / replaces_return_id on the replacement.
--

--
-- oms.refund_return is SECURITY DEFINER: the app role calls it but writes
-- no payment or return directly.  The preview and the two SQL definitions
-- only read, as the caller (the app role reads every oms table).
--

--
-- The minor unit of a currency (ISO 4217): refunds are figured to it, so a
-- yen refund is whole yen and a dinar refund has three places.
--
CREATE FUNCTION oms.currency_exponent(currency text)
    RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE
             WHEN $1 IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI',
                         'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 0
             WHEN $1 IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 3
             WHEN $1 IN ('CLF', 'UYW') THEN 4
             ELSE 2 END
$$;
COMMENT ON FUNCTION oms.currency_exponent(text) IS
    'Decimal places of a currency''s minor unit (ISO 4217): 0 for JPY, KRW, CLP and the like, 3 for BHD, KWD and the like, 4 for CLF and UYW, else 2.  Refund amounts are figured to it.';

--
-- What each capture of an order may still refund: its amount, less the
-- refunds linked to it (refund_of), less its share of the refunds recorded
-- without a link (oms.record_payment), which take from the oldest captures
-- first.  The sum over captures is what the order has captured and not
-- refunded.
--
CREATE FUNCTION oms.refund_captures(order_id bigint)
    RETURNS TABLE (payment_id bigint, captured numeric, refunded numeric, refundable numeric)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH c AS (
        SELECT c.id, c.amount,
               c.amount - coalesce((SELECT sum(r.amount) FROM oms.payment r
                                     WHERE r.order_id = $1 AND r.kind = 'refund' AND r.refund_of = c.id), 0) AS left_over
          FROM oms.payment c
         WHERE c.order_id = $1 AND c.kind = 'capture'),
    u AS (
        SELECT coalesce(sum(amount), 0) AS unlinked
          FROM oms.payment WHERE order_id = $1 AND kind = 'refund' AND refund_of IS NULL),
    f AS (
        SELECT c.id, c.amount, c.left_over,
               greatest(0, c.left_over - greatest(0, u.unlinked - (sum(c.left_over) OVER w - c.left_over))) AS refundable
          FROM c, u
        WINDOW w AS (ORDER BY c.id))
    SELECT f.id, f.amount, f.amount - f.refundable, f.refundable FROM f ORDER BY f.id
$$;
COMMENT ON FUNCTION oms.refund_captures(bigint) IS
    'Each capture of an order, oldest first: captured, refunded (refunds linked to it, plus its share of unlinked refunds, which take from the oldest captures first) and what it may still refund.';

--
-- What a return may refund, line by line (README, "Refunds").  Per order
-- line, the customer paid its total (qty * unit_price - discount, plus tax
-- unless prices include tax) less its share of order_discount (in
-- proportion to its net); n eligible units of a line are worth
-- trunc(paid * n / qty, e), e the decimals of the currency's minor unit.
-- Eligible are the received units (a return refunded on receipt), the
-- requested units not missing (refunded on request) or the requested
-- units (a refund claim), never fewer than were refunded; none while the
-- return is requested, declined, cancelled or expired, and none for an
-- exchange or a replace claim.  A line is worth no less than its goods
-- refunded already (a part refunded may cover a unit in part).  A return's restocking fee is
-- restocking_fee_pct of the goods, to the minor unit (claims pay none).
-- Shipping (price - discount, plus its tax unless prices include tax)
-- belongs to at most one return of the order: the one that refunded some
-- of it already, or else this one when its rule says so (always; full_return:
-- every shipped unit of the order is eligible in its returns) and it has
-- eligible units.
--
CREATE FUNCTION oms.refund_breakdown(order_id bigint, return_id bigint)
    RETURNS TABLE (goods numeric, restocking_fee numeric, shipping numeric, refundable_total numeric,
                   refunded numeric, refundable numeric, units_eligible bigint, units_expected bigint,
                   lines jsonb)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH o AS (
        SELECT o.order_discount, o.prices_include_tax, oms.currency_exponent(o.currency) AS e,
               o.shipping_amount - o.shipping_discount
                   + CASE WHEN o.prices_include_tax THEN 0 ELSE o.shipping_tax END AS shipping_paid
          FROM oms.orders o WHERE o.order_id = $1),
    ol AS (
        SELECT l.line_no, l.qty, l.qty_shipped, l.qty * l.unit_price - l.discount_amount AS net,
               l.qty * l.unit_price - l.discount_amount
                   + CASE WHEN o.prices_include_tax THEN 0 ELSE l.tax_amount END AS total
          FROM oms.order_lines l, o WHERE l.order_id = $1),
    paid AS (
        SELECT ol.line_no, ol.qty,
               ol.total - CASE WHEN n.s > 0 THEN o.order_discount * ol.net / n.s ELSE 0 END AS paid
          FROM ol, o, (SELECT sum(net) AS s FROM ol) n),
    el AS (
        SELECT rl.return_id, rl.line_no, rl.qty_requested, rl.qty_missing, rl.qty_refunded, rl.refund_amount,
               CASE WHEN r.status NOT IN ('authorized', 'partially_received', 'received', 'completed')
                      OR r.resolution <> 'refund' THEN rl.qty_refunded
                    WHEN r.kind = 'claim' THEN rl.qty_requested
                    WHEN r.refund_on = 'request' THEN greatest(rl.qty_requested - rl.qty_missing, rl.qty_refunded)
                    ELSE greatest(rl.qty_received, rl.qty_refunded) END AS eligible
          FROM oms.return_line rl
          JOIN oms.returns r ON r.order_id = rl.order_id AND r.return_id = rl.return_id
         WHERE rl.order_id = $1),
    mine AS (
        SELECT el.line_no, el.eligible, el.qty_requested - el.qty_missing AS expected, p.paid, p.qty,
               greatest(CASE WHEN el.eligible = p.qty THEN trunc(p.paid, o.e)
                             ELSE trunc(p.paid * el.eligible / p.qty, o.e) END, el.refund_amount) AS amount
          FROM el JOIN paid p ON p.line_no = el.line_no, o
         WHERE el.return_id = $2),
    r AS (
        SELECT r.kind, r.restocking_fee_pct, r.refund_shipping, r.refund_amount, r.shipping_refund
          FROM oms.returns r WHERE r.order_id = $1 AND r.return_id = $2),
    g AS (
        SELECT coalesce(sum(amount), 0) AS goods, coalesce(sum(eligible), 0) AS units,
               coalesce(sum(expected), 0) AS expected FROM mine),
    s AS (
        SELECT CASE WHEN r.shipping_refund > 0 THEN o.shipping_paid
                    WHEN g.units = 0 OR o.shipping_paid <= 0 THEN 0
                    WHEN EXISTS (SELECT FROM oms.returns x
                                  WHERE x.order_id = $1 AND x.return_id <> $2 AND x.shipping_refund > 0) THEN 0
                    WHEN r.refund_shipping = 'always' THEN o.shipping_paid
                    WHEN r.refund_shipping = 'full_return'
                         AND (SELECT sum(eligible) FROM el) >= (SELECT sum(qty_shipped) FROM ol) THEN o.shipping_paid
                    ELSE 0 END AS shipping
          FROM r, g, o),
    f AS (
        SELECT g.goods, CASE WHEN r.kind = 'return' THEN round(g.goods * r.restocking_fee_pct / 100, o.e) ELSE 0 END AS fee,
               s.shipping, r.refund_amount, g.units, g.expected
          FROM g, r, s, o)
    SELECT f.goods, f.fee, f.shipping, f.goods - f.fee + f.shipping, f.refund_amount,
           greatest(f.goods - f.fee + f.shipping - f.refund_amount, 0), f.units, f.expected,
           (SELECT coalesce(jsonb_agg(jsonb_build_object('line_no', line_no, 'qty', eligible, 'paid_per_line', paid,
                                                         'line_qty', qty, 'amount', amount) ORDER BY line_no), '[]')
              FROM mine)
      FROM f
$$;
COMMENT ON FUNCTION oms.refund_breakdown(bigint, bigint) IS
    'What a return may refund: goods (eligible units at the price paid for them), restocking_fee, shipping (at most once per order), refundable_total = goods - fee + shipping, refunded so far, refundable now, units eligible, units expected, and the lines as JSON.  The definition refund_return records against and check_invariants() holds returns to.';

CREATE FUNCTION oms.refund_return(return_id bigint, amount numeric DEFAULT NULL, provider_ref text DEFAULT NULL)
    RETURNS numeric
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_refund_return';
COMMENT ON FUNCTION oms.refund_return(bigint, numeric, text) IS
    'Refunds a return: amount (NULL: all that is refundable now, see oms.return_refund_preview) recorded as refunds of the order''s captures, oldest first, never above what a capture has left; returns the amount refunded.  The same provider_ref again refunds nothing and returns the first call''s amount.';

CREATE FUNCTION oms.return_refund_preview(return_id bigint)
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_return_refund_preview';
COMMENT ON FUNCTION oms.return_refund_preview(bigint) IS
    'What oms.refund_return(return_id) would refund now, without recording anything: lines, goods, restocking_fee, shipping, refundable_total, refunded, refundable, and the captures it would take from.';
