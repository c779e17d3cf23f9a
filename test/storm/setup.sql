--
-- test/storm/setup.sql — the shop of the storm test and the wrappers pgbench
-- calls.  Three channels, three locations, twenty SKUs S-1..S-20 with a few
-- units at every location, and the hot SKU HOT-1 with :hot_units units at BER
-- only: far less than the storm asks for.  The marketplace is shown 2 units
-- less than there are, at most 10; the web shop calls 5 units or fewer low.
--

INSERT INTO oms.channel (code, name, kind) VALUES
    ('WEB', 'Web shop', 'web'), ('APP', 'App', 'app'), ('MKT', 'Marketplace', 'marketplace'),
    ('POS', 'Store tills', 'pos');
UPDATE oms.channel SET atp_buffer = 2, atp_cap = 10 WHERE code = 'MKT';
UPDATE oms.channel SET low_stock_threshold = 5 WHERE code = 'WEB';
INSERT INTO oms.location (code, name, kind, latitude, longitude, priority) VALUES
    ('BER', 'Berlin', 'warehouse', 52.52, 13.405, 3),
    ('HAM', 'Hamburg', 'warehouse', 53.55, 9.993, 2),
    ('MUC', 'Munich', 'store', 48.137, 11.575, 1);
INSERT INTO oms.sku (code, name) VALUES ('HOT-1', 'The hot article');
INSERT INTO oms.sku (code, name) SELECT 'S-' || i, 'Article ' || i FROM generate_series(1, 20) i;

SELECT oms.receive_stock('HOT-1', 'BER', :hot_units, 'storm');
SELECT count(oms.receive_stock('S-' || i, l, 20 + (i * 7) % 30, 'storm'))
  FROM generate_series(1, 20) i, unnest(ARRAY['BER', 'HAM', 'MUC']) l;

CREATE SCHEMA storm;
-- Orders refused for want of stock (OM030): a sequence, so that counting them
-- takes no row lock.
CREATE SEQUENCE storm.refused;

-- Places an order through oms.place_order and returns its id, or NULL when
-- oms refuses it for want of stock (OM030).  Any other error ends the client.
CREATE FUNCTION storm.try_place(channel text, ref text, lines jsonb, options jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN oms.place_order(channel, ref, lines, NULL, options);
EXCEPTION WHEN SQLSTATE 'OM030' THEN
    PERFORM nextval('storm.refused');
    RETURN NULL;
END
$$;

-- An order from a random channel: HOT-1 (qty qh) when hot, then S-s1, S-s2,
-- S-s3 (distinct) up to n lines in all; with repeat, one more line of S-s1
-- (a gift: discounted to 0, with the order's total stated), so that routing
-- and reserving take S-s1's units for two lines at once.
CREATE FUNCTION storm.place(ch integer, ref text, hot boolean, n integer, qh integer,
                            s1 integer, q1 integer, s2 integer, q2 integer, s3 integer, q3 integer,
                            repeat boolean DEFAULT false)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    lines jsonb := '[]';
    rest  integer := n;
    total numeric;
BEGIN
    IF hot THEN
        lines := lines || jsonb_build_object('sku', 'HOT-1', 'qty', qh, 'unit_price', 49.90);
        rest := rest - 1;
    END IF;
    IF rest >= 1 THEN
        lines := lines || jsonb_build_object('sku', 'S-' || s1, 'qty', q1, 'unit_price', 9.90);
    END IF;
    IF rest >= 2 THEN
        lines := lines || jsonb_build_object('sku', 'S-' || s2, 'qty', q2, 'unit_price', 19.90);
    END IF;
    IF rest >= 3 THEN
        lines := lines || jsonb_build_object('sku', 'S-' || s3, 'qty', q3, 'unit_price', 4.90);
    END IF;
    IF repeat THEN
        lines := lines || jsonb_build_object('sku', 'S-' || s1, 'qty', q2, 'unit_price', 9.90,
                                             'discount', q2 * 9.90, 'tax', 0.19, 'external_line_id', 'gift');
        SELECT sum((l->>'qty')::integer * (l->>'unit_price')::numeric - coalesce((l->>'discount')::numeric, 0)
                   + coalesce((l->>'tax')::numeric, 0))
          INTO total FROM jsonb_array_elements(lines) l;
        RETURN storm.try_place((ARRAY['WEB', 'APP', 'MKT'])[ch], ref, lines,
                               jsonb_build_object('shipping', jsonb_build_object('price', 4.90, 'tax', 0.93),
                                                  'total', total + 4.90 + 0.93));
    END IF;
    RETURN storm.try_place((ARRAY['WEB', 'APP', 'MKT'])[ch], ref, lines);
END
$$;

-- A sale at the Munich store's till: q1 of S-s1 and, on a second line, q2
-- more of it; NULL when the store has not that many units besides those
-- reserved for orders (OM030).  The units leave on_hand at once (ledger
-- kind sale) while orders reserve at the same stock rows.
CREATE FUNCTION storm.sell(ref text, s1 integer, q1 integer, q2 integer)
    RETURNS bigint
    LANGUAGE sql
AS $$
    SELECT storm.try_place('POS', ref,
        jsonb_build_array(jsonb_build_object('sku', 'S-' || s1, 'qty', q1, 'unit_price', 9.90),
                          jsonb_build_object('sku', 'S-' || s1, 'qty', q2, 'unit_price', 8.90)),
        '{"fulfilment": "store", "location": "MUC", "prices_include_tax": true}')
$$;

-- An order under a shared reference dup-k, the same lines every time: clients
-- race to place it, and oms must keep one order for it.
CREATE FUNCTION storm.place_dup(k integer)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN storm.try_place('WEB', 'dup-' || k, jsonb_build_array(
        jsonb_build_object('sku', 'HOT-1', 'qty', 1, 'unit_price', 49.90),
        jsonb_build_object('sku', 'S-' || k, 'qty', 1, 'unit_price', 9.90)));
END
$$;

-- An order picked at random: r in [0, 1000000) spread over the ids placed so
-- far; NULL while there is none.
CREATE FUNCTION storm.random_order(r integer)
    RETURNS bigint
    LANGUAGE sql
AS $$
    SELECT o.order_id
      FROM (SELECT min(order_id) AS lo, max(order_id) AS hi FROM oms.orders) b, oms.orders o
     WHERE o.order_id >= b.lo + (b.hi - b.lo) * r / 1000000
     ORDER BY o.order_id LIMIT 1
$$;

-- Cancels a random order (storm.random_order); returns the units released, 0
-- when there is no order yet, it was cancelled already (oms returns 0) or it
-- is unknown (OM040).
CREATE FUNCTION storm.cancel_random(r integer)
    RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    id  bigint := storm.random_order(r);
BEGIN
    IF id IS NULL THEN
        RETURN 0;
    END IF;
    RETURN oms.cancel_order(id, 'storm');
EXCEPTION WHEN SQLSTATE 'OM040' OR SQLSTATE 'OM041' THEN
    RETURN 0;                   -- no order yet, or it shipped whole meanwhile
END
$$;

-- Ships what a random earlier order holds at one of its locations, and now
-- and then tracks the parcel to the door and takes payment; returns the
-- parcels shipped (0 when a cancel got there first).
CREATE FUNCTION storm.fulfil_random(r integer)
    RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    v_order bigint := storm.random_order(r);
    loc text;
    sh  bigint;
BEGIN
    IF v_order IS NULL THEN
        RETURN 0;
    END IF;
    SELECT l.code INTO loc FROM oms.reservation rv JOIN oms.location l ON l.id = rv.location_id
     WHERE rv.order_id = v_order AND rv.state = 'held' ORDER BY l.code LIMIT 1;
    IF loc IS NULL THEN
        RETURN 0;
    END IF;
    sh := oms.create_shipment(v_order, loc);
    PERFORM oms.ship(sh, 'DHL', 'STORM' || sh);
    IF r % 2 = 0 THEN
        PERFORM oms.track(sh, 'delivered', clock_timestamp() + interval '1 day');
    END IF;
    IF r % 3 = 0 THEN
        PERFORM oms.record_payment(v_order, 'authorize', 10, 'auth-' || sh);
        PERFORM oms.record_payment(v_order, 'capture', 10, 'capture-' || sh);
    END IF;
    RETURN 1;
EXCEPTION WHEN SQLSTATE 'OM040' OR SQLSTATE 'OM061' OR SQLSTATE 'OM073' THEN
    RETURN 0;                   -- a cancel took the units (or the order) first
END
$$;

-- Returns one unit of a random order's first shipped line (not of HOT-1,
-- whose sell-out the storm counts), under one of 400 idempotency keys that
-- clients share, and takes it on: cancelled, restocked (the parcel received
-- twice under one key), damaged and closed, or quarantined and released to
-- stock.  Returns the units received; 0 when nothing was returnable, the key
-- named another return or the return had moved on.
CREATE FUNCTION storm.return_random(r integer)
    RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    v_order bigint := storm.random_order(r);
    v_line  integer;
    v_ret   bigint;
    v_units integer := 0;
BEGIN
    SELECT l.line_no INTO v_line FROM oms.order_lines l JOIN oms.sku s ON s.id = l.sku_id
     WHERE l.order_id = v_order AND l.qty_shipped > l.qty_returned AND s.code <> 'HOT-1'
     ORDER BY l.line_no LIMIT 1;
    IF v_line IS NULL THEN
        RETURN 0;
    END IF;
    v_ret := oms.request_return(v_order, jsonb_build_array(jsonb_build_object('line_no', v_line, 'qty', 1)),
                                jsonb_build_object('idempotency_key', 'storm-rma-' || r % 400));
    CASE r % 4
        WHEN 0 THEN
            PERFORM oms.cancel_return(v_ret, 'storm: kept it');
        WHEN 1 THEN
            v_units := oms.receive_return(v_ret, jsonb_build_array(jsonb_build_object(
                           'line_no', v_line, 'qty', 1, 'disposition', 'restock')), 'storm-parcel-' || v_ret);
            v_units := oms.receive_return(v_ret, jsonb_build_array(jsonb_build_object(
                           'line_no', v_line, 'qty', 1, 'disposition', 'restock')), 'storm-parcel-' || v_ret);
        WHEN 2 THEN
            v_units := oms.receive_return(v_ret, jsonb_build_array(jsonb_build_object(
                           'line_no', v_line, 'qty', 1, 'disposition', 'damaged')));
            PERFORM oms.close_return(v_ret, 'storm: inspected');
        ELSE
            v_units := oms.receive_return(v_ret, jsonb_build_array(jsonb_build_object(
                           'line_no', v_line, 'qty', 1, 'disposition', 'quarantine')));
            PERFORM oms.release_quarantine(v_ret, v_line, 1, 'restock');
    END CASE;
    RETURN v_units;
EXCEPTION WHEN SQLSTATE 'OM154' OR SQLSTATE 'OM160' OR SQLSTATE 'OM161' OR SQLSTATE 'OM162' THEN
    RETURN 0;                   -- another client returned the unit, or used the key, first
END
$$;

-- A channel message picked from a pool of 60: message k is always the same
-- (a channel re-sending it), the order it carries, ing-(k % 25), always has
-- the same lines (the same order under another message id); every fifth is
-- a cancellation.  Returns the outcome oms.ingest logged.
CREATE FUNCTION storm.ingest(k integer)
    RETURNS text
    LANGUAGE sql
AS $$
    SELECT (oms.ingest('APP',
                       jsonb_build_object('external_ref', 'ing-' || k % 25,
                                          'lines', jsonb_build_array(
                                              jsonb_build_object('sku', 'S-' || (k % 25) % 20 + 1, 'qty', 1, 'unit_price', 5),
                                              jsonb_build_object('sku', 'HOT-1', 'qty', 1, 'unit_price', 49.90))),
                       'msg-' || k, CASE WHEN k % 5 = 0 THEN 'cancel' ELSE 'order' END)).outcome
$$;

-- Backorders: an order of two S- SKUs, more than a location may have left,
-- that waits for what it cannot get now.  restock.sql receives S- SKUs (the
-- receipt fills waiting lines at once) and fill.sql hands units that cancels
-- freed to them, as the background worker does (it works in another database).
CREATE FUNCTION storm.place_backorder(ch integer, ref text, s1 integer, q1 integer, s2 integer, q2 integer)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN oms.place_order((ARRAY['WEB', 'APP', 'MKT'])[ch], ref,
                           jsonb_build_array(jsonb_build_object('sku', 'S-' || s1, 'qty', q1, 'unit_price', 9.90),
                                             jsonb_build_object('sku', 'S-' || s2, 'qty', q2, 'unit_price', 19.90)),
                           NULL, '{"allow_backorder": true}');
END
$$;

-- A warehouse system's count of Hamburg: every S-n SKU, near what oms books
-- (3 fewer to 5 more), in one oms.sync_stock.  Counts the syncs and the
-- counts refused below reserved; any other outcome (an unknown or repeated
-- SKU, a bad count) is an error that ends the client.
CREATE SEQUENCE storm.syncs;
CREATE SEQUENCE storm.sync_refused;
CREATE FUNCTION storm.sync() RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    PERFORM nextval('storm.syncs');
    FOR r IN SELECT * FROM oms.sync_stock('HAM',
                 (SELECT jsonb_agg(jsonb_build_object('sku', v.sku,
                                                      'on_hand', greatest(v.on_hand + (random() * 8)::integer - 3, 0)))
                    FROM oms.v_stock v WHERE v.location = 'HAM' AND v.sku LIKE 'S-%'), 'storm: wms count')
    LOOP
        IF r.outcome = 'below_reserved' THEN
            PERFORM nextval('storm.sync_refused');
        ELSIF r.outcome NOT IN ('increased', 'decreased') THEN
            RAISE EXCEPTION 'storm: sync_stock said % of %: %', r.outcome, r.sku, r.detail;
        END IF;
    END LOOP;
END
$$;

-- A connector per channel: reads the available-to-promise feed from where it
-- stood, up to 100 SKUs, keeps the latest figure of each SKU it was told
-- about in storm.seen (what the channel would show), and moves on.
CREATE TABLE storm.connector (channel text PRIMARY KEY, pos bigint NOT NULL DEFAULT 0);
INSERT INTO storm.connector (channel) VALUES ('WEB'), ('APP'), ('MKT');
CREATE TABLE storm.seen (channel text, sku text, available integer NOT NULL, PRIMARY KEY (channel, sku));
CREATE FUNCTION storm.read_feed(ch integer)
    RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    v_channel   text := (ARRAY['WEB', 'APP', 'MKT'])[ch];
    v_pos       bigint;
    v_last      bigint;
    v_read      integer;
BEGIN
    SELECT pos INTO v_pos FROM storm.connector WHERE channel = v_channel FOR UPDATE;
    WITH feed AS (SELECT * FROM oms.atp_changes(v_channel, v_pos, 100)),
    kept AS (INSERT INTO storm.seen AS s (channel, sku, available)
             SELECT v_channel, f.sku, f.available FROM feed f
             ON CONFLICT (channel, sku) DO UPDATE SET available = excluded.available)
    SELECT count(*), max(f.cursor) INTO v_read, v_last FROM feed f;
    UPDATE storm.connector SET pos = coalesce(v_last, pos) WHERE channel = v_channel;
    RETURN v_read;
END
$$;
