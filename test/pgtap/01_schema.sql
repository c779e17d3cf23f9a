-- The schema: tables, keys, constraints, and what pg_dump keeps.
BEGIN;
SELECT plan(45);

SELECT has_schema('oms');
SELECT tables_are('oms', ARRAY['channel', 'location', 'channel_location', 'sku', 'stock', 'stock_slot',
                               'stock_movement', 'orders', 'order_ref', 'order_lines', 'order_cancellation', 'reservation',
                               'hold', 'hold_line', 'routing_policy', 'location_load', 'transition',
                               'shipment', 'shipment_line', 'tracking_event', 'payment', 'order_event',
                               'outbox', 'event_consumer', 'event_lease',
                               'channel_connector', 'channel_sku', 'inbound_message', 'atp_policy', 'atp_signal',
                               'atp_flush_state', 'atp_level', 'stock_event',
                               'return_reason', 'return_policy', 'returns', 'return_ref', 'return_line',
                               'return_receipt', 'return_key',
                               'report_dirty', 'report_state', 'report_rollup', 'report_order_contrib',
                               'report_stock_threshold']);
SELECT views_are('oms', ARRAY['stock_level', 'v_stock', 'v_transitions', 'v_order_tracking', 'v_returns',
                              'report_zone', 'report_contrib', 'report_tail', 'report_current']);
SELECT col_type_is('oms', 'channel', 'id', 'bigint', 'ids are bigint');
SELECT col_type_is('oms', 'location', 'id', 'bigint', 'ids are bigint');
SELECT col_type_is('oms', 'sku', 'id', 'bigint', 'ids are bigint');
SELECT col_type_is('oms', 'stock_movement', 'id', 'bigint', 'ids are bigint');
SELECT col_is_pk('oms', 'stock', ARRAY['sku_id', 'location_id'], 'stock is keyed by sku and location');
SELECT col_is_pk('oms', 'stock_movement', ARRAY['sku_id', 'id'], 'the ledger is keyed by sku first');
SELECT col_is_pk('oms', 'channel_location', ARRAY['channel_id', 'location_id'], 'channel_location is keyed by channel and location');
SELECT col_is_pk('oms', 'order_lines', ARRAY['order_id', 'line_no'], 'lines are keyed by order first');
SELECT col_is_pk('oms', 'reservation', ARRAY['order_id', 'id'], 'reservations are keyed by order first');
SELECT col_is_pk('oms', 'order_cancellation', ARRAY['order_id', 'id'], 'cancellations are keyed by order first');
SELECT col_is_pk('oms', 'order_ref', ARRAY['channel_id', 'external_ref'], 'idempotency keys have a table of their own');
SELECT col_is_pk('oms', 'atp_level', ARRAY['sku_id', 'channel_id'], 'the feed is keyed by sku first');
SELECT col_is_pk('oms', 'atp_policy', ARRAY['sku_id', 'channel_id'], 'feed policies are keyed by sku first');
SELECT col_is_pk('oms', 'stock_event', ARRAY['sku_id', 'id'], 'stock events are keyed by sku first');
SELECT has_trigger('oms', 'stock_event', 'ledger_guard', 'stock events are append-only');
SELECT col_is_pk('oms', 'returns', ARRAY['order_id', 'return_id'], 'returns are keyed by order first');
SELECT col_is_pk('oms', 'return_line', ARRAY['order_id', 'return_id', 'line_no'], 'return lines are keyed by order first');
SELECT col_is_pk('oms', 'return_receipt', ARRAY['order_id', 'id'], 'return receipts are keyed by order first');
SELECT col_is_pk('oms', 'return_key', ARRAY['order_id', 'operation', 'idempotency_key'], 'return idempotency keys are keyed by order first');
SELECT col_is_pk('oms', 'return_ref', ARRAY['return_id'], 'a return finds its order through a table keyed by its id');
SELECT is_empty($$
    SELECT conrelid::regclass::text FROM pg_constraint
     WHERE contype = 'f' AND conrelid IN ('oms.returns'::regclass, 'oms.return_line'::regclass,
                                          'oms.return_receipt'::regclass, 'oms.return_key'::regclass,
                                          'oms.return_ref'::regclass)
$$, 'the return tables have no foreign keys');
SELECT has_trigger('oms', 'returns', 'transition_guard', 'return statuses are guarded');
SELECT col_is_unique('oms', 'channel', ARRAY['code'], 'channel codes are unique');
SELECT col_is_unique('oms', 'location', ARRAY['code'], 'location codes are unique');
SELECT col_is_unique('oms', 'sku', ARRAY['code'], 'sku codes are unique');
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'oms.stock'::regclass AND contype = 'c'
                   AND pg_get_constraintdef(oid) LIKE '%(reserved)::integer + (held)::integer) + (escrow)::integer) <= on_hand%')
          AND (SELECT array_agg(format_type(atttypid, atttypmod) ORDER BY attnum) FROM pg_attribute
                WHERE attrelid = 'oms.stock'::regclass AND attname IN ('reserved', 'held', 'escrow'))
              = ARRAY['oms.units', 'oms.units', 'oms.units'],
          'stock checks 0 <= reserved + held + escrow <= on_hand');
SELECT has_trigger('oms', 'stock', 'stock_guard', 'stock is guarded');
SELECT has_trigger('oms', 'stock_movement', 'ledger_guard', 'the ledger is guarded');
-- Orders append feed signals straight into the heap (src/atp.c): no WAL, and
-- no index or trigger that such a write would bypass.
SELECT ok((SELECT relpersistence = 'u' AND NOT relhasindex AND NOT relhastriggers FROM pg_class
            WHERE oid = 'oms.atp_signal'::regclass),
          'atp_signal is unlogged, without index or trigger');

-- Every table and sequence is registered with pg_extension_config_dump, but
-- oms.transition: the extension's own reference data, which CREATE EXTENSION
-- writes; and unlogged tables: working state that a crash empties, and that
-- oms rebuilds from the rest (the available-to-promise feed's signals).
SELECT is_empty($$
    SELECT c.oid::regclass::text
      FROM pg_class c
     WHERE c.relnamespace = 'oms'::regnamespace AND c.relkind IN ('r', 'S')
       AND c.oid <> 'oms.transition'::regclass AND c.relpersistence <> 'u'
       AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'oms')::oid[])
$$, 'every oms table and sequence is dumped by pg_dump');
-- ... and nothing changes oms.transition but the extension's scripts.
SELECT throws_ok($$INSERT INTO oms.transition VALUES ('order', 'closed', 'reserved')$$, 'OM092', NULL,
                 'oms.transition takes no new transition by hand');
SELECT throws_ok($$UPDATE oms.transition SET to_status = to_status$$, 'OM092', NULL, 'nor a changed one');
SELECT throws_ok($$DELETE FROM oms.transition WHERE entity = 'payment'$$, 'OM092', NULL, 'nor loses one');
SELECT throws_ok($$TRUNCATE oms.transition$$, 'OM092', NULL, 'nor is truncated');

-- Every public object is documented.
SELECT is_empty($$
    SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = 'oms'::regnamespace AND c.relkind IN ('r', 'v', 'm')
       AND obj_description(c.oid, 'pg_class') IS NULL
$$, 'every table and view has a comment');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'oms'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
$$, 'every function has a comment');

-- Functions state their volatility, and every SECURITY DEFINER one pins search_path.
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'oms'::regnamespace AND p.prosecdef
       AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
$$, 'SECURITY DEFINER functions pin search_path');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'oms'::regnamespace AND p.prokind = 'f'
       AND p.prorettype <> 'trigger'::regtype
       AND NOT coalesce(p.proconfig::text LIKE '%search_path%', false)
$$, 'every function pins search_path');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'oms'::regnamespace AND p.prosecdef),
    ARRAY['ack_events', 'adjust_stock', 'allocate_backorders', 'atp_changes', 'atp_flush', 'atp_master_changed', 'atp_recompute', 'atp_refresh',
          'authorize_return', 'available', 'available_to_promise', 'cancel_line', 'cancel_order', 'cancel_return',
          'cancel_shipment', 'change_ship_to', 'claim_events', 'close_order', 'close_return', 'count_stock',
          'create_shipment', 'decline_return', 'expire_holds', 'expire_returns',
          'hold_order', 'hold_stock', 'ingest', 'master_delete_guard', 'place_order', 'publish_events',
          'purge_outbox', 'receive_return', 'receive_stock', 'record_payment', 'refund_return', 'release_hold',
          'release_order', 'release_quarantine', 'replay_inbound', 'report_compact', 'report_rebuild', 'report_tail_of', 'request_return',
          'set_safety_stock', 'set_stock_slots', 'ship', 'sync_stock', 'sync_stock_from', 'track'],
    'SECURITY DEFINER only where a role must write what it may not write directly');
-- Labels as the bodies require (sql/08_parallel.sql runs them in parallel
-- mode): what reads the master-data cache (a load takes the latest snapshot,
-- refused in parallel mode), reads what the calling statement wrote, or
-- writes, is VOLATILE PARALLEL UNSAFE.
SELECT is(
    (SELECT array_agg(p.proname::text || ' ' || p.provolatile::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'oms'::regnamespace AND p.provolatile <> 'v'),
    ARRAY['atp_compute s', 'check_invariants s', 'connector_amazon s', 'connector_pos s',
          'connector_shopify s', 'currency_exponent i', 'json_sum i', 'refund_breakdown s', 'refund_captures s',
          'report_bucket_hours i', 'report_hist i', 'report_hist_add i', 'report_hist_final i',
          'report_hist_merge i', 'report_hist_neg i', 'report_hist_percentile i', 'report_hist_sum i',
          'report_hours_bucket i', 'report_tail_of s'],
    'STABLE or IMMUTABLE only where a function reads nothing the statement writes and caches nothing');
SELECT is(
    (SELECT array_agg(p.proname::text || ' ' || p.proparallel::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'oms'::regnamespace AND p.proparallel <> 'u'),
    ARRAY['atp_compute s', 'check_invariants s', 'connector_error s', 'currency_exponent s', 'json_sum s',
          'next_xact_id s', 'refund_breakdown s', 'refund_captures s', 'report_bucket_hours s', 'report_hist s',
          'report_hist_add s', 'report_hist_final s', 'report_hist_merge s', 'report_hist_neg s',
          'report_hist_percentile s', 'report_hours_bucket s'],
    'PARALLEL SAFE only where a function neither writes nor reads the master-data cache');

-- Nothing of oms is open to PUBLIC.
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'oms'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE')
$$, 'PUBLIC may execute no oms function');

SELECT * FROM finish();
ROLLBACK;
