#!/usr/bin/env bash
# test/worker/worker.sh — the background worker expires holds by itself.
# Needs a cluster started with shared_preload_libraries = oms,
# oms.expire_holds_interval = 1s and oms.database = postgres (test.sh does
# that), in PGHOST/PGPORT.  Prints TAP.
set -euo pipefail
. "$(dirname "$0")/../tools/lib.sh"    # PGBIN: the PostgreSQL test.sh runs
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
trap 'psql -c "DROP EXTENSION IF EXISTS oms CASCADE" >/dev/null 2>&1 || true' EXIT

echo "1..3"
workers=$(psql -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oms worker'")
if [ "$workers" = 1 ]; then
    echo "ok 1 - the oms background worker runs"
else
    echo "not ok 1 - $workers oms background workers run"
fi

psql >/dev/null <<'SQL'
CREATE EXTENSION oms;
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt');
SELECT oms.receive_stock('TEE', 'BER', 5);
SELECT oms.hold_stock('cart-w', 'WEB', '[{"sku": "TEE", "qty": 3}]', '1 second');
SQL

# The worker wakes every second; give it up to 20 seconds.
for _ in $(seq 1 40); do
    [ "$(psql -Atc 'SELECT count(*) FROM oms.hold')" = 0 ] && break
    sleep 0.5
done
if [ "$(psql -Atc 'SELECT count(*) FROM oms.hold')" = 0 ]; then
    echo "ok 2 - the worker expired the hold"
else
    echo "not ok 2 - the hold is still there"
fi
if [ "$(psql -Atc "SELECT held || '/' || (SELECT count(*) FROM oms.check_invariants()) FROM oms.stock")" = "0/0" ]; then
    echo "ok 3 - its units are free again and every invariant holds"
else
    echo "not ok 3 - held units or invariants are off"
fi
