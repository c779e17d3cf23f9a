--
-- test/demo/sample.sql — a small but realistic shop: 5 channels, 7 locations
-- in Germany and Austria, 58 SKUs, and stock received through the ledger.
-- Deterministic, so the demo prints the same figures every time.  Used by the
-- demo and by the dump/restore test.
--

INSERT INTO oms.channel (code, name, kind, safety_stock) VALUES
    ('WEB',     'Web shop',            'web',         0),
    ('APP',     'Mobile app',          'app',         0),
    ('POS',     'Store tills',         'pos',         0),
    ('MKT-AMZ', 'Amazon marketplace',  'marketplace', 1),
    ('ERP',     'B2B orders from ERP', 'erp',         0);

-- Shipping costs: a parcel from a warehouse costs 4.50 plus 0.2 cents per km;
-- stores pack by hand and cost more; the dropship vendor charges a flat fee.
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, can_ship, can_pickup, daily_capacity,
                          shipping_cost_fixed, shipping_cost_per_km) VALUES
    ('BER-DC',    'Berlin distribution centre',  'warehouse', 52.5200, 13.4050, 10, true,  false, 5000, 4.50, 0.002),
    ('HAM-DC',    'Hamburg distribution centre', 'warehouse', 53.5511,  9.9937,  8, true,  false, 3000, 4.50, 0.002),
    ('FRA-3PL',   'Frankfurt 3PL',               '3pl',       50.1109,  8.6821,  5, true,  false, 2000, 5.20, 0.002),
    ('LEJ-DROP',  'Leipzig dropship vendor',     'dropship',  51.3397, 12.3731,  1, true,  false, NULL, 6.90, 0),
    ('MUC-STORE', 'Munich flagship store',       'store',     48.1374, 11.5755,  3, true,  true,  200,  7.00, 0.002),
    ('CGN-STORE', 'Cologne store',               'store',     50.9375,  6.9603,  3, false, true,  NULL, NULL, NULL),
    ('VIE-STORE', 'Vienna store',                'store',     48.2082, 16.3738,  2, true,  true,  150,  9.00, 0.002);

-- Store tills sell from the stores; the marketplace only from the warehouses,
-- keeping two units per SKU back at each.
INSERT INTO oms.channel_location (channel_id, location_id, safety_stock)
SELECT c.id, l.id, CASE WHEN c.code = 'MKT-AMZ' THEN 2 END
  FROM oms.channel c
  JOIN oms.location l ON (c.code = 'POS' AND l.kind = 'store')
                      OR (c.code = 'MKT-AMZ' AND l.kind IN ('warehouse', '3pl'));

-- The marketplace ships an order from at most two locations, cheapest first.
INSERT INTO oms.routing_policy (channel_id, strategy, max_shipments)
SELECT id, 'cheapest', 2 FROM oms.channel WHERE code = 'MKT-AMZ';

INSERT INTO oms.sku (code, name, attributes)
SELECT p.code || '-' || v.variant, p.name || ' ' || v.variant,
       jsonb_build_object('product', p.code, 'variant', v.variant, 'price', p.price)
  FROM (VALUES
        ('TEE',     'Organic cotton T-shirt', 19.99, ARRAY['BLK-S','BLK-M','BLK-L','WHT-S','WHT-M','WHT-L']),
        ('HOODIE',  'Heavyweight hoodie',     59.00, ARRAY['GRY-S','GRY-M','GRY-L','NVY-S','NVY-M','NVY-L']),
        ('JEANS',   'Slim selvedge jeans',    89.00, ARRAY['BLU-30','BLU-32','BLU-34','BLU-36']),
        ('SNEAKER', 'Canvas sneaker',         74.50, ARRAY['WHT-40','WHT-41','WHT-42','WHT-43','WHT-44','WHT-45',
                                                           'BLK-40','BLK-41','BLK-42','BLK-43','BLK-44','BLK-45']),
        ('CAP',     'Six-panel cap',          24.00, ARRAY['BLK','SND','OLV']),
        ('SOCKS',   'Merino socks 3-pack',    16.50, ARRAY['S','M','L']),
        ('JACKET',  'Waxed field jacket',    189.00, ARRAY['BLK-S','BLK-M','BLK-L','BLK-XL','OLV-S','OLV-M','OLV-L','OLV-XL']),
        ('BACKPACK','Roll-top backpack',      99.00, ARRAY['BLK','GRY','NVY']),
        ('BOTTLE',  'Insulated bottle',       29.00, ARRAY['500','750']),
        ('SCARF',   'Lambswool scarf',        45.00, ARRAY['RED','GRY','NVY']),
        ('BEANIE',  'Ribbed beanie',          22.00, ARRAY['BLK','GRY','OCH','NVY']),
        ('BELT',    'Leather belt',           49.00, ARRAY['85','90','95','100'])
       ) AS p(code, name, price, variants)
 CROSS JOIN LATERAL unnest(p.variants) AS v(variant)
 ORDER BY 1;

-- Opening stock: warehouses carry everything, stores and the dropshipper a
-- subset; quantities are fixed pseudo-random numbers.
SELECT count(oms.receive_stock(s.code, l.code, q.qty, 'opening stock'))
  FROM oms.sku s
 CROSS JOIN oms.location l
 CROSS JOIN LATERAL (SELECT abs(hashtext(s.code || '@' || l.code)) % 80 AS qty) q
 WHERE q.qty > 0
   AND (l.kind IN ('warehouse', '3pl') OR q.qty % 3 <> 0);

SELECT oms.set_safety_stock('JACKET-BLK-M', 'BER-DC', 3);
SELECT oms.set_safety_stock('SNEAKER-WHT-42', 'HAM-DC', 2);
SELECT oms.adjust_stock('TEE-BLK-M', 'BER-DC', -2, 'damaged in the warehouse');
SELECT oms.count_stock('HOODIE-GRY-M', 'MUC-STORE', 7, 'quarterly cycle count');
