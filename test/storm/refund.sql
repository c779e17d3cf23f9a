-- test/storm/refund.sql — pgbench: one of the newest returns is refunded
-- (storm.refund), or its order refunded by record_payment (storm.pay_refund)
-- one time in four, racing for the same captures.
\set r random(0, 999999)
\set payment random(0, 3)
SELECT CASE WHEN :payment = 0 THEN storm.pay_refund(:r::integer)::numeric ELSE storm.refund(:r::integer) END;
