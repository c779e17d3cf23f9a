--
-- Master data: channels, locations, SKUs, with every other column defaulted.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never
\set VERBOSITY terse
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('SKU-1', 'First SKU');
SELECT code, kind, active, safety_stock FROM oms.channel;
SELECT code, kind, priority, can_ship, can_pickup, daily_capacity, active FROM oms.location;
SELECT code, active, attributes FROM oms.sku;

-- Nonsense is refused by a named constraint.
INSERT INTO oms.channel (code, name, kind) VALUES ('', 'Empty code', 'web');
INSERT INTO oms.channel (code, name, kind) VALUES (' WEB2', 'Padded code', 'web');
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Duplicate', 'web');
INSERT INTO oms.channel (code, name, kind) VALUES ('FAX', 'Fax orders', 'fax');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('N', 'North of the pole', 'store', 90.5, 0);
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('W', 'Off the map', 'store', 0, -180.01);
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('X', 'Not a number', 'store', 'NaN', 0);
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority) VALUES ('P', 'Negative priority', 'store', 0, 0, -1);
INSERT INTO oms.location (code, name, kind, latitude, longitude, daily_capacity) VALUES ('C', 'Negative capacity', 'store', 0, 0, -5);
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('K', 'Spaceport', 'launchpad', 0, 0);
INSERT INTO oms.sku (code, name) VALUES ('SKU-2', ' ');
INSERT INTO oms.sku (code, name, attributes) VALUES ('SKU-3', 'Array attributes', '[]');
INSERT INTO oms.channel (code, name, kind, safety_stock) VALUES ('APP', 'App', 'app', -1);
INSERT INTO oms.channel_location (channel_id, location_id, safety_stock)
SELECT c.id, l.id, -1 FROM oms.channel c, oms.location l;

-- The edges of the map are on the map.
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('SOUTH', 'South pole', 'store', -90, 180);
SELECT code, latitude, longitude FROM oms.location ORDER BY id;

-- Master data that orders refer to is deactivated, not deleted.
DELETE FROM oms.location WHERE code = 'SOUTH';
SELECT oms.receive_stock('SKU-1', 'BER', 1);
SELECT oms.place_order('WEB', 'W-1', '[{"sku": "SKU-1", "qty": 1}]') > 0 AS placed;
DELETE FROM oms.sku WHERE code = 'SKU-1';
DELETE FROM oms.channel WHERE code = 'WEB';
UPDATE oms.sku SET active = false WHERE code = 'SKU-1';
SELECT code, active FROM oms.sku;
