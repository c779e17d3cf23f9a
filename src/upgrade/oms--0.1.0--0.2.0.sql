-- oms upgrade script from 0.1.0 to 0.2.0: every schema change of 0.2.0, in the
-- order it was made.  test/upgrade proves that 0.1.0 upgraded by this script
-- equals a fresh install of 0.2.0.

\echo Use "ALTER EXTENSION oms UPDATE TO '0.2.0'" to load this file. \quit

-- Channel intake: connectors, SKU maps, the inbound log, oms.ingest.
--@include src/sql/60_channels.sql

-- Bulk stock sync: oms.sync_stock, oms.sync_stock_from.
--@include src/sql/25_sync.sql

-- oms.check_invariants() as this version defines it (new invariants land here).
--@include src/sql/80_invariants.sql

-- Volatility and parallel safety as the bodies require: available and
-- routing read the master-data cache, which loads with the latest snapshot
-- (refused in parallel mode), and see what the calling statement wrote.
ALTER FUNCTION oms.available(text, text) VOLATILE PARALLEL UNSAFE;
ALTER FUNCTION oms.route(jsonb, jsonb, text, jsonb) VOLATILE;
ALTER FUNCTION oms.route_explain(jsonb, jsonb, text, jsonb) VOLATILE;

--
-- Privileges, last: as on a new install nothing is PUBLIC's, and each role
-- granted before the upgrade ends up with exactly what its grant function
-- gives in this version (new objects granted, dropped privileges revoked).
--
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA oms FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA oms FROM PUBLIC;
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN
        WITH granted AS (
            SELECT a.grantee::regrole::text AS role, 'admin' AS kind
              FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = 'oms.channel'::regclass AND a.privilege_type = 'INSERT' AND a.grantee <> c.relowner
            UNION
            SELECT a.grantee::regrole::text, 'app'
              FROM pg_proc p, aclexplode(p.proacl) a
             WHERE p.oid = 'oms.place_order(text, text, jsonb, jsonb, jsonb)'::regprocedure
               AND a.privilege_type = 'EXECUTE' AND a.grantee NOT IN (0, p.proowner)
            UNION
            SELECT a.grantee::regrole::text, 'reporting'
              FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = 'oms.v_stock'::regclass AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner)
        SELECT role, CASE WHEN bool_or(kind = 'admin') THEN 'admin'
                          WHEN bool_or(kind = 'app') THEN 'app' ELSE 'reporting' END AS kind
          FROM granted GROUP BY role
    LOOP
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA oms FROM %I', v.role);
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA oms FROM %I', v.role);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA oms FROM %I', v.role);
        EXECUTE format('SELECT oms.grant_%s(%L)', v.kind, v.role);
    END LOOP;
END
$$;
