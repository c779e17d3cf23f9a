-- test/storm/last.sql — pgbench: a buyer of LAST-1, racing exchanges for its
-- last units (storm.buy_last).
\set ch random(1, 3)
\set q random(1, 2)
\set ref random(1, 1000000000000)
SELECT storm.buy_last(:ch::integer, 'last-' || :client_id::text || '-' || :ref::text, :q::integer);
