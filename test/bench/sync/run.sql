-- test/bench/sync/run.sql — one timed sync in a copy of the template: reads
-- the tables once (the copy starts with none of its pages in shared
-- buffers), then times :call in a transaction of its own, its commit
-- included.  Prints "milliseconds cpu-ticks refused reported": wall time,
-- and the CPU time of the backend (from /proc, in clock ticks), which a busy
-- machine inflates far less.
\set ON_ERROR_STOP 1
SELECT count(*) FROM oms.stock \g /dev/null
SELECT count(*) FROM oms.stock_movement \g /dev/null
SELECT count(*) FROM oms.sku \g /dev/null
SELECT count(*) FROM oms.stock_slot \g /dev/null
SELECT count(*) FROM oms.hold_line \g /dev/null
SELECT count(*) FROM bench_sync.counts \g /dev/null
SELECT pg_backend_pid() AS pid \gset
\set cpu0 `awk '{ print $14 + $15 }' /proc/:pid/stat`
SELECT clock_timestamp() AS t0 \gset
BEGIN;
:call \gset
COMMIT;
SELECT round((extract(epoch FROM clock_timestamp() - :'t0') * 1000)::numeric, 1) AS ms \gset
\set cpu1 `awk '{ print $14 + $15 }' /proc/:pid/stat`
SELECT :cpu1 - :cpu0 AS ticks \gset
\echo :ms :ticks :refused :reported
