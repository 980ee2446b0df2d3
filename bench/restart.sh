#!/usr/bin/env bash
# Apps across gateway restarts (BENCHMARKS.md): seed the scale-1 SQLite dataset, then
# `restart` deploys 10 tiny apps and restarts the release gateway (SIGTERM, then
# SIGKILL) `rounds` times each, timing from the new process's start to every app
# answering. Needs root, bubblewrap, passt and iproute2 (what the sandbox needs).
#   bash bench/restart.sh [rounds] [extra restart flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
port=${BENCH_PORT:-18420}
[ "$(id -u)" = 0 ] || { echo "restart.sh: the sandbox needs root" >&2; exit 1; }
cargo build --release -q -p api -p bench
dir=$(mktemp -d)
chmod 755 "$dir"
trap 'pkill -TERM -f "^target/release/api$" 2>/dev/null || true; rm -rf "$dir"' EXIT
export DATA_DIR=$dir DEPLOY_DIR=$dir/deployments ACCESS_TOKEN_TTL_SECS=86400 RUST_LOG=error \
  BIND_ADDR=127.0.0.1:$port ALLOW_LOCAL_REPOSITORIES=true DEPLOY_DISK_MB=0 \
  DEPLOY_MAX_ACTIVE_PER_USER=0
target/release/api seed --scale 1 >/dev/null
target/release/restart --addr "127.0.0.1:$port" --dataset "$dir/bench-dataset.json" \
  --api-binary target/release/api --rounds "$rounds" "$@"
