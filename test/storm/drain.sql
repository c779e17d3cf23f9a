-- test/storm/drain.sql — pgbench: one unit of the hot SKU, nothing else.
\set ref random(1, 1000000000000)
SELECT storm.try_place('WEB', 'drain-' || :client_id::text || '-' || :ref::text,
                       jsonb_build_array(jsonb_build_object('sku', 'HOT-1', 'qty', 1, 'unit_price', 49.90)));
