-- test/storm/rma.sql — pgbench: a return, exchange or claim of a random
-- shipped order (storm.rma_request).
\set r random(0, 999999)
SELECT storm.rma_request(:r::integer);
