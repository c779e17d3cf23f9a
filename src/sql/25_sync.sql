--
-- Bulk stock sync: the counts of an ERP or WMS for many SKUs at one location
-- in one call, with the meaning of oms.count_stock once per SKU (src/sync.c).
--
-- Like the other ledgered stock functions they run as the extension's owner
-- and record the calling role in the ledger.  They work on whole batches with
-- plans made for each call, so they keep the planner's defaults (sequential
-- scans and hash joins serve a hundred thousand rows best), with work_mem
-- for sorting and hashing that many in memory; jit = off, since compiling
-- would cost more than it saves on statements this simple.
--

CREATE FUNCTION oms.sync_stock(location text, counts jsonb, reason text DEFAULT NULL)
    RETURNS TABLE (sku text, outcome text, counted integer, on_hand_before integer,
                   on_hand_after integer, detail text)
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off SET work_mem = '64MB'
    AS 'MODULE_PATHNAME', 'oms_sync_stock';
COMMENT ON FUNCTION oms.sync_stock(text, jsonb, text) IS
    'Sets on_hand of many SKUs at a location to counts given as [{"sku": ..., "on_hand": ...}, ...], as oms.count_stock would one by one; rows it cannot apply (below reserved, unknown or repeated SKU, invalid on_hand) are reported, not applied. Returns a row for every count that created, increased, decreased or was not applied.';

CREATE FUNCTION oms.sync_stock_from(location text, source regclass, reason text DEFAULT NULL)
    RETURNS TABLE (sku text, outcome text, counted integer, on_hand_before integer,
                   on_hand_after integer, detail text)
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off SET work_mem = '64MB'
    AS 'MODULE_PATHNAME', 'oms_sync_stock_from';
COMMENT ON FUNCTION oms.sync_stock_from(text, regclass, text) IS
    'oms.sync_stock with the counts read from a table or view with columns sku and on_hand (an integer), e.g. a staging table loaded with COPY; read with the caller''s privileges.';
