#!/usr/bin/env bash
# Reproduces BENCHMARKS.md: for SQLite and PostgreSQL, seed the scale-1 dataset through
# the services, start the release gateway, drive every workload at concurrency 1, 32 and
# 128, and print the table rows plus the server's peak memory.
#   bash bench/run.sh [sqlite|postgres|both] [seconds per run]
# PostgreSQL: see bench/env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/env.sh
which=${1:-both}
seconds=${2:-10}
port=${BENCH_PORT:-18400}
cargo build --release -q -p api -p bench
api=target/release/api
bench=target/release/bench

run_backend() {
  local backend=$1 dir
  dir=$(mktemp -d)
  bench_env "$backend" "$dir" "$port"
  echo "== $backend: seeding (scale 1)" >&2
  "$api" seed --scale 1 >&2
  "$api" --database-max-connections 8 >/dev/null 2>&1 &
  local pid=$!
  bench_wait "$port"
  "$bench" --url "http://127.0.0.1:$port" --dataset "$dir/bench-dataset.json" --label "$backend" \
    --concurrency 1,32,128 --duration "$seconds" --server-pid "$pid"
  kill "$pid"; wait "$pid" || true
  rm -rf "$dir"
}

case $which in
  sqlite|postgres) run_backend "$which" ;;
  both) run_backend sqlite; run_backend postgres ;;
  *) echo "usage: bench/run.sh [sqlite|postgres|both] [seconds]" >&2; exit 2 ;;
esac
