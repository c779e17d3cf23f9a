-- One 3-line order through oms.place_order, random SKUs of the benchmark's shop.
\set n random(1, 1000000000)
\set s1 random(1, :nskus)
\set s2 random(1, :nskus)
\set s3 random(1, :nskus)
SELECT oms.place_order('WEB', 'B-' || :client_id || '-' || :n || '-' || random(),
    jsonb_build_array(jsonb_build_object('sku', 'SKU-' || :s1, 'qty', 1, 'unit_price', 19.99),
                      jsonb_build_object('sku', 'SKU-' || :s2, 'qty', 2, 'unit_price', 9.5, 'discount', 1),
                      jsonb_build_object('sku', 'SKU-' || :s3, 'qty', 1, 'unit_price', 42, 'tax', 7.98)),
    '{"country": "DE", "latitude": 52.5, "longitude": 13.4}');
