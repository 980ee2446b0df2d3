#!/usr/bin/env bash
# PostgreSQL's CPU time per request, for each workload: the user and system time of
# every PostgreSQL process of this host (the server and its backends; the gateway's pools
# keep their connections, so no backend's time leaves with it) over one driver run at
# concurrency 32, divided by the requests answered. Also prints the driver's own table
# (statements and round trips per request) and the gateway's peak memory. Then the same
# for the database floor (bench/src/bin/floor.rs: the data of q1–q3 by raw SQL with the
# fewest statements), measured right after on the same databases, and the ratio: a
# figure that travels between machines where milliseconds do not.
#   bash bench/pg_cpu.sh API [seconds] [workloads]
#   FLOOR_BIN (default: floor beside BENCH_BIN)
# Needs the PostgreSQL server of bench/env.sh on this host, and nothing else using it.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/env.sh
api=$1
seconds=${2:-10}
workloads=${3:-q0,q1,q2,q3}
port=${BENCH_PORT:-18400}
bench=${BENCH_BIN:-target/release/bench}
floor=${FLOOR_BIN:-$(dirname "$bench")/floor}
dir=$(mktemp -d)
bench_env postgres "$dir" "$port"
echo "== seeding with $api (scale 1)" >&2
"$api" seed --scale 1 >&2
"$api" --database-max-connections 8 >/dev/null 2>&1 &
pid=$!
bench_wait "$port"
# CPU ticks of every postgres process now, and of those that have exited.
pg_ticks() {
  python3 - <<'PY'
import os
total = 0
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        if open(f'/proc/{pid}/comm').read().strip() not in ('postgres', 'postmaster'):
            continue
        fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
        # utime and stime, and cutime and cstime: a backend that exits (the floor's,
        # when it stops) leaves its time with the postmaster, which waited for it.
        total += sum(int(f) for f in fields[11:15])
    except OSError:
        pass
print(total)
PY
}
hz=$(getconf CLK_TCK)
# ms of PostgreSQL CPU per request, from ticks, requests/s and seconds.
per_request() {
  python3 -c "import sys; t, hz, rps, s = map(float, sys.argv[1:]); print(f'{t / hz * 1000 / (rps * s):.3f}')" \
    "$1" "$hz" "$2" "$seconds"
}
declare -A gateway_ms
echo "| workload | requests/s | PostgreSQL CPU ms per request |"
echo "|---|---:|---:|"
for workload in ${workloads//,/ }; do
  before=$(pg_ticks)
  row=$("$bench" --url "http://127.0.0.1:$port" --dataset "$dir/bench-dataset.json" --workload "$workload" \
    --concurrency 32 --duration "$seconds" --statements 20 --repeat 1 | grep "| $workload |")
  after=$(pg_ticks)
  echo "$row" >&2
  rps=$(echo "$row" | awk -F'|' '{ gsub(/ /, "", $5); print $5 }')
  gateway_ms[$workload]=$(per_request "$((after - before))" "$rps")
  printf '| %s | %.0f | %s |\n' "$workload" "$rps" "${gateway_ms[$workload]}"
done
mb=$(awk '/VmHWM/ { print $2 / 1024 }' "/proc/$pid/status")
echo "gateway peak resident memory (VmHWM): $mb MB"
kill "$pid"; wait "$pid" || true
echo
echo "| workload | floor requests/s | floor PostgreSQL CPU ms per request | gateway / floor |"
echo "|---|---:|---:|---:|"
for workload in ${workloads//,/ }; do
  [[ $workload =~ ^q[123]$ ]] || continue
  before=$(pg_ticks)
  row=$("$floor" --dataset "$dir/bench-dataset.json" --workload "$workload" --concurrency 32 \
    --duration "$seconds" | grep "| $workload |")
  after=$(pg_ticks)
  rps=$(echo "$row" | awk -F'|' '{ gsub(/ /, "", $5); print $5 }')
  ms=$(per_request "$((after - before))" "$rps")
  ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "${gateway_ms[$workload]}" "$ms")
  printf '| %s | %.0f | %s | %s |\n' "$workload" "$rps" "$ms" "$ratio"
done
