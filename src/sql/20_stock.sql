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
    reserved        integer NOT NULL DEFAULT 0,
    safety_stock    integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sku_id, location_id),
    CONSTRAINT stock_reserved_check CHECK (0 <= reserved AND reserved <= on_hand),
    CONSTRAINT stock_safety_stock_check CHECK (safety_stock >= 0)
);
CREATE INDEX stock_location_idx ON oms.stock (location_id);
COMMENT ON TABLE oms.stock IS 'Units of one SKU at one location. Changed only through the oms functions.';
COMMENT ON COLUMN oms.stock.on_hand IS 'Units physically at the location: the sum of its oms.stock_movement rows.';
COMMENT ON COLUMN oms.stock.reserved IS 'Units of on_hand promised to orders and not yet shipped.';
COMMENT ON COLUMN oms.stock.safety_stock IS 'Units never promised to any channel (set with oms.set_safety_stock).';

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
SELECT pg_catalog.pg_extension_config_dump('oms.stock_movement', '');
SELECT pg_catalog.pg_extension_config_dump('oms.stock_movement_id_seq', '');

CREATE FUNCTION oms.stock_guard() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'oms_stock_guard';
COMMENT ON FUNCTION oms.stock_guard() IS 'Trigger: refuses changes of on_hand and reserved made outside the oms functions.';
CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.stock
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard();
CREATE TRIGGER stock_guard_truncate BEFORE TRUNCATE ON oms.stock
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
CREATE FUNCTION oms.receive_stock(sku text, location text, qty integer, reason text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_receive_stock';
COMMENT ON FUNCTION oms.receive_stock(text, text, integer, text) IS
    'Adds qty units to on_hand (a receipt in the ledger), creating the stock row on first receipt; returns the new on_hand.';

CREATE FUNCTION oms.adjust_stock(sku text, location text, delta integer, reason text)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_adjust_stock';
COMMENT ON FUNCTION oms.adjust_stock(text, text, integer, text) IS
    'Changes on_hand by delta (an adjustment in the ledger, reason required); never below 0 nor below reserved; returns the new on_hand.';

CREATE FUNCTION oms.count_stock(sku text, location text, counted integer, reason text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_count_stock';
COMMENT ON FUNCTION oms.count_stock(text, text, integer, text) IS
    'Records a cycle count: sets on_hand to counted and writes the difference to the ledger; returns the new on_hand.';

CREATE FUNCTION oms.set_safety_stock(sku text, location text, units integer)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
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

CREATE VIEW oms.v_stock AS
SELECT s.code AS sku,
       l.code AS location,
       st.on_hand,
       st.reserved,
       st.safety_stock,
       GREATEST(st.on_hand - st.reserved - st.safety_stock, 0) AS available
  FROM oms.stock st
  JOIN oms.sku s ON s.id = st.sku_id
  JOIN oms.location l ON l.id = st.location_id;
COMMENT ON VIEW oms.v_stock IS 'Stock levels: one row per SKU and location; available is on_hand - reserved - safety_stock, never below 0.';
