-- test/storm/sync.sql — pgbench: the warehouse system counts every S-n SKU at
-- Hamburg while orders reserve, ship and cancel there; some counts fall below
-- what orders hold, and the sync refuses and reports those.
SELECT storm.sync();
