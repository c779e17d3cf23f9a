-- test/storm/return.sql — pgbench: a unit of a random shipped order comes
-- back: cancelled, restocked, damaged or quarantined (storm.return_random).
\set r random(0, 999999)
SELECT storm.return_random(:r::integer);
