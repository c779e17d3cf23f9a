--
-- Reporting for BI tools (README, "Reporting"): the views of schema
-- oms_report, and what keeps them exact and fast without a hot row.
--
-- Every transaction that changes an order notes the order in
-- oms.report_dirty (C, report.c): one narrow row per order and transaction,
-- appended, never updated.  oms.report_contrib computes an order's
-- contribution to every rollup from the tables as they are; the contribution
-- last folded into the rollups is kept in oms.report_order_contrib.
-- oms.report_compact() (the background worker, every
-- oms.report_compact_interval) recomputes the noted orders, adds the
-- difference to oms.report_rollup and drops the notes of transactions that
-- can no longer be running.  oms.report_current is what the views read: the
-- rollups, plus, for the orders still noted, their contribution now minus the
-- one folded in.  So a figure is exact at the moment of the query, and no
-- order writes a row another order writes.
--
-- Rollups are keyed by their grain (kind, day, channel, location, SKU,
-- currency, reason); the per-order tables by order_id first, like
-- every table of an order.  No foreign keys.
--

CREATE SCHEMA oms_report;
COMMENT ON SCHEMA oms_report IS 'Reporting views for BI tools: business column names, plain SQL types, dates in oms.report_timezone. oms.grant_reporting grants exactly these.';

CREATE TABLE oms.report_dirty (
    order_id        bigint NOT NULL,
    txid            xid8 NOT NULL,
    PRIMARY KEY (order_id, txid)
);
COMMENT ON TABLE oms.report_dirty IS 'Orders changed since they were last folded into the reporting rollups: one row per order and writing transaction, appended in that transaction, deleted by oms.report_compact().';
COMMENT ON COLUMN oms.report_dirty.order_id IS 'The order that changed.';
COMMENT ON COLUMN oms.report_dirty.txid IS 'The transaction that changed it: oms.report_compact() drops a note only once every transaction up to it has ended.';

CREATE TABLE oms.report_state (
    id              bigint PRIMARY KEY CHECK (id = 1),
    zone            text NOT NULL,
    compacted_at    timestamptz,
    rebuilt_at      timestamptz
);
COMMENT ON TABLE oms.report_state IS 'One row, written by oms.report_compact() only: the time zone the rollups'' days are in, and when they were last compacted and rebuilt. Its lock serialises compactions.';
COMMENT ON COLUMN oms.report_state.id IS 'Always 1.';
COMMENT ON COLUMN oms.report_state.zone IS 'The time zone of the days in oms.report_rollup (oms.report_timezone when they were computed).';
COMMENT ON COLUMN oms.report_state.compacted_at IS 'When oms.report_compact() last folded orders in.';
COMMENT ON COLUMN oms.report_state.rebuilt_at IS 'When the rollups were last recomputed from all orders (oms.report_rebuild(), or a change of oms.report_timezone).';

-- The grain columns of a rollup row; kind says which figures n1..n8, a1..a6,
-- h1, h2 are (oms.report_current's comment lists them).  One row per grain:
-- day x channel x currency for sales, day x channel x SKU for products, day x
-- location for fulfilment (its hours as histograms, src/histogram.c), so a
-- year of a shop is a few rows per day however many orders it takes.
CREATE TABLE oms.report_rollup (
    kind            smallint NOT NULL,
    day             date NOT NULL,
    channel_id      bigint NOT NULL,
    location_id     bigint NOT NULL,
    sku_id          bigint NOT NULL,
    currency        text NOT NULL,
    reason          text NOT NULL,
    n1              bigint NOT NULL DEFAULT 0,
    n2              bigint NOT NULL DEFAULT 0,
    n3              bigint NOT NULL DEFAULT 0,
    n4              bigint NOT NULL DEFAULT 0,
    n5              bigint NOT NULL DEFAULT 0,
    n6              bigint NOT NULL DEFAULT 0,
    n7              bigint NOT NULL DEFAULT 0,
    n8              bigint NOT NULL DEFAULT 0,
    a1              numeric NOT NULL DEFAULT 0,
    a2              numeric NOT NULL DEFAULT 0,
    a3              numeric NOT NULL DEFAULT 0,
    a4              numeric NOT NULL DEFAULT 0,
    a5              numeric NOT NULL DEFAULT 0,
    a6              numeric NOT NULL DEFAULT 0,
    h1              bigint[] NOT NULL DEFAULT '{}',
    h2              bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (kind, day, channel_id, location_id, sku_id, currency, reason)
);
-- Stock health reads a location's SKUs' last 28 days.
CREATE INDEX report_rollup_stock_idx ON oms.report_rollup (location_id, sku_id, day) WHERE kind = 6;
COMMENT ON TABLE oms.report_rollup IS 'The reporting rollups: sums of oms.report_order_contrib by grain, maintained by oms.report_compact(); only oms.report_current reads them.';
COMMENT ON COLUMN oms.report_rollup.kind IS '1 sales, 2 products, 3 fulfilment, 6 units shipped per SKU and location, 7 returns, 8 routing (4 and 5 are no longer used).';
COMMENT ON COLUMN oms.report_rollup.day IS 'The day in oms.report_state.zone (the first of the month for kind 7).';
COMMENT ON COLUMN oms.report_rollup.channel_id IS 'The channel, 0 where the grain has none.';
COMMENT ON COLUMN oms.report_rollup.location_id IS 'The location, 0 where the grain has none.';
COMMENT ON COLUMN oms.report_rollup.sku_id IS 'The SKU, 0 where the grain has none.';
COMMENT ON COLUMN oms.report_rollup.currency IS 'The order currency, empty where the grain has none.';
COMMENT ON COLUMN oms.report_rollup.reason IS 'The return reason (kind 7; empty for the shipped units), else empty.';
COMMENT ON COLUMN oms.report_rollup.n1 IS 'A count; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.n2 IS 'A count; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.n3 IS 'A count; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.n4 IS 'A count; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.n5 IS 'A count; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.n6 IS 'A count; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.n7 IS 'A count; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.n8 IS 'A count; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.a1 IS 'An amount; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.a2 IS 'An amount; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.a3 IS 'An amount; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.a4 IS 'An amount; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.a5 IS 'An amount; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.a6 IS 'An amount; oms.report_current says which for each kind.';
COMMENT ON COLUMN oms.report_rollup.h1 IS 'Kind 3: shipments by whole hours from order placed to shipment left, an hour histogram (oms.report_hist_sum); else empty.';
COMMENT ON COLUMN oms.report_rollup.h2 IS 'Kind 3: delivered shipments by whole hours from shipment left to delivery, an hour histogram; else empty.';

CREATE TABLE oms.report_order_contrib (
    order_id        bigint NOT NULL,
    kind            smallint NOT NULL,
    day             date NOT NULL,
    channel_id      bigint NOT NULL,
    location_id     bigint NOT NULL,
    sku_id          bigint NOT NULL,
    currency        text NOT NULL,
    reason          text NOT NULL,
    n1              bigint NOT NULL DEFAULT 0,
    n2              bigint NOT NULL DEFAULT 0,
    n3              bigint NOT NULL DEFAULT 0,
    n4              bigint NOT NULL DEFAULT 0,
    n5              bigint NOT NULL DEFAULT 0,
    n6              bigint NOT NULL DEFAULT 0,
    n7              bigint NOT NULL DEFAULT 0,
    n8              bigint NOT NULL DEFAULT 0,
    a1              numeric NOT NULL DEFAULT 0,
    a2              numeric NOT NULL DEFAULT 0,
    a3              numeric NOT NULL DEFAULT 0,
    a4              numeric NOT NULL DEFAULT 0,
    a5              numeric NOT NULL DEFAULT 0,
    a6              numeric NOT NULL DEFAULT 0,
    h1              bigint[] NOT NULL DEFAULT '{}',
    h2              bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (order_id, kind, day, channel_id, location_id, sku_id, currency, reason)
);
COMMENT ON TABLE oms.report_order_contrib IS 'What each order contributes to oms.report_rollup as last folded in: oms.report_compact() subtracts it before it adds the order''s contribution now.';
COMMENT ON COLUMN oms.report_order_contrib.order_id IS 'The order.';
COMMENT ON COLUMN oms.report_order_contrib.kind IS 'As oms.report_rollup.kind.';
COMMENT ON COLUMN oms.report_order_contrib.day IS 'As oms.report_rollup.day.';
COMMENT ON COLUMN oms.report_order_contrib.channel_id IS 'As oms.report_rollup.channel_id.';
COMMENT ON COLUMN oms.report_order_contrib.location_id IS 'As oms.report_rollup.location_id.';
COMMENT ON COLUMN oms.report_order_contrib.sku_id IS 'As oms.report_rollup.sku_id.';
COMMENT ON COLUMN oms.report_order_contrib.currency IS 'As oms.report_rollup.currency.';
COMMENT ON COLUMN oms.report_order_contrib.reason IS 'As oms.report_rollup.reason.';
COMMENT ON COLUMN oms.report_order_contrib.n1 IS 'As oms.report_rollup.n1.';
COMMENT ON COLUMN oms.report_order_contrib.n2 IS 'As oms.report_rollup.n2.';
COMMENT ON COLUMN oms.report_order_contrib.n3 IS 'As oms.report_rollup.n3.';
COMMENT ON COLUMN oms.report_order_contrib.n4 IS 'As oms.report_rollup.n4.';
COMMENT ON COLUMN oms.report_order_contrib.n5 IS 'As oms.report_rollup.n5.';
COMMENT ON COLUMN oms.report_order_contrib.n6 IS 'As oms.report_rollup.n6.';
COMMENT ON COLUMN oms.report_order_contrib.n7 IS 'As oms.report_rollup.n7.';
COMMENT ON COLUMN oms.report_order_contrib.n8 IS 'As oms.report_rollup.n8.';
COMMENT ON COLUMN oms.report_order_contrib.a1 IS 'As oms.report_rollup.a1.';
COMMENT ON COLUMN oms.report_order_contrib.a2 IS 'As oms.report_rollup.a2.';
COMMENT ON COLUMN oms.report_order_contrib.a3 IS 'As oms.report_rollup.a3.';
COMMENT ON COLUMN oms.report_order_contrib.a4 IS 'As oms.report_rollup.a4.';
COMMENT ON COLUMN oms.report_order_contrib.a5 IS 'As oms.report_rollup.a5.';
COMMENT ON COLUMN oms.report_order_contrib.a6 IS 'As oms.report_rollup.a6.';
COMMENT ON COLUMN oms.report_order_contrib.h1 IS 'As oms.report_rollup.h1.';
COMMENT ON COLUMN oms.report_order_contrib.h2 IS 'As oms.report_rollup.h2.';

CREATE TABLE oms.report_stock_threshold (
    sku_id          bigint NOT NULL,
    location_id     bigint NOT NULL,
    low_stock_units integer NOT NULL CHECK (low_stock_units >= 0),
    PRIMARY KEY (sku_id, location_id)
);
COMMENT ON TABLE oms.report_stock_threshold IS 'Low-stock thresholds per SKU and location for oms_report.stock_health (admin role); without a row, low stock means under 7 days of cover.';
COMMENT ON COLUMN oms.report_stock_threshold.sku_id IS 'The SKU (oms.sku.id).';
COMMENT ON COLUMN oms.report_stock_threshold.location_id IS 'The location (oms.location.id).';
COMMENT ON COLUMN oms.report_stock_threshold.low_stock_units IS 'Stock is low when available units are at most this.';

SELECT pg_catalog.pg_extension_config_dump('oms.report_dirty', '');
SELECT pg_catalog.pg_extension_config_dump('oms.report_state', '');
SELECT pg_catalog.pg_extension_config_dump('oms.report_rollup', '');
SELECT pg_catalog.pg_extension_config_dump('oms.report_order_contrib', '');
SELECT pg_catalog.pg_extension_config_dump('oms.report_stock_threshold', '');

CREATE VIEW oms.report_zone AS
SELECT coalesce((SELECT s.zone FROM oms.report_state s WHERE s.id = 1),
                current_setting('oms.report_timezone', true), 'UTC') AS zone;
COMMENT ON VIEW oms.report_zone IS 'The time zone of the reporting days: the rollups'' (oms.report_state), or oms.report_timezone before the first compaction.';

--
-- The hour histograms of the fulfilment rollups (src/histogram.c): counts of
-- shipments in fixed log-scale buckets of whole hours, exact below 32 hours,
-- 1/16 of a doubling wide above; added bucket by bucket, so that any days
-- and locations merge, and p50/p90 read from the merged buckets.
--
CREATE FUNCTION oms.report_hours_bucket(hours integer)
    RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_report_hours_bucket';
COMMENT ON FUNCTION oms.report_hours_bucket(integer) IS
    'The bucket of an hour histogram that whole hours fall in: the hours themselves below 32 (below 0 counts as 0), then 16 buckets per doubling.';

CREATE FUNCTION oms.report_bucket_hours(bucket integer)
    RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_report_bucket_hours';
COMMENT ON FUNCTION oms.report_bucket_hours(integer) IS
    'The highest whole hour of a bucket of an hour histogram (OM211 for no bucket): what a percentile in that bucket reads as.';

CREATE FUNCTION oms.report_hist(hours integer)
    RETURNS bigint[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_report_hist';
COMMENT ON FUNCTION oms.report_hist(integer) IS
    'The hour histogram of one shipment, hours after: one count in the bucket of the hours, the array''s lower bound being the bucket.';

CREATE FUNCTION oms.report_hist_add(a bigint[], b bigint[])
    RETURNS bigint[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_report_hist_add';
COMMENT ON FUNCTION oms.report_hist_add(bigint[], bigint[]) IS
    'Two hour histograms added bucket by bucket (OM211 for an array that is not one).';

CREATE FUNCTION oms.report_hist_neg(a bigint[])
    RETURNS bigint[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_report_hist_neg';
COMMENT ON FUNCTION oms.report_hist_neg(bigint[]) IS
    'An hour histogram with its counts negated: what takes a contribution out of a rollup.';

CREATE FUNCTION oms.report_hist_merge(internal, bigint[])
    RETURNS internal
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_report_hist_merge';
COMMENT ON FUNCTION oms.report_hist_merge(internal, bigint[]) IS 'Transition function of oms.report_hist_sum.';

CREATE FUNCTION oms.report_hist_final(internal)
    RETURNS bigint[]
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_report_hist_final';
COMMENT ON FUNCTION oms.report_hist_final(internal) IS 'Final function of oms.report_hist_sum.';

CREATE AGGREGATE oms.report_hist_sum(bigint[]) (
    SFUNC = oms.report_hist_merge,
    STYPE = internal,
    FINALFUNC = oms.report_hist_final
);
COMMENT ON AGGREGATE oms.report_hist_sum(bigint[]) IS
    'The hour histograms of the rows added bucket by bucket; NULLs are skipped, and no rows give the empty histogram.';

CREATE FUNCTION oms.report_hist_percentile(hist bigint[], fraction double precision)
    RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_report_hist_percentile';
COMMENT ON FUNCTION oms.report_hist_percentile(bigint[], double precision) IS
    'The highest hour of the bucket holding the fraction (0 to 1, else OM210) of the shipments an hour histogram counts, picked as percentile_disc picks; NULL when it counts none.';

--
-- The contribution of every order to every rollup, computed from the tables
-- as they are now; compaction and the views read it for a few orders at a
-- time (order_id = ...), oms.report_rebuild() for all.  Each figure counts
-- on the day of its fact: an order, its units, money and returns on the day
-- it was placed; cancelled units on the day they were cancelled
-- (oms.order_cancellation), an order cancelled as a whole on its
-- cancelled_at; shipped units, shipments and their times on the day they
-- shipped; refunds on the day they were recorded.  Money of a line after
-- cancellations and returns is prorated by units and rounded to 4 decimals
-- per line.
--
CREATE VIEW oms.report_contrib AS
WITH z AS (SELECT zone FROM oms.report_zone)
SELECT u.order_id, u.kind, u.day, u.channel_id, u.location_id, u.sku_id, u.currency, u.reason,
       sum(u.n1)::bigint AS n1, sum(u.n2)::bigint AS n2, sum(u.n3)::bigint AS n3, sum(u.n4)::bigint AS n4,
       sum(u.n5)::bigint AS n5, sum(u.n6)::bigint AS n6, sum(u.n7)::bigint AS n7, sum(u.n8)::bigint AS n8,
       sum(u.a1) AS a1, sum(u.a2) AS a2, sum(u.a3) AS a3, sum(u.a4) AS a4, sum(u.a5) AS a5, sum(u.a6) AS a6,
       oms.report_hist_sum(u.h1) AS h1, oms.report_hist_sum(u.h2) AS h2
  FROM (
    -- 1 sales: orders, units, cancelled orders, cancelled units, returned units;
    --   gross, discounts, tax, shipping, returns, refunds
    SELECT o.order_id, 1::smallint AS kind, (o.placed_at AT TIME ZONE z.zone)::date AS day,
           o.channel_id, 0::bigint AS location_id, 0::bigint AS sku_id, o.currency::text AS currency,
           ''::text AS reason,
           1::bigint AS n1, o.units::bigint AS n2, 0::bigint AS n3,
           0::bigint AS n4, l.returned AS n5, 0::bigint AS n6, 0::bigint AS n7, 0::bigint AS n8,
           l.gross AS a1, l.discount + o.order_discount AS a2, l.tax + o.shipping_tax AS a3,
           o.shipping_amount - o.shipping_discount AS a4, l.returns AS a5, 0::numeric AS a6,
           NULL::bigint[] AS h1, NULL::bigint[] AS h2
      FROM oms.orders o
     CROSS JOIN z
     CROSS JOIN LATERAL (
            SELECT coalesce(sum(ol.qty_returned), 0)::bigint AS returned,
                   coalesce(sum(ol.qty * ol.unit_price), 0) AS gross,
                   coalesce(sum(ol.discount_amount), 0) AS discount,
                   coalesce(sum(ol.tax_amount), 0) AS tax,
                   coalesce(sum(round((ol.qty * ol.unit_price - ol.discount_amount) * ol.qty_returned / ol.qty, 4)), 0)
                       AS returns
              FROM oms.order_lines ol WHERE ol.order_id = o.order_id) l
    UNION ALL
    SELECT o.order_id, 1::smallint, (o.cancelled_at AT TIME ZONE z.zone)::date, o.channel_id, 0, 0, o.currency::text,
           '', 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL
      FROM oms.orders o
     CROSS JOIN z
     WHERE o.cancelled_at IS NOT NULL
    UNION ALL
    SELECT k.order_id, 1::smallint, (k.cancelled_at AT TIME ZONE z.zone)::date, o.channel_id, 0, 0, o.currency::text,
           '', 0, 0, 0, k.qty, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL
      FROM oms.order_cancellation k
      JOIN oms.orders o ON o.order_id = k.order_id
     CROSS JOIN z
    UNION ALL
    SELECT p.order_id, 1::smallint, (p.created_at AT TIME ZONE z.zone)::date, o.channel_id, 0, 0, o.currency::text,
           '', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, p.amount, NULL, NULL
      FROM oms.payment p
      JOIN oms.orders o ON o.order_id = p.order_id
     CROSS JOIN z
     WHERE p.kind = 'refund'
    UNION ALL
    -- 2 products: units ordered, shipped, cancelled, returned, lines; net revenue
    SELECT ol.order_id, 2::smallint, (o.placed_at AT TIME ZONE z.zone)::date, o.channel_id, 0, ol.sku_id, '', '',
           ol.qty, 0, 0, ol.qty_returned, 1, 0, 0, 0,
           round((ol.qty * ol.unit_price - ol.discount_amount) * (ol.qty - ol.qty_cancelled - ol.qty_returned) / ol.qty, 4),
           0, 0, 0, 0, 0, NULL, NULL
      FROM oms.order_lines ol
      JOIN oms.orders o ON o.order_id = ol.order_id
     CROSS JOIN z
    UNION ALL
    SELECT k.order_id, 2::smallint, (k.cancelled_at AT TIME ZONE z.zone)::date, o.channel_id, 0, ol.sku_id, '', '',
           0, 0, k.qty, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL
      FROM oms.order_cancellation k
      JOIN oms.order_lines ol ON ol.order_id = k.order_id AND ol.line_no = k.line_no
      JOIN oms.orders o ON o.order_id = k.order_id
     CROSS JOIN z
    UNION ALL
    SELECT s.order_id, 2::smallint, (s.shipped_at AT TIME ZONE z.zone)::date, o.channel_id, 0, ol.sku_id, '', '',
           0, sl.qty, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL
      FROM oms.shipment s
      JOIN oms.shipment_line sl ON sl.shipment_id = s.id
      JOIN oms.order_lines ol ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no
      JOIN oms.orders o ON o.order_id = s.order_id
     CROSS JOIN z
     WHERE s.shipped_at IS NOT NULL
    UNION ALL
    -- 3 fulfilment: orders shipped, shipments, units, lines shipped, lines filled,
    --   split orders, shipments on time (within 48 hours of the order), shipments delivered;
    --   hour histograms of placed to shipped, and of shipped to delivered
    SELECT f.order_id, 3::smallint, f.day, 0, f.location_id, 0, '', '',
           1, count(*), sum(f.units), sum(f.lines), sum(f.filled), max(f.split), count(*) FILTER (WHERE f.on_time),
           count(f.to_deliver), 0, 0, 0, 0, 0, 0,
           oms.report_hist_sum(oms.report_hist(f.to_ship)), oms.report_hist_sum(oms.report_hist(f.to_deliver))
      FROM (SELECT s.order_id, (s.shipped_at AT TIME ZONE z.zone)::date AS day, s.location_id,
                   x.units, x.lines, x.filled,
                   ((SELECT count(*) FROM oms.shipment s2
                      WHERE s2.order_id = s.order_id AND s2.shipped_at IS NOT NULL) > 1)::integer AS split,
                   s.shipped_at <= o.placed_at + interval '48 hours' AS on_time,
                   ceil(extract(epoch FROM s.shipped_at - o.placed_at) / 3600)::integer AS to_ship,
                   ceil(extract(epoch FROM s.delivered_at - s.shipped_at) / 3600)::integer AS to_deliver
              FROM oms.shipment s
              JOIN oms.orders o ON o.order_id = s.order_id
             CROSS JOIN z
             CROSS JOIN LATERAL (
                    SELECT sum(sl.qty) AS units, count(*) AS lines,
                           count(*) FILTER (WHERE ol.qty_shipped = ol.qty) AS filled
                      FROM oms.shipment_line sl
                      JOIN oms.order_lines ol ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no
                     WHERE sl.shipment_id = s.id) x
             WHERE s.shipped_at IS NOT NULL) f
     GROUP BY f.order_id, f.day, f.location_id
    UNION ALL
    -- 6 units shipped per SKU and location
    SELECT s.order_id, 6::smallint, (s.shipped_at AT TIME ZONE z.zone)::date, 0, s.location_id, ol.sku_id, '', '',
           sl.qty, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL
      FROM oms.shipment s
      JOIN oms.shipment_line sl ON sl.shipment_id = s.id
      JOIN oms.order_lines ol ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no
     CROSS JOIN z
     WHERE s.shipped_at IS NOT NULL
    UNION ALL
    -- 7 returns by month: shipped units (reason empty); units received back (month of receipt)
    --   and refunds (month the return was received, or requested) by reason
    SELECT s.order_id, 7::smallint, date_trunc('month', s.shipped_at AT TIME ZONE z.zone)::date, 0, 0, ol.sku_id,
           '', '', sl.qty, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL
      FROM oms.shipment s
      JOIN oms.shipment_line sl ON sl.shipment_id = s.id
      JOIN oms.order_lines ol ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no
     CROSS JOIN z
     WHERE s.shipped_at IS NOT NULL
    UNION ALL
    SELECT rc.order_id, 7::smallint, date_trunc('month', rc.received_at AT TIME ZONE z.zone)::date, 0, 0, rc.sku_id,
           '', coalesce(rr.code, 'unspecified'), 0, rc.qty, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL
      FROM oms.return_receipt rc
      JOIN oms.return_line rl ON rl.order_id = rc.order_id AND rl.return_id = rc.return_id AND rl.line_no = rc.line_no
      LEFT JOIN oms.return_reason rr ON rr.id = rl.reason_id
     CROSS JOIN z
     WHERE NOT rc.from_quarantine
    UNION ALL
    SELECT rl.order_id, 7::smallint, date_trunc('month', coalesce(rt.received_at, rt.requested_at) AT TIME ZONE z.zone)::date,
           0, 0, rl.sku_id, '', coalesce(rr.code, 'unspecified'), 0, 0, 0, 0, 0, 0, 0, 0, rl.refund_amount, 0, 0, 0, 0, 0,
           NULL, NULL
      FROM oms.return_line rl
      JOIN oms.returns rt ON rt.order_id = rl.order_id AND rt.return_id = rl.return_id
      LEFT JOIN oms.return_reason rr ON rr.id = rl.reason_id
     CROSS JOIN z
     WHERE rl.refund_amount > 0
    UNION ALL
    -- 8 routing: orders, routed orders, planned shipments, re-routed orders, backordered lines, lines;
    --   distance (km), shipping cost
    SELECT o.order_id, 8::smallint, (o.placed_at AT TIME ZONE z.zone)::date, o.channel_id, 0, 0, '', '',
           1, (o.routing IS NOT NULL)::integer,
           coalesce((j.r -> 'objective' ->> 'shipments')::bigint, 0),
           (coalesce((j.r ->> 'attempts')::integer, 1) > 1)::integer,
           (SELECT count(*) FROM oms.order_event e
             WHERE e.order_id = o.order_id AND e.entity = 'line' AND e.from_status IS NULL
               AND e.to_status = 'backordered'),
           (SELECT count(*) FROM oms.order_lines ol WHERE ol.order_id = o.order_id),
           0, 0,
           coalesce((j.r -> 'objective' ->> 'distance_km')::numeric, 0),
           coalesce((j.r -> 'objective' ->> 'cost')::numeric, 0),
           0, 0, 0, 0, NULL, NULL
      FROM oms.orders o
     CROSS JOIN z
     CROSS JOIN LATERAL (SELECT o.routing::jsonb AS r OFFSET 0) j) u  -- parsed once, not once per figure
 GROUP BY u.order_id, u.kind, u.day, u.channel_id, u.location_id, u.sku_id, u.currency, u.reason;
COMMENT ON VIEW oms.report_contrib IS 'Each order''s contribution to the reporting rollups, computed from the tables now; see oms.report_current for the figures of each kind.';

--
-- What the reporting views read: the rollups, plus, for every order noted
-- as changed and not yet folded in, its contribution now minus the one the
-- rollups hold.  The figures n1..n8, a1..a6 and h1, h2 of each kind:
--   1 sales (day, channel, currency): orders, units, orders cancelled that
--     day, units cancelled that day, returned units; gross, discounts, tax,
--     shipping, returns, refunds
--   2 products (day, channel, SKU): units ordered, shipped, cancelled (that
--     day), returned, lines; net revenue
--   3 fulfilment (day, location): orders shipped, shipments, units, lines
--     shipped, lines filled, split orders, shipments on time, delivered;
--     hour histograms of placed to shipped (h1) and shipped to delivered (h2)
--   6 (day, location, SKU): units shipped
--   7 returns (month, SKU, reason): shipped units (reason ''), returned
--     units; refunds
--   8 routing (day, channel): orders, routed orders, planned shipments,
--     re-routed orders, backordered lines, lines; km, shipping cost
--
CREATE VIEW oms.report_tail AS
SELECT c.kind, c.day, c.channel_id, c.location_id, c.sku_id, c.currency, c.reason,
       c.n1, c.n2, c.n3, c.n4, c.n5, c.n6, c.n7, c.n8, c.a1, c.a2, c.a3, c.a4, c.a5, c.a6, c.h1, c.h2
  FROM oms.report_contrib c
 WHERE c.order_id = ANY (ARRAY(SELECT DISTINCT d.order_id FROM oms.report_dirty d))
UNION ALL
SELECT p.kind, p.day, p.channel_id, p.location_id, p.sku_id, p.currency, p.reason,
       -p.n1, -p.n2, -p.n3, -p.n4, -p.n5, -p.n6, -p.n7, -p.n8, -p.a1, -p.a2, -p.a3, -p.a4, -p.a5, -p.a6,
       oms.report_hist_neg(p.h1), oms.report_hist_neg(p.h2)
  FROM oms.report_order_contrib p
 WHERE p.order_id = ANY (ARRAY(SELECT DISTINCT d.order_id FROM oms.report_dirty d));
-- The noted orders as an array, not a join: "order_id = ANY (array)" goes
-- down through report_contrib's grouping and union into every table's
-- index on order_id, together with the reading view's kind and day.
COMMENT ON VIEW oms.report_tail IS 'What the rollups miss now: for every order changed since compaction, its contribution now minus the one folded in.';

CREATE VIEW oms.report_current AS
SELECT r.kind, r.day, r.channel_id, r.location_id, r.sku_id, r.currency, r.reason,
       r.n1, r.n2, r.n3, r.n4, r.n5, r.n6, r.n7, r.n8, r.a1, r.a2, r.a3, r.a4, r.a5, r.a6, r.h1, r.h2
  FROM oms.report_rollup r
UNION ALL
SELECT t.kind, t.day, t.channel_id, t.location_id, t.sku_id, t.currency, t.reason,
       t.n1, t.n2, t.n3, t.n4, t.n5, t.n6, t.n7, t.n8, t.a1, t.a2, t.a3, t.a4, t.a5, t.a6, t.h1, t.h2
  FROM oms.report_tail t;
COMMENT ON VIEW oms.report_current IS 'The rollups as of now: oms.report_rollup plus, for the orders changed since compaction, their contribution now minus the one folded in. Figures per kind: see the comment in src/sql/75_reporting.sql.';

--
-- The tail of one kind, as the views read it: the same rows as oms.report_tail,
-- from a function whose statements are planned once per session (the view
-- stack of report_contrib costs 40 to 80 ms to plan, more than the rollups
-- take to read), with the kind written into each statement so that only its
-- branches of report_contrib are planned, and nothing read at all when no
-- order is noted.  SECURITY DEFINER: the reporting role reads the views, not
-- the tables this reads.
--
CREATE FUNCTION oms.report_tail_of(of_kind smallint)
    RETURNS SETOF oms.report_rollup
    LANGUAGE plpgsql STABLE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_orders    bigint[];
BEGIN
    SELECT array_agg(DISTINCT d.order_id) INTO v_orders FROM oms.report_dirty d;
    IF v_orders IS NULL THEN
        RETURN;
    END IF;
    IF of_kind = 1 THEN
        RETURN QUERY SELECT c.kind, c.day, c.channel_id, c.location_id, c.sku_id, c.currency, c.reason, c.n1, c.n2, c.n3, c.n4, c.n5, c.n6, c.n7, c.n8,
                            c.a1, c.a2, c.a3, c.a4, c.a5, c.a6, c.h1, c.h2
                       FROM oms.report_contrib c WHERE c.kind = 1 AND c.order_id = ANY (v_orders);
    ELSIF of_kind = 2 THEN
        RETURN QUERY SELECT c.kind, c.day, c.channel_id, c.location_id, c.sku_id, c.currency, c.reason, c.n1, c.n2, c.n3, c.n4, c.n5, c.n6, c.n7, c.n8,
                            c.a1, c.a2, c.a3, c.a4, c.a5, c.a6, c.h1, c.h2
                       FROM oms.report_contrib c WHERE c.kind = 2 AND c.order_id = ANY (v_orders);
    ELSIF of_kind = 3 THEN
        RETURN QUERY SELECT c.kind, c.day, c.channel_id, c.location_id, c.sku_id, c.currency, c.reason, c.n1, c.n2, c.n3, c.n4, c.n5, c.n6, c.n7, c.n8,
                            c.a1, c.a2, c.a3, c.a4, c.a5, c.a6, c.h1, c.h2
                       FROM oms.report_contrib c WHERE c.kind = 3 AND c.order_id = ANY (v_orders);
    ELSIF of_kind = 6 THEN
        RETURN QUERY SELECT c.kind, c.day, c.channel_id, c.location_id, c.sku_id, c.currency, c.reason, c.n1, c.n2, c.n3, c.n4, c.n5, c.n6, c.n7, c.n8,
                            c.a1, c.a2, c.a3, c.a4, c.a5, c.a6, c.h1, c.h2
                       FROM oms.report_contrib c WHERE c.kind = 6 AND c.order_id = ANY (v_orders);
    ELSIF of_kind = 7 THEN
        RETURN QUERY SELECT c.kind, c.day, c.channel_id, c.location_id, c.sku_id, c.currency, c.reason, c.n1, c.n2, c.n3, c.n4, c.n5, c.n6, c.n7, c.n8,
                            c.a1, c.a2, c.a3, c.a4, c.a5, c.a6, c.h1, c.h2
                       FROM oms.report_contrib c WHERE c.kind = 7 AND c.order_id = ANY (v_orders);
    ELSIF of_kind = 8 THEN
        RETURN QUERY SELECT c.kind, c.day, c.channel_id, c.location_id, c.sku_id, c.currency, c.reason, c.n1, c.n2, c.n3, c.n4, c.n5, c.n6, c.n7, c.n8,
                            c.a1, c.a2, c.a3, c.a4, c.a5, c.a6, c.h1, c.h2
                       FROM oms.report_contrib c WHERE c.kind = 8 AND c.order_id = ANY (v_orders);
    ELSE
        RETURN;
    END IF;
    RETURN QUERY SELECT p.kind, p.day, p.channel_id, p.location_id, p.sku_id, p.currency, p.reason,
                        -p.n1, -p.n2, -p.n3, -p.n4, -p.n5, -p.n6, -p.n7, -p.n8, -p.a1, -p.a2, -p.a3, -p.a4, -p.a5, -p.a6,
                        oms.report_hist_neg(p.h1), oms.report_hist_neg(p.h2)
                   FROM oms.report_order_contrib p WHERE p.order_id = ANY (v_orders) AND p.kind = of_kind;
END
$$;
COMMENT ON FUNCTION oms.report_tail_of(smallint) IS
    'The rows of oms.report_tail of one kind: what the reporting views add to the rollups for the orders changed since compaction.';

--
-- Folding noted orders into the rollups.  Only transactions below the
-- horizon (the oldest transaction still running when the batch was chosen)
-- are dropped from the notes: every one of them has ended, so the tables
-- read afterwards show all they changed.  A note of a transaction still
-- running stays, and its order is recomputed again next time, which changes
-- nothing if nothing changed: recomputing is idempotent, so an order is
-- never lost and never counted twice.
--
CREATE FUNCTION oms.report_fold(orders bigint[])
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Take out what the rollups hold of these orders ...
    INSERT INTO oms.report_rollup AS r
    SELECT p.kind, p.day, p.channel_id, p.location_id, p.sku_id, p.currency, p.reason,
           -sum(p.n1), -sum(p.n2), -sum(p.n3), -sum(p.n4), -sum(p.n5), -sum(p.n6), -sum(p.n7), -sum(p.n8),
           -sum(p.a1), -sum(p.a2), -sum(p.a3), -sum(p.a4), -sum(p.a5), -sum(p.a6),
           oms.report_hist_neg(oms.report_hist_sum(p.h1)), oms.report_hist_neg(oms.report_hist_sum(p.h2))
      FROM oms.report_order_contrib p
     WHERE p.order_id = ANY (orders)
     GROUP BY p.kind, p.day, p.channel_id, p.location_id, p.sku_id, p.currency, p.reason
        ON CONFLICT (kind, day, channel_id, location_id, sku_id, currency, reason) DO UPDATE
       SET n1 = r.n1 + excluded.n1, n2 = r.n2 + excluded.n2, n3 = r.n3 + excluded.n3, n4 = r.n4 + excluded.n4,
           n5 = r.n5 + excluded.n5, n6 = r.n6 + excluded.n6, n7 = r.n7 + excluded.n7, n8 = r.n8 + excluded.n8,
           a1 = r.a1 + excluded.a1, a2 = r.a2 + excluded.a2, a3 = r.a3 + excluded.a3, a4 = r.a4 + excluded.a4,
           a5 = r.a5 + excluded.a5, a6 = r.a6 + excluded.a6,
           h1 = oms.report_hist_add(r.h1, excluded.h1), h2 = oms.report_hist_add(r.h2, excluded.h2);
    DELETE FROM oms.report_order_contrib p WHERE p.order_id = ANY (orders);

    -- ... and put in what they contribute now.
    INSERT INTO oms.report_order_contrib
    SELECT c.* FROM oms.report_contrib c WHERE c.order_id = ANY (orders);
    INSERT INTO oms.report_rollup AS r
    SELECT p.kind, p.day, p.channel_id, p.location_id, p.sku_id, p.currency, p.reason,
           sum(p.n1), sum(p.n2), sum(p.n3), sum(p.n4), sum(p.n5), sum(p.n6), sum(p.n7), sum(p.n8),
           sum(p.a1), sum(p.a2), sum(p.a3), sum(p.a4), sum(p.a5), sum(p.a6),
           oms.report_hist_sum(p.h1), oms.report_hist_sum(p.h2)
      FROM oms.report_order_contrib p
     WHERE p.order_id = ANY (orders)
     GROUP BY p.kind, p.day, p.channel_id, p.location_id, p.sku_id, p.currency, p.reason
        ON CONFLICT (kind, day, channel_id, location_id, sku_id, currency, reason) DO UPDATE
       SET n1 = r.n1 + excluded.n1, n2 = r.n2 + excluded.n2, n3 = r.n3 + excluded.n3, n4 = r.n4 + excluded.n4,
           n5 = r.n5 + excluded.n5, n6 = r.n6 + excluded.n6, n7 = r.n7 + excluded.n7, n8 = r.n8 + excluded.n8,
           a1 = r.a1 + excluded.a1, a2 = r.a2 + excluded.a2, a3 = r.a3 + excluded.a3, a4 = r.a4 + excluded.a4,
           a5 = r.a5 + excluded.a5, a6 = r.a6 + excluded.a6,
           h1 = oms.report_hist_add(r.h1, excluded.h1), h2 = oms.report_hist_add(r.h2, excluded.h2);
END
$$;
COMMENT ON FUNCTION oms.report_fold(bigint[]) IS
    'Replaces what the given orders contribute to the reporting rollups with what they contribute now; oms.report_compact() calls it with the orders it has locked out of every other compaction.';

CREATE FUNCTION oms.report_rebuild()
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_zone      text := coalesce(current_setting('oms.report_timezone', true), 'UTC');
    v_horizon   xid8;
    v_orders    bigint;
BEGIN
    INSERT INTO oms.report_state (id, zone) VALUES (1, v_zone) ON CONFLICT DO NOTHING;
    PERFORM FROM oms.report_state WHERE id = 1 FOR UPDATE;
    v_horizon := pg_snapshot_xmin(pg_current_snapshot());
    UPDATE oms.report_state SET zone = v_zone, rebuilt_at = clock_timestamp(), compacted_at = clock_timestamp()
     WHERE id = 1;
    TRUNCATE oms.report_rollup, oms.report_order_contrib;
    INSERT INTO oms.report_order_contrib SELECT * FROM oms.report_contrib;
    INSERT INTO oms.report_rollup
    SELECT p.kind, p.day, p.channel_id, p.location_id, p.sku_id, p.currency, p.reason,
           sum(p.n1), sum(p.n2), sum(p.n3), sum(p.n4), sum(p.n5), sum(p.n6), sum(p.n7), sum(p.n8),
           sum(p.a1), sum(p.a2), sum(p.a3), sum(p.a4), sum(p.a5), sum(p.a6),
           oms.report_hist_sum(p.h1), oms.report_hist_sum(p.h2)
      FROM oms.report_order_contrib p
     GROUP BY p.kind, p.day, p.channel_id, p.location_id, p.sku_id, p.currency, p.reason;
    DELETE FROM oms.report_dirty WHERE txid < v_horizon OR txid >= oms.next_xact_id();
    SELECT count(DISTINCT order_id) INTO v_orders FROM oms.report_order_contrib;
    RETURN v_orders;
END
$$;
COMMENT ON FUNCTION oms.report_rebuild() IS
    'Recomputes the reporting rollups from every order, in the days of oms.report_timezone, and returns the number of orders; after a bulk load with oms.report off. Blocks the reporting views until it commits.';

CREATE FUNCTION oms.report_compact(max_orders integer DEFAULT 10000)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_zone      text := coalesce(current_setting('oms.report_timezone', true), 'UTC');
    v_state     oms.report_state;
    v_horizon   xid8;
    v_orders    bigint[];
BEGIN
    IF max_orders IS NULL OR max_orders NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'max_orders must be from 1 to 1000000, not %', coalesce(max_orders::text, 'NULL')
            USING ERRCODE = 'OM170', HINT = 'Call it again to fold in more orders.';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'oms.report_compact() runs under READ COMMITTED only, not %',
                        current_setting('transaction_isolation')
            USING ERRCODE = 'OM171',
                  DETAIL = 'It must read what every transaction it folds in has committed.',
                  HINT = 'Call it in a transaction of its own.';
    END IF;
    -- Nothing noted, the usual case between orders: no lock, no transaction id.
    IF NOT EXISTS (SELECT FROM oms.report_dirty)
       AND EXISTS (SELECT FROM oms.report_state WHERE id = 1 AND zone = v_zone) THEN
        RETURN 0;
    END IF;
    INSERT INTO oms.report_state (id, zone) VALUES (1, v_zone) ON CONFLICT DO NOTHING;
    SELECT * INTO v_state FROM oms.report_state WHERE id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;               -- another compaction is at work
    END IF;
    IF v_state.zone <> v_zone THEN
        RAISE NOTICE 'oms.report_timezone is now %, the rollups are in %: rebuilding them', v_zone, v_state.zone;
        RETURN oms.report_rebuild();
    END IF;

    -- The horizon comes from a snapshot taken after the lock: every
    -- transaction below it has ended, and the statements below see it.  A
    -- note at or beyond the next transaction id came with a restore from
    -- another cluster (oms.rebase_events()): its transaction ended too.
    v_horizon := pg_snapshot_xmin(pg_current_snapshot());
    SELECT array_agg(d.order_id) INTO v_orders
      FROM (SELECT DISTINCT r.order_id FROM oms.report_dirty r
             WHERE r.txid < v_horizon OR r.txid >= oms.next_xact_id()
             ORDER BY r.order_id LIMIT max_orders) d;
    IF v_orders IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM oms.report_fold(v_orders);
    DELETE FROM oms.report_dirty r
     WHERE r.order_id = ANY (v_orders) AND (r.txid < v_horizon OR r.txid >= oms.next_xact_id());
    UPDATE oms.report_state SET compacted_at = clock_timestamp() WHERE id = 1;
    RETURN cardinality(v_orders);
END
$$;
COMMENT ON FUNCTION oms.report_compact(integer) IS
    'Folds up to max_orders (1 to 1000000) orders changed by transactions that have ended into the reporting rollups and returns how many; the background worker calls it every oms.report_compact_interval. A change of oms.report_timezone rebuilds the rollups. The views are exact whether it ran or not.';

--
-- The views of schema oms_report: what a BI tool connected as a role of
-- oms.grant_reporting sees.  Plain types only (no json, no domains), codes
-- rather than ids, dates in the reporting time zone (oms.report_timezone)
-- next to the timestamps where a row has them.
--
CREATE VIEW oms_report.sales_daily AS
SELECT g.day AS sales_date,
       (g.day::timestamp AT TIME ZONE z.zone) AS day_start,
       ch.code AS channel,
       g.currency,
       g.orders,
       g.units,
       g.gross_sales,
       g.discounts,
       g.tax,
       g.shipping,
       g.returns,
       g.gross_sales - g.discounts - g.returns AS net_sales,
       round((g.gross_sales - g.discounts - g.returns) / nullif(g.orders, 0), 2) AS average_order_value,
       g.cancelled_orders,
       g.cancelled_units,
       g.returned_units,
       g.refunds
  FROM (SELECT c.day, c.channel_id, c.currency,
               sum(c.n1)::bigint AS orders, sum(c.n2)::bigint AS units, sum(c.n3)::bigint AS cancelled_orders,
               sum(c.n4)::bigint AS cancelled_units, sum(c.n5)::bigint AS returned_units,
               sum(c.a1) AS gross_sales, sum(c.a2) AS discounts, sum(c.a3) AS tax, sum(c.a4) AS shipping,
               sum(c.a5) AS returns, sum(c.a6) AS refunds
          FROM (SELECT r.* FROM oms.report_rollup r WHERE r.kind = 1
                UNION ALL SELECT t.* FROM oms.report_tail_of(1::smallint) t) c
         GROUP BY c.day, c.channel_id, c.currency) g
  JOIN oms.channel ch ON ch.id = g.channel_id
 CROSS JOIN oms.report_zone z;
COMMENT ON VIEW oms_report.sales_daily IS 'Sales per day, channel and currency, exact as of the query. Orders, their units, money and returns count on the day the order was placed; cancellations on the day they happened; refunds on the day they were recorded.';
COMMENT ON COLUMN oms_report.sales_daily.sales_date IS 'The day, in the reporting time zone (oms.report_timezone).';
COMMENT ON COLUMN oms_report.sales_daily.day_start IS 'When the day began, as a timestamp.';
COMMENT ON COLUMN oms_report.sales_daily.channel IS 'The channel''s code.';
COMMENT ON COLUMN oms_report.sales_daily.currency IS 'The orders'' currency (ISO 4217); amounts of different currencies are never added.';
COMMENT ON COLUMN oms_report.sales_daily.orders IS 'Orders placed, cancelled ones included.';
COMMENT ON COLUMN oms_report.sales_daily.units IS 'Units ordered on those orders.';
COMMENT ON COLUMN oms_report.sales_daily.gross_sales IS 'Sum of qty * unit_price over the lines as placed (prices as the channel sent them, tax included when it included it).';
COMMENT ON COLUMN oms_report.sales_daily.discounts IS 'Line discounts plus order discounts.';
COMMENT ON COLUMN oms_report.sales_daily.tax IS 'Line tax plus shipping tax.';
COMMENT ON COLUMN oms_report.sales_daily.shipping IS 'Shipping charged, net of shipping discounts.';
COMMENT ON COLUMN oms_report.sales_daily.returns IS 'Net value of the units returned (line net prorated by units, 4 decimals per line), counted on the day the order was placed.';
COMMENT ON COLUMN oms_report.sales_daily.net_sales IS 'gross_sales - discounts - returns.';
COMMENT ON COLUMN oms_report.sales_daily.average_order_value IS 'net_sales / orders, 2 decimals.';
COMMENT ON COLUMN oms_report.sales_daily.cancelled_orders IS 'Orders cancelled as a whole that day (their cancelled_at), whenever they were placed.';
COMMENT ON COLUMN oms_report.sales_daily.cancelled_units IS 'Units cancelled that day, of whole orders or of lines (oms.order_cancellation), whenever the order was placed.';
COMMENT ON COLUMN oms_report.sales_daily.returned_units IS 'Units of orders placed that day that came back.';
COMMENT ON COLUMN oms_report.sales_daily.refunds IS 'Money refunded that day (payments of kind refund), whenever the order was placed.';

CREATE VIEW oms_report.product_sales_daily AS
SELECT g.day AS sales_date,
       (g.day::timestamp AT TIME ZONE z.zone) AS day_start,
       ch.code AS channel,
       k.code AS sku,
       k.name AS sku_name,
       g.units_ordered,
       g.units_shipped,
       g.units_cancelled,
       g.units_returned,
       g.order_lines,
       g.net_revenue
  FROM (SELECT c.day, c.channel_id, c.sku_id,
               sum(c.n1)::bigint AS units_ordered, sum(c.n2)::bigint AS units_shipped,
               sum(c.n3)::bigint AS units_cancelled, sum(c.n4)::bigint AS units_returned,
               sum(c.n5)::bigint AS order_lines, sum(c.a1) AS net_revenue
          FROM (SELECT r.* FROM oms.report_rollup r WHERE r.kind = 2
                UNION ALL SELECT t.* FROM oms.report_tail_of(2::smallint) t) c
         GROUP BY c.day, c.channel_id, c.sku_id) g
  JOIN oms.channel ch ON ch.id = g.channel_id
  JOIN oms.sku k ON k.id = g.sku_id
 CROSS JOIN oms.report_zone z;
COMMENT ON VIEW oms_report.product_sales_daily IS 'Per day, channel and SKU: units ordered and returned (on the day the order was placed), cancelled (on the day they were cancelled), shipped (on the day they shipped), and net revenue: bestsellers and slow movers.';
COMMENT ON COLUMN oms_report.product_sales_daily.sales_date IS 'The day, in the reporting time zone (oms.report_timezone).';
COMMENT ON COLUMN oms_report.product_sales_daily.day_start IS 'When the day began, as a timestamp.';
COMMENT ON COLUMN oms_report.product_sales_daily.channel IS 'The channel''s code.';
COMMENT ON COLUMN oms_report.product_sales_daily.sku IS 'The SKU''s code.';
COMMENT ON COLUMN oms_report.product_sales_daily.sku_name IS 'The SKU''s name.';
COMMENT ON COLUMN oms_report.product_sales_daily.units_ordered IS 'Units ordered on orders placed that day.';
COMMENT ON COLUMN oms_report.product_sales_daily.units_shipped IS 'Units that left a location that day.';
COMMENT ON COLUMN oms_report.product_sales_daily.units_cancelled IS 'Units cancelled that day (oms.order_cancellation), whenever the order was placed.';
COMMENT ON COLUMN oms_report.product_sales_daily.units_returned IS 'Units of orders placed that day that came back.';
COMMENT ON COLUMN oms_report.product_sales_daily.order_lines IS 'Order lines of the SKU placed that day.';
COMMENT ON COLUMN oms_report.product_sales_daily.net_revenue IS 'Line net (qty * unit_price - discount) of the units neither cancelled nor returned, prorated by units, 4 decimals per line; in the orders'' currencies added together.';

CREATE VIEW oms_report.fulfilment_daily AS
SELECT x.day AS ship_date,
       (x.day::timestamp AT TIME ZONE z.zone) AS day_start,
       l.code AS location,
       x.orders_shipped,
       x.shipments,
       x.units_shipped,
       x.lines_shipped,
       x.lines_filled,
       round(x.lines_filled::numeric / nullif(x.lines_shipped, 0), 4) AS line_fill_rate,
       x.split_orders,
       round(x.split_orders::numeric / nullif(x.orders_shipped, 0), 4) AS split_shipment_rate,
       x.shipments_on_time,
       round(x.shipments_on_time::numeric / nullif(x.shipments, 0), 4) AS on_time_ship_rate,
       oms.report_hist_percentile(x.ship_hours, 0.5)::integer AS p50_hours_to_ship,
       oms.report_hist_percentile(x.ship_hours, 0.9)::integer AS p90_hours_to_ship,
       x.shipments_delivered,
       oms.report_hist_percentile(x.deliver_hours, 0.5)::integer AS p50_hours_to_deliver,
       oms.report_hist_percentile(x.deliver_hours, 0.9)::integer AS p90_hours_to_deliver,
       x.ship_hours AS ship_hours_histogram,
       x.deliver_hours AS deliver_hours_histogram
  FROM (SELECT c.day, c.location_id,
               sum(c.n1)::bigint AS orders_shipped, sum(c.n2)::bigint AS shipments,
               sum(c.n3)::bigint AS units_shipped, sum(c.n4)::bigint AS lines_shipped,
               sum(c.n5)::bigint AS lines_filled, sum(c.n6)::bigint AS split_orders,
               sum(c.n7)::bigint AS shipments_on_time, sum(c.n8)::bigint AS shipments_delivered,
               oms.report_hist_sum(c.h1) AS ship_hours, oms.report_hist_sum(c.h2) AS deliver_hours
          FROM (SELECT r.* FROM oms.report_rollup r WHERE r.kind = 3
                UNION ALL SELECT t.* FROM oms.report_tail_of(3::smallint) t) c
         GROUP BY c.day, c.location_id) x
  JOIN oms.location l ON l.id = x.location_id
 CROSS JOIN oms.report_zone z;
COMMENT ON VIEW oms_report.fulfilment_daily IS 'Per day and location, the shipments that left it that day: orders, units, lines and how complete they were, split orders, shipments on time (within 48 hours of the order) and the p50/p90 hours from order to shipment and from shipment to delivery.';
COMMENT ON COLUMN oms_report.fulfilment_daily.ship_date IS 'The day the shipments left, in the reporting time zone (oms.report_timezone).';
COMMENT ON COLUMN oms_report.fulfilment_daily.day_start IS 'When the day began, as a timestamp.';
COMMENT ON COLUMN oms_report.fulfilment_daily.location IS 'The location''s code.';
COMMENT ON COLUMN oms_report.fulfilment_daily.orders_shipped IS 'Orders with a shipment that left the location that day.';
COMMENT ON COLUMN oms_report.fulfilment_daily.shipments IS 'Shipments that left the location that day.';
COMMENT ON COLUMN oms_report.fulfilment_daily.units_shipped IS 'Units in those shipments.';
COMMENT ON COLUMN oms_report.fulfilment_daily.lines_shipped IS 'Shipment lines (an order line in two shipments counts twice).';
COMMENT ON COLUMN oms_report.fulfilment_daily.lines_filled IS 'Shipment lines whose order line has shipped in full now (every unit ordered shipped, none cancelled).';
COMMENT ON COLUMN oms_report.fulfilment_daily.line_fill_rate IS 'lines_filled / lines_shipped.';
COMMENT ON COLUMN oms_report.fulfilment_daily.split_orders IS 'Orders shipped that day that have more than one shipment that left.';
COMMENT ON COLUMN oms_report.fulfilment_daily.split_shipment_rate IS 'split_orders / orders_shipped.';
COMMENT ON COLUMN oms_report.fulfilment_daily.shipments_on_time IS 'Shipments that left within 48 hours of the order being placed (the promise).';
COMMENT ON COLUMN oms_report.fulfilment_daily.on_time_ship_rate IS 'shipments_on_time / shipments.';
COMMENT ON COLUMN oms_report.fulfilment_daily.p50_hours_to_ship IS 'Median of the whole hours (rounded up) from order placed to shipment left, read from an hour histogram: exact below 32 hours, above it the highest hour of its bucket (at most 6.25 % high; oms.report_bucket_hours).';
COMMENT ON COLUMN oms_report.fulfilment_daily.p90_hours_to_ship IS '90th percentile of the same.';
COMMENT ON COLUMN oms_report.fulfilment_daily.shipments_delivered IS 'Of the shipments that left that day, those delivered by now.';
COMMENT ON COLUMN oms_report.fulfilment_daily.p50_hours_to_deliver IS 'Median of the whole hours (rounded up) from shipment left to delivered, over the delivered ones; from an hour histogram as p50_hours_to_ship.';
COMMENT ON COLUMN oms_report.fulfilment_daily.p90_hours_to_deliver IS '90th percentile of the same.';
COMMENT ON COLUMN oms_report.fulfilment_daily.ship_hours_histogram IS 'The shipments by whole hours from order placed to shipment left, as an hour histogram (counts by bucket, the array''s lower bound the first bucket): add those of several days or locations with oms.report_hist_sum and read percentiles of the whole period with oms.report_hist_percentile(histogram, 0.5).';
COMMENT ON COLUMN oms_report.fulfilment_daily.deliver_hours_histogram IS 'The delivered shipments by whole hours from shipment left to delivery, as an hour histogram (see ship_hours_histogram).';

CREATE VIEW oms_report.stock_health AS
SELECT k.code AS sku,
       k.name AS sku_name,
       l.code AS location,
       lv.on_hand::integer AS on_hand,
       lv.reserved::integer AS reserved,
       lv.held::integer AS held,
       lv.safety_stock::integer AS safety_stock,
       greatest(lv.free, 0)::integer AS available,
       s.units_shipped_28d,
       round(greatest(lv.free, 0) / nullif(s.units_shipped_28d / 28.0, 0), 1) AS days_of_cover,
       lv.free <= 0 AS is_stock_out,
       coalesce(CASE WHEN th.low_stock_units IS NOT NULL THEN greatest(lv.free, 0) <= th.low_stock_units
                     ELSE greatest(lv.free, 0) / nullif(s.units_shipped_28d / 28.0, 0) < 7 END, false) AS is_low_stock,
       th.low_stock_units AS low_stock_threshold,
       now() AS as_of
  FROM oms.stock_level lv
  JOIN oms.sku k ON k.id = lv.sku_id
  JOIN oms.location l ON l.id = lv.location_id
 CROSS JOIN oms.report_zone z
  LEFT JOIN oms.report_stock_threshold th ON th.sku_id = lv.sku_id AND th.location_id = lv.location_id
  LEFT JOIN (SELECT t.location_id, t.sku_id, sum(t.n1) AS units
               FROM oms.report_tail_of(6::smallint) t CROSS JOIN oms.report_zone tz
              WHERE t.day > (now() AT TIME ZONE tz.zone)::date - 28
              GROUP BY t.location_id, t.sku_id) tail ON tail.location_id = lv.location_id AND tail.sku_id = lv.sku_id
 CROSS JOIN LATERAL (
        SELECT (coalesce((SELECT sum(r.n1) FROM oms.report_rollup r
                           WHERE r.kind = 6 AND r.location_id = lv.location_id AND r.sku_id = lv.sku_id
                             AND r.day > (now() AT TIME ZONE z.zone)::date - 28), 0)
                + coalesce(tail.units, 0))::bigint AS units_shipped_28d) s;
COMMENT ON VIEW oms_report.stock_health IS 'Stock per SKU and location now: what is on hand, promised and available, units shipped in the last 28 days, days of cover, and stock-out and low-stock flags (threshold per SKU and location in oms.report_stock_threshold, else under 7 days of cover).';
COMMENT ON COLUMN oms_report.stock_health.sku IS 'The SKU''s code.';
COMMENT ON COLUMN oms_report.stock_health.sku_name IS 'The SKU''s name.';
COMMENT ON COLUMN oms_report.stock_health.location IS 'The location''s code.';
COMMENT ON COLUMN oms_report.stock_health.on_hand IS 'Units on hand.';
COMMENT ON COLUMN oms_report.stock_health.reserved IS 'Units reserved for orders.';
COMMENT ON COLUMN oms_report.stock_health.held IS 'Units held by unexpired cart holds.';
COMMENT ON COLUMN oms_report.stock_health.safety_stock IS 'Units of the location never promised to a channel.';
COMMENT ON COLUMN oms_report.stock_health.available IS 'on_hand - reserved - held - safety_stock, never below 0.';
COMMENT ON COLUMN oms_report.stock_health.units_shipped_28d IS 'Units shipped from the location in the last 28 days (today included, reporting time zone).';
COMMENT ON COLUMN oms_report.stock_health.days_of_cover IS 'available / (units_shipped_28d / 28), 1 decimal; NULL when nothing shipped.';
COMMENT ON COLUMN oms_report.stock_health.is_stock_out IS 'Nothing available.';
COMMENT ON COLUMN oms_report.stock_health.is_low_stock IS 'available is at most low_stock_threshold or, without one, under 7 days of cover.';
COMMENT ON COLUMN oms_report.stock_health.low_stock_threshold IS 'The SKU''s threshold at the location (oms.report_stock_threshold), or NULL.';
COMMENT ON COLUMN oms_report.stock_health.as_of IS 'When these figures were read.';

CREATE VIEW oms_report.returns_monthly AS
SELECT coalesce(r.day, s.day) AS month,
       (coalesce(r.day, s.day)::timestamp AT TIME ZONE z.zone) AS month_start,
       k.code AS sku,
       k.name AS sku_name,
       r.reason,
       coalesce(r.returned_units, 0)::bigint AS returned_units,
       coalesce(s.shipped_units, 0)::bigint AS shipped_units,
       round(coalesce(r.returned_units, 0) / nullif(s.shipped_units, 0)::numeric, 4) AS return_rate,
       coalesce(r.refunds, 0) AS refund_amount
  FROM (SELECT c.day, c.sku_id, sum(c.n1) AS shipped_units
          FROM (SELECT r.* FROM oms.report_rollup r WHERE r.kind = 7
                UNION ALL SELECT t.* FROM oms.report_tail_of(7::smallint) t) c WHERE c.reason = '' GROUP BY c.day, c.sku_id) s
  FULL JOIN (SELECT c.day, c.sku_id, c.reason, sum(c.n2) AS returned_units, sum(c.a1) AS refunds
               FROM (SELECT r.* FROM oms.report_rollup r WHERE r.kind = 7
                UNION ALL SELECT t.* FROM oms.report_tail_of(7::smallint) t) c
              WHERE c.reason <> '' GROUP BY c.day, c.sku_id, c.reason) r
    ON r.day = s.day AND r.sku_id = s.sku_id
  JOIN oms.sku k ON k.id = coalesce(r.sku_id, s.sku_id)
 CROSS JOIN oms.report_zone z;
COMMENT ON VIEW oms_report.returns_monthly IS 'Per month, SKU and return reason: units that came back that month (return receipts, quarantine releases not counted again) against units shipped that month, the return rate and the refunds of those returns. A month without returns has one row with reason NULL.';
COMMENT ON COLUMN oms_report.returns_monthly.month IS 'The first day of the month, in the reporting time zone (oms.report_timezone).';
COMMENT ON COLUMN oms_report.returns_monthly.month_start IS 'When the month began, as a timestamp.';
COMMENT ON COLUMN oms_report.returns_monthly.sku IS 'The SKU''s code.';
COMMENT ON COLUMN oms_report.returns_monthly.sku_name IS 'The SKU''s name.';
COMMENT ON COLUMN oms_report.returns_monthly.reason IS 'The return reason''s code (oms.return_reason), unspecified when the return named none; NULL on the row of a month without returns.';
COMMENT ON COLUMN oms_report.returns_monthly.returned_units IS 'Units received back that month for the reason (restocked, damaged, written off or quarantined).';
COMMENT ON COLUMN oms_report.returns_monthly.shipped_units IS 'Units of the SKU shipped that month (every reason''s row shows the same).';
COMMENT ON COLUMN oms_report.returns_monthly.return_rate IS 'returned_units / shipped_units, 4 decimals.';
COMMENT ON COLUMN oms_report.returns_monthly.refund_amount IS 'Refund amounts of the return lines (oms.return_line.refund_amount), in the month the return was received (or requested, before).';

CREATE VIEW oms_report.routing_daily AS
SELECT g.day AS order_date,
       (g.day::timestamp AT TIME ZONE z.zone) AS day_start,
       ch.code AS channel,
       g.orders,
       g.routed_orders,
       g.planned_shipments,
       round(g.planned_shipments::numeric / nullif(g.routed_orders, 0), 3) AS shipments_per_order,
       round(g.distance_km / nullif(g.routed_orders, 0), 3) AS km_per_order,
       round(g.shipping_cost / nullif(g.routed_orders, 0), 4) AS cost_per_order,
       g.rerouted_orders,
       g.backordered_lines,
       g.order_lines,
       g.distance_km,
       g.shipping_cost
  FROM (SELECT c.day, c.channel_id,
               sum(c.n1)::bigint AS orders, sum(c.n2)::bigint AS routed_orders,
               sum(c.n3)::bigint AS planned_shipments, sum(c.n4)::bigint AS rerouted_orders,
               sum(c.n5)::bigint AS backordered_lines, sum(c.n6)::bigint AS order_lines,
               sum(c.a1) AS distance_km, sum(c.a2) AS shipping_cost
          FROM (SELECT r.* FROM oms.report_rollup r WHERE r.kind = 8
                UNION ALL SELECT t.* FROM oms.report_tail_of(8::smallint) t) c
         GROUP BY c.day, c.channel_id) g
  JOIN oms.channel ch ON ch.id = g.channel_id
 CROSS JOIN oms.report_zone z;
COMMENT ON VIEW oms_report.routing_daily IS 'How orders placed per day and channel were routed: shipments, km and shipping cost per routed order as planned at placement, orders that needed more than one routing attempt, and lines placed as backorders.';
COMMENT ON COLUMN oms_report.routing_daily.order_date IS 'The day the orders were placed, in the reporting time zone (oms.report_timezone).';
COMMENT ON COLUMN oms_report.routing_daily.day_start IS 'When the day began, as a timestamp.';
COMMENT ON COLUMN oms_report.routing_daily.channel IS 'The channel''s code.';
COMMENT ON COLUMN oms_report.routing_daily.orders IS 'Orders placed.';
COMMENT ON COLUMN oms_report.routing_daily.routed_orders IS 'Of those, orders oms routed (not till sales or marketplace-fulfilled orders).';
COMMENT ON COLUMN oms_report.routing_daily.planned_shipments IS 'Shipments the routing planned for them.';
COMMENT ON COLUMN oms_report.routing_daily.shipments_per_order IS 'planned_shipments / routed_orders.';
COMMENT ON COLUMN oms_report.routing_daily.km_per_order IS 'distance_km / routed_orders.';
COMMENT ON COLUMN oms_report.routing_daily.cost_per_order IS 'shipping_cost / routed_orders.';
COMMENT ON COLUMN oms_report.routing_daily.rerouted_orders IS 'Orders that needed more than one routing attempt (stock taken by a racing order in between).';
COMMENT ON COLUMN oms_report.routing_daily.backordered_lines IS 'Lines placed with units on backorder.';
COMMENT ON COLUMN oms_report.routing_daily.order_lines IS 'Lines of the orders placed.';
COMMENT ON COLUMN oms_report.routing_daily.distance_km IS 'Sum of the planned distance, km from each shipping location to the ship-to point.';
COMMENT ON COLUMN oms_report.routing_daily.shipping_cost IS 'Sum of the planned shipping cost (the locations'' cost model).';

CREATE VIEW oms_report.order_facts AS
SELECT o.order_id,
       o.external_ref::text AS external_ref,
       ch.code AS channel,
       o.status::text AS status,
       o.payment_status,
       o.fulfilment::text AS fulfilment,
       o.currency::text AS currency,
       o.placed_at,
       (o.placed_at AT TIME ZONE z.zone)::date AS placed_date,
       l.lines,
       o.units::bigint AS units_ordered,
       l.units_cancelled,
       l.units_shipped,
       l.units_returned,
       l.units_backordered,
       l.gross AS gross_sales,
       l.discount + o.order_discount::numeric AS discounts,
       l.tax + o.shipping_tax::numeric AS tax,
       o.shipping_amount::numeric - o.shipping_discount::numeric AS shipping,
       o.total_amount::numeric AS total,
       coalesce(p.captured, 0) AS captured,
       coalesce(p.refunded, 0) AS refunded,
       s.first_shipped_at,
       (s.first_shipped_at AT TIME ZONE z.zone)::date AS first_shipped_date,
       CASE WHEN o.status::text IN ('shipped', 'delivered') OR (o.status::text = 'closed' AND o.cancelled_at IS NULL)
            THEN s.last_shipped_at END AS fully_shipped_at,
       CASE WHEN o.status::text IN ('delivered', 'closed') AND o.cancelled_at IS NULL
            THEN s.last_delivered_at END AS delivered_at,
       (CASE WHEN o.status::text IN ('delivered', 'closed') AND o.cancelled_at IS NULL
             THEN s.last_delivered_at END AT TIME ZONE z.zone)::date AS delivered_date,
       o.cancelled_at,
       (o.cancelled_at AT TIME ZONE z.zone)::date AS cancelled_date,
       coalesce(s.shipments, 0) AS shipments,
       coalesce(s.locations, 0) AS locations,
       coalesce(s.shipments, 0) > 1 AS is_split,
       l.backordered_lines > 0 AS is_backordered,
       round(extract(epoch FROM s.first_shipped_at - o.placed_at) / 3600, 2) AS hours_to_first_ship
  FROM oms.orders o
  JOIN oms.channel ch ON ch.id = o.channel_id
 CROSS JOIN oms.report_zone z
 CROSS JOIN LATERAL (
        SELECT count(*) AS lines,
               coalesce(sum(ol.qty_cancelled), 0)::bigint AS units_cancelled,
               coalesce(sum(ol.qty_shipped), 0)::bigint AS units_shipped,
               coalesce(sum(ol.qty_returned), 0)::bigint AS units_returned,
               coalesce(sum(ol.qty_backordered), 0)::bigint AS units_backordered,
               count(*) FILTER (WHERE ol.qty_backordered > 0) AS backordered_lines,
               coalesce(sum(ol.qty * ol.unit_price), 0)::numeric AS gross,
               coalesce(sum(ol.discount_amount), 0)::numeric AS discount,
               coalesce(sum(ol.tax_amount), 0)::numeric AS tax
          FROM oms.order_lines ol WHERE ol.order_id = o.order_id) l
  LEFT JOIN LATERAL (
        SELECT count(*) AS shipments, count(DISTINCT sh.location_id) AS locations,
               min(sh.shipped_at) AS first_shipped_at, max(sh.shipped_at) AS last_shipped_at,
               max(sh.delivered_at) AS last_delivered_at
          FROM oms.shipment sh WHERE sh.order_id = o.order_id AND sh.shipped_at IS NOT NULL) s ON true
  LEFT JOIN LATERAL (
        SELECT sum(pm.amount) FILTER (WHERE pm.kind = 'capture') AS captured,
               sum(pm.amount) FILTER (WHERE pm.kind = 'refund') AS refunded
          FROM oms.payment pm WHERE pm.order_id = o.order_id) p ON true;
COMMENT ON VIEW oms_report.order_facts IS 'One row per order, the drill-down table: its money, units by state, payments, the time of each milestone and its shipments. Filter on placed_at (indexed with the channel) rather than placed_date on large shops.';
COMMENT ON COLUMN oms_report.order_facts.order_id IS 'The order''s id in oms.';
COMMENT ON COLUMN oms_report.order_facts.external_ref IS 'The channel''s reference of the order.';
COMMENT ON COLUMN oms_report.order_facts.channel IS 'The channel''s code.';
COMMENT ON COLUMN oms_report.order_facts.status IS 'The order''s status now (README, "Order lifecycle").';
COMMENT ON COLUMN oms_report.order_facts.payment_status IS 'The payment status now.';
COMMENT ON COLUMN oms_report.order_facts.fulfilment IS 'merchant, store (a till sale) or marketplace.';
COMMENT ON COLUMN oms_report.order_facts.currency IS 'The order''s currency.';
COMMENT ON COLUMN oms_report.order_facts.placed_at IS 'When the order was placed.';
COMMENT ON COLUMN oms_report.order_facts.placed_date IS 'The day it was placed, in the reporting time zone (oms.report_timezone).';
COMMENT ON COLUMN oms_report.order_facts.lines IS 'Order lines.';
COMMENT ON COLUMN oms_report.order_facts.units_ordered IS 'Units ordered.';
COMMENT ON COLUMN oms_report.order_facts.units_cancelled IS 'Units cancelled.';
COMMENT ON COLUMN oms_report.order_facts.units_shipped IS 'Units shipped (returned ones included).';
COMMENT ON COLUMN oms_report.order_facts.units_returned IS 'Units returned.';
COMMENT ON COLUMN oms_report.order_facts.units_backordered IS 'Units waiting for stock now.';
COMMENT ON COLUMN oms_report.order_facts.gross_sales IS 'Sum of qty * unit_price.';
COMMENT ON COLUMN oms_report.order_facts.discounts IS 'Line discounts plus the order discount.';
COMMENT ON COLUMN oms_report.order_facts.tax IS 'Line tax plus shipping tax.';
COMMENT ON COLUMN oms_report.order_facts.shipping IS 'Shipping charged, net of its discount.';
COMMENT ON COLUMN oms_report.order_facts.total IS 'The order''s grand total as placed.';
COMMENT ON COLUMN oms_report.order_facts.captured IS 'Money captured.';
COMMENT ON COLUMN oms_report.order_facts.refunded IS 'Money refunded.';
COMMENT ON COLUMN oms_report.order_facts.first_shipped_at IS 'When its first shipment left.';
COMMENT ON COLUMN oms_report.order_facts.first_shipped_date IS 'That day, in the reporting time zone.';
COMMENT ON COLUMN oms_report.order_facts.fully_shipped_at IS 'When its last shipment left, once every unit not cancelled has shipped.';
COMMENT ON COLUMN oms_report.order_facts.delivered_at IS 'When its last shipment was delivered, once the order is delivered.';
COMMENT ON COLUMN oms_report.order_facts.delivered_date IS 'That day, in the reporting time zone.';
COMMENT ON COLUMN oms_report.order_facts.cancelled_at IS 'When the order was cancelled as a whole.';
COMMENT ON COLUMN oms_report.order_facts.cancelled_date IS 'That day, in the reporting time zone.';
COMMENT ON COLUMN oms_report.order_facts.shipments IS 'Shipments that left.';
COMMENT ON COLUMN oms_report.order_facts.locations IS 'Locations they left from.';
COMMENT ON COLUMN oms_report.order_facts.is_split IS 'More than one shipment left.';
COMMENT ON COLUMN oms_report.order_facts.is_backordered IS 'A line waits for stock now.';
COMMENT ON COLUMN oms_report.order_facts.hours_to_first_ship IS 'Hours from placed to the first shipment leaving, 2 decimals.';

-- The return lines as oms.v_returns shows them (plain types), for drill-down
-- from returns_monthly; the comments are v_returns'.
CREATE VIEW oms_report.return_lines AS SELECT * FROM oms.v_returns;
COMMENT ON VIEW oms_report.return_lines IS 'One row per return line: the return, its order and channel, status, reason, units requested, received, restocked, damaged, written off, quarantined, missing and still expected, and refunds (oms.v_returns; README, "Returns").';
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT a.attname, col_description('oms.v_returns'::regclass, a.attnum) AS comment
               FROM pg_attribute a
              WHERE a.attrelid = 'oms.v_returns'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('COMMENT ON COLUMN oms_report.return_lines.%I IS %L', v.attname,
                       coalesce(v.comment, replace(v.attname, '_', ' ')));
    END LOOP;
END
$$;
