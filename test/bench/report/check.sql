-- test/bench/report/check.sql — daily sales against an oracle straight over
-- the base tables (as in sql/14_reporting.sql), on the benchmark's data set.
SET timezone = 'UTC';
WITH lines AS (
    SELECT order_id, sum(qty * unit_price) AS gross, sum(discount_amount) AS discount, sum(tax_amount) AS tax,
           sum(qty_cancelled) AS cancelled, sum(qty_returned) AS returned,
           sum(round((qty * unit_price - discount_amount) * qty_returned / qty, 4)) AS returns
      FROM oms.order_lines GROUP BY order_id),
oracle AS (
    SELECT coalesce(a.d, r.d) AS sales_date, c.code AS channel, coalesce(a.cur, r.cur) AS currency,
           coalesce(a.orders, 0) AS orders, coalesce(a.units, 0) AS units, coalesce(a.gross, 0) AS gross_sales,
           coalesce(a.discounts, 0) AS discounts, coalesce(a.cancelled_units, 0) AS cancelled_units,
           coalesce(a.returned_units, 0) AS returned_units, coalesce(r.refunds, 0) AS refunds
      FROM (SELECT o.placed_at::date AS d, o.channel_id AS ch, o.currency::text AS cur, count(*) AS orders,
                   sum(o.units) AS units, sum(s.gross) AS gross, sum(s.discount + o.order_discount) AS discounts,
                   sum(s.cancelled) AS cancelled_units, sum(s.returned) AS returned_units
              FROM oms.orders o JOIN lines s ON s.order_id = o.order_id GROUP BY 1, 2, 3) a
      FULL JOIN (SELECT p.created_at::date AS d, o.channel_id AS ch, o.currency::text AS cur, sum(p.amount) AS refunds
                   FROM oms.payment p JOIN oms.orders o ON o.order_id = p.order_id
                  WHERE p.kind = 'refund' GROUP BY 1, 2, 3) r ON r.d = a.d AND r.ch = a.ch AND r.cur = a.cur
      JOIN oms.channel c ON c.id = coalesce(a.ch, r.ch)),
v AS (
    SELECT sales_date, channel, currency, orders, units, gross_sales, discounts, cancelled_units, returned_units, refunds
      FROM oms_report.sales_daily)
SELECT format('sales_daily against the oracle: %s rows, %s differ',
              (SELECT count(*) FROM v),
              (SELECT count(*) FROM ((SELECT * FROM v EXCEPT ALL SELECT * FROM oracle)
                                     UNION ALL (SELECT * FROM oracle EXCEPT ALL SELECT * FROM v)) x));
