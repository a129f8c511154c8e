#!/usr/bin/env bash
# bench/run.sh: the larder benchmark, side by side with Redis, in one command. Builds what it
# needs (Release, build-bench/), starts larderd (memory, then RocksDB, Redis and memcached engines
# when built) and redis-server on free loopback ports with matched settings, preloads the same
# keys and values into both, measures them back to back (throughput, server CPU per operation
# from /proc, p99 at half of peak, RSS), runs the eviction simulator and the callgrind profile,
# stops everything and prints ONE table of ratios against the targets (and a memcached row), then
# the HTTP rows (bench/http_bench.sh: every hit asking larderd, then with the near cache) and the
# near-cache rows (bench/near_bench.sh: instructions per hit, write propagation delays), then the
# larder-proxy rows (bench/proxy_bench.sh: against Varnish and a FastAPI app's own caching).
# The machine is shared and small, so absolute numbers are noisy: read the ratios.
#
#   bench/run.sh            # full run: ~7 min for the table, ~5 more for the HTTP and near rows
#   bench/run.sh --quick    # smoke check: short phases, 100k entries instead of 1M
#   bench/run.sh --no-profile
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-bench"
QUICK=0
PROFILE=1
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --no-profile) PROFILE=0 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--no-profile]" >&2; exit 2 ;;
  esac
done

VALUE_SIZE=1024
HOT_KEYS=100000  # Working set of every throughput run: uniform over key ids [0, HOT_KEYS).
INFLIGHT=50      # Requests in flight: redis-benchmark -c 50, loadgen --inflight=50.
CHANNELS=4       # gRPC connections carrying them.
# larderd is driven with gRPC framed by hand on HTTP/2 (--protocol=h2), a client as lean per call
# as redis-benchmark's RESP, so that the two cores the load generator shares with the servers
# measure the servers; the "through gRPC's C++ client" rows repeat the Gets with --protocol=grpc.
PROTOCOL=h2
if [[ "$QUICK" == 1 ]]; then
  RSS_KEYS=100000 WARMUP=1s DURATION=4s ENGINE_WARMUP=2s
  RB_GET=200000 RB_PIPE=800000 RB_MGET=40000
  PROFILE_OPS=3000 PROFILE=0
else
  RSS_KEYS=1000000 WARMUP=3s DURATION=15s ENGINE_WARMUP=5s
  RB_GET=1500000 RB_PIPE=6000000 RB_MGET=300000
  PROFILE_OPS=20000
fi
SIM_ARGS=(--keys=100000 --requests=2000000)  # About 10 s; the same trace in both modes.

RESULTS="$BUILD/bench-results/$(date -u +%Y%m%d-%H%M%S)"
WORK="$(mktemp -d /tmp/larder-bench.XXXXXX)"
LARDERD="$BUILD/server/larderd"
LOADGEN="$BUILD/bench/larder_loadgen"
SIM="$BUILD/bench/larder_eviction_sim"
PIDS=()

log() { echo "bench: $*" >&2; }

# --- building ---------------------------------------------------------------------------------

build() {
  bench_build "$BUILD" "$WORK" larderd larder_loadgen larder_eviction_sim larder_near_bench
}

# --- processes --------------------------------------------------------------------------------

source "$ROOT/bench/lib.sh"
source "$ROOT/bench/bench_build.sh"
stop_pids_and_remove_work_on_exit

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

rss_bytes() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }

# --- measuring --------------------------------------------------------------------------------

# loadgen LABEL FLAGS...: runs larder_loadgen, keeps its JSON line as $RESULTS/LABEL.json (a
# --protocol among FLAGS overrides $PROTOCOL: the last one given counts).
loadgen() {
  local label="$1"
  shift
  log "loadgen $label"
  "$LOADGEN" --label="$label" --protocol="$PROTOCOL" --value-size="$VALUE_SIZE" \
    --inflight="$INFLIGHT" --channels="$CHANNELS" "$@" >"$RESULTS/$label.json"
}

# redis_bench LABEL REQUESTS ARGS...: redis-benchmark against REDIS_PORT, with redis-server's
# CPU over the run; keeps {rps, p50_us, p99_us, cpu_us_per_req} as $RESULTS/LABEL.json.
redis_bench() {
  local label="$1" requests="$2" before after
  shift 2
  log "redis-benchmark $label"
  before="$(cpu_seconds "$REDIS_PID")"
  timeout 600 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$INFLIGHT" -n "$requests" \
    --csv "$@" >"$WORK/$label.csv"
  after="$(cpu_seconds "$REDIS_PID")"
  tail -1 "$WORK/$label.csv" | tr -d '"' | awk -F, -v b="$before" -v a="$after" -v n="$requests" \
    '{printf "{\"rps\":%s,\"p50_us\":%.1f,\"p99_us\":%.1f,\"cpu_us_per_req\":%.3f}\n",
      $2, $5 * 1000, $7 * 1000, (a - b) * 1e6 / n}' >"$RESULTS/$label.json"
}

# get LABEL FIELD: a field of a kept result, or "n/a".
get() {
  [[ -s "$RESULTS/$1.json" ]] || { echo n/a; return; }
  jq -r --arg f "$2" '.[$f] // "n/a"' "$RESULTS/$1.json"
}

# --- the runs ---------------------------------------------------------------------------------

run_memory_and_redis() {
  start_redis redis --maxmemory 4gb --maxmemory-policy noeviction  # lib.sh; 4 GB, no eviction.
  start_larderd memory --engine=memory --memory-limit=4GiB
  local mem_pid="$LARDER_PID" mem_port="$LARDER_PORT"
  echo "{\"larder\":$(rss_bytes "$mem_pid"),\"redis\":$(rss_bytes "$REDIS_PID")}" \
    >"$RESULTS/rss-empty.json"
  loadgen load-larder --target="127.0.0.1:$mem_port" --preload-keys="$RSS_KEYS" --duration=0 \
    --server-pid="$mem_pid"
  loadgen load-redis --protocol=redis --target="127.0.0.1:$REDIS_PORT" \
    --preload-keys="$RSS_KEYS" --duration=0 --server-pid="$REDIS_PID" --inflight=1
  local common=(--keys="$HOT_KEYS" --warmup="$WARMUP" --duration="$DURATION")
  loadgen get-larder --target="127.0.0.1:$mem_port" "${common[@]}" --server-pid="$mem_pid"
  loadgen get-larder-grpc --protocol=grpc --target="127.0.0.1:$mem_port" "${common[@]}" \
    --server-pid="$mem_pid"
  redis_bench get-redis "$RB_GET" -r "$HOT_KEYS" -t get
  loadgen get-redis-loadgen --protocol=redis --target="127.0.0.1:$REDIS_PORT" "${common[@]}" \
    --server-pid="$REDIS_PID"
  loadgen multiget-larder --target="127.0.0.1:$mem_port" "${common[@]}" --op=multiget \
    --batch=16 --server-pid="$mem_pid"
  loadgen multiget-larder-grpc --protocol=grpc --target="127.0.0.1:$mem_port" "${common[@]}" \
    --op=multiget --batch=16 --server-pid="$mem_pid"
  redis_bench pipeline-redis "$RB_PIPE" -r "$HOT_KEYS" -P 16 -t get
  redis_bench mget-redis "$RB_MGET" -r "$HOT_KEYS" MGET $(printf 'key:__rand_int__ %.0s' {1..16})
  run_half_peak "$mem_pid" "$mem_port"
  MEM_PID="$mem_pid" MEM_PORT="$mem_port"
}

# p99 at half of each server's own peak as the same load generator drives it (open loop,
# latency counted from the intended send time).
run_half_peak() {
  local larder_rate redis_rate
  larder_rate="$(jq '.ops_per_s / 2 | floor' "$RESULTS/get-larder.json")"
  redis_rate="$(jq '.ops_per_s / 2 | floor' "$RESULTS/get-redis-loadgen.json")"
  loadgen half-larder --target="127.0.0.1:$2" --keys="$HOT_KEYS" --warmup="$WARMUP" \
    --duration="$DURATION" --rate="$larder_rate" --server-pid="$1"
  loadgen half-redis --protocol=redis --target="127.0.0.1:$REDIS_PORT" --keys="$HOT_KEYS" \
    --warmup="$WARMUP" --duration="$DURATION" --rate="$redis_rate" --server-pid="$REDIS_PID"
}

# RocksDB (warm: the working set fits its block cache), right after the memory engine again.
run_rocksdb() {
  if ! start_larderd rocksdb --engine=rocksdb --data-dir="$WORK/rocksdb"; then
    log "RocksDB engine not available in this build: n/a"
    return 0
  fi
  local common=(--keys="$HOT_KEYS" --duration="$DURATION")
  loadgen rocksdb-memory --target="127.0.0.1:$MEM_PORT" "${common[@]}" --warmup="$WARMUP" \
    --server-pid="$MEM_PID"
  loadgen rocksdb-larder --target="127.0.0.1:$LARDER_PORT" "${common[@]}" \
    --preload-keys="$HOT_KEYS" --warmup="$ENGINE_WARMUP" --server-pid="$LARDER_PID"
  stop "$LARDER_PID"
}

# The Redis engine in front of the same redis-server (database 1), against raw Redis GETs.
run_redis_engine() {
  if ! start_larderd redis-engine --engine=redis \
    --redis-url="redis://127.0.0.1:$REDIS_PORT/1"; then
    log "Redis engine not available in this build: n/a"
    return 0
  fi
  loadgen redis-engine-larder --target="127.0.0.1:$LARDER_PORT" --keys="$HOT_KEYS" \
    --preload-keys="$HOT_KEYS" --warmup="$ENGINE_WARMUP" --duration="$DURATION" \
    --server-pid="$LARDER_PID,$REDIS_PID"
  loadgen redis-engine-larder-grpc --protocol=grpc --target="127.0.0.1:$LARDER_PORT" \
    --keys="$HOT_KEYS" --warmup="$ENGINE_WARMUP" --duration="$DURATION" \
    --server-pid="$LARDER_PID,$REDIS_PID"
  redis_bench redis-engine-raw "$RB_GET" -r "$HOT_KEYS" -t get
  loadgen redis-engine-multiget --target="127.0.0.1:$LARDER_PORT" --keys="$HOT_KEYS" \
    --warmup="$ENGINE_WARMUP" --duration="$DURATION" --op=multiget --batch=16 \
    --server-pid="$LARDER_PID,$REDIS_PID"
  loadgen redis-engine-multiget-grpc --protocol=grpc --target="127.0.0.1:$LARDER_PORT" \
    --keys="$HOT_KEYS" --warmup="$ENGINE_WARMUP" --duration="$DURATION" --op=multiget \
    --batch=16 --server-pid="$LARDER_PID,$REDIS_PID"
  redis_bench redis-engine-mget "$RB_MGET" -r "$HOT_KEYS" \
    MGET $(printf 'key:__rand_int__ %.0s' {1..16})
  stop "$LARDER_PID"
}

# The memcached engine in front of two memcached servers (one thread, 1 GiB each), Gets of the
# same working set: one row after the table ("n/a" without memcached or the engine).
run_memcached_engine() {
  command -v memcached >/dev/null || { log "memcached is missing: its row is n/a"; return 0; }
  local servers=() pids=() port user=()
  [[ "$(id -u)" == 0 ]] && user=(-u root)
  for _ in 1 2; do
    port="$(free_port)"
    memcached -p "$port" -l 127.0.0.1 -U 0 -m 1024 -t 1 "${user[@]}" \
      >"$WORK/memcached-$port.log" 2>&1 &
    pids+=("$!")
    PIDS+=("$!")
    servers+=("127.0.0.1:$port")
    for _ in $(seq 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.1
    done
  done
  if start_larderd memcached-engine --engine=memcached \
    --memcached-servers="$(IFS=,; echo "${servers[*]}")"; then
    loadgen memcached-engine-larder --target="127.0.0.1:$LARDER_PORT" --keys="$HOT_KEYS" \
      --preload-keys="$HOT_KEYS" --warmup="$ENGINE_WARMUP" --duration="$DURATION" \
      --server-pid="$LARDER_PID,${pids[0]},${pids[1]}"
    stop "$LARDER_PID"
  else
    log "memcached engine not available in this build: its row is n/a"
  fi
  memcslap_get memcached-raw "$(IFS=,; echo "${servers[*]}")" "${pids[@]}"
  for pid in "${pids[@]}"; do stop "$pid"; done
}

# memcslap_get LABEL SERVERS PID...: memcslap (libmemcached-tools) GETs against the servers with
# INFLIGHT threads, the servers' CPU over the run; keeps {rps, cpu_us_per_req} as LABEL.json.
memcslap_get() {
  local label="$1" servers="$2" before=0 after=0 pid per_thread=$((RB_GET / INFLIGHT))
  shift 2
  command -v memcslap >/dev/null || { log "memcslap is missing: no raw memcached figures"; return 0; }
  log "memcslap $label"
  for pid in "$@"; do before="$(echo "$before + $(cpu_seconds "$pid")" | bc -l)"; done
  timeout 600 memcslap --servers="$servers" --binary --tcp-nodelay --test=get \
    --concurrency="$INFLIGHT" --execute-number="$per_thread" >"$WORK/$label.txt" 2>&1 || return 0
  for pid in "$@"; do after="$(echo "$after + $(cpu_seconds "$pid")" | bc -l)"; done
  # "Time to get N keys by T threads: S seconds." (the set phase before it is not counted; its
  # CPU is, a small overestimate of memcached's CPU per GET).
  awk -v b="$before" -v a="$after" '/Time to get/ {
      n = $4; s = $(NF - 1)
      printf "{\"rps\":%.0f,\"cpu_us_per_req\":%.3f}\n", n / s, (a - b) * 1e6 / n }' \
    "$WORK/$label.txt" >"$RESULTS/$label.json"
}

# The row of run_memcached_engine.
print_memcached_row() {
  local file="$RESULTS/memcached-engine-larder.json"
  if [[ -s "$file" ]]; then
    echo "larderd on memcached (2 servers), Get: $(jq '.ops_per_s | floor' "$file") ops/s," \
      "$(jq '.server_cpu_us_per_op' "$file") us server CPU per op (larderd + memcached)"
    local raw="$RESULTS/memcached-raw.json"
    if [[ -s "$raw" ]]; then
      echo "  raw memcslap GET (same servers): $(jq '.rps' "$raw") ops/s," \
        "$(jq '.cpu_us_per_req' "$raw") us memcached CPU per op; ratios" \
        "$(jq -n --slurpfile l "$file" --slurpfile r "$raw" \
          '"\($l[0].ops_per_s / $r[0].rps * 100 | floor / 100)x ops/s, \($l[0].server_cpu_us_per_op / $r[0].cpu_us_per_req * 100 | floor / 100)x CPU per op"')"
    fi
  else
    echo "larderd on memcached (2 servers), Get: n/a"
  fi
}

run_eviction() {
  log "eviction simulator"
  "$SIM" "${SIM_ARGS[@]}" --value-size="$VALUE_SIZE" --cache-fraction=0.1 --json \
    >"$RESULTS/eviction.jsonl"
  local name
  for name in zipf scans loop; do
    case "$name" in
      zipf) grep '"zipf(0.99)"' "$RESULTS/eviction.jsonl" >"$RESULTS/eviction-$name.json" ;;
      scans) grep '+scans' "$RESULTS/eviction.jsonl" >"$RESULTS/eviction-$name.json" ;;
      loop) grep '"loop"' "$RESULTS/eviction.jsonl" >"$RESULTS/eviction-$name.json" ;;
    esac
  done
}

run_profile() {
  [[ "$PROFILE" == 1 ]] || return 0
  log "callgrind profile ($PROFILE_OPS Gets)"
  LARDER_BENCH_BUILD="$BUILD" "$ROOT/bench/profile.sh" --ops="$PROFILE_OPS" --json \
    --out="$RESULTS/profile" >"$RESULTS/profile.json"
}

# The lease-storm row: bench/lease_storm.sh on the memory engine. Its child is a test program,
# so it builds in build/ (the tests' build), not here.
run_lease_storm() {
  "$ROOT/bench/lease_storm.sh" --quick --memory-only --rows-only --results="$RESULTS" >/dev/null ||
    log "lease storm failed: its row is n/a"
}

source "$ROOT/bench/table.sh"

main() {
  for tool in redis-server redis-benchmark jq cmake; do
    command -v "$tool" >/dev/null ||
      { log "$tool is missing: run bench/install-bench-deps.sh"; exit 2; }
  done
  mkdir -p "$RESULTS"
  log "building in $BUILD"
  build
  log "results in $RESULTS"
  run_memory_and_redis
  run_rocksdb
  run_redis_engine
  run_memcached_engine
  stop "$MEM_PID"
  stop "$REDIS_PID"
  run_eviction
  run_profile
  run_lease_storm
  print_table | tee "$RESULTS/table.txt"
  print_memcached_row | tee -a "$RESULTS/table.txt"
  run_http | tee -a "$RESULTS/table.txt"
  run_near | tee -a "$RESULTS/table.txt"
  run_proxy | tee -a "$RESULTS/table.txt"
}

# The HTTP rows: the example service against nginx and Varnish, first asking larderd on every
# hit, then with its coherent near cache (hits answered in process while larderd's Watch stream
# is live; http_bench.sh waits until the near cache answers before measuring).
run_http() {
  local quick=()
  [[ "$QUICK" == 1 ]] && quick=(--quick)
  echo "HTTP, every hit asks larderd:"
  "$ROOT/bench/http_bench.sh" --rows-only --results="$RESULTS" --build-dir="$BUILD" "${quick[@]}"
  echo "HTTP, with the near cache:"
  "$ROOT/bench/http_bench.sh" --rows-only --results="$RESULTS/near" --build-dir="$BUILD" \
    --service-arg=--near_cache_bytes=67108864 "${quick[@]}"
}

# The near-cache rows: instructions per hit (callgrind) and write propagation delays
# (bench/near_bench.sh, on its own larderd).
run_near() {
  local quick=()
  [[ "$QUICK" == 1 ]] && quick=(--quick)
  echo "Near cache:"
  "$ROOT/bench/near_bench.sh" --rows-only --no-build --results="$RESULTS" --build-dir="$BUILD" \
    "${quick[@]}" || log "near-cache bench failed: its rows are missing"
}

# The larder-proxy rows: its hit against Varnish before the same nginx (without and with the near
# cache), and before a FastAPI app against that app's own uncached and dict-cached pages.
run_proxy() {
  local quick=()
  [[ "$QUICK" == 1 ]] && quick=(--quick)
  echo "larder-proxy:"
  "$ROOT/bench/proxy_bench.sh" --rows-only --results="$RESULTS/proxy" --build-dir="$BUILD" \
    "${quick[@]}" || log "larder-proxy bench failed: its rows are missing"
}

main
