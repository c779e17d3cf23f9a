--
-- test/demo/report.sql — the end of `make demo`: what a BI tool connected as
-- the reporting role sees of the sample shop's day (README, "Reporting").
-- The figures are exact now, whether the worker has folded the orders into
-- the rollups yet or not.
--
\pset footer off
\echo '==> a BI role reads schema oms_report and nothing else'
SET client_min_messages = warning;
DROP ROLE IF EXISTS demo_bi;
RESET client_min_messages;
CREATE ROLE demo_bi;
SELECT oms.grant_reporting('demo_bi');
SET ROLE demo_bi;

\echo '==> oms_report.sales_daily: today by channel'
SELECT sales_date, channel, currency, orders, units, gross_sales, discounts, tax, shipping, net_sales,
       average_order_value, cancelled_orders, refunds
  FROM oms_report.sales_daily ORDER BY sales_date, channel, currency;

\echo '==> oms_report.stock_health: the lowest cover at the Berlin warehouse'
SELECT sku, location, on_hand, reserved, available, units_shipped_28d, days_of_cover, is_stock_out, is_low_stock
  FROM oms_report.stock_health WHERE location = 'BER-DC'
 ORDER BY units_shipped_28d DESC, available, sku LIMIT 8;
RESET ROLE;
DROP OWNED BY demo_bi;
DROP ROLE demo_bi;
