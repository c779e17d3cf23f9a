--
-- test/bench/route/reference.sql — the routing benchmark's baseline: the
-- objective of oms.route's default strategy (fewest_shipments) in PL/pgSQL,
-- over the real oms tables, as a careful PL/pgSQL developer would write it.
--
-- Same conventions as oms.route with channel NULL and no options: every active
-- location that ships may serve; free units are oms.stock_level.free (on_hand −
-- reserved, slots included, − unexpired holds − safety_stock), never below 0;
-- a location's distance is great-circle (R = 6371.0088 km, 0 without
-- coordinates) rounded to 6 decimals, and its cost for one shipment
-- shipping_cost_fixed + shipping_cost_per_km × that distance when it has a
-- cost model, else the distance, rounded to 6 decimals: in double precision
-- and rounding halves away from zero (round() would take them to even), as
-- oms computes them, so that both find the same costs to the last digit.
-- The objective, best first: units DESC, shipments ASC, cost ASC, priority
-- DESC, then the chosen codes sorted in byte order, compared as arrays.  Short
-- stock is an error with SQLSTATE OM030, as in oms.route.
--
--   bench_ref.route_exhaustive(lines, ship_to)  exact: every set of 1, then 2,
--       3, ... locations that hold an ordered SKU, stopping at the first size
--       that covers the order; the best of those by the objective.  Prunes
--       only what cannot be optimal: a location that adds none of the units
--       its set still lacks (the set would cover without it, so a smaller one
--       would have covered).  For small cases: the sets grow as m^k.
--   bench_ref.route_greedy(lines, ship_to)  repeatedly the location that
--       covers the most open units; ties by cost, priority DESC, code.
--
-- Both return oms.route's rows: per line and chosen location the units taken
-- there (each line takes its units from the chosen locations in shipment
-- order), the shipment number (the chosen locations ordered by the units
-- each alone would ship DESC, cost, priority DESC, code), the distance and the
-- location's cost; ordered by shipment, line_no.
--
-- One query reads the order's stock into arrays (bench_ref.input); the
-- searches then work on those in memory.  Candidate i is the i-th location by
-- code (so that comparing sets of indexes compares their codes); the free
-- units are three parallel arrays, one entry per stock row with free units,
-- sorted by candidate: candidate, line and units (capped at the line's qty,
-- which changes no objective).
--

CREATE SCHEMA bench_ref;
COMMENT ON SCHEMA bench_ref IS 'Routing benchmark: the PL/pgSQL reference for oms.route (test/bench/route).';

CREATE TYPE bench_ref.input AS (
    sku_ids     bigint[],               -- per line (line_no = index)
    skus        text[],
    qtys        integer[],
    codes       text[],                 -- per candidate location, by code
    distance_km double precision[],
    cost        bigint[],               -- millionths, as oms counts them
    priority    integer[],
    f_loc       integer[],              -- free units: candidate,
    f_line      integer[],              -- line,
    f_units     integer[]               -- least(free, qty) > 0
);
COMMENT ON TYPE bench_ref.input IS 'Routing reference: an order and the free units of its candidate locations, as arrays.';

-- Reads and checks the order, finds the candidate locations and their free
-- units, and refuses an order that all of them together cannot fill.
-- Generic plans: custom ones, which the plan cache prefers for the array
-- parameters, would plan the big query again on every call (twice the time).
CREATE FUNCTION bench_ref.load(lines jsonb, ship_to jsonb) RETURNS bench_ref.input
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    r bench_ref.input;
    lat double precision := (ship_to ->> 'latitude')::double precision;
    lon double precision := (ship_to ->> 'longitude')::double precision;
    bad record;
    short_line integer;     -- a line all candidates together cannot fill
    short_free bigint;
BEGIN
    IF jsonb_typeof(lines) IS DISTINCT FROM 'array' OR jsonb_array_length(lines) = 0 THEN
        RAISE EXCEPTION 'lines must be a non-empty JSON array' USING ERRCODE = 'OM020';
    END IF;
    -- One index lookup per line: a join would let the planner, which guesses
    -- 100 lines, hash all of oms.sku.
    SELECT array_agg((SELECT s.id FROM oms.sku s WHERE s.code = e.x ->> 'sku' AND s.active) ORDER BY e.n),
           array_agg(e.x ->> 'sku' ORDER BY e.n),
           array_agg((e.x ->> 'qty')::integer ORDER BY e.n)
      INTO r.sku_ids, r.skus, r.qtys
      FROM jsonb_array_elements(lines) WITH ORDINALITY AS e(x, n);
    SELECT l.sku, l.sku_id, l.qty, count(*) OVER (PARTITION BY l.sku) AS times INTO bad
      FROM unnest(r.skus, r.sku_ids, r.qtys) AS l(sku, sku_id, qty)
     ORDER BY (l.sku_id IS NULL OR l.qty IS NULL OR l.qty < 1) DESC, 4 DESC
     LIMIT 1;
    IF bad.sku_id IS NULL THEN
        RAISE EXCEPTION 'unknown or inactive sku "%"', bad.sku USING ERRCODE = 'OM001';
    ELSIF bad.qty IS NULL OR bad.qty < 1 THEN
        RAISE EXCEPTION 'invalid quantity for sku "%"', bad.sku USING ERRCODE = 'OM010';
    ELSIF bad.times > 1 THEN
        RAISE EXCEPTION 'sku "%" appears more than once', bad.sku USING ERRCODE = 'OM023';
    END IF;

    WITH f AS MATERIALIZED (
        -- Free units of the ordered SKUs, wherever they are.
        SELECT l.n::integer AS line_no, lv.location_id, least(lv.free, l.qty) AS units
          FROM unnest(r.sku_ids, r.qtys) WITH ORDINALITY AS l(sku_id, qty, n)
          JOIN oms.stock_level lv ON lv.sku_id = l.sku_id
         WHERE lv.free > 0
    ), h AS MATERIALIZED (
        -- The candidates, locations that may ship and have some, and their
        -- distance in millionths of a km, computed once.
        SELECT loc.id, loc.code, loc.priority, loc.shipping_cost_fixed::double precision AS fixed,
               loc.shipping_cost_per_km::double precision AS per_km,
               CASE WHEN lat IS NULL OR lon IS NULL THEN 0.0::double precision
                    ELSE 2 * 6371.0088::double precision * asin(least(1.0::double precision, sqrt(
                         sin(g.dp / 2) * sin(g.dp / 2)
                         + cos(g.p1) * cos(g.p2) * sin(g.dl / 2) * sin(g.dl / 2)))) * 1000000 END AS m
          FROM oms.location loc
         CROSS JOIN LATERAL (
                SELECT lat * pi() / 180 AS p1, loc.latitude * pi() / 180 AS p2,
                       loc.latitude * pi() / 180 - lat * pi() / 180 AS dp,
                       (loc.longitude - lon) * pi() / 180 AS dl) g
         WHERE loc.active AND loc.can_ship AND loc.id IN (SELECT location_id FROM f)
    ), c AS MATERIALIZED (
        -- Rounded as oms rounds: half away from zero.
        SELECT h.id, h.code, h.priority, d.micro::double precision / 1000000 AS km,
               CASE WHEN h.fixed IS NULL THEN d.micro
                    ELSE (CASE WHEN cm.m - trunc(cm.m) = 0.5 THEN trunc(cm.m) + 1 ELSE round(cm.m) END)::bigint
               END AS cost,
               row_number() OVER (ORDER BY h.code COLLATE "C")::integer AS idx
          FROM h
         CROSS JOIN LATERAL (
                SELECT (CASE WHEN h.m - trunc(h.m) = 0.5 THEN trunc(h.m) + 1 ELSE round(h.m) END)::bigint AS micro) d
         CROSS JOIN LATERAL (
                SELECT (h.fixed + h.per_km * (d.micro::double precision / 1000000)) * 1000000 AS m) cm
    ), fc AS MATERIALIZED (
        SELECT c.idx, f.line_no, f.units FROM f JOIN c ON c.id = f.location_id
    )
    SELECT cc.codes, cc.distance_km, cc.cost, cc.priority, ff.f_loc, ff.f_line, ff.f_units, sh.line_no, sh.free
      INTO r.codes, r.distance_km, r.cost, r.priority, r.f_loc, r.f_line, r.f_units, short_line, short_free
      -- Aggregates over sorted input: one sort each instead of one per array.
      FROM (SELECT array_agg(c.code) AS codes, array_agg(c.km) AS distance_km,
                   array_agg(c.cost) AS cost, array_agg(c.priority) AS priority
              FROM (SELECT * FROM c ORDER BY c.idx) c) cc,
           (SELECT array_agg(fc.idx) AS f_loc, array_agg(fc.line_no) AS f_line, array_agg(fc.units) AS f_units
              FROM (SELECT * FROM fc ORDER BY fc.idx, fc.line_no) fc) ff
      LEFT JOIN LATERAL (
            -- The first line that all candidates together cannot fill.
            SELECT l.n AS line_no, coalesce(t.free, 0) AS free
              FROM unnest(r.qtys) WITH ORDINALITY AS l(qty, n)
              LEFT JOIN (SELECT fc.line_no, sum(fc.units) AS free FROM fc GROUP BY fc.line_no) t ON t.line_no = l.n
             WHERE coalesce(t.free, 0) < l.qty
             ORDER BY l.n
             LIMIT 1) sh ON true;
    IF short_line IS NOT NULL THEN
        RAISE EXCEPTION 'not enough stock for sku "%"', r.skus[short_line] USING ERRCODE = 'OM030',
            DETAIL = format('%s units asked, %s available.', r.qtys[short_line], short_free);
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION bench_ref.load(jsonb, jsonb) IS 'Routing reference: the order''s lines, its candidate locations and their free units; OM030 when they cannot fill it.';

-- The rows of oms.route for the chosen candidates (indexes into d.codes).
-- PL/pgSQL rather than SQL, to keep the plan from one call to the next.
CREATE FUNCTION bench_ref.plan(d bench_ref.input, chosen integer[])
    RETURNS TABLE(line_no integer, sku text, location text, qty integer, shipment integer,
                  distance_km double precision, cost numeric)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH f AS (
        SELECT f.c, f.n, f.u
          FROM unnest(d.f_loc, d.f_line, d.f_units) AS f(c, n, u)
         WHERE f.c = ANY (chosen)
    ), s AS (
        -- Shipment order: the units each location would ship alone, then the objective.
        SELECT f.c, row_number() OVER (ORDER BY sum(f.u) DESC, d.cost[f.c], d.priority[f.c] DESC, f.c) AS shipment
          FROM f
         GROUP BY f.c
    ), a AS (
        SELECT f.c, f.n, f.u, s.shipment,
               coalesce(sum(f.u) OVER (PARTITION BY f.n ORDER BY s.shipment
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
          FROM f JOIN s USING (c)
    )
    SELECT a.n, d.skus[a.n], d.codes[a.c], least(a.u, d.qtys[a.n] - a.before)::integer, a.shipment::integer,
           d.distance_km[a.c], d.cost[a.c] * 0.000001
      FROM a
     WHERE a.before < d.qtys[a.n]
     ORDER BY a.shipment, a.n;
END
$$;
COMMENT ON FUNCTION bench_ref.plan(bench_ref.input, integer[]) IS 'Routing reference: oms.route''s rows for a chosen set of candidate locations.';

CREATE FUNCTION bench_ref.route_exhaustive(lines jsonb, ship_to jsonb)
    RETURNS TABLE(line_no integer, sku text, location text, qty integer, shipment integer,
                  distance_km double precision, cost numeric)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    d bench_ref.input := bench_ref.load(lines, ship_to);
    f_loc integer[] := d.f_loc;
    f_line integer[] := d.f_line;
    f_units integer[] := d.f_units;
    m integer := cardinality(d.codes);
    n integer := cardinality(d.qtys);
    cover integer[];        -- per candidate and line (row-major), least(free, qty)
    best integer[];
BEGIN
    -- Dense: the search adds up whole rows of it.
    cover := array_fill(0, ARRAY[m * n]);
    FOR i IN 1 .. cardinality(f_loc) LOOP
        cover[(f_loc[i] - 1) * n + f_line[i]] := f_units[i];
    END LOOP;

    -- Sets of k locations: every set of k - 1 that each member adds to (from
    -- the empty set, in index order), then each of those with one more
    -- location that fills what it still lacks.  The first line it lacks
    -- rules out most locations before the whole order is checked.
    FOR k IN 1 .. m LOOP
        WITH RECURSIVE c AS (
            SELECT i AS idx, d.cost[i] AS cost, d.priority[i] AS priority, cover[(i - 1) * n + 1 : i * n] AS av
              FROM generate_series(1, m) AS i
        ), s(last, members, cov, cost, priority) AS (
            SELECT 0, '{}'::integer[], array_fill(0, ARRAY[n]), 0::bigint, 0
          UNION ALL
            SELECT c.idx, s.members || c.idx,
                   ARRAY(SELECT least(u.w, u.x + u.y) FROM unnest(d.qtys, s.cov, c.av) AS u(w, x, y)),
                   s.cost + c.cost, s.priority + c.priority
              FROM s JOIN c ON c.idx > s.last
             WHERE cardinality(s.members) < k - 1
               AND EXISTS (SELECT FROM unnest(d.qtys, s.cov, c.av) AS u(w, x, y) WHERE u.x < u.w AND u.y > 0)
        ), t AS (
            SELECT s.*, (SELECT min(u.i) FROM unnest(d.qtys, s.cov) WITH ORDINALITY AS u(w, x, i)
                          WHERE u.x < u.w) AS lack
              FROM s
             WHERE cardinality(s.members) = k - 1
        )
        SELECT t.members || c.idx INTO best
          FROM t JOIN c ON c.idx > t.last
         WHERE c.av[t.lack] >= d.qtys[t.lack] - t.cov[t.lack]
           AND NOT EXISTS (SELECT FROM unnest(d.qtys, t.cov, c.av) AS u(w, x, y) WHERE u.x + u.y < u.w)
         ORDER BY t.cost + c.cost, t.priority + c.priority DESC, t.members || c.idx
         LIMIT 1;
        EXIT WHEN best IS NOT NULL;
    END LOOP;
    RETURN QUERY SELECT * FROM bench_ref.plan(d, best);
END
$$;
COMMENT ON FUNCTION bench_ref.route_exhaustive(jsonb, jsonb) IS 'Routing reference, exact: the best set of the fewest locations by exhaustive search (fewest_shipments).';

CREATE FUNCTION bench_ref.route_greedy(lines jsonb, ship_to jsonb)
    RETURNS TABLE(line_no integer, sku text, location text, qty integer, shipment integer,
                  distance_km double precision, cost numeric)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    d bench_ref.input := bench_ref.load(lines, ship_to);
    f_loc integer[] := d.f_loc;
    f_line integer[] := d.f_line;
    f_units integer[] := d.f_units;
    todo integer[] := d.qtys;   -- open units per line
    chosen integer[] := '{}';
    pick integer;
BEGIN
    WHILE todo <> array_fill(0, ARRAY[cardinality(todo)]) LOOP
        SELECT f.c INTO pick
          FROM unnest(f_loc, f_line, f_units) AS f(c, n, u)
         WHERE todo[f.n] > 0 AND f.c <> ALL (chosen)
         GROUP BY f.c
         ORDER BY sum(least(todo[f.n], f.u)) DESC, d.cost[f.c], d.priority[f.c] DESC, f.c
         LIMIT 1;
        IF pick IS NULL THEN    -- cannot happen: load checked that the candidates suffice
            RAISE EXCEPTION 'greedy routing found no location for the open units %', todo;
        END IF;
        chosen := chosen || pick;
        -- Its entries are adjacent: f_loc is sorted.
        FOR i IN array_position(f_loc, pick) .. cardinality(f_loc) LOOP
            EXIT WHEN f_loc[i] <> pick;
            todo[f_line[i]] := todo[f_line[i]] - least(todo[f_line[i]], f_units[i]);
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT * FROM bench_ref.plan(d, chosen);
END
$$;
COMMENT ON FUNCTION bench_ref.route_greedy(jsonb, jsonb) IS 'Routing reference, greedy: the location covering the most open units, again and again (fewest_shipments ties).';
