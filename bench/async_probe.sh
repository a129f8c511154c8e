#!/usr/bin/env bash
# bench/async_probe.sh: larderd's Redis-engine Get against larder_async_probe (bench/async_probe),
# the same Get on gRPC's async API with one completion queue and one thread, on one Redis.
# Preloads 100k entries of 1 KiB through larderd, then per round runs each server in turn under
# larder_loadgen (uniform Get, 50 in flight over 4 channels, 2 s warm-up, 7 s measured): larderd,
# the probe finishing calls on the pipe's thread, the probe handing them to the queue's thread,
# and the first again with gRPC's default (callback) health service. Prints per Get: context
# switches of the server's threads (voluntary + involuntary, over 4 s inside the measured
# phase), CPU of the server and Redis together (loadgen --server-pid), and Gets/s.
#
#   bench/async_probe.sh [ROUNDS]   # default 3 rounds, about 2 minutes each here
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

declare -A servers=(
  [larderd]="${larderd[*]}"
  [probe_pipe]="$PROBE --redis_url=$redis_url --finish=pipe"
  [probe_queue]="$PROBE --redis_url=$redis_url --finish=queue"
  [probe_pipe_health]="$PROBE --redis_url=$redis_url --finish=pipe --health"
)
printf '%-6s %-18s %10s %14s %8s\n' round server "cs/Get" "CPU us/Get" "Gets/s"
for round in $(seq "$ROUNDS"); do
  for name in larderd probe_pipe probe_queue probe_pipe_health; do
    read -r -a command <<<"${servers[$name]}"
    start_server "$name" "${command[@]}" || exit 1
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
      awk '{printf "%-6s %-18s %10.2f %14.1f %8d%s\n", $1, $2, $3, $4, $5, ($6 > 0 ? " ERRORS" : "")}'
    kill -9 "$LARDER_PID"
    wait "$LARDER_PID" 2>/dev/null || true
  done
done
