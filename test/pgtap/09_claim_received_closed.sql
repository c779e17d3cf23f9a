-- A claim of which units turn up after all, then closed (issue 13): once a
-- defect (found by the storm after 67192ed, fixed in e1dbc67): it completed
-- with 1 of 3 units received and 0 missing, which check_invariants()
-- reported ("return status follows from its lines").
BEGIN;
SELECT plan(2);

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt');
SELECT oms.receive_stock('TEE', 'BER', 50);
SELECT oms.place_order('WEB', 'W-1', '[{"sku": "TEE", "qty": 3, "unit_price": 20}]') AS w1 \gset
SELECT oms.ship(oms.create_shipment(:w1, 'BER'), 'DHL', 'T-1');
SELECT oms.request_return(:w1, '[{"line_no": 1, "qty": 3}]', '{"kind": "claim"}') AS r1 \gset
SELECT oms.receive_return(:r1, '[{"line_no": 1, "qty": 1, "disposition": "damaged"}]');
SELECT lives_ok(format($$SELECT oms.close_return(%s, 'the rest is lost')$$, :r1), 'a claim a unit of which arrived is closed');
SELECT is((SELECT coalesce(string_agg(invariant || ': ' || detail, '; '), '') FROM oms.check_invariants()), '',
          'and check_invariants() finds nothing');

SELECT * FROM finish();
ROLLBACK;
