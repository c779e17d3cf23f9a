--
-- Available to promise per channel: the feed and its cursor, buffers and
-- caps, stock events, and their errors.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

-- POS sells from the Cologne store only; MKT from Berlin only, keeping 1
-- unit of every SKU back there.
INSERT INTO oms.channel (code, name, kind) VALUES
    ('WEB', 'Web shop', 'web'), ('MKT', 'Marketplace', 'marketplace'), ('POS', 'Stores', 'pos');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405), ('HAM', 'Hamburg', 'warehouse', 53.55, 9.99),
    ('CGN', 'Cologne store', 'store', 50.94, 6.96);
INSERT INTO oms.channel_location (channel_id, location_id, safety_stock)
SELECT c.id, l.id, v.safety
  FROM (VALUES ('POS', 'CGN', NULL), ('MKT', 'BER', 1)) v (channel, location, safety)
  JOIN oms.channel c ON c.code = v.channel JOIN oms.location l ON l.code = v.location;
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt'), ('CAP', 'Cap'), ('BAG', 'Bag'), ('OLD', 'Discontinued');
SELECT oms.receive_stock('TEE', 'BER', 10), oms.receive_stock('TEE', 'HAM', 5), oms.receive_stock('TEE', 'CGN', 2),
       oms.receive_stock('CAP', 'BER', 4), oms.receive_stock('BAG', 'HAM', 1);
SELECT oms.set_safety_stock('TEE', 'HAM', 1);
SELECT count(*) AS claimed FROM oms.claim_events('merch', 1000);  -- registers consumer merch

-- Changes wait in oms.atp_signal until a flush; the first flush computes
-- every SKU for every channel, and publishes no stock events.
SELECT count(*) > 0 AS signalled, count(*) FILTER (WHERE sku_id IS NULL) > 0 AS master_data_too FROM oms.atp_signal;
SELECT oms.atp_flush() AS flushed, oms.atp_flush() AS flushed_again;
SELECT count(*) AS signals_left FROM oms.atp_signal;
SELECT max(seq) AS start FROM oms.atp_level \gset
SELECT count(*) AS stock_events FROM oms.stock_event;

-- What the feed publishes is oms.available(), the channels' rules and all.
SELECT c.code AS channel, k.code AS sku, oms.available(k.code, c.code) AS available,
       oms.available_to_promise(k.code, c.code) AS to_promise, l.available AS published, l.level
  FROM oms.atp_level l JOIN oms.channel c ON c.id = l.channel_id JOIN oms.sku k ON k.id = l.sku_id
 ORDER BY c.id, k.id;

-- Read from 0, the feed is every SKU, in cursor order (SKU order, for
-- those the first flush added); paged by max, nothing twice, nothing left out.
SELECT sku, available FROM oms.atp_changes('WEB', 0) ORDER BY cursor;
SELECT string_agg(sku, ' ' ORDER BY cursor) AS page_1, max(cursor) AS web_page FROM oms.atp_changes('WEB', 0, 3) \gset
SELECT :'page_1' AS page_1, string_agg(sku, ' ' ORDER BY cursor) AS page_2 FROM oms.atp_changes('WEB', :web_page, 3);
SELECT max(cursor) AS web FROM oms.atp_changes('WEB', 0) \gset
SELECT max(cursor) AS mkt FROM oms.atp_changes('MKT', 0) \gset
SELECT count(*) AS nothing_new FROM oms.atp_changes('WEB', :web);

-- An order changes TEE at Berlin, for WEB and MKT but not POS; reading
-- flushes first.  Two changes between reads come once, as the latest.
SELECT oms.place_order('WEB', 'W-1', '[{"sku": "TEE", "qty": 2}]') AS w1 \gset
SELECT sku, available, cursor > :web AS moved_on FROM oms.atp_changes('WEB', :web);
SELECT max(cursor) AS web FROM oms.atp_changes('WEB', :web) \gset
SELECT oms.place_order('WEB', 'W-2', '[{"sku": "TEE", "qty": 1}, {"sku": "CAP", "qty": 1}]') > 0 AS placed;
SELECT oms.cancel_order(:w1, 'changed my mind') AS cancelled;
SELECT sku, available FROM oms.atp_changes('WEB', :web) ORDER BY cursor;
SELECT sku, available FROM oms.atp_changes('MKT', :mkt) ORDER BY sku;
SELECT count(*) AS pos_changes FROM oms.atp_changes('POS', :start);
SELECT max(cursor) AS web FROM oms.atp_changes('WEB', 0) \gset
SELECT max(cursor) AS mkt FROM oms.atp_changes('MKT', 0) \gset

-- Under REPEATABLE READ the feed is read, not flushed.
SELECT oms.receive_stock('BAG', 'HAM', 1);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) AS not_yet FROM oms.atp_changes('WEB', :web);
COMMIT;
SELECT sku, available FROM oms.atp_changes('WEB', :web);
SELECT max(cursor) AS web FROM oms.atp_changes('WEB', 0) \gset

-- Buffer and cap: the marketplace is shown 2 units less, at most 5.
UPDATE oms.channel SET atp_buffer = 2, atp_cap = 5 WHERE code = 'MKT';
SELECT sku, available FROM oms.atp_changes('MKT', :mkt) ORDER BY sku;
SELECT oms.available('TEE', 'MKT') AS available, oms.available_to_promise('TEE', 'MKT') AS to_promise;
-- Per SKU: no buffer for TEE on MKT and a cap of 8; no buffer for CAP (the
-- channel's cap stands); without its row, CAP has the channel's buffer again.
INSERT INTO oms.atp_policy (sku_id, channel_id, atp_buffer, atp_cap)
SELECT k.id, c.id, v.buffer, v.cap
  FROM (VALUES ('TEE', 0, 8), ('CAP', 0, NULL)) v (sku, buffer, cap)
  JOIN oms.sku k ON k.code = v.sku JOIN oms.channel c ON c.code = 'MKT';
SELECT sku, available FROM oms.atp_changes('MKT', :mkt) ORDER BY sku;
DELETE FROM oms.atp_policy WHERE sku_id = (SELECT id FROM oms.sku WHERE code = 'CAP');
SELECT sku, available FROM oms.atp_changes('MKT', :mkt) ORDER BY sku;
-- An inactive channel is shown nothing; an inactive SKU is nothing anywhere.
UPDATE oms.channel SET active = false WHERE code = 'POS';
SELECT sku, available FROM oms.atp_changes('POS', 0) ORDER BY sku;
UPDATE oms.channel SET active = true WHERE code = 'POS';
UPDATE oms.sku SET active = false WHERE code = 'BAG';
SELECT oms.atp_flush() > 0 AS flushed;
SELECT k.code AS sku, c.code AS channel, l.available, l.units, l.level
  FROM oms.atp_level l JOIN oms.sku k ON k.id = l.sku_id JOIN oms.channel c ON c.id = l.channel_id
 WHERE k.code = 'BAG' ORDER BY c.id;
UPDATE oms.sku SET active = true WHERE code = 'BAG';
SELECT oms.atp_flush() > 0 AS flushed;
SELECT max(cursor) AS web FROM oms.atp_changes('WEB', 0) \gset

-- Stock events on WEB: low at 3 units or fewer.  A new threshold is a
-- crossing too (BAG: 2 units, now low).
UPDATE oms.channel SET low_stock_threshold = 3 WHERE code = 'WEB';
SELECT oms.atp_flush() > 0 AS flushed;
-- CAP (3 units): one more sold is still low, and nothing new; all sold is
-- out of stock, once however often the feed is flushed.
SELECT oms.place_order('WEB', 'W-3', '[{"sku": "CAP", "qty": 1}]') > 0 AS placed;
SELECT oms.atp_flush() AS flushed;
SELECT oms.place_order('WEB', 'W-4', '[{"sku": "CAP", "qty": 2}]') > 0 AS placed;
SELECT oms.atp_flush() AS flushed, oms.atp_flush() AS flushed_again;
-- Back in stock, at a low level; then above the threshold (no event), and
-- low again (an event: a second crossing).
SELECT oms.receive_stock('CAP', 'BER', 1);
SELECT oms.atp_flush() AS flushed;
SELECT oms.receive_stock('CAP', 'BER', 5);
SELECT oms.atp_flush() AS flushed;
SELECT oms.place_order('WEB', 'W-5', '[{"sku": "CAP", "qty": 4}]') > 0 AS placed;
SELECT oms.atp_flush() AS flushed;
-- Thresholds per SKU, and per SKU and channel, over the channel's.
UPDATE oms.sku SET low_stock_threshold = 15 WHERE code = 'TEE';
SELECT oms.atp_flush() AS flushed;
INSERT INTO oms.atp_policy (sku_id, channel_id, low_stock_threshold)
SELECT k.id, c.id, 1 FROM oms.sku k, oms.channel c WHERE k.code = 'CAP' AND c.code = 'WEB';
SELECT oms.atp_flush() AS flushed;
SELECT k.code AS sku, c.code AS channel, e.kind, e.from_level, e.to_level, e.previous, e.units, e.available, e.threshold,
       e.previous_id IS NOT DISTINCT FROM lag(e.id) OVER (PARTITION BY e.sku_id, e.channel_id ORDER BY e.id) AS chained
  FROM oms.stock_event e JOIN oms.sku k ON k.id = e.sku_id JOIN oms.channel c ON c.id = e.channel_id
 ORDER BY e.id;

-- A hold lowers the figure; once it runs out, the next flush raises it
-- again, though nothing was written.
SELECT oms.hold_stock('cart-1', 'WEB', '[{"sku": "BAG", "qty": 2}]') IS NOT NULL AS held;
SELECT sku, available FROM oms.atp_changes('WEB', :web) WHERE sku = 'BAG';
UPDATE oms.hold SET expires_at = clock_timestamp() WHERE hold_ref = 'cart-1';
UPDATE oms.hold_line SET expires_at = clock_timestamp() WHERE hold_ref = 'cart-1';
SELECT count(*) AS signals FROM oms.atp_signal;
SELECT sku, available FROM oms.atp_changes('WEB', :web) WHERE sku = 'BAG';

-- Stock events come through the outbox with the order events: order_id
-- NULL, entity stock, the SKU as entity_id.
SELECT count(*) AS stock_rows_in_outbox FROM oms.outbox WHERE order_id = 0 AND entity = 'stock';
SELECT e.order_id, e.entity, k.code AS sku, e.from_status, e.to_status,
       e.details - 'sku' AS details, e.deliveries
  FROM oms.claim_events('merch', 1000) e LEFT JOIN oms.sku k ON k.id = e.entity_id
 WHERE e.entity = 'stock'
 ORDER BY e.event_id;
SELECT oms.ack_events('merch', array_agg(event_id)) > 0 AS acked FROM oms.event_lease WHERE consumer = 'merch';

-- With oms.atp_feed off nothing is signalled, and the invariants say so;
-- oms.atp_refresh brings the feed back.
SET oms.atp_feed = off;
SELECT oms.receive_stock('OLD', 'BER', 3);
RESET oms.atp_feed;
SELECT count(*) AS signals FROM oms.atp_signal;
SELECT oms.atp_flush() AS flushed;
SELECT invariant, detail FROM oms.check_invariants();
SELECT oms.atp_refresh('OLD');
SELECT sku, available FROM oms.atp_changes('WEB', :web) WHERE sku = 'OLD';
SELECT oms.atp_refresh();
SELECT oms.atp_flush() AS flushed;
-- A crash empties the unlogged signals and state: the next flush
-- recomputes every SKU, and only what changed moves on.
TRUNCATE oms.atp_flush_state, oms.atp_signal;
SELECT max(seq) AS before_crash FROM oms.atp_level \gset
SELECT oms.atp_flush() AS flushed;
SELECT count(*) AS moved FROM oms.atp_level WHERE seq > :before_crash;
-- oms.atp_recompute (the flush's C part) on its own: nothing to write.
SELECT oms.atp_recompute(ARRAY(SELECT id FROM oms.sku), now()) AS written;

-- Errors.
SELECT * FROM oms.atp_changes('NOPE', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.atp_changes('WEB', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.atp_changes('WEB', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.atp_changes('WEB', 0, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.atp_changes('WEB', 0, 10001);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.atp_changes('WEB', (SELECT last_value + 1 FROM oms.atp_seq));
\echo :LAST_ERROR_SQLSTATE
SELECT oms.atp_flush(0);
\echo :LAST_ERROR_SQLSTATE
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT oms.atp_flush();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT oms.atp_recompute(ARRAY(SELECT id FROM oms.sku), now());
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT oms.available_to_promise('NOPE', 'WEB');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.available_to_promise('TEE', 'NOPE');
\echo :LAST_ERROR_SQLSTATE
SELECT oms.atp_refresh('NOPE');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
UPDATE oms.channel SET atp_buffer = -1 WHERE code = 'WEB';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.channel SET atp_cap = -1 WHERE code = 'WEB';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.channel SET low_stock_threshold = -1 WHERE code = 'WEB';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.sku SET low_stock_threshold = -1 WHERE code = 'TEE';
\echo :LAST_ERROR_SQLSTATE
UPDATE oms.atp_policy SET atp_buffer = -1;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
UPDATE oms.stock_event SET units = 0;
\echo :LAST_ERROR_SQLSTATE
-- Only a superuser turns the feed off; the application's role reads it.
CREATE ROLE oms_atp_app;
SELECT oms.grant_app('oms_atp_app');
SET ROLE oms_atp_app;
SET oms.atp_feed = off;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) > 0 AS can_read FROM oms.atp_changes('WEB', 0);
INSERT INTO oms.atp_signal (sku_id, signalled_at) VALUES (NULL, now());
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE ALL ON ALL TABLES IN SCHEMA oms FROM oms_atp_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oms FROM oms_atp_app;
REVOKE ALL ON SCHEMA oms FROM oms_atp_app;
REVOKE ALL ON ALL TABLES IN SCHEMA oms_report FROM oms_atp_app;
REVOKE ALL ON SCHEMA oms_report FROM oms_atp_app;
DROP ROLE oms_atp_app;

-- Every invariant holds, the feed's included.
SELECT oms.atp_flush() >= 0 AS flushed;
SELECT invariant, detail FROM oms.check_invariants();
