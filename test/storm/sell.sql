-- test/storm/sell.sql — pgbench: a till sale at the Munich store of one SKU
-- on two lines.
\set s1 random(1, 20)
\set q1 random(1, 3)
\set q2 random(1, 2)
\set ref random(1, 1000000000000)
SELECT storm.sell('till-' || :client_id::text || '-' || :ref::text, :s1::integer, :q1::integer, :q2::integer);
