--
-- The lifecycle of an order: legal status transitions as data, enforced by a
-- C trigger; shipments and their tracking; payments; and one event for every
-- transition, written to the history and to the outbox in the same
-- transaction (README, "Order lifecycle").
--

CREATE TABLE oms.transition (
    entity          text NOT NULL,
    from_status     text,
    to_status       text NOT NULL,
    CONSTRAINT transition_entity_check CHECK (entity IN ('order', 'line', 'shipment', 'payment', 'return'))
);
CREATE UNIQUE INDEX transition_key ON oms.transition (entity, coalesce(from_status, ''), to_status);
COMMENT ON TABLE oms.transition IS 'Legal status changes of orders, order lines, shipments, payments and returns; from_status NULL is the status oms creates a row in.  The transition_guard triggers refuse every other change.';

INSERT INTO oms.transition (entity, from_status, to_status)
SELECT 'order', f, t FROM (VALUES
    (NULL, 'pending'), (NULL, 'reserved'), (NULL, 'backordered'), (NULL, 'shipped'), (NULL, 'delivered'),
    ('pending', 'reserved'), ('pending', 'backordered'), ('pending', 'on_hold'), ('pending', 'cancelled'),
    ('reserved', 'on_hold'), ('reserved', 'partially_shipped'), ('reserved', 'shipped'), ('reserved', 'cancelled'),
    ('backordered', 'reserved'), ('backordered', 'on_hold'), ('backordered', 'partially_shipped'),
    ('backordered', 'cancelled'),
    ('on_hold', 'reserved'), ('on_hold', 'backordered'), ('on_hold', 'cancelled'),
    ('partially_shipped', 'shipped'), ('partially_shipped', 'delivered'),
    ('shipped', 'delivered'), ('shipped', 'closed'),
    ('delivered', 'closed'), ('cancelled', 'closed')) AS v(f, t)
UNION ALL
SELECT 'line', f, t FROM (VALUES
    (NULL, 'reserved'), (NULL, 'backordered'), (NULL, 'shipped'), (NULL, 'delivered'),
    ('reserved', 'partially_shipped'), ('reserved', 'shipped'), ('reserved', 'cancelled'),
    ('backordered', 'reserved'), ('backordered', 'partially_shipped'), ('backordered', 'cancelled'),
    ('partially_shipped', 'shipped'), ('partially_shipped', 'delivered'),
    ('shipped', 'delivered')) AS v(f, t)
UNION ALL
SELECT 'shipment', f, t FROM (VALUES
    (NULL, 'pending'),
    ('pending', 'shipped'), ('pending', 'cancelled'),
    ('shipped', 'in_transit'), ('shipped', 'out_for_delivery'), ('shipped', 'delivered'),
    ('shipped', 'delivery_failed'), ('shipped', 'returned_to_sender'),
    ('in_transit', 'out_for_delivery'), ('in_transit', 'delivered'), ('in_transit', 'delivery_failed'),
    ('in_transit', 'returned_to_sender'),
    ('out_for_delivery', 'in_transit'), ('out_for_delivery', 'delivered'), ('out_for_delivery', 'delivery_failed'),
    ('out_for_delivery', 'returned_to_sender'),
    ('delivery_failed', 'in_transit'), ('delivery_failed', 'out_for_delivery'), ('delivery_failed', 'delivered'),
    ('delivery_failed', 'returned_to_sender')) AS v(f, t)
UNION ALL
SELECT 'payment', f, t FROM (VALUES
    ('unpaid', 'authorized'),
    ('authorized', 'partially_captured'), ('authorized', 'captured'), ('authorized', 'voided'),
    ('voided', 'authorized'),
    ('partially_captured', 'captured'), ('partially_captured', 'partially_refunded'),
    ('partially_captured', 'refunded'),
    ('captured', 'partially_captured'), ('captured', 'partially_refunded'), ('captured', 'refunded'),
    ('partially_refunded', 'refunded'),
    ('refunded', 'partially_refunded')) AS v(f, t);

CREATE TRIGGER master_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.transition
    FOR EACH STATEMENT EXECUTE FUNCTION oms.master_changed();

-- The transitions are part of oms, not configuration: the engine derives
-- statuses along them, the extension's scripts write them, and pg_dump keeps
-- no change to them (they are not registered with pg_extension_config_dump).
-- So nothing else changes them, not even their owner.
CREATE FUNCTION oms.definition_guard() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'oms_definition_guard';
COMMENT ON FUNCTION oms.definition_guard() IS 'Trigger: refuses changes of oms.transition outside CREATE EXTENSION and ALTER EXTENSION UPDATE.';
CREATE TRIGGER definition_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.transition
    FOR EACH STATEMENT EXECUTE FUNCTION oms.definition_guard();

CREATE VIEW oms.v_transitions AS
SELECT entity, coalesce(from_status, '(new)') AS from_status, to_status
  FROM oms.transition
 ORDER BY array_position(ARRAY['order', 'line', 'shipment', 'payment', 'return'], entity),
          from_status NULLS FIRST, to_status;
COMMENT ON VIEW oms.v_transitions IS 'Every legal status change, by entity: what the transition_guard triggers allow.';

CREATE FUNCTION oms.transition_guard() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'oms_transition_guard';
COMMENT ON FUNCTION oms.transition_guard() IS 'Trigger: refuses a status that is not a legal transition (oms.transition) from the row''s old one; arguments are pairs of entity and status column.';
CREATE TRIGGER transition_guard BEFORE UPDATE ON oms.orders
    FOR EACH ROW EXECUTE FUNCTION oms.transition_guard('order', 'status', 'payment', 'payment_status');
CREATE TRIGGER transition_guard BEFORE UPDATE ON oms.order_lines
    FOR EACH ROW EXECUTE FUNCTION oms.transition_guard('line', 'status');

--
-- Shipments: units of an order from one location, then their journey.
--
CREATE SEQUENCE oms.shipment_id_seq AS bigint;
CREATE TABLE oms.shipment (
    order_id        bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.shipment_id_seq'),
    location_id     bigint NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    carrier         text,
    tracking_number text,
    status_at       timestamptz NOT NULL DEFAULT now(),
    status_details  jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    shipped_at      timestamptz,
    delivered_at    timestamptz,
    PRIMARY KEY (id),
    CONSTRAINT shipment_check CHECK (
        status IN ('pending', 'shipped', 'in_transit', 'out_for_delivery', 'delivered',
                   'delivery_failed', 'returned_to_sender', 'cancelled')
        AND (status IN ('pending', 'cancelled')) = (shipped_at IS NULL)
        AND (carrier IS NULL) = (shipped_at IS NULL))
);
ALTER SEQUENCE oms.shipment_id_seq OWNED BY oms.shipment.id;
CREATE INDEX shipment_order_idx ON oms.shipment (order_id);
COMMENT ON TABLE oms.shipment IS 'A parcel: units of one order from one location, created pending, then shipped and tracked to delivery.';
COMMENT ON COLUMN oms.shipment.status IS 'pending | shipped | in_transit | out_for_delivery | delivered | delivery_failed | returned_to_sender | cancelled.';
COMMENT ON COLUMN oms.shipment.status_at IS 'When the event that set the status happened (a carrier scan''s time for tracking statuses).';

CREATE TABLE oms.shipment_line (
    shipment_id     bigint NOT NULL,
    line_no         integer NOT NULL,
    order_id        bigint NOT NULL,
    qty             oms.quantity NOT NULL,
    PRIMARY KEY (shipment_id, line_no)
);
CREATE INDEX shipment_line_order_idx ON oms.shipment_line (order_id, line_no);
COMMENT ON TABLE oms.shipment_line IS 'Units of an order line in a shipment.';

CREATE SEQUENCE oms.tracking_event_id_seq AS bigint;
CREATE TABLE oms.tracking_event (
    shipment_id     bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.tracking_event_id_seq'),
    status          text NOT NULL,
    at              timestamptz NOT NULL,
    details         jsonb,
    applied         boolean NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shipment_id, id)
);
ALTER SEQUENCE oms.tracking_event_id_seq OWNED BY oms.tracking_event.id;
COMMENT ON TABLE oms.tracking_event IS 'Every carrier scan oms.track received; applied is false for a scan older than the shipment''s status (it never moves the status backwards).';

CREATE TRIGGER transition_guard BEFORE UPDATE ON oms.shipment
    FOR EACH ROW EXECUTE FUNCTION oms.transition_guard('shipment', 'status');

--
-- Payments: authorizations, captures, refunds and voids of an order, each a
-- row; the order's payment_status follows from their sums.
--
CREATE SEQUENCE oms.payment_id_seq AS bigint;
CREATE TABLE oms.payment (
    order_id        bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.payment_id_seq'),
    kind            text NOT NULL,
    amount          numeric NOT NULL,
    provider_ref    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL,
    refund_of       bigint,
    return_id       bigint,
    PRIMARY KEY (id),
    CONSTRAINT payment_check CHECK (
        kind IN ('authorize', 'capture', 'refund', 'void') AND amount > 0
        AND (provider_ref IS NULL OR (provider_ref <> '' AND length(provider_ref) <= 200)))
);
ALTER SEQUENCE oms.payment_id_seq OWNED BY oms.payment.id;
CREATE INDEX payment_order_idx ON oms.payment (order_id);
CREATE UNIQUE INDEX payment_provider_ref_key ON oms.payment (provider_ref) WHERE provider_ref IS NOT NULL;
COMMENT ON TABLE oms.payment IS 'Money movements of an order as the payment provider reported them: authorize, capture, refund, void.';
COMMENT ON COLUMN oms.payment.provider_ref IS 'The provider''s id of the operation: the same provider_ref twice records it once.';
COMMENT ON COLUMN oms.payment.refund_of IS 'A refund''s capture (oms.payment id of kind capture, same order) that it takes back; NULL for a refund recorded by record_payment (taken from the oldest captures first).';
COMMENT ON COLUMN oms.payment.return_id IS 'The return a refund of oms.refund_return refunds; NULL otherwise.';

--
-- Events: one row per transition, in the history and in the outbox.
--
CREATE SEQUENCE oms.order_event_id_seq AS bigint;
CREATE TABLE oms.order_event (
    order_id        bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.order_event_id_seq'),
    entity          text NOT NULL,
    entity_id       bigint NOT NULL,
    from_status     text,
    to_status       text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL,
    details         jsonb,
    PRIMARY KEY (order_id, id)
);
ALTER SEQUENCE oms.order_event_id_seq OWNED BY oms.order_event.id;
COMMENT ON TABLE oms.order_event IS 'Append-only history: one row for every status transition of an order, its lines (entity_id is the line_no), shipments and payment status.';
COMMENT ON COLUMN oms.order_event.created_by IS 'The role that called the oms function (not the function''s owner).';

CREATE TABLE oms.outbox (
    txid            xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    event_id        bigint NOT NULL,
    order_id        bigint NOT NULL,
    entity          text NOT NULL,
    entity_id       bigint NOT NULL,
    status          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (txid, event_id)
);
COMMENT ON TABLE oms.outbox IS 'Events still to be delivered, written with oms.order_event in the same transaction; consumers read it with oms.claim_events, oms.purge_outbox trims it.';
COMMENT ON COLUMN oms.outbox.txid IS 'The writing transaction: consumers read events in (txid, event_id) order, and only those of transactions that can no longer commit behind them.';

CREATE TRIGGER ledger_guard BEFORE UPDATE OR DELETE ON oms.order_event
    FOR EACH ROW EXECUTE FUNCTION oms.ledger_guard();
CREATE TRIGGER ledger_guard_truncate BEFORE TRUNCATE ON oms.order_event
    FOR EACH STATEMENT EXECUTE FUNCTION oms.ledger_guard();

CREATE FUNCTION oms.record_events() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'oms_record_events';
COMMENT ON FUNCTION oms.record_events() IS 'Statement trigger: writes one oms.order_event and one oms.outbox row for every status an UPDATE changed.';
-- Rows oms creates come with their first event from the function that
-- creates them; pg_restore and logical replication only insert, so neither
-- guard nor events fire for them.
CREATE TRIGGER record_events AFTER UPDATE ON oms.orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION oms.record_events('order');
CREATE TRIGGER record_events AFTER UPDATE ON oms.order_lines
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION oms.record_events('line');
CREATE TRIGGER record_events AFTER UPDATE ON oms.shipment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION oms.record_events('shipment');

SELECT pg_catalog.pg_extension_config_dump('oms.shipment', '');
SELECT pg_catalog.pg_extension_config_dump('oms.shipment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.shipment_line', '');
SELECT pg_catalog.pg_extension_config_dump('oms.tracking_event', '');
SELECT pg_catalog.pg_extension_config_dump('oms.tracking_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.payment', '');
SELECT pg_catalog.pg_extension_config_dump('oms.payment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.order_event', '');
SELECT pg_catalog.pg_extension_config_dump('oms.order_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.outbox', '');

CREATE FUNCTION oms.create_shipment(order_id bigint, location text, lines jsonb DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_create_shipment';
COMMENT ON FUNCTION oms.create_shipment(bigint, text, jsonb) IS
    'Creates a pending shipment of an order''s units reserved at a location -- every one not yet in a shipment, or the [{"line_no", "qty"}] given -- and returns its id.';

CREATE FUNCTION oms.ship(shipment_id bigint, carrier text, tracking_number text DEFAULT NULL)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_ship';
COMMENT ON FUNCTION oms.ship(bigint, text, text) IS
    'Hands a pending shipment to a carrier: consumes its reservations, takes the units off on_hand through the ledger (kind shipment) and moves lines and order on.';

CREATE FUNCTION oms.track(shipment_id bigint, status text, at timestamptz DEFAULT now(), details jsonb DEFAULT NULL)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_track';
COMMENT ON FUNCTION oms.track(bigint, text, timestamptz, jsonb) IS
    'Records a carrier scan (in_transit, out_for_delivery, delivered, delivery_failed, returned_to_sender); a scan older than the shipment''s status is kept but moves nothing.';

CREATE FUNCTION oms.cancel_shipment(shipment_id bigint)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_cancel_shipment';
COMMENT ON FUNCTION oms.cancel_shipment(bigint) IS
    'Calls off a pending shipment; its units stay reserved for the order.';

CREATE FUNCTION oms.record_payment(order_id bigint, kind text, amount numeric, provider_ref text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_record_payment';
COMMENT ON FUNCTION oms.record_payment(bigint, text, numeric, text) IS
    'Records an authorize, capture, refund or void of an order''s money and returns its id; never captures more than authorized nor refunds more than captured; the same provider_ref again returns the same id.';

CREATE FUNCTION oms.hold_order(order_id bigint)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_hold_order';
COMMENT ON FUNCTION oms.hold_order(bigint) IS
    'Puts a pending, reserved or backordered order on hold: it keeps its reservations but ships nothing until oms.release_order.';

CREATE FUNCTION oms.release_order(order_id bigint)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_release_order';
COMMENT ON FUNCTION oms.release_order(bigint) IS
    'Takes an order off hold: it is reserved again, or backordered if a line waits for stock.';

CREATE FUNCTION oms.close_order(order_id bigint)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_close_order';
COMMENT ON FUNCTION oms.close_order(bigint) IS
    'Closes a delivered or cancelled order, or a shipped one every shipped unit of which came back (a parcel returned to sender and received): its final status.';
