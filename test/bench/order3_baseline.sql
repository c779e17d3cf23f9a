-- test/bench/order3_baseline.sql — pgbench script of scenario a for the baseline:
-- one order of three distinct random SKUs out of nskus (-D nskus=N), 1 to 3 units each.
-- Keep it identical to order3_oms.sql but for the function it calls.
\set s1 random(1, :nskus)
\set d2 random(1, :nskus - 2)
\set d3 random(1, :nskus - 2)
\set d3 case when :d3 >= :d2 then :d3 + 1 else :d3 end
\set s2 (:s1 - 1 + :d2) % :nskus + 1
\set s3 (:s1 - 1 + :d3) % :nskus + 1
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)
\set ref random(1, 1000000000000)
SELECT bench.baseline_try('WEB', 'a-' || :client_id::text || '-' || :ref::text, jsonb_build_array(
    jsonb_build_object('sku', 'SKU-' || :s1::text, 'qty', :q1::integer, 'unit_price', 19.99),
    jsonb_build_object('sku', 'SKU-' || :s2::text, 'qty', :q2::integer, 'unit_price', 5.49),
    jsonb_build_object('sku', 'SKU-' || :s3::text, 'qty', :q3::integer, 'unit_price', 12.00)));
