-- Roles: the application calls functions and writes no table; reporting reads
-- views only; PUBLIC gets nothing.
BEGIN;
SELECT plan(34);

CREATE ROLE oms_test_app;
CREATE ROLE oms_test_bi;
CREATE ROLE oms_test_admin;
CREATE ROLE oms_test_nobody;
SELECT lives_ok($$SELECT oms.grant_app('oms_test_app')$$, 'grant_app');
SELECT lives_ok($$SELECT oms.grant_reporting('oms_test_bi')$$, 'grant_reporting');
SELECT lives_ok($$SELECT oms.grant_admin('oms_test_admin')$$, 'grant_admin');
-- A role that does not exist is OM110, before any GRANT runs.
SELECT throws_ok($$SELECT oms.grant_reporting('')$$, 'OM110', NULL, 'grant_reporting refuses an empty role name');
SELECT throws_ok($$SELECT oms.grant_app('oms_test_no_such_role')$$, 'OM110', NULL, 'grant_app refuses an unknown role');
SELECT throws_ok($$SELECT oms.grant_admin('public')$$, 'OM110', NULL, 'grant_admin refuses PUBLIC');
SELECT throws_ok($$SELECT oms.grant_reporting(NULL)$$, '22004', NULL, 'grant_reporting refuses NULL');
-- The reporting role reads exactly the reporting views, those of schema oms_report.
SELECT is(
    (SELECT array_agg(c.oid::regclass::text ORDER BY c.oid::regclass::text) FROM pg_class c
      WHERE c.relnamespace IN ('oms'::regnamespace, 'oms_report'::regnamespace)
        AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND has_table_privilege('oms_test_bi', c.oid, 'SELECT')),
    (SELECT array_agg(format('%I.%I', v.schemaname, v.viewname) ORDER BY format('%I.%I', v.schemaname, v.viewname))
       FROM pg_views v WHERE v.schemaname = 'oms_report'),
    'the reporting role reads exactly the oms_report views');
SELECT ok(NOT has_table_privilege('oms_test_bi', 'oms.stock_level', 'SELECT'),
          'the reporting role cannot read oms.stock_level, which oms reads itself');

INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt');
INSERT INTO oms.channel (code, name, kind) VALUES ('APP', 'App', 'app');

-- The application role.
SET ROLE oms_test_app;
SELECT is(oms.receive_stock('TEE', 'BER', 5, 'app receipt'), 5, 'the app role receives stock');
SELECT is(oms.available('TEE'), 5, 'the app role reads availability');
SELECT is((SELECT on_hand FROM oms.v_stock), 5, 'the app role reads v_stock');
SELECT throws_ok($$UPDATE oms.stock SET safety_stock = 1$$, '42501', NULL, 'the app role cannot update stock');
SELECT throws_ok($$INSERT INTO oms.stock_movement (sku_id, location_id, kind, quantity, on_hand_after, created_by)
                   VALUES (1, 1, 'receipt', 1, 6, 'me')$$, '42501', NULL, 'the app role cannot write the ledger');
SELECT throws_ok($$INSERT INTO oms.sku (code, name) VALUES ('X', 'X')$$, '42501', NULL,
                 'the app role cannot write master data');
SELECT throws_ok($$SELECT oms.grant_app('oms_test_nobody')$$, '42501', NULL, 'the app role cannot grant');
SELECT throws_ok($$SET oms.route_search_limit = 2147483647$$, '42501', NULL,
                 'the app role cannot raise the routing search limit (it bounds the work of a call)');
RESET ROLE;
SELECT is((SELECT created_by FROM oms.stock_movement), 'oms_test_app',
          'the ledger records the calling role, not the function owner');

-- The reporting role.
SET ROLE oms_test_bi;
SELECT is((SELECT count(*) FROM oms_report.stock_health), 1::bigint, 'the reporting role reads the reporting views');
SELECT throws_ok($$SELECT * FROM oms.v_stock$$, '42501', NULL, 'the reporting role reads nothing else');
SELECT throws_ok($$SELECT * FROM oms.stock$$, '42501', NULL, 'the reporting role cannot read tables');
SELECT throws_ok($$SELECT oms.available('TEE')$$, '42501', NULL, 'the reporting role cannot call functions');
RESET ROLE;

-- The admin role.
SET ROLE oms_test_admin;
SELECT lives_ok($$INSERT INTO oms.sku (code, name) VALUES ('CAP', 'Cap')$$, 'the admin role adds SKUs');
SELECT lives_ok($$UPDATE oms.location SET priority = 5 WHERE code = 'BER'$$, 'the admin role edits locations');
SELECT throws_ok($$DELETE FROM oms.stock_movement$$, '42501', NULL, 'the admin role cannot touch the ledger');
SELECT lives_ok($$INSERT INTO oms.return_reason (code, label) VALUES ('too_small', 'Too small')$$,
                'the admin role adds return reasons');
SELECT lives_ok($$INSERT INTO oms.return_policy (channel_id, window_days)
                  SELECT id, 14 FROM oms.channel WHERE code = 'APP'$$, 'the admin role sets return policies');
RESET ROLE;

-- Returns: the app role requests and receives them, writing no return table itself.
SET ROLE oms_test_app;
SELECT oms.ship(oms.create_shipment(oms.place_order('APP', 'RET-1', '[{"sku": "TEE", "qty": 1}]'), 'BER'), 'DHL', 'R1');
SELECT is(oms.receive_return(oms.request_return(order_id, '[{"line_no": 1, "qty": 1}]'),
                             '[{"line_no": 1, "qty": 1, "disposition": "restock"}]'), 1,
          'the app role requests and receives a return')
  FROM oms.orders WHERE external_ref = 'RET-1';
SELECT throws_ok($$UPDATE oms.returns SET status = 'completed'$$, '42501', NULL, 'the app role cannot write returns');
SELECT throws_ok($$SELECT oms.request_return(order_id, '[{"line_no": 1, "qty": 1}]', '{"override_policy": true}')
                     FROM oms.orders WHERE external_ref = 'RET-1'$$, 'OM164', NULL,
                 'the app role cannot override the return policy');
RESET ROLE;
SET ROLE oms_test_bi;
SELECT is((SELECT sum(returned_units) FROM oms_report.returns_monthly), 1::numeric,
          'the reporting role reads the returns (oms_report.returns_monthly)');
RESET ROLE;

-- A role nobody granted anything.
SET ROLE oms_test_nobody;
SELECT throws_ok($$SELECT oms.available('TEE')$$, '42501', NULL, 'an ungranted role cannot call oms');
SELECT throws_ok($$SELECT * FROM oms.v_stock$$, '42501', NULL, 'an ungranted role cannot read oms');
RESET ROLE;

-- Even the table owner cannot bypass the ledger.
SELECT throws_ok($$UPDATE oms.stock SET on_hand = 99$$, 'OM091', NULL, 'the owner cannot change on_hand directly');

SELECT * FROM finish();
ROLLBACK;
