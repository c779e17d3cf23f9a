-- test/storm/feed.sql — pgbench: a connector of a random channel reads the
-- available-to-promise feed from where it stood (storm.read_feed).
\set ch random(1, 3)
SELECT storm.read_feed(:ch::integer);
