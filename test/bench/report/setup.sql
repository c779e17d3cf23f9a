--
-- test/bench/report/setup.sql — the shop the reporting benchmark loads:
-- channels WEB, APP, POS and MKT; ten warehouses L01..L10 across Germany
-- of equal priority and cost (an order ships from the one next to
-- its customer); :nskus SKUs with plenty of stock everywhere (the orders of
-- the bulk path take none: see bulk.sql); returns taken for a year.
--
INSERT INTO oms.channel (code, name, kind) VALUES
    ('WEB', 'Web shop', 'web'), ('APP', 'App', 'app'), ('POS', 'Store tills', 'pos'), ('MKT', 'Marketplace', 'marketplace');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, shipping_cost_fixed, shipping_cost_per_km)
SELECT format('L%s', lpad(i::text, 2, '0')), format('Warehouse %s', i), 'warehouse',
       47.5 + (i * 0.47), 6.5 + (i * 0.83), 0, 4, 0.01
  FROM generate_series(1, 10) i;
INSERT INTO oms.sku (code, name)
SELECT format('SKU-%s', i), format('Article %s', i) FROM generate_series(1, :nskus) i;
-- Stock through the ledger, in one statement per location.
SELECT count(oms.receive_stock(s.code, l.code, 1000000, 'opening stock'))
  FROM oms.sku s CROSS JOIN oms.location l;
-- Returns: a year to send units back, two reasons.
INSERT INTO oms.return_policy (channel_id, window_days) SELECT id, 3650 FROM oms.channel;
INSERT INTO oms.return_reason (code, label, resellable) VALUES ('too_small', 'Too small', true), ('broken', 'Arrived broken', false);
-- A few low-stock thresholds.
INSERT INTO oms.report_stock_threshold (sku_id, location_id, low_stock_units)
SELECT s.id, l.id, 999000 FROM oms.sku s, oms.location l WHERE s.id % 50 = 0;
