--
-- Domains: the rules of single columns of the tables that every order writes.
--
-- PostgreSQL parses and plans a domain's check once per session and keeps it
-- in its type cache, but a table's CHECK constraints in every statement that
-- writes the table: parsing and planning them was a quarter of the CPU time of
-- oms.place_order (test/bench/README.md).  So on those tables a rule about one
-- column is its type, and only the rules that tie columns together remain
-- table constraints.
--

CREATE DOMAIN oms.units AS integer CHECK (VALUE >= 0);
COMMENT ON DOMAIN oms.units IS 'A number of units: 0 or more.';

CREATE DOMAIN oms.quantity AS integer CHECK (VALUE > 0);
COMMENT ON DOMAIN oms.quantity IS 'A number of units asked for, held or moved: 1 or more.';

CREATE DOMAIN oms.amount AS numeric CHECK (VALUE >= 0);
COMMENT ON DOMAIN oms.amount IS 'A price or total in the order''s currency: 0 or more.';

CREATE DOMAIN oms.currency AS text CHECK (VALUE ~ '^[A-Z]{3}$');
COMMENT ON DOMAIN oms.currency IS 'An ISO 4217 currency code, three capital letters.';

CREATE DOMAIN oms.reference AS text
    CHECK (VALUE <> '' AND VALUE = btrim(VALUE) AND length(VALUE) <= 200);
COMMENT ON DOMAIN oms.reference IS 'A caller''s reference (external_ref, hold_ref): 1 to 200 characters without surrounding blanks.';

CREATE DOMAIN oms.slot_count AS integer CHECK (VALUE BETWEEN 0 AND 256);
COMMENT ON DOMAIN oms.slot_count IS 'Slots a hot stock row is spread over: 0 (not hot) to 256.';

CREATE DOMAIN oms.order_status AS text
    CHECK (VALUE IN ('pending', 'reserved', 'backordered', 'on_hold', 'partially_shipped',
                     'shipped', 'delivered', 'cancelled', 'closed'));
COMMENT ON DOMAIN oms.order_status IS 'The status of an order; oms.v_transitions lists the legal changes.';

CREATE DOMAIN oms.line_status AS text
    CHECK (VALUE IN ('reserved', 'backordered', 'partially_shipped', 'shipped', 'delivered', 'cancelled'));
COMMENT ON DOMAIN oms.line_status IS 'The status of an order line; oms.v_transitions lists the legal changes.';

CREATE DOMAIN oms.reservation_state AS text CHECK (VALUE IN ('held', 'consumed', 'released'));
COMMENT ON DOMAIN oms.reservation_state IS 'held until the units ship (consumed) or go back to stock (released).';
CREATE DOMAIN oms.fulfilment AS text CHECK (VALUE IN ('merchant', 'store', 'marketplace'));
COMMENT ON DOMAIN oms.fulfilment IS 'Who fulfils an order: merchant (oms routes and ships it), store (sold at a till), marketplace (the marketplace ships it from its own stock).';
