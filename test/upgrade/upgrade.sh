#!/usr/bin/env bash
# test/upgrade/upgrade.sh — ALTER EXTENSION oms UPDATE on live data.
#
# Installs the released 0.1.0 script, fills it through the 0.1.0 API (which
# then runs on the new library), upgrades to the default version and proves:
# every row survived, the catalog equals a fresh install's, every invariant
# holds and the API goes on working.  Then the regression suite runs on an
# upgraded database, and test/dump runs on the filled one (test.sh).
# Prints TAP; runs against the cluster in PGHOST/PGPORT (test.sh starts it).
. "$(dirname "$0")/../tools/lib.sh"
cd "$OMS_ROOT"
OLD=0.1.0
NEW=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" oms.control)
out=${UPGRADE_OUT:-$(mktemp -d /tmp/oms-upgrade.XXXXXX)}
mkdir -p "$out"
n=0
check() {   # check NAME COMMAND...: one TAP line for a command's exit status
    local name=$1
    shift
    n=$((n + 1))
    if "$@" >"$out/$n.log" 2>&1; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        sed 's/^/# /' "$out/$n.log" | tail -25
    fi
}
q() { psql_q -At "$@"; }
same() { diff "$1" "$2"; }

for db in oms_upgrade oms_upgrade_fresh oms_upgrade_regress; do
    psql_q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
done
echo "1..8"

check "CREATE EXTENSION oms VERSION '$OLD' installs the released script" \
    q -d oms_upgrade -c "CREATE EXTENSION oms VERSION '$OLD'" \
      -c "DO \$\$ BEGIN ASSERT (SELECT extversion FROM pg_extension WHERE extname = 'oms') = '$OLD'; END \$\$"

check "the $OLD API on the new library fills orders, shipments, payments, holds and events in every state" \
    psql_q -d oms_upgrade -f test/upgrade/fill.sql \
      -c "DO \$\$ BEGIN ASSERT NOT EXISTS (SELECT FROM oms.check_invariants()); END \$\$"

# One statement per table and sequence that digests its rows over the
# columns it has now, to be run again after the upgrade.  oms.transition is
# the install script's own data, which an upgrade may extend: the catalog
# check below compares it with a fresh install's.
q -d oms_upgrade -o "$out/digest.sql" -c "
    SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(r::text, '','' ORDER BY r::text), '''')) FROM (SELECT %s FROM %s) r;',
                  c.oid::regclass, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum), c.oid::regclass)
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'oms'::regnamespace AND c.relkind IN ('r', 'S')
       AND c.oid <> 'oms.transition'::regclass
     GROUP BY c.oid ORDER BY 1"
q -d oms_upgrade -f "$out/digest.sql" >"$out/rows-before.txt"

check "ALTER EXTENSION oms UPDATE takes $OLD to $NEW" \
    q -d oms_upgrade -c "ALTER EXTENSION oms UPDATE" \
      -c "DO \$\$ BEGIN ASSERT (SELECT extversion FROM pg_extension WHERE extname = 'oms') = '$NEW'; END \$\$"

q -d oms_upgrade -f "$out/digest.sql" >"$out/rows-after.txt"
check "every row of every table and sequence survived ($(wc -l <"$out/rows-before.txt") digested)" \
    same "$out/rows-before.txt" "$out/rows-after.txt"

# The catalog, and the rows the install script itself writes (oms.transition).
# The fresh install gets the grants fill.sql gave the old one: roles granted
# before an upgrade must end up with exactly what the new version grants.
q -d oms_upgrade_fresh -c "CREATE EXTENSION oms" \
    -c "SELECT oms.grant_app('oms_upgrade_app'), oms.grant_reporting('oms_upgrade_bi')" >/dev/null
q -d oms_upgrade -f test/upgrade/catalog.sql >"$out/catalog-upgraded.txt"
q -d oms_upgrade_fresh -f test/upgrade/catalog.sql >"$out/catalog-fresh.txt"
shipped=$(q -d oms_upgrade_fresh -c "
    SELECT string_agg(format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, '','' ORDER BY t::text), '''')) FROM %s t;',
                             c.oid::regclass, c.oid::regclass), ' ')
      FROM pg_class c
     WHERE c.relnamespace = 'oms'::regnamespace AND c.relkind = 'r'
       AND (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass), false, true, '')))[1]::text <> '0'")
q -d oms_upgrade -c "$shipped" >>"$out/catalog-upgraded.txt"
q -d oms_upgrade_fresh -c "$shipped" >>"$out/catalog-fresh.txt"
check "the upgraded catalog equals a fresh install of $NEW ($(wc -l <"$out/catalog-fresh.txt") facts)" \
    same "$out/catalog-fresh.txt" "$out/catalog-upgraded.txt"

check "the upgraded database satisfies every invariant" \
    q -d oms_upgrade -c "DO \$\$ BEGIN ASSERT NOT EXISTS (SELECT FROM oms.check_invariants()); END \$\$"

# The API goes on from where the old version left off.
check "orders placed, shipped, paid, cancelled and ingested after the upgrade, invariants hold" \
    psql_q -d oms_upgrade -v ON_ERROR_STOP=1 <<'SQL'
SELECT oms.place_order('WEB', 'U-AFTER', '[{"sku": "TEE-BLK-L", "qty": 1, "unit_price": 19.99}]') AS o \gset
SELECT oms.record_payment(:o, 'authorize', 19.99, 'u-auth-after');
SELECT oms.create_shipment(:o, l.code) AS s
  FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id WHERE r.order_id = :o LIMIT 1 \gset
SELECT oms.ship(:s, 'DHL', 'U-A-1');
SELECT oms.track(s.id, 'delivered', now() + interval '2 hours') FROM oms.shipment s
 WHERE s.order_id = (SELECT order_id FROM oms.order_ref WHERE external_ref = 'U-SHIPPED');
SELECT oms.cancel_order(order_id, 'after upgrade') FROM oms.order_ref WHERE external_ref = 'U-RESERVED';
-- The reporting views count the orders of before the upgrade, then the rollups take over.
DO $$ BEGIN ASSERT (SELECT sum(orders) FROM oms_report.sales_daily) = (SELECT count(*) FROM oms.orders); END $$;
INSERT INTO oms.report_stock_threshold (sku_id, location_id, low_stock_units)
SELECT sku_id, location_id, 5 FROM oms.stock ORDER BY 1, 2 LIMIT 1;
SELECT oms.report_compact();
SELECT oms.place_order('WEB', 'U-HOT-2', '[{"sku": "SNEAKER-WHT-42", "qty": 1}]');
SELECT oms.hold_stock('u-cart-1', 'WEB', '[{"sku": "SCARF-RED", "qty": 2}]');
SELECT count(*) FROM oms.claim_events('u-mailer', 100);
INSERT INTO oms.channel_connector (channel_id, transform) SELECT id, 'oms.connector_pos(jsonb, text)' FROM oms.channel WHERE code = 'POS';
INSERT INTO oms.channel_sku (channel_id, external_sku, sku_id)
SELECT c.id, 'u-cap', s.id FROM oms.channel c, oms.sku s WHERE c.code = 'WEB' AND s.code = 'CAP-SND';
SELECT oms.ingest('WEB', '{"external_ref": "U-INGEST", "lines": [{"sku": "u-cap", "qty": 1}]}', 'u-evt-1');
-- The available-to-promise feed starts with every SKU on its first flush.
INSERT INTO oms.atp_policy (sku_id, channel_id, atp_buffer)
SELECT k.id, c.id, 1 FROM oms.sku k, oms.channel c WHERE k.code = 'TEE-BLK-L' AND c.code = 'WEB';
DO $$ BEGIN ASSERT (SELECT count(*) FROM oms.atp_changes('WEB', 0)) = (SELECT count(*) FROM oms.sku); END $$;
UPDATE oms.channel SET low_stock_threshold = 1000 WHERE code = 'WEB';
SELECT oms.atp_flush();
\i sql/include/await_horizon.sql
DO $$ BEGIN ASSERT EXISTS (SELECT FROM oms.claim_events('u-merch', 10000) WHERE entity = 'stock'); END $$;
SELECT oms.place_order('WEB', 'U-AFTER-2', '[{"sku": "TEE-BLK-L", "qty": 1}]');
-- Returns come with the upgrade: a unit shipped before it comes back after it.
INSERT INTO oms.return_reason (code, label) VALUES ('too_small', 'Too small');
INSERT INTO oms.return_policy (channel_id, window_days) SELECT id, 60 FROM oms.channel WHERE code = 'WEB';
SELECT oms.request_return(order_id, '[{"line_no": 1, "qty": 1, "reason": "too_small"}]', '{"idempotency_key": "u-rma-1"}') AS r
  FROM oms.order_ref WHERE external_ref = 'U-SHIPPED' \gset
SELECT oms.receive_return(:r, '[{"line_no": 1, "qty": 1, "disposition": "quarantine"}]', 'u-parcel-1');
SELECT oms.release_quarantine(:r, 1, 1, 'restock');
DO $$ BEGIN ASSERT NOT EXISTS (SELECT FROM oms.check_invariants()); END $$;
DO $$ BEGIN ASSERT (SELECT sum(orders) FROM oms_report.sales_daily) = (SELECT count(*) FROM oms.orders); END $$;
SQL

# The regression suite on oms installed as the old release and updated:
# every test file starts from a new oms (sql/include/new_oms.sql), which
# regress.oms_from makes the old release, updated.
q -c "ALTER DATABASE oms_upgrade_regress SET regress.oms_from = '$OLD'"
tests=$(ls sql/*.sql | sed 's|sql/\(.*\)\.sql|\1|' | grep -v '^01_install$')
check "the regression suite passes on oms installed as $OLD and updated ($(echo $tests | wc -w) files)" \
    "$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress" \
        --bindir="$PGBIN" --inputdir="$OMS_ROOT" --outputdir="$out/regress" --use-existing \
        --dbname=oms_upgrade_regress $tests
