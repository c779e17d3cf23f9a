\set VERBOSITY terse
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-9", "lines": [{"sku": "TEE-BLK-M", "qty": 1}]}', 'w-1');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-9"}', 'w-2', 'address');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-9", "ship_to": {"city": "Bonn"}, "updated_at": "2026-12-01T10:00:00Z"}', 'w-3', 'order');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-10", "lines": [{"sku": "TEE-BLK-M", "qty": 1}], "updated_at": "99999-12-01T10:00:00Z"}', 'w-4');
SELECT * FROM oms.ingest('WEB', '{"external_ref": "W-11", "lines": [{"sku": "TEE-BLK-M", "qty": 1}], "cancelled": "yes"}', 'w-5');
