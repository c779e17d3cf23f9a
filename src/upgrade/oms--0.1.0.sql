-- oms install script, assembled by the Makefile from src/sql/*.sql in name order.

\echo Use "CREATE EXTENSION oms" to load this file. \quit
--
-- Domains: the rules of single columns of the tables that every order writes.
--
-- PostgreSQL parses and plans a domain's check once per session and keeps it
-- in its type cache, but a table's CHECK constraints in every statement that
-- writes the table: parsing and planning them was a quarter of the CPU time of
-- oms.place_order (test/bench/README.md).  So on those tables a rule about one
-- column is its type, and only the rules that tie columns together remain
-- table constraints.
--

CREATE DOMAIN oms.units AS integer CHECK (VALUE >= 0);
COMMENT ON DOMAIN oms.units IS 'A number of units: 0 or more.';

CREATE DOMAIN oms.quantity AS integer CHECK (VALUE > 0);
COMMENT ON DOMAIN oms.quantity IS 'A number of units asked for, held or moved: 1 or more.';

CREATE DOMAIN oms.amount AS numeric CHECK (VALUE >= 0);
COMMENT ON DOMAIN oms.amount IS 'A price or total in the order''s currency: 0 or more.';

CREATE DOMAIN oms.currency AS text CHECK (VALUE ~ '^[A-Z]{3}$');
COMMENT ON DOMAIN oms.currency IS 'An ISO 4217 currency code, three capital letters.';

CREATE DOMAIN oms.reference AS text
    CHECK (VALUE <> '' AND VALUE = btrim(VALUE) AND length(VALUE) <= 200);
COMMENT ON DOMAIN oms.reference IS 'A caller''s reference (external_ref, hold_ref): 1 to 200 characters without surrounding blanks.';

CREATE DOMAIN oms.slot_count AS integer CHECK (VALUE BETWEEN 0 AND 256);
COMMENT ON DOMAIN oms.slot_count IS 'Slots a hot stock row is spread over: 0 (not hot) to 256.';

CREATE DOMAIN oms.order_status AS text
    CHECK (VALUE IN ('pending', 'reserved', 'backordered', 'on_hold', 'partially_shipped',
                     'shipped', 'delivered', 'cancelled', 'closed'));
COMMENT ON DOMAIN oms.order_status IS 'The status of an order; oms.v_transitions lists the legal changes.';

CREATE DOMAIN oms.line_status AS text
    CHECK (VALUE IN ('reserved', 'backordered', 'partially_shipped', 'shipped', 'delivered', 'cancelled'));
COMMENT ON DOMAIN oms.line_status IS 'The status of an order line; oms.v_transitions lists the legal changes.';

CREATE DOMAIN oms.reservation_state AS text CHECK (VALUE IN ('held', 'consumed', 'released'));
COMMENT ON DOMAIN oms.reservation_state IS 'held until the units ship (consumed) or go back to stock (released).';
--
-- Master data: channels, locations, which locations serve which channel, SKUs.
--
-- Small tables an admin maintains with plain INSERT and UPDATE.  Codes are the
-- business keys every API takes; ids are bigint from sequences (design.md,
-- "One key type").
--

CREATE SEQUENCE oms.channel_id_seq AS bigint;
CREATE TABLE oms.channel (
    id              bigint PRIMARY KEY DEFAULT nextval('oms.channel_id_seq'),
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    kind            text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    safety_stock    integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT channel_code_check CHECK (code <> '' AND code = btrim(code) AND length(code) <= 100),
    CONSTRAINT channel_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT channel_kind_check CHECK (kind IN ('web', 'app', 'pos', 'marketplace', 'erp')),
    CONSTRAINT channel_safety_stock_check CHECK (safety_stock >= 0)
);
ALTER SEQUENCE oms.channel_id_seq OWNED BY oms.channel.id;
COMMENT ON TABLE oms.channel IS 'Where orders come from: web shop, app, store (pos), marketplace, ERP.';
COMMENT ON COLUMN oms.channel.code IS 'Business key the API takes: non-empty, no surrounding blanks, at most 100 characters.';
COMMENT ON COLUMN oms.channel.kind IS 'web | app | pos | marketplace | erp.';
COMMENT ON COLUMN oms.channel.active IS 'An inactive channel places no orders.';
COMMENT ON COLUMN oms.channel.safety_stock IS 'Units kept back from this channel at every location, unless oms.channel_location says otherwise.';

CREATE SEQUENCE oms.location_id_seq AS bigint;
CREATE TABLE oms.location (
    id              bigint PRIMARY KEY DEFAULT nextval('oms.location_id_seq'),
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    kind            text NOT NULL,
    latitude        double precision NOT NULL,
    longitude       double precision NOT NULL,
    priority        integer NOT NULL DEFAULT 0,
    can_ship        boolean NOT NULL DEFAULT true,
    can_pickup      boolean NOT NULL DEFAULT false,
    daily_capacity  integer,
    shipping_cost_fixed  numeric,
    shipping_cost_per_km numeric,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT location_code_check CHECK (code <> '' AND code = btrim(code) AND length(code) <= 100),
    CONSTRAINT location_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT location_kind_check CHECK (kind IN ('warehouse', 'store', 'dropship', '3pl')),
    CONSTRAINT location_latitude_check CHECK (latitude BETWEEN -90 AND 90),
    CONSTRAINT location_longitude_check CHECK (longitude BETWEEN -180 AND 180),
    CONSTRAINT location_priority_check CHECK (priority >= 0),
    CONSTRAINT location_daily_capacity_check CHECK (daily_capacity >= 0),
    CONSTRAINT location_shipping_cost_check CHECK (
        (shipping_cost_fixed IS NULL) = (shipping_cost_per_km IS NULL)
        AND shipping_cost_fixed BETWEEN 0 AND 1000000000
        AND shipping_cost_per_km BETWEEN 0 AND 10000)
);
ALTER SEQUENCE oms.location_id_seq OWNED BY oms.location.id;
COMMENT ON TABLE oms.location IS 'Where stock is kept and orders are fulfilled from: warehouse, store, dropship vendor, 3PL.';
COMMENT ON COLUMN oms.location.kind IS 'warehouse | store | dropship | 3pl.';
COMMENT ON COLUMN oms.location.latitude IS 'Degrees north, in [-90, 90].';
COMMENT ON COLUMN oms.location.longitude IS 'Degrees east, in [-180, 180].';
COMMENT ON COLUMN oms.location.priority IS 'Higher is preferred when routing has no other reason to choose.';
COMMENT ON COLUMN oms.location.can_ship IS 'Ships parcels to customers.';
COMMENT ON COLUMN oms.location.can_pickup IS 'Customers collect orders here (click and collect).';
COMMENT ON COLUMN oms.location.daily_capacity IS 'Orders routed to this location per day (UTC) at most; NULL is unlimited.';
COMMENT ON COLUMN oms.location.shipping_cost_fixed IS 'Cost model: cost of one shipment from here, before distance; NULL (with shipping_cost_per_km) weighs a shipment by its distance in km.';
COMMENT ON COLUMN oms.location.shipping_cost_per_km IS 'Cost model: cost per great-circle km from here to the ship-to point.';
COMMENT ON COLUMN oms.location.active IS 'An inactive location is never promised nor routed to.';

CREATE TABLE oms.channel_location (
    channel_id      bigint NOT NULL REFERENCES oms.channel (id) ON DELETE CASCADE,
    location_id     bigint NOT NULL REFERENCES oms.location (id) ON DELETE CASCADE,
    safety_stock    integer,
    PRIMARY KEY (channel_id, location_id),
    CONSTRAINT channel_location_safety_stock_check CHECK (safety_stock >= 0)
);
CREATE INDEX channel_location_location_idx ON oms.channel_location (location_id);
COMMENT ON TABLE oms.channel_location IS 'Locations that may fulfil a channel; a channel with no rows here may use every active location.';
COMMENT ON COLUMN oms.channel_location.safety_stock IS 'Units of every SKU at this location kept back from this channel; NULL takes the channel''s safety_stock.';

CREATE SEQUENCE oms.sku_id_seq AS bigint;
CREATE TABLE oms.sku (
    id              bigint PRIMARY KEY DEFAULT nextval('oms.sku_id_seq'),
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    attributes      jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sku_code_check CHECK (code <> '' AND code = btrim(code) AND length(code) <= 100),
    CONSTRAINT sku_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT sku_attributes_check CHECK (jsonb_typeof(attributes) = 'object')
);
ALTER SEQUENCE oms.sku_id_seq OWNED BY oms.sku.id;
COMMENT ON TABLE oms.sku IS 'What is sold: one row per stock keeping unit.';
COMMENT ON COLUMN oms.sku.active IS 'An inactive SKU can still be stocked but not sold.';
COMMENT ON COLUMN oms.sku.attributes IS 'Free-form product attributes (a JSON object).';

SELECT pg_catalog.pg_extension_config_dump('oms.channel', '');
SELECT pg_catalog.pg_extension_config_dump('oms.channel_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.location', '');
SELECT pg_catalog.pg_extension_config_dump('oms.location_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.channel_location', '');
SELECT pg_catalog.pg_extension_config_dump('oms.sku', '');
SELECT pg_catalog.pg_extension_config_dump('oms.sku_id_seq', '');

-- Routing keeps channels and locations in backend memory; a change to them
-- tells every backend to reload.
CREATE FUNCTION oms.master_changed() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'oms_master_changed';
COMMENT ON FUNCTION oms.master_changed() IS 'Trigger: makes every backend reload its cached channels and locations.';
CREATE TRIGGER master_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.channel
    FOR EACH STATEMENT EXECUTE FUNCTION oms.master_changed();
CREATE TRIGGER master_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.location
    FOR EACH STATEMENT EXECUTE FUNCTION oms.master_changed();
CREATE TRIGGER master_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.channel_location
    FOR EACH STATEMENT EXECUTE FUNCTION oms.master_changed();
--
-- Stock per SKU and location, and the append-only ledger of every on_hand change.
--
-- on_hand and reserved change only inside oms's own C functions: the trigger
-- oms.stock_guard refuses any other UPDATE of them, and oms.ledger_guard any
-- UPDATE, DELETE or TRUNCATE of the ledger.  Both stand aside for rows written
-- by logical replication and by restores run with session_replication_role =
-- replica, as ordinary triggers do.
--

CREATE TABLE oms.stock (
    sku_id          bigint NOT NULL REFERENCES oms.sku (id),
    location_id     bigint NOT NULL REFERENCES oms.location (id),
    on_hand         integer NOT NULL DEFAULT 0,
    reserved        oms.units NOT NULL DEFAULT 0,
    held            oms.units NOT NULL DEFAULT 0,
    escrow          oms.units NOT NULL DEFAULT 0,
    safety_stock    oms.units NOT NULL DEFAULT 0,
    slots           oms.slot_count NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sku_id, location_id),
    -- Never promise more than is there.  The rules of single columns are
    -- domains, parsed once per session rather than per statement (see
    -- 05_domains.sql); stock rows are written by every order.
    CONSTRAINT stock_units_check CHECK (reserved + held + escrow <= on_hand)
);
CREATE INDEX stock_location_idx ON oms.stock (location_id);
COMMENT ON TABLE oms.stock IS 'Units of one SKU at one location. Changed only through the oms functions; read oms.v_stock.';
COMMENT ON COLUMN oms.stock.on_hand IS 'Units physically at the location: the sum of its oms.stock_movement rows.';
COMMENT ON COLUMN oms.stock.reserved IS 'Units of on_hand reserved for orders through this row (a hot row reserves most units through its oms.stock_slot rows instead).';
COMMENT ON COLUMN oms.stock.held IS 'Units held for carts and checkouts by oms.hold_stock, expired holds included until they are cleaned up.';
COMMENT ON COLUMN oms.stock.escrow IS 'Units handed to the row''s oms.stock_slot rows: the sum of their quotas.';
COMMENT ON COLUMN oms.stock.safety_stock IS 'Units never promised to any channel (set with oms.set_safety_stock).';
COMMENT ON COLUMN oms.stock.slots IS 'Number of oms.stock_slot rows spreading this row''s units (0: not hot); set automatically under contention or with oms.set_stock_slots.';

--
-- Hot rows.  A stock row that many sessions reserve from at once hands its
-- free units to slots: each slot has a quota and reserves up to it under its
-- own row lock, so concurrent reservations rarely wait for one another.  The
-- sum of the quotas is the row's escrow, counted against on_hand like
-- reserved, so slots can never promise more than the row has.
--
CREATE TABLE oms.stock_slot (
    sku_id          bigint NOT NULL,
    location_id     bigint NOT NULL,
    slot            integer NOT NULL,
    quota           oms.units NOT NULL DEFAULT 0,
    reserved        oms.units NOT NULL DEFAULT 0,
    PRIMARY KEY (sku_id, location_id, slot),
    FOREIGN KEY (sku_id, location_id) REFERENCES oms.stock (sku_id, location_id),
    CONSTRAINT stock_slot_reserved_check CHECK (reserved <= quota)
);
COMMENT ON TABLE oms.stock_slot IS 'Units of a hot stock row spread over slots that reserve independently; see oms.stock.slots.';
COMMENT ON COLUMN oms.stock_slot.quota IS 'Units of the stock row this slot may reserve.';
COMMENT ON COLUMN oms.stock_slot.reserved IS 'Units reserved for orders through this slot.';

CREATE SEQUENCE oms.stock_movement_id_seq AS bigint;
CREATE TABLE oms.stock_movement (
    sku_id          bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.stock_movement_id_seq'),
    location_id     bigint NOT NULL,
    kind            text NOT NULL,
    quantity        integer NOT NULL,
    on_hand_after   integer NOT NULL,
    reason          text,
    reference       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL,
    PRIMARY KEY (sku_id, id),
    FOREIGN KEY (sku_id, location_id) REFERENCES oms.stock (sku_id, location_id),
    CONSTRAINT stock_movement_kind_check
        CHECK (kind IN ('receipt', 'adjustment', 'count', 'shipment', 'return')),
    CONSTRAINT stock_movement_quantity_check CHECK (
        CASE kind
            WHEN 'receipt' THEN quantity > 0
            WHEN 'return' THEN quantity > 0
            WHEN 'shipment' THEN quantity < 0
            WHEN 'adjustment' THEN quantity <> 0
            ELSE true
        END),
    CONSTRAINT stock_movement_on_hand_after_check CHECK (on_hand_after >= 0)
);
ALTER SEQUENCE oms.stock_movement_id_seq OWNED BY oms.stock_movement.id;
CREATE INDEX stock_movement_stock_idx ON oms.stock_movement (sku_id, location_id, id);
COMMENT ON TABLE oms.stock_movement IS 'Append-only ledger: one row for every change of on_hand.';
COMMENT ON COLUMN oms.stock_movement.kind IS 'receipt | adjustment | count | shipment | return.';
COMMENT ON COLUMN oms.stock_movement.quantity IS 'Signed change of on_hand (0 for a count that found what the books said).';
COMMENT ON COLUMN oms.stock_movement.on_hand_after IS 'on_hand once this movement was applied.';
COMMENT ON COLUMN oms.stock_movement.reference IS 'What caused the movement, e.g. a shipment or return id.';
COMMENT ON COLUMN oms.stock_movement.created_by IS 'The role that called the oms function (not the function''s owner).';

SELECT pg_catalog.pg_extension_config_dump('oms.stock', '');
SELECT pg_catalog.pg_extension_config_dump('oms.stock_slot', '');
SELECT pg_catalog.pg_extension_config_dump('oms.stock_movement', '');
SELECT pg_catalog.pg_extension_config_dump('oms.stock_movement_id_seq', '');

CREATE FUNCTION oms.stock_guard() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'oms_stock_guard';
COMMENT ON FUNCTION oms.stock_guard() IS 'Trigger: refuses changes of the unit columns named as its arguments, and deletes of rows that still count units, made outside the oms functions.';
CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.stock
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('on_hand', 'reserved', 'held', 'escrow');
CREATE TRIGGER stock_guard_truncate BEFORE TRUNCATE ON oms.stock
    FOR EACH STATEMENT EXECUTE FUNCTION oms.stock_guard();
CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.stock_slot
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('quota', 'reserved');
CREATE TRIGGER stock_guard_truncate BEFORE TRUNCATE ON oms.stock_slot
    FOR EACH STATEMENT EXECUTE FUNCTION oms.stock_guard();

CREATE FUNCTION oms.ledger_guard() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'oms_ledger_guard';
COMMENT ON FUNCTION oms.ledger_guard() IS 'Trigger: keeps oms.stock_movement append-only.';
CREATE TRIGGER ledger_guard BEFORE UPDATE OR DELETE ON oms.stock_movement
    FOR EACH ROW EXECUTE FUNCTION oms.ledger_guard();
CREATE TRIGGER ledger_guard_truncate BEFORE TRUNCATE ON oms.stock_movement
    FOR EACH STATEMENT EXECUTE FUNCTION oms.ledger_guard();

-- The ledgered stock functions run as the extension's owner, because the
-- application role may not write oms.stock itself; they record the calling
-- role in the ledger.
--
-- Every oms function that writes looks rows up by key, with plans a session
-- builds once from the statistics of that moment.  enable_seqscan = off keeps
-- a table that was nearly empty then (slots, holds) from being read whole on
-- every call once it has filled up; jit = off, because the cost penalty of a
-- seq scan that is still needed (the master-data cache reads whole tables)
-- would otherwise pass the JIT threshold and compile code for ten rows.
CREATE FUNCTION oms.receive_stock(sku text, location text, qty integer, reason text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_receive_stock';
COMMENT ON FUNCTION oms.receive_stock(text, text, integer, text) IS
    'Adds qty units to on_hand (a receipt in the ledger), creating the stock row on first receipt; returns the new on_hand.';

CREATE FUNCTION oms.adjust_stock(sku text, location text, delta integer, reason text)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_adjust_stock';
COMMENT ON FUNCTION oms.adjust_stock(text, text, integer, text) IS
    'Changes on_hand by delta (an adjustment in the ledger, reason required); never below 0 nor below reserved; returns the new on_hand.';

CREATE FUNCTION oms.count_stock(sku text, location text, counted integer, reason text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_count_stock';
COMMENT ON FUNCTION oms.count_stock(text, text, integer, text) IS
    'Records a cycle count: sets on_hand to counted and writes the difference to the ledger; returns the new on_hand.';

CREATE FUNCTION oms.set_safety_stock(sku text, location text, units integer)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_set_safety_stock';
COMMENT ON FUNCTION oms.set_safety_stock(text, text, integer) IS
    'Sets the units of a SKU at a location that no channel may be promised.';

CREATE FUNCTION oms.available(sku text, channel text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_available';
COMMENT ON FUNCTION oms.available(text, text) IS
    'Units of a SKU that can be promised to a channel (any channel when NULL): the sum over its eligible active locations of on_hand - reserved - safety stock, each never below 0.';
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
    cancel_reason   text
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
COMMENT ON COLUMN oms.orders.total_amount IS 'Sum over the lines of qty * unit_price, in currency.';
COMMENT ON COLUMN oms.orders.options IS 'The options the order was placed with.';
COMMENT ON COLUMN oms.orders.routing IS 'Why the order ships from where it does: strategy, search, objective values and plan, as oms.route_explain gives them (without the candidates); json, not jsonb: written once with every order and read rarely, it is a third smaller as text.';
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
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT order_lines_check CHECK (
        qty = qty_reserved + qty_shipped + qty_cancelled + qty_backordered AND qty_returned <= qty_shipped)
);
CREATE INDEX order_lines_sku_idx ON oms.order_lines (sku_id);
COMMENT ON TABLE oms.order_lines IS 'The lines of an order; qty = qty_reserved + qty_shipped + qty_cancelled + qty_backordered always.';
COMMENT ON COLUMN oms.order_lines.qty_reserved IS 'Units held for the line by its held reservations.';
COMMENT ON COLUMN oms.order_lines.qty_backordered IS 'Units waiting for stock (placed with allow_backorder).';
COMMENT ON COLUMN oms.order_lines.status IS 'reserved | backordered | partially_shipped | shipped | delivered | cancelled, derived from the quantities and shipments.';

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
BEGIN
    IF TG_TABLE_NAME = 'sku' THEN
        LOCK TABLE oms.order_lines IN SHARE MODE;
        PERFORM FROM oms.order_lines WHERE sku_id = OLD.id LIMIT 1;
    ELSIF TG_TABLE_NAME = 'channel' THEN
        LOCK TABLE oms.orders, oms.hold IN SHARE MODE;
        PERFORM FROM oms.orders WHERE channel_id = OLD.id
        UNION ALL
        SELECT FROM oms.hold WHERE channel_id = OLD.id LIMIT 1;
    ELSE
        LOCK TABLE oms.orders IN SHARE MODE;
        PERFORM FROM oms.orders WHERE pickup_location_id = OLD.id LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION '% "%" cannot be deleted: orders or holds refer to it', TG_TABLE_NAME, OLD.code
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Set active = false instead.';
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION oms.master_delete_guard() IS
    'Trigger: refuses to delete a channel, SKU or location that orders or holds refer to.';
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
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('qty_reserved', 'qty_shipped', 'qty_cancelled', 'qty_backordered');

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
-- Cart and checkout holds: units set aside for a while, keyed by the
-- caller's hold_ref.  Held units count against availability until the hold
-- expires; an expired hold never blocks a sale, even before oms.expire_holds
-- (or the background worker) has cleaned it up.
--

CREATE TABLE oms.hold (
    hold_ref        oms.reference PRIMARY KEY,
    channel_id      bigint NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hold_expires_idx ON oms.hold (expires_at);
COMMENT ON TABLE oms.hold IS 'Cart and checkout holds; see oms.hold_stock.';

CREATE TABLE oms.hold_line (
    hold_ref        oms.reference NOT NULL REFERENCES oms.hold (hold_ref),
    sku_id          bigint NOT NULL,
    location_id     bigint NOT NULL,
    qty             oms.quantity NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (hold_ref, sku_id, location_id)
);
CREATE INDEX hold_line_stock_idx ON oms.hold_line (sku_id, location_id, expires_at);
COMMENT ON TABLE oms.hold_line IS 'Units a hold sets aside at one location; expires_at repeats the hold''s so that a sale can skip expired lines.';

SELECT pg_catalog.pg_extension_config_dump('oms.hold', '');
SELECT pg_catalog.pg_extension_config_dump('oms.hold_line', '');

CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.hold_line
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('qty');

CREATE FUNCTION oms.hold_stock(hold_ref text, channel text, lines jsonb, ttl interval DEFAULT '15 minutes')
    RETURNS timestamptz
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_hold_stock';
COMMENT ON FUNCTION oms.hold_stock(text, text, jsonb, interval) IS
    'Sets units aside for a cart or checkout until the returned expiry; calling again with the same hold_ref replaces the lines and extends the expiry.';

CREATE FUNCTION oms.release_hold(hold_ref text)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_release_hold';
COMMENT ON FUNCTION oms.release_hold(text) IS
    'Gives a hold''s units back; returns false when there was no such hold.';

CREATE FUNCTION oms.expire_holds()
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_expire_holds';
COMMENT ON FUNCTION oms.expire_holds() IS
    'Releases every expired hold and returns how many; schedule it (pg_cron) or let the oms background worker run it.';
--
-- Routing: the channels' policies, the orders each location took today, and
-- the preview functions (README, "Routing").
--

CREATE TABLE oms.routing_policy (
    channel_id      bigint PRIMARY KEY REFERENCES oms.channel (id) ON DELETE CASCADE,
    strategy        text NOT NULL DEFAULT 'fewest_shipments',
    max_shipments   integer,
    CONSTRAINT routing_policy_strategy_check
        CHECK (strategy IN ('fewest_shipments', 'cheapest', 'nearest_first', 'priority_first', 'balance_stock')),
    CONSTRAINT routing_policy_max_shipments_check CHECK (max_shipments > 0)
);
COMMENT ON TABLE oms.routing_policy IS 'How routing ranks plans for a channel; a channel without a row uses fewest_shipments with no cap.';
COMMENT ON COLUMN oms.routing_policy.strategy IS 'fewest_shipments | cheapest | nearest_first | priority_first | balance_stock (README, "Routing").';
COMMENT ON COLUMN oms.routing_policy.max_shipments IS 'Most locations an order of the channel ships from; NULL is no cap.  An order''s max_shipments option can only lower it.';
CREATE TRIGGER master_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.routing_policy
    FOR EACH STATEMENT EXECUTE FUNCTION oms.master_changed();

CREATE TABLE oms.location_load (
    location_id     bigint NOT NULL,
    day             date NOT NULL,
    orders          integer NOT NULL,
    PRIMARY KEY (location_id, day),
    CONSTRAINT location_load_orders_check CHECK (orders > 0)
);
COMMENT ON TABLE oms.location_load IS 'Orders routed to each location per day (UTC), counted for locations with a daily_capacity.';

SELECT pg_catalog.pg_extension_config_dump('oms.routing_policy', '');
SELECT pg_catalog.pg_extension_config_dump('oms.location_load', '');

CREATE FUNCTION oms.route(lines jsonb, ship_to jsonb, channel text DEFAULT NULL, options jsonb DEFAULT '{}')
    RETURNS TABLE (line_no integer, sku text, location text, qty integer, shipment integer,
                   distance_km double precision, cost numeric)
    LANGUAGE c STABLE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_route_preview';
COMMENT ON FUNCTION oms.route(jsonb, jsonb, text, jsonb) IS
    'Where each unit of an order would ship from, by shipment and line, as place_order would decide now; locks and writes nothing.  Backordered units have no location.';

CREATE FUNCTION oms.route_explain(lines jsonb, ship_to jsonb, channel text DEFAULT NULL, options jsonb DEFAULT '{}')
    RETURNS jsonb
    LANGUAGE c STABLE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_route_explain';
COMMENT ON FUNCTION oms.route_explain(jsonb, jsonb, text, jsonb) IS
    'The routing decision of oms.route as JSON: strategy, search, objective values, plan, and every location with why it was chosen or not.';
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
    CONSTRAINT transition_entity_check CHECK (entity IN ('order', 'line', 'shipment', 'payment'))
);
CREATE UNIQUE INDEX transition_key ON oms.transition (entity, coalesce(from_status, ''), to_status);
COMMENT ON TABLE oms.transition IS 'Legal status changes of orders, order lines, shipments and payments; from_status NULL is the status oms creates a row in.  The transition_guard triggers refuse every other change.';

INSERT INTO oms.transition (entity, from_status, to_status)
SELECT 'order', f, t FROM (VALUES
    (NULL, 'pending'), (NULL, 'reserved'), (NULL, 'backordered'),
    ('pending', 'reserved'), ('pending', 'backordered'), ('pending', 'on_hold'), ('pending', 'cancelled'),
    ('reserved', 'on_hold'), ('reserved', 'partially_shipped'), ('reserved', 'shipped'), ('reserved', 'cancelled'),
    ('backordered', 'reserved'), ('backordered', 'on_hold'), ('backordered', 'partially_shipped'),
    ('backordered', 'cancelled'),
    ('on_hold', 'reserved'), ('on_hold', 'backordered'), ('on_hold', 'cancelled'),
    ('partially_shipped', 'shipped'), ('partially_shipped', 'delivered'),
    ('shipped', 'delivered'),
    ('delivered', 'closed'), ('cancelled', 'closed')) AS v(f, t)
UNION ALL
SELECT 'line', f, t FROM (VALUES
    (NULL, 'reserved'), (NULL, 'backordered'),
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

CREATE VIEW oms.v_transitions AS
SELECT entity, coalesce(from_status, '(new)') AS from_status, to_status
  FROM oms.transition
 ORDER BY array_position(ARRAY['order', 'line', 'shipment', 'payment'], entity),
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
    'Closes a delivered or cancelled order: its final status.';
--
-- Delivering events: consumers claim them from the outbox, at least once,
-- and acknowledge them; a publisher wakes LISTENers on channel oms_events
-- (README, "Events").
--
-- An event is read only once the transaction that wrote it can no longer be
-- overtaken: its txid is below the xmin of the reader's snapshot, so every
-- transaction that could still commit an event sorting before it has ended.
-- Positions (txid, event_id) then only move forward and nothing is skipped.
--

CREATE TABLE oms.event_consumer (
    consumer        text PRIMARY KEY,
    after_txid      xid8 NOT NULL DEFAULT '0',
    after_id        bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_consumer_check CHECK (consumer <> '' AND consumer = btrim(consumer) AND length(consumer) <= 100)
);
COMMENT ON TABLE oms.event_consumer IS 'Each consumer of events (registered by its first oms.claim_events) and how far it has claimed.';

CREATE TABLE oms.event_lease (
    consumer        text NOT NULL REFERENCES oms.event_consumer (consumer) ON DELETE CASCADE,
    event_id        bigint NOT NULL,
    order_id        bigint NOT NULL,
    leased_until    timestamptz NOT NULL,
    deliveries      integer NOT NULL DEFAULT 1,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX event_lease_event_idx ON oms.event_lease (event_id);
COMMENT ON TABLE oms.event_lease IS 'Events a consumer claimed and has not acknowledged; past leased_until they are claimed again.';

SELECT pg_catalog.pg_extension_config_dump('oms.event_consumer', '');
SELECT pg_catalog.pg_extension_config_dump('oms.event_lease', '');

--
-- Transaction ids belong to one cluster.  After a restore into another one
-- (or a failover to a logical replica) the outbox and the positions carry ids
-- this cluster has not reached yet, and the events it writes would sort before
-- them.  Every id at or beyond the next one this cluster will assign is such
-- a stranger: rebase_events() moves them to 1 -- all those events committed
-- long ago, and they keep their order by event_id -- before anyone reads.
--
CREATE FUNCTION oms.next_xact_id()
    RETURNS xid8
    LANGUAGE c VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_next_xact_id';
COMMENT ON FUNCTION oms.next_xact_id() IS
    'The transaction id this cluster assigns next: an id at or beyond it comes from another cluster.';

CREATE FUNCTION oms.rebase_events()
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_next  xid8 := oms.next_xact_id();
BEGIN
    IF (SELECT max(txid) FROM oms.outbox) >= v_next
       OR EXISTS (SELECT FROM oms.event_consumer WHERE after_txid >= v_next) THEN
        UPDATE oms.outbox SET txid = '1' WHERE txid >= v_next;
        UPDATE oms.event_consumer SET after_txid = '1' WHERE after_txid >= v_next;
    END IF;
END
$$;
COMMENT ON FUNCTION oms.rebase_events() IS
    'Moves transaction ids of another cluster (after a restore or failover) in the outbox and the consumers'' positions to 1, keeping their order; claim, publish and purge call it first.';

CREATE FUNCTION oms.claim_events(consumer text, max integer DEFAULT 100, lease interval DEFAULT '1 minute')
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
    SELECT e.id, e.order_id, e.entity, e.entity_id, e.from_status, e.to_status, e.at, e.created_by, e.details,
           l.deliveries
      FROM oms.event_lease l
      JOIN oms.order_event e ON e.order_id = l.order_id AND e.id = l.event_id
     WHERE l.consumer = claim_events.consumer AND l.event_id = ANY (v_ids)
     ORDER BY e.id;
END
$$;
COMMENT ON FUNCTION oms.claim_events(text, integer, interval) IS
    'Claims up to max events for a consumer (registered on first use): first those whose lease ran out unacknowledged, then new ones in commit order.  Each is leased to this caller until acknowledged or the lease ends: delivery is at least once, and two callers never hold the same event.';

CREATE FUNCTION oms.ack_events(consumer text, ids bigint[])
    RETURNS integer
    LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH done AS (DELETE FROM oms.event_lease l WHERE l.consumer = ack_events.consumer AND l.event_id = ANY (ids)
                  RETURNING 1)
    SELECT count(*)::integer FROM done
$$;
COMMENT ON FUNCTION oms.ack_events(text, bigint[]) IS
    'Acknowledges claimed events: they are not delivered to this consumer again.  Returns how many were still leased.';

CREATE FUNCTION oms.publish_events(max integer DEFAULT 1000)
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
    'Sends NOTIFY oms_events for up to max events not yet published, one compact JSON payload each; the background worker calls it every oms.publish_interval.  Returns how many it sent.';

CREATE FUNCTION oms.purge_outbox(keep interval DEFAULT '7 days')
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
            OR o.created_at < now() - keep
        RETURNING 1)
    SELECT count(*) INTO v_purged FROM done;
    RETURN v_purged;
END
$$;
COMMENT ON FUNCTION oms.purge_outbox(interval) IS
    'Deletes the outbox rows every consumer (there must be one; the publisher does not count) has claimed and acknowledged, and those older than keep (more than 0) whatever their state; oms.order_event keeps the history.  Returns how many it deleted.';
--
-- Views over stock for oms itself (stock_level) and for people and BI tools
-- (oms.v_*).
--

--
-- Stock as routing and availability see it: per SKU and location, reserved
-- includes the slots of a hot row, held only unexpired holds, and free is
-- what may still be promised (before any channel's safety stock).
--
CREATE VIEW oms.stock_level AS
SELECT st.sku_id,
       st.location_id,
       st.on_hand,
       st.reserved + sl.reserved AS reserved,
       hl.held,
       st.safety_stock,
       st.slots,
       st.on_hand - st.reserved - sl.reserved - hl.held - st.safety_stock AS free
  FROM oms.stock st
 CROSS JOIN LATERAL (
        SELECT CASE WHEN st.escrow > 0 THEN
                   (SELECT coalesce(sum(s.reserved), 0)::integer FROM oms.stock_slot s
                     WHERE s.sku_id = st.sku_id AND s.location_id = st.location_id)
               ELSE 0 END AS reserved) sl
 CROSS JOIN LATERAL (
        SELECT CASE WHEN st.held > 0 THEN
                   (SELECT coalesce(sum(h.qty), 0)::integer FROM oms.hold_line h
                     WHERE h.sku_id = st.sku_id AND h.location_id = st.location_id
                       AND h.expires_at > now())
               ELSE 0 END AS held) hl;
COMMENT ON VIEW oms.stock_level IS 'Stock per SKU and location id as oms reads it: reserved with a hot row''s slots, held by unexpired holds, and free units (never counted below 0 by readers).';

CREATE VIEW oms.v_stock AS
SELECT s.code AS sku,
       l.code AS location,
       lv.on_hand,
       lv.reserved,
       lv.held,
       lv.safety_stock,
       GREATEST(lv.free, 0) AS available
  FROM oms.stock_level lv
  JOIN oms.sku s ON s.id = lv.sku_id
  JOIN oms.location l ON l.id = lv.location_id;
COMMENT ON VIEW oms.v_stock IS 'Stock levels: one row per SKU and location; reserved for orders, held for carts (unexpired), and available = on_hand - reserved - held - safety_stock, never below 0.';

CREATE VIEW oms.v_order_tracking AS
SELECT o.order_id,
       c.code AS channel,
       o.external_ref,
       o.status,
       o.payment_status,
       o.units,
       o.total_amount,
       o.currency,
       o.placed_at,
       o.updated_at,
       coalesce(s.shipments, '[]') AS shipments
  FROM oms.orders o
  JOIN oms.channel c ON c.id = o.channel_id
  LEFT JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object(
                   'shipment_id', sh.id, 'location', l.code, 'status', sh.status,
                   'status_at', sh.status_at, 'carrier', sh.carrier, 'tracking_number', sh.tracking_number,
                   'shipped_at', sh.shipped_at, 'delivered_at', sh.delivered_at,
                   'units', (SELECT sum(sl.qty) FROM oms.shipment_line sl WHERE sl.shipment_id = sh.id))
                 ORDER BY sh.id) AS shipments
          FROM oms.shipment sh JOIN oms.location l ON l.id = sh.location_id
         WHERE sh.order_id = o.order_id) s ON true;
COMMENT ON VIEW oms.v_order_tracking IS 'One row per order: its status, payment status and shipments (location, carrier, tracking number, latest tracking status and its time) -- what a "where is my order" page shows.';
--
-- oms.check_invariants(): one row per violated invariant of design.md.
--
-- Each table is aggregated on its own first and only then joined, so the
-- checks stay valid once tables are distributed (design.md, "Scale").
--

CREATE FUNCTION oms.check_invariants()
    RETURNS TABLE (invariant text, detail text)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- 1. 0 <= reserved <= on_hand, counting holds and slots.
    SELECT 'stock.reserved within [0, on_hand]',
           format('sku %s at %s: on_hand %s, reserved %s, held %s, escrow %s',
                  st.sku_id, st.location_id, st.on_hand, st.reserved, st.held, st.escrow)
      FROM oms.stock st
     WHERE NOT (0 <= st.reserved AND 0 <= st.held AND 0 <= st.escrow
                AND st.reserved + st.held + st.escrow <= st.on_hand)
    UNION ALL
    SELECT 'stock_slot.reserved within [0, quota]',
           format('sku %s at %s slot %s: quota %s, reserved %s',
                  s.sku_id, s.location_id, s.slot, s.quota, s.reserved)
      FROM oms.stock_slot s
     WHERE NOT (0 <= s.reserved AND s.reserved <= s.quota)
    UNION ALL
    -- 2. reserved equals the open reservations; held the hold lines; escrow the slot quotas.
    SELECT 'stock.reserved equals the held reservations',
           format('sku %s at %s: reserved %s (row %s, slots %s), held reservations %s',
                  st.sku_id, st.location_id, st.reserved + coalesce(sl.reserved, 0),
                  st.reserved, coalesce(sl.reserved, 0), coalesce(r.qty, 0))
      FROM oms.stock st
      LEFT JOIN (SELECT sku_id, location_id, sum(reserved) AS reserved, sum(quota) AS quota
                   FROM oms.stock_slot GROUP BY sku_id, location_id) sl
        ON sl.sku_id = st.sku_id AND sl.location_id = st.location_id
      FULL JOIN (SELECT sku_id, location_id, sum(qty) AS qty
                   FROM oms.reservation WHERE state = 'held' GROUP BY sku_id, location_id) r
        ON r.sku_id = st.sku_id AND r.location_id = st.location_id
     WHERE coalesce(st.reserved, 0) + coalesce(sl.reserved, 0) <> coalesce(r.qty, 0)
    UNION ALL
    SELECT 'stock.escrow equals the slot quotas',
           format('sku %s at %s: escrow %s, quotas %s', st.sku_id, st.location_id, st.escrow, coalesce(sl.quota, 0))
      FROM oms.stock st
      LEFT JOIN (SELECT sku_id, location_id, sum(quota) AS quota
                   FROM oms.stock_slot GROUP BY sku_id, location_id) sl
        ON sl.sku_id = st.sku_id AND sl.location_id = st.location_id
     WHERE st.escrow <> coalesce(sl.quota, 0)
    UNION ALL
    SELECT 'stock.held equals the hold lines',
           format('sku %s at %s: held %s, hold lines %s',
                  coalesce(st.sku_id, h.sku_id), coalesce(st.location_id, h.location_id),
                  coalesce(st.held, 0), coalesce(h.qty, 0))
      FROM oms.stock st
      FULL JOIN (SELECT sku_id, location_id, sum(qty) AS qty
                   FROM oms.hold_line GROUP BY sku_id, location_id) h
        ON h.sku_id = st.sku_id AND h.location_id = st.location_id
     WHERE coalesce(st.held, 0) <> coalesce(h.qty, 0)
    UNION ALL
    -- 3. on_hand equals the ledger.
    SELECT 'stock.on_hand equals the ledger sum',
           format('sku %s at %s: on_hand %s, ledger sum %s',
                  coalesce(st.sku_id, m.sku_id), coalesce(st.location_id, m.location_id),
                  coalesce(st.on_hand, 0), coalesce(m.total, 0))
      FROM oms.stock st
      FULL JOIN (SELECT sku_id, location_id, sum(quantity) AS total
                   FROM oms.stock_movement GROUP BY sku_id, location_id) m
        ON m.sku_id = st.sku_id AND m.location_id = st.location_id
     WHERE coalesce(st.on_hand, 0) <> coalesce(m.total, 0)
    UNION ALL
    -- 4. every line adds up, and its reserved units are its held reservations.
    SELECT 'order line quantities add up',
           format('order %s line %s: qty %s, reserved %s, shipped %s, cancelled %s, backordered %s, returned %s',
                  l.order_id, l.line_no, l.qty, l.qty_reserved, l.qty_shipped, l.qty_cancelled,
                  l.qty_backordered, l.qty_returned)
      FROM oms.order_lines l
     WHERE l.qty <> l.qty_reserved + l.qty_shipped + l.qty_cancelled + l.qty_backordered
        OR l.qty_returned > l.qty_shipped
    UNION ALL
    SELECT 'order line reserved equals its held reservations',
           format('order %s line %s: qty_reserved %s, held reservations %s',
                  coalesce(l.order_id, r.order_id), coalesce(l.line_no, r.line_no),
                  coalesce(l.qty_reserved, 0), coalesce(r.qty, 0))
      FROM oms.order_lines l
      FULL JOIN (SELECT order_id, line_no, sum(qty) AS qty
                   FROM oms.reservation WHERE state = 'held' GROUP BY order_id, line_no) r
        ON r.order_id = l.order_id AND r.line_no = l.line_no
     WHERE coalesce(l.qty_reserved, 0) <> coalesce(r.qty, 0)
    UNION ALL
    SELECT 'reservations belong to order lines',
           format('order %s line %s has reservations but no line', r.order_id, r.line_no)
      FROM (SELECT DISTINCT order_id, line_no FROM oms.reservation) r
      LEFT JOIN oms.order_lines l ON l.order_id = r.order_id AND l.line_no = r.line_no
     WHERE l.order_id IS NULL
    UNION ALL
    SELECT 'order lines belong to orders',
           format('order %s has %s lines but no order row', l.order_id, l.n)
      FROM (SELECT order_id, count(*) AS n FROM oms.order_lines GROUP BY order_id) l
      LEFT JOIN oms.orders o ON o.order_id = l.order_id
     WHERE o.order_id IS NULL
    UNION ALL
    -- 6. each channel reference names one existing order, placed by that channel.
    SELECT 'order references match orders',
           format('channel %s reference %s: order %s', coalesce(f.channel_id, o.channel_id),
                  coalesce(f.external_ref, o.external_ref), coalesce(f.order_id, o.order_id))
      FROM oms.order_ref f
      FULL JOIN oms.orders o
        ON o.order_id = f.order_id AND o.channel_id = f.channel_id AND o.external_ref = f.external_ref
     WHERE f.order_id IS NULL OR o.order_id IS NULL
    UNION ALL
    -- 7. every transition has exactly one event: the events of each order,
    --    line, shipment and payment status chain from creation to its status.
    --    A payment starts out unpaid and a line placed in full reserved
    --    without an event; a backordered line has one from creation.
    SELECT 'events chain from creation to the current status',
           format('%s %s of order %s: event %s goes %s -> %s after %s', ev.entity, ev.entity_id, ev.order_id,
                  ev.id, coalesce(ev.from_status, '(new)'), ev.to_status, coalesce(ev.prev, '(nothing)'))
      FROM (SELECT e.*, lag(e.to_status) OVER w AS prev, row_number() OVER w AS n
              FROM oms.order_event e
            WINDOW w AS (PARTITION BY e.order_id, e.entity, e.entity_id ORDER BY e.id)) ev
     WHERE ev.from_status IS DISTINCT FROM ev.prev
       AND NOT (ev.n = 1 AND (ev.entity, ev.from_status) IN (('payment', 'unpaid'), ('line', 'reserved')))
    UNION ALL
    SELECT 'the last event of each entity is its status',
           format('%s %s of order %s: status %s, last event %s', x.entity, x.entity_id, x.order_id,
                  x.status, coalesce(ev.last, '(none)'))
      FROM (SELECT 'order' AS entity, o.order_id AS entity_id, o.order_id, o.status FROM oms.orders o
            UNION ALL
            SELECT 'payment', o.order_id, o.order_id, o.payment_status FROM oms.orders o
            UNION ALL
            SELECT 'line', l.line_no, l.order_id, l.status FROM oms.order_lines l
            UNION ALL
            SELECT 'shipment', s.id, s.order_id, s.status FROM oms.shipment s) x
      LEFT JOIN (SELECT DISTINCT ON (e.order_id, e.entity, e.entity_id) e.order_id, e.entity, e.entity_id,
                        e.to_status AS last
                   FROM oms.order_event e ORDER BY e.order_id, e.entity, e.entity_id, e.id DESC) ev
        ON ev.order_id = x.order_id AND ev.entity = x.entity AND ev.entity_id = x.entity_id
     WHERE x.status IS DISTINCT FROM coalesce(ev.last, CASE x.entity WHEN 'payment' THEN 'unpaid'
                                                                      WHEN 'line' THEN 'reserved' END)
    UNION ALL
    SELECT 'every outbox row is an event',
           format('outbox row %s has no event', x.event_id)
      FROM oms.outbox x LEFT JOIN oms.order_event e ON e.order_id = x.order_id AND e.id = x.event_id
     WHERE e.id IS NULL
    UNION ALL
    -- 8. line quantities agree with shipments; statuses follow from the facts.
    SELECT 'shipped units are in shipped shipments',
           format('order %s line %s: qty_shipped %s, in shipped shipments %s',
                  coalesce(l.order_id, s.order_id), coalesce(l.line_no, s.line_no),
                  coalesce(l.qty_shipped, 0), coalesce(s.qty, 0))
      FROM oms.order_lines l
      FULL JOIN (SELECT sl.order_id, sl.line_no, sum(sl.qty) AS qty
                   FROM oms.shipment_line sl JOIN oms.shipment sh ON sh.id = sl.shipment_id
                  WHERE sh.status NOT IN ('pending', 'cancelled')
                  GROUP BY sl.order_id, sl.line_no) s
        ON s.order_id = l.order_id AND s.line_no = l.line_no
     WHERE coalesce(l.qty_shipped, 0) <> coalesce(s.qty, 0)
    UNION ALL
    SELECT 'pending shipments hold reserved units',
           format('order %s line %s at location %s: %s units in pending shipments, %s reserved',
                  p.order_id, p.line_no, p.location_id, p.qty, coalesce(r.qty, 0))
      FROM (SELECT sl.order_id, sl.line_no, sh.location_id, sum(sl.qty) AS qty
              FROM oms.shipment_line sl JOIN oms.shipment sh ON sh.id = sl.shipment_id
             WHERE sh.status = 'pending' GROUP BY 1, 2, 3) p
      LEFT JOIN (SELECT order_id, line_no, location_id, sum(qty) AS qty FROM oms.reservation
                  WHERE state = 'held' GROUP BY 1, 2, 3) r
        ON r.order_id = p.order_id AND r.line_no = p.line_no AND r.location_id = p.location_id
     WHERE p.qty > coalesce(r.qty, 0)
    UNION ALL
    SELECT 'line status follows from its quantities',
           format('order %s line %s is %s: qty %s, reserved %s, shipped %s, cancelled %s, backordered %s',
                  l.order_id, l.line_no, l.status, l.qty, l.qty_reserved, l.qty_shipped, l.qty_cancelled,
                  l.qty_backordered)
      FROM oms.order_lines l
     WHERE l.status <> CASE WHEN l.qty_cancelled = l.qty THEN 'cancelled'
                            WHEN l.qty_shipped > 0 AND l.qty_shipped = l.qty - l.qty_cancelled
                                 THEN CASE WHEN l.status = 'delivered' THEN 'delivered' ELSE 'shipped' END
                            WHEN l.qty_shipped > 0 THEN 'partially_shipped'
                            WHEN l.qty_backordered > 0 THEN 'backordered'
                            ELSE 'reserved' END
    UNION ALL
    SELECT 'order status follows from its lines',
           format('order %s is %s', o.order_id, o.status)
      FROM oms.orders o
      JOIN (SELECT order_id,
                   bool_and(status = 'cancelled') AS cancelled,
                   bool_and(status IN ('delivered', 'cancelled')) AS delivered,
                   bool_and(status IN ('shipped', 'delivered', 'cancelled')) AS shipped,
                   bool_or(status IN ('partially_shipped', 'shipped', 'delivered')) AS some_shipped,
                   bool_or(status = 'backordered') AS backordered
              FROM oms.order_lines GROUP BY order_id) l ON l.order_id = o.order_id
     WHERE o.status <> CASE WHEN o.status = 'closed' AND l.delivered THEN 'closed'
                            WHEN l.cancelled THEN 'cancelled'
                            WHEN o.status = 'on_hold' AND NOT l.some_shipped THEN 'on_hold'
                            WHEN l.delivered THEN 'delivered'
                            WHEN l.shipped THEN 'shipped'
                            WHEN l.some_shipped THEN 'partially_shipped'
                            WHEN l.backordered THEN 'backordered'
                            ELSE 'reserved' END
    UNION ALL
    SELECT 'payment status follows from the payments',
           format('order %s is %s: authorized %s, captured %s, refunded %s, voided %s',
                  o.order_id, o.payment_status, coalesce(p.a, 0), coalesce(p.c, 0), coalesce(p.r, 0), coalesce(p.v, 0))
      FROM oms.orders o
      LEFT JOIN (SELECT order_id,
                        coalesce(sum(amount) FILTER (WHERE kind = 'authorize'), 0) AS a,
                        coalesce(sum(amount) FILTER (WHERE kind = 'capture'), 0) AS c,
                        coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS r,
                        coalesce(sum(amount) FILTER (WHERE kind = 'void'), 0) AS v
                   FROM oms.payment GROUP BY order_id) p ON p.order_id = o.order_id
     WHERE o.payment_status <> CASE WHEN coalesce(p.a, 0) = 0 THEN 'unpaid'
                                    WHEN p.c = 0 THEN CASE WHEN p.v = p.a THEN 'voided' ELSE 'authorized' END
                                    WHEN p.r = 0 THEN CASE WHEN p.c = p.a - p.v THEN 'captured' ELSE 'partially_captured' END
                                    WHEN p.r < p.c THEN 'partially_refunded'
                                    ELSE 'refunded' END
        OR p.c > p.a - p.v OR p.r > p.c
    UNION ALL
    -- 9. on_hand leaves only through shipments and adjustments (or counts), and
    --    the shipment movements are the units shipped from each location.
    SELECT 'shipment movements are the units shipped',
           format('sku %s at %s: shipment movements %s, units in shipped shipments %s',
                  coalesce(m.sku_id, s.sku_id), coalesce(m.location_id, s.location_id),
                  coalesce(m.qty, 0), coalesce(s.qty, 0))
      FROM (SELECT sku_id, location_id, -sum(quantity) AS qty FROM oms.stock_movement
             WHERE kind = 'shipment' GROUP BY 1, 2) m
      FULL JOIN (SELECT l.sku_id, sh.location_id, sum(sl.qty) AS qty
                   FROM oms.shipment_line sl
                   JOIN oms.shipment sh ON sh.id = sl.shipment_id
                   JOIN oms.order_lines l ON l.order_id = sl.order_id AND l.line_no = sl.line_no
                  WHERE sh.status NOT IN ('pending', 'cancelled') GROUP BY 1, 2) s
        ON s.sku_id = m.sku_id AND s.location_id = m.location_id
     WHERE coalesce(m.qty, 0) <> coalesce(s.qty, 0)
$$;
COMMENT ON FUNCTION oms.check_invariants() IS
    'Lists every violated invariant (one row each, with the offending keys); no rows means healthy.';
--
-- Privileges.  Nothing is granted to PUBLIC; a DBA grants roles with
-- oms.grant_admin, oms.grant_app and oms.grant_reporting (README, "Roles").
--

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA oms FROM PUBLIC;

CREATE FUNCTION oms.grant_reporting(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v record;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA oms TO %I', role);
    FOR v IN SELECT c.oid::regclass AS view
               FROM pg_class c
              WHERE c.relnamespace = 'oms'::regnamespace AND c.relkind IN ('v', 'm')
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO %I', v.view, role);
    END LOOP;
END
$$;
COMMENT ON FUNCTION oms.grant_reporting(name) IS
    'Lets a role read the oms reporting views (oms.v_*) and nothing else.';

CREATE FUNCTION oms.grant_app(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM oms.grant_reporting(role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA oms TO %I', role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA oms TO %I', role);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION oms.grant_reporting(name), oms.grant_app(name), '
                   'oms.grant_admin(name) FROM %I', role);
END
$$;
COMMENT ON FUNCTION oms.grant_app(name) IS
    'Lets a role call every oms function and read every oms table and view; it still writes nothing directly.';

CREATE FUNCTION oms.grant_admin(role name) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM oms.grant_app(role);
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON oms.channel, oms.location, oms.channel_location, oms.sku, '
                   'oms.routing_policy TO %I', role);
    EXECUTE format('GRANT USAGE ON oms.channel_id_seq, oms.location_id_seq, oms.sku_id_seq TO %I', role);
END
$$;
COMMENT ON FUNCTION oms.grant_admin(name) IS
    'Lets a role do what oms.grant_app allows and also maintain master data (channels, locations, SKUs, routing policies).';

REVOKE ALL ON FUNCTION oms.grant_reporting(name), oms.grant_app(name), oms.grant_admin(name) FROM PUBLIC;
