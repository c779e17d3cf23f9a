-- test/bench/report/check.sql — daily sales against an oracle straight over
-- the base tables (as in sql/14_reporting.sql: cancellations on the day they
-- happened), on the benchmark's data set.
SET timezone = 'UTC';
WITH lines AS (
    SELECT order_id, sum(qty * unit_price) AS gross, sum(discount_amount) AS discount, sum(tax_amount) AS tax,
           sum(qty_returned) AS returned, sum(round((qty * unit_price - discount_amount) * qty_returned / qty, 4)) AS returns
      FROM oms.order_lines GROUP BY order_id),
oracle AS (
    SELECT x.d AS sales_date, c.code AS channel, x.cur AS currency, sum(x.orders) AS orders, sum(x.units) AS units,
           sum(x.gross) AS gross_sales, sum(x.discounts) AS discounts, sum(x.cancelled_orders) AS cancelled_orders,
           sum(x.cancelled_units) AS cancelled_units, sum(x.returned_units) AS returned_units, sum(x.refunds) AS refunds
      FROM (SELECT o.placed_at::date AS d, o.channel_id AS ch, o.currency::text AS cur, 1 AS orders, o.units,
                   s.gross, s.discount + o.order_discount AS discounts, 0 AS cancelled_orders, 0 AS cancelled_units,
                   s.returned AS returned_units, 0 AS refunds
              FROM oms.orders o JOIN lines s ON s.order_id = o.order_id
            UNION ALL
            SELECT o.cancelled_at::date, o.channel_id, o.currency::text, 0, 0, 0, 0, 1, 0, 0, 0
              FROM oms.orders o WHERE o.cancelled_at IS NOT NULL
            UNION ALL
            SELECT k.cancelled_at::date, o.channel_id, o.currency::text, 0, 0, 0, 0, 0, k.qty, 0, 0
              FROM oms.order_cancellation k JOIN oms.orders o ON o.order_id = k.order_id
            UNION ALL
            SELECT p.created_at::date, o.channel_id, o.currency::text, 0, 0, 0, 0, 0, 0, 0, p.amount
              FROM oms.payment p JOIN oms.orders o ON o.order_id = p.order_id WHERE p.kind = 'refund') x
      JOIN oms.channel c ON c.id = x.ch
     GROUP BY 1, 2, 3),
v AS (
    SELECT sales_date, channel, currency, orders, units, gross_sales, discounts, cancelled_orders, cancelled_units,
           returned_units, refunds
      FROM oms_report.sales_daily)
SELECT format('sales_daily against the oracle: %s rows, %s differ',
              (SELECT count(*) FROM v),
              (SELECT count(*) FROM ((SELECT * FROM v EXCEPT ALL SELECT * FROM oracle)
                                     UNION ALL (SELECT * FROM oracle EXCEPT ALL SELECT * FROM v)) x));
