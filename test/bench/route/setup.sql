--
-- test/bench/route/setup.sql — one routing data set in the current database
-- (route.sh makes three, each in its own database, so that oms.route with
-- channel NULL sees only that set's locations): :nlocs locations spread over
-- Europe, :nskus SKUs stocked realistically, some stock reserved, held and kept
-- back as safety stock, and a pool of :norders random orders of :nlines lines
-- (bench_route.orders) that the pgbench scripts pick from by id.
--
-- Locations L0001..: 8 % warehouses (wide range, deep stock), 5 % 3PL,
-- 5 % dropship (narrow range, deep stock), the rest stores (narrow range, a few
-- units each); random coordinates between Lisbon, Helsinki, Sicily and the
-- Black Sea; priority 0..10; about 40 % with a cost model (fixed + per km),
-- the others cost their distance; about 2 % inactive or not shipping.  Each SKU
-- is stocked at a random subset of locations whose size depends on the kind of
-- location and on the SKU's own breadth; about one stock row in eight is 0.
-- The opening stock is loaded in bulk as a count per row, with its ledger
-- rows (as a migration from an older system would), much faster than 100,000
-- oms.receive_stock calls; then oms itself reserves some of it (orders of
-- channel WEB), holds some (carts, one day) and sets some safety stock.
--
-- Orders: :nlines distinct SKUs that have free units, 1 unit mostly (up to 5),
-- never more than the SKU's free units over all locations, so that every
-- order can be routed in full; ship_to a random point in the same area, 2 % of
-- them without coordinates (every distance is then 0).
--
-- Deterministic for a given :seed.  Needs the oms version with the routing
-- engine (shipping_cost_fixed and shipping_cost_per_km on oms.location).
--
-- psql variables: nlocs, nskus, nlines, norders, seed.
--

SELECT setseed(:seed);

CREATE SCHEMA bench_route;
COMMENT ON SCHEMA bench_route IS 'Routing benchmark: the pool of orders the pgbench scripts route.';

INSERT INTO oms.location (code, name, kind, latitude, longitude, priority,
                          shipping_cost_fixed, shipping_cost_per_km, can_ship, active)
SELECT format('L%s', lpad(j::text, 4, '0')), format('Location %s', j), kind,
       round((36 + random() * 24)::numeric, 4), round((-9 + random() * 37)::numeric, 4),
       floor(random() * 11)::integer,
       CASE WHEN cm THEN round((3 + random() * 60)::numeric, 2) END,
       CASE WHEN cm THEN round((0.05 + random() * 0.6)::numeric, 3) END,
       random() >= 0.01, random() >= 0.01
  FROM (SELECT j,
               CASE WHEN rank <= 0.08 * :nlocs THEN 'warehouse' WHEN rank <= 0.13 * :nlocs THEN '3pl'
                    WHEN rank <= 0.18 * :nlocs THEN 'dropship' ELSE 'store' END AS kind,
               random() < 0.4 AS cm
          FROM (SELECT j, row_number() OVER (ORDER BY r, j) AS rank
                  FROM (SELECT j, random() AS r FROM generate_series(1, :nlocs) j) x) y) z
 ORDER BY j;

INSERT INTO oms.sku (code, name)
SELECT format('SKU-%s', lpad(i::text, 5, '0')), format('Article %s', i)
  FROM generate_series(1, :nskus) i;

-- The opening stock: which SKU is at which location, and how much.
CREATE TEMP TABLE opening AS
SELECT s.id AS sku_id, l.id AS location_id,
       CASE WHEN random() < 0.12 THEN 0
            ELSE CASE l.kind WHEN 'warehouse' THEN 1 + floor(random() * 80)
                             WHEN '3pl'       THEN 1 + floor(random() * 40)
                             WHEN 'dropship'  THEN 20 + floor(random() * 200)
                             ELSE 1 + floor(random() * random() * 6) END
       END::integer AS units
  FROM (SELECT id, 0.5 + random() * 0.8 AS breadth FROM oms.sku ORDER BY id) s
 CROSS JOIN oms.location l
 WHERE random() < s.breadth * CASE l.kind WHEN 'warehouse' THEN 0.7 WHEN '3pl' THEN 0.4
                                          WHEN 'dropship' THEN 0.1 ELSE 0.12 END;

INSERT INTO oms.stock (sku_id, location_id, on_hand)
SELECT sku_id, location_id, units FROM opening;
INSERT INTO oms.stock_movement (sku_id, location_id, kind, quantity, on_hand_after, reason, created_by)
SELECT sku_id, location_id, 'count', units, units, 'bench opening stock', current_user FROM opening;
DROP TABLE opening;

-- Some of it reserved by orders, held for carts and kept back as safety stock,
-- all through oms's own functions.
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
CREATE TEMP TABLE opening_orders AS
SELECT o, (SELECT jsonb_agg(jsonb_build_object('sku', code, 'qty', 1 + floor(random() * 3)::integer))
             FROM (SELECT code FROM oms.sku WHERE o > 0 ORDER BY random() LIMIT 3) x) AS lines
  FROM generate_series(1, :nlocs * 2) o;
CREATE TEMP TABLE opening_holds AS
SELECT o, (SELECT jsonb_agg(jsonb_build_object('sku', code, 'qty', 1))
             FROM (SELECT code FROM oms.sku WHERE o > 0 ORDER BY random() LIMIT 2) x) AS lines
  FROM generate_series(1, :nlocs / 5 + 1) o;
-- One statement per call: within one SELECT, place_order does not see the
-- rows the calls before it took, and gives up with OM030 (even though the
-- order allows backorders) once three of its rows turn out short.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT o, lines FROM opening_orders ORDER BY o LOOP
        PERFORM oms.place_order('WEB', 'opening-' || r.o, r.lines, NULL, '{"allow_backorder": true}');
    END LOOP;
    FOR r IN SELECT o, lines FROM opening_holds ORDER BY o LOOP
        BEGIN
            PERFORM oms.hold_stock('cart-' || r.o, 'WEB', r.lines, '1 day');
        EXCEPTION WHEN SQLSTATE 'OM030' THEN
            NULL;   -- sold out: no cart for it
        END;
    END LOOP;
END
$$;
DROP TABLE opening_orders, opening_holds;
SELECT count(oms.set_safety_stock(s.code, l.code, 1 + floor(random() * 2)::integer))
  FROM (SELECT sku_id, location_id FROM oms.stock WHERE on_hand > 0 ORDER BY sku_id, location_id) st
  JOIN oms.sku s ON s.id = st.sku_id
  JOIN oms.location l ON l.id = st.location_id
 WHERE random() < 0.05;

-- The pool of orders.
CREATE TABLE bench_route.orders (
    id          integer PRIMARY KEY,
    lines       jsonb NOT NULL,
    ship_to     jsonb NOT NULL
);
COMMENT ON TABLE bench_route.orders IS 'Orders to route, picked by random id by the pgbench scripts.';

CREATE TEMP TABLE sku_free AS
SELECT s.code, sum(greatest(lv.free, 0))::integer AS free
  FROM oms.sku s
  JOIN oms.stock_level lv ON lv.sku_id = s.id
  JOIN oms.location l ON l.id = lv.location_id AND l.active AND l.can_ship
 GROUP BY s.code
HAVING sum(greatest(lv.free, 0)) > 0
 ORDER BY s.code;

INSERT INTO bench_route.orders (id, lines, ship_to)
SELECT o,
       (SELECT jsonb_agg(jsonb_build_object('sku', code, 'qty', least(free, q)) ORDER BY pos)
          FROM (SELECT code, free, row_number() OVER () AS pos,
                       CASE WHEN random() < 0.7 THEN 1 ELSE 2 + floor(random() * random() * 4)::integer END AS q
                  FROM (SELECT code, free FROM sku_free WHERE o > 0 ORDER BY random() LIMIT :nlines) p) x),
       CASE WHEN random() < 0.02 THEN jsonb_build_object('country', 'DE')
            ELSE jsonb_build_object('country', 'DE',
                                    'latitude', round((36 + random() * 24)::numeric, 4),
                                    'longitude', round((-9 + random() * 37)::numeric, 4)) END
  FROM generate_series(1, :norders) o;
DROP TABLE sku_free;
