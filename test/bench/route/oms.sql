-- test/bench/route/oms.sql — pgbench script: oms.route on a random order of
-- the pool (-D norders=N).  Keep it identical to exhaustive.sql and greedy.sql
-- but for the function it calls.
\set id random(1, :norders)
SELECT count(*) FROM bench_route.orders o, oms.route(o.lines, o.ship_to) r WHERE o.id = :id;
