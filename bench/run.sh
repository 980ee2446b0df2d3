#!/usr/bin/env bash
# Reproduces BENCHMARKS.md: for SQLite and PostgreSQL, seed the scale-1 dataset through
# the services, start the release gateway, drive every workload at concurrency 1, 32 and
# 128, and print the table rows plus the server's peak memory.
#   bash bench/run.sh [sqlite|postgres|both] [seconds per run]
# PostgreSQL: a server at $BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432),
# reached with $BENCH_POSTGRES_OPTIONS (default ?sslmode=disable: on loopback TLS only adds
# encryption work on both sides of each round trip; Debian's server offers it by default).
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
seconds=${2:-10}
pg=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
pg_options=${BENCH_POSTGRES_OPTIONS-?sslmode=disable}
port=${BENCH_PORT:-18400}
cargo build --release -q -p api -p bench
api=target/release/api
bench=target/release/bench

run_backend() {
  local backend=$1 dir
  dir=$(mktemp -d)
  # The driver is one address standing for many clients: per-caller turns would queue
  # its anonymous workload (q0) as one client's.
  export MAX_CONCURRENT_REQUESTS_PER_CALLER=128
  export RATE_LIMIT_MUTATIONS_PER_MINUTE=0 RATE_LIMIT_SIGN_IN_PER_MINUTE=0 DATA_DIR=$dir ACCESS_TOKEN_TTL_SECS=86400 RUST_LOG=warn BIND_ADDR=127.0.0.1:$port
  if [ "$backend" = postgres ]; then
    for d in users academic projects; do
      psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS bench_$d WITH (FORCE)" >/dev/null
    done
    export USERS_DATABASE_URL=$pg/bench_users$pg_options ACADEMIC_DATABASE_URL=$pg/bench_academic$pg_options \
      PROJECTS_DATABASE_URL=$pg/bench_projects$pg_options
  else
    unset USERS_DATABASE_URL ACADEMIC_DATABASE_URL PROJECTS_DATABASE_URL
  fi
  echo "== $backend: seeding (scale 1)" >&2
  "$api" seed --scale 1 >&2
  "$api" --database-max-connections 8 >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
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
