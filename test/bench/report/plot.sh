#!/usr/bin/env bash
# test/bench/report/plot.sh — draws the reporting benchmark's PNGs from
# latency.txt and throughput.txt in the given directory (default
# test/bench/results/report) with gnuplot: latency.png (mean latency of each
# dashboard query against orders loaded, nothing noted), latency_tail.png
# (the same with 1,000 orders not yet folded in) and throughput.png
# (oms.place_order per second, reporting off, on, and on with compaction
# deferred, per round).  It writes the data and plots.gnuplot next to them,
# with paths relative to that directory: `gnuplot plots.gnuplot` there draws
# them again.  report.sh runs it at the end.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../results/report}
cd "$OUT"
rounds=$(awk 'NR > 1 { if ($1 > n) n = $1 } END { print n + 0 }' throughput.txt)
for mode in off on deferred; do
    awk -v m=$mode 'NR > 1 && $2 == m { print $1, $3 }' throughput.txt >"throughput_$mode.dat"
done
latency_plot() {
    local png=$1 tail=$2 title=$3 sep=""
    echo "set output '$png'"
    echo "set title '$title'"
    printf "plot "
    for v in $(cut -d'|' -f1 "$HERE/queries.txt"); do
        awk -v v="$v" -v t="$tail" 'NR > 1 && $2 == v && (t == 0 ? $5 == 0 : $5 > 0) { print $1, $3, $4 }' latency.txt \
            >"latency_${tail}_$v.dat"
        printf "%s'%s' using 1:2 with linespoints lw 2 title '%s'" "$sep" "latency_${tail}_$v.dat" "$v"
        sep=", "
    done
    echo
}
{
    echo "set terminal png noenhanced size 900,600"
    echo "set logscale xy; set xlabel 'orders loaded'; set ylabel 'ms (mean of the runs)'; set key left top; set grid"
    echo "set arrow from graph 0, first 50 to graph 1, first 50 nohead dt 2 lc rgb 'red'"
    latency_plot latency.png 0 'oms_report dashboard queries, nothing noted: mean latency by orders loaded (dashed: 50 ms)'
    latency_plot latency_tail.png 1 'the same with 1,000 orders placed and not yet folded in'
    echo "unset arrow; unset logscale xy; set title 'oms.place_order throughput: reporting off, on, and on with compaction deferred'"
    echo "set output 'throughput.png'"
    echo "set xlabel 'round'; set ylabel 'orders per second'; set yrange [0:*]; set xrange [0.5:$rounds + 0.5]; set xtics 1"
    echo "set boxwidth 0.25; set style fill solid 0.6; set key below"
    echo "plot 'throughput_off.dat' using (\$1 - 0.27):2 with boxes title 'oms.report off', 'throughput_on.dat' using 1:2 with boxes title 'on (worker compacting every second)', 'throughput_deferred.dat' using (\$1 + 0.27):2 with boxes title 'on, compaction deferred (the notes alone)'"
} >plots.gnuplot
gnuplot plots.gnuplot
echo "plots: $OUT/latency.png $OUT/latency_tail.png $OUT/throughput.png"
