-- test/storm/fulfil.sql — pgbench: ship a random earlier order's units at one
-- location, sometimes track it to delivery and take payment.
\set r random(0, 999999)
SELECT storm.fulfil_random(:r::integer);
