#!/usr/bin/env bash
# Instructions per request in the gateway, counted by callgrind: for the same binary and
# inputs the count repeats run after run, where timings on these shared machines vary by
# a third. For each binary and workload: start it under callgrind on the same seeded
# databases, send WARM requests, zero the counters, send REQUESTS requests one at a time
# (the same ids and tokens for every binary), dump, and divide. Prints one row per binary
# and workload, then the top functions of the last binary for q1 and q2.
#   bash bench/instructions.sh API... [-- options]
#   BENCH_BACKEND=postgres|sqlite  BENCH_REQUESTS=200  BENCH_WARM=50  BENCH_WORKLOADS=q0,q1,q2,q3
#   BENCH_SCALE=0.2 (the dataset; the seed runs with the first binary)
#   BENCH_KEEP=DIR keeps each dump as DIR/<binary's directory>-<workload>.cg, for
#   callgrind_annotate (--inclusive=yes, --tree=caller)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/env.sh
backend=${BENCH_BACKEND:-postgres}
requests=${BENCH_REQUESTS:-200}
warm=${BENCH_WARM:-50}
workloads=${BENCH_WORKLOADS:-q0,q1,q2,q3}
scale=${BENCH_SCALE:-0.2}
port=${BENCH_PORT:-18400}
dir=$(mktemp -d)
bench_env "$backend" "$dir" "$port"
echo "== $backend: seeding with $1 (scale $scale)" >&2
"$1" seed --scale "$scale" >&2
echo "| binary | workload | requests | instructions per request |"
echo "|---|---|---:|---:|"
for bin in "$@"; do
  for workload in ${workloads//,/ }; do
    out=$dir/callgrind.out
    rm -f "$out"*
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --database-max-connections 8 \
      >/dev/null 2>"$dir/valgrind.log" &
    pid=$!
    for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
    python3 bench/send.py "http://127.0.0.1:$port/graphql" "$dir/bench-dataset.json" "$workload" "$warm"
    callgrind_control -z "$pid" >/dev/null 2>&1
    python3 bench/send.py "http://127.0.0.1:$port/graphql" "$dir/bench-dataset.json" "$workload" "$requests"
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill "$pid"; wait "$pid" 2>/dev/null || true
    # Part 1, the dump asked for after the zero, holds only the measured requests (the
    # file without a suffix is what ran after it, until the exit).
    dump=$out.1
    if [ -n "${BENCH_KEEP:-}" ]; then
      mkdir -p "$BENCH_KEEP"
      cp "$dump" "$BENCH_KEEP/$(basename "$(dirname "$bin")")-$workload.cg"
    fi
    total=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
    printf '| %s | %s | %s | %s |\n' "$bin" "$workload" "$requests" "$((total / requests))"
    if [ "$bin" = "${!#}" ] && { [ "$workload" = q1 ] || [ "$workload" = q2 ]; }; then
      echo "top functions, $workload ($bin):" >&2
      # Self cost per function; the thread-entry frames that callgrind charges with the
      # whole run (clone, start_thread, the tokio worker loop: 100%) are skipped.
      callgrind_annotate --threshold=100 "$dump" 2>/dev/null |
        awk '/^ *[0-9,]+ \( *[0-9.]+%\)/ { p = $2; gsub(/[()%]/, "", p); if (p + 0 < 50 && ++n <= 15) print }' >&2
    fi
  done
done
rm -rf "$dir"
