#!/usr/bin/env bash
# test/fuzz/fuzz.sh — `make fuzz`: builds and installs oms, starts a throwaway
# cluster (port 5496, oms preloaded so that its worker runs alongside), loads
# the demo shop into database postgres, makes the app role of README "Roles",
# and runs test/fuzz/fuzz.py for FUZZ_SECONDS.  Exits non-zero on an XX000, a
# backend crash, a leak WARNING or check_invariants() rows.
#
# FUZZ_SEEDS="1 2 3" runs one seed after another, each on a fresh database.
# FUZZ_CLUSTER=running fuzzes the cluster in PGHOST/PGPORT instead of starting
# one (test/fuzz/valgrind.sh does that); the rest of the environment is
# fuzz.py's (FUZZ_SEED, FUZZ_SECONDS, FUZZ_TIMEOUT, FUZZ_ONLY, FUZZ_LOG, ...).
# Reports land in .cluster/log/fuzz/ (failing calls in fuzz-failures.sql).
. "$(dirname "$0")/../tools/lib.sh"
PACKAGES="$PACKAGES python3 python3-psycopg2"

export FUZZ_OUT=${FUZZ_OUT:-$OMS_ROOT/.cluster/log/fuzz}
mkdir -p "$FUZZ_OUT"

if [ "${FUZZ_CLUSTER:-}" != running ]; then
    ensure_packages
    build_and_install
    cluster_start fuzz 5496 fsync=off synchronous_commit=off full_page_writes=off \
        shared_preload_libraries=oms oms.expire_holds_interval=1s oms.database=postgres \
        "log_line_prefix='%m [%p] %e %b '" log_min_error_statement=panic
    trap cluster_stop_quietly EXIT
    export FUZZ_SERVER_LOG=$PGDATA/server.log
fi

# A fresh database postgres with the demo shop, the app role and a role the
# grant functions may grant to.
prepare() {
    psql_q -d postgres >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS oms CASCADE;
DROP SCHEMA IF EXISTS oms CASCADE;
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN SELECT rolname FROM pg_roles WHERE rolname IN ('oms_fuzz_app', 'oms_fuzz_grantee') LOOP
        EXECUTE format('DROP OWNED BY %I', r);
        EXECUTE format('DROP ROLE %I', r);
    END LOOP;
END
$$;
CREATE ROLE oms_fuzz_app;
CREATE ROLE oms_fuzz_grantee;
CREATE EXTENSION oms;
SQL
    psql_q -d postgres -f "$OMS_ROOT/test/demo/sample.sql" >/dev/null
    psql_q -d postgres -c "SELECT oms.grant_app('oms_fuzz_app')" >/dev/null
    # Channel intake (where this version has it): the shipped connectors for
    # APP, MKT-AMZ and POS, and SKU names of the channels' own.
    psql_q -d postgres >/dev/null <<'SQL'
DO $$
BEGIN
    IF to_regclass('oms.channel_connector') IS NOT NULL THEN
        INSERT INTO oms.channel_connector (channel_id, transform, options, location_map)
        SELECT c.id, t.transform::regprocedure, t.options::jsonb, t.location_map::jsonb
          FROM (VALUES ('APP', 'oms.connector_shopify(jsonb, text)', '{}', '{"64120": "MUC-STORE"}'),
                       ('MKT-AMZ', 'oms.connector_amazon(jsonb, text)', '{"allow_backorder": true}', '{}'),
                       ('POS', 'oms.connector_pos(jsonb, text)', '{}', '{}')) AS t(code, transform, options, location_map)
          JOIN oms.channel c ON c.code = t.code;
        INSERT INTO oms.channel_sku (channel_id, external_sku, sku_id)
        SELECT c.id, 'EXT-' || s.code, s.id FROM oms.channel c, oms.sku s
         WHERE c.code IN ('APP', 'WEB') AND s.code LIKE 'TEE-%';
    END IF;
    -- Returns (where this version has them): reasons (one retired), a policy
    -- per channel -- WEB a 10 % fee and shipping back on a full return, APP
    -- authorization and refunds on request, MKT-AMZ exchanges placed on
    -- receipt -- and the dropship vendor taking no returns.
    IF to_regclass('oms.return_policy') IS NOT NULL THEN
        INSERT INTO oms.return_reason (code, label, resellable, active) VALUES
            ('too_small', 'Too small', true, true), ('broken', 'Arrived broken', false, true),
            ('retired', 'Retired reason', true, false);
        INSERT INTO oms.return_policy (channel_id, restocking_fee_pct, refund_shipping, refund_on,
                                       authorization_required, exchange_reserve, expire_days)
        SELECT id, 10, 'full_return', 'receipt', false, 'on_request', NULL FROM oms.channel WHERE code = 'WEB'
        UNION ALL
        SELECT id, 0, 'always', 'request', true, 'on_request', 1 FROM oms.channel WHERE code = 'APP'
        UNION ALL
        SELECT id, 5, 'never', 'receipt', false, 'on_receipt', NULL FROM oms.channel WHERE code = 'MKT-AMZ';
        UPDATE oms.location SET accepts_returns = false WHERE code = 'LEJ-DROP';
    END IF;
END
$$;
SQL
}

rc=0
for seed in ${FUZZ_SEEDS:-${FUZZ_SEED:-1}}; do
    step "fuzzing oms with seed $seed for ${FUZZ_SECONDS:-60} s (reports in $FUZZ_OUT)"
    prepare
    offset=0
    [ -n "${FUZZ_SERVER_LOG:-}" ] && offset=$(stat -c %s "$FUZZ_SERVER_LOG" 2>/dev/null || echo 0)
    FUZZ_SEED=$seed FUZZ_SERVER_LOG_OFFSET=$offset PGDATABASE=postgres \
        python3 -B "$OMS_ROOT/test/fuzz/fuzz.py" || rc=1
done
[ "$rc" = 0 ] && echo "fuzz: passed" || echo "fuzz: FAILED (see $FUZZ_OUT)"
exit "$rc"
