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
        CHECK (kind IN ('receipt', 'adjustment', 'count', 'shipment', 'return', 'sale')),
    CONSTRAINT stock_movement_quantity_check CHECK (
        CASE kind
            WHEN 'receipt' THEN quantity > 0
            WHEN 'return' THEN quantity > 0
            WHEN 'shipment' THEN quantity < 0
            WHEN 'sale' THEN quantity < 0
            WHEN 'adjustment' THEN quantity <> 0
            ELSE true
        END),
    CONSTRAINT stock_movement_on_hand_after_check CHECK (on_hand_after >= 0)
);
ALTER SEQUENCE oms.stock_movement_id_seq OWNED BY oms.stock_movement.id;
CREATE INDEX stock_movement_stock_idx ON oms.stock_movement (sku_id, location_id, id);
COMMENT ON TABLE oms.stock_movement IS 'Append-only ledger: one row for every change of on_hand.';
COMMENT ON COLUMN oms.stock_movement.kind IS 'receipt | adjustment | count | shipment | return | sale (units sold at a store''s till, oms.place_order with fulfilment store).';
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

-- VOLATILE PARALLEL UNSAFE: available reads the master-data cache, which
-- loads with the latest snapshot (refused in parallel mode, in a worker and
-- in the leader alike), and it sees stock written earlier in the calling
-- statement, so two calls in one statement may differ.
CREATE FUNCTION oms.available(sku text, channel text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_available';
COMMENT ON FUNCTION oms.available(text, text) IS
    'Units of a SKU that can be promised to a channel (any channel when NULL): the sum over its eligible active locations of on_hand - reserved - safety stock, each never below 0.';
