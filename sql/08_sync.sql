--
-- Bulk stock sync (oms.sync_stock, oms.sync_stock_from): every outcome, the
-- same result as oms.count_stock once per SKU on a copy of the same stock,
-- and every error with its SQLSTATE.
--
\i sql/include/new_oms.sql
\set SHOW_CONTEXT never

-- Two warehouses with the same stock: DC-A is synced, DC-B counted one SKU at
-- a time.  Channel WA sells from DC-A only, WB from DC-B only.
INSERT INTO oms.channel (code, name, kind) VALUES ('WA', 'Shop A', 'web'), ('WB', 'Shop B', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES
    ('DC-A', 'Warehouse A', 'warehouse', 52.52, 13.405), ('DC-B', 'Warehouse B', 'warehouse', 52.52, 13.405);
INSERT INTO oms.channel_location (channel_id, location_id)
SELECT c.id, l.id FROM oms.channel c JOIN oms.location l ON right(l.code, 1) = right(c.code, 1);
INSERT INTO oms.sku (code, name) VALUES
    ('STEADY', 'counted as booked'), ('UP', 'found more'), ('DOWN', 'found fewer'),
    ('SHORT', 'fewer than reserved'), ('EXPIRED', 'held by an expired hold'), ('HELD', 'held by a live hold'),
    ('HOT', 'spread over slots'), ('HOTSHORT', 'spread, fewer than reserved'), ('FRESH', 'first count'),
    ('ZERO', 'first count, none'), ('DUP', 'counted twice'), ('BAD', 'a negative count'), ('ODD', 'a fraction'), ('IDLE', 'not in the count');

CREATE FUNCTION stock_at(loc text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    w text := 'W' || right(loc, 1);
BEGIN
    PERFORM oms.receive_stock(s, loc, n, 'opening')
       FROM (VALUES ('STEADY', 10), ('UP', 5), ('DOWN', 9), ('SHORT', 6), ('EXPIRED', 6), ('HELD', 6),
                    ('HOT', 40), ('HOTSHORT', 40), ('DUP', 3), ('BAD', 3), ('ODD', 3), ('IDLE', 1)) v(s, n);
    PERFORM oms.place_order(w, w || '-1', '[{"sku": "DOWN", "qty": 2}, {"sku": "SHORT", "qty": 4}]');
    PERFORM oms.hold_stock(w || '-cart-1', w, '[{"sku": "EXPIRED", "qty": 4}]');
    PERFORM oms.hold_stock(w || '-cart-2', w, '[{"sku": "HELD", "qty": 4}]');
    UPDATE oms.hold SET expires_at = now() - interval '1 second' WHERE hold_ref = w || '-cart-1';
    UPDATE oms.hold_line SET expires_at = now() - interval '1 second' WHERE hold_ref = w || '-cart-1';
    PERFORM oms.set_stock_slots('HOT', loc, 4), oms.set_stock_slots('HOTSHORT', loc, 4);
    PERFORM oms.place_order(w, w || '-2', '[{"sku": "HOT", "qty": 2}, {"sku": "HOTSHORT", "qty": 6}]');
END
$$;
SELECT stock_at('DC-A'), stock_at('DC-B');
SELECT sku, on_hand, reserved, held, available FROM oms.v_stock WHERE location = 'DC-A' ORDER BY sku;

-- The counts of the ERP.  A row is reported unless it merely confirms on_hand.
\set counts '[{"sku": "STEADY", "on_hand": 10}, {"sku": "UP", "on_hand": 8}, {"sku": "DOWN", "on_hand": 4}, {"sku": "SHORT", "on_hand": 3}, {"sku": "EXPIRED", "on_hand": 3}, {"sku": "HELD", "on_hand": 3}, {"sku": "HOT", "on_hand": 10}, {"sku": "HOTSHORT", "on_hand": 3}, {"sku": "FRESH", "on_hand": 7}, {"sku": "ZERO", "on_hand": 0}, {"sku": "NOPE", "on_hand": 1}, {"sku": "DUP", "on_hand": 1}, {"sku": "DUP", "on_hand": 2}, {"sku": "BAD", "on_hand": -1}, {"sku": "ODD", "on_hand": 2.5}]'
SELECT * FROM oms.sync_stock('DC-A', :'counts', 'cycle count');

-- The same counts through count_stock, one call per SKU, at DC-B; a call that
-- fails is rolled back and noted.  Repeated SKUs and counts that are not whole
-- numbers are left out: count_stock has no way to refuse those.
CREATE FUNCTION count_each(loc text, counts jsonb) RETURNS TABLE (sku text, refused text)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT e->>'sku' AS code, (e->>'on_hand')::integer AS n
               FROM jsonb_array_elements(counts) e
              WHERE jsonb_typeof(e->'on_hand') = 'number' AND e->>'on_hand' ~ '^-?[0-9]+$'
                AND (SELECT count(*) FROM jsonb_array_elements(counts) d WHERE d->>'sku' = e->>'sku') = 1
    LOOP
        BEGIN
            PERFORM oms.count_stock(c.code, loc, c.n, 'cycle count');
        EXCEPTION WHEN OTHERS THEN
            sku := c.code;
            refused := SQLSTATE;
            RETURN NEXT;
        END;
    END LOOP;
END
$$;
SELECT * FROM count_each('DC-B', :'counts') ORDER BY sku;

-- Identical stock rows, slots (reserved/quota, busiest first: which slot a
-- buyer uses depends on its process id) and hold lines at both warehouses ...
CREATE VIEW stock_by_location AS
SELECT l.code AS location, s.code AS sku, st.on_hand, st.reserved, st.held, st.escrow, st.safety_stock, st.slots,
       (SELECT string_agg(format('%s/%s', sl.reserved, sl.quota), ' ' ORDER BY sl.reserved DESC, sl.quota DESC)
          FROM oms.stock_slot sl WHERE sl.sku_id = st.sku_id AND sl.location_id = st.location_id) AS slot_units,
       (SELECT string_agg(h.qty::text, ' ' ORDER BY h.qty)
          FROM oms.hold_line h WHERE h.sku_id = st.sku_id AND h.location_id = st.location_id) AS hold_lines
  FROM oms.stock st JOIN oms.sku s ON s.id = st.sku_id JOIN oms.location l ON l.id = st.location_id;
SELECT sku, on_hand, reserved, held, escrow, slots, slot_units, hold_lines
  FROM stock_by_location WHERE location = 'DC-A' ORDER BY sku;
(SELECT sku, on_hand, reserved, held, escrow, safety_stock, slots, slot_units, hold_lines FROM stock_by_location WHERE location = 'DC-A'
 EXCEPT ALL
 SELECT sku, on_hand, reserved, held, escrow, safety_stock, slots, slot_units, hold_lines FROM stock_by_location WHERE location = 'DC-B')
UNION ALL
(SELECT sku, on_hand, reserved, held, escrow, safety_stock, slots, slot_units, hold_lines FROM stock_by_location WHERE location = 'DC-B'
 EXCEPT ALL
 SELECT sku, on_hand, reserved, held, escrow, safety_stock, slots, slot_units, hold_lines FROM stock_by_location WHERE location = 'DC-A');

-- ... and identical ledgers, ids and times aside.
CREATE VIEW ledger_by_location AS
SELECT l.code AS location, s.code AS sku, m.kind, m.quantity, m.on_hand_after, m.reason, m.reference,
       m.created_by = current_user AS by_caller
  FROM oms.stock_movement m JOIN oms.sku s ON s.id = m.sku_id JOIN oms.location l ON l.id = m.location_id;
SELECT sku, kind, quantity, on_hand_after, reason, by_caller
  FROM ledger_by_location WHERE location = 'DC-A' AND kind = 'count' ORDER BY sku;
(SELECT sku, kind, quantity, on_hand_after, reason, reference, by_caller FROM ledger_by_location WHERE location = 'DC-A'
 EXCEPT ALL
 SELECT sku, kind, quantity, on_hand_after, reason, reference, by_caller FROM ledger_by_location WHERE location = 'DC-B')
UNION ALL
(SELECT sku, kind, quantity, on_hand_after, reason, reference, by_caller FROM ledger_by_location WHERE location = 'DC-B'
 EXCEPT ALL
 SELECT sku, kind, quantity, on_hand_after, reason, reference, by_caller FROM ledger_by_location WHERE location = 'DC-A');
SELECT * FROM oms.check_invariants();

-- Every other invalid on_hand, each reported with what was given; a whole
-- number written with an exponent or a fraction of zero is a whole number.
SELECT count(*) AS ledger_rows FROM oms.stock_movement \gset
SELECT sku, outcome, counted, detail
  FROM oms.sync_stock('DC-A', '[{"sku": "BAD", "on_hand": "7"}, {"sku": "IDLE", "on_hand": null},
                                {"sku": "UP", "on_hand": 3000000000}, {"sku": "DOWN", "on_hand": true},
                                {"sku": "STEADY", "on_hand": [1]}, {"sku": "HOT", "on_hand": {"n": 1}},
                                {"sku": "ZERO", "on_hand": 1e0}, {"sku": "FRESH", "on_hand": 7.0}]');
SELECT sku, quantity, on_hand_after, reason FROM ledger_by_location
 WHERE location = 'DC-A' AND kind = 'count' AND reason IS NULL ORDER BY sku;

-- A second sync of the same figures only confirms them: no rows, but a count
-- of 0 in the ledger for each SKU it applies.
SELECT * FROM oms.sync_stock('DC-A', '[{"sku": "UP", "on_hand": 8}, {"sku": "FRESH", "on_hand": 7}]');
SELECT sku, quantity, on_hand_after FROM ledger_by_location
 WHERE location = 'DC-A' AND kind = 'count' AND reason IS NULL ORDER BY sku;
-- The sync writes the ledger without a statement while the ledger's only
-- INSERT triggers are its foreign key checks; with a trigger of its own it
-- takes an INSERT, and the trigger sees every row.
CREATE TABLE ledger_seen (sku_id bigint, quantity integer);
CREATE FUNCTION note_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.ledger_seen VALUES (NEW.sku_id, NEW.quantity);
    RETURN NULL;
END
$$;
CREATE TRIGGER note_ledger AFTER INSERT ON oms.stock_movement FOR EACH ROW EXECUTE FUNCTION note_ledger();
SELECT * FROM oms.sync_stock('DC-A', '[{"sku": "STEADY", "on_hand": 11}, {"sku": "ODD", "on_hand": 3}]', 'with a trigger');
SELECT s.code AS sku, l.quantity FROM ledger_seen l JOIN oms.sku s ON s.id = l.sku_id ORDER BY 1;
DROP TRIGGER note_ledger ON oms.stock_movement;
SELECT sku, quantity, on_hand_after, reason FROM ledger_by_location
 WHERE location = 'DC-A' AND reason = 'with a trigger' ORDER BY sku;
-- An empty batch does nothing.
SELECT * FROM oms.sync_stock('DC-A', '[]');

-- From a staging table loaded with COPY.  A row without a SKU or a count is
-- reported like any other; so is a count too large for on_hand.
CREATE TEMP TABLE erp_counts (sku text, on_hand bigint);
COPY erp_counts FROM stdin;
UP	9
DOWN	5
IDLE	0
\N	4
FRESH	\N
ZERO	4294967296
\.
SELECT * FROM oms.sync_stock_from('DC-A', 'erp_counts', 'wms export') ORDER BY sku COLLATE "C";
-- A view works as well, and columns of other integer types.
CREATE TEMP VIEW erp_view AS SELECT sku, (on_hand + 1)::smallint AS on_hand FROM erp_counts WHERE sku = 'UP';
SELECT * FROM oms.sync_stock_from('DC-A', 'erp_view');
SELECT sku, on_hand FROM oms.v_stock WHERE location = 'DC-A' AND sku IN ('UP', 'DOWN', 'IDLE') ORDER BY sku;

-- Errors: the whole call fails and writes nothing.
SELECT count(*) AS ledger_rows FROM oms.stock_movement \gset
SELECT * FROM oms.sync_stock('NOWHERE', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock(NULL, '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '{"sku": "UP", "on_hand": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '"UP"');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '[{"sku": "UP", "on_hand": 1}, ["DOWN", 1]]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '[{"sku": "UP", "on_hand": 1, "name": "found more"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '[{"on_hand": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '[{"sku": "UP"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '[{"sku": 17, "on_hand": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '[{"sku": "", "on_hand": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock('DC-A', '[{"sku": null, "on_hand": 1}]');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE no_counts (code text, on_hand integer);
SELECT * FROM oms.sync_stock_from('DC-A', 'no_counts');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE text_counts (sku text, on_hand text);
SELECT * FROM oms.sync_stock_from('DC-A', 'text_counts');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock_from('DC-A', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM oms.sync_stock_from('DC-A', 4294967295::oid::regclass);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) - :ledger_rows AS ledger_rows_written FROM oms.stock_movement;
SELECT * FROM oms.check_invariants();
DROP VIEW stock_by_location, ledger_by_location;
DROP FUNCTION stock_at(text), count_each(text, jsonb), note_ledger();
DROP TABLE no_counts, text_counts, ledger_seen;
