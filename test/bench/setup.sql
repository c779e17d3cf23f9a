--
-- test/bench/setup.sql — the same shop twice, once in oms and once in the
-- baseline: channel WEB, locations L01..L:nlocs (L01 the highest priority),
-- SKUs SKU-1..SKU-:nskus with stock at most locations, and the flash-sale SKUs
-- FLASH-1 (:flash_units units at L01; it should not sell out) and FLASH-2
-- (stock arrives just before the sell-out run, see bench.sh).
--
-- Stock of SKU-i at Lj: (7 i + 13 j) mod 30 units, 0 to 29, so about one row in
-- thirty is missing and some rows at the preferred location run dry during a
-- run, sending lines on to the next location.  oms receives its stock through
-- oms.receive_stock (the ledger), the baseline by plain INSERT.
--
-- psql variables: nskus, nlocs, flash_units.
--

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority)
SELECT format('L%s', lpad(j::text, 2, '0')), format('Warehouse %s', j), 'warehouse',
       47.5 + j * 0.4, 6.5 + j * 0.7, :nlocs - j + 1
  FROM generate_series(1, :nlocs) j;
INSERT INTO oms.sku (code, name)
SELECT 'SKU-' || i, 'Article ' || i FROM generate_series(1, :nskus) i;
INSERT INTO oms.sku (code, name) VALUES ('FLASH-1', 'Flash sale article'), ('FLASH-2', 'Flash sale article, sells out');

SELECT count(oms.receive_stock('SKU-' || i, format('L%s', lpad(j::text, 2, '0')), (7 * i + 13 * j) % 30, 'bench opening stock'))
  FROM generate_series(1, :nskus) i, generate_series(1, :nlocs) j
 WHERE (7 * i + 13 * j) % 30 > 0;
SELECT oms.receive_stock('FLASH-1', 'L01', :flash_units, 'bench flash sale');

INSERT INTO baseline.location (code, name, priority)
SELECT format('L%s', lpad(j::text, 2, '0')), format('Warehouse %s', j), :nlocs - j + 1
  FROM generate_series(1, :nlocs) j;
INSERT INTO baseline.sku (code, name)
SELECT 'SKU-' || i, 'Article ' || i FROM generate_series(1, :nskus) i;
INSERT INTO baseline.sku (code, name) VALUES ('FLASH-1', 'Flash sale article'), ('FLASH-2', 'Flash sale article, sells out');
INSERT INTO baseline.stock (sku_id, location_id, on_hand)
SELECT s.id, l.id, (7 * i + 13 * j) % 30
  FROM generate_series(1, :nskus) i
 CROSS JOIN generate_series(1, :nlocs) j
  JOIN baseline.location l ON l.code = format('L%s', lpad(j::text, 2, '0'))
  JOIN baseline.sku s ON s.code = 'SKU-' || i
 WHERE (7 * i + 13 * j) % 30 > 0;
INSERT INTO baseline.stock (sku_id, location_id, on_hand)
SELECT s.id, l.id, :flash_units
  FROM baseline.sku s, baseline.location l WHERE s.code = 'FLASH-1' AND l.code = 'L01';
