-- test/bench/sync/setup.sql — the shop of the stock sync benchmark, loaded
-- once into a template database that every timed run copies.
--
-- :nskus SKUs.  Warehouse DC1, the one synced, stocks all but every hundredth
-- of them (5 to 50 units each); DC2 stocks all of them, so that oms.stock and
-- the ledger hold other locations' rows too.  Channel WEB sells from DC1 only:
-- :norders orders of two lines reserve there, :nholds cart holds set units
-- aside (every other one expired, not yet cleaned up), and 20 hot SKUs are
-- spread over 8 slots, with orders taking from the slots.
--
-- bench_sync.counts (sku, on_hand) is the ERP's count of SKUs 1..:nskus at DC1,
-- in no particular order: every SKU DC1 does not stock yet (its row is
-- created), and for the others 85 % as booked, 7 % up, 8 % down, and among the
-- SKUs with units reserved, held or in escrow one in twenty below them (some
-- refused, some applied once expired holds and unused slot quotas give way).
-- bench_sync.doc is the same as one JSON document, as text.
--
-- bench_sync.count_each(location, reason) is the baseline: count_stock once
-- per row, as a competent team would call it.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA bench_sync;

INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority) VALUES
    ('DC1', 'Synced warehouse', 'warehouse', 52.52, 13.405, 10),
    ('DC2', 'Other warehouse', 'warehouse', 48.137, 11.575, 5);
INSERT INTO oms.channel_location (channel_id, location_id)
SELECT c.id, l.id FROM oms.channel c, oms.location l WHERE l.code = 'DC1';
INSERT INTO oms.sku (code, name)
SELECT format('SKU-%s', lpad(i::text, 6, '0')), format('Article %s', i) FROM generate_series(1, :nskus) i;

SELECT setseed(0.42);
SELECT count(oms.receive_stock(format('SKU-%s', lpad(i::text, 6, '0')), 'DC1', 5 + (random() * 45)::integer, 'opening'))
  FROM generate_series(1, :nskus) i WHERE i % 100 <> 0;
SELECT count(oms.receive_stock(format('SKU-%s', lpad(i::text, 6, '0')), 'DC2', 5 + (random() * 45)::integer, 'opening'))
  FROM generate_series(1, :nskus) i;

-- Hot SKUs: SKU i with i % (:nskus / 20) = 1, a thousand more units, 8 slots.
SELECT count(oms.receive_stock(format('SKU-%s', lpad(i::text, 6, '0')), 'DC1', 1000, 'flash sale')),
       count(oms.set_stock_slots(format('SKU-%s', lpad(i::text, 6, '0')), 'DC1', 8))
  FROM generate_series(1, :nskus) i WHERE i % (:nskus / 20) = 1;

-- Orders: two random SKUs each, 1 to 3 units; then 20 one-unit orders of each hot SKU.
SELECT count(oms.place_order('WEB', format('W-%s', n),
                             jsonb_build_array(jsonb_build_object('sku', format('SKU-%s', lpad(a::text, 6, '0')), 'qty', 1 + n % 3),
                                               jsonb_build_object('sku', format('SKU-%s', lpad(b::text, 6, '0')), 'qty', 1)),
                             NULL, '{"allow_backorder": true}'))
  FROM (SELECT n, 1 + (random() * (:nskus - 1))::integer AS a, 1 + (random() * (:nskus - 1))::integer AS b
          FROM generate_series(1, :norders) n) o
 WHERE a <> b;
SELECT count(oms.place_order('WEB', format('H-%s-%s', i, k), jsonb_build_array(jsonb_build_object(
                             'sku', format('SKU-%s', lpad(i::text, 6, '0')), 'qty', 1))))
  FROM generate_series(1, :nskus) i, generate_series(1, 20) k WHERE i % (:nskus / 20) = 1;

-- Cart holds of one SKU each; every other one expired.
CREATE FUNCTION bench_sync.hold(n integer, sku integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM oms.hold_stock(format('cart-%s', n), 'WEB',
                           jsonb_build_array(jsonb_build_object('sku', format('SKU-%s', lpad(sku::text, 6, '0')), 'qty', 1)));
    RETURN true;
EXCEPTION WHEN SQLSTATE 'OM030' THEN
    RETURN false;               -- every unit of it is reserved, or not stocked at DC1
END
$$;
SELECT count(*) FILTER (WHERE bench_sync.hold(n, 1 + (random() * (:nskus - 1))::integer)) AS holds
  FROM generate_series(1, :nholds) n;
UPDATE oms.hold SET expires_at = now() - interval '1 minute' WHERE substr(hold_ref, 6)::integer % 2 = 1;
UPDATE oms.hold_line SET expires_at = now() - interval '1 minute' WHERE substr(hold_ref, 6)::integer % 2 = 1;

-- The counts.
CREATE TABLE bench_sync.counts (sku text, on_hand integer);
INSERT INTO bench_sync.counts
SELECT code,
       CASE WHEN on_hand IS NULL THEN (random() * 20)::integer
            WHEN committed > 0 AND r2 < 0.05 THEN (random() * (committed - 1))::integer
            WHEN r < 0.85 THEN on_hand
            WHEN r < 0.92 THEN on_hand + 1 + (random() * 19)::integer
            ELSE greatest(on_hand - 1 - (random() * 4)::integer, committed) END
  FROM (SELECT s.code, st.on_hand, st.reserved + st.held + st.escrow AS committed, random() AS r, random() AS r2
          FROM oms.sku s
          LEFT JOIN oms.stock st ON st.sku_id = s.id AND st.location_id = (SELECT id FROM oms.location WHERE code = 'DC1')
         ORDER BY s.id) c
 ORDER BY random();
CREATE TABLE bench_sync.doc AS
SELECT jsonb_agg(jsonb_build_object('sku', sku, 'on_hand', on_hand))::text AS doc FROM bench_sync.counts;

-- The baseline: count_stock once per count, in one transaction.  The counts
-- that leave room for what their row holds go through one SELECT, in the
-- order stock rows are locked; the few that may be refused through a block of
-- their own each, so that a refusal (OM013) is noted and the batch goes on.
CREATE FUNCTION bench_sync.count_each(loc text, reason text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    refused integer := 0;
BEGIN
    PERFORM oms.count_stock(c.sku, loc, c.on_hand, reason)
       FROM bench_sync.counts c
       JOIN oms.sku s ON s.code = c.sku
       LEFT JOIN oms.stock st ON st.sku_id = s.id AND st.location_id = (SELECT id FROM oms.location WHERE code = loc)
      WHERE c.on_hand >= coalesce(st.reserved + st.held + st.escrow, 0)
      ORDER BY s.id;
    FOR r IN SELECT c.sku, c.on_hand
               FROM bench_sync.counts c
               JOIN oms.sku s ON s.code = c.sku
               JOIN oms.stock st ON st.sku_id = s.id AND st.location_id = (SELECT id FROM oms.location WHERE code = loc)
              WHERE c.on_hand < st.reserved + st.held + st.escrow
              ORDER BY s.id
    LOOP
        BEGIN
            PERFORM oms.count_stock(r.sku, loc, r.on_hand, reason);
        EXCEPTION WHEN SQLSTATE 'OM013' THEN
            refused := refused + 1;
        END;
    END LOOP;
    RETURN refused;
END
$$;
