--
-- Channel intake: each channel's own payloads, through its connector, into
-- orders (README, "Channel intake").
--
-- A connector is a transform function that maps one payload of the channel
-- to oms's canonical order, plus a map of the channel's SKUs to oms's.  Every
-- message oms.ingest receives is kept in oms.inbound_message with what became
-- of it, in the caller's transaction; one that cannot be applied stays there,
-- held or failed, for oms.replay_inbound.
--
-- Keys (design.md): connectors and SKU maps are master data keyed by the
-- channel; a message is keyed by its channel and the channel's own event id,
-- which is also the idempotency key of the intake.
--

CREATE TABLE oms.channel_connector (
    channel_id      bigint PRIMARY KEY,
    transform       regprocedure NOT NULL,
    options         jsonb NOT NULL DEFAULT '{}',
    location_map    jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT channel_connector_options_check CHECK (jsonb_typeof(options) = 'object'),
    CONSTRAINT channel_connector_location_map_check CHECK (jsonb_typeof(location_map) = 'object')
);
COMMENT ON TABLE oms.channel_connector IS 'How oms.ingest reads a channel''s payloads: its transform function and defaults. Maintained by an admin.';
COMMENT ON COLUMN oms.channel_connector.transform IS 'A function (payload jsonb, topic text) RETURNS jsonb that maps one payload to the canonical message (README, "Channel intake"); SECURITY DEFINER or owned by the owner of oms, since oms.ingest runs it with oms''s privileges.';
COMMENT ON COLUMN oms.channel_connector.options IS 'place_order options every order of this channel starts from (allow_backorder, say); the canonical message''s own options win.';
COMMENT ON COLUMN oms.channel_connector.location_map IS 'The channel''s location ids to oms location codes, e.g. {"64120": "MUC-STORE"}: where a store sale took place.';

CREATE TABLE oms.channel_sku (
    channel_id      bigint NOT NULL,
    external_sku    text NOT NULL,
    sku_id          bigint NOT NULL,
    PRIMARY KEY (channel_id, external_sku),
    CONSTRAINT channel_sku_external_sku_check
        CHECK (external_sku <> '' AND external_sku = btrim(external_sku) AND length(external_sku) <= 200)
);
COMMENT ON TABLE oms.channel_sku IS 'A channel''s own SKU (seller SKU, variant SKU) to the oms SKU it sells; a channel SKU without a row here is taken to be an oms SKU code.';

CREATE TABLE oms.inbound_message (
    channel_id      bigint NOT NULL,
    source_event_id text NOT NULL,
    topic           text NOT NULL,
    payload         jsonb NOT NULL,
    outcome         text NOT NULL,
    external_ref    text,
    source_updated_at timestamptz,
    order_id        bigint,
    error_sqlstate  text,
    error_message   text,
    attempts        integer NOT NULL DEFAULT 1,
    repeats         integer NOT NULL DEFAULT 0,
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, source_event_id),
    CONSTRAINT inbound_message_outcome_check
        CHECK (outcome IN ('received', 'applied', 'duplicate', 'stale', 'held', 'failed')),
    CONSTRAINT inbound_message_topic_check CHECK (topic IN ('order', 'cancel', 'address')),
    CONSTRAINT inbound_message_error_check CHECK ((outcome IN ('held', 'failed')) = (error_sqlstate IS NOT NULL))
);
CREATE INDEX inbound_message_order_idx ON oms.inbound_message (channel_id, external_ref, source_updated_at)
    WHERE outcome = 'applied';
CREATE INDEX inbound_message_open_idx ON oms.inbound_message (channel_id, received_at)
    WHERE outcome IN ('held', 'failed');
COMMENT ON TABLE oms.inbound_message IS 'Every message oms.ingest received, kept with its outcome; held and failed ones wait for oms.replay_inbound.';
COMMENT ON COLUMN oms.inbound_message.source_event_id IS 'The channel''s id of this message (a webhook id, an event id): the same id again is a duplicate.';
COMMENT ON COLUMN oms.inbound_message.topic IS 'order (a new or updated order) | cancel (the channel cancelled it) | address (the channel changed its ship-to).';
COMMENT ON COLUMN oms.inbound_message.outcome IS 'applied | duplicate (an order already placed with the same contents) | stale (older than the update applied last) | held (may succeed later: unknown SKU, no stock, order not known yet) | failed (the payload itself is wrong).';
COMMENT ON COLUMN oms.inbound_message.external_ref IS 'The channel''s order reference the message is about, once the transform gave it.';
COMMENT ON COLUMN oms.inbound_message.source_updated_at IS 'When the channel last changed the order, as the message says: orders the updates of one order.';
COMMENT ON COLUMN oms.inbound_message.order_id IS 'The oms order the message placed or changed.';
COMMENT ON COLUMN oms.inbound_message.error_sqlstate IS 'Why a held or failed message was not applied: the SQLSTATE of the error.';
COMMENT ON COLUMN oms.inbound_message.attempts IS 'How often the message was processed: 1, plus once per oms.replay_inbound.';
COMMENT ON COLUMN oms.inbound_message.repeats IS 'How often the channel sent the same source_event_id again.';

SELECT pg_catalog.pg_extension_config_dump('oms.channel_connector', '');
SELECT pg_catalog.pg_extension_config_dump('oms.channel_sku', '');
SELECT pg_catalog.pg_extension_config_dump('oms.inbound_message', '');

-- The result of oms.ingest and oms.replay_inbound for one message.
CREATE TYPE oms.ingest_result AS (
    outcome         text,
    order_id        bigint,
    error_sqlstate  text,
    error_message   text
);
COMMENT ON TYPE oms.ingest_result IS 'What became of an inbound message: outcome, the order it placed or changed, and for held and failed ones the error.';

--
-- A channel's change of address, and an operator's: the same rules as
-- place_order's ship_to, checked here in SQL (a cold path).  The
-- reservations stay where routing put them.
--
CREATE FUNCTION oms.change_ship_to(order_id bigint, ship_to jsonb)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
DECLARE
    v_status    text;
    v_lat       numeric;
    v_lon       numeric;
BEGIN
    IF order_id IS NULL OR ship_to IS NULL THEN
        RAISE EXCEPTION 'oms.change_ship_to takes no NULL argument' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(ship_to) <> 'object' THEN
        RAISE EXCEPTION 'ship_to must be a JSON object' USING ERRCODE = 'OM021',
            HINT = 'For example {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.40}.';
    END IF;
    IF (ship_to ? 'latitude') <> (ship_to ? 'longitude') THEN
        RAISE EXCEPTION 'ship_to has % but not %', CASE WHEN ship_to ? 'latitude' THEN 'latitude' ELSE 'longitude' END,
                                                   CASE WHEN ship_to ? 'latitude' THEN 'longitude' ELSE 'latitude' END
            USING ERRCODE = 'OM021';
    END IF;
    IF ship_to ? 'latitude' THEN
        IF jsonb_typeof(ship_to->'latitude') <> 'number' OR jsonb_typeof(ship_to->'longitude') <> 'number' THEN
            RAISE EXCEPTION 'ship_to latitude and longitude must be numbers' USING ERRCODE = 'OM021';
        END IF;
        v_lat := (ship_to->>'latitude')::numeric;
        v_lon := (ship_to->>'longitude')::numeric;
        IF v_lat NOT BETWEEN -90 AND 90 THEN
            RAISE EXCEPTION 'ship_to latitude must be a number from -90 to 90' USING ERRCODE = 'OM021';
        END IF;
        IF v_lon NOT BETWEEN -180 AND 180 THEN
            RAISE EXCEPTION 'ship_to longitude must be a number from -180 to 180' USING ERRCODE = 'OM021';
        END IF;
        -- As place_order: a coordinate double precision cannot hold (1e-400) is wrong.
        BEGIN
            PERFORM v_lat::float8, v_lon::float8;
        EXCEPTION WHEN numeric_value_out_of_range THEN
            RAISE EXCEPTION 'ship_to latitude and longitude must be numbers double precision can hold'
                USING ERRCODE = 'OM021';
        END;
    END IF;

    SELECT o.status INTO v_status FROM oms.orders o WHERE o.order_id = change_ship_to.order_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'order % does not exist', order_id USING ERRCODE = 'OM040';
    END IF;
    IF v_status IN ('partially_shipped', 'shipped', 'delivered', 'cancelled', 'closed') THEN
        RAISE EXCEPTION 'order % is %: its address can no longer change', order_id, v_status
            USING ERRCODE = 'OM041', HINT = 'An address changes until the first parcel leaves.';
    END IF;
    UPDATE oms.orders o SET ship_to = change_ship_to.ship_to, updated_at = now()
     WHERE o.order_id = change_ship_to.order_id;
END
$$;
COMMENT ON FUNCTION oms.change_ship_to(bigint, jsonb) IS
    'Changes the address an order ships to, until its first parcel leaves; checked as place_order checks ship_to. The reservations stay where routing put them.';

--
-- Applies one canonical message to the orders and says applied, duplicate or
-- stale; raises the error that makes it held or failed.  Internal: runs
-- inside oms.process_inbound's subtransaction.
--
CREATE FUNCTION oms.apply_inbound(channel_id bigint, channel text, topic text, msg jsonb, source_event_id text,
                                  OUT outcome text, OUT order_id bigint)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ref       text := msg->>'external_ref';
    v_updated   timestamptz;
    v_last      timestamptz;
    v_lines     jsonb := msg->'lines';
    v_options   jsonb;
    v_action    text := topic;
BEGIN
    IF jsonb_typeof(msg) IS DISTINCT FROM 'object' OR jsonb_typeof(msg->'external_ref') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'the transform of channel "%" gave no external_ref', channel
            USING ERRCODE = 'OM101',
                  DETAIL = format('It returned %s.', left(coalesce(msg::text, 'NULL'), 200)),
                  HINT = 'A canonical message is an object with at least "external_ref" (README, "Channel intake").';
    END IF;
    BEGIN
        v_updated := (msg->>'updated_at')::timestamptz;
        IF topic = 'order' AND coalesce((msg->>'cancelled')::boolean, false) THEN
            v_action := 'cancel';
        END IF;
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'the canonical message has an updated_at that is not a time or a cancelled that is not a boolean'
            USING ERRCODE = 'OM101', DETAIL = format('updated_at: %s, cancelled: %s', msg->'updated_at', msg->'cancelled');
    END;
    -- The channel's SKUs become oms's.
    IF jsonb_typeof(v_lines) = 'array' THEN
        SELECT coalesce(jsonb_agg(CASE WHEN s.code IS NULL THEN e.l
                                       ELSE e.l || jsonb_build_object('sku', s.code) END ORDER BY e.n), '[]')
          INTO v_lines
          FROM jsonb_array_elements(v_lines) WITH ORDINALITY AS e(l, n)
          LEFT JOIN oms.channel_sku m
                 ON m.channel_id = apply_inbound.channel_id AND m.external_sku = e.l->>'sku'
          LEFT JOIN oms.sku s ON s.id = m.sku_id;
    END IF;

    -- The channel reference's row is the lock that orders the messages of one order.
    SELECT r.order_id INTO order_id FROM oms.order_ref r
     WHERE r.channel_id = apply_inbound.channel_id AND r.external_ref::text = v_ref
       FOR UPDATE;
    IF v_action = 'order' AND order_id IS NULL THEN
        -- The connector's defaults, the message's options over them, and the
        -- channel's location named by its oms code.
        SELECT coalesce(c.options, '{}') || coalesce(msg->'options', '{}')
               || CASE WHEN c.location_map ? (msg->'options'->>'location')
                       THEN jsonb_build_object('location', c.location_map->(msg->'options'->>'location'))
                       ELSE '{}' END
          INTO v_options
          FROM oms.channel ch LEFT JOIN oms.channel_connector c ON c.channel_id = ch.id
         WHERE ch.id = apply_inbound.channel_id;
        BEGIN
            order_id := oms.place_order(channel, v_ref, v_lines, msg->'ship_to', v_options);
            outcome := 'applied';
            RETURN;
        EXCEPTION WHEN SQLSTATE 'OM031' THEN
            -- Another message of this order placed it meanwhile, from other
            -- contents: this one is an update of that order.
            SELECT r.order_id INTO order_id FROM oms.order_ref r
             WHERE r.channel_id = apply_inbound.channel_id AND r.external_ref::text = v_ref
               FOR UPDATE;
        END;
    END IF;
    IF order_id IS NULL THEN
        RAISE EXCEPTION 'channel "%" has no order "%" yet', channel, v_ref
            USING ERRCODE = 'OM102',
                  HINT = 'The order may still be on its way: oms.replay_inbound applies the message once it is here.';
    END IF;

    IF v_updated IS NOT NULL THEN
        SELECT max(m.source_updated_at) INTO v_last FROM oms.inbound_message m
         WHERE m.channel_id = apply_inbound.channel_id AND m.external_ref = v_ref AND m.outcome = 'applied'
           AND m.source_event_id <> apply_inbound.source_event_id;
        IF v_updated < v_last THEN
            outcome := 'stale';
            RETURN;
        END IF;
    END IF;

    IF v_action = 'cancel' THEN
        PERFORM oms.cancel_order(order_id, coalesce(msg->>'reason', 'cancelled by channel ' || channel));
        outcome := 'applied';
    ELSIF v_action = 'address' THEN
        PERFORM oms.change_ship_to(order_id, msg->'ship_to');
        outcome := 'applied';
    ELSE
        -- A channel sends the whole order with every update.  oms takes a new
        -- address; other changes to what was placed wait for an operator.
        IF jsonb_typeof(v_lines) IS DISTINCT FROM 'array' OR EXISTS (
                SELECT FROM (SELECT s.code AS sku, ol.qty::bigint AS qty
                               FROM oms.order_lines ol JOIN oms.sku s ON s.id = ol.sku_id
                              WHERE ol.order_id = apply_inbound.order_id
                             UNION ALL
                             SELECT e.l->>'sku', -(e.l->>'qty')::bigint FROM jsonb_array_elements(v_lines) e(l)) l
                 GROUP BY l.sku HAVING sum(l.qty) <> 0) THEN
            RAISE EXCEPTION 'channel "%" changed the lines of order "%"', channel, v_ref
                USING ERRCODE = 'OM103',
                      DETAIL = format('oms placed it as order %s and does not change the lines of an order.', order_id),
                      HINT = 'Cancel lines with oms.cancel_line, or cancel the order and let the channel send it anew.';
        END IF;
        IF msg ? 'ship_to' AND msg->'ship_to' IS DISTINCT FROM
                (SELECT o.ship_to FROM oms.orders o WHERE o.order_id = apply_inbound.order_id) THEN
            PERFORM oms.change_ship_to(order_id, msg->'ship_to');
            outcome := 'applied';
        ELSE
            outcome := 'duplicate';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION oms.apply_inbound(bigint, text, text, jsonb, text) IS
    'Internal to oms.ingest: applies one canonical message (place, cancel, change of address) and says applied, duplicate or stale.';

--
-- Runs the channel's transform on a logged message and applies it in a
-- subtransaction; records the outcome on the message and returns it.
--
CREATE FUNCTION oms.process_inbound(channel_id bigint, source_event_id text)
    RETURNS oms.ingest_result
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_msg       oms.inbound_message;
    v_channel   text;
    v_transform regprocedure;
    v_canonical jsonb;
    v_result    oms.ingest_result;
    v_updated   timestamptz;
BEGIN
    SELECT * INTO v_msg FROM oms.inbound_message m
     WHERE m.channel_id = process_inbound.channel_id AND m.source_event_id = process_inbound.source_event_id;
    SELECT ch.code, c.transform INTO v_channel, v_transform
      FROM oms.channel ch LEFT JOIN oms.channel_connector c ON c.channel_id = ch.id
     WHERE ch.id = v_msg.channel_id;
    BEGIN
        v_canonical := v_msg.payload;
        IF v_transform IS NOT NULL THEN
            -- oms runs the transform with its own privileges: only a function
            -- that runs as its owner anyway, or whose owner is a superuser,
            -- may be one.
            IF NOT EXISTS (SELECT FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
                            WHERE p.oid = v_transform AND (p.prosecdef OR r.rolsuper)
                              AND p.prorettype = 'jsonb'::regtype AND p.pronargs = 2
                              AND p.proargtypes[0] = 'jsonb'::regtype AND p.proargtypes[1] = 'text'::regtype) THEN
                RAISE EXCEPTION 'the transform % of channel "%" cannot be used', v_transform, v_channel
                    USING ERRCODE = 'OM100',
                          DETAIL = 'A transform takes (payload jsonb, topic text), returns jsonb, and is SECURITY DEFINER or owned by a superuser.';
            END IF;
            EXECUTE format('SELECT %s($1, $2)', v_transform::oid::regproc) INTO v_canonical USING v_msg.payload, v_msg.topic;
        END IF;
        SELECT a.outcome, a.order_id INTO v_result.outcome, v_result.order_id
          FROM oms.apply_inbound(v_msg.channel_id, v_channel, v_msg.topic, v_canonical, v_msg.source_event_id) a;
        v_updated := (v_canonical->>'updated_at')::timestamptz;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_result.error_sqlstate = RETURNED_SQLSTATE, v_result.error_message = MESSAGE_TEXT;
        -- The order the message is about, when there is one.
        SELECT r.order_id INTO v_result.order_id FROM oms.order_ref r
         WHERE r.channel_id = v_msg.channel_id AND jsonb_typeof(v_canonical) = 'object'
           AND r.external_ref::text = v_canonical->>'external_ref';
        -- What a change of master data, of stock or a later message can mend
        -- is held; the rest is wrong in the payload or in the transform.
        v_result.outcome := CASE WHEN v_result.error_sqlstate IN ('OM001', 'OM002', 'OM004', 'OM005', 'OM006', 'OM030',
                                                                  'OM032', 'OM100', 'OM102', 'OM103')
                                 THEN 'held' ELSE 'failed' END;
    END;
    UPDATE oms.inbound_message m
       SET outcome = v_result.outcome,
           order_id = coalesce(v_result.order_id, m.order_id),
           external_ref = coalesce(CASE WHEN jsonb_typeof(v_canonical) = 'object' THEN v_canonical->>'external_ref' END,
                                   m.external_ref),
           source_updated_at = v_updated,
           error_sqlstate = v_result.error_sqlstate,
           error_message = v_result.error_message,
           processed_at = now()
     WHERE m.channel_id = v_msg.channel_id AND m.source_event_id = v_msg.source_event_id;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION oms.process_inbound(bigint, text) IS
    'Internal to oms.ingest and oms.replay_inbound: transforms and applies one logged message in a subtransaction, records and returns its outcome.';

CREATE FUNCTION oms.ingest(channel text, payload jsonb, source_event_id text, topic text DEFAULT 'order')
    RETURNS oms.ingest_result
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
DECLARE
    v_channel_id bigint;
    v_msg       oms.inbound_message;
BEGIN
    IF channel IS NULL OR payload IS NULL OR source_event_id IS NULL OR topic IS NULL THEN
        RAISE EXCEPTION 'oms.ingest takes no NULL argument' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.id INTO v_channel_id FROM oms.channel c WHERE c.code = ingest.channel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = 'OM003';
    END IF;
    IF source_event_id = '' OR source_event_id <> btrim(source_event_id) OR length(source_event_id) > 200 THEN
        RAISE EXCEPTION 'source_event_id must be non-empty, without surrounding blanks and at most 200 characters'
            USING ERRCODE = 'OM104', DETAIL = format('It is %s.', left(quote_literal(source_event_id), 220));
    END IF;
    IF topic NOT IN ('order', 'cancel', 'address') THEN
        RAISE EXCEPTION 'unknown topic "%"', topic
            USING ERRCODE = 'OM104', HINT = 'A topic is order, cancel or address.';
    END IF;

    -- The message's key is the intake's idempotency key: a second session
    -- sending the same one waits here for the first to commit or roll back.
    INSERT INTO oms.inbound_message AS m (channel_id, source_event_id, topic, payload, outcome)
    VALUES (v_channel_id, ingest.source_event_id, ingest.topic, ingest.payload, 'received')
    ON CONFLICT ON CONSTRAINT inbound_message_pkey DO NOTHING;
    IF NOT FOUND THEN
        UPDATE oms.inbound_message m SET repeats = m.repeats + 1
         WHERE m.channel_id = v_channel_id AND m.source_event_id = ingest.source_event_id
        RETURNING * INTO v_msg;
        RETURN ROW('duplicate', v_msg.order_id, v_msg.error_sqlstate,
                   format('message %s of channel %s was received at %s and is %s', source_event_id, channel,
                          v_msg.received_at, v_msg.outcome))::oms.ingest_result;
    END IF;
    RETURN oms.process_inbound(v_channel_id, source_event_id);
END
$$;
COMMENT ON FUNCTION oms.ingest(text, jsonb, text, text) IS
    'Takes one message of a channel in its own shape (topic order, cancel or address), maps it through the channel''s connector and applies it; logs it in oms.inbound_message with its outcome: applied, duplicate, stale, held or failed.';

CREATE FUNCTION oms.replay_inbound(channel text DEFAULT NULL, source_event_id text DEFAULT NULL, max integer DEFAULT 100)
    RETURNS SETOF oms.inbound_message
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
DECLARE
    v_channel_id bigint;
    v_msg       record;
BEGIN
    IF channel IS NOT NULL THEN
        SELECT c.id INTO v_channel_id FROM oms.channel c WHERE c.code = replay_inbound.channel;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown channel "%"', channel USING ERRCODE = 'OM003';
        END IF;
    END IF;
    IF max IS NULL OR max < 1 OR max > 10000 THEN
        RAISE EXCEPTION 'max must be from 1 to 10000' USING ERRCODE = 'OM104';
    END IF;
    -- Oldest first, so that an order comes before its updates; a message
    -- another session replays right now is left to it.
    FOR v_msg IN
        SELECT m.channel_id, m.source_event_id
          FROM oms.inbound_message m
         WHERE m.outcome IN ('held', 'failed')
           AND (v_channel_id IS NULL OR m.channel_id = v_channel_id)
           AND (replay_inbound.source_event_id IS NULL OR m.source_event_id = replay_inbound.source_event_id)
         ORDER BY m.received_at, m.source_event_id
         LIMIT max
           FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE oms.inbound_message m SET attempts = m.attempts + 1
         WHERE m.channel_id = v_msg.channel_id AND m.source_event_id = v_msg.source_event_id;
        PERFORM oms.process_inbound(v_msg.channel_id, v_msg.source_event_id);
        RETURN QUERY SELECT * FROM oms.inbound_message m
                      WHERE m.channel_id = v_msg.channel_id AND m.source_event_id = v_msg.source_event_id;
    END LOOP;
END
$$;
COMMENT ON FUNCTION oms.replay_inbound(text, text, integer) IS
    'Processes held and failed inbound messages again, oldest first (of one channel, or one message, when given), once the mapping, the master data or the stock is fixed; returns each message as it is now.';

--
-- The connectors oms ships: transforms for three channel shapes.  Each
-- returns the canonical message (README, "Channel intake"); a payload that
-- is not of its shape, or has a value of the wrong type, makes the message
-- failed (OM101), with what is wrong.  PARALLEL UNSAFE: the block that turns
-- a bad value into OM101 is a subtransaction.
--

-- Raises OM101 for a payload a connector cannot read.
CREATE FUNCTION oms.connector_error(connector text, problem text, payload jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% payload %', connector, problem
        USING ERRCODE = 'OM101', DETAIL = format('The payload begins %s.', left(payload::text, 200));
END
$$;
COMMENT ON FUNCTION oms.connector_error(text, text, jsonb) IS
    'Internal to the shipped connectors: raises OM101 naming what a payload lacks.';

-- Sums a money field, named by its path, over the objects of a JSON array:
-- Shopify's tax_lines ("price") and discount_allocations ("amount"),
-- Amazon's items ("ShippingPrice", "Amount").
CREATE FUNCTION oms.json_sum(items jsonb, VARIADIC path text[])
    RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT coalesce(sum((i #>> path)::numeric), 0)
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(items) = 'array' THEN items ELSE '[]' END) i);
COMMENT ON FUNCTION oms.json_sum(jsonb, text[]) IS
    'Internal to the shipped connectors: the sum of one numeric field (a key, or a path of keys) over an array of objects (0 for none).';

--
-- Shopify order webhooks (orders/create, orders/updated, orders/cancelled)
-- and the REST order resource: unit prices, discounts as allocations to
-- lines, taxes per line, shipping lines.  An order from Shopify POS
-- (source_name "pos") is a store sale at its location_id, which the
-- connector's location_map names.
--
CREATE FUNCTION oms.connector_shopify(payload jsonb, topic text)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE
        WHEN coalesce(jsonb_typeof(payload->'id'), 'null') NOT IN ('number', 'string')
            THEN oms.connector_error('shopify', 'has no order "id"', payload)
        WHEN topic = 'order' AND jsonb_typeof(payload->'line_items') IS DISTINCT FROM 'array'
            THEN oms.connector_error('shopify', 'has no "line_items" array', payload)
        ELSE jsonb_strip_nulls(jsonb_build_object(
            'external_ref', payload->>'id',
            'updated_at', payload->>'updated_at',
            'cancelled', payload->>'cancelled_at' IS NOT NULL,
            'reason', payload->>'cancel_reason',
            'lines', (SELECT jsonb_agg(jsonb_build_object(
                            'sku', li->>'sku',
                            'qty', li->'quantity',
                            'unit_price', (li->>'price')::numeric,
                            'discount', CASE WHEN jsonb_typeof(li->'discount_allocations') = 'array'
                                             THEN oms.json_sum(li->'discount_allocations', 'amount')
                                             ELSE coalesce((li->>'total_discount')::numeric, 0) END,
                            'tax', oms.json_sum(li->'tax_lines', 'price'),
                            'external_line_id', li->>'id') ORDER BY n)
                        FROM jsonb_array_elements(payload->'line_items') WITH ORDINALITY AS e(li, n)
                       WHERE jsonb_typeof(payload->'line_items') = 'array'),
            'ship_to', CASE WHEN jsonb_typeof(payload->'shipping_address') = 'object' THEN jsonb_strip_nulls(jsonb_build_object(
                            'name', payload->'shipping_address'->'name',
                            'address1', payload->'shipping_address'->'address1',
                            'address2', payload->'shipping_address'->'address2',
                            'city', payload->'shipping_address'->'city',
                            'postal_code', payload->'shipping_address'->'zip',
                            'country', payload->'shipping_address'->'country_code',
                            'latitude', payload->'shipping_address'->'latitude',
                            'longitude', payload->'shipping_address'->'longitude')) END,
            'options', jsonb_strip_nulls(jsonb_build_object(
                            'currency', payload->'currency',
                            'customer', CASE WHEN payload ? 'email' OR payload ? 'customer' THEN jsonb_strip_nulls(jsonb_build_object(
                                            'email', payload->'email',
                                            'external_id', payload->'customer'->>'id')) END,
                            'prices_include_tax', payload->'taxes_included',
                            'shipping', CASE WHEN jsonb_typeof(payload->'shipping_lines') = 'array' THEN jsonb_build_object(
                                            'price', oms.json_sum(payload->'shipping_lines', 'price'),
                                            'tax', (SELECT coalesce(sum(oms.json_sum(s->'tax_lines', 'price')), 0)
                                                      FROM jsonb_array_elements(payload->'shipping_lines') s),
                                            'discount', (SELECT coalesce(sum(oms.json_sum(s->'discount_allocations', 'amount')), 0)
                                                           FROM jsonb_array_elements(payload->'shipping_lines') s)) END,
                            'total', (payload->>'total_price')::numeric,
                            'fulfilment', CASE WHEN payload->>'source_name' = 'pos' THEN 'store' END,
                            'location', CASE WHEN payload->>'source_name' = 'pos' THEN payload->>'location_id' END))))
    END;
EXCEPTION WHEN data_exception THEN
    RETURN oms.connector_error('shopify', 'has a value of the wrong type: ' || SQLERRM, payload);
END
$$;
COMMENT ON FUNCTION oms.connector_shopify(jsonb, text) IS
    'Connector for Shopify order webhooks and REST orders: maps one to the canonical message (a POS order becomes a store sale at its location_id).';

--
-- Amazon SP-API orders with their items (getOrder + getOrderItems in one
-- object: the order's fields and "OrderItems").  ItemPrice is the price of
-- all units of the item, not a unit price: when it does not divide into
-- whole cents the item becomes two lines of the same SKU whose unit prices
-- differ by a cent, so that the lines add up to ItemPrice exactly.
-- Fulfilled by Amazon (AFN) orders are recorded without oms stock.
--
CREATE FUNCTION oms.connector_amazon(payload jsonb, topic text)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE
        WHEN jsonb_typeof(payload->'AmazonOrderId') IS DISTINCT FROM 'string'
            THEN oms.connector_error('amazon', 'has no "AmazonOrderId"', payload)
        WHEN topic = 'order' AND jsonb_typeof(payload->'OrderItems') IS DISTINCT FROM 'array'
            THEN oms.connector_error('amazon', 'has no "OrderItems" array', payload)
        ELSE jsonb_strip_nulls(jsonb_build_object(
            'external_ref', payload->>'AmazonOrderId',
            'updated_at', payload->>'LastUpdateDate',
            'cancelled', payload->>'OrderStatus' = 'Canceled',
            'reason', CASE WHEN payload->>'OrderStatus' = 'Canceled' THEN 'cancelled on Amazon' END,
            'lines', (SELECT jsonb_agg(l.line ORDER BY e.n, p.part)
                        FROM jsonb_array_elements(payload->'OrderItems') WITH ORDINALITY AS e(item, n)
                       CROSS JOIN LATERAL (SELECT (e.item->>'QuantityOrdered')::integer AS qty,
                                                  coalesce((e.item->'ItemPrice'->>'Amount')::numeric, 0) AS price,
                                                  coalesce((e.item->'PromotionDiscount'->>'Amount')::numeric, 0) AS discount,
                                                  coalesce((e.item->'ItemTax'->>'Amount')::numeric, 0) AS tax) i
                       CROSS JOIN LATERAL (SELECT power(10::numeric, greatest(scale(i.price), 2)) AS unit) u
                       CROSS JOIN LATERAL (SELECT floor(i.price * u.unit / i.qty) AS base,
                                                  (i.price * u.unit - floor(i.price * u.unit / i.qty) * i.qty)::integer AS rest) c
                       CROSS JOIN LATERAL (VALUES
                            (1, i.qty - c.rest, round(c.base / u.unit, greatest(scale(i.price), 2))),
                            (2, c.rest, round((c.base + 1) / u.unit, greatest(scale(i.price), 2)))) AS p(part, qty, unit_price)
                       CROSS JOIN LATERAL (SELECT jsonb_build_object(
                            'sku', e.item->>'SellerSKU',
                            'qty', p.qty,
                            'unit_price', p.unit_price,
                            -- the first part takes its share of discount and tax rounded, the second the rest
                            'discount', CASE p.part WHEN 1 THEN round(i.discount * p.qty / i.qty, scale(i.price))
                                                    ELSE i.discount - round(i.discount * (i.qty - p.qty) / i.qty, scale(i.price)) END,
                            'tax', CASE p.part WHEN 1 THEN round(i.tax * p.qty / i.qty, scale(i.price))
                                               ELSE i.tax - round(i.tax * (i.qty - p.qty) / i.qty, scale(i.price)) END,
                            'external_line_id', e.item->>'OrderItemId') AS line) l
                       WHERE i.qty > 0 AND p.qty > 0),
            'ship_to', CASE WHEN jsonb_typeof(payload->'ShippingAddress') = 'object' THEN jsonb_strip_nulls(jsonb_build_object(
                            'name', payload->'ShippingAddress'->'Name',
                            'address1', payload->'ShippingAddress'->'AddressLine1',
                            'address2', payload->'ShippingAddress'->'AddressLine2',
                            'city', payload->'ShippingAddress'->'City',
                            'postal_code', payload->'ShippingAddress'->'PostalCode',
                            'country', payload->'ShippingAddress'->'CountryCode')) END,
            'options', jsonb_strip_nulls(jsonb_build_object(
                            'currency', payload->'OrderTotal'->'CurrencyCode',
                            'customer', CASE WHEN payload->'BuyerInfo' ? 'BuyerEmail'
                                             THEN jsonb_build_object('email', payload->'BuyerInfo'->'BuyerEmail') END,
                            'shipping', jsonb_build_object(
                                            'price', oms.json_sum(payload->'OrderItems', 'ShippingPrice', 'Amount'),
                                            'tax', oms.json_sum(payload->'OrderItems', 'ShippingTax', 'Amount'),
                                            'discount', oms.json_sum(payload->'OrderItems', 'ShippingDiscount', 'Amount')),
                            'total', (payload->'OrderTotal'->>'Amount')::numeric,
                            'fulfilment', CASE WHEN payload->>'FulfillmentChannel' = 'AFN' THEN 'marketplace' END))))
    END;
EXCEPTION WHEN data_exception THEN
    RETURN oms.connector_error('amazon', 'has a value of the wrong type: ' || SQLERRM, payload);
END
$$;
COMMENT ON FUNCTION oms.connector_amazon(jsonb, text) IS
    'Connector for Amazon SP-API orders with their OrderItems: ItemPrice is a line total, split into unit prices that add up exactly; AFN orders are marketplace-fulfilled.';

--
-- A store till's sale: already paid and handed over at the store, so the
-- units leave that store's stock at once and the order is delivered.
--   {"sale_id": "...", "store": "MUC-STORE", "sold_at": "...", "currency": "EUR",
--    "items": [{"sku": "...", "qty": 1, "price": 19.99, "discount": 0, "tax": 3.19}],
--    "total": 19.99}
-- Till prices include tax unless "prices_include_tax" is false.
--
CREATE FUNCTION oms.connector_pos(payload jsonb, topic text)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE
        WHEN coalesce(jsonb_typeof(payload->'sale_id'), 'null') NOT IN ('number', 'string')
            THEN oms.connector_error('pos', 'has no "sale_id"', payload)
        WHEN topic = 'order' AND (jsonb_typeof(payload->'items') IS DISTINCT FROM 'array'
                                  OR jsonb_typeof(payload->'store') IS DISTINCT FROM 'string')
            THEN oms.connector_error('pos', 'has no "items" array or no "store"', payload)
        ELSE jsonb_strip_nulls(jsonb_build_object(
            'external_ref', payload->>'sale_id',
            'updated_at', payload->>'sold_at',
            'cancelled', coalesce(payload->>'voided', 'false') = 'true',
            'lines', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                            'sku', it->'sku', 'qty', it->'qty', 'unit_price', it->'price',
                            'discount', it->'discount', 'tax', it->'tax', 'external_line_id', it->>'line_id')) ORDER BY n)
                        FROM jsonb_array_elements(payload->'items') WITH ORDINALITY AS e(it, n)
                       WHERE jsonb_typeof(payload->'items') = 'array'),
            'options', jsonb_strip_nulls(jsonb_build_object(
                            'currency', payload->'currency',
                            'customer', payload->'customer',
                            'prices_include_tax', coalesce(payload->'prices_include_tax', 'true'),
                            'total', payload->'total',
                            'fulfilment', 'store',
                            'location', payload->'store'))))
    END;
EXCEPTION WHEN data_exception THEN
    RETURN oms.connector_error('pos', 'has a value of the wrong type: ' || SQLERRM, payload);
END
$$;
COMMENT ON FUNCTION oms.connector_pos(jsonb, text) IS
    'Connector for store till sales: the sale becomes an order delivered at the store, its units taken from that store''s stock.';
