#!/usr/bin/env bash
# test/dump/dump_restore.sh — pg_dump loses nothing: dumps a populated database,
# restores it into a fresh one, and compares every row of every table and
# sequence oms registered with pg_extension_config_dump.  Prints TAP.
# Runs against the cluster in PGHOST/PGPORT (test.sh starts it).  With
# DUMP_SOURCE=db it dumps that populated database instead (test.sh passes the
# one test/upgrade upgraded from 0.1.0).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/../tools/lib.sh"    # PGBIN: the PostgreSQL test.sh runs
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
dump=$(mktemp /tmp/oms-dump.XXXXXX)
trap 'rm -f "$dump"' EXIT

src_db=${DUMP_SOURCE:-oms_dump_src}
psql -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS oms_dump_dst' -c 'CREATE DATABASE oms_dump_dst'
if [ -z "${DUMP_SOURCE:-}" ]; then
psql -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS oms_dump_src' -c 'CREATE DATABASE oms_dump_src'
psql -d oms_dump_src -c 'CREATE EXTENSION oms' -f "$here/../demo/sample.sql" >/dev/null
# Orders, a cancellation, a hold and a hot row, so that every table has rows.
psql -d oms_dump_src >/dev/null <<'SQL'
SELECT oms.place_order('WEB', 'D-1', '[{"sku": "TEE-BLK-M", "qty": 2, "unit_price": 19.99}]',
                       '{"city": "Berlin", "latitude": 52.5, "longitude": 13.4}');
SELECT oms.place_order('APP', 'D-2', '[{"sku": "CAP-BLK", "qty": 1, "unit_price": 24}]');
SELECT oms.cancel_order(oms.place_order('WEB', 'D-3', '[{"sku": "BELT-90", "qty": 1}]'), 'test');
-- Reporting: rollups, a low-stock threshold, and orders noted since.
SELECT oms.report_compact();
INSERT INTO oms.report_stock_threshold (sku_id, location_id, low_stock_units)
SELECT sku_id, location_id, 5 FROM oms.stock ORDER BY 1, 2 LIMIT 1;
SELECT oms.hold_stock('cart-d', 'WEB', '[{"sku": "SCARF-RED", "qty": 1}]');
SELECT oms.set_stock_slots('SNEAKER-WHT-42', 'BER-DC', 4);
SELECT oms.place_order('WEB', 'D-4', '[{"sku": "SNEAKER-WHT-42", "qty": 1}]');
-- A parcel tracked to the door, a payment, and events a consumer still holds.
SELECT oms.create_shipment(1, l.code) AS shipment FROM oms.reservation r JOIN oms.location l ON l.id = r.location_id
 WHERE r.order_id = 1 LIMIT 1 \gset
SELECT oms.ship(:shipment, 'DHL', 'JJD-D-1');
SELECT oms.track(:shipment, 'in_transit', now() + interval '1 minute', '{"city": "Leipzig"}');
SELECT oms.record_payment(1, 'authorize', 39.98, 'psp-auth-1'), oms.record_payment(1, 'capture', 39.98, 'psp-cap-1');
SELECT count(*) FROM oms.claim_events('dump-test', 3);
-- A channel's connector, its SKU map and a message it sent.
INSERT INTO oms.channel_connector (channel_id, transform) SELECT id, 'oms.connector_pos(jsonb, text)' FROM oms.channel WHERE code = 'POS';
INSERT INTO oms.channel_sku (channel_id, external_sku, sku_id)
SELECT c.id, 'till-cap', s.id FROM oms.channel c, oms.sku s WHERE c.code = 'WEB' AND s.code = 'CAP-SND';
SELECT oms.ingest('WEB', '{"external_ref": "D-5", "lines": [{"sku": "till-cap", "qty": 1}]}', 'dump-evt-1');
-- The available-to-promise feed: a policy, figures, stock events (every SKU
-- low on WEB), and a change not yet flushed.
INSERT INTO oms.atp_policy (sku_id, channel_id, atp_buffer)
SELECT k.id, c.id, 1 FROM oms.sku k, oms.channel c WHERE k.code = 'TEE-BLK-M' AND c.code = 'APP';
SELECT oms.atp_flush();
UPDATE oms.channel SET low_stock_threshold = 1000 WHERE code = 'WEB';
SELECT oms.atp_flush();
SELECT oms.place_order('WEB', 'D-ATP', '[{"sku": "CAP-BLK", "qty": 1}]');
-- A return of order 1's parcel: a reason, a policy, keys, a restock and a quarantined unit.
INSERT INTO oms.return_reason (code, label) VALUES ('too_small', 'Too small');
INSERT INTO oms.return_policy (channel_id, window_days) SELECT id, 60 FROM oms.channel WHERE code = 'WEB';
SELECT oms.request_return(1, '[{"line_no": 1, "qty": 2, "reason": "too_small"}]', '{"idempotency_key": "rma-d-1"}') AS r \gset
SELECT oms.receive_return(:r, '[{"line_no": 1, "qty": 1, "disposition": "restock"},
                                {"line_no": 1, "qty": 1, "disposition": "quarantine"}]', 'parcel-d-1');
SQL
fi

"$PGBIN/pg_dump" -Fc -d "$src_db" -f "$dump"
"$PGBIN/pg_restore" --exit-on-error -d oms_dump_dst "$dump"

# One line per registered object: its name, row count and a digest of its rows.
digest_sql="
SELECT c.oid::regclass::text || ' ' ||
       (xpath('/row/n/text()', query_to_xml(format(
           CASE c.relkind
               WHEN 'S' THEN 'SELECT last_value || '' '' || is_called AS n FROM %s'
               ELSE 'SELECT count(*) || '' '' || md5(coalesce(string_agg(t::text, '','' ORDER BY t::text), '''')) AS n FROM %s t'
           END, c.oid::regclass), false, true, '')))[1]::text
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid)
  JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'oms'
 ORDER BY 1"
src=$(psql -At -d "$src_db" -c "$digest_sql")
dst=$(psql -At -d oms_dump_dst -c "$digest_sql")

echo "1..4"
n=$(echo "$src" | wc -l)
# oms.transition is the extension's own reference data: CREATE EXTENSION writes it.
# Unlogged tables are working state that a crash empties and oms rebuilds.
tables=$(psql -At -d "$src_db" -c "
    SELECT count(*) FROM pg_class
     WHERE relnamespace = 'oms'::regnamespace AND relkind = 'r' AND relname <> 'transition' AND relpersistence <> 'u'")
registered=$(psql -At -d "$src_db" -c "
    SELECT count(*) FROM pg_extension e, unnest(e.extconfig) cfg(oid)
      JOIN pg_class c ON c.oid = cfg.oid WHERE e.extname = 'oms' AND c.relkind = 'r'")
if [ "$tables" = "$registered" ]; then
    echo "ok 1 - every oms table ($tables) is registered for pg_dump"
else
    echo "not ok 1 - $registered of $tables oms tables are registered for pg_dump"
fi
empty=$(echo "$src" | awk '$2 == "0" {print $1}')
if [ "$src" = "$dst" ] && [ -z "$empty" ]; then
    echo "ok 2 - $n tables and sequences keep every row through dump and restore"
else
    echo "not ok 2 - dump and restore changed rows${empty:+ (or left empty: $empty)}"
    diff <(echo "$src") <(echo "$dst") | sed 's/^/# /'
fi
bad=$(psql -At -d oms_dump_dst -c 'SELECT count(*) FROM oms.check_invariants()')
if [ "$bad" = 0 ]; then
    echo "ok 3 - the restored database satisfies every invariant"
else
    echo "not ok 3 - the restored database violates $bad invariants"
fi
# Sequences came along: new rows do not collide with restored ones.
if psql -d oms_dump_dst -c "SELECT oms.receive_stock('TEE-BLK-M', 'BER-DC', 5, 'after restore')" \
        -c "INSERT INTO oms.sku (code, name) VALUES ('AFTER-RESTORE', 'After restore')" >/dev/null; then
    echo "ok 4 - the restored database takes new stock and SKUs"
else
    echo "not ok 4 - the restored database refuses new rows"
fi
