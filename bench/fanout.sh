#!/usr/bin/env bash
# Subscription fan-out (BENCHMARKS.md): for SQLite and PostgreSQL, a small seeded dataset,
# the release gateway with no deploy workers (deploys are queued and cancelled, nothing
# runs), and `fanout` with N subscribers on one project. On PostgreSQL a second run puts
# the subscribers on another replica, so every event crosses LISTEN/NOTIFY.
#   bash bench/fanout.sh [sqlite|postgres|both] [seconds] [subscribers]
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
seconds=${2:-10}
subscribers=${3:-200}
pg=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
pg_options=${BENCH_POSTGRES_OPTIONS-?sslmode=disable}
port=${BENCH_PORT:-18400}
cargo build --release -q -p api -p bench
api=target/release/api
fanout=target/release/fanout

wait_ready() {
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done
  echo "the gateway on port $1 never got ready" >&2; exit 1
}

run_backend() {
  local backend=$1 dir token project pids=()
  dir=$(mktemp -d)
  export RATE_LIMIT_MUTATIONS_PER_MINUTE=0 RATE_LIMIT_SIGN_IN_PER_MINUTE=0 DATA_DIR=$dir ACCESS_TOKEN_TTL_SECS=86400 RUST_LOG=error DEPLOY_DIR=$dir/deployments \
    DEPLOY_MAX_WORKERS=0 DEPLOY_SANDBOX=none
  if [ "$backend" = postgres ]; then
    for d in users academic projects; do
      PGOPTIONS=--client-min-messages=warning psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS fanout_$d WITH (FORCE)" >/dev/null
    done
    export USERS_DATABASE_URL=$pg/fanout_users$pg_options ACADEMIC_DATABASE_URL=$pg/fanout_academic$pg_options \
      PROJECTS_DATABASE_URL=$pg/fanout_projects$pg_options
  else
    unset USERS_DATABASE_URL ACADEMIC_DATABASE_URL PROJECTS_DATABASE_URL
  fi
  "$api" seed --scale 0.02 >/dev/null
  "$api" user create --email fanout-admin@bench.local --role ADMIN >/dev/null
  token=$("$api" token --email fanout-admin@bench.local)
  project=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["projects"][0])' "$dir/bench-dataset.json")
  BIND_ADDR=127.0.0.1:$port "$api" >/dev/null 2>&1 & pids+=($!)
  wait_ready "$port"
  "$fanout" --url "http://127.0.0.1:$port" --token "$token" --project "$project" \
    --subscribers "$subscribers" --duration "$seconds" --label "$backend, same replica"
  if [ "$backend" = postgres ]; then
    BIND_ADDR=127.0.0.1:$((port + 1)) "$api" >/dev/null 2>&1 & pids+=($!)
    wait_ready $((port + 1))
    "$fanout" --url "http://127.0.0.1:$port" --subscribe-url "http://127.0.0.1:$((port + 1))" \
      --token "$token" --project "$project" --subscribers "$subscribers" --duration "$seconds" \
      --label "$backend, other replica"
  fi
  kill "${pids[@]}"; wait "${pids[@]}" || true
  rm -rf "$dir"
}

echo "| backend | subscribers | baseline cycles/s | cycles/s | ratio | events/s | deliveries/s | p50 ms | p99 ms | max ms | missed | resends |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
case $which in
  sqlite|postgres) run_backend "$which" ;;
  both) run_backend sqlite; run_backend postgres ;;
  *) echo "usage: bench/fanout.sh [sqlite|postgres|both] [seconds] [subscribers]" >&2; exit 2 ;;
esac
