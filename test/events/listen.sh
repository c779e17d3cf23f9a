#!/usr/bin/env bash
# test/events/listen.sh — a LISTEN client hears events once they commit, and
# never those of a transaction that rolls back.  Needs a cluster started with
# shared_preload_libraries = oms and oms.database = postgres (test.sh does
# that), in PGHOST/PGPORT: the background worker runs oms.publish_events()
# there every oms.publish_interval (200ms by default).  Prints TAP.
#
# The listener is a psql reading its commands from a FIFO: after LISTEN it is
# sent an empty DO block every 0.1 s, and psql prints the notifications that
# arrived with each reply ("Asynchronous notification "oms_events" with
# payload "..." received from server process with PID n.").
set -euo pipefail
. "$(dirname "$0")/../tools/lib.sh"    # PGBIN: the PostgreSQL test.sh runs
WAIT=${LISTEN_WAIT:-2}          # seconds a notification may take
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

# Runs query $1 up to $3 times, $4 s apart, until it prints $2; prints its
# last answer.
await() {
    local got=
    for _ in $(seq 1 "$3"); do
        got=$(psql -Atc "$1")
        [ "$got" = "$2" ] && break
        sleep "$4"
    done
    echo "$got"
}

tmp=$(mktemp -d)
listener=
cleanup() {
    exec 3>&- 2>/dev/null || true       # EOF: the listener's psql ends
    if [ -n "$listener" ]; then kill "$listener" 2>/dev/null || true; wait "$listener" 2>/dev/null || true; fi
    psql -c "DROP EXTENSION IF EXISTS oms CASCADE" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "1..7"
# An ERROR ends the worker and the postmaster starts it again 10 s later (a
# DROP EXTENSION oms under its feet does that, as worker.sh's cleanup may
# just have done): give it up to 15 s.
workers=$(await "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oms worker'" 1 75 0.2)
if [ "$workers" = 1 ]; then
    echo "ok 1 - the oms background worker runs"
else
    echo "not ok 1 - $workers oms background workers run"
fi

psql >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS oms CASCADE;
CREATE EXTENSION oms;
INSERT INTO oms.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'web');
INSERT INTO oms.location (code, name, kind, latitude, longitude) VALUES ('BER', 'Berlin', 'warehouse', 52.52, 13.405);
INSERT INTO oms.sku (code, name) VALUES ('TEE', 'T-shirt');
SELECT oms.receive_stock('TEE', 'BER', 10);
SQL

# The publisher starts with the events committed after its first run: wait
# for it to register before anything happens.
registered=$(await "SELECT count(*) FROM oms.event_consumer WHERE consumer = 'oms:notify'" 1 150 0.1)
if [ "$registered" = 1 ]; then
    echo "ok 2 - the publisher has started in database postgres"
else
    echo "not ok 2 - the publisher has not registered (no oms:notify consumer)"
fi

# The listener.
mkfifo "$tmp/in"
"$PGBIN/psql" -X -q -d postgres <"$tmp/in" >"$tmp/out" 2>&1 &
listener=$!
exec 3>"$tmp/in"
echo 'LISTEN oms_events;' >&3
echo '\echo listening' >&3
for _ in $(seq 1 50); do
    grep -q '^listening$' "$tmp/out" && break
    sleep 0.1
done

# The payloads heard so far, one a line.
payloads() {
    sed -n 's/^Asynchronous notification "oms_events" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' \
        "$tmp/out"
}

# Polls the listener for up to $WAIT seconds until it has heard an event of
# order $1; returns 1 if it has not.
hear() {
    local start=${EPOCHREALTIME/[.,]/} elapsed=0
    while [ $elapsed -le $((WAIT * 1000000)) ]; do
        echo 'DO $$BEGIN END$$;' >&3
        sleep 0.1
        payloads | grep -E "\"order_id\" *: *$1[,} ]" >/dev/null && return 0
        elapsed=$((${EPOCHREALTIME/[.,]/} - start))
    done
    return 1
}

# A committed order is heard.
order=$(psql -Atc "SELECT oms.place_order('WEB', 'N-1', '[{\"sku\": \"TEE\", \"qty\": 1}]')")
if hear "$order"; then
    echo "ok 3 - a committed order is heard within ${WAIT}s"
else
    echo "not ok 3 - order $order was not heard within ${WAIT}s"
    sed 's/^/# /' "$tmp/out"
fi

# Its payload: a JSON object with exactly these keys, the order's event.
payload=$(payloads | grep -E "\"order_id\" *: *$order[,} ]" | grep -E '"entity" *: *"order"' | head -n 1 || true)
check=$(psql -At -v p="$payload" -v order="$order" 2>&1 <<'SQL' || true
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'p'::jsonb) k) = '{entity,entity_id,id,order_id,status}'
       AND :'p'::jsonb @> jsonb_build_object('order_id', :order, 'entity', 'order', 'entity_id', :order,
                                             'status', 'reserved')
       AND EXISTS (SELECT FROM oms.order_event e
                    WHERE e.id = (:'p'::jsonb->>'id')::bigint AND e.order_id = :order
                      AND e.entity = 'order' AND e.to_status = 'reserved');
SQL
)
if [ "$check" = t ]; then
    echo "ok 4 - its payload is JSON with id, order_id, entity, entity_id and status \"reserved\""
else
    echo "not ok 4 - payload '$payload' is not such an object"
    printf '%s\n' "$check" | sed 's/^/# /'
fi

# Every event of the order once: the order's (its line, placed in full, has none).
heard=$(payloads | grep -Ec "\"order_id\" *: *$order[,} ]" || true)
events=$(psql -Atc "SELECT count(*) FROM oms.order_event WHERE order_id = $order")
if [ "$heard" = "$events" ] && [ "$events" = 1 ]; then
    echo "ok 5 - each of its $events events is heard once"
else
    echo "not ok 5 - heard $heard notifications for the $events events of order $order"
fi

# A rolled-back order is never heard, not even once a later commit is.
rolled_back=$(psql -At <<'SQL'
BEGIN;
SELECT oms.place_order('WEB', 'N-2', '[{"sku": "TEE", "qty": 1}]');
ROLLBACK;
SQL
)
rolled_back_at=${EPOCHREALTIME/[.,]/}
later=$(psql -Atc "SELECT oms.place_order('WEB', 'N-3', '[{\"sku\": \"TEE\", \"qty\": 1}]')")
if hear "$later"; then
    echo "ok 6 - an order committed after the rollback is heard"
else
    echo "not ok 6 - order $later was not heard within ${WAIT}s"
fi
while [ $((${EPOCHREALTIME/[.,]/} - rolled_back_at)) -le $((WAIT * 1000000)) ]; do
    echo 'DO $$BEGIN END$$;' >&3
    sleep 0.1
done
echo 'DO $$BEGIN END$$;' >&3
sleep 0.2
if [ -n "$rolled_back" ] && ! payloads | grep -E "\"order_id\" *: *$rolled_back[,} ]" >/dev/null; then
    echo "ok 7 - the order of a transaction that rolled back is never heard"
else
    echo "not ok 7 - order ${rolled_back:-?} of a rolled-back transaction was heard"
    sed 's/^/# /' "$tmp/out"
fi
