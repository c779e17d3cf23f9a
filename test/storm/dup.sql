-- test/storm/dup.sql — pgbench: an order under one of 20 shared references.
\set k random(1, 20)
SELECT storm.place_dup(:k::integer);
