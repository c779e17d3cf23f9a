-- test/storm/cancel.sql — pgbench: cancel a random earlier order.
\set r random(0, 999999)
SELECT storm.cancel_random(:r::integer);
