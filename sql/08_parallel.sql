--
-- Parallel query.  Every function declared PARALLEL SAFE runs in a parallel
-- worker, and a function that is not never ends up in one, nor in a leader
-- in parallel mode: force_parallel_mode (debug_parallel_query from
-- PostgreSQL 16 on) puts a Gather over every plan that allows one.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

INSERT INTO oms.channel (code, name, kind, safety_stock) VALUES ('WEB', 'Web shop', 'web', 1);
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405), ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99);
INSERT INTO oms.sku (code, name) VALUES ('TEE-BLK-M', 'T-shirt black M'), ('CAP', 'Cap'), ('BAG', 'Bag');
SELECT oms.receive_stock('TEE-BLK-M', 'BER', 5), oms.receive_stock('CAP', 'HAM', 3);

SELECT set_config(CASE WHEN current_setting('server_version_num')::integer >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;

-- Each call below finds the master-data cache stale (a change to a cached
-- table) and loads it.
UPDATE oms.channel SET name = name;
SELECT oms.available('TEE-BLK-M', 'WEB') AS available_web;
UPDATE oms.location SET name = name;
SELECT oms.available('TEE-BLK-M') AS available_any;
UPDATE oms.channel SET name = name;
SELECT sku, location, qty FROM oms.route('[{"sku": "TEE-BLK-M", "qty": 2}]', NULL, 'WEB');
UPDATE oms.channel SET name = name;
SELECT r->>'search' AS search, r->'objective'->>'units' AS units
  FROM oms.route_explain('[{"sku": "CAP", "qty": 1}]', NULL, 'WEB') r;
UPDATE oms.channel SET name = name;
SELECT oms.place_order('WEB', 'P-1', '[{"sku": "CAP", "qty": 1}]') > 0 AS placed;

-- The functions declared PARALLEL SAFE, in a worker.
SELECT count(*) AS violations FROM oms.check_invariants();
SELECT oms.next_xact_id() > '1'::xid8 AS next_xact_id;
SELECT oms.connector_pos('{"sale_id": "T-1", "store": "BER", "items": [{"sku": "CAP", "qty": 1, "price": 9}]}',
                         'order')->>'external_ref' AS connector_pos;
SELECT oms.connector_pos('{"items": []}', 'order');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.json_sum('[{"amount": 1.5}, {"amount": 2}]', 'amount') AS json_sum;

-- A parallel scan of oms.sku: with PARALLEL SAFE, available ran in the
-- workers and in the leader, both in parallel mode.
SELECT set_config(CASE WHEN current_setting('server_version_num')::integer >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'off', false) AS forced;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
UPDATE oms.channel SET name = name;
SELECT s.code, oms.available(s.code, 'WEB') FROM oms.sku s ORDER BY s.code;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
