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

-- VOLATILE PARALLEL UNSAFE: routing reads the newest stock, with what the
-- calling statement wrote so far, and the master-data cache, which loads
-- with the latest snapshot.
CREATE FUNCTION oms.route(lines jsonb, ship_to jsonb, channel text DEFAULT NULL, options jsonb DEFAULT '{}')
    RETURNS TABLE (line_no integer, sku text, location text, qty integer, shipment integer,
                   distance_km double precision, cost numeric)
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_route_preview';
COMMENT ON FUNCTION oms.route(jsonb, jsonb, text, jsonb) IS
    'Where each unit of an order would ship from, by shipment and line, as place_order would decide now; locks and writes nothing.  Backordered units have no location.';

CREATE FUNCTION oms.route_explain(lines jsonb, ship_to jsonb, channel text DEFAULT NULL, options jsonb DEFAULT '{}')
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_route_explain';
COMMENT ON FUNCTION oms.route_explain(jsonb, jsonb, text, jsonb) IS
    'The routing decision of oms.route as JSON: strategy, search, objective values, plan, and every location with why it was chosen or not.';
