-- Routing against an exhaustive oracle.
--
-- Hundreds of small random orders, each routed by oms.route_explain and solved
-- again here by brute force: every subset of the candidate locations, scored as
-- the routing spec (issue #4) defines, the best taken by the strategy's key.
-- The engine must reach the same objective with the same locations, call its
-- search exact, fill each line from the chosen locations in shipment order, and
-- oms.route must return the same plan row for row.  Candidates' distances and
-- costs are checked against a haversine computed here.
--
-- Deterministic: the seed is 0.42 and there are 300 instances (60 per
-- strategy) unless pg_prove sets others (pg_prove -S seed=0.7 -S instances=1000).
-- A failure lists the instances concerned (seed, number, engine against
-- oracle) and ends with a script that rebuilds the first of them.

\if :{?seed}
\else
\set seed 0.42
\endif
\if :{?instances}
\else
\set instances 300
\endif

BEGIN;
SELECT plan(13);

CREATE SCHEMA oracle;
CREATE TABLE oracle.config (seed text NOT NULL, instances integer NOT NULL);
INSERT INTO oracle.config VALUES (:'seed', :instances);
SELECT setseed(:seed);

--
-- The instances, as generated; oms's master data and stock are built from them.
--
CREATE TABLE oracle.instance (
    i               integer PRIMARY KEY,
    strategy        text NOT NULL,              -- the strategy that applies
    strategy_from   text NOT NULL,              -- option | policy | default
    channel         text,                       -- NULL: no channel
    restricted      boolean NOT NULL DEFAULT false, -- the channel has oms.channel_location rows
    chan_safety     integer NOT NULL DEFAULT 0, -- oms.channel.safety_stock
    policy_strategy text,                       -- oms.routing_policy row, if any
    policy_max      integer,
    pickup          text,
    allow_backorder boolean NOT NULL,
    cap             integer,                    -- most locations; NULL: no limit
    ship_lat        double precision,
    ship_lon        double precision,
    lines           jsonb NOT NULL,
    ship_to         jsonb,
    options         jsonb NOT NULL
);
CREATE TABLE oracle.location (
    i               integer NOT NULL,
    code            text PRIMARY KEY,
    lat             double precision NOT NULL,
    lon             double precision NOT NULL,
    priority        integer NOT NULL,
    fixed           numeric,
    per_km          numeric,
    active          boolean NOT NULL,
    can_ship        boolean NOT NULL,
    can_pickup      boolean NOT NULL DEFAULT false,
    excluded        boolean NOT NULL,           -- in options.exclude_locations
    allowed         boolean NOT NULL DEFAULT true,  -- oms.channel_location has it
    cl_safety       integer,                    -- oms.channel_location.safety_stock
    daily_capacity  integer,
    load            integer,                    -- oms.location_load.orders today
    twin_of         text                        -- same place, priority, costs and stock as this one
);
CREATE TABLE oracle.line (
    i               integer NOT NULL,
    line_no         integer NOT NULL,
    sku             text NOT NULL UNIQUE,
    qty             integer NOT NULL,
    PRIMARY KEY (i, line_no)
);
CREATE TABLE oracle.stock (
    i               integer NOT NULL,
    sku             text NOT NULL,
    code            text NOT NULL,
    on_hand         integer NOT NULL,
    safety          integer NOT NULL,
    PRIMARY KEY (sku, code)
);

CREATE FUNCTION oracle.rand(lo integer, hi integer) RETURNS integer
    LANGUAGE sql VOLATILE AS $$ SELECT lo + floor(random() * (hi - lo + 1))::integer $$;

-- Instance i's codes start with this: R007-A, R007-S1, R007-CH.
CREATE FUNCTION oracle.prefix(i integer) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'R' || lpad(i::text, greatest(3, length(i::text)), '0') || '-' $$;

-- Great-circle distance in km, R = 6371.0088.
CREATE FUNCTION oracle.haversine(lat1 double precision, lon1 double precision,
                                 lat2 double precision, lon2 double precision)
    RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
    SELECT 2 * 6371.0088 * asin(sqrt(
        sin(radians(lat2 - lat1) / 2) ^ 2
        + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2))
$$;

-- Draws the instances, in a fixed order of random() calls; instance i's
-- strategy is the (i mod 5)th.  Per instance: 2 to 8 locations in Europe, some
-- twins of another (same place, mostly same priority and costs, often same
-- stock: ties only the codes break), half with a cost model, a few inactive,
-- not shipping, excluded by the request or at their daily capacity; 1 to 4
-- lines of 1 to 6 units; stock 0 to 6 per SKU and location, some of it safety
-- stock; in half the instances a hub without cost model that has every unit
-- against two cheaper locations that together have them; a channel for one in
-- five (most restricted to some locations, some with safety stock, more than
-- half with a routing policy); pickup now and then; ship_to a point, a
-- location's own place, no coordinates or NULL; options allow_backorder,
-- allow_split, max_shipments 1 to 3, strategy, given or left to their
-- defaults.
CREATE FUNCTION oracle.generate(n integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    strategies constant text[] := ARRAY['fewest_shipments', 'cheapest', 'nearest_first',
                                        'priority_first', 'balance_stock'];
    letters text[];
    k integer; j integer; t text; u double precision;
    pfx text; nloc integer; nlines integer;
    v_strategy text; v_from text; v_channel text; v_chan_safety integer;
    v_policy_strategy text; v_policy_max integer; v_pickup text;
    v_backorder boolean; v_split boolean; v_max integer;
    v_lat double precision; v_lon double precision; v_ship_to jsonb; v_opts jsonb; v_lines jsonb;
    l_lat double precision; l_lon double precision; l_priority integer; l_fixed numeric; l_per_km numeric;
    twin oracle.location;
    v_code text;
    v_twin text;
    v_restricted boolean;
    l_capacity integer; l_load integer;
BEGIN
    FOR inst IN 1..n LOOP
        pfx := rtrim(oracle.prefix(inst), '-');
        v_strategy := strategies[(inst - 1) % 5 + 1];
        nloc := oracle.rand(2, 8);
        -- Codes from mixed-case letters, so that byte order differs from dictionary order.
        letters := ARRAY['A', 'b', 'C', 'd', 'E', 'f', 'G', 'h'];
        FOR j IN REVERSE 8..2 LOOP
            k := oracle.rand(1, j);
            t := letters[j]; letters[j] := letters[k]; letters[k] := t;
        END LOOP;
        FOR j IN 1..nloc LOOP
            IF j > 1 AND random() < 0.4 THEN
                k := oracle.rand(1, j - 1);
                SELECT * INTO twin FROM oracle.location WHERE code = pfx || '-' || letters[k];
                l_lat := twin.lat;
                l_lon := twin.lon;
            ELSE
                twin := NULL;
                l_lat := round((36 + random() * 24)::numeric, 4);
                l_lon := round((-10 + random() * 35)::numeric, 4);
            END IF;
            v_twin := NULL;
            IF twin.code IS NOT NULL AND random() < 0.7 THEN
                IF random() < 0.8 THEN
                    v_twin := twin.code;
                END IF;
                l_priority := twin.priority;
                l_fixed := twin.fixed;
                l_per_km := twin.per_km;
            ELSE
                l_priority := oracle.rand(0, 3);
                IF random() < 0.5 THEN
                    l_fixed := round((random() * 10)::numeric, 2);
                    l_per_km := round((random() * 0.05)::numeric, 4);
                ELSE
                    l_fixed := NULL;
                    l_per_km := NULL;
                END IF;
            END IF;
            -- a daily capacity (0 is full from the start), reached or not yet
            l_capacity := NULL; l_load := NULL;
            IF random() < 0.08 THEN
                l_capacity := oracle.rand(0, 3);
                l_load := nullif(greatest(l_capacity - oracle.rand(0, 1), 0), 0);
            END IF;
            u := random();
            INSERT INTO oracle.location (i, code, lat, lon, priority, fixed, per_km, active, can_ship, excluded, twin_of,
                                         daily_capacity, load)
                VALUES (inst, pfx || '-' || letters[j], l_lat, l_lon, l_priority, l_fixed, l_per_km,
                        u >= 0.04, NOT (u >= 0.04 AND u < 0.08), u >= 0.08 AND u < 0.12, v_twin, l_capacity, l_load);
        END LOOP;

        nlines := oracle.rand(1, 4);
        v_lines := '[]';
        FOR k IN 1..nlines LOOP
            j := oracle.rand(1, 6);
            INSERT INTO oracle.line VALUES (inst, k, pfx || '-S' || k, j);
            v_lines := v_lines || jsonb_build_object('sku', pfx || '-S' || k, 'qty', j);
        END LOOP;
        FOR k IN 1..nlines LOOP
            FOR j IN 1..nloc LOOP
                v_code := pfx || '-' || letters[j];
                v_twin := (SELECT twin_of FROM oracle.location WHERE code = v_code);
                IF v_twin IS NOT NULL THEN
                    -- an identical twin: ties that only the codes break
                    INSERT INTO oracle.stock
                        SELECT inst, sku, v_code, on_hand, safety FROM oracle.stock WHERE sku = pfx || '-S' || k AND code = v_twin;
                    CONTINUE;
                END IF;
                INSERT INTO oracle.stock VALUES (inst, pfx || '-S' || k, pfx || '-' || letters[j],
                    CASE WHEN random() < 0.35 THEN 0 ELSE oracle.rand(1, 6) END, 0);
                IF random() < 0.1 THEN
                    UPDATE oracle.stock SET safety = oracle.rand(1, 2)
                     WHERE sku = pfx || '-S' || k AND code = pfx || '-' || letters[j] AND on_hand > 0;
                END IF;
            END LOOP;
        END LOOP;

        -- Channel, policy, where the strategy comes from.
        v_channel := NULL; v_chan_safety := 0; v_policy_strategy := NULL; v_policy_max := NULL;
        v_from := 'option'; v_restricted := false;
        IF random() < 0.2 THEN
            v_channel := pfx || '-CH';
            IF random() < 0.3 THEN v_chan_safety := 1; END IF;
            -- most channels name their locations (with their own safety stock
            -- there, now and then); the others may use every location
            v_restricted := random() < 0.75;
            IF v_restricted THEN
                FOR j IN 1..nloc LOOP
                    UPDATE oracle.location
                       SET allowed = random() < 0.7,
                           cl_safety = CASE WHEN random() < 0.3 THEN oracle.rand(0, 2) END
                     WHERE code = pfx || '-' || letters[j];
                END LOOP;
                IF NOT EXISTS (SELECT FROM oracle.location WHERE i = inst AND allowed) THEN
                    UPDATE oracle.location SET allowed = true WHERE code = pfx || '-' || letters[1];
                END IF;
            END IF;
            IF random() < 0.6 THEN
                v_policy_max := CASE WHEN random() < 0.5 THEN oracle.rand(1, 3) END;
                IF random() < 0.6 THEN
                    v_policy_strategy := v_strategy;
                    v_from := 'policy';
                ELSE
                    -- the request's strategy overrides the policy's
                    v_policy_strategy := strategies[oracle.rand(1, 5)];
                END IF;
            END IF;
        ELSIF v_strategy = 'fewest_shipments' AND random() < 0.4 THEN
            v_from := 'default';
        END IF;

        -- Pickup: the whole order from one store.
        v_pickup := NULL;
        IF v_channel IS NULL AND random() < 0.07 THEN
            v_pickup := pfx || '-' || letters[oracle.rand(1, nloc)];
            UPDATE oracle.location SET active = true, can_ship = true, excluded = false, can_pickup = true,
                                       daily_capacity = NULL, load = NULL
             WHERE code = v_pickup;
        END IF;

        -- Now and then a hub without a cost model that has every unit, and two
        -- locations with one, each with every unit of half the lines: one
        -- shipment against two cheaper ones, where strategies part ways.
        IF nloc >= 3 AND random() < (CASE WHEN v_strategy = 'cheapest' THEN 0.8 ELSE 0.5 END) THEN
            UPDATE oracle.location SET active = true, can_ship = true, excluded = false, allowed = true,
                                       daily_capacity = NULL, load = NULL
             WHERE code IN (pfx || '-' || letters[1], pfx || '-' || letters[2], pfx || '-' || letters[3]);
            UPDATE oracle.location SET fixed = NULL, per_km = NULL WHERE code = pfx || '-' || letters[1];
            UPDATE oracle.location
               SET fixed = round((random() * 5)::numeric, 2), per_km = round((random() * 0.02)::numeric, 4), twin_of = NULL
             WHERE code IN (pfx || '-' || letters[2], pfx || '-' || letters[3]);
            UPDATE oracle.stock st SET on_hand = greatest(st.on_hand, l.qty), safety = 0
              FROM oracle.line l
             WHERE l.sku = st.sku
               AND st.code = pfx || '-' || letters[1];
            UPDATE oracle.stock st SET on_hand = greatest(st.on_hand, l.qty), safety = 0
              FROM oracle.line l
             WHERE l.sku = st.sku
               AND st.code = pfx || '-' || letters[2 + l.line_no % 2];
        END IF;

        -- ship_to
        u := random();
        IF u < 0.06 THEN
            v_ship_to := NULL; v_lat := NULL; v_lon := NULL;
        ELSIF u < 0.18 THEN
            v_ship_to := jsonb_build_object('name', 'Customer ' || pfx, 'country', 'DE');
            v_lat := NULL; v_lon := NULL;
        ELSE
            IF u < 0.3 THEN
                v_code := pfx || '-' || letters[oracle.rand(1, nloc)];
                SELECT lat, lon INTO v_lat, v_lon FROM oracle.location WHERE code = v_code;
            ELSE
                v_lat := round((36 + random() * 24)::numeric, 4);
                v_lon := round((-10 + random() * 35)::numeric, 4);
            END IF;
            v_ship_to := jsonb_build_object('name', 'Customer ' || pfx, 'country', 'DE',
                                            'latitude', v_lat, 'longitude', v_lon);
        END IF;

        -- options
        v_opts := '{}';
        IF v_from = 'option' THEN
            v_opts := v_opts || jsonb_build_object('strategy', v_strategy);
        END IF;
        u := random();
        v_backorder := u < 0.5;
        IF u < 0.75 THEN
            v_opts := v_opts || jsonb_build_object('allow_backorder', v_backorder);
        END IF;
        u := random();
        v_split := u >= 0.2;
        IF u < 0.35 THEN
            v_opts := v_opts || jsonb_build_object('allow_split', v_split);
        END IF;
        v_max := NULL;
        IF random() < 0.35 THEN
            v_max := oracle.rand(1, 3);
            v_opts := v_opts || jsonb_build_object('max_shipments', v_max);
        END IF;
        IF EXISTS (SELECT FROM oracle.location WHERE i = inst AND excluded) THEN
            v_opts := v_opts || jsonb_build_object('exclude_locations',
                (SELECT jsonb_agg(code ORDER BY code) FROM oracle.location WHERE i = inst AND excluded));
        END IF;
        IF v_pickup IS NOT NULL THEN
            v_opts := v_opts || jsonb_build_object('pickup_location', v_pickup);
        END IF;

        INSERT INTO oracle.instance VALUES (
            inst, v_strategy, v_from, v_channel, v_restricted, v_chan_safety, v_policy_strategy, v_policy_max, v_pickup,
            v_backorder,
            CASE WHEN NOT v_split OR v_pickup IS NOT NULL THEN 1 ELSE least(v_max, v_policy_max) END,
            v_lat, v_lon, v_lines, v_ship_to, v_opts);
    END LOOP;
END
$$;

SELECT oracle.generate(:instances);

-- oms's master data and stock.
INSERT INTO oms.sku (code, name) SELECT sku, 'SKU ' || sku FROM oracle.line ORDER BY sku;
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority,
                          shipping_cost_fixed, shipping_cost_per_km, can_ship, can_pickup, daily_capacity, active)
    SELECT code, 'Location ' || code, CASE WHEN can_pickup THEN 'store' ELSE 'warehouse' END, lat, lon, priority,
           fixed, per_km, can_ship, can_pickup, daily_capacity, active
      FROM oracle.location ORDER BY code;
INSERT INTO oms.location_load (location_id, day, orders)
    SELECT l.id, (now() AT TIME ZONE 'UTC')::date, o.load
      FROM oracle.location o JOIN oms.location l ON l.code = o.code
     WHERE o.load > 0;
SELECT count(oms.receive_stock(sku, code, on_hand)) FROM oracle.stock WHERE on_hand > 0 \g /dev/null
SELECT count(oms.set_safety_stock(sku, code, safety)) FROM oracle.stock WHERE safety > 0 \g /dev/null
INSERT INTO oms.channel (code, name, kind, safety_stock)
    SELECT channel, 'Channel ' || channel, 'web', chan_safety FROM oracle.instance WHERE channel IS NOT NULL;
INSERT INTO oms.channel_location (channel_id, location_id, safety_stock)
    SELECT c.id, l.id, o.cl_safety
      FROM oracle.instance s
      JOIN oracle.location o ON o.i = s.i AND o.allowed
      JOIN oms.channel c ON c.code = s.channel AND s.restricted
      JOIN oms.location l ON l.code = o.code;
INSERT INTO oms.routing_policy (channel_id, strategy, max_shipments)
    SELECT c.id, s.policy_strategy, s.policy_max
      FROM oracle.instance s JOIN oms.channel c ON c.code = s.channel
     WHERE s.policy_strategy IS NOT NULL;

--
-- The engine's answers: route_explain and route for every instance, errors caught.
--
CREATE TABLE oracle.run (
    i               integer PRIMARY KEY,
    explain         jsonb,      -- candidates: the instance's own and any not excluded
    all_sorted      boolean,    -- all candidates in code order (checked for the first 20)
    explain_state   text,
    explain_error   text,
    route           jsonb,      -- its rows, in the order returned
    route_state     text,
    route_error     text
);

CREATE FUNCTION oracle.run_engine() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s oracle.instance;
    v_explain jsonb; v_state text; v_error text; v_sorted boolean;
    v_route jsonb; v_rstate text; v_rerror text;
BEGIN
    FOR s IN SELECT * FROM oracle.instance ORDER BY i LOOP
        v_explain := NULL; v_state := NULL; v_error := NULL; v_sorted := NULL;
        v_route := NULL; v_rstate := NULL; v_rerror := NULL;
        BEGIN
            v_explain := oms.route_explain(s.lines, s.ship_to, s.channel, s.options);
            -- The candidates list every location of every instance: keep the
            -- instance's own, and any other that is not excluded (a bug).
            IF jsonb_typeof(v_explain->'candidates') = 'array' THEN
                IF s.i <= 20 THEN
                    SELECT coalesce(bool_and(prev IS NULL OR prev < code COLLATE "C"), true) INTO v_sorted
                      FROM (SELECT c->>'location' AS code, lag(c->>'location') OVER (ORDER BY n) AS prev
                              FROM jsonb_array_elements(v_explain->'candidates') WITH ORDINALITY AS x(c, n)) y;
                END IF;
                v_explain := jsonb_set(v_explain, '{candidates}', jsonb_path_query_array(v_explain->'candidates',
                    '$[*] ? (@.status != "excluded" || @.location starts with $p)',
                    jsonb_build_object('p', oracle.prefix(s.i))));
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_error = MESSAGE_TEXT;
        END;
        BEGIN
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'line_no', r.line_no, 'sku', r.sku, 'location', r.location, 'qty', r.qty,
                       'shipment', r.shipment, 'distance_km', r.distance_km, 'cost', r.cost) ORDER BY r.n), '[]')
              INTO v_route
              FROM oms.route(s.lines, s.ship_to, s.channel, s.options)
                   WITH ORDINALITY AS r(line_no, sku, location, qty, shipment, distance_km, cost, n);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_rstate = RETURNED_SQLSTATE, v_rerror = MESSAGE_TEXT;
        END;
        INSERT INTO oracle.run VALUES (s.i, v_explain, v_sorted, v_state, v_error, v_route, v_rstate, v_rerror);
    END LOOP;
END
$$;

SELECT oracle.run_engine();

-- The engine's candidates and plan, flattened.
CREATE TABLE oracle.ecand AS
SELECT r.i, c.n::integer AS n, c.v->>'location' AS code, c.v->>'status' AS status, c.v->>'reason' AS reason,
       (c.v->>'distance_km')::numeric AS distance_km, (c.v->>'cost')::numeric AS cost,
       (c.v->>'priority')::numeric AS priority, c.v->'available' AS available
  FROM oracle.run r,
       jsonb_array_elements(CASE WHEN jsonb_typeof(r.explain->'candidates') = 'array'
                                 THEN r.explain->'candidates' ELSE '[]' END) WITH ORDINALITY AS c(v, n);
CREATE TABLE oracle.eplan AS
SELECT r.i, (p.v->>'line_no')::integer AS line_no, p.v->>'sku' AS sku, p.v->>'location' AS code,
       (p.v->>'qty')::integer AS qty, (p.v->>'shipment')::integer AS shipment
  FROM oracle.run r,
       jsonb_array_elements(CASE WHEN jsonb_typeof(r.explain->'plan') = 'array'
                                 THEN r.explain->'plan' ELSE '[]' END) AS p(v);
-- The locations the engine chose: status "chosen" in its candidates.
CREATE TABLE oracle.echosen AS
SELECT r.i, coalesce((SELECT array_agg(e.code ORDER BY e.code COLLATE "C")
                        FROM oracle.ecand e WHERE e.i = r.i AND e.status = 'chosen'), '{}') AS codes
  FROM oracle.run r;
CREATE INDEX ON oracle.ecand (i, code);
CREATE INDEX ON oracle.eplan (i);
CREATE INDEX ON oracle.stock (code);

--
-- The oracle.
--
-- Free units per line and location of the instance: on_hand - safety stock of
-- the location - the channel's (its channel_location row's, else its own).
CREATE TABLE oracle.avail AS
SELECT l.i, o.code, l.line_no, l.sku, l.qty,
       greatest(0, coalesce(st.on_hand, 0) - coalesce(st.safety, 0)
                   - CASE WHEN s.channel IS NULL THEN 0 ELSE coalesce(o.cl_safety, s.chan_safety) END) AS available
  FROM oracle.instance s
  JOIN oracle.line l ON l.i = s.i
  JOIN oracle.location o ON o.i = s.i
  LEFT JOIN oracle.stock st ON (st.sku, st.code) = (l.sku, o.code);
CREATE INDEX ON oracle.avail (i, code);

-- Every location of every instance: why it cannot serve (none: a candidate),
-- its distance and cost as computed here.
CREATE TABLE oracle.status AS
SELECT o.i, o.code, o.priority,
       array_remove(ARRAY[
           CASE WHEN NOT o.active THEN 'inactive' END,
           CASE WHEN s.channel IS NOT NULL AND NOT o.allowed THEN 'channel_not_allowed' END,
           CASE WHEN NOT o.can_ship THEN 'cannot_ship' END,
           CASE WHEN s.pickup IS NOT NULL AND o.code <> s.pickup THEN 'not_pickup_location' END,
           CASE WHEN o.excluded THEN 'excluded_by_request' END,
           CASE WHEN o.load >= o.daily_capacity OR o.daily_capacity = 0 THEN 'capacity_reached' END,
           CASE WHEN a.stock = 0 THEN 'no_stock' END], NULL) AS reasons,
       a.stock, a.json AS available, a.has_row,
       d.distance_km AS my_distance,
       CASE WHEN o.fixed IS NULL THEN d.distance_km ELSE o.fixed + o.per_km * d.distance_km END AS my_cost
  FROM oracle.location o
  JOIN oracle.instance s ON s.i = o.i
  JOIN (SELECT v.code, sum(v.available)::integer AS stock, jsonb_object_agg(v.sku, v.available) AS json,
               bool_or(st.on_hand > 0) AS has_row
          FROM oracle.avail v LEFT JOIN oracle.stock st ON (st.sku, st.code) = (v.sku, v.code)
         GROUP BY v.code) AS a ON a.code = o.code
  CROSS JOIN LATERAL (
      SELECT CASE WHEN s.ship_lat IS NULL THEN 0
                  ELSE oracle.haversine(o.lat, o.lon, s.ship_lat, s.ship_lon)::numeric END AS distance_km) AS d;

-- The candidates, numbered as bits of a subset mask; their distance and cost
-- are the engine's (checked separately), so that sums compare exactly.
CREATE TABLE oracle.cand AS
SELECT st.i, st.code,
       (row_number() OVER (PARTITION BY st.i ORDER BY st.code COLLATE "C") - 1)::integer AS bit,
       coalesce(e.distance_km, round(st.my_distance, 6)) AS distance_km,
       coalesce(e.cost, round(st.my_cost, 6)) AS cost,
       st.priority, st.stock
  FROM oracle.status st
  LEFT JOIN oracle.ecand e ON (e.i, e.code) = (st.i, st.code)
 WHERE st.reasons = '{}';

-- Every subset of every instance's candidates within its cap, scored.
CREATE TABLE oracle.subset AS
WITH n AS (
    SELECT s.i, count(c.code)::integer AS n FROM oracle.instance s LEFT JOIN oracle.cand c ON c.i = s.i GROUP BY s.i
), sub AS (
    SELECT n.i, m FROM n, generate_series(0, (1 << n.n) - 1) AS m
), mem AS (
    SELECT sub.i, sub.m, c.code, c.distance_km, c.cost, c.priority, c.stock
      FROM sub JOIN oracle.cand c ON c.i = sub.i AND (sub.m >> c.bit) & 1 = 1
), tot AS (
    SELECT sub.i, sub.m, count(mem.code)::integer AS shipments,
           coalesce(sum(mem.cost), 0) AS cost, coalesce(sum(mem.distance_km), 0) AS distance_km,
           coalesce(sum(mem.priority), 0) AS priority, coalesce(sum(mem.stock), 0) AS stock,
           coalesce(array_agg(mem.code ORDER BY mem.code COLLATE "C") FILTER (WHERE mem.code IS NOT NULL), '{}') AS codes
      FROM sub LEFT JOIN mem ON (mem.i, mem.m) = (sub.i, sub.m)
     GROUP BY sub.i, sub.m
), line_total AS (
    SELECT mem.i, mem.m, a.line_no, sum(a.available) AS total
      FROM mem JOIN oracle.avail a ON (a.i, a.code) = (mem.i, mem.code)
     GROUP BY mem.i, mem.m, a.line_no
), units AS (
    SELECT sub.i, sub.m, sum(least(l.qty, coalesce(lt.total, 0)))::integer AS units, sum(l.qty)::integer AS requested
      FROM sub JOIN oracle.line l ON l.i = sub.i
      LEFT JOIN line_total lt ON (lt.i, lt.m, lt.line_no) = (sub.i, sub.m, l.line_no)
     GROUP BY sub.i, sub.m
)
SELECT tot.i, tot.m, units.units, units.requested, tot.shipments, tot.cost, tot.distance_km,
       tot.priority, tot.stock, tot.codes, s.strategy
  FROM tot JOIN units USING (i, m) JOIN oracle.instance s ON s.i = tot.i
 WHERE s.cap IS NULL OR tot.shipments <= s.cap;

-- A strategy's key as sortable numbers, after units DESC and before the codes.
CREATE FUNCTION oracle.key(strategy text, shipments numeric, cost numeric, distance_km numeric,
                           priority numeric, stock numeric) RETURNS numeric[]
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE strategy
        WHEN 'fewest_shipments' THEN ARRAY[shipments, cost, -priority, 0]
        WHEN 'cheapest'         THEN ARRAY[cost, shipments, -priority, 0]
        WHEN 'nearest_first'    THEN ARRAY[shipments, distance_km, -priority, 0]
        WHEN 'priority_first'   THEN ARRAY[shipments, -priority, cost, 0]
        WHEN 'balance_stock'    THEN ARRAY[shipments, -stock, cost, -priority]
    END
$$;

-- The best subset per instance; tied: another subset had the same key but
-- for the codes, so the final tie-break decided.
CREATE TABLE oracle.best AS
SELECT i, units, requested, shipments, cost, distance_km, priority, stock, codes, tied, fewest_codes
  FROM (SELECT x.*,
               row_number() OVER (PARTITION BY i ORDER BY -units, oracle.key(strategy, shipments, cost, distance_km, priority, stock),
                                                         codes COLLATE "C") AS rn,
               count(*) OVER (PARTITION BY i, units, oracle.key(strategy, shipments, cost, distance_km, priority, stock)) > 1 AS tied,
               -- what fewest_shipments would choose: a strategy that parts from it is put to the test
               first_value(codes) OVER (PARTITION BY i ORDER BY -units, oracle.key('fewest_shipments', shipments, cost, distance_km, priority, stock),
                                                                codes COLLATE "C") AS fewest_codes
          FROM oracle.subset x) ranked
 WHERE rn = 1;

-- Per instance: what the oracle expects next to what the engine did.
CREATE VIEW oracle.cmp AS
SELECT s.i, s.strategy, s.allow_backorder, s.cap, b.units, b.requested, b.codes, b.tied,
       b.codes <> b.fewest_codes AS parted,
       NOT s.allow_backorder AND b.units < b.requested AS expect_error,
       jsonb_build_object('units', b.units, 'units_requested', b.requested, 'shipments', b.shipments,
                          'cost', b.cost, 'distance_km', b.distance_km, 'priority', b.priority,
                          'stock', b.stock) AS objective,
       r.explain, r.explain_state, r.explain_error, r.route, r.route_state, r.route_error,
       r.explain IS NOT NULL AND r.explain_state IS NULL AS answered,
       ec.codes AS engine_codes,
       format('seed %s #%s %s', (SELECT seed FROM oracle.config), s.i, s.strategy) AS tag
  FROM oracle.instance s
  JOIN oracle.best b ON b.i = s.i
  JOIN oracle.run r ON r.i = s.i
  JOIN oracle.echosen ec ON ec.i = s.i;

-- Failed instances per check, for the script at the end.
CREATE SEQUENCE oracle.check_no;
CREATE TABLE oracle.failed (check_no integer NOT NULL, i integer NOT NULL);

-- A plan, short: [#1 R001-A: L1x2 L2x1] [backordered: L3x1].
CREATE FUNCTION oracle.plan_text(plan jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(part, ' ' ORDER BY shipment NULLS LAST, part), '[]')
      FROM (SELECT (p->>'shipment')::integer AS shipment,
                   format('[%s: %s]', coalesce('#' || (p->>'shipment') || ' ', '') || coalesce(p->>'location', 'backordered'),
                          string_agg(format('L%sx%s', p->>'line_no', p->>'qty'), ' ' ORDER BY (p->>'line_no')::integer)) AS part
              FROM jsonb_array_elements(coalesce(plan, '[]')) AS p
             GROUP BY p->>'shipment', p->>'location') x
$$;

-- ok() when the query of failures (i integer, message text) returns nothing;
-- else not ok, with the first ten messages as diagnostics.
CREATE FUNCTION oracle.none(failures text, description text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_msgs text[];
    v_ids integer[];
    v_check integer := nextval('oracle.check_no');
BEGIN
    EXECUTE format('SELECT array_agg(m ORDER BY i, m), array_agg(DISTINCT i) FROM (%s) AS f(i, m)', failures)
       INTO v_msgs, v_ids;
    IF v_msgs IS NULL THEN
        RETURN ok(true, description);
    END IF;
    INSERT INTO oracle.failed SELECT v_check, unnest(v_ids);
    RETURN ok(false, description) || E'\n' || diag(
        format('%s failure(s) in %s of %s instances:', cardinality(v_msgs), cardinality(v_ids),
               (SELECT count(*) FROM oracle.instance))
        || E'\n    ' || array_to_string(v_msgs[1:10], E'\n    ')
        || CASE WHEN cardinality(v_msgs) > 10 THEN E'\n    ...' ELSE '' END);
END
$$;

--
-- The checks.
--
SELECT has_function('oms', 'route_explain', ARRAY['jsonb', 'jsonb', 'text', 'jsonb'], 'oms.route_explain exists');
SELECT has_function('oms', 'route', ARRAY['jsonb', 'jsonb', 'text', 'jsonb'], 'oms.route exists');

SELECT oracle.none($$
    SELECT i, format('%s: engine %s, oracle %s', tag,
                     CASE WHEN explain_state IS NOT NULL THEN 'raised ' || explain_state || ' ' || explain_error
                          WHEN explain IS NULL THEN 'returned NULL'
                          ELSE format('routed %s of %s units from %s', explain#>>'{objective,units}', requested, engine_codes) END,
                     CASE WHEN expect_error THEN format('expects OM030 (at most %s of %s units from %s)', units, requested,
                                             coalesce('at most ' || cap || ' location(s)', 'any number of locations'))
                          ELSE format('routes %s of %s units from %s', units, requested, codes) END)
      FROM oracle.cmp
     WHERE CASE WHEN expect_error THEN explain_state IS DISTINCT FROM 'OM030' ELSE NOT answered END
$$, 'route_explain routes exactly when the oracle can, and raises OM030 exactly when it cannot');

SELECT oracle.none($$
    SELECT c.i, format('%s: engine says strategy %s, search %s; expected %s, exact', c.tag,
                       c.explain->>'strategy', c.explain->>'search', c.strategy)
      FROM oracle.cmp c
     WHERE c.answered
       AND (c.explain->>'strategy' IS DISTINCT FROM c.strategy OR c.explain->>'search' IS DISTINCT FROM 'exact')
$$, 'route_explain names the strategy that applies (option, channel policy or default) and its search is exact');

SELECT oracle.none($$
    SELECT c.i, format('%s: engine %s from %s, oracle %s from %s%s', c.tag, c.explain->'objective', c.engine_codes,
                       c.objective, c.codes, CASE WHEN c.tied THEN ' (tie broken by codes)' ELSE '' END)
      FROM oracle.cmp c
     WHERE c.answered AND NOT c.expect_error
       AND EXISTS (SELECT FROM jsonb_each(c.objective) AS o(k, v)
                    WHERE (c.explain->'objective'->>o.k)::numeric IS DISTINCT FROM (o.v #>> '{}')::numeric)
$$, 'the objective is the oracle''s best: units, units_requested, shipments, cost, distance_km, priority, stock');

SELECT oracle.none($$
    SELECT c.i, format('%s: engine chose %s (plan: %s), oracle %s%s; engine objective %s, oracle %s', c.tag,
                       c.engine_codes,
                       coalesce((SELECT array_agg(DISTINCT p.code) FROM oracle.eplan p WHERE p.i = c.i AND p.code IS NOT NULL), '{}'),
                       c.codes, CASE WHEN c.tied THEN ' (tie broken by codes)' ELSE '' END,
                       c.explain->'objective', c.objective)
      FROM oracle.cmp c
     WHERE c.answered AND NOT c.expect_error
       AND (c.engine_codes <> c.codes
            OR c.codes <> coalesce((SELECT array_agg(d.code ORDER BY d.code COLLATE "C")
                                      FROM (SELECT DISTINCT p.code FROM oracle.eplan p
                                             WHERE p.i = c.i AND p.code IS NOT NULL) d), '{}'))
$$, 'the chosen locations (candidates "chosen", and those in the plan) are the oracle''s, the final tie-break included');

SELECT oracle.none($$
    SELECT e.i, format('seed %s #%s candidate %s: engine distance_km %s cost %s priority %s, expected %s, %s, %s',
                       (SELECT seed FROM oracle.config), e.i, e.code, e.distance_km, e.cost, e.priority,
                       round(st.my_distance, 9), round(st.my_cost, 9), st.priority)
      FROM oracle.ecand e JOIN oracle.status st ON (st.i, st.code) = (e.i, e.code)
     WHERE (e.status <> 'excluded' OR e.distance_km IS NOT NULL OR e.cost IS NOT NULL)
       AND (e.distance_km IS NULL OR abs(e.distance_km - st.my_distance) > 1e-6
            OR e.cost IS NULL OR abs(e.cost - st.my_cost) > 1e-6
            OR e.cost <> round(e.cost, 6) OR e.distance_km <> round(e.distance_km, 6)
            OR e.priority IS DISTINCT FROM st.priority)
$$, 'candidates'' distance_km is the haversine to ship_to (0 without coordinates), cost fixed + per_km * distance (else distance), both to 6 decimals');

SELECT oracle.none($$
    -- every location of the instance that holds some of its SKUs is listed once, with its status
    SELECT st.i, format('seed %s #%s location %s: engine %s, expected %s', (SELECT seed FROM oracle.config), st.i, st.code,
                        coalesce((SELECT jsonb_agg(jsonb_build_object('status', e.status, 'reason', e.reason, 'available', e.available))
                                    FROM oracle.ecand e WHERE (e.i, e.code) = (st.i, st.code))::text, 'not listed'),
                        CASE WHEN st.reasons = '{}' THEN format('candidate with available %s', st.available)
                             ELSE format('excluded for one of %s', st.reasons) END)
      FROM oracle.status st JOIN oracle.cmp c ON c.i = st.i
     WHERE c.answered
       AND (st.has_row OR EXISTS (SELECT FROM oracle.ecand e WHERE (e.i, e.code) = (st.i, st.code)))
       AND NOT coalesce((SELECT count(*) = 1
                                AND bool_and(CASE WHEN st.reasons = '{}'
                                                  THEN e.status IN ('chosen', 'candidate') AND e.reason IS NULL
                                                       AND e.available = st.available
                                                  ELSE e.status = 'excluded' AND e.reason = ANY (st.reasons) END)
                           FROM oracle.ecand e WHERE (e.i, e.code) = (st.i, st.code)), false)
    UNION ALL
    -- locations of other instances are never candidates
    SELECT e.i, format('seed %s #%s: location %s of another instance is %s', (SELECT seed FROM oracle.config), e.i, e.code, e.status)
      FROM oracle.ecand e
     WHERE e.status <> 'excluded' AND NOT EXISTS (SELECT FROM oracle.status st WHERE (st.i, st.code) = (e.i, e.code))
    UNION ALL
    -- ordered by code (byte order)
    SELECT c.i, format('%s: candidates are not in code order: %s', c.tag,
                       coalesce((SELECT array_agg(e.code ORDER BY e.n) FROM oracle.ecand e WHERE e.i = c.i)::text, 'all of them'))
      FROM oracle.cmp c JOIN oracle.run r ON r.i = c.i
     WHERE c.answered
       AND (NOT r.all_sorted
            OR (SELECT array_agg(e.code ORDER BY e.n) FROM oracle.ecand e WHERE e.i = c.i)
               IS DISTINCT FROM (SELECT array_agg(e.code ORDER BY e.code COLLATE "C") FROM oracle.ecand e WHERE e.i = c.i))
$$, 'candidates: every stocked location once, in code order, with its free units or the reason it is excluded');

-- The plan against the engine's own choice: each line gets min(qty, what the
-- chosen locations have), never more than a location has, the rest
-- backordered; one shipment number per chosen location, 1 to their number.
SELECT oracle.none($$
    WITH ln AS (
        SELECT c.i, c.tag, c.allow_backorder, l.line_no, l.sku, l.qty,
               (SELECT coalesce(sum(a.available), 0) FROM oracle.avail a
                 WHERE a.i = c.i AND a.line_no = l.line_no AND a.code = ANY (c.engine_codes)) AS there,
               (SELECT coalesce(sum(p.qty), 0) FROM oracle.eplan p
                 WHERE p.i = c.i AND p.line_no = l.line_no AND p.code IS NOT NULL) AS planned,
               (SELECT coalesce(sum(p.qty), 0) FROM oracle.eplan p
                 WHERE p.i = c.i AND p.line_no = l.line_no AND p.code IS NULL) AS backordered
          FROM oracle.cmp c JOIN oracle.line l ON l.i = c.i
         WHERE c.answered
    )
    SELECT i, format('%s line %s (%s units of %s; the chosen %s have %s): planned %s, backordered %s',
                     tag, line_no, qty, sku, (SELECT engine_codes FROM oracle.cmp x WHERE x.i = ln.i), there,
                     planned, backordered)
      FROM ln
     WHERE planned <> least(qty, there)
        OR backordered <> CASE WHEN allow_backorder THEN qty - least(qty, there) ELSE 0 END
    UNION ALL
    SELECT p.i, format('%s plan row %s', c.tag, to_jsonb(p) - 'i')
      FROM oracle.eplan p JOIN oracle.cmp c ON c.i = p.i
      LEFT JOIN oracle.line l ON (l.i, l.line_no) = (p.i, p.line_no)
      LEFT JOIN oracle.avail a ON (a.i, a.line_no, a.code) = (p.i, p.line_no, p.code)
     WHERE l.sku IS DISTINCT FROM p.sku OR NOT p.qty > 0
        OR (p.code IS NULL) <> (p.shipment IS NULL)
        OR (p.code IS NOT NULL AND (NOT p.code = ANY (c.engine_codes) OR a.available IS NULL OR p.qty > a.available))
    UNION ALL
    SELECT c.i, format('%s: plan rows per (line, location) or shipment numbers are off: %s', c.tag, c.explain->'plan')
      FROM oracle.cmp c
     WHERE c.answered
       AND ((SELECT count(*) <> count(DISTINCT (p.line_no, p.code)) FROM oracle.eplan p WHERE p.i = c.i)
            OR (SELECT count(DISTINCT (p.code, p.shipment)) <> count(DISTINCT p.code)
                       OR count(DISTINCT (p.code, p.shipment)) <> count(DISTINCT p.shipment)
                       OR coalesce(max(p.shipment), 0) <> count(DISTINCT p.shipment)
                       OR coalesce(min(p.shipment), 1) <> 1
                  FROM oracle.eplan p WHERE p.i = c.i AND p.code IS NOT NULL))
$$, 'the plan gives each line min(qty, free units at the chosen locations), the rest backordered, one shipment per location');

-- Shipment order and fill: shipments numbered by the strategy's key applied
-- to each chosen location alone (units it could ship alone first, then the
-- strategy's terms, then code); each line takes its units in that order.
CREATE VIEW oracle.expected_plan AS
WITH loc AS (
    SELECT c.i, c.strategy, e.code,
           row_number() OVER (PARTITION BY c.i ORDER BY
               -(SELECT sum(least(a.qty, a.available)) FROM oracle.avail a WHERE (a.i, a.code) = (c.i, e.code)),
               oracle.key(c.strategy, 1, e.cost, e.distance_km, e.priority,
                          (SELECT sum(a.available) FROM oracle.avail a WHERE (a.i, a.code) = (c.i, e.code))),
               e.code COLLATE "C")::integer AS shipment
      FROM oracle.cmp c JOIN oracle.ecand e ON e.i = c.i AND e.status = 'chosen'
     WHERE c.answered
), fill AS (
    SELECT loc.i, a.line_no, a.sku, a.qty, loc.code, loc.shipment, a.available,
           coalesce(sum(a.available) OVER (PARTITION BY loc.i, a.line_no ORDER BY loc.shipment
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
      FROM loc JOIN oracle.avail a ON (a.i, a.code) = (loc.i, loc.code)
)
SELECT i, line_no, sku, code, least(available, qty - before)::integer AS qty, shipment
  FROM fill WHERE least(available, qty - before) > 0
UNION ALL
SELECT l.i, l.line_no, l.sku, NULL, (l.qty - coalesce(sum(f.take), 0))::integer, NULL
  FROM oracle.cmp c JOIN oracle.line l ON l.i = c.i
  LEFT JOIN LATERAL (SELECT greatest(0, least(f.available, f.qty - f.before)) AS take
                       FROM fill f WHERE (f.i, f.line_no) = (l.i, l.line_no)) f ON true
 WHERE c.answered AND c.allow_backorder
 GROUP BY l.i, l.line_no, l.sku, l.qty
HAVING l.qty - coalesce(sum(f.take), 0) > 0;

SELECT oracle.none($$
    SELECT c.i, format('%s: plan %s, expected %s', c.tag, oracle.plan_text(c.explain->'plan'),
                       oracle.plan_text((SELECT jsonb_agg(jsonb_build_object('line_no', x.line_no, 'location', x.code,
                                                                             'qty', x.qty, 'shipment', x.shipment))
                                           FROM oracle.expected_plan x WHERE x.i = c.i)))
      FROM oracle.cmp c
     WHERE c.answered
       AND EXISTS ((SELECT line_no, sku, code, qty, shipment FROM oracle.eplan WHERE i = c.i
                    EXCEPT ALL SELECT line_no, sku, code, qty, shipment FROM oracle.expected_plan WHERE i = c.i)
                   UNION ALL
                   (SELECT line_no, sku, code, qty, shipment FROM oracle.expected_plan WHERE i = c.i
                    EXCEPT ALL SELECT line_no, sku, code, qty, shipment FROM oracle.eplan WHERE i = c.i))
$$, 'shipments are numbered by the strategy''s key on each location alone, and each line fills from them in that order');

-- oms.route: the same error, or route_explain's plan ordered by shipment and
-- line_no, with each location's distance_km and cost.
SELECT oracle.none($$
    SELECT c.i, format('%s: route raised %s %s, route_explain %s %s', c.tag, c.route_state, c.route_error,
                       c.explain_state, c.explain_error)
      FROM oracle.cmp c
     WHERE c.route_state IS DISTINCT FROM c.explain_state
    UNION ALL
    SELECT c.i, format('%s: route returned %s, expected %s', c.tag, c.route, x.expected)
      FROM oracle.cmp c
     CROSS JOIN LATERAL (
         SELECT coalesce(jsonb_agg(jsonb_build_object('line_no', p.line_no, 'sku', p.sku, 'location', p.code,
                                                      'qty', p.qty, 'shipment', p.shipment,
                                                      'distance_km', e.distance_km, 'cost', e.cost)
                                   ORDER BY p.shipment NULLS LAST, p.line_no), '[]') AS expected
           FROM oracle.eplan p LEFT JOIN oracle.ecand e ON (e.i, e.code) = (p.i, p.code)
          WHERE p.i = c.i) x
     WHERE c.answered AND c.route_state IS NULL
       AND (jsonb_array_length(c.route) <> jsonb_array_length(x.expected)
            OR EXISTS (SELECT FROM jsonb_array_elements(c.route) WITH ORDINALITY AS r(v, n)
                         JOIN jsonb_array_elements(x.expected) WITH ORDINALITY AS y(v, n) USING (n)
                        WHERE (r.v - 'distance_km' - 'cost') <> (y.v - 'distance_km' - 'cost')
                           OR (r.v->>'cost')::numeric IS DISTINCT FROM (y.v->>'cost')::numeric
                           OR (r.v->>'distance_km' IS NULL) <> (y.v->>'distance_km' IS NULL)
                           OR abs((r.v->>'distance_km')::numeric - (y.v->>'distance_km')::numeric) > 1e-6))
$$, 'oms.route returns route_explain''s plan, ordered by shipment and line_no, or raises the same error');

-- Enough of every kind of instance, so that the checks above mean something
-- (the floors scale with the number of instances); the counts are printed.
CREATE VIEW oracle.coverage AS
WITH c AS (SELECT c.*, s.channel, s.restricted, s.strategy_from, s.pickup, s.ship_lat FROM oracle.cmp c JOIN oracle.instance s USING (i)),
     n AS (SELECT instances AS n FROM oracle.config)
SELECT what, got, wanted
  FROM (SELECT 1 AS o, format('%s routed', strategy) AS what,
               count(*) FILTER (WHERE NOT expect_error AND units > 0) AS got, (SELECT n / 10 FROM n) AS wanted
          FROM c GROUP BY strategy
        UNION ALL
        SELECT 2, format('%s parting from fewest_shipments', strategy),
               count(*) FILTER (WHERE parted AND NOT expect_error), (SELECT n / 150 FROM n)
          FROM c WHERE strategy <> 'fewest_shipments' GROUP BY strategy
        UNION ALL SELECT 3, 'expecting OM030', count(*) FILTER (WHERE expect_error), (SELECT n / 25 FROM n) FROM c
        UNION ALL SELECT 4, 'partly backordered', count(*) FILTER (WHERE allow_backorder AND units < requested), (SELECT n / 25 FROM n) FROM c
        UNION ALL SELECT 5, 'decided by the code tie-break', count(*) FILTER (WHERE tied AND NOT expect_error), (SELECT n / 50 FROM n) FROM c
        UNION ALL SELECT 6, 'split over 2+ locations', count(*) FILTER (WHERE cardinality(codes) >= 2 AND NOT expect_error), (SELECT n / 10 FROM n) FROM c
        UNION ALL SELECT 7, 'with a channel', count(*) FILTER (WHERE channel IS NOT NULL), (SELECT n / 25 FROM n) FROM c
        UNION ALL SELECT 7, 'with a channel open to every location', count(*) FILTER (WHERE channel IS NOT NULL AND NOT restricted), (SELECT n / 150 FROM n) FROM c
        UNION ALL SELECT 7, 'locations at their daily capacity', count(*), (SELECT n / 50 FROM n) FROM oracle.status WHERE 'capacity_reached' = ANY (reasons)
        UNION ALL SELECT 8, 'taking the strategy from the channel policy', count(*) FILTER (WHERE strategy_from = 'policy'), (SELECT n / 100 FROM n) FROM c
        UNION ALL SELECT 9, 'pickup', count(*) FILTER (WHERE pickup IS NOT NULL), (SELECT n / 100 FROM n) FROM c
        UNION ALL SELECT 10, 'without ship_to coordinates', count(*) FILTER (WHERE ship_lat IS NULL), (SELECT n / 25 FROM n) FROM c
       ) x
 ORDER BY o, what;

SELECT ok(bool_and(got >= wanted), 'the instances cover every strategy, OM030, backorders, ties, splits and channels')
       || E'\n' || diag(format('%s instances, seed %s: ', (SELECT instances FROM oracle.config), (SELECT seed FROM oracle.config))
                        || string_agg(format('%s %s%s', got, what, CASE WHEN got < wanted THEN format(' (TOO FEW: wanted %s)', wanted) ELSE '' END), ', '))
  FROM oracle.coverage;

SELECT is_empty($$SELECT * FROM oms.check_invariants()$$, 'routing changed nothing: every invariant holds');

-- For the first instance the first failing check names: a script that
-- rebuilds it in a database with oms, with both answers.
CREATE FUNCTION oracle.repro() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    v_i integer := (SELECT i FROM oracle.failed ORDER BY check_no, i LIMIT 1);
    c oracle.cmp;
    s oracle.instance;
    b oracle.best;
    script text;
BEGIN
    IF v_i IS NULL THEN
        RETURN;
    END IF;
    SELECT * INTO s FROM oracle.instance WHERE i = v_i;
    SELECT * INTO b FROM oracle.best WHERE i = v_i;
    SELECT * INTO c FROM oracle.cmp WHERE i = v_i;
    script := format(E'-- seed %s, instance %s: rebuild it in a database with oms (CREATE EXTENSION oms)\nBEGIN;\n',
                     (SELECT seed FROM oracle.config), v_i);
    script := script || (SELECT format(E'INSERT INTO oms.sku (code, name) VALUES %s;\n',
                                       string_agg(format('(%L, %L)', sku, sku), ', ' ORDER BY line_no))
                           FROM oracle.line WHERE i = v_i);
    script := script || (SELECT format(E'INSERT INTO oms.location (code, name, kind, latitude, longitude, priority, shipping_cost_fixed, shipping_cost_per_km, can_ship, can_pickup, daily_capacity, active) VALUES\n    %s;\n',
                                       string_agg(format('(%L, %L, %L, %s, %s, %s, %s, %s, %L, %L, %s, %L)', code, code,
                                                         CASE WHEN can_pickup THEN 'store' ELSE 'warehouse' END, lat, lon, priority,
                                                         coalesce(fixed::text, 'NULL'), coalesce(per_km::text, 'NULL'),
                                                         can_ship, can_pickup, coalesce(daily_capacity::text, 'NULL'), active),
                                                  E',\n    ' ORDER BY code))
                           FROM oracle.location WHERE i = v_i);
    script := script || coalesce((SELECT string_agg(format(E'INSERT INTO oms.location_load (location_id, day, orders) SELECT id, (now() AT TIME ZONE ''UTC'')::date, %s FROM oms.location WHERE code = %L;\n', load, code), '' ORDER BY code)
                                    FROM oracle.location WHERE i = v_i AND load > 0), '');
    script := script || coalesce((SELECT string_agg(format(E'SELECT oms.receive_stock(%L, %L, %s);\n', sku, code, on_hand)
                                                    || CASE WHEN safety > 0 THEN format(E'SELECT oms.set_safety_stock(%L, %L, %s);\n', sku, code, safety) ELSE '' END,
                                                    '' ORDER BY sku, code)
                                    FROM oracle.stock WHERE i = v_i AND on_hand > 0), '');
    IF s.channel IS NOT NULL THEN
        script := script || format(E'INSERT INTO oms.channel (code, name, kind, safety_stock) VALUES (%L, %L, ''web'', %s);\n',
                                   s.channel, s.channel, s.chan_safety);
        script := script || coalesce((SELECT string_agg(format(E'INSERT INTO oms.channel_location (channel_id, location_id, safety_stock) SELECT c.id, l.id, %s FROM oms.channel c, oms.location l WHERE c.code = %L AND l.code = %L;\n',
                                                               coalesce(cl_safety::text, 'NULL'), s.channel, code), '' ORDER BY code)
                                        FROM oracle.location WHERE i = v_i AND allowed AND s.restricted), '');
        IF s.policy_strategy IS NOT NULL THEN
            script := script || format(E'INSERT INTO oms.routing_policy (channel_id, strategy, max_shipments) SELECT id, %L, %s FROM oms.channel WHERE code = %L;\n',
                                       s.policy_strategy, coalesce(s.policy_max::text, 'NULL'), s.channel);
        END IF;
    END IF;
    script := script || format(E'SELECT jsonb_pretty(oms.route_explain(%L, %L, %L, %L));\n',
                               s.lines, s.ship_to, s.channel, s.options);
    script := script || format(E'-- oracle: %s\n', CASE WHEN NOT s.allow_backorder AND b.units < b.requested
                                                         THEN format('OM030 (at most %s of %s units)', b.units, b.requested)
                                                         ELSE format('%s from %s', jsonb_build_object('units', b.units, 'units_requested', b.requested,
                                                                     'shipments', b.shipments, 'cost', b.cost, 'distance_km', b.distance_km,
                                                                     'priority', b.priority, 'stock', b.stock), b.codes) END);
    script := script || format(E'-- engine: %s\n', CASE WHEN c.explain_state IS NOT NULL THEN c.explain_state || ' ' || c.explain_error
                                                         ELSE format('%s from %s, plan %s', c.explain->'objective', c.engine_codes,
                                                                     oracle.plan_text(c.explain->'plan')) END);
    script := script || E'ROLLBACK;';
    RETURN NEXT diag(script);
END
$$;
SELECT * FROM oracle.repro();

SELECT * FROM finish();
ROLLBACK;
