#!/usr/bin/env bash
# bench/async_probe.sh: larderd's Gets on each gRPC API against larder_async_probe
# (bench/async_probe), a server that answers only Get, on one Redis. Preloads 100k entries of
# 1 KiB through larderd, then per round runs `redis-benchmark -c 50 -r 100000 -t get` on the same
# Redis (its database 0, the same keys and values as plain strings; Redis's own CPU per GET), and
# each server in turn under larder_loadgen (uniform Get, 50 in flight over 4 channels, 2 s
# warm-up, 7 s measured). Rows (ROWS=... picks some):
#   larderd, larderd_1_thread, larderd_1_noreflection   Redis engine, --grpc-api=async (default
#                                                        queues; one queue; and no reflection)
#   larderd_callback                                     Redis engine, --grpc-api=callback
#   probe_pipe, probe_queue                              the probe finishing calls on the pipe's
#                                                        thread / handing them to the queue's
#   probe_null                                           no storage at all: the ceiling of any
#                                                        gRPC server under this load generator
#   memory, memory_callback                              larderd's memory engine, each API
# Prints per Get: context switches of the server's threads (voluntary + involuntary, over 4 s
# inside the measured phase), CPU of the server and Redis together (loadgen --server-pid), Gets/s
# and the ratio to redis-benchmark's Gets/s in the same round.
#
#   bench/async_probe.sh [ROUNDS]   # default 3 rounds, about 2.5 minutes each here
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-bench"
ROUNDS="${1:-3}"
WORK="$(mktemp -d /tmp/larder-async-probe.XXXXXX)"
LARDERD="$BUILD/server/larderd"
PROBE="$BUILD/bench/larder_async_probe"
LOADGEN="$BUILD/bench/larder_loadgen"
PIDS=()

log() { echo "async-probe: $*" >&2; }

source "$ROOT/bench/lib.sh"
stop_pids_and_remove_work_on_exit

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLARDER_BUILD_BENCH=ON \
  -DLARDER_BUILD_TESTS=OFF -DLARDER_BUILD_CLIENT=OFF -DLARDER_BUILD_EXAMPLES=OFF \
  >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log" >&2; exit 1; }
flock /tmp/larder-build.lock make -C "$BUILD" -j1 larderd larder_loadgen larder_async_probe \
  >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; exit 1; }

start_redis redis
redis_url="redis://127.0.0.1:$REDIS_PORT/1"

context_switches() {
  cat "/proc/$1"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'
}

larderd=("$LARDERD" --listen=127.0.0.1:0 --metrics-address= --engine=redis --redis-url="$redis_url")
start_server preload "${larderd[@]}" || exit 1
"$LOADGEN" --target="127.0.0.1:$LARDER_PORT" --keys=100000 --preload-keys=100000 --duration=0 \
  --value-size=1024 >/dev/null
kill "$LARDER_PID"
"$LOADGEN" --protocol=redis --target="127.0.0.1:$REDIS_PORT" --keys=100000 --preload-keys=100000 \
  --duration=0 --value-size=1024 --inflight=1 >/dev/null

memory=("$LARDERD" --listen=127.0.0.1:0 --metrics-address= --engine=memory)
declare -A servers=(
  [larderd]="${larderd[*]}"
  [larderd_1_thread]="${larderd[*]} --grpc-threads=1"
  [larderd_1_noreflection]="${larderd[*]} --grpc-threads=1 --reflection=false"
  [larderd_callback]="${larderd[*]} --grpc-api=callback"
  [probe_pipe]="$PROBE --redis_url=$redis_url --finish=pipe"
  [probe_queue]="$PROBE --redis_url=$redis_url --finish=queue"
  [probe_null]="$PROBE --answer=null"
  [memory]="${memory[*]}"
  [memory_callback]="${memory[*]} --grpc-api=callback"
)
# The memory engine starts empty: it is loaded before it is measured.
declare -A empty_at_start=([memory]=1 [memory_callback]=1)
ROWS="${ROWS:-larderd larderd_1_thread larderd_1_noreflection larderd_callback probe_pipe probe_queue probe_null memory memory_callback}"

# redis_benchmark_row ROUND: redis-benchmark GET on database 0; prints its row, keeps its Gets/s
# in $WORK/reference.
redis_benchmark_row() {
  local before after
  before="$(cpu_seconds "$REDIS_PID")"
  redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 50 -n 1000000 -r 100000 -t get --csv \
    >"$WORK/redis-benchmark.csv"
  after="$(cpu_seconds "$REDIS_PID")"
  tail -1 "$WORK/redis-benchmark.csv" | tr -d '"' | cut -d, -f2 >"$WORK/reference"
  awk -v r="$1" -v b="$before" -v a="$after" -v rps="$(cat "$WORK/reference")" \
    'BEGIN {printf "%-6s %-18s %10s %14.1f %8d %6.2fx\n", r, "redis-benchmark", "-",
      (a - b) * 1e6 / 1000000, rps, 1}'
}

printf '%-6s %-18s %10s %14s %8s %7s\n' round server "cs/Get" "CPU us/Get" "Gets/s" "ratio"
for round in $(seq "$ROUNDS"); do
  redis_benchmark_row "$round"
  for name in $ROWS; do
    read -r -a command <<<"${servers[$name]}"
    start_server "$name" "${command[@]}" || exit 1
    if [[ -n "${empty_at_start[$name]:-}" ]]; then
      "$LOADGEN" --target="127.0.0.1:$LARDER_PORT" --keys=100000 --preload-keys=100000 \
        --duration=0 --value-size=1024 >/dev/null
    fi
    "$LOADGEN" --target="127.0.0.1:$LARDER_PORT" --keys=100000 --warmup=2s --duration=7s \
      --value-size=1024 --inflight=50 --channels=4 --op=get \
      --server-pid="$LARDER_PID,$REDIS_PID" >"$WORK/$name.json" &
    loadgen=$!
    sleep 4
    before="$(context_switches "$LARDER_PID")"
    sleep 4
    after="$(context_switches "$LARDER_PID")"
    wait "$loadgen"
    jq -r --arg r "$round" --arg n "$name" --argjson cs "$((after - before))" \
      '"\($r) \($n) \($cs / (.ops_per_s * 4)) \(.server_cpu_us_per_op) \(.ops_per_s) \(.errors)"' \
      "$WORK/$name.json" |
      awk -v ref="$(cat "$WORK/reference")" '{printf "%-6s %-18s %10.2f %14.1f %8d %6.2fx%s\n",
        $1, $2, $3, $4, $5, $5 / ref, ($6 > 0 ? " ERRORS" : "")}'
    kill -9 "$LARDER_PID"
    wait "$LARDER_PID" 2>/dev/null || true
  done
done
