-- test/storm/rmawork.sql — pgbench: one of the newest returns moves on:
-- authorized, declined, received, cancelled, closed or released from
-- quarantine (storm.rma_work).
\set r random(0, 999999)
SELECT storm.rma_work(:r::integer);
