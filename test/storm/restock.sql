-- test/storm/restock.sql — pgbench: a few units of a random S- SKU arrive at
-- a random location; the receipt gives them to lines waiting there.
\set s random(1, 20)
\set l random(1, 3)
\set q random(1, 8)
SELECT oms.receive_stock('S-' || :s::text, (ARRAY['BER', 'HAM', 'MUC'])[:l::integer], :q::integer, 'storm: restock');
