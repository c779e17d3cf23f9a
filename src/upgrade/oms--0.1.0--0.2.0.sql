-- oms upgrade script from 0.1.0 to 0.2.0: every schema change of 0.2.0, in the
-- order it was made.  test/upgrade proves that 0.1.0 upgraded by this script
-- equals a fresh install of 0.2.0.

\echo Use "ALTER EXTENSION oms UPDATE TO '0.2.0'" to load this file. \quit

-- Channel intake: connectors, SKU maps, the inbound log, oms.ingest.
--@include src/sql/60_channels.sql

-- Bulk stock sync: oms.sync_stock, oms.sync_stock_from.
--@include src/sql/25_sync.sql

-- Orders as channels send them (issue 12): money per line and order, who
-- fulfils an order, POS sales in the ledger, orders created shipped or
-- delivered.  The defaults make every 0.1.0 order right as it stands: no
-- discount, tax or shipping, so its total_amount is already the grand total.
CREATE DOMAIN oms.fulfilment AS text CHECK (VALUE IN ('merchant', 'store', 'marketplace'));
COMMENT ON DOMAIN oms.fulfilment IS 'Who fulfils an order: merchant (oms routes and ships it), store (sold at a till), marketplace (the marketplace ships it from its own stock).';
ALTER TABLE oms.order_lines
    ADD COLUMN discount_amount oms.amount NOT NULL DEFAULT 0,
    ADD COLUMN tax_amount oms.amount NOT NULL DEFAULT 0,
    ADD COLUMN external_line_id text;
COMMENT ON COLUMN oms.order_lines.unit_price IS 'Price of one unit as the channel sent it (tax included when the order''s prices_include_tax).';
COMMENT ON COLUMN oms.order_lines.discount_amount IS 'Amount off this line in total (not per unit), at most qty * unit_price.';
COMMENT ON COLUMN oms.order_lines.tax_amount IS 'Tax of this line in total; added to the line total unless the order''s prices_include_tax.';
COMMENT ON COLUMN oms.order_lines.external_line_id IS 'The channel''s own id of the line, if it sent one.';
ALTER TABLE oms.orders
    ADD COLUMN order_discount oms.amount NOT NULL DEFAULT 0,
    ADD COLUMN shipping_amount oms.amount NOT NULL DEFAULT 0,
    ADD COLUMN shipping_tax oms.amount NOT NULL DEFAULT 0,
    ADD COLUMN shipping_discount oms.amount NOT NULL DEFAULT 0,
    ADD COLUMN prices_include_tax boolean NOT NULL DEFAULT false,
    ADD COLUMN fulfilment oms.fulfilment NOT NULL DEFAULT 'merchant',
    ADD COLUMN fulfilment_location_id bigint;
COMMENT ON COLUMN oms.orders.total_amount IS 'The grand total, in currency: the sum of the line totals - order_discount + shipping_amount - shipping_discount + shipping_tax (the last only when prices_include_tax is false); README, "Orders".';
COMMENT ON COLUMN oms.orders.order_discount IS 'Amount off the order as a whole (option order_discount), at most the sum of the line nets.';
COMMENT ON COLUMN oms.orders.shipping_amount IS 'Shipping price charged (option shipping.price).';
COMMENT ON COLUMN oms.orders.shipping_tax IS 'Tax on shipping (option shipping.tax); included in shipping_amount when prices_include_tax.';
COMMENT ON COLUMN oms.orders.shipping_discount IS 'Amount off shipping (option shipping.discount), at most shipping_amount.';
COMMENT ON COLUMN oms.orders.prices_include_tax IS 'Whether unit prices and the shipping price include their tax (option prices_include_tax): then tax is part of them, not added to the total.';
COMMENT ON COLUMN oms.orders.fulfilment IS 'merchant (oms routes, reserves and ships) | store (a till sale: sold from fulfilment_location_id at once, delivered) | marketplace (shipped by the marketplace from its own stock).';
COMMENT ON COLUMN oms.orders.fulfilment_location_id IS 'The store of a store-fulfilled order (option location), else NULL.';
ALTER TABLE oms.stock_movement
    DROP CONSTRAINT stock_movement_kind_check,
    ADD CONSTRAINT stock_movement_kind_check
        CHECK (kind IN ('receipt', 'adjustment', 'count', 'shipment', 'return', 'sale')),
    DROP CONSTRAINT stock_movement_quantity_check,
    ADD CONSTRAINT stock_movement_quantity_check CHECK (
        CASE kind
            WHEN 'receipt' THEN quantity > 0
            WHEN 'return' THEN quantity > 0
            WHEN 'shipment' THEN quantity < 0
            WHEN 'sale' THEN quantity < 0
            WHEN 'adjustment' THEN quantity <> 0
            ELSE true
        END);
COMMENT ON COLUMN oms.stock_movement.kind IS 'receipt | adjustment | count | shipment | return | sale (units sold at a store''s till, oms.place_order with fulfilment store).';
INSERT INTO oms.transition (entity, from_status, to_status) VALUES
    ('order', NULL, 'shipped'), ('order', NULL, 'delivered'),
    ('line', NULL, 'shipped'), ('line', NULL, 'delivered');

-- Backorders that fill themselves: the index of waiting lines and
-- oms.allocate_backorders (src/sql/30_orders.sql).
CREATE INDEX order_lines_backordered_idx ON oms.order_lines (sku_id, order_id) WHERE qty_backordered > 0;

CREATE FUNCTION oms.allocate_backorders(sku text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_allocate_backorders';
COMMENT ON FUNCTION oms.allocate_backorders(text) IS
    'Gives units that are free now to backordered order lines of the SKU (every SKU when NULL), oldest order first, as place_order would route them; returns the units given. An order another session holds is skipped until the next call.';

-- Volatility and parallel safety as the bodies require: available and
-- routing read the master-data cache, which loads with the latest snapshot
-- (refused in parallel mode), and see what the calling statement wrote.
ALTER FUNCTION oms.available(text, text) VOLATILE PARALLEL UNSAFE;
ALTER FUNCTION oms.route(jsonb, jsonb, text, jsonb) VOLATILE;
ALTER FUNCTION oms.route_explain(jsonb, jsonb, text, jsonb) VOLATILE;

-- publish_events refuses a max outside 1 to 10000 (OM081) rather than fail
-- in its LIMIT.
CREATE OR REPLACE FUNCTION oms.publish_events(max integer DEFAULT 1000)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pos       oms.event_consumer;
    v_horizon   xid8 := pg_snapshot_xmin(pg_current_snapshot());
    v_event     record;
    v_count     integer := 0;
BEGIN
    IF max IS NULL OR max NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max must be from 1 to 10000, not %', coalesce(max::text, 'NULL') USING ERRCODE = 'OM081';
    END IF;
    PERFORM oms.rebase_events();

    -- Nothing new, the usual case: return without taking a transaction id.
    SELECT * INTO v_pos FROM oms.event_consumer WHERE consumer = 'oms:notify';
    IF FOUND AND NOT EXISTS (SELECT FROM oms.outbox o
                              WHERE (o.txid, o.event_id) > (v_pos.after_txid, v_pos.after_id)
                                AND o.txid < v_horizon) THEN
        RETURN 0;
    END IF;
    INSERT INTO oms.event_consumer (consumer, after_txid) VALUES ('oms:notify', v_horizon) ON CONFLICT DO NOTHING;
    SELECT * INTO v_pos FROM oms.event_consumer WHERE consumer = 'oms:notify' FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;               -- another publisher is at work
    END IF;
    FOR v_event IN
        SELECT o.* FROM oms.outbox o
         WHERE (o.txid, o.event_id) > (v_pos.after_txid, v_pos.after_id) AND o.txid < v_horizon
         ORDER BY o.txid, o.event_id LIMIT max
    LOOP
        PERFORM pg_notify('oms_events', jsonb_build_object('id', v_event.event_id, 'order_id', v_event.order_id,
                                                           'entity', v_event.entity, 'entity_id', v_event.entity_id,
                                                           'status', v_event.status)::text);
        v_pos.after_txid := v_event.txid;
        v_pos.after_id := v_event.event_id;
        v_count := v_count + 1;
    END LOOP;
    UPDATE oms.event_consumer SET after_txid = v_pos.after_txid, after_id = v_pos.after_id
     WHERE consumer = 'oms:notify';
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION oms.publish_events(integer) IS
    'Sends NOTIFY oms_events for up to max (1 to 10000) events not yet published, one compact JSON payload each; the background worker calls it every oms.publish_interval.  Returns how many it sent.';

-- grant_reporting grants the views of schema oms_report only (created
-- below), and refuses a role that does not exist (OM110) rather than fail in
-- its GRANT; grant_app grants USAGE on schema oms itself (grant_admin, below,
-- the low-stock thresholds too).  The privileges block below runs them again for
-- the roles granted before.
CREATE OR REPLACE FUNCTION oms.grant_reporting(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) role) THEN
        RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = 'OM110',
            HINT = 'Name an existing role; create it first with CREATE ROLE.';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA oms_report TO %I', role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA oms_report TO %I', role);
    -- What the views call: their tail of unfolded orders, the hour histograms.
    EXECUTE format('GRANT EXECUTE ON FUNCTION oms.report_tail_of(smallint), oms.report_hist(integer), '
                   'oms.report_hist_sum(bigint[]), oms.report_hist_neg(bigint[]), '
                   'oms.report_hist_percentile(bigint[], double precision) TO %I', role);
END
$$;
COMMENT ON FUNCTION oms.grant_reporting(name) IS
    'Lets a role read the reporting views (schema oms_report) and nothing else.';

CREATE OR REPLACE FUNCTION oms.grant_app(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM oms.grant_reporting(role);
    EXECUTE format('GRANT USAGE ON SCHEMA oms TO %I', role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA oms TO %I', role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA oms TO %I', role);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION oms.grant_reporting(name), oms.grant_app(name), '
                   'oms.grant_admin(name) FROM %I', role);
END
$$;
COMMENT ON FUNCTION oms.grant_app(name) IS
    'Lets a role call every oms function and read every oms table and view; it still writes nothing directly.';

-- oms.transition is part of oms: only the extension's scripts change it.
CREATE FUNCTION oms.definition_guard() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'oms_definition_guard';
COMMENT ON FUNCTION oms.definition_guard() IS 'Trigger: refuses changes of oms.transition outside CREATE EXTENSION and ALTER EXTENSION UPDATE.';
CREATE TRIGGER definition_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.transition
    FOR EACH STATEMENT EXECUTE FUNCTION oms.definition_guard();

-- purge_outbox takes a keep however long (now() - keep overflowed: 22008).
CREATE OR REPLACE FUNCTION oms.purge_outbox(keep interval DEFAULT '7 days')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_purged    bigint;
BEGIN
    IF keep IS NULL OR keep <= interval '0' THEN
        RAISE EXCEPTION 'keep must be more than 0' USING ERRCODE = 'OM080';
    END IF;
    PERFORM oms.rebase_events();
    -- The publisher (oms:notify) is no consumer: only those of connectors count.
    WITH done AS (
        DELETE FROM oms.outbox o
         WHERE (EXISTS (SELECT FROM oms.event_consumer c WHERE c.consumer NOT LIKE 'oms:%')
                AND NOT EXISTS (SELECT FROM oms.event_consumer c
                                 WHERE c.consumer NOT LIKE 'oms:%'
                                   AND (c.after_txid, c.after_id) < (o.txid, o.event_id))
                AND NOT EXISTS (SELECT FROM oms.event_lease l WHERE l.event_id = o.event_id))
            OR o.created_at < now() - least(keep, interval '1000 years')  -- no overflow: keeps all
        RETURNING 1)
    SELECT count(*) INTO v_purged FROM done;
    RETURN v_purged;
END
$$;

-- Returns (issue 13): locations that take returned parcels, return statuses
-- in oms.transition, and the return tables and functions; admins maintain
-- return reasons and policies.
ALTER TABLE oms.location ADD COLUMN accepts_returns boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN oms.location.accepts_returns IS 'Returned parcels may come back here (an active location only); false for a dropship vendor that takes none.';
ALTER TABLE oms.transition DROP CONSTRAINT transition_entity_check,
    ADD CONSTRAINT transition_entity_check CHECK (entity IN ('order', 'line', 'shipment', 'payment', 'return'));
COMMENT ON TABLE oms.transition IS 'Legal status changes of orders, order lines, shipments, payments and returns; from_status NULL is the status oms creates a row in.  The transition_guard triggers refuse every other change.';
CREATE OR REPLACE VIEW oms.v_transitions AS
SELECT entity, coalesce(from_status, '(new)') AS from_status, to_status
  FROM oms.transition
 ORDER BY array_position(ARRAY['order', 'line', 'shipment', 'payment', 'return'], entity),
          from_status NULLS FIRST, to_status;
--@include src/sql/67_returns.sql
-- A shipped order closes once every shipped unit came back (a parcel
-- returned to sender and received); close_order checks that.
INSERT INTO oms.transition (entity, from_status, to_status) VALUES ('order', 'shipped', 'closed');
COMMENT ON FUNCTION oms.close_order(bigint) IS
    'Closes a delivered or cancelled order, or a shipped one every shipped unit of which came back (a parcel returned to sender and received): its final status.';
-- Locations and return reasons that returns name are deactivated, not deleted.
CREATE OR REPLACE FUNCTION oms.master_delete_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_by text := 'orders or holds';
BEGIN
    IF TG_TABLE_NAME = 'sku' THEN
        LOCK TABLE oms.order_lines IN SHARE MODE;
        PERFORM FROM oms.order_lines WHERE sku_id = OLD.id LIMIT 1;
    ELSIF TG_TABLE_NAME = 'channel' THEN
        LOCK TABLE oms.orders, oms.hold IN SHARE MODE;
        PERFORM FROM oms.orders WHERE channel_id = OLD.id
        UNION ALL
        SELECT FROM oms.hold WHERE channel_id = OLD.id LIMIT 1;
    ELSIF TG_TABLE_NAME = 'return_reason' THEN
        v_by := 'returns';
        LOCK TABLE oms.return_line IN SHARE MODE;
        PERFORM FROM oms.return_line WHERE reason_id = OLD.id LIMIT 1;
    ELSE
        v_by := 'orders or returns';
        LOCK TABLE oms.orders, oms.returns, oms.return_receipt IN SHARE MODE;
        PERFORM FROM oms.orders WHERE pickup_location_id = OLD.id
        UNION ALL
        SELECT FROM oms.returns WHERE return_location_id = OLD.id
        UNION ALL
        SELECT FROM oms.return_receipt WHERE location_id = OLD.id LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION '% "%" cannot be deleted: % refer to it', TG_TABLE_NAME, OLD.code, v_by
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Set active = false instead.';
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION oms.master_delete_guard() IS
    'Trigger: refuses to delete a channel, SKU, location or return reason that orders, holds or returns refer to.';
-- Units of a line in open returns: every return function changes them
-- under the order lock, so a REPEATABLE READ return that missed another
-- fails with a serialization error.  Units of completed claims are never
-- returnable again.  Returned, in-return and claimed units of an order line
-- change only through the return functions.
ALTER TABLE oms.order_lines
    ADD COLUMN qty_in_returns oms.units NOT NULL DEFAULT 0,
    ADD COLUMN qty_claimed oms.units NOT NULL DEFAULT 0,
    ADD CONSTRAINT order_lines_returns_check CHECK (qty_returned + qty_in_returns + qty_claimed <= qty_shipped);
COMMENT ON COLUMN oms.order_lines.qty_in_returns IS 'Units of the line in open returns (requested - received - missing of returns requested, authorized or partially received); every return function changes it under the order lock.';
COMMENT ON COLUMN oms.order_lines.qty_claimed IS 'Units of the line settled without coming back: by completed claims (lost or broken on the way, refunded or replaced), or refunded by a return closed before they arrived; never returnable again.';
DROP TRIGGER stock_guard ON oms.order_lines;
CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.order_lines
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('qty_reserved', 'qty_shipped', 'qty_cancelled', 'qty_backordered',
                                                  'qty_returned', 'qty_in_returns', 'qty_claimed');

-- Refunds, exchanges and claims of returns (issue 13): refunds linked to
-- their capture and return, replacement orders linked to the order they
-- replace.
ALTER TABLE oms.payment ADD COLUMN refund_of bigint, ADD COLUMN return_id bigint;
COMMENT ON COLUMN oms.payment.refund_of IS 'A refund''s capture (oms.payment id of kind capture, same order) that it takes back; NULL for a refund recorded by record_payment (taken from the oldest captures first).';
COMMENT ON COLUMN oms.payment.return_id IS 'The return a refund of oms.refund_return refunds; NULL otherwise.';
ALTER TABLE oms.orders ADD COLUMN replaces_order_id bigint, ADD COLUMN replaces_return_id bigint;
COMMENT ON COLUMN oms.orders.replaces_order_id IS 'On the replacement order of an exchange or a replace claim: the order whose return it replaces (oms.returns.replacement_order_id links the other way); else NULL.';
COMMENT ON COLUMN oms.orders.replaces_return_id IS 'On a replacement order: the return (exchange or replace claim) it was placed for; else NULL.';
--@include src/sql/68_refunds.sql

-- When units were cancelled (reports count cancellations on that day): one
-- row per cancellation from now on; a line cancelled before gets one row of
-- all its cancelled units, at its order's cancellation or last change.
CREATE SEQUENCE oms.order_cancellation_id_seq AS bigint;
CREATE TABLE oms.order_cancellation (
    order_id        bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.order_cancellation_id_seq'),
    line_no         integer NOT NULL,
    qty             oms.quantity NOT NULL,
    reason          text,
    cancelled_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, id)
);
ALTER SEQUENCE oms.order_cancellation_id_seq OWNED BY oms.order_cancellation.id;
COMMENT ON TABLE oms.order_cancellation IS 'Append-only: one row each time units of an order line are cancelled (oms.cancel_order, oms.cancel_line), so that reports count cancellations on the day they happened; the qty of a line''s rows add up to its qty_cancelled.';
COMMENT ON COLUMN oms.order_cancellation.order_id IS 'The order.';
COMMENT ON COLUMN oms.order_cancellation.id IS 'The cancellation''s id (oms.order_cancellation_id_seq).';
COMMENT ON COLUMN oms.order_cancellation.line_no IS 'The order line whose units were cancelled.';
COMMENT ON COLUMN oms.order_cancellation.qty IS 'Units cancelled.';
COMMENT ON COLUMN oms.order_cancellation.reason IS 'The reason given, if any.';
COMMENT ON COLUMN oms.order_cancellation.cancelled_at IS 'When they were cancelled.';
SELECT pg_catalog.pg_extension_config_dump('oms.order_cancellation', '');
SELECT pg_catalog.pg_extension_config_dump('oms.order_cancellation_id_seq', '');
INSERT INTO oms.order_cancellation (order_id, line_no, qty, reason, cancelled_at)
SELECT l.order_id, l.line_no, l.qty_cancelled, l.cancel_reason, coalesce(o.cancelled_at, o.updated_at)
  FROM oms.order_lines l JOIN oms.orders o ON o.order_id = l.order_id
 WHERE l.qty_cancelled > 0
 ORDER BY l.order_id, l.line_no;

-- Reporting for BI tools: schema oms_report, the rollups and their upkeep.
--@include src/sql/75_reporting.sql
-- The orders placed before: their figures, once.
SELECT oms.report_rebuild();

--
-- Available to promise per channel (README, "Available to promise"): buffer,
-- cap and low-stock threshold on the channel, a threshold per SKU, the feed
-- and the stock events; stock events come through the outbox and
-- claim_events; the invariants check the feed.
--
ALTER TABLE oms.channel
    ADD COLUMN atp_buffer integer NOT NULL DEFAULT 0,
    ADD COLUMN atp_cap integer,
    ADD COLUMN low_stock_threshold integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT channel_atp_buffer_check CHECK (atp_buffer >= 0),
    ADD CONSTRAINT channel_atp_cap_check CHECK (atp_cap >= 0),
    ADD CONSTRAINT channel_low_stock_threshold_check CHECK (low_stock_threshold >= 0);
COMMENT ON COLUMN oms.channel.atp_buffer IS 'Units of every SKU kept out of the available-to-promise figure this channel is shown (oms.atp_changes), on top of safety stock; oms.atp_policy may say otherwise per SKU.';
COMMENT ON COLUMN oms.channel.atp_cap IS 'Most units of any SKU this channel is shown as available to promise (NULL: no cap); oms.atp_policy may say otherwise per SKU.';
COMMENT ON COLUMN oms.channel.low_stock_threshold IS 'Default low-stock threshold of the channel''s stock events: a SKU at this many units or fewer (but more than 0) is low (0: no low_stock events); oms.sku and oms.atp_policy may say otherwise.';
ALTER TABLE oms.sku
    ADD COLUMN low_stock_threshold integer,
    ADD CONSTRAINT sku_low_stock_threshold_check CHECK (low_stock_threshold >= 0);
COMMENT ON COLUMN oms.sku.low_stock_threshold IS 'Low-stock threshold of this SKU''s stock events on every channel (NULL: each channel''s low_stock_threshold); oms.atp_policy may say otherwise per channel.';

--@include src/sql/65_atp.sql

CREATE OR REPLACE FUNCTION oms.claim_events(consumer text, max integer DEFAULT 100, lease interval DEFAULT '1 minute')
    RETURNS TABLE (event_id bigint, order_id bigint, entity text, entity_id bigint, from_status text,
                   to_status text, at timestamptz, created_by text, details jsonb, deliveries integer)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_consumer  oms.event_consumer;
    v_horizon   xid8 := pg_snapshot_xmin(pg_current_snapshot());
    v_ids       bigint[];
    v_fresh     bigint[];
    v_last_txid xid8;
BEGIN
    IF consumer IS NULL OR consumer = '' OR consumer <> btrim(consumer) OR length(consumer) > 100
       OR consumer LIKE 'oms:%' THEN
        RAISE EXCEPTION 'consumer must be 1 to 100 characters without surrounding blanks, not starting with "oms:"'
            USING ERRCODE = 'OM080';
    END IF;
    IF max IS NULL OR max NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max must be from 1 to 10000, not %', coalesce(max::text, 'NULL') USING ERRCODE = 'OM080';
    END IF;
    IF lease IS NULL OR lease <= interval '0' OR lease > interval '1 day' THEN
        RAISE EXCEPTION 'lease must be more than 0 and at most 1 day' USING ERRCODE = 'OM080';
    END IF;

    PERFORM oms.rebase_events();

    -- One claim of a consumer at a time: two never take the same event.
    INSERT INTO oms.event_consumer AS c (consumer) VALUES (claim_events.consumer) ON CONFLICT DO NOTHING;
    SELECT * INTO v_consumer FROM oms.event_consumer c WHERE c.consumer = claim_events.consumer FOR UPDATE;

    -- Leases that ran out without an acknowledgement are delivered again first.
    WITH again AS (
        UPDATE oms.event_lease l
           SET leased_until = clock_timestamp() + lease, deliveries = l.deliveries + 1
         WHERE l.consumer = claim_events.consumer
           AND l.event_id IN (SELECT x.event_id FROM oms.event_lease x
                               WHERE x.consumer = claim_events.consumer AND x.leased_until <= clock_timestamp()
                               ORDER BY x.event_id LIMIT max)
        RETURNING l.event_id)
    SELECT coalesce(array_agg(again.event_id), '{}') INTO v_ids FROM again;

    IF cardinality(v_ids) < max THEN
        WITH f AS (
            SELECT o.event_id, o.txid, o.order_id FROM oms.outbox o
             WHERE (o.txid, o.event_id) > (v_consumer.after_txid, v_consumer.after_id)
               AND o.txid < v_horizon
             ORDER BY o.txid, o.event_id
             LIMIT max - cardinality(v_ids)),
        leased AS (
            INSERT INTO oms.event_lease (consumer, event_id, order_id, leased_until)
            SELECT claim_events.consumer, f.event_id, f.order_id, clock_timestamp() + lease FROM f)
        SELECT coalesce(array_agg(f.event_id ORDER BY f.txid, f.event_id), '{}'),
               (array_agg(f.txid ORDER BY f.txid DESC, f.event_id DESC))[1]
          INTO v_fresh, v_last_txid
          FROM f;
        IF cardinality(v_fresh) > 0 THEN
            UPDATE oms.event_consumer c SET after_txid = v_last_txid, after_id = v_fresh[cardinality(v_fresh)]
             WHERE c.consumer = claim_events.consumer;
            v_ids := v_ids || v_fresh;
        END IF;
    END IF;

    RETURN QUERY
    SELECT x.* FROM (
        SELECT e.id, e.order_id, e.entity, e.entity_id, e.from_status, e.to_status, e.at, e.created_by, e.details,
               l.deliveries
          FROM oms.event_lease l
          JOIN oms.order_event e ON e.order_id = l.order_id AND e.id = l.event_id
         WHERE l.consumer = claim_events.consumer AND l.event_id = ANY (v_ids) AND l.order_id <> 0
        UNION ALL
        SELECT s.id, NULL::bigint, 'stock', s.sku_id, s.from_level, s.kind, s.at, s.created_by,
               jsonb_build_object('channel', c.code, 'sku', k.code, 'level', s.to_level, 'units', s.units,
                                  'previous', s.previous, 'available', s.available, 'threshold', s.threshold),
               l.deliveries
          FROM oms.event_lease l
          JOIN oms.stock_event s ON s.id = l.event_id
          LEFT JOIN oms.channel c ON c.id = s.channel_id
          LEFT JOIN oms.sku k ON k.id = s.sku_id
         WHERE l.consumer = claim_events.consumer AND l.event_id = ANY (v_ids) AND l.order_id = 0) x
     ORDER BY 1;
END
$$;
COMMENT ON FUNCTION oms.claim_events(text, integer, interval) IS
    'Claims up to max events for a consumer (registered on first use): first those whose lease ran out unacknowledged, then new ones in commit order.  Each is leased to this caller until acknowledged or the lease ends: delivery is at least once, and two callers never hold the same event.  Stock events come with order_id NULL, entity ''stock'' and the SKU id as entity_id.';

CREATE OR REPLACE FUNCTION oms.publish_events(max integer DEFAULT 1000)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pos       oms.event_consumer;
    v_horizon   xid8 := pg_snapshot_xmin(pg_current_snapshot());
    v_event     record;
    v_count     integer := 0;
BEGIN
    IF max IS NULL OR max NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max must be from 1 to 10000, not %', coalesce(max::text, 'NULL') USING ERRCODE = 'OM081';
    END IF;
    PERFORM oms.rebase_events();

    -- Nothing new, the usual case: return without taking a transaction id.
    SELECT * INTO v_pos FROM oms.event_consumer WHERE consumer = 'oms:notify';
    IF FOUND AND NOT EXISTS (SELECT FROM oms.outbox o
                              WHERE (o.txid, o.event_id) > (v_pos.after_txid, v_pos.after_id)
                                AND o.txid < v_horizon) THEN
        RETURN 0;
    END IF;
    INSERT INTO oms.event_consumer (consumer, after_txid) VALUES ('oms:notify', v_horizon) ON CONFLICT DO NOTHING;
    SELECT * INTO v_pos FROM oms.event_consumer WHERE consumer = 'oms:notify' FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;               -- another publisher is at work
    END IF;
    FOR v_event IN
        SELECT o.* FROM oms.outbox o
         WHERE (o.txid, o.event_id) > (v_pos.after_txid, v_pos.after_id) AND o.txid < v_horizon
         ORDER BY o.txid, o.event_id LIMIT max
    LOOP
        PERFORM pg_notify('oms_events', jsonb_build_object('id', v_event.event_id,
                                                           'order_id', nullif(v_event.order_id, 0),
                                                           'entity', v_event.entity, 'entity_id', v_event.entity_id,
                                                           'status', v_event.status)::text);
        v_pos.after_txid := v_event.txid;
        v_pos.after_id := v_event.event_id;
        v_count := v_count + 1;
    END LOOP;
    UPDATE oms.event_consumer SET after_txid = v_pos.after_txid, after_id = v_pos.after_id
     WHERE consumer = 'oms:notify';
    RETURN v_count;
END
$$;

-- oms.check_invariants() as this version defines it (new invariants land
-- there): after every object it names.
--@include src/sql/80_invariants.sql

-- Scaling out with Citus (issue 15): oms.distribute(), oms.citus_layout(),
-- oms.citus_forget().
--@include src/sql/85_citus.sql

CREATE OR REPLACE FUNCTION oms.grant_admin(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM oms.grant_app(role);
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON oms.channel, oms.location, oms.channel_location, oms.sku, '
                   'oms.routing_policy, oms.atp_policy, oms.return_reason, oms.return_policy, oms.report_stock_threshold TO %I', role);
    EXECUTE format('GRANT USAGE ON oms.channel_id_seq, oms.location_id_seq, oms.sku_id_seq, '
                   'oms.return_reason_id_seq TO %I', role);
END
$$;
COMMENT ON FUNCTION oms.grant_admin(name) IS
    'Lets a role do what oms.grant_app allows and also maintain master data (channels, locations, SKUs, routing and available-to-promise policies, return reasons and policies); only such a role may override a return policy.';

--
-- Privileges, last: as on a new install nothing is PUBLIC's, and each role
-- granted before the upgrade ends up with exactly what its grant function
-- gives in this version (new objects granted, dropped privileges revoked).
--
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA oms_report FROM PUBLIC;
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN
        WITH granted AS (
            SELECT a.grantee::regrole::text AS role, 'admin' AS kind
              FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = 'oms.channel'::regclass AND a.privilege_type = 'INSERT' AND a.grantee <> c.relowner
            UNION
            SELECT a.grantee::regrole::text, 'app'
              FROM pg_proc p, aclexplode(p.proacl) a
             WHERE p.oid = 'oms.place_order(text, text, jsonb, jsonb, jsonb)'::regprocedure
               AND a.privilege_type = 'EXECUTE' AND a.grantee NOT IN (0, p.proowner)
            UNION
            SELECT a.grantee::regrole::text, 'reporting'
              FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = 'oms.v_stock'::regclass AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner)
        SELECT role, CASE WHEN bool_or(kind = 'admin') THEN 'admin'
                          WHEN bool_or(kind = 'app') THEN 'app' ELSE 'reporting' END AS kind
          FROM granted GROUP BY role
    LOOP
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA oms FROM %I', v.role);
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oms FROM %I', v.role);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA oms FROM %I', v.role);
        EXECUTE format('REVOKE USAGE ON SCHEMA oms FROM %I', v.role);
        EXECUTE format('SELECT oms.grant_%s(%L)', v.kind, v.role);
    END LOOP;
END
$$;
