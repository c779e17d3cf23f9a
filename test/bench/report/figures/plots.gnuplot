set terminal png noenhanced size 900,600
set logscale xy; set xlabel 'orders loaded'; set ylabel 'ms (mean of the runs)'; set key left top; set grid
set arrow from graph 0, first 50 to graph 1, first 50 nohead dt 2 lc rgb 'red'
set output 'latency.png'
set title 'oms_report dashboard queries, nothing noted: mean latency by orders loaded (dashed: 50 ms)'
plot 'latency_0_sales_daily.dat' using 1:2 with linespoints lw 2 title 'sales_daily', 'latency_0_product_sales_daily.dat' using 1:2 with linespoints lw 2 title 'product_sales_daily', 'latency_0_fulfilment_daily.dat' using 1:2 with linespoints lw 2 title 'fulfilment_daily', 'latency_0_stock_health.dat' using 1:2 with linespoints lw 2 title 'stock_health', 'latency_0_returns_monthly.dat' using 1:2 with linespoints lw 2 title 'returns_monthly', 'latency_0_routing_daily.dat' using 1:2 with linespoints lw 2 title 'routing_daily', 'latency_0_order_facts.dat' using 1:2 with linespoints lw 2 title 'order_facts'
set output 'latency_tail.png'
set title 'the same with 1,000 orders placed and not yet folded in'
plot 'latency_1_sales_daily.dat' using 1:2 with linespoints lw 2 title 'sales_daily', 'latency_1_product_sales_daily.dat' using 1:2 with linespoints lw 2 title 'product_sales_daily', 'latency_1_fulfilment_daily.dat' using 1:2 with linespoints lw 2 title 'fulfilment_daily', 'latency_1_stock_health.dat' using 1:2 with linespoints lw 2 title 'stock_health', 'latency_1_returns_monthly.dat' using 1:2 with linespoints lw 2 title 'returns_monthly', 'latency_1_routing_daily.dat' using 1:2 with linespoints lw 2 title 'routing_daily', 'latency_1_order_facts.dat' using 1:2 with linespoints lw 2 title 'order_facts'
unset arrow; unset logscale xy; set title 'oms.place_order throughput: reporting off, on, and on with compaction deferred'
set output 'throughput.png'
set xlabel 'round'; set ylabel 'orders per second'; set yrange [0:*]; set xrange [0.5:5 + 0.5]; set xtics 1
set boxwidth 0.25; set style fill solid 0.6; set key below
plot 'throughput_off.dat' using ($1 - 0.27):2 with boxes title 'oms.report off', 'throughput_on.dat' using 1:2 with boxes title 'on (worker compacting every second)', 'throughput_deferred.dat' using ($1 + 0.27):2 with boxes title 'on, compaction deferred (the notes alone)'
