#!/usr/bin/env bash
# Hostile load (BENCHMARKS.md): seed the scale-1 dataset, start the release gateway with
# its default limits (rate limits on), and run `hostile`: a baseline of the legitimate
# client alone, then the attack for the given seconds with the legitimate client
# measuring alongside.
#   bash bench/hostile.sh [sqlite|postgres] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-postgres}
seconds=${2:-60}
pg=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
pg_options=${BENCH_POSTGRES_OPTIONS-?sslmode=disable}
port=${BENCH_PORT:-18400}
# Room for the attacker's connections on both sides (the gateway fits MAX_CONNECTIONS
# to its open-files limit).
ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p api -p bench
api=target/release/api
dir=$(mktemp -d)
export DATA_DIR=$dir ACCESS_TOKEN_TTL_SECS=86400 RUST_LOG=error BIND_ADDR=127.0.0.1:$port
if [ "$backend" = postgres ]; then
  for d in users academic projects; do
    PGOPTIONS=--client-min-messages=warning psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS hostile_$d WITH (FORCE)" >/dev/null
  done
  export USERS_DATABASE_URL=$pg/hostile_users$pg_options ACADEMIC_DATABASE_URL=$pg/hostile_academic$pg_options \
    PROJECTS_DATABASE_URL=$pg/hostile_projects$pg_options
fi
"$api" seed --scale 1 >/dev/null
"$api" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
target/release/hostile --url "http://127.0.0.1:$port" --dataset "$dir/bench-dataset.json" \
  --duration "$seconds" --server-pid "$pid" --label "$backend"
