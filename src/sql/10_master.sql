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
    atp_buffer      integer NOT NULL DEFAULT 0,
    atp_cap         integer,
    low_stock_threshold integer NOT NULL DEFAULT 0,
    CONSTRAINT channel_code_check CHECK (code <> '' AND code = btrim(code) AND length(code) <= 100),
    CONSTRAINT channel_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT channel_kind_check CHECK (kind IN ('web', 'app', 'pos', 'marketplace', 'erp')),
    CONSTRAINT channel_safety_stock_check CHECK (safety_stock >= 0),
    CONSTRAINT channel_atp_buffer_check CHECK (atp_buffer >= 0),
    CONSTRAINT channel_atp_cap_check CHECK (atp_cap >= 0),
    CONSTRAINT channel_low_stock_threshold_check CHECK (low_stock_threshold >= 0)
);
ALTER SEQUENCE oms.channel_id_seq OWNED BY oms.channel.id;
COMMENT ON TABLE oms.channel IS 'Where orders come from: web shop, app, store (pos), marketplace, ERP.';
COMMENT ON COLUMN oms.channel.code IS 'Business key the API takes: non-empty, no surrounding blanks, at most 100 characters.';
COMMENT ON COLUMN oms.channel.kind IS 'web | app | pos | marketplace | erp.';
COMMENT ON COLUMN oms.channel.active IS 'An inactive channel places no orders.';
COMMENT ON COLUMN oms.channel.safety_stock IS 'Units kept back from this channel at every location, unless oms.channel_location says otherwise.';
COMMENT ON COLUMN oms.channel.atp_buffer IS 'Units of every SKU kept out of the available-to-promise figure this channel is shown (oms.atp_changes), on top of safety stock; oms.atp_policy may say otherwise per SKU.';
COMMENT ON COLUMN oms.channel.atp_cap IS 'Most units of any SKU this channel is shown as available to promise (NULL: no cap); oms.atp_policy may say otherwise per SKU.';
COMMENT ON COLUMN oms.channel.low_stock_threshold IS 'Default low-stock threshold of the channel''s stock events: a SKU at this many units or fewer (but more than 0) is low (0: no low_stock events); oms.sku and oms.atp_policy may say otherwise.';

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
    accepts_returns boolean NOT NULL DEFAULT true,
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
COMMENT ON COLUMN oms.location.accepts_returns IS 'Returned parcels may come back here (an active location only); false for a dropship vendor that takes none.';

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
    low_stock_threshold integer,
    CONSTRAINT sku_code_check CHECK (code <> '' AND code = btrim(code) AND length(code) <= 100),
    CONSTRAINT sku_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT sku_attributes_check CHECK (jsonb_typeof(attributes) = 'object'),
    CONSTRAINT sku_low_stock_threshold_check CHECK (low_stock_threshold >= 0)
);
ALTER SEQUENCE oms.sku_id_seq OWNED BY oms.sku.id;
COMMENT ON TABLE oms.sku IS 'What is sold: one row per stock keeping unit.';
COMMENT ON COLUMN oms.sku.active IS 'An inactive SKU can still be stocked but not sold.';
COMMENT ON COLUMN oms.sku.attributes IS 'Free-form product attributes (a JSON object).';
COMMENT ON COLUMN oms.sku.low_stock_threshold IS 'Low-stock threshold of this SKU''s stock events on every channel (NULL: each channel''s low_stock_threshold); oms.atp_policy may say otherwise per channel.';

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
