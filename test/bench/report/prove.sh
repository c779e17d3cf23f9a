#!/usr/bin/env bash
# test/bench/report/prove.sh — that the bulk path writes what oms's
# functions write: the same plan (plan.sql, BENCH_REPORT_PROVE orders,
# 2000) loaded into two fresh databases of the running benchmark cluster,
# once by bulk.sql and once by real.sql (one call of oms.place_order,
# cancel_line, cancel_order, record_payment, create_shipment, ship, track,
# request_return and receive_return per step); then one md5 per table the
# reports read and per reporting view (digest.sql) must be equal.  report.sh runs it first, against its cluster (PGHOST, PGPORT).
# Exit status 1 when a digest differs.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../tools/lib.sh"
N=${BENCH_REPORT_PROVE:-2000}
OUT=${1:-$HERE/../results/report}
mkdir -p "$OUT"
# One plan for both: its random draws from one seed, its times from one moment.
ANCHOR=$(date -u +'%Y-%m-%d %H:%M:%S+00')
for mode in bulk real; do
    db=oms_prove_$mode
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    psql_q -d $db -c 'CREATE EXTENSION oms'
    psql_q -d $db -v nskus=200 -f "$HERE/setup.sql" >/dev/null
    start=$(date +%s%N)
    psql_q -d $db -v n="$N" -v base=0 -v days=365 -v nskus=200 -v seed=0.42 -v anchor="$ANCHOR" \
        -f "$HERE/plan.sql" -f "$HERE/$mode.sql" >/dev/null
    psql_q -d $db -c 'SELECT oms.report_rebuild()' >/dev/null
    echo "$mode: $N orders in $(( ($(date +%s%N) - start) / 1000000 )) ms"
    psql_q -d $db -At -F ' ' -f "$HERE/digest.sql" >"$OUT/digest_$mode.txt"
done
if diff "$OUT/digest_bulk.txt" "$OUT/digest_real.txt" >"$OUT/digest.diff"; then
    echo "bulk path = real functions: $(wc -l <"$OUT/digest_bulk.txt") digests equal ($N orders)"
    cat "$OUT/digest_bulk.txt"
else
    echo "bulk path and real functions differ:"
    cat "$OUT/digest.diff"
    exit 1
fi
