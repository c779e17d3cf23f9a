#!/usr/bin/env bash
# test/bench/report/plot.sh — draws the reporting benchmark's PNGs from
# test/bench/results/report/latency.txt and throughput.txt with gnuplot:
# latency.png (mean latency per view against orders loaded, nothing noted)
# and throughput.png (oms.place_order per second, reporting off, on, and on
# with compaction deferred, per round).  report.sh runs it at the end; it can be run again on its own.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../results/report}
rounds=$(awk 'NR > 1 { if ($1 > n) n = $1 } END { print n + 0 }' "$OUT/throughput.txt")
awk '$4 == 0 && NR > 1 { print $1, $2, $3 }' "$OUT/latency.txt" >"$OUT/latency.dat"
for mode in off on deferred; do
    awk -v m=$mode 'NR > 1 && $2 == m { print $1, $3 }' "$OUT/throughput.txt" >"$OUT/throughput_$mode.dat"
done
{
    echo "set terminal png size 900,600"
    echo "set output '$OUT/latency.png'"
    echo "set title 'oms\\_report dashboard queries: mean latency by orders loaded'"
    echo "set logscale x; set xlabel 'orders loaded'; set ylabel 'ms (mean of the runs)'; set key left top; set grid"
    printf "plot "
    sep=""
    for v in $(cut -d'|' -f1 "$HERE/queries.txt"); do
        awk -v v="$v" '$2 == v { print $1, $3 }' "$OUT/latency.dat" >"$OUT/latency_$v.dat"
        printf "%s'%s' using 1:2 with linespoints title '%s'" "$sep" "$OUT/latency_$v.dat" "${v//_/\\\\_}"
        sep=", "
    done
    echo
    echo "set output '$OUT/throughput.png'"
    echo "unset logscale x; set title 'oms.place\\_order throughput: reporting off, on, and on with compaction deferred, per round'"
    echo "set xlabel 'round'; set ylabel 'orders per second'; set yrange [0:*]; set xrange [0.5:$rounds + 0.5]; set xtics 1"
    echo "set boxwidth 0.25; set style fill solid 0.6; set key right bottom"
    echo "plot '$OUT/throughput_off.dat' using (\$1 - 0.27):2 with boxes title 'oms.report off', '$OUT/throughput_on.dat' using 1:2 with boxes title 'oms.report on (worker compacting every second)', '$OUT/throughput_deferred.dat' using (\$1 + 0.27):2 with boxes title 'on, compaction deferred (the notes alone)'"
} >"$OUT/plots.gnuplot"
gnuplot "$OUT/plots.gnuplot"
echo "plots: $OUT/latency.png $OUT/throughput.png"
