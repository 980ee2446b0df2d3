#!/usr/bin/env bash
# Isolation under load (BENCHMARKS.md): seed the scale-1 SQLite dataset, start the release
# gateway as root with the default sandbox (DEPLOY_SANDBOX=user), and run `isolation`:
# Q1 with three CPU-bound student apps stopped, then running; an app's small answer
# straight to its forwarded port, then through the gateway's proxy. Needs root,
# bubblewrap, passt and iproute2 (what the sandbox needs).
#   bash bench/isolation.sh [seconds] [extra isolation flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
shift || true
port=${BENCH_PORT:-18410}
[ "$(id -u)" = 0 ] || { echo "isolation.sh: the sandbox needs root" >&2; exit 1; }
cargo build --release -q -p api -p bench
api=target/release/api
dir=$(mktemp -d)
chmod 755 "$dir"
export DATA_DIR=$dir ACCESS_TOKEN_TTL_SECS=86400 RUST_LOG=error BIND_ADDR=127.0.0.1:$port \
  ALLOW_LOCAL_REPOSITORIES=true
"$api" seed --scale 1 >/dev/null
"$api" >"$dir/gateway.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
echo "DEPLOY_CPU_PERCENT=${DEPLOY_CPU_PERCENT:-100 (default)}"
target/release/isolation --url "http://127.0.0.1:$port" --dataset "$dir/bench-dataset.json" \
  --duration "$seconds" "$@"
