-- test/bench/flash_oms.sql — pgbench script of scenario b for oms:
-- one order of 1 unit of the flash-sale SKU given by -D sku=FLASH-1 or -D sku=FLASH-2.
-- Keep it identical to flash_baseline.sql but for the function it calls.
\set ref random(1, 1000000000000)
SELECT bench.oms_try('WEB', 'b-' || :client_id::text || '-' || :ref::text, jsonb_build_array(
    jsonb_build_object('sku', :sku::text, 'qty', 1, 'unit_price', 99.00)));
