--
-- Orders: one row per order, its lines, the idempotency keys of the channels,
-- and the reservations that hold stock for the lines.
--
-- Everything that belongs to an order is keyed by order_id first (design.md,
-- "One key per aggregate").  Only oms functions write these tables.
--

CREATE SEQUENCE oms.order_id_seq AS bigint;
CREATE TABLE oms.orders (
    order_id        bigint PRIMARY KEY DEFAULT nextval('oms.order_id_seq'),
    channel_id      bigint NOT NULL,
    external_ref    oms.reference NOT NULL,
    status          oms.order_status NOT NULL DEFAULT 'pending',
    payment_status  text NOT NULL DEFAULT 'unpaid',
    customer        jsonb,
    ship_to         jsonb,
    currency        oms.currency NOT NULL DEFAULT 'EUR',
    units           oms.units NOT NULL DEFAULT 0,
    total_amount    oms.amount NOT NULL DEFAULT 0,
    options         jsonb NOT NULL DEFAULT '{}',
    pickup_location_id bigint,
    routing         json,
    placed_at       timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    cancelled_at    timestamptz,
    cancel_reason   text,
    order_discount  oms.amount NOT NULL DEFAULT 0,
    shipping_amount oms.amount NOT NULL DEFAULT 0,
    shipping_tax    oms.amount NOT NULL DEFAULT 0,
    shipping_discount oms.amount NOT NULL DEFAULT 0,
    prices_include_tax boolean NOT NULL DEFAULT false,
    fulfilment      oms.fulfilment NOT NULL DEFAULT 'merchant',
    fulfilment_location_id bigint,
    replaces_order_id bigint,
    replaces_return_id bigint
    -- No table constraints: every statement that writes a table prepares its
    -- CHECK constraints anew, so the rules of single columns are domains.
);
CREATE INDEX orders_channel_placed_idx ON oms.orders (channel_id, placed_at);
CREATE INDEX orders_pickup_location_idx ON oms.orders (pickup_location_id) WHERE pickup_location_id IS NOT NULL;
-- No index on status: no oms query needs one, and it would make every
-- status change of an order a non-HOT update of all its indexes.
COMMENT ON TABLE oms.orders IS 'One row per order placed through oms.place_order.';
COMMENT ON COLUMN oms.orders.external_ref IS 'The channel''s own reference for the order: its idempotency key.';
COMMENT ON COLUMN oms.orders.status IS 'pending | reserved | backordered | on_hold | partially_shipped | shipped | delivered | cancelled | closed; oms.v_transitions lists the legal changes.';
COMMENT ON COLUMN oms.orders.payment_status IS 'unpaid | authorized | partially_captured | captured | partially_refunded | refunded | voided, derived from oms.payment.';
COMMENT ON COLUMN oms.orders.ship_to IS 'Where the order goes, as given: name, address, city, postal_code, country, latitude, longitude.';
COMMENT ON COLUMN oms.orders.units IS 'Units ordered over all lines.';
COMMENT ON COLUMN oms.orders.total_amount IS 'The grand total, in currency: the sum of the line totals - order_discount + shipping_amount - shipping_discount + shipping_tax (the last only when prices_include_tax is false); README, "Orders".';
COMMENT ON COLUMN oms.orders.options IS 'The options the order was placed with.';
COMMENT ON COLUMN oms.orders.routing IS 'Why the order ships from where it does: strategy, search, objective values and plan, as oms.route_explain gives them (without the candidates); json, not jsonb: written once with every order and read rarely, it is a third smaller as text.';
COMMENT ON COLUMN oms.orders.order_discount IS 'Amount off the order as a whole (option order_discount), at most the sum of the line nets.';
COMMENT ON COLUMN oms.orders.shipping_amount IS 'Shipping price charged (option shipping.price).';
COMMENT ON COLUMN oms.orders.shipping_tax IS 'Tax on shipping (option shipping.tax); included in shipping_amount when prices_include_tax.';
COMMENT ON COLUMN oms.orders.shipping_discount IS 'Amount off shipping (option shipping.discount), at most shipping_amount.';
COMMENT ON COLUMN oms.orders.prices_include_tax IS 'Whether unit prices and the shipping price include their tax (option prices_include_tax): then tax is part of them, not added to the total.';
COMMENT ON COLUMN oms.orders.fulfilment IS 'merchant (oms routes, reserves and ships) | store (a till sale: sold from fulfilment_location_id at once, delivered) | marketplace (shipped by the marketplace from its own stock).';
COMMENT ON COLUMN oms.orders.fulfilment_location_id IS 'The store of a store-fulfilled order (option location), else NULL.';
COMMENT ON COLUMN oms.orders.replaces_order_id IS 'On the replacement order of an exchange or a replace claim: the order whose return it replaces (oms.returns.replacement_order_id links the other way); else NULL.';
COMMENT ON COLUMN oms.orders.replaces_return_id IS 'On a replacement order: the return (exchange or replace claim) it was placed for; else NULL.';
COMMENT ON COLUMN oms.orders.pickup_location_id IS 'The store the customer collects from (click and collect), else NULL.';

CREATE TABLE oms.order_ref (
    channel_id      bigint NOT NULL,
    external_ref    oms.reference NOT NULL,
    order_id        bigint NOT NULL,
    payload_hash    text NOT NULL,
    PRIMARY KEY (channel_id, external_ref)
);
COMMENT ON TABLE oms.order_ref IS 'Idempotency keys: (channel, external_ref) to the order placed under it, with a digest of what was placed.';

CREATE TABLE oms.order_lines (
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    sku_id          bigint NOT NULL,
    qty             oms.quantity NOT NULL,
    unit_price      oms.amount NOT NULL DEFAULT 0,
    qty_reserved    oms.units NOT NULL DEFAULT 0,
    qty_shipped     oms.units NOT NULL DEFAULT 0,
    qty_cancelled   oms.units NOT NULL DEFAULT 0,
    qty_backordered oms.units NOT NULL DEFAULT 0,
    qty_returned    oms.units NOT NULL DEFAULT 0,
    status          oms.line_status NOT NULL,
    cancel_reason   text,
    discount_amount oms.amount NOT NULL DEFAULT 0,
    tax_amount      oms.amount NOT NULL DEFAULT 0,
    external_line_id text,
    qty_in_returns  oms.units NOT NULL DEFAULT 0,
    qty_claimed     oms.units NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT order_lines_check CHECK (
        qty = qty_reserved + qty_shipped + qty_cancelled + qty_backordered AND qty_returned <= qty_shipped),
    CONSTRAINT order_lines_returns_check CHECK (qty_returned + qty_in_returns + qty_claimed <= qty_shipped)
);
CREATE INDEX order_lines_sku_idx ON oms.order_lines (sku_id);
COMMENT ON TABLE oms.order_lines IS 'The lines of an order; qty = qty_reserved + qty_shipped + qty_cancelled + qty_backordered always.';
COMMENT ON COLUMN oms.order_lines.qty_reserved IS 'Units held for the line by its held reservations.';
COMMENT ON COLUMN oms.order_lines.qty_backordered IS 'Units waiting for stock (placed with allow_backorder).';
COMMENT ON COLUMN oms.order_lines.unit_price IS 'Price of one unit as the channel sent it (tax included when the order''s prices_include_tax).';
COMMENT ON COLUMN oms.order_lines.discount_amount IS 'Amount off this line in total (not per unit), at most qty * unit_price.';
COMMENT ON COLUMN oms.order_lines.tax_amount IS 'Tax of this line in total; added to the line total unless the order''s prices_include_tax.';
COMMENT ON COLUMN oms.order_lines.external_line_id IS 'The channel''s own id of the line, if it sent one.';
COMMENT ON COLUMN oms.order_lines.qty_in_returns IS 'Units of the line in open returns (requested - received - missing of returns requested, authorized or partially received); every return function changes it under the order lock.';
COMMENT ON COLUMN oms.order_lines.qty_claimed IS 'Units of the line settled without coming back: by completed claims (lost or broken on the way, refunded or replaced), or refunded by a return closed before they arrived; never returnable again.';
COMMENT ON COLUMN oms.order_lines.status IS 'reserved | backordered | partially_shipped | shipped | delivered | cancelled, derived from the quantities and shipments.';

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

CREATE SEQUENCE oms.reservation_id_seq AS bigint;
CREATE TABLE oms.reservation (
    order_id        bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.reservation_id_seq'),
    line_no         integer NOT NULL,
    sku_id          bigint NOT NULL,
    location_id     bigint NOT NULL,
    slot            integer,
    qty             oms.quantity NOT NULL,
    state           oms.reservation_state NOT NULL DEFAULT 'held',
    created_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    PRIMARY KEY (order_id, id),
    CONSTRAINT reservation_check CHECK ((state = 'held') = (closed_at IS NULL))
);
COMMENT ON TABLE oms.reservation IS 'Units of an order line held at one location: held, then consumed (shipped) or released (cancelled).';
-- No foreign keys between an order's rows: oms.place_order writes the order,
-- its lines and its reservations in one statement, a foreign key would check
-- each line with a query of its own (a tenth of place_order's CPU time), and
-- oms.check_invariants() finds a line without its order and a reservation
-- without its line.  Nor from a reservation to its stock row: that belongs to
-- its SKU (design.md, "One key per aggregate"), and the key-share lock a
-- foreign key takes on every insert would make the buyers of a hot row queue
-- again.
COMMENT ON COLUMN oms.reservation.slot IS 'The oms.stock_slot the units came from, or NULL for the stock row itself.';

SELECT pg_catalog.pg_extension_config_dump('oms.orders', '');
SELECT pg_catalog.pg_extension_config_dump('oms.order_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.order_ref', '');
SELECT pg_catalog.pg_extension_config_dump('oms.order_lines', '');
SELECT pg_catalog.pg_extension_config_dump('oms.reservation', '');
SELECT pg_catalog.pg_extension_config_dump('oms.reservation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.order_cancellation', '');
SELECT pg_catalog.pg_extension_config_dump('oms.order_cancellation_id_seq', '');

--
-- Orders point at channels, SKUs and pickup locations without foreign keys:
-- a foreign key takes a key-share lock on the referenced row for every order,
-- and all the orders of a channel, or of a flash-sale SKU, would share one row
-- lock (a multixact that grows with every concurrent buyer).  Master data is
-- deactivated rather than deleted; this trigger refuses to delete a row that
-- orders or holds still name, locking those tables against new references
-- until the deleting transaction ends.
--
CREATE FUNCTION oms.master_delete_guard() RETURNS trigger
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
CREATE TRIGGER master_delete_guard BEFORE DELETE ON oms.channel
    FOR EACH ROW EXECUTE FUNCTION oms.master_delete_guard();
CREATE TRIGGER master_delete_guard BEFORE DELETE ON oms.sku
    FOR EACH ROW EXECUTE FUNCTION oms.master_delete_guard();
CREATE TRIGGER master_delete_guard BEFORE DELETE ON oms.location
    FOR EACH ROW EXECUTE FUNCTION oms.master_delete_guard();

CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.orders
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('units');
CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.reservation
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('qty', 'state');
CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.order_lines
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('qty_reserved', 'qty_shipped', 'qty_cancelled', 'qty_backordered',
                                                  'qty_returned', 'qty_in_returns', 'qty_claimed');

CREATE FUNCTION oms.place_order(channel text, external_ref text, lines jsonb,
                                ship_to jsonb DEFAULT NULL, options jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_place_order';
COMMENT ON FUNCTION oms.place_order(text, text, jsonb, jsonb, jsonb) IS
    'Places an order: validates it, routes it, reserves every line all-or-nothing and returns the order id; the same channel and external_ref again returns the same order.';

CREATE FUNCTION oms.cancel_order(order_id bigint, reason text)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_cancel_order';
COMMENT ON FUNCTION oms.cancel_order(bigint, text) IS
    'Cancels every open unit of an order and releases its reservations once; returns the units released (0 if it was cancelled already).';

CREATE FUNCTION oms.cancel_line(order_id bigint, line_no integer, qty integer, reason text)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_cancel_line';
COMMENT ON FUNCTION oms.cancel_line(bigint, integer, integer, text) IS
    'Cancels qty open units of one order line (backordered units first) and releases their reservations; returns the units released.';

CREATE FUNCTION oms.set_stock_slots(sku text, location text, slots integer)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_set_stock_slots';
COMMENT ON FUNCTION oms.set_stock_slots(text, text, integer) IS
    'Spreads a stock row over slots ahead of a known rush (0 gathers them back); oms also does this by itself when sessions queue for the row.';

--
-- Backorders that fill themselves (README, "Backorders").  The partial index
-- holds a line only while it waits for stock: oms.allocate_backorders and the
-- background worker find the SKUs with backorders, and their lines oldest
-- order first, without reading every line; a line placed in full never
-- enters it.
--
CREATE INDEX order_lines_backordered_idx ON oms.order_lines (sku_id, order_id) WHERE qty_backordered > 0;

CREATE FUNCTION oms.allocate_backorders(sku text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_allocate_backorders';
COMMENT ON FUNCTION oms.allocate_backorders(text) IS
    'Gives units that are free now to backordered order lines of the SKU (every SKU when NULL), oldest order first, as place_order would route them; returns the units given. An order another session holds is skipped until the next call.';
