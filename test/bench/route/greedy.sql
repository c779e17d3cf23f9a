-- test/bench/route/greedy.sql — pgbench script: bench_ref.route_greedy on a
-- random order of the pool (-D norders=N).  Keep it identical to oms.sql but
-- for the function it calls.
\set id random(1, :norders)
SELECT count(*) FROM bench_route.orders o, bench_ref.route_greedy(o.lines, o.ship_to) r WHERE o.id = :id;
