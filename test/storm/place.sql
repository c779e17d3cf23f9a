-- test/storm/place.sql — pgbench: one order of 1 to 3 lines from a random
-- channel, half of them with the hot SKU, a third with a line repeating a SKU.
\set ch random(1, 3)
\set hot random(0, 1)
\set n random(1, 3)
\set qh random(1, 2)
\set s1 random(1, 20)
\set d2 random(1, 18)
\set d3 random(1, 18)
\set d3 case when :d3 >= :d2 then :d3 + 1 else :d3 end
\set s2 (:s1 - 1 + :d2) % 20 + 1
\set s3 (:s1 - 1 + :d3) % 20 + 1
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)
\set rep random(0, 2)
\set ref random(1, 1000000000000)
SELECT storm.place(:ch::integer, 's-' || :client_id::text || '-' || :ref::text, :hot::integer = 1, :n::integer,
                   :qh::integer, :s1::integer, :q1::integer, :s2::integer, :q2::integer, :s3::integer, :q3::integer,
                   :rep::integer = 0);
