-- Bulk stock sync: the same result as count_stock once per SKU on random
-- stock (reservations, slots, live and expired holds, counts above and below
-- what is reserved), in several rounds; the staging table is read with the
-- caller's privileges; the errors of a malformed batch.
BEGIN;
SELECT plan(21);

-- Two warehouses that get the same stock; channel CA sells from A only, CB from B.
INSERT INTO oms.channel (code, name, kind) VALUES ('CA', 'Shop A', 'web'), ('CB', 'Shop B', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES
    ('A', 'Warehouse A', 'warehouse', 50, 10), ('B', 'Warehouse B', 'warehouse', 50, 10);
INSERT INTO oms.channel_location (channel_id, location_id)
SELECT c.id, l.id FROM oms.channel c JOIN oms.location l ON l.code = right(c.code, 1);
INSERT INTO oms.sku (code, name) SELECT format('S%s', i), 'random' FROM generate_series(1, 300) i;

-- Random stock at a location: 250 of the 300 SKUs stocked, 40 orders and 20
-- holds (half of them expired), 10 hot rows; the same seed gives the same.
CREATE FUNCTION pg_temp.stock_at(loc text, seed float8) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c text := 'C' || loc;
    i integer;
BEGIN
    PERFORM setseed(seed);
    PERFORM oms.receive_stock(format('S%s', g), loc, 1 + (random() * 30)::integer)
       FROM generate_series(1, 250) g;
    PERFORM oms.set_stock_slots(format('S%s', g), loc, 4) FROM generate_series(1, 250, 25) g;
    FOR i IN 1..40 LOOP
        PERFORM oms.place_order(c, format('%s-%s-%s', c, seed, i),
                                (SELECT jsonb_agg(jsonb_build_object('sku', format('S%s', s), 'qty', 1 + (random() * 2)::integer))
                                   FROM (SELECT DISTINCT 1 + (random() * 249)::integer AS s
                                           FROM generate_series(1, 1 + (random() * 2)::integer)) x),
                                NULL, '{"allow_backorder": true}');
    END LOOP;
    FOR i IN 1..20 LOOP
        BEGIN
            PERFORM oms.hold_stock(format('%s-%s-cart-%s', c, seed, i), c,
                                   jsonb_build_array(jsonb_build_object('sku', format('S%s', 2 + (random() * 247)::integer), 'qty', 1)));
        EXCEPTION WHEN SQLSTATE 'OM030' THEN
            NULL;               -- every unit of that SKU is reserved
        END;
    END LOOP;
    UPDATE oms.hold SET expires_at = now() - interval '1 second'
     WHERE hold_ref LIKE format('%s-%s-cart-%%', c, seed) AND right(hold_ref, 1) IN ('1', '3', '5', '7', '9');
    UPDATE oms.hold_line SET expires_at = now() - interval '1 second'
     WHERE hold_ref LIKE format('%s-%s-cart-%%', c, seed) AND right(hold_ref, 1) IN ('1', '3', '5', '7', '9');
END
$$;

-- Random counts for 280 SKUs, some of them never stocked: most unchanged, some
-- up, some down, some below the units reserved, held or in escrow (rows with
-- holds, live or expired, mostly there).
CREATE FUNCTION pg_temp.random_counts(seed float8) RETURNS jsonb LANGUAGE sql AS $$
    SELECT setseed(seed);
    SELECT jsonb_agg(jsonb_build_object('sku', s.code, 'on_hand',
               CASE WHEN r < 0.6 AND coalesce(st.held, 0) = 0 THEN coalesce(st.on_hand, 0)
                    WHEN r BETWEEN 0.6 AND 0.75 THEN coalesce(st.on_hand, 0) + (random() * 10)::integer
                    WHEN r < 0.9 AND coalesce(st.held, 0) = 0 THEN greatest(coalesce(st.on_hand, 0) - (random() * 5)::integer, 0)
                    ELSE (random() * coalesce(st.reserved + st.held + st.escrow, 0))::integer END) ORDER BY random())
      FROM (SELECT id, code, random() AS r FROM oms.sku WHERE code <> 'S300' ORDER BY id LIMIT 280) s
      LEFT JOIN oms.stock st ON st.sku_id = s.id AND st.location_id = (SELECT id FROM oms.location WHERE code = 'A');
$$;

-- count_stock once per count, a refused one rolled back and noted.
CREATE FUNCTION pg_temp.count_each(loc text, counts jsonb, reason text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT e->>'sku' AS code, (e->>'on_hand')::integer AS n FROM jsonb_array_elements(counts) e LOOP
        BEGIN
            PERFORM oms.count_stock(c.code, loc, c.n, reason);
        EXCEPTION WHEN SQLSTATE 'OM013' THEN
            RETURN NEXT c.code;
        END;
    END LOOP;
END
$$;

-- Stock rows, slots and hold lines of a location, and its ledger, without ids and times.
CREATE FUNCTION pg_temp.state_of(loc text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT format('stock %s: %s %s %s %s %s %s', s.code, st.on_hand, st.reserved, st.held, st.escrow, st.safety_stock, st.slots)
      FROM oms.stock st JOIN oms.sku s ON s.id = st.sku_id JOIN oms.location l ON l.id = st.location_id
     WHERE l.code = loc
    UNION ALL
    SELECT format('slot %s: %s/%s', s.code, sl.reserved, sl.quota)
      FROM oms.stock_slot sl JOIN oms.sku s ON s.id = sl.sku_id JOIN oms.location l ON l.id = sl.location_id
     WHERE l.code = loc
    UNION ALL
    SELECT format('hold line %s: %s %s', s.code, h.qty, h.expires_at)
      FROM oms.hold_line h JOIN oms.sku s ON s.id = h.sku_id JOIN oms.location l ON l.id = h.location_id
     WHERE l.code = loc
    UNION ALL
    SELECT format('ledger %s: %s %s %s %s %s %s', s.code, m.kind, m.quantity, m.on_hand_after, m.reason, m.reference, m.created_by)
      FROM oms.stock_movement m JOIN oms.sku s ON s.id = m.sku_id JOIN oms.location l ON l.id = m.location_id
     WHERE l.code = loc
$$;

-- Three rounds: random stock at A and B, the same counts synced at A and
-- counted one by one at B; then A and B are compared.
SELECT pg_temp.stock_at('A', 0.11), pg_temp.stock_at('B', 0.11);
SELECT bag_eq($$SELECT * FROM pg_temp.state_of('A')$$, $$SELECT * FROM pg_temp.state_of('B')$$,
              'A and B start out the same');
CREATE TEMP TABLE expired_at_start AS
SELECT count(*) AS n FROM oms.hold_line h JOIN oms.location l ON l.id = h.location_id
 WHERE l.code = 'A' AND h.expires_at < now();

CREATE TEMP TABLE round (n integer, counts jsonb, refused_a text[], refused_b text[]);
INSERT INTO round (n, counts) VALUES (1, pg_temp.random_counts(0.21)), (2, NULL), (3, NULL);

UPDATE round SET refused_a = (SELECT array_agg(sku ORDER BY sku) FROM oms.sync_stock('A', counts, 'round 1')
                               WHERE outcome = 'below_reserved') WHERE n = 1;
UPDATE round SET refused_b = (SELECT array_agg(c ORDER BY c) FROM pg_temp.count_each('B', counts, 'round 1') c) WHERE n = 1;
SELECT bag_eq($$SELECT * FROM pg_temp.state_of('A')$$, $$SELECT * FROM pg_temp.state_of('B')$$,
              'round 1: the same stock rows, slots, hold lines and ledger');
SELECT is((SELECT refused_a FROM round WHERE n = 1), (SELECT refused_b FROM round WHERE n = 1),
          'round 1: the same counts refused');

UPDATE round SET counts = pg_temp.random_counts(0.22) WHERE n = 2;
UPDATE round SET refused_a = (SELECT array_agg(sku ORDER BY sku) FROM oms.sync_stock('A', counts, 'round 2')
                               WHERE outcome = 'below_reserved') WHERE n = 2;
UPDATE round SET refused_b = (SELECT array_agg(c ORDER BY c) FROM pg_temp.count_each('B', counts, 'round 2') c) WHERE n = 2;
SELECT bag_eq($$SELECT * FROM pg_temp.state_of('A')$$, $$SELECT * FROM pg_temp.state_of('B')$$,
              'round 2: the same stock rows, slots, hold lines and ledger');
SELECT is((SELECT refused_a FROM round WHERE n = 2), (SELECT refused_b FROM round WHERE n = 2),
          'round 2: the same counts refused');

-- Round 3 through a staging table.
CREATE TEMP TABLE staging AS
SELECT e->>'sku' AS sku, (e->>'on_hand')::integer AS on_hand FROM jsonb_array_elements(pg_temp.random_counts(0.23)) e;
UPDATE round SET counts = (SELECT jsonb_agg(jsonb_build_object('sku', sku, 'on_hand', on_hand)) FROM staging) WHERE n = 3;
UPDATE round SET refused_a = (SELECT array_agg(sku ORDER BY sku) FROM oms.sync_stock_from('A', 'staging', 'round 3')
                               WHERE outcome = 'below_reserved') WHERE n = 3;
UPDATE round SET refused_b = (SELECT array_agg(c ORDER BY c) FROM pg_temp.count_each('B', counts, 'round 3') c) WHERE n = 3;
SELECT bag_eq($$SELECT * FROM pg_temp.state_of('A')$$, $$SELECT * FROM pg_temp.state_of('B')$$,
              'round 3 (staging table): the same stock rows, slots, hold lines and ledger');
SELECT is((SELECT refused_a FROM round WHERE n = 3), (SELECT refused_b FROM round WHERE n = 3),
          'round 3: the same counts refused');

-- The rounds are not trivial: each refused some counts, gave way some idle
-- units, created rows and changed on_hand both ways.
SELECT ok((SELECT bool_and(cardinality(refused_a) > 0) FROM round), 'every round refused counts below reserved');
SELECT ok((SELECT count(*) FROM oms.stock_movement m JOIN oms.location l ON l.id = m.location_id
            WHERE l.code = 'A' AND m.kind = 'count' AND m.quantity > 0) > 20, 'counts went up');
SELECT ok((SELECT count(*) FROM oms.stock_movement m JOIN oms.location l ON l.id = m.location_id
            WHERE l.code = 'A' AND m.kind = 'count' AND m.quantity < 0) > 20, 'counts went down');
SELECT ok((SELECT count(*) FROM oms.stock_movement m JOIN oms.location l ON l.id = m.location_id
            WHERE l.code = 'A' AND m.kind = 'count' AND m.quantity = 0) > 100, 'most counts confirmed on_hand');
SELECT ok((SELECT count(*) FROM oms.stock st JOIN oms.location l ON l.id = st.location_id
            WHERE l.code = 'A') = 280, 'counts of unstocked SKUs created their rows');
SELECT ok((SELECT count(*) FROM oms.hold_line h JOIN oms.location l ON l.id = h.location_id
            WHERE l.code = 'A' AND h.expires_at < now()) < (SELECT n FROM expired_at_start), 'expired holds gave way');
SELECT is_empty($$SELECT * FROM oms.check_invariants()$$, 'every invariant holds');

-- The staging table is read with the privileges of the calling role.
CREATE ROLE oms_test_erp;
SELECT oms.grant_app('oms_test_erp');
CREATE TABLE public.erp_counts (sku text, on_hand integer);
INSERT INTO public.erp_counts VALUES ('S300', 5);
SET ROLE oms_test_erp;
SELECT throws_ok($$SELECT * FROM oms.sync_stock_from('A', 'public.erp_counts')$$, '42501', NULL,
                 'a role that may not read the staging table cannot sync from it');
RESET ROLE;
GRANT SELECT ON public.erp_counts TO oms_test_erp;
SET ROLE oms_test_erp;
SELECT results_eq($$SELECT sku, outcome, on_hand_after FROM oms.sync_stock_from('A', 'public.erp_counts')$$,
                  $$VALUES ('S300', 'created', 5)$$, 'once granted, it can');
SELECT results_eq($$SELECT sku, outcome FROM oms.sync_stock('A', '[{"sku": "S300", "on_hand": 4}]')$$,
                  $$VALUES ('S300', 'decreased')$$, 'the app role syncs');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT m.created_by) FROM oms.stock_movement m JOIN oms.sku s ON s.id = m.sku_id
            WHERE s.code = 'S300'), ARRAY['oms_test_erp'], 'the ledger records the calling role');

-- A malformed batch fails as a whole.
SELECT throws_ok($$SELECT * FROM oms.sync_stock('A', '[{"sku": "S1", "on_hand": 1}, {"sku": "S2"}]')$$, 'OM140',
                 'element 2 of counts lacks on_hand', 'a malformed element fails the batch');
SELECT throws_ok($$SELECT * FROM oms.sync_stock_from('A', 'oms.sku')$$, 'OM141', NULL,
                 'a source without on_hand is refused');
SELECT is((SELECT on_hand FROM oms.v_stock WHERE sku = 'S1' AND location = 'A'),
          (SELECT on_hand FROM oms.v_stock WHERE sku = 'S1' AND location = 'B'), 'and nothing was applied');

SELECT * FROM finish();
ROLLBACK;
