--
-- Delivering events: consumers claim them from the outbox, at least once,
-- and acknowledge them; a publisher wakes LISTENers on channel oms_events
-- (README, "Events").
--
-- An event is read only once the transaction that wrote it can no longer be
-- overtaken: its txid is below the xmin of the reader's snapshot, so every
-- transaction that could still commit an event sorting before it has ended.
-- Positions (txid, event_id) then only move forward and nothing is skipped.
--
-- Stock events of the available-to-promise feed (65_atp.sql) come through the
-- same outbox: order_id 0 there (no order has id 0) and in the leases, their
-- rows in oms.stock_event; consumers get them with order_id NULL and entity
-- 'stock'.
--

CREATE TABLE oms.event_consumer (
    consumer        text PRIMARY KEY,
    after_txid      xid8 NOT NULL DEFAULT '0',
    after_id        bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_consumer_check CHECK (consumer <> '' AND consumer = btrim(consumer) AND length(consumer) <= 100)
);
COMMENT ON TABLE oms.event_consumer IS 'Each consumer of events (registered by its first oms.claim_events) and how far it has claimed.';

CREATE TABLE oms.event_lease (
    consumer        text NOT NULL REFERENCES oms.event_consumer (consumer) ON DELETE CASCADE,
    event_id        bigint NOT NULL,
    order_id        bigint NOT NULL,
    leased_until    timestamptz NOT NULL,
    deliveries      integer NOT NULL DEFAULT 1,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX event_lease_event_idx ON oms.event_lease (event_id);
COMMENT ON TABLE oms.event_lease IS 'Events a consumer claimed and has not acknowledged; past leased_until they are claimed again.';

SELECT pg_catalog.pg_extension_config_dump('oms.event_consumer', '');
SELECT pg_catalog.pg_extension_config_dump('oms.event_lease', '');

--
-- Transaction ids belong to one cluster.  After a restore into another one
-- (or a failover to a logical replica) the outbox and the positions carry ids
-- this cluster has not reached yet, and the events it writes would sort before
-- them.  Every id at or beyond the next one this cluster will assign is such
-- a stranger: rebase_events() moves them to 1 -- all those events committed
-- long ago, and they keep their order by event_id -- before anyone reads.
--
CREATE FUNCTION oms.next_xact_id()
    RETURNS xid8
    LANGUAGE c VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_next_xact_id';
COMMENT ON FUNCTION oms.next_xact_id() IS
    'The transaction id this cluster assigns next: an id at or beyond it comes from another cluster.';

CREATE FUNCTION oms.rebase_events()
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_next  xid8 := oms.next_xact_id();
BEGIN
    IF (SELECT max(txid) FROM oms.outbox) >= v_next
       OR EXISTS (SELECT FROM oms.event_consumer WHERE after_txid >= v_next) THEN
        UPDATE oms.outbox SET txid = '1' WHERE txid >= v_next;
        UPDATE oms.event_consumer SET after_txid = '1' WHERE after_txid >= v_next;
    END IF;
END
$$;
COMMENT ON FUNCTION oms.rebase_events() IS
    'Moves transaction ids of another cluster (after a restore or failover) in the outbox and the consumers'' positions to 1, keeping their order; claim, publish and purge call it first.';

CREATE FUNCTION oms.claim_events(consumer text, max integer DEFAULT 100, lease interval DEFAULT '1 minute')
    RETURNS TABLE (event_id bigint, order_id bigint, entity text, entity_id bigint, from_status text,
                   to_status text, at timestamptz, created_by text, details jsonb, deliveries integer)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_consumer  oms.event_consumer;
    v_horizon   xid8 := pg_snapshot_xmin(pg_current_snapshot());
    v_ids       bigint[];
    v_fresh     bigint[];
    v_last_txid xid8;
BEGIN
    IF consumer IS NULL OR consumer = '' OR consumer <> btrim(consumer) OR length(consumer) > 100
       OR consumer LIKE 'oms:%' THEN
        RAISE EXCEPTION 'consumer must be 1 to 100 characters without surrounding blanks, not starting with "oms:"'
            USING ERRCODE = 'OM080';
    END IF;
    IF max IS NULL OR max NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max must be from 1 to 10000, not %', coalesce(max::text, 'NULL') USING ERRCODE = 'OM080';
    END IF;
    IF lease IS NULL OR lease <= interval '0' OR lease > interval '1 day' THEN
        RAISE EXCEPTION 'lease must be more than 0 and at most 1 day' USING ERRCODE = 'OM080';
    END IF;

    PERFORM oms.rebase_events();

    -- One claim of a consumer at a time: two never take the same event.
    INSERT INTO oms.event_consumer AS c (consumer) VALUES (claim_events.consumer) ON CONFLICT DO NOTHING;
    SELECT * INTO v_consumer FROM oms.event_consumer c WHERE c.consumer = claim_events.consumer FOR UPDATE;

    -- Leases that ran out without an acknowledgement are delivered again first.
    WITH again AS (
        UPDATE oms.event_lease l
           SET leased_until = clock_timestamp() + lease, deliveries = l.deliveries + 1
         WHERE l.consumer = claim_events.consumer
           AND l.event_id IN (SELECT x.event_id FROM oms.event_lease x
                               WHERE x.consumer = claim_events.consumer AND x.leased_until <= clock_timestamp()
                               ORDER BY x.event_id LIMIT max)
        RETURNING l.event_id)
    SELECT coalesce(array_agg(again.event_id), '{}') INTO v_ids FROM again;

    IF cardinality(v_ids) < max THEN
        WITH f AS (
            SELECT o.event_id, o.txid, o.order_id FROM oms.outbox o
             WHERE (o.txid, o.event_id) > (v_consumer.after_txid, v_consumer.after_id)
               AND o.txid < v_horizon
             ORDER BY o.txid, o.event_id
             LIMIT max - cardinality(v_ids)),
        leased AS (
            INSERT INTO oms.event_lease (consumer, event_id, order_id, leased_until)
            SELECT claim_events.consumer, f.event_id, f.order_id, clock_timestamp() + lease FROM f)
        SELECT coalesce(array_agg(f.event_id ORDER BY f.txid, f.event_id), '{}'),
               (array_agg(f.txid ORDER BY f.txid DESC, f.event_id DESC))[1]
          INTO v_fresh, v_last_txid
          FROM f;
        IF cardinality(v_fresh) > 0 THEN
            UPDATE oms.event_consumer c SET after_txid = v_last_txid, after_id = v_fresh[cardinality(v_fresh)]
             WHERE c.consumer = claim_events.consumer;
            v_ids := v_ids || v_fresh;
        END IF;
    END IF;

    RETURN QUERY
    SELECT x.* FROM (
        SELECT e.id, e.order_id, e.entity, e.entity_id, e.from_status, e.to_status, e.at, e.created_by, e.details,
               l.deliveries
          FROM oms.event_lease l
          JOIN oms.order_event e ON e.order_id = l.order_id AND e.id = l.event_id
         WHERE l.consumer = claim_events.consumer AND l.event_id = ANY (v_ids) AND l.order_id <> 0
        UNION ALL
        SELECT s.id, NULL::bigint, 'stock', s.sku_id, s.from_level, s.kind, s.at, s.created_by,
               jsonb_build_object('channel', c.code, 'sku', k.code, 'level', s.to_level, 'units', s.units,
                                  'previous', s.previous, 'available', s.available, 'threshold', s.threshold),
               l.deliveries
          FROM oms.event_lease l
          JOIN oms.stock_event s ON s.id = l.event_id
          LEFT JOIN oms.channel c ON c.id = s.channel_id
          LEFT JOIN oms.sku k ON k.id = s.sku_id
         WHERE l.consumer = claim_events.consumer AND l.event_id = ANY (v_ids) AND l.order_id = 0) x
     ORDER BY 1;
END
$$;
COMMENT ON FUNCTION oms.claim_events(text, integer, interval) IS
    'Claims up to max events for a consumer (registered on first use): first those whose lease ran out unacknowledged, then new ones in commit order.  Each is leased to this caller until acknowledged or the lease ends: delivery is at least once, and two callers never hold the same event.  Stock events come with order_id NULL, entity ''stock'' and the SKU id as entity_id.';

CREATE FUNCTION oms.ack_events(consumer text, ids bigint[])
    RETURNS integer
    LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH done AS (DELETE FROM oms.event_lease l WHERE l.consumer = ack_events.consumer AND l.event_id = ANY (ids)
                  RETURNING 1)
    SELECT count(*)::integer FROM done
$$;
COMMENT ON FUNCTION oms.ack_events(text, bigint[]) IS
    'Acknowledges claimed events: they are not delivered to this consumer again.  Returns how many were still leased.';

CREATE FUNCTION oms.publish_events(max integer DEFAULT 1000)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pos       oms.event_consumer;
    v_horizon   xid8 := pg_snapshot_xmin(pg_current_snapshot());
    v_event     record;
    v_count     integer := 0;
BEGIN
    IF max IS NULL OR max NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max must be from 1 to 10000, not %', coalesce(max::text, 'NULL') USING ERRCODE = 'OM081';
    END IF;
    PERFORM oms.rebase_events();

    -- Nothing new, the usual case: return without taking a transaction id.
    SELECT * INTO v_pos FROM oms.event_consumer WHERE consumer = 'oms:notify';
    IF FOUND AND NOT EXISTS (SELECT FROM oms.outbox o
                              WHERE (o.txid, o.event_id) > (v_pos.after_txid, v_pos.after_id)
                                AND o.txid < v_horizon) THEN
        RETURN 0;
    END IF;
    INSERT INTO oms.event_consumer (consumer, after_txid) VALUES ('oms:notify', v_horizon) ON CONFLICT DO NOTHING;
    SELECT * INTO v_pos FROM oms.event_consumer WHERE consumer = 'oms:notify' FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;               -- another publisher is at work
    END IF;
    FOR v_event IN
        SELECT o.* FROM oms.outbox o
         WHERE (o.txid, o.event_id) > (v_pos.after_txid, v_pos.after_id) AND o.txid < v_horizon
         ORDER BY o.txid, o.event_id LIMIT max
    LOOP
        PERFORM pg_notify('oms_events', jsonb_build_object('id', v_event.event_id,
                                                           'order_id', nullif(v_event.order_id, 0),
                                                           'entity', v_event.entity, 'entity_id', v_event.entity_id,
                                                           'status', v_event.status)::text);
        v_pos.after_txid := v_event.txid;
        v_pos.after_id := v_event.event_id;
        v_count := v_count + 1;
    END LOOP;
    UPDATE oms.event_consumer SET after_txid = v_pos.after_txid, after_id = v_pos.after_id
     WHERE consumer = 'oms:notify';
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION oms.publish_events(integer) IS
    'Sends NOTIFY oms_events for up to max (1 to 10000) events not yet published, one compact JSON payload each; the background worker calls it every oms.publish_interval.  Returns how many it sent.';

CREATE FUNCTION oms.purge_outbox(keep interval DEFAULT '7 days')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_purged    bigint;
BEGIN
    IF keep IS NULL OR keep <= interval '0' THEN
        RAISE EXCEPTION 'keep must be more than 0' USING ERRCODE = 'OM080';
    END IF;
    PERFORM oms.rebase_events();
    -- The publisher (oms:notify) is no consumer: only those of connectors count.
    WITH done AS (
        DELETE FROM oms.outbox o
         WHERE (EXISTS (SELECT FROM oms.event_consumer c WHERE c.consumer NOT LIKE 'oms:%')
                AND NOT EXISTS (SELECT FROM oms.event_consumer c
                                 WHERE c.consumer NOT LIKE 'oms:%'
                                   AND (c.after_txid, c.after_id) < (o.txid, o.event_id))
                AND NOT EXISTS (SELECT FROM oms.event_lease l WHERE l.event_id = o.event_id))
            OR o.created_at < now() - least(keep, interval '1000 years')  -- no overflow: keeps all
        RETURNING 1)
    SELECT count(*) INTO v_purged FROM done;
    RETURN v_purged;
END
$$;
COMMENT ON FUNCTION oms.purge_outbox(interval) IS
    'Deletes the outbox rows every consumer (there must be one; the publisher does not count) has claimed and acknowledged, and those older than keep (more than 0) whatever their state; oms.order_event keeps the history.  Returns how many it deleted.';
