--
-- Available to promise per channel (README, "Available to promise"): the
-- figure each channel may be shown for each SKU, a change feed of those
-- figures with a cursor, and stock events (low_stock, out_of_stock,
-- back_in_stock) delivered through the outbox.
--
-- The order path only appends: every oms function that changes on_hand,
-- reserved or held units, or safety stock, writes one row per SKU and
-- transaction to oms.atp_signal (src/atp.c), a table no one updates, without
-- an index and without WAL.  Orders of a hot SKU therefore never wait for one
-- another over the feed.  Everything else happens outside the order's
-- transaction, in oms.atp_flush(): the background worker runs it every
-- oms.atp_interval, and oms.atp_changes() before it reads.  One flush runs at
-- a time (an advisory lock): it deletes the signals of the transactions that
-- have committed, recomputes those SKUs for every channel (in C,
-- oms.atp_recompute, src/feed.c; oms.atp_compute below is the definition),
-- and writes the figures that changed with the next number of oms.atp_seq.  Because flushes
-- follow one another, the figures of one flush commit before the next
-- flush's numbers are drawn, so a reader that has seen number n has seen
-- every figure numbered n or less: its cursor never passes a change.  A
-- change whose transaction commits after a flush simply waits in
-- oms.atp_signal for the next one.
--

--
-- Per SKU and channel: what oms.channel says for every SKU, overridden.
--
CREATE TABLE oms.atp_policy (
    sku_id          bigint NOT NULL,
    channel_id      bigint NOT NULL,
    atp_buffer      integer,
    atp_cap         integer,
    low_stock_threshold integer,
    PRIMARY KEY (sku_id, channel_id),
    CONSTRAINT atp_policy_atp_buffer_check CHECK (atp_buffer >= 0),
    CONSTRAINT atp_policy_atp_cap_check CHECK (atp_cap >= 0),
    CONSTRAINT atp_policy_low_stock_threshold_check CHECK (low_stock_threshold >= 0)
);
COMMENT ON TABLE oms.atp_policy IS 'Available to promise of one SKU on one channel, where it differs from the channel''s (oms.channel) and the SKU''s (oms.sku) settings; NULL columns take those.';
COMMENT ON COLUMN oms.atp_policy.sku_id IS 'The SKU (oms.sku.id).';
COMMENT ON COLUMN oms.atp_policy.channel_id IS 'The channel (oms.channel.id).';
COMMENT ON COLUMN oms.atp_policy.atp_buffer IS 'Units kept out of the figure this channel is shown for this SKU (NULL: oms.channel.atp_buffer).';
COMMENT ON COLUMN oms.atp_policy.atp_cap IS 'Most units of this SKU the channel is shown (NULL: oms.channel.atp_cap).';
COMMENT ON COLUMN oms.atp_policy.low_stock_threshold IS 'Low-stock threshold of this SKU on this channel (NULL: oms.sku.low_stock_threshold, else oms.channel.low_stock_threshold).';

--
-- Signals: a SKU whose figures may have changed.  Unlogged: they are
-- written by every order and consumed within a second, and a crash that
-- empties the table empties oms.atp_flush_state with it, which makes the
-- next flush recompute every SKU.  Neither is dumped, for the same reason.
--
CREATE UNLOGGED TABLE oms.atp_signal (
    sku_id          bigint,
    signalled_at    timestamptz NOT NULL
);
COMMENT ON TABLE oms.atp_signal IS 'Append-only, no index, no WAL: one row per SKU and transaction that changed its stock (src/atp.c), deleted by the oms.atp_flush that recomputes it.';
COMMENT ON COLUMN oms.atp_signal.sku_id IS 'The SKU; NULL asks for every SKU (a change of master data).';
COMMENT ON COLUMN oms.atp_signal.signalled_at IS 'Start of the transaction that wrote the signal: now() minus the oldest is how far the feed lags.';

CREATE UNLOGGED TABLE oms.atp_flush_state (
    singleton       boolean PRIMARY KEY DEFAULT true,
    flushed_at      timestamptz NOT NULL,
    refresh_after   bigint,
    CONSTRAINT atp_flush_state_singleton_check CHECK (singleton)
);
COMMENT ON TABLE oms.atp_flush_state IS 'Where oms.atp_flush stands (one row).  Unlogged like oms.atp_signal: when a crash empties both, the next flush recomputes every SKU.';
COMMENT ON COLUMN oms.atp_flush_state.singleton IS 'Always true: the table has one row at most.';
COMMENT ON COLUMN oms.atp_flush_state.flushed_at IS 'The time the last flush computed its figures at: holds that ran out after it are the next flush''s to count.';
COMMENT ON COLUMN oms.atp_flush_state.refresh_after IS 'While every SKU is recomputed (first flush, a change of master data, oms.atp_refresh()): the last SKU id done; NULL otherwise.';

--
-- The feed: the latest figure per SKU and channel, numbered by the flush
-- that last changed it.
--
CREATE SEQUENCE oms.atp_seq AS bigint;
CREATE TABLE oms.atp_level (
    sku_id          bigint NOT NULL,
    channel_id      bigint NOT NULL,
    available       oms.units NOT NULL,
    units           oms.units NOT NULL,
    level           text NOT NULL,
    seq             bigint NOT NULL,
    changed_at      timestamptz NOT NULL,
    last_event_id   bigint,
    PRIMARY KEY (sku_id, channel_id),
    CONSTRAINT atp_level_level_check CHECK (level IN ('in_stock', 'low_stock', 'out_of_stock'))
);
CREATE INDEX atp_level_feed_idx ON oms.atp_level (channel_id, seq);
COMMENT ON TABLE oms.atp_level IS 'Available to promise per SKU and channel as last flushed; oms.atp_changes reads it in seq order.';
COMMENT ON COLUMN oms.atp_level.sku_id IS 'The SKU (oms.sku.id).';
COMMENT ON COLUMN oms.atp_level.channel_id IS 'The channel (oms.channel.id).';
COMMENT ON COLUMN oms.atp_level.available IS 'Units the channel is shown: units, capped (0 while the channel is inactive).';
COMMENT ON COLUMN oms.atp_level.units IS 'Units the channel may be promised, after safety stock and buffer, before the cap; stock events judge this figure.';
COMMENT ON COLUMN oms.atp_level.level IS 'in_stock | low_stock (units at or below the threshold) | out_of_stock (no units).';
COMMENT ON COLUMN oms.atp_level.seq IS 'Number of the flush that last changed available (from oms.atp_seq): the feed''s cursor.';
COMMENT ON COLUMN oms.atp_level.changed_at IS 'When the flush that last changed this row computed it.';
COMMENT ON COLUMN oms.atp_level.last_event_id IS 'The last oms.stock_event of this SKU and channel.';

--
-- Stock events: one row per crossing, in the history here and in the outbox
-- (order_id 0, entity 'stock'), delivered by oms.claim_events.
--
CREATE TABLE oms.stock_event (
    sku_id          bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.order_event_id_seq'),
    channel_id      bigint NOT NULL,
    kind            text NOT NULL,
    from_level      text NOT NULL,
    to_level        text NOT NULL,
    previous        integer NOT NULL,
    units           integer NOT NULL,
    available       integer NOT NULL,
    threshold       integer NOT NULL,
    previous_id     bigint,
    at              timestamptz NOT NULL,
    created_by      text NOT NULL,
    PRIMARY KEY (sku_id, id),
    CONSTRAINT stock_event_kind_check CHECK (
        (kind, from_level, to_level) IN (('low_stock', 'in_stock', 'low_stock'),
                                         ('out_of_stock', 'in_stock', 'out_of_stock'),
                                         ('out_of_stock', 'low_stock', 'out_of_stock'),
                                         ('back_in_stock', 'out_of_stock', 'in_stock'),
                                         ('back_in_stock', 'out_of_stock', 'low_stock')))
);
CREATE INDEX stock_event_id_idx ON oms.stock_event (id);
COMMENT ON TABLE oms.stock_event IS 'Append-only history of stock events per SKU and channel: low_stock, out_of_stock, back_in_stock; ids are event ids, shared with oms.order_event.';
COMMENT ON COLUMN oms.stock_event.sku_id IS 'The SKU (oms.sku.id).';
COMMENT ON COLUMN oms.stock_event.id IS 'Event id, from the sequence of oms.order_event ids: the outbox and oms.claim_events name the event by it.';
COMMENT ON COLUMN oms.stock_event.channel_id IS 'The channel (oms.channel.id) whose figure crossed.';
COMMENT ON COLUMN oms.stock_event.from_level IS 'The level before: in_stock, low_stock or out_of_stock.';
COMMENT ON COLUMN oms.stock_event.to_level IS 'The level after: in_stock, low_stock or out_of_stock.';
COMMENT ON COLUMN oms.stock_event.at IS 'When the flush that wrote the event computed the figures.';
COMMENT ON COLUMN oms.stock_event.kind IS 'low_stock (in_stock -> low_stock) | out_of_stock (to no units) | back_in_stock (from no units).';
COMMENT ON COLUMN oms.stock_event.previous IS 'Units (oms.atp_level.units) before the change.';
COMMENT ON COLUMN oms.stock_event.units IS 'Units after the change.';
COMMENT ON COLUMN oms.stock_event.available IS 'What the channel is shown after the change (units, capped).';
COMMENT ON COLUMN oms.stock_event.threshold IS 'The low-stock threshold that applied.';
COMMENT ON COLUMN oms.stock_event.previous_id IS 'The event of this SKU and channel before this one, as the flush found it: a chain that check_invariants() follows.';
COMMENT ON COLUMN oms.stock_event.created_by IS 'The session that ran the flush (the background worker''s, or a caller of oms.atp_changes).';

CREATE TRIGGER ledger_guard BEFORE UPDATE OR DELETE ON oms.stock_event
    FOR EACH ROW EXECUTE FUNCTION oms.ledger_guard();
CREATE TRIGGER ledger_guard_truncate BEFORE TRUNCATE ON oms.stock_event
    FOR EACH STATEMENT EXECUTE FUNCTION oms.ledger_guard();

-- pg_dump keeps the figures, the events and the policies.  The signals and
-- the flush's state are working state, unlogged: a restore, like a crash,
-- starts without them, and the first flush recomputes every SKU.
SELECT pg_catalog.pg_extension_config_dump('oms.atp_policy', '');
SELECT pg_catalog.pg_extension_config_dump('oms.atp_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.atp_level', '');
SELECT pg_catalog.pg_extension_config_dump('oms.stock_event', '');

--
-- The figures.  Per SKU and channel, as oms.available() counts them: the
-- sum over the channel's eligible active locations of on_hand - reserved -
-- held - safety stock (the location's, then the channel's there), each
-- never below 0; holds count while they have not run out at `at`.  Then
-- units = that - the buffer (0 for an inactive SKU), never below 0, and
-- available = units capped (0 for an inactive channel).
--
CREATE FUNCTION oms.atp_compute(skus bigint[], at timestamptz)
    RETURNS TABLE (sku_id bigint, channel_id bigint, units integer, available integer, threshold integer,
                   level text)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- Per SKU and channel, the stock rows of the SKU read through the stock
    -- primary key: a few rows each, added up on the spot (a flush computes
    -- thousands of SKUs; one sort of all their rows cost a sixth of it).
    WITH ch AS MATERIALIZED (
        SELECT c.id, c.active, c.safety_stock, c.atp_buffer, c.atp_cap, c.low_stock_threshold,
               EXISTS (SELECT FROM oms.channel_location x WHERE x.channel_id = c.id) AS restricted
          FROM oms.channel c),
    fig AS (
        SELECT k.id AS sku_id, ch.id AS channel_id, ch.active AS channel_active,
               CASE WHEN k.active
                    THEN least(greatest(coalesce(s.units, 0) - coalesce(p.atp_buffer, ch.atp_buffer), 0), 2147483647)
                    ELSE 0 END::integer AS units,
               coalesce(p.atp_cap, ch.atp_cap) AS cap,
               coalesce(p.low_stock_threshold, k.low_stock_threshold, ch.low_stock_threshold) AS threshold
          FROM oms.sku k
         CROSS JOIN ch
          LEFT JOIN oms.atp_policy p ON p.sku_id = k.id AND p.channel_id = ch.id
          LEFT JOIN LATERAL (
                SELECT sum(greatest(st.on_hand - st.reserved - st.safety_stock
                                    - CASE WHEN st.escrow > 0 THEN
                                          (SELECT coalesce(sum(sl.reserved), 0) FROM oms.stock_slot sl
                                            WHERE sl.sku_id = st.sku_id AND sl.location_id = st.location_id)
                                      ELSE 0 END
                                    - CASE WHEN st.held > 0 THEN
                                          (SELECT coalesce(sum(h.qty), 0) FROM oms.hold_line h
                                            WHERE h.sku_id = st.sku_id AND h.location_id = st.location_id
                                              AND h.expires_at > at)
                                      ELSE 0 END
                                    - coalesce(cl.safety_stock, ch.safety_stock), 0)) AS units
                  FROM oms.stock st
                  LEFT JOIN oms.channel_location cl ON cl.channel_id = ch.id AND cl.location_id = st.location_id
                 WHERE st.sku_id = k.id
                   AND st.location_id IN (SELECT l.id FROM oms.location l WHERE l.active)
                   AND (NOT ch.restricted OR cl.channel_id IS NOT NULL)) s ON true
         WHERE k.id = ANY (skus))
    SELECT f.sku_id, f.channel_id, f.units,
           CASE WHEN f.channel_active THEN least(f.units, coalesce(f.cap, f.units)) ELSE 0 END,
           f.threshold,
           CASE WHEN f.units <= 0 THEN 'out_of_stock' WHEN f.units <= f.threshold THEN 'low_stock'
                ELSE 'in_stock' END
      FROM fig f
$$;
COMMENT ON FUNCTION oms.atp_compute(bigint[], timestamptz) IS
    'Available to promise of the SKUs for every channel, counting holds that have not run out at `at`: units (after safety stock and buffer), available (units capped; 0 on an inactive channel), the low-stock threshold and the level: out_of_stock at 0 units, low_stock at or below the threshold, in_stock above it.';

CREATE FUNCTION oms.available_to_promise(sku text, channel text)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sku       bigint;
    v_channel   bigint;
    v_available integer;
BEGIN
    SELECT k.id INTO v_sku FROM oms.sku k WHERE k.code = available_to_promise.sku;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown sku "%"', available_to_promise.sku
            USING ERRCODE = 'OM001', HINT = 'Check the code against oms.sku.';
    END IF;
    SELECT c.id INTO v_channel FROM oms.channel c WHERE c.code = available_to_promise.channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel "%"', available_to_promise.channel
            USING ERRCODE = 'OM003', HINT = 'Check the code against oms.channel.';
    END IF;
    SELECT a.available INTO v_available
      FROM oms.atp_compute(ARRAY[v_sku], now()) a WHERE a.channel_id = v_channel;
    RETURN v_available;
END
$$;
COMMENT ON FUNCTION oms.available_to_promise(text, text) IS
    'Units of a SKU the channel may be shown now: oms.available() less the buffer, capped (oms.channel, oms.atp_policy); what the feed publishes once the latest changes are flushed.';

--
-- The recompute (src/feed.c): what oms.atp_compute() computes, written where
-- it changed, with a number for the feed and a stock event for a new level.
--
CREATE FUNCTION oms.atp_recompute(skus bigint[], at timestamptz)
    RETURNS integer
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    AS 'MODULE_PATHNAME', 'oms_atp_recompute';
COMMENT ON FUNCTION oms.atp_recompute(bigint[], timestamptz) IS
    'Recomputes the available-to-promise figures of the SKUs for every channel (holds count while they have not run out at `at`), writes those that changed with the next number of oms.atp_seq, a stock event for every change of level, and NOTIFY oms_atp for every channel whose figures moved; returns how many figures it wrote.  Takes the flush''s lock: OM133 while another flush runs.  oms.atp_flush() calls it.';

--
-- The flush.
--
CREATE FUNCTION oms.atp_flush(max integer DEFAULT 10000)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
DECLARE
    v_state     oms.atp_flush_state;
    v_at        timestamptz;
    v_skus      bigint[];
    v_refresh   bigint[];
    v_every     bigint;
BEGIN
    IF max IS NULL OR max NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION 'max must be from 1 to 100000, not %', coalesce(max::text, 'NULL') USING ERRCODE = 'OM130';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'oms.atp_flush() runs under READ COMMITTED only, not %', upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'OM132',
                  DETAIL = 'A flush must see the changes and flushes that committed before each of its statements.',
                  HINT = 'Call it in a transaction of its own; the background worker flushes by itself.';
    END IF;

    -- One flush at a time, so that the numbers of one flush are all
    -- committed before the next draws its own.  Another one at work will
    -- pick up what this one would have.
    IF NOT pg_try_advisory_xact_lock(hashtext('oms.atp_flush')) THEN
        RETURN 0;
    END IF;

    SELECT * INTO v_state FROM oms.atp_flush_state;
    -- Time moves forward from flush to flush, whatever the clock does.
    v_at := greatest(clock_timestamp(), v_state.flushed_at);
    IF v_state.singleton IS NULL THEN
        -- The first flush, or a crash emptied the unlogged tables and with
        -- them the signals of changes not yet flushed: recompute everything.
        INSERT INTO oms.atp_flush_state (flushed_at, refresh_after) VALUES (v_at, 0)
        RETURNING * INTO v_state;
    ELSIF v_state.refresh_after IS NULL
          AND NOT EXISTS (SELECT FROM oms.atp_signal)
          AND NOT EXISTS (SELECT FROM oms.hold h WHERE h.expires_at > v_state.flushed_at AND h.expires_at <= v_at) THEN
        RETURN 0;               -- nothing to do, the usual case when idle: no transaction id taken
    END IF;

    -- Holds that ran out since the last flush change their SKUs' figures
    -- without anyone writing anything.
    INSERT INTO oms.atp_signal (sku_id, signalled_at)
    SELECT DISTINCT hl.sku_id, v_at
      FROM oms.hold h JOIN oms.hold_line hl ON hl.hold_ref = h.hold_ref
     WHERE h.expires_at > v_state.flushed_at AND h.expires_at <= v_at;

    -- A change of master data asks for every SKU: start a refresh over.
    WITH every AS (DELETE FROM oms.atp_signal WHERE sku_id IS NULL RETURNING 1)
    SELECT count(*) INTO v_every FROM every;
    IF v_every > 0 THEN
        v_state.refresh_after := 0;
    END IF;

    -- The SKUs whose changes have committed, up to max, and their signals
    -- gone in the same statement.  The statements below see at least every
    -- change whose signal this one saw.
    WITH picked AS (
        SELECT DISTINCT s.sku_id FROM oms.atp_signal s WHERE s.sku_id IS NOT NULL LIMIT max),
    gone AS (
        DELETE FROM oms.atp_signal s USING picked p WHERE s.sku_id = p.sku_id RETURNING s.sku_id)
    SELECT coalesce(array_agg(DISTINCT gone.sku_id), '{}') INTO v_skus FROM gone;

    IF v_state.refresh_after IS NOT NULL THEN
        SELECT coalesce(array_agg(k.id ORDER BY k.id), '{}') INTO v_refresh
          FROM (SELECT k.id FROM oms.sku k WHERE k.id > v_state.refresh_after ORDER BY k.id LIMIT max) k;
        v_state.refresh_after := CASE WHEN cardinality(v_refresh) < max THEN NULL
                                      ELSE v_refresh[cardinality(v_refresh)] END;
        v_skus := ARRAY(SELECT DISTINCT u FROM unnest(v_skus || v_refresh) u);
    END IF;

    -- New figures, stock events and NOTIFY oms_atp (src/feed.c).
    PERFORM oms.atp_recompute(v_skus, v_at);

    UPDATE oms.atp_flush_state SET flushed_at = v_at, refresh_after = v_state.refresh_after;
    RETURN cardinality(v_skus);
END
$$;
COMMENT ON FUNCTION oms.atp_flush(integer) IS
    'Recomputes the available-to-promise figures of up to max SKUs whose stock changed in committed transactions (and max more while every SKU is recomputed), numbers the changed ones for the feed, writes stock events, and sends NOTIFY oms_atp with the code of each channel whose figures moved.  One flush at a time: returns 0 at once while another runs.  Returns how many SKUs it recomputed.';

--
-- The feed, as a connector reads it.
--
CREATE FUNCTION oms.atp_changes(channel text, after bigint DEFAULT 0, max integer DEFAULT 1000)
    RETURNS TABLE (sku text, available integer, cursor bigint)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_channel   bigint;
    v_last      bigint;
BEGIN
    SELECT c.id INTO v_channel FROM oms.channel c WHERE c.code = atp_changes.channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel "%"', atp_changes.channel
            USING ERRCODE = 'OM003', HINT = 'Check the code against oms.channel.';
    END IF;
    IF after IS NULL OR after < 0 THEN
        RAISE EXCEPTION 'after must be a cursor oms.atp_changes returned, or 0, not %', coalesce(after::text, 'NULL')
            USING ERRCODE = 'OM130';
    END IF;
    IF max IS NULL OR max NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max must be from 1 to 10000, not %', coalesce(max::text, 'NULL') USING ERRCODE = 'OM130';
    END IF;
    SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END INTO v_last FROM oms.atp_seq s;
    IF after > v_last THEN
        RAISE EXCEPTION 'cursor % is ahead of the feed, which stands at %', after, v_last
            USING ERRCODE = 'OM131',
                  DETAIL = 'No cursor this database returned is that high: it comes from another database, or one restored from an older backup.',
                  HINT = 'Read the whole feed again from 0 and push every figure.';
    END IF;

    -- Changes committed so far, unless another session is flushing them.
    IF current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM oms.atp_flush();
    END IF;

    RETURN QUERY
    SELECT k.code::text, l.available::integer, l.seq
      FROM oms.atp_level l
      JOIN oms.sku k ON k.id = l.sku_id
     WHERE l.channel_id = v_channel AND l.seq > after
     ORDER BY l.seq
     LIMIT max;
END
$$;
COMMENT ON FUNCTION oms.atp_changes(text, bigint, integer) IS
    'The SKUs whose available-to-promise figure for the channel changed after the cursor (0: every SKU), at most max, each once with its latest figure, in cursor order; the last row''s cursor is where to read on from.  Flushes the committed changes first (under READ COMMITTED, unless a flush is running).';

CREATE FUNCTION oms.atp_refresh(sku text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sku       bigint;
BEGIN
    IF sku IS NOT NULL THEN
        SELECT k.id INTO v_sku FROM oms.sku k WHERE k.code = atp_refresh.sku;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown sku "%"', atp_refresh.sku
                USING ERRCODE = 'OM001', HINT = 'Check the code against oms.sku.';
        END IF;
    END IF;
    INSERT INTO oms.atp_signal (sku_id, signalled_at) VALUES (v_sku, now());
END
$$;
COMMENT ON FUNCTION oms.atp_refresh(text) IS
    'Has the next flush recompute a SKU, or every SKU (NULL): after stock changed while oms.atp_feed was off.';

--
-- Master data that changes figures without a stock movement signals too:
-- a SKU's row, or every SKU.
--
CREATE FUNCTION oms.atp_master_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_ARGV[0] = 'every' THEN
        INSERT INTO oms.atp_signal (sku_id, signalled_at) VALUES (NULL, now());
    ELSIF TG_ARGV[0] = 'sku' THEN  -- not TG_TABLE_NAME: on Citus the trigger fires on a shard, sku_<shard id>
        INSERT INTO oms.atp_signal (sku_id, signalled_at) VALUES (NEW.id, now());
    ELSE
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO oms.atp_signal (sku_id, signalled_at) VALUES (OLD.sku_id, now());
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.sku_id <> OLD.sku_id) THEN
            INSERT INTO oms.atp_signal (sku_id, signalled_at) VALUES (NEW.sku_id, now());
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION oms.atp_master_changed() IS
    'Trigger: master data that changes available-to-promise figures signals the SKU (a new or changed oms.sku, oms.atp_policy) or every SKU (argument ''every'': channels, locations, channel_location).';

CREATE TRIGGER atp_changed AFTER INSERT OR DELETE OR TRUNCATE ON oms.channel
    FOR EACH STATEMENT EXECUTE FUNCTION oms.atp_master_changed('every');
CREATE TRIGGER atp_changed_row AFTER UPDATE ON oms.channel
    FOR EACH ROW WHEN ((OLD.active, OLD.safety_stock, OLD.atp_buffer, OLD.atp_cap, OLD.low_stock_threshold)
                       IS DISTINCT FROM (NEW.active, NEW.safety_stock, NEW.atp_buffer, NEW.atp_cap, NEW.low_stock_threshold))
    EXECUTE FUNCTION oms.atp_master_changed('every');
CREATE TRIGGER atp_changed AFTER DELETE OR TRUNCATE ON oms.location
    FOR EACH STATEMENT EXECUTE FUNCTION oms.atp_master_changed('every');
CREATE TRIGGER atp_changed_row AFTER UPDATE ON oms.location
    FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION oms.atp_master_changed('every');
CREATE TRIGGER atp_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.channel_location
    FOR EACH STATEMENT EXECUTE FUNCTION oms.atp_master_changed('every');
CREATE TRIGGER atp_changed AFTER INSERT ON oms.sku
    FOR EACH ROW EXECUTE FUNCTION oms.atp_master_changed('sku');
CREATE TRIGGER atp_changed_row AFTER UPDATE ON oms.sku
    FOR EACH ROW WHEN ((OLD.active, OLD.low_stock_threshold) IS DISTINCT FROM (NEW.active, NEW.low_stock_threshold))
    EXECUTE FUNCTION oms.atp_master_changed('sku');
CREATE TRIGGER atp_changed_row AFTER INSERT OR UPDATE OR DELETE ON oms.atp_policy
    FOR EACH ROW EXECUTE FUNCTION oms.atp_master_changed('policy');
CREATE TRIGGER atp_changed AFTER TRUNCATE ON oms.atp_policy
    FOR EACH STATEMENT EXECUTE FUNCTION oms.atp_master_changed('every');
