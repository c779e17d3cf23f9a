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
