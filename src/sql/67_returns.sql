--
-- Returns (RMA): shipped units that come back, once (README, "Returns").
--
-- A return belongs to its order and is keyed by order_id first, as every row
-- of an order is (design.md, "One key per aggregate"): the return, its lines,
-- its receipts and its idempotency keys.  The functions take a return_id
-- alone; oms.return_ref finds its order with one probe of its own key.  No
-- foreign keys: oms.check_invariants() finds rows without their return.
-- Only oms functions write these tables; master data (reasons, policies) is
-- the admin's.
--

--
-- Master data: why customers return, and each channel's policy.
--
CREATE SEQUENCE oms.return_reason_id_seq AS bigint;
CREATE TABLE oms.return_reason (
    id              bigint PRIMARY KEY DEFAULT nextval('oms.return_reason_id_seq'),
    code            text NOT NULL UNIQUE,
    label           text NOT NULL,
    resellable      boolean NOT NULL DEFAULT true,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT return_reason_code_check CHECK (code <> '' AND code = btrim(code) AND length(code) <= 100),
    CONSTRAINT return_reason_label_check CHECK (btrim(label) <> '')
);
ALTER SEQUENCE oms.return_reason_id_seq OWNED BY oms.return_reason.id;
COMMENT ON TABLE oms.return_reason IS 'Why a customer returns an item: the codes request_return''s lines name.';
COMMENT ON COLUMN oms.return_reason.code IS 'Business key the API takes: non-empty, no surrounding blanks, at most 100 characters.';
COMMENT ON COLUMN oms.return_reason.label IS 'What people read.';
COMMENT ON COLUMN oms.return_reason.resellable IS 'Whether an item returned for this reason is expected back in sellable condition (a hint for the warehouse; the receipt''s disposition decides).';
COMMENT ON COLUMN oms.return_reason.active IS 'An inactive reason is refused for new returns.';
COMMENT ON COLUMN oms.return_reason.id IS 'The reason''s id, which return lines keep (reason_id).';
COMMENT ON COLUMN oms.return_reason.created_at IS 'When the reason was added.';

CREATE TABLE oms.return_policy (
    channel_id      bigint PRIMARY KEY REFERENCES oms.channel (id) ON DELETE CASCADE,
    window_days     integer NOT NULL DEFAULT 30,
    restocking_fee_pct numeric NOT NULL DEFAULT 0,
    refund_shipping text NOT NULL DEFAULT 'never',
    refund_on       text NOT NULL DEFAULT 'receipt',
    authorization_required boolean NOT NULL DEFAULT false,
    exchange_reserve text NOT NULL DEFAULT 'on_request',
    expire_days     integer,
    CONSTRAINT return_policy_expire_days_check CHECK (expire_days BETWEEN 1 AND 3650),
    CONSTRAINT return_policy_window_days_check CHECK (window_days BETWEEN 0 AND 3650),
    CONSTRAINT return_policy_restocking_fee_pct_check CHECK (restocking_fee_pct BETWEEN 0 AND 100),
    CONSTRAINT return_policy_refund_shipping_check CHECK (refund_shipping IN ('never', 'full_return', 'always')),
    CONSTRAINT return_policy_refund_on_check CHECK (refund_on IN ('receipt', 'request')),
    CONSTRAINT return_policy_exchange_reserve_check CHECK (exchange_reserve IN ('on_request', 'on_receipt'))
);
COMMENT ON TABLE oms.return_policy IS 'How a channel takes returns; a channel without a row takes the defaults (30 days, no fee, shipping never refunded, refund on receipt, authorized automatically).';
COMMENT ON COLUMN oms.return_policy.channel_id IS 'The channel the policy is for; one policy per channel (removed with it).';
COMMENT ON COLUMN oms.return_policy.window_days IS 'Days a unit may be returned, counted from its delivery scan, or from its shipment when there is none (from placement for an order that never shipped as a parcel, e.g. a till sale).';
COMMENT ON COLUMN oms.return_policy.restocking_fee_pct IS 'Percentage (0 to 100) of the refundable value of returned units kept as a restocking fee.';
COMMENT ON COLUMN oms.return_policy.refund_shipping IS 'never | full_return (shipping refunded when every shipped unit of the order comes back) | always.';
COMMENT ON COLUMN oms.return_policy.refund_on IS 'receipt (refund units once received) | request (refund requested units at once).';
COMMENT ON COLUMN oms.return_policy.authorization_required IS 'true: a return waits in requested until oms.authorize_return; false: request_return authorizes it at once.';
COMMENT ON COLUMN oms.return_policy.expire_days IS 'Days an authorized return waits for its parcel: past them, with nothing received, oms.expire_returns() expires it; NULL never.';
COMMENT ON COLUMN oms.return_policy.exchange_reserve IS 'When an exchange''s replacement order is placed: on_request or on_receipt.';

CREATE TRIGGER master_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.return_reason
    FOR EACH STATEMENT EXECUTE FUNCTION oms.master_changed();
CREATE TRIGGER master_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oms.return_policy
    FOR EACH STATEMENT EXECUTE FUNCTION oms.master_changed();
-- A reason that return lines name is deactivated, not deleted (as SKUs are).
CREATE TRIGGER master_delete_guard BEFORE DELETE ON oms.return_reason
    FOR EACH ROW EXECUTE FUNCTION oms.master_delete_guard();

--
-- The return: one row per RMA of an order.
--
CREATE SEQUENCE oms.return_id_seq AS bigint;
CREATE TABLE oms.returns (
    order_id        bigint NOT NULL,
    return_id       bigint NOT NULL DEFAULT nextval('oms.return_id_seq'),
    kind            text NOT NULL DEFAULT 'return',
    status          text NOT NULL DEFAULT 'requested',
    resolution      text,
    return_location_id bigint,
    replacement_order_id bigint,
    idempotency_key text,
    window_days     integer NOT NULL,
    policy_overridden boolean NOT NULL DEFAULT false,
    restocking_fee_pct numeric NOT NULL DEFAULT 0,
    refund_shipping text NOT NULL DEFAULT 'never',
    refund_on       text NOT NULL DEFAULT 'receipt',
    refund_status   text NOT NULL DEFAULT 'none',
    refund_amount   oms.amount NOT NULL DEFAULT 0,
    restocking_fee  oms.amount NOT NULL DEFAULT 0,
    shipping_refund oms.amount NOT NULL DEFAULT 0,
    options         jsonb NOT NULL DEFAULT '{}',
    status_reason   text,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    authorized_at   timestamptz,
    received_at     timestamptz,
    completed_at    timestamptz,
    closed_at       timestamptz,
    expires_at      timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL,
    PRIMARY KEY (order_id, return_id),
    CONSTRAINT returns_kind_check CHECK (kind IN ('return', 'exchange', 'claim')),
    CONSTRAINT returns_status_check CHECK (
        status IN ('requested', 'authorized', 'partially_received', 'received', 'completed',
                   'declined', 'cancelled', 'expired')),
    CONSTRAINT returns_resolution_check CHECK (
        CASE kind WHEN 'claim' THEN resolution IN ('refund', 'replace')
                  WHEN 'exchange' THEN resolution = 'exchange'
                  ELSE resolution = 'refund' END),
    CONSTRAINT returns_refund_status_check CHECK (refund_status IN ('none', 'pending', 'partial', 'refunded')),
    CONSTRAINT returns_policy_check CHECK (
        window_days >= 0 AND restocking_fee_pct BETWEEN 0 AND 100
        AND refund_shipping IN ('never', 'full_return', 'always') AND refund_on IN ('receipt', 'request'))
);
CREATE INDEX returns_expires_idx ON oms.returns (expires_at) WHERE status = 'authorized';
-- The worker's round finds the replace claims waiting for their replacement to ship.
CREATE INDEX returns_replace_claims_idx ON oms.returns (order_id)
    WHERE kind = 'claim' AND resolution = 'replace' AND status IN ('authorized', 'partially_received', 'received');
COMMENT ON TABLE oms.returns IS 'One row per return (RMA) of an order: what kind, where the parcel goes back, its status and the policy it was requested under.  Written only by the oms return functions.';
COMMENT ON COLUMN oms.returns.return_id IS 'The return''s id (unique over all orders; oms.return_ref maps it to its order).';
COMMENT ON COLUMN oms.returns.order_id IS 'The order the returned units were shipped for; the first column of every key of the return''s rows.';
COMMENT ON COLUMN oms.returns.kind IS 'return (units come back for a refund) | exchange (units come back for replacement goods) | claim (a parcel lost or broken: nothing need come back).';
COMMENT ON COLUMN oms.returns.status IS 'requested | authorized | partially_received | received | completed | declined | cancelled | expired; oms.v_transitions lists the legal changes.';
COMMENT ON COLUMN oms.returns.resolution IS 'How the return is settled: refund (a return), exchange (an exchange), refund or replace (a claim, option resolution).';
COMMENT ON COLUMN oms.returns.return_location_id IS 'Where the parcel goes back (option return_location; default the location that shipped the first line); receipts may name another.';
COMMENT ON COLUMN oms.returns.replacement_order_id IS 'The replacement order of an exchange or a replace claim, once placed.';
COMMENT ON COLUMN oms.returns.idempotency_key IS 'The option idempotency_key the return was requested with, if any (oms.return_key holds the lookup).';
COMMENT ON COLUMN oms.returns.window_days IS 'The channel''s return window when the return was requested.';
COMMENT ON COLUMN oms.returns.policy_overridden IS 'true when an admin requested the return with option override_policy (the window was not applied).';
COMMENT ON COLUMN oms.returns.restocking_fee_pct IS 'The channel''s restocking fee percentage when the return was requested (frozen: a later policy change does not alter it).';
COMMENT ON COLUMN oms.returns.refund_shipping IS 'The channel''s shipping refund rule when the return was requested: never | full_return | always.';
COMMENT ON COLUMN oms.returns.refund_on IS 'The channel''s refund basis when the return was requested: receipt | request.';
COMMENT ON COLUMN oms.returns.refund_status IS 'none | pending | partial | refunded: how far the return''s money has been refunded.';
COMMENT ON COLUMN oms.returns.refund_amount IS 'Money refunded for this return so far, in the order''s currency (fee and shipping included).';
COMMENT ON COLUMN oms.returns.restocking_fee IS 'Restocking fee kept back from the refund.';
COMMENT ON COLUMN oms.returns.shipping_refund IS 'Shipping refunded with this return.';
COMMENT ON COLUMN oms.returns.options IS 'The options the return was requested with (exchange lines among them).';
COMMENT ON COLUMN oms.returns.status_reason IS 'The reason given when the return was declined, cancelled or closed.';
COMMENT ON COLUMN oms.returns.requested_at IS 'When the return was requested.';
COMMENT ON COLUMN oms.returns.authorized_at IS 'When the return was authorized (at once unless the policy wants an authorization), or NULL.';
COMMENT ON COLUMN oms.returns.received_at IS 'When units of the return were last received.';
COMMENT ON COLUMN oms.returns.completed_at IS 'When the return reached completed.';
COMMENT ON COLUMN oms.returns.closed_at IS 'When the return was ended short of its units arriving: declined, cancelled, expired, or closed by oms.close_return with units missing (a return closed with every unit in has none).';
COMMENT ON COLUMN oms.returns.expires_at IS 'When an authorized return with nothing received expires (authorized_at + the policy''s expire_days); NULL never.';
COMMENT ON COLUMN oms.returns.updated_at IS 'When the return last changed status.';
COMMENT ON COLUMN oms.returns.created_by IS 'The role that requested the return.';

CREATE TABLE oms.return_ref (
    return_id       bigint PRIMARY KEY,
    order_id        bigint NOT NULL
);
COMMENT ON TABLE oms.return_ref IS 'Which order a return belongs to, keyed by return_id: the functions that take a return_id find its order with one probe (a reference keyed on its own id, as oms.order_ref is).';
COMMENT ON COLUMN oms.return_ref.return_id IS 'The return''s id (oms.returns.return_id).';
COMMENT ON COLUMN oms.return_ref.order_id IS 'The order the return belongs to.';

CREATE TABLE oms.return_line (
    order_id        bigint NOT NULL,
    return_id       bigint NOT NULL,
    line_no         integer NOT NULL,
    sku_id          bigint NOT NULL,
    reason_id       bigint,
    note            text,
    qty_requested   oms.quantity NOT NULL,
    qty_received    oms.units NOT NULL DEFAULT 0,
    qty_restocked   oms.units NOT NULL DEFAULT 0,
    qty_damaged     oms.units NOT NULL DEFAULT 0,
    qty_written_off oms.units NOT NULL DEFAULT 0,
    qty_quarantined oms.units NOT NULL DEFAULT 0,
    qty_missing     oms.units NOT NULL DEFAULT 0,
    qty_refunded    oms.units NOT NULL DEFAULT 0,
    unit_amount     oms.amount NOT NULL DEFAULT 0,
    refund_amount   oms.amount NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, return_id, line_no),
    CONSTRAINT return_line_check CHECK (
        qty_received + qty_missing <= qty_requested
        AND qty_restocked + qty_damaged + qty_written_off + qty_quarantined = qty_received
        AND qty_refunded <= qty_requested)
);
COMMENT ON TABLE oms.return_line IS 'Units of one order line in a return (line_no is the order line''s), and what became of them.';
COMMENT ON COLUMN oms.return_line.order_id IS 'The order of the return.';
COMMENT ON COLUMN oms.return_line.return_id IS 'The return the units are in.';
COMMENT ON COLUMN oms.return_line.line_no IS 'The order line the units belong to (oms.order_lines.line_no).';
COMMENT ON COLUMN oms.return_line.sku_id IS 'The SKU of the order line.';
COMMENT ON COLUMN oms.return_line.note IS 'The customer''s note on the line, or NULL.';
COMMENT ON COLUMN oms.return_line.qty_requested IS 'Units the customer sends back (at most the line''s returnable units when requested).';
COMMENT ON COLUMN oms.return_line.qty_received IS 'Units received so far: qty_restocked + qty_damaged + qty_written_off + qty_quarantined.';
COMMENT ON COLUMN oms.return_line.qty_restocked IS 'Units received back into on_hand (ledger kind return), sellable again; includes quarantined units restocked later.';
COMMENT ON COLUMN oms.return_line.qty_damaged IS 'Units received damaged: recorded, never sellable.';
COMMENT ON COLUMN oms.return_line.qty_written_off IS 'Units received and written off (includes quarantined units written off later).';
COMMENT ON COLUMN oms.return_line.qty_quarantined IS 'Units received and kept apart until an operator restocks or writes them off (oms.release_quarantine).';
COMMENT ON COLUMN oms.return_line.qty_missing IS 'Units that will never arrive (oms.close_return): not returned.';
COMMENT ON COLUMN oms.return_line.qty_refunded IS 'Units refunded so far.';
COMMENT ON COLUMN oms.return_line.unit_amount IS 'What the customer paid for one unit, frozen at request, never more: the order line''s total (qty * unit_price - discount_amount, plus tax_amount unless prices include tax) less its share of orders.order_discount (in proportion to the line nets), divided by qty and rounded down to 4 places; qty units are worth at most what the line was paid (the refund''s basis).';
COMMENT ON COLUMN oms.return_line.refund_amount IS 'Money refunded for this line so far.';
COMMENT ON COLUMN oms.return_line.reason_id IS 'The oms.return_reason given, or NULL.';

CREATE SEQUENCE oms.return_receipt_id_seq AS bigint;
CREATE TABLE oms.return_receipt (
    order_id        bigint NOT NULL,
    id              bigint NOT NULL DEFAULT nextval('oms.return_receipt_id_seq'),
    return_id       bigint NOT NULL,
    line_no         integer NOT NULL,
    sku_id          bigint NOT NULL,
    qty             oms.quantity NOT NULL,
    disposition     text NOT NULL,
    location_id     bigint NOT NULL,
    from_quarantine boolean NOT NULL DEFAULT false,
    movement_id     bigint,
    idempotency_key text,
    note            text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL,
    PRIMARY KEY (order_id, id),
    CONSTRAINT return_receipt_check CHECK (
        disposition IN ('restock', 'damaged', 'write_off', 'quarantine')
        AND (movement_id IS NOT NULL) = (disposition = 'restock')
        AND NOT (from_quarantine AND disposition NOT IN ('restock', 'write_off')))
);
CREATE INDEX return_receipt_return_idx ON oms.return_receipt (order_id, return_id);
COMMENT ON TABLE oms.return_receipt IS 'One row per receipt of returned units of a return line, with its disposition and location; a row from_quarantine restocks or writes off units received into quarantine before.';
COMMENT ON COLUMN oms.return_receipt.order_id IS 'The order of the return.';
COMMENT ON COLUMN oms.return_receipt.id IS 'The receipt''s id, in the order it was recorded.';
COMMENT ON COLUMN oms.return_receipt.return_id IS 'The return the units came back for.';
COMMENT ON COLUMN oms.return_receipt.line_no IS 'The order line (and return line) of the units.';
COMMENT ON COLUMN oms.return_receipt.sku_id IS 'The SKU of the units.';
COMMENT ON COLUMN oms.return_receipt.qty IS 'Units received (or, from_quarantine, released).';
COMMENT ON COLUMN oms.return_receipt.location_id IS 'Where the units arrived (for a release from quarantine: where they were kept, and restocked).';
COMMENT ON COLUMN oms.return_receipt.note IS 'The warehouse''s note on the receipt, or NULL.';
COMMENT ON COLUMN oms.return_receipt.received_at IS 'When the receipt was recorded.';
COMMENT ON COLUMN oms.return_receipt.created_by IS 'The role that recorded the receipt.';
COMMENT ON COLUMN oms.return_receipt.disposition IS 'restock (back into on_hand at location_id, ledger kind return) | damaged | write_off | quarantine (kept apart).';
COMMENT ON COLUMN oms.return_receipt.from_quarantine IS 'true: an operator released quarantined units (oms.release_quarantine) rather than a parcel arriving; location_id is where they were kept in quarantine (and restocked).';
COMMENT ON COLUMN oms.return_receipt.movement_id IS 'The oms.stock_movement row (of sku_id) that put restocked units back into on_hand; NULL for other dispositions.';
COMMENT ON COLUMN oms.return_receipt.idempotency_key IS 'The key of the oms.receive_return (or, from_quarantine, oms.release_quarantine) call that recorded it, if any.';

CREATE TABLE oms.return_key (
    order_id        bigint NOT NULL,
    operation       text NOT NULL,
    idempotency_key text NOT NULL,
    return_id       bigint NOT NULL,
    payload_hash    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, operation, idempotency_key),
    CONSTRAINT return_key_operation_check CHECK (operation IN ('request', 'receive', 'release', 'refund')),
    CONSTRAINT return_key_idempotency_key_check CHECK (
        idempotency_key <> '' AND idempotency_key = btrim(idempotency_key) AND length(idempotency_key) <= 200)
);
COMMENT ON TABLE oms.return_key IS 'Idempotency keys of the return functions, per order: the same key again returns the first call''s result; with other contents it is an error (OM161).';
COMMENT ON COLUMN oms.return_key.order_id IS 'The order the key was used on: keys are per order.';
COMMENT ON COLUMN oms.return_key.idempotency_key IS 'The key as the caller gave it: 1 to 200 characters without surrounding blanks.';
COMMENT ON COLUMN oms.return_key.return_id IS 'The return the first call under the key requested, received or released units of.';
COMMENT ON COLUMN oms.return_key.created_at IS 'When the key was first used.';
COMMENT ON COLUMN oms.return_key.operation IS 'request (oms.request_return) | receive (oms.receive_return) | release (oms.release_quarantine) | refund.';
COMMENT ON COLUMN oms.return_key.payload_hash IS 'A digest of the call''s arguments, to tell a replay from a different call under the same key.';

SELECT pg_catalog.pg_extension_config_dump('oms.return_reason', '');
SELECT pg_catalog.pg_extension_config_dump('oms.return_reason_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.return_policy', '');
SELECT pg_catalog.pg_extension_config_dump('oms.returns', '');
SELECT pg_catalog.pg_extension_config_dump('oms.return_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.return_ref', '');
SELECT pg_catalog.pg_extension_config_dump('oms.return_line', '');
SELECT pg_catalog.pg_extension_config_dump('oms.return_receipt', '');
SELECT pg_catalog.pg_extension_config_dump('oms.return_receipt_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('oms.return_key', '');

--
-- Statuses: legal changes, guarded by the C trigger; every change is an
-- event of entity return (entity_id the return_id).
--
INSERT INTO oms.transition (entity, from_status, to_status)
SELECT 'return', f, t FROM (VALUES
    (NULL, 'requested'),
    ('requested', 'authorized'), ('requested', 'declined'), ('requested', 'cancelled'), ('requested', 'expired'),
    ('authorized', 'partially_received'), ('authorized', 'received'), ('authorized', 'completed'),
    ('authorized', 'cancelled'), ('authorized', 'expired'),
    ('partially_received', 'received'), ('partially_received', 'completed'),
    ('received', 'completed')) AS v(f, t);

CREATE TRIGGER transition_guard BEFORE UPDATE ON oms.returns
    FOR EACH ROW EXECUTE FUNCTION oms.transition_guard('return', 'status');
CREATE TRIGGER record_events AFTER UPDATE ON oms.returns
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION oms.record_events('return');

-- Units change only through the return functions (as on order lines, the
-- guard refuses any other change, even the owner's), and receipts, like the
-- ledger they match, are never changed or removed.
CREATE TRIGGER stock_guard BEFORE UPDATE OR DELETE ON oms.return_line
    FOR EACH ROW EXECUTE FUNCTION oms.stock_guard('qty_requested', 'qty_received', 'qty_restocked', 'qty_damaged',
                                                  'qty_written_off', 'qty_quarantined', 'qty_missing');
CREATE TRIGGER stock_guard_truncate BEFORE TRUNCATE ON oms.return_line
    FOR EACH STATEMENT EXECUTE FUNCTION oms.stock_guard();
CREATE TRIGGER ledger_guard BEFORE UPDATE OR DELETE ON oms.return_receipt
    FOR EACH ROW EXECUTE FUNCTION oms.ledger_guard();
CREATE TRIGGER ledger_guard_truncate BEFORE TRUNCATE ON oms.return_receipt
    FOR EACH STATEMENT EXECUTE FUNCTION oms.ledger_guard();

--
-- The functions.  SECURITY DEFINER: the app role calls them but writes none
-- of these tables, nor the stock and the ledger, directly.
--
CREATE FUNCTION oms.request_return(order_id bigint, lines jsonb, options jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_request_return';
COMMENT ON FUNCTION oms.request_return(bigint, jsonb, jsonb) IS
    'Requests a return of shipped units of an order ([{"line_no", "qty", "reason", "note"}]; options kind, resolution, return_location, exchange, idempotency_key, override_policy) and returns its id; each unit is returnable once.';

CREATE FUNCTION oms.authorize_return(return_id bigint)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_authorize_return';
COMMENT ON FUNCTION oms.authorize_return(bigint) IS
    'Authorizes a requested return: the customer may send the parcel.';

CREATE FUNCTION oms.decline_return(return_id bigint, reason text)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_decline_return';
COMMENT ON FUNCTION oms.decline_return(bigint, text) IS
    'Declines a requested return with a reason: its units are returnable again.';

CREATE FUNCTION oms.cancel_return(return_id bigint, reason text)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_cancel_return';
COMMENT ON FUNCTION oms.cancel_return(bigint, text) IS
    'Cancels a requested or authorized return of which nothing was received: its units are returnable again.';

CREATE FUNCTION oms.receive_return(return_id bigint, receipts jsonb, idempotency_key text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_receive_return';
COMMENT ON FUNCTION oms.receive_return(bigint, jsonb, text) IS
    'Records units of an authorized return that arrived ([{"line_no", "qty", "disposition", "location", "note"}]; dispositions restock, damaged, write_off, quarantine) and returns how many; restocked units go back into on_hand through the ledger (kind return) and to waiting backorders.  The same idempotency_key again receives nothing and returns the first call''s count.';

CREATE FUNCTION oms.close_return(return_id bigint, reason text)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_close_return';
COMMENT ON FUNCTION oms.close_return(bigint, text) IS
    'Completes an authorized or (partially) received return with a reason: units that have not arrived count as missing, not returned.  Returns the units missing.';

CREATE FUNCTION oms.release_quarantine(return_id bigint, line_no integer, qty integer, disposition text,
                                       location text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_release_quarantine';
COMMENT ON FUNCTION oms.release_quarantine(bigint, integer, integer, text, text, text) IS
    'Restocks (through the ledger, where they are kept) or writes off units of a return line kept in quarantine at location, which may be left out when the line keeps units at one location only; returns the units released.  The same idempotency_key again releases nothing and returns the first call''s count.';

--
-- For people and BI: one row per return line.
--
CREATE VIEW oms.v_returns AS
SELECT r.return_id,
       r.order_id,
       o.external_ref::text AS order_ref,
       c.code AS channel,
       r.kind,
       r.status,
       r.resolution,
       rl.line_no,
       s.code AS sku,
       rr.code AS reason,
       rl.note,
       rl.qty_requested::integer AS qty_requested,
       rl.qty_received::integer AS qty_received,
       rl.qty_restocked::integer AS qty_restocked,
       rl.qty_damaged::integer AS qty_damaged,
       rl.qty_written_off::integer AS qty_written_off,
       rl.qty_quarantined::integer AS qty_quarantined,
       rl.qty_missing::integer AS qty_missing,
       CASE WHEN r.status IN ('requested', 'authorized', 'partially_received')
            THEN rl.qty_requested - rl.qty_received - rl.qty_missing ELSE 0 END::integer AS qty_expected,
       rl.unit_amount::numeric AS unit_amount,
       rl.qty_refunded::integer AS qty_refunded,
       rl.refund_amount::numeric AS refund_amount,
       o.currency::text AS currency,
       l.code AS return_location,
       r.replacement_order_id,
       r.requested_at,
       r.authorized_at,
       r.received_at,
       r.completed_at,
       r.closed_at
  FROM oms.return_line rl
  JOIN oms.returns r ON r.order_id = rl.order_id AND r.return_id = rl.return_id
  JOIN oms.orders o ON o.order_id = rl.order_id
  JOIN oms.channel c ON c.id = o.channel_id
  JOIN oms.sku s ON s.id = rl.sku_id
  LEFT JOIN oms.return_reason rr ON rr.id = rl.reason_id
  LEFT JOIN oms.location l ON l.id = r.return_location_id;
COMMENT ON VIEW oms.v_returns IS 'One row per return line: which units of which order come back, why, what became of them and when; plain types (integer, numeric, text, timestamptz), no domains.';
COMMENT ON COLUMN oms.v_returns.return_id IS 'The return (RMA) id.';
COMMENT ON COLUMN oms.v_returns.order_id IS 'The order the units came from.';
COMMENT ON COLUMN oms.v_returns.order_ref IS 'The channel''s reference of the order (external_ref).';
COMMENT ON COLUMN oms.v_returns.channel IS 'The code of the order''s channel.';
COMMENT ON COLUMN oms.v_returns.kind IS 'return | exchange | claim.';
COMMENT ON COLUMN oms.v_returns.status IS 'requested | authorized | partially_received | received | completed | declined | cancelled | expired.';
COMMENT ON COLUMN oms.v_returns.resolution IS 'refund | exchange | replace: how the return is settled.';
COMMENT ON COLUMN oms.v_returns.line_no IS 'The order line the units belong to.';
COMMENT ON COLUMN oms.v_returns.sku IS 'The SKU code of the line.';
COMMENT ON COLUMN oms.v_returns.reason IS 'The return reason code given, or NULL.';
COMMENT ON COLUMN oms.v_returns.note IS 'The customer''s note on the line, or NULL.';
COMMENT ON COLUMN oms.v_returns.qty_requested IS 'Units the customer sends back.';
COMMENT ON COLUMN oms.v_returns.qty_received IS 'Units received so far (restocked + damaged + written off + quarantined).';
COMMENT ON COLUMN oms.v_returns.qty_restocked IS 'Units back in on_hand, sellable.';
COMMENT ON COLUMN oms.v_returns.qty_damaged IS 'Units received damaged.';
COMMENT ON COLUMN oms.v_returns.qty_written_off IS 'Units written off.';
COMMENT ON COLUMN oms.v_returns.qty_quarantined IS 'Units kept apart until an operator restocks or writes them off.';
COMMENT ON COLUMN oms.v_returns.qty_missing IS 'Units that will never arrive (the return was closed without them).';
COMMENT ON COLUMN oms.v_returns.qty_expected IS 'Units still expected: requested - received - missing while the return is open, else 0.';
COMMENT ON COLUMN oms.v_returns.unit_amount IS 'What the customer paid for one unit (line total less its share of the order discount, per unit, rounded down), frozen at request.';
COMMENT ON COLUMN oms.v_returns.qty_refunded IS 'Units refunded so far.';
COMMENT ON COLUMN oms.v_returns.refund_amount IS 'Money refunded for the line so far, in currency.';
COMMENT ON COLUMN oms.v_returns.currency IS 'The order''s currency.';
COMMENT ON COLUMN oms.v_returns.return_location IS 'The location code the parcel goes back to, or NULL (a claim).';
COMMENT ON COLUMN oms.v_returns.replacement_order_id IS 'The replacement order of an exchange or replace claim, or NULL.';
COMMENT ON COLUMN oms.v_returns.requested_at IS 'When the return was requested.';
COMMENT ON COLUMN oms.v_returns.authorized_at IS 'When the return was authorized, or NULL.';
COMMENT ON COLUMN oms.v_returns.received_at IS 'When units of the return last arrived, or NULL.';
COMMENT ON COLUMN oms.v_returns.completed_at IS 'When the return was completed, or NULL.';
COMMENT ON COLUMN oms.v_returns.closed_at IS 'When the return was ended short of its units arriving (declined, cancelled, expired, closed by oms.close_return with units missing), or NULL.';

CREATE FUNCTION oms.expire_returns()
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
    AS 'MODULE_PATHNAME', 'oms_expire_returns';
COMMENT ON FUNCTION oms.expire_returns() IS
    'The worker''s round over returns: expires the authorized returns whose parcel did not come within the policy''s expire_days and that nothing settled in part (no refund, no replacement shipped): their units are returnable again; and completes the replace claims whose replacement order has shipped.  Returns the returns expired.  Orders another transaction holds wait for the next call.  Without the worker, call it from a scheduler.';
