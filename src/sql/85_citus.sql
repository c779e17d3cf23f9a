--
-- Scaling out with Citus (issue 15): oms.distribute() turns a running oms on
-- a Citus coordinator into a distributed one (README, "Scaling out with
-- Citus").
--
-- Master data becomes reference tables (a copy on every node); stock and its
-- ledger are distributed by sku_id, co-located; an order and every row under
-- it by order_id, co-located; idempotency keys by their own key.  Tables
-- whose keys do not include their aggregate's id yet (shipments, tracking,
-- payments, the outbox, holds, the available-to-promise feed, the reporting
-- rollups) stay plain tables of the coordinator, which every call goes
-- through.  The C code finds out per table whether Citus holds it
-- (src/citus.c) and never reads or writes a distributed table's local copy
-- directly.
--

-- What oms.distribute() makes of each table: placement is reference,
-- distributed or local (the coordinator's), key the distribution column,
-- colocate_with the table whose shards it shares.
CREATE FUNCTION oms.citus_layout()
    RETURNS TABLE (table_name text, placement text, key text, colocate_with text)
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM (VALUES
        -- master data: small, read by every order
        ('channel', 'reference', NULL, NULL),
        ('location', 'reference', NULL, NULL),
        ('channel_location', 'reference', NULL, NULL),
        ('sku', 'reference', NULL, NULL),
        ('transition', 'reference', NULL, NULL),
        ('routing_policy', 'reference', NULL, NULL),
        ('atp_policy', 'reference', NULL, NULL),
        ('return_reason', 'reference', NULL, NULL),
        ('return_policy', 'reference', NULL, NULL),
        ('channel_connector', 'reference', NULL, NULL),
        ('channel_sku', 'reference', NULL, NULL),
        -- stock and its ledger, by SKU
        ('stock', 'distributed', 'sku_id', NULL),
        ('stock_slot', 'distributed', 'sku_id', 'stock'),
        ('stock_movement', 'distributed', 'sku_id', 'stock'),
        -- cart holds: the lines with their stock rows (oms.stock_level reads
        -- them per row); the holds themselves, keyed by a text reference, a
        -- reference table
        ('hold_line', 'distributed', 'sku_id', 'stock'),
        ('hold', 'reference', NULL, NULL),
        -- an order and everything under it, by order
        ('orders', 'distributed', 'order_id', NULL),
        ('order_lines', 'distributed', 'order_id', 'orders'),
        ('reservation', 'distributed', 'order_id', 'orders'),
        ('order_event', 'distributed', 'order_id', 'orders'),
        ('returns', 'distributed', 'order_id', 'orders'),
        ('return_line', 'distributed', 'order_id', 'orders'),
        ('return_receipt', 'distributed', 'order_id', 'orders'),
        ('return_key', 'distributed', 'order_id', 'orders'),
        ('shipment', 'distributed', 'order_id', 'orders'),
        ('shipment_line', 'distributed', 'order_id', 'orders'),
        ('payment', 'distributed', 'order_id', 'orders'),
        ('tracking_event', 'distributed', 'shipment_id', NULL),
        -- idempotency and lookup keys, by their own key
        ('order_ref', 'distributed', 'channel_id', NULL),
        ('inbound_message', 'distributed', 'channel_id', 'order_ref'),
        ('return_ref', 'distributed', 'return_id', NULL)
    ) AS v(table_name, placement, key, colocate_with)
$$;
COMMENT ON FUNCTION oms.citus_layout() IS
    'Where oms.distribute() puts each oms table on Citus: reference, distributed by a key (co-located with another table), or left local on the coordinator when not listed.';

-- Every row of the table whose row type row_type is, read with one query:
-- in FROM, the table's rows as a function's, so that Citus plans the query
-- around it as a local one (oms.distribute() makes check_invariants() read
-- distributed tables this way).
CREATE FUNCTION oms.citus_read(row_type anyelement)
    RETURNS SETOF anyelement
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_type t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.typrelid
                    WHERE t.oid OPERATOR(pg_catalog.=) pg_catalog.pg_typeof(row_type)
                      AND c.relkind OPERATOR(pg_catalog.=) 'r'
                      AND c.relnamespace OPERATOR(pg_catalog.=) 'oms'::pg_catalog.regnamespace) THEN
        RAISE EXCEPTION 'oms.citus_read() reads oms tables only, not %', pg_catalog.pg_typeof(row_type)
            USING ERRCODE = 'OM185', HINT = 'Pass NULL::oms.<table>.';
    END IF;
    RETURN QUERY EXECUTE format('SELECT * FROM %s', pg_catalog.pg_typeof(row_type));
END
$$;
COMMENT ON FUNCTION oms.citus_read(anyelement) IS
    'Every row of the oms table whose row type the argument has (NULL::oms.orders): what oms.check_invariants() reads distributed tables through on Citus.';

-- What check_invariants() compares the available-to-promise feed with on
-- Citus, where the feed does not run yet: nothing.
CREATE FUNCTION oms.citus_atp_skipped(skus bigint[], at timestamptz)
    RETURNS TABLE (sku_id bigint, channel_id bigint, units integer, available integer, threshold integer,
                   level text)
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NULL::bigint, NULL::bigint, NULL::integer, NULL::integer, NULL::integer, NULL::text WHERE false
$$;
COMMENT ON FUNCTION oms.citus_atp_skipped(bigint[], timestamptz) IS
    'No rows: stands for oms.atp_compute in check_invariants() on Citus, where the available-to-promise feed does not run yet.';

-- Refuses, with its own SQLSTATE, when this server is no Citus coordinator.
CREATE FUNCTION oms.distribute(shard_count integer DEFAULT 32)
    RETURNS TABLE (table_name text, placement text, key text, colocate_with text, shards bigint)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    fk record;
    v_rel regclass;
    v_group integer;
    v_stmt text;
    v_def text;
    v_tables text;
BEGIN
    IF shard_count IS NULL OR shard_count < 1 OR shard_count > 64000 THEN
        RAISE EXCEPTION 'shard_count must be from 1 to 64000, not %', shard_count
            USING ERRCODE = 'OM183';
    END IF;
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL
       OR NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in this database'
            USING ERRCODE = 'OM180',
                  DETAIL = 'oms.distribute() distributes oms''s tables with Citus.',
                  HINT = 'Load citus (shared_preload_libraries), CREATE EXTENSION citus, add the worker nodes, then call oms.distribute() on the coordinator.';
    END IF;
    EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO v_group;
    IF v_group IS DISTINCT FROM 0 THEN
        RAISE EXCEPTION 'oms.distribute() runs on the Citus coordinator, and this node is a worker (group %)', v_group
            USING ERRCODE = 'OM181',
                  HINT = 'Connect to the coordinator.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user AND rolsuper) THEN
        RAISE EXCEPTION 'oms.distribute() needs a superuser'
            USING ERRCODE = 'OM182',
                  DETAIL = 'Citus changes the tables, triggers and sequences of the extension on every node.';
    END IF;

    -- Triggers of oms's tables run on the shards (Citus refuses them otherwise);
    -- one connection per node, so reference tables and co-located tables can
    -- be created and filled in one transaction.
    SET LOCAL citus.enable_unsafe_triggers = on;
    SET LOCAL citus.multi_shard_modify_mode = 'sequential';
    SET LOCAL citus.propagate_set_commands = 'local';

    -- Foreign keys between tables that become Citus tables make Citus convert
    -- the tables linked to them as well (and fail); oms checks those links
    -- itself (check_invariants, master_delete_guard).  Dropped on every node:
    -- the workers' copies of the extension's tables have them too.
    FOR fk IN
        SELECT c.conname, c.conrelid::regclass AS rel
          FROM pg_catalog.pg_constraint c
          JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) c.conrelid
          JOIN pg_catalog.pg_class f ON f.oid OPERATOR(pg_catalog.=) c.confrelid
         WHERE c.contype OPERATOR(pg_catalog.=) 'f'
           AND r.relnamespace OPERATOR(pg_catalog.=) 'oms'::regnamespace
           AND (r.relname IN (SELECT l.table_name FROM oms.citus_layout() l)
                OR f.relname IN (SELECT l.table_name FROM oms.citus_layout() l))
    LOOP
        v_stmt := format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', fk.rel, fk.conname);
        EXECUTE v_stmt;
        PERFORM run_command_on_workers(v_stmt);
    END LOOP;

    -- Shipments, their lines and payments key on their own id on one node;
    -- Citus needs the order in every key of a table distributed by it.
    -- provider_ref becomes unique per order (record_payment still finds a
    -- repeated one by itself first).
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                    WHERE p.logicalrelid OPERATOR(pg_catalog.=) 'oms.shipment'::pg_catalog.regclass) THEN
        ALTER TABLE oms.shipment DROP CONSTRAINT shipment_pkey, ADD PRIMARY KEY (order_id, id);
        CREATE INDEX shipment_id_idx ON oms.shipment (id);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                    WHERE p.logicalrelid OPERATOR(pg_catalog.=) 'oms.shipment_line'::pg_catalog.regclass) THEN
        ALTER TABLE oms.shipment_line DROP CONSTRAINT shipment_line_pkey,
            ADD PRIMARY KEY (order_id, shipment_id, line_no);
        CREATE INDEX shipment_line_shipment_idx ON oms.shipment_line (shipment_id);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                    WHERE p.logicalrelid OPERATOR(pg_catalog.=) 'oms.payment'::pg_catalog.regclass) THEN
        ALTER TABLE oms.payment DROP CONSTRAINT payment_pkey, ADD PRIMARY KEY (order_id, id);
        CREATE INDEX payment_id_idx ON oms.payment (id);
        DROP INDEX oms.payment_provider_ref_key;
        CREATE UNIQUE INDEX payment_provider_ref_key ON oms.payment (order_id, provider_ref)
            WHERE provider_ref IS NOT NULL;
        CREATE INDEX payment_provider_ref_idx ON oms.payment (provider_ref) WHERE provider_ref IS NOT NULL;
    END IF;

    -- Citus copies the rows into the shards: a move, not a change, so no
    -- trigger fires for it (on the workers too: SET LOCAL reaches them).
    SET LOCAL session_replication_role = replica;
    FOR t IN SELECT * FROM oms.citus_layout() l ORDER BY l.placement DESC, l.colocate_with NULLS FIRST LOOP
        v_rel := pg_catalog.to_regclass('oms.' || t.table_name);
        CONTINUE WHEN v_rel IS NULL;
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) v_rel);
        IF t.placement = 'reference' THEN
            PERFORM create_reference_table(v_rel);
        ELSE
            PERFORM create_distributed_table(v_rel, t.key,
                        shard_count => CASE WHEN t.colocate_with IS NULL THEN shard_count END,
                        colocate_with => coalesce('oms.' || t.colocate_with, 'none'));
        END IF;
        -- Citus copied the rows into the shards; the coordinator's own copy
        -- must be empty, since nothing reads it any more (the guards' TRUNCATE
        -- triggers stand aside under the replica role).
        PERFORM truncate_local_data_after_distributing_table(v_rel);
    END LOOP;
    SET LOCAL session_replication_role = origin;

    -- Ids come from the coordinator's sequences (Citus evaluates a default
    -- there); a row written on a worker takes an id from a range of its own
    -- node: group g starts at g * 2^48.
    FOR t IN
        SELECT s.relname AS table_name FROM pg_catalog.pg_class s
         WHERE s.relkind OPERATOR(pg_catalog.=) 'S' AND s.relnamespace OPERATOR(pg_catalog.=) 'oms'::regnamespace
    LOOP
        PERFORM run_command_on_workers(format(
            'SELECT pg_catalog.setval(%L, greatest((SELECT last_value FROM oms.%I),'
            ' (SELECT groupid::bigint << 48 FROM pg_catalog.pg_dist_local_group)))',
            'oms.' || t.table_name, t.table_name));
    END LOOP;

    -- check_invariants() aggregates each table, then joins; Citus joins only
    -- co-located tables by their key.  Here it reads every distributed
    -- table through oms.citus_read(), whole, so the joins run on the
    -- coordinator.  ALTER EXTENSION oms UPDATE puts the single-node
    -- definition back: run oms.distribute() again after it.
    v_def := pg_catalog.pg_get_functiondef('oms.check_invariants()'::pg_catalog.regprocedure);
    IF pg_catalog.strpos(v_def, 'oms.citus_read(') = 0 THEN
        SELECT pg_catalog.string_agg(l.table_name, '|') INTO v_tables
          FROM oms.citus_layout() l WHERE l.placement = 'distributed';
        v_def := pg_catalog.regexp_replace(v_def,
                     'oms\.(' || v_tables || ')\M(\s+)(?!(?:WHERE|GROUP|ORDER|ON|JOIN|LEFT|RIGHT|FULL|INNER|CROSS|'
                     'UNION|LIMIT|USING|HAVING|WINDOW|OFFSET|EXCEPT|INTERSECT)\M)([a-z_][a-z0-9_]*)',
                     'oms.citus_read(NULL::oms_citus_read.\1)\2\3', 'g');
        v_def := pg_catalog.regexp_replace(v_def, 'oms\.(' || v_tables || ')\M(?![,''(])',
                     'oms.citus_read(NULL::oms_citus_read.\1) AS \1', 'g');
        -- The available-to-promise feed does not run on Citus yet (README):
        -- its invariant compares against nothing there.
        v_def := pg_catalog.replace(v_def, 'oms.atp_compute(', 'oms.citus_atp_skipped(');
        EXECUTE pg_catalog.replace(v_def, 'oms_citus_read.', 'oms.');
    END IF;

    -- oms.stock_level reads a stock row's slots and hold lines in correlated
    -- subqueries, which Citus refuses; on Citus it joins their sums by the
    -- SKU, which Citus runs on each shard.  Same columns, same figures.
    IF pg_catalog.strpos(pg_catalog.pg_get_viewdef('oms.stock_level'::pg_catalog.regclass), 'LATERAL') > 0 THEN
        CREATE OR REPLACE VIEW oms.stock_level AS
        SELECT st.sku_id,
               st.location_id,
               st.on_hand,
               st.reserved + coalesce(sl.reserved, 0) AS reserved,
               coalesce(hl.held, 0) AS held,
               st.safety_stock,
               st.slots,
               st.on_hand - st.reserved - coalesce(sl.reserved, 0) - coalesce(hl.held, 0) - st.safety_stock AS free
          FROM oms.stock st
          LEFT JOIN (SELECT s.sku_id, s.location_id, sum(s.reserved)::integer AS reserved
                       FROM oms.stock_slot s GROUP BY s.sku_id, s.location_id) sl
            ON sl.sku_id = st.sku_id AND sl.location_id = st.location_id
          LEFT JOIN (SELECT h.sku_id, h.location_id, sum(h.qty)::integer AS held
                       FROM oms.hold_line h WHERE h.expires_at > now() GROUP BY h.sku_id, h.location_id) hl
            ON hl.sku_id = st.sku_id AND hl.location_id = st.location_id;
    END IF;

    PERFORM oms.citus_forget();
    RETURN QUERY
        SELECT l.table_name, l.placement, l.key, l.colocate_with,
               (SELECT count(*) FROM pg_catalog.pg_dist_shard s
                 WHERE s.logicalrelid OPERATOR(pg_catalog.=) ('oms.' || l.table_name)::regclass)
          FROM oms.citus_layout() l
         WHERE pg_catalog.to_regclass('oms.' || l.table_name) IS NOT NULL;
END
$$;
COMMENT ON FUNCTION oms.distribute(integer) IS
    'On a Citus coordinator: makes master data reference tables, distributes stock by sku_id and orders (with every row under them) by order_id in shard_count shards, co-located, moving the existing rows; idempotent. Returns each table''s placement and its number of shards.';

-- Forgets which tables this backend found to be Citus tables (src/citus.c);
-- oms.distribute() calls it, other backends find out by themselves.
CREATE FUNCTION oms.citus_forget()
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'oms_citus_forget';
COMMENT ON FUNCTION oms.citus_forget() IS
    'Makes this backend look up again which oms tables Citus distributes (called by oms.distribute()).';

REVOKE ALL ON FUNCTION oms.citus_layout(), oms.citus_read(anyelement), oms.citus_atp_skipped(bigint[], timestamptz),
    oms.distribute(integer), oms.citus_forget() FROM PUBLIC;
