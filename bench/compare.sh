#!/usr/bin/env bash
# Two gateway binaries on the same machine, the same dataset and the same sitting, runs
# interleaved (A B A B …) so drift in the machine's speed falls on both alike. Prints,
# per workload, the median requests/s and p99 of each binary over the rounds, the spread
# (lowest to highest) and the ratio B/A. The ratio is the figure to compare between
# machines; the absolute numbers are this machine's. With q0 among the workloads, each
# round also measures C, a bare async-graphql + axum server (bench/src/bin/bare.rs, the
# framework ceiling), and q0 is reported as a share of it too. On PostgreSQL each round
# also measures F, the database floor (bench/src/bin/floor.rs: the data of q1–q3 by raw
# SQL with the fewest statements, no gateway), and q1–q3 are reported as shares of it.
#   bash bench/compare.sh OLD_API NEW_API [postgres|sqlite] [seconds] [rounds] [workloads]
# Build the old binary from a worktree, for example:
#   git worktree add /tmp/old <commit> && (cd /tmp/old && CARGO_TARGET_DIR=$PWD/target-old cargo build --release -p api)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/env.sh
old=$1 new=$2
backend=${3:-postgres}
seconds=${4:-10}
rounds=${5:-3}
workloads=${6:-q0,q1,q2,q3,q4}
port=${BENCH_PORT:-18400}
# The driver: $BENCH_BIN, or built here (with the gateway, so features unify as in run.sh).
bench=${BENCH_BIN:-}
if [ -z "$bench" ]; then
  cargo build --release -q -p api -p bench
  bench=target/release/bench
fi
bare=${BARE_BIN:-$(dirname "$bench")/bare}
floor=${FLOOR_BIN:-$(dirname "$bench")/floor}
dir=$(mktemp -d)
out=$dir/runs.tsv
bench_env "$backend" "$dir" "$port"
echo "== $backend: seeding with $new (scale 1)" >&2
"$new" seed --scale 1 >&2
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores" >&2
for round in $(seq 1 "$rounds"); do
  for which in A B; do
    bin=$old; [ "$which" = B ] && bin=$new
    # The seed migrated the databases with the new binary: the old one must not try
    # (it would refuse migrations it does not know of).
    "$bin" --database-max-connections 8 --migrate-on-start false >/dev/null 2>&1 &
    pid=$!
    bench_wait "$port"
    "$bench" --url "http://127.0.0.1:$port" --dataset "$dir/bench-dataset.json" --label "$which" \
      --workload "$workloads" --concurrency 32 --duration "$seconds" --statements 0 --repeat 1 |
      awk -F'|' -v r="$round" '$3 ~ /q|m/ { gsub(/ /, ""); print $2 "\t" $3 "\t" r "\t" $5 "\t" $8 }' >> "$out"
    kill "$pid"; wait "$pid" || true
    echo "round $round $which done" >&2
  done
  if [[ ",$workloads," == *",q0,"* ]]; then
    "$bare" "127.0.0.1:$((port + 1))" >/dev/null 2>&1 &
    pid=$!
    bench_wait "$((port + 1))"
    "$bench" --url "http://127.0.0.1:$((port + 1))" --dataset "$dir/bench-dataset.json" --label C \
      --workload q0 --concurrency 32 --duration "$seconds" --statements 0 --repeat 1 |
      awk -F'|' -v r="$round" '$3 ~ /q|m/ { gsub(/ /, ""); print $2 "\t" $3 "\t" r "\t" $5 "\t" $8 }' >> "$out"
    kill "$pid"; wait "$pid" || true
    echo "round $round C (bare async-graphql) done" >&2
  fi
  # F: the database floor (bench/src/bin/floor.rs), the same data by raw SQL, no gateway.
  floor_workloads=$(echo "$workloads" | tr ',' '\n' | grep -E '^q[123]$' | paste -sd, -)
  if [ "$backend" = postgres ] && [ -n "$floor_workloads" ]; then
    "$floor" --dataset "$dir/bench-dataset.json" --workload "$floor_workloads" --concurrency 32 \
      --duration "$seconds" |
      awk -F'|' -v r="$round" '$3 ~ /q/ { gsub(/ /, ""); print "F\t" $3 "\t" r "\t" $5 "\t" $7 }' >> "$out"
    echo "round $round F (database floor) done" >&2
  fi
done
python3 - "$out" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    which, workload, _, rps, p99 = line.split('\t')
    runs[(which, workload)].append((float(rps), float(p99)))
workloads = sorted({w for which, w in runs if which in ("A", "B")})
print("| workload | A req/s (median, spread) | B req/s (median, spread) | B/A | A p99 ms | B p99 ms |")
print("|---|---:|---:|---:|---:|---:|")
for w in workloads:
    a = [r for r, _ in runs[("A", w)]]; b = [r for r, _ in runs[("B", w)]]
    ap = statistics.median(p for _, p in runs[("A", w)]); bp = statistics.median(p for _, p in runs[("B", w)])
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"| {w} | {ma:.0f} ({min(a):.0f}–{max(a):.0f}) | {mb:.0f} ({min(b):.0f}–{max(b):.0f}) | {mb/ma:.2f} | {ap:.1f} | {bp:.1f} |")
if ("C", "q0") in runs:
    c = [r for r, _ in runs[("C", "q0")]]
    a = [r for r, _ in runs[("A", "q0")]]; b = [r for r, _ in runs[("B", "q0")]]
    mc = statistics.median(c)
    print()
    print(f"q0 framework ceiling (bare async-graphql + axum, C): {mc:.0f} req/s ({min(c):.0f}–{max(c):.0f}); "
          f"A at {statistics.median(a)/mc:.0%} of it, B at {statistics.median(b)/mc:.0%}")
floors = sorted(w for which, w in runs if which == "F")
if floors:
    print()
    print("| workload | database floor req/s (median, spread) | floor p99 ms | A / floor | B / floor |")
    print("|---|---:|---:|---:|---:|")
    for w in floors:
        f = [r for r, _ in runs[("F", w)]]; fp = statistics.median(p for _, p in runs[("F", w)])
        mf = statistics.median(f)
        a = statistics.median(r for r, _ in runs[("A", w)]); b = statistics.median(r for r, _ in runs[("B", w)])
        print(f"| {w} | {mf:.0f} ({min(f):.0f}–{max(f):.0f}) | {fp:.1f} | {a/mf:.2f} | {b/mf:.2f} |")
PY
rm -rf "$dir"
