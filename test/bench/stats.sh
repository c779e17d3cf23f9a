# test/bench/stats.sh — latency statistics from pgbench's per-transaction logs,
# shared by bench.sh and route/route.sh.  STATS_DECIMALS (2) sets how many
# decimals of a millisecond the percentiles keep.

# Nearest-rank percentiles: reads sorted numbers (µs), prints each requested
# percentile in ms, "-" when there are none.
percentiles() {
    awk -v ps="$*" -v d="${STATS_DECIMALS:-2}" '
        { v[NR] = $1 }
        END {
            k = split(ps, p, " ")
            for (i = 1; i <= k; i++) {
                if (NR == 0) { out = out (i > 1 ? " " : "") "-"; continue }
                x = p[i] * NR / 100; r = int(x); if (r < x) r++; if (r < 1) r = 1
                out = out sprintf("%s%." d "f", (i > 1 ? " " : ""), v[r] / 1000)
            }
            print out
        }'
}

# Reads pgbench -l logs ("client txno latency_us script epoch_s epoch_us ...")
# and prints: transactions, p50 ms, p99 ms, seconds from the first start to the
# last end.  Failed transactions (a word in place of the latency) are left out.
latency_stats() {
    local n secs p50 p99
    read -r n secs < <(cat "$@" | awk '
        $3 ~ /^[0-9]+$/ {
            if (!n) base = $5
            e = ($5 - base) * 1000000 + $6; s = e - $3
            if (!n || s < lo) lo = s
            if (!n || e > hi) hi = e
            n++
        }
        END { printf "%d %.3f\n", n, n ? (hi - lo) / 1000000 : 0 }')
    read -r p50 p99 < <(cat "$@" | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n | percentiles 50 99)
    echo "$n $p50 $p99 $secs"
}

# --selftest of the scripts that source this file: percentiles and
# latency_stats on known inputs, at STATS_DECIMALS.
stats_selftest() {
    local d=${STATS_DECIMALS:-2} log
    stats_expect "percentiles 1..100 ms" "$(seq 1000 1000 100000 | percentiles 50 99)" \
        "$(printf "%.${d}f %.${d}f" 50 99)"
    stats_expect "percentiles 0.1..0.3 ms" "$(printf '100\n200\n300\n' | percentiles 50 99)" \
        "$(printf "%.${d}f %.${d}f" 0.2 0.3)"
    # Two transactions of 1 and 3 ms, both starting at 1700000000.9985 s, and a failed one.
    log=$(mktemp)
    printf '0 1 1000 0 1700000000 999500\n1 1 3000 0 1700000001 1500\n2 1 failed 0 1700000001 9\n' >"$log"
    stats_expect latency_stats "$(latency_stats "$log")" "$(printf "2 %.${d}f %.${d}f 0.003" 1 3)"
    rm -f "$log"
    echo "selftest ok"
}

stats_expect() {
    [ "$2" = "$3" ] || { echo "$1: got $2, want $3" >&2; exit 1; }
}
