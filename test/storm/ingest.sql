-- test/storm/ingest.sql — pgbench: a channel message from a small pool, so
-- that clients send the same message and the same order at once.
\set k random(1, 60)
SELECT storm.ingest(:k::integer);
