-- test/storm/backorder.sql — pgbench: an order of two S- SKUs that may wait
-- for stock (allow_backorder), from a random channel.
\set ch random(1, 3)
\set s1 random(1, 20)
\set d random(1, 19)
\set s2 (:s1 - 1 + :d) % 20 + 1
\set q1 random(1, 12)
\set q2 random(1, 12)
\set ref random(1, 1000000000000)
SELECT storm.place_backorder(:ch::integer, 'b-' || :client_id::text || '-' || :ref::text,
                             :s1::integer, :q1::integer, :s2::integer, :q2::integer);
