-- Consumers claim only events older than every transaction running in the
-- cluster, and the background worker's transactions come and go: before a
-- claim a test expects something of, wait until every transaction that
-- began before it has ended.
DO $$
DECLARE
    v_next xid8 := pg_snapshot_xmax(pg_current_snapshot());
BEGIN
    FOR i IN 1 .. 3000 LOOP
        EXIT WHEN pg_snapshot_xmin(pg_current_snapshot()) >= v_next;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;
