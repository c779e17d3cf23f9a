--
-- test/bench/route/check.sql — before the timed runs, route.sh compares
-- oms.route with the reference on orders of the pool:
--
--   SELECT * FROM bench_route.compare('bench_ref.route_exhaustive', true, 200);
--
-- One row per order: the verdict, and both plans summed up (units,
-- shipments, cost, priority, the codes chosen, search and nodes of the
-- engine).  Both plans are first checked on their own: every line filled, no
-- location giving more than its free units, none inactive or not shipping;
-- and oms.route_explain's objective must be what oms.route's rows add up to.
-- Then, against an exact reference (exhaustive), the engine must reach the
-- same units, shipments and cost, and should reach the same priority, codes
-- and rows; against a greedy one it must never be worse in (units DESC,
-- shipments, cost).
--
-- Verdicts, failures first: error (either raised one), invalid (a plan broke
-- the rules above), explain (route_explain disagrees with route), worse (the
-- engine's (units, shipments, cost) is worse than the reference's), better
-- (the engine's is better than an exact reference's: one of them is wrong);
-- then the differences that do not fail the run: tie (same units, shipments
-- and cost, different priority or codes; a failure of one of them when the
-- reference is exact), rows (same set, other rows), improves (better than
-- greedy), same.
--

-- Sums up a plan given as oms.route's rows (a JSON array of them).
CREATE FUNCTION bench_route.summary(plan jsonb) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
               'units', coalesce(sum(q.qty), 0),
               'shipments', count(DISTINCT q.location),
               'cost', coalesce((SELECT sum(d.cost) FROM (SELECT DISTINCT r.location, r.cost
                                                          FROM jsonb_to_recordset(plan) AS r(location text, cost numeric)
                                                         WHERE r.location IS NOT NULL) d), 0),
               'priority', coalesce((SELECT sum(l.priority) FROM oms.location l
                                      WHERE l.code IN (SELECT r.location FROM jsonb_to_recordset(plan) AS r(location text))), 0),
               'codes', coalesce((SELECT jsonb_agg(d.location ORDER BY d.location COLLATE "C")
                                    FROM (SELECT DISTINCT r.location FROM jsonb_to_recordset(plan) AS r(location text)
                                           WHERE r.location IS NOT NULL) d), '[]'))
      FROM jsonb_to_recordset(plan) AS q(location text, qty integer)
     WHERE q.location IS NOT NULL
$$;
COMMENT ON FUNCTION bench_route.summary(jsonb) IS 'Routing benchmark: units, shipments, cost, priority and codes of a plan given as oms.route rows.';

-- What is wrong with plan as a plan for lines, if anything (NULL: nothing).
CREATE FUNCTION bench_route.fault(lines jsonb, plan jsonb) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT format('%s at %s: %s units, %s free%s', r.sku, r.location, r.qty, coalesce(lv.free, 0),
                       CASE WHEN NOT l.active OR NOT l.can_ship THEN ', location inactive or not shipping' ELSE '' END)
           FROM jsonb_to_recordset(plan) AS r(sku text, location text, qty integer)
           JOIN oms.location l ON l.code = r.location
           JOIN oms.sku s ON s.code = r.sku
           LEFT JOIN oms.stock_level lv ON lv.sku_id = s.id AND lv.location_id = l.id
          WHERE r.qty < 1 OR r.qty > coalesce(lv.free, 0) OR NOT l.active OR NOT l.can_ship
          LIMIT 1),
        (SELECT format('line %s (%s): %s units asked, %s planned', x.n, x.e ->> 'sku', x.e ->> 'qty', coalesce(p.units, 0))
           FROM jsonb_array_elements(lines) WITH ORDINALITY AS x(e, n)
           LEFT JOIN (SELECT r.line_no, r.sku, sum(r.qty) AS units
                        FROM jsonb_to_recordset(plan) AS r(line_no integer, sku text, location text, qty integer)
                       WHERE r.location IS NOT NULL
                       GROUP BY r.line_no, r.sku) p ON p.line_no = x.n AND p.sku = x.e ->> 'sku'
          WHERE coalesce(p.units, 0) <> (x.e ->> 'qty')::integer
          LIMIT 1))
$$;
COMMENT ON FUNCTION bench_route.fault(jsonb, jsonb) IS 'Routing benchmark: what makes a plan unsound for an order (more than the free units, a location that may not ship, a line not filled), or NULL.';

-- Compares oms.route with reference on orders 1..n of the pool.
CREATE FUNCTION bench_route.compare(reference regproc, exact boolean, n integer)
    RETURNS TABLE(id integer, verdict text, engine jsonb, ref jsonb, detail text)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    ep jsonb;       -- plans as rows
    rp jsonb;
    x jsonb;        -- route_explain
    ek record;      -- (units, shipments, cost) of each
    rk record;
BEGIN
    FOR o IN SELECT * FROM bench_route.orders b WHERE b.id <= n ORDER BY b.id LOOP
        id := o.id;
        engine := NULL; ref := NULL; detail := NULL;
        BEGIN
            SELECT jsonb_agg(to_jsonb(r) ORDER BY r.shipment, r.line_no) INTO ep
              FROM oms.route(o.lines, o.ship_to) r;
            x := oms.route_explain(o.lines, o.ship_to);
            engine := bench_route.summary(ep)
                      || jsonb_build_object('search', x ->> 'search', 'nodes', x -> 'nodes');
        EXCEPTION WHEN OTHERS THEN
            verdict := 'error';
            detail := format('oms.route: %s: %s', SQLSTATE, SQLERRM);
            RETURN NEXT;
            CONTINUE;
        END;
        BEGIN
            EXECUTE format('SELECT jsonb_agg(to_jsonb(r) ORDER BY r.shipment, r.line_no) FROM %s($1, $2) r', reference)
               INTO rp USING o.lines, o.ship_to;
            ref := bench_route.summary(rp);
        EXCEPTION WHEN OTHERS THEN
            verdict := 'error';
            detail := format('%s: %s: %s', reference, SQLSTATE, SQLERRM);
            RETURN NEXT;
            CONTINUE;
        END;
        detail := bench_route.fault(o.lines, ep);
        IF detail IS NOT NULL THEN
            verdict := 'invalid';
            detail := 'oms.route: ' || detail;
            RETURN NEXT;
            CONTINUE;
        END IF;
        detail := bench_route.fault(o.lines, rp);
        IF detail IS NOT NULL THEN
            verdict := 'invalid';
            detail := reference || ': ' || detail;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF (x #>> '{objective,units}')::integer IS DISTINCT FROM (engine ->> 'units')::integer
           OR (x #>> '{objective,shipments}')::integer IS DISTINCT FROM (engine ->> 'shipments')::integer
           OR (x #>> '{objective,cost}')::numeric IS DISTINCT FROM (engine ->> 'cost')::numeric THEN
            verdict := 'explain';
            detail := format('route_explain objective %s', x -> 'objective');
            RETURN NEXT;
            CONTINUE;
        END IF;
        SELECT -(engine ->> 'units')::integer AS u, (engine ->> 'shipments')::integer AS s,
               (engine ->> 'cost')::numeric AS c INTO ek;
        SELECT -(ref ->> 'units')::integer AS u, (ref ->> 'shipments')::integer AS s,
               (ref ->> 'cost')::numeric AS c INTO rk;
        verdict := CASE
            WHEN (ek.u, ek.s, ek.c) > (rk.u, rk.s, rk.c) THEN 'worse'
            WHEN (ek.u, ek.s, ek.c) < (rk.u, rk.s, rk.c) THEN CASE WHEN exact THEN 'better' ELSE 'improves' END
            WHEN engine -> 'priority' <> ref -> 'priority' OR engine -> 'codes' <> ref -> 'codes' THEN 'tie'
            WHEN ep <> rp THEN 'rows'
            ELSE 'same' END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION bench_route.compare(regproc, boolean, integer) IS 'Routing benchmark: oms.route against a reference on the first orders of the pool, one verdict per order.';
