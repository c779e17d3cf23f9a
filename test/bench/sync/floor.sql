-- test/bench/sync/floor.sql — what one piece of a sync's work costs by
-- itself, in a copy of the template: :call in a transaction that is rolled
-- back, after a CHECKPOINT (so full-page images are written as in the timed
-- rounds).  Prints "cpu-ticks wal-bytes": the backend's CPU time in clock
-- ticks, and the WAL it wrote.
\set ON_ERROR_STOP 1
SELECT count(*) FROM oms.stock \g /dev/null
SELECT count(*) FROM oms.stock_movement \g /dev/null
SELECT count(*) FROM oms.sku \g /dev/null
SELECT count(*) FROM bench_sync.counts \g /dev/null
SELECT count(*) FROM bench_sync.doc \g /dev/null
CHECKPOINT;
SELECT pg_backend_pid() AS pid \gset
SELECT pg_current_wal_insert_lsn() AS lsn0 \gset
\set cpu0 `awk '{ print $14 + $15 }' /proc/:pid/stat`
BEGIN;
:call \g /dev/null
\set cpu1 `awk '{ print $14 + $15 }' /proc/:pid/stat`
SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :'lsn0') AS wal \gset
ROLLBACK;
SELECT :cpu1 - :cpu0 AS ticks \gset
\echo :ticks :wal
