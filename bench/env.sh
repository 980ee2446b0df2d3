# Sourced by bench/run.sh and bench/compare.sh: the gateway's environment for a benchmark
# and fresh databases.
#   bench_env BACKEND DATA_DIR PORT   (postgres|sqlite)
# PostgreSQL: a server at $BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432),
# reached with $BENCH_POSTGRES_OPTIONS (default ?sslmode=disable: on loopback TLS only adds
# encryption work on both sides of each round trip; Debian's server offers it by default).
bench_env() {
  local backend=$1 dir=$2 port=$3
  local pg=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
  local pg_options=${BENCH_POSTGRES_OPTIONS-?sslmode=disable}
  # The driver is one address standing for many clients: per-caller turns would queue
  # its anonymous workload (q0) as one client's.
  export MAX_CONCURRENT_REQUESTS_PER_CALLER=128 RATE_LIMIT_MUTATIONS_PER_MINUTE=0 \
    RATE_LIMIT_SIGN_IN_PER_MINUTE=0 DATA_DIR=$dir ACCESS_TOKEN_TTL_SECS=86400 RUST_LOG=warn \
    BIND_ADDR=127.0.0.1:$port
  if [ "$backend" = postgres ]; then
    for d in users academic projects; do
      psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS bench_$d WITH (FORCE)" >/dev/null
    done
    export USERS_DATABASE_URL=$pg/bench_users$pg_options ACADEMIC_DATABASE_URL=$pg/bench_academic$pg_options \
      PROJECTS_DATABASE_URL=$pg/bench_projects$pg_options
  else
    unset USERS_DATABASE_URL ACADEMIC_DATABASE_URL PROJECTS_DATABASE_URL
  fi
}

# Waits until the gateway on PORT is ready.
bench_wait() {
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done
}
