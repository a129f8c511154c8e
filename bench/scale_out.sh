#!/usr/bin/env bash
# bench/scale_out.sh: what running several larderd replicas in front of the same Redis costs.
# Two backends, one after the other: one standalone redis-server, then a Redis Cluster of 3
# masters (no replicas). On each, for R = 1, 2, 4 larderd replicas (--engine=redis): the same
# 100k keys of 1 KiB are preloaded once per backend through one replica, then R larder_loadgen
# processes run at the same time, one per replica (uniform Get over the 100k keys, --inflight
# = ceil(50/R) each so ~50 requests are in flight in total, 2 gRPC channels each, same warm-up
# and measured phase). Per backend, redis-benchmark GET (-c 50 -r 100000, --cluster on the
# cluster) against the same data shape gives a reference without larderd.
#
# How CPU is measured: the script itself reads utime+stime of every larderd and every
# redis-server from /proc/<pid>/stat twice, inside the window where all R loadgens are in their
# measured phase (from 1 s after the warm-up ends to 0.5 s before the phase ends), and divides
# the CPU rate of that window by the summed Gets/s of the loadgens:
#   larderd us CPU/Get = (larderd CPU seconds in window / window seconds) / total Gets/s * 1e6
# and the same for Redis (all redis-server processes of the backend). Each loadgen also charges
# its own replica's CPU over its own measured phase (--server-pid); that figure is kept in the
# raw JSON as a cross-check. The reference rows charge redis-server CPU over the whole
# redis-benchmark run to its requests.
#
# How to read it: everything (Redis, every larderd, every loadgen) shares this machine's cores,
# so on a small machine more replicas cannot add throughput; the rows show where the CPU of a Get
# goes (larderd vs Redis) and whether the per-Get cost stays flat as replicas are added, which
# is what capacity planning multiplies by the request rate. Errors and misses must be 0.
#
#   bench/scale_out.sh           # full run: 3 s warm-up, 10 s phases, under ~8 minutes
#   bench/scale_out.sh --quick   # smoke check: 1 s warm-up, 3 s phases
# Raw JSON and the table: build-bench/bench-results/scale-out-<timestamp>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-bench"
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
  esac
done

export LC_ALL=C
HZ="$(getconf CLK_TCK)"
VALUE_SIZE=1024
KEYS=100000          # Preloaded once per backend; every Get is uniform over them.
TOTAL_INFLIGHT=50    # Split over the R loadgens: ceil(50/R) each.
CHANNELS=2           # gRPC connections per loadgen.
REPLICAS=(1 2 4)
if [[ "$QUICK" == 1 ]]; then
  WARMUP=1 DURATION=3 RB_GET=200000
else
  WARMUP=3 DURATION=10 RB_GET=1000000
fi
# The CPU window: from 1 s after the warm-up to 0.5 s before the end of the measured phase.
WINDOW_START="$(awk -v w="$WARMUP" 'BEGIN {print w + 1}')"
WINDOW="$(awk -v d="$DURATION" 'BEGIN {print d - 1.5}')"

RESULTS="$BUILD/bench-results/scale-out-$(date -u +%Y%m%d-%H%M%S)"
WORK="$(mktemp -d /tmp/larder-scale-out.XXXXXX)"
LARDERD="$BUILD/server/larderd"
LOADGEN="$BUILD/bench/larder_loadgen"
PIDS=()        # Every process started, stopped by cleanup.
REDIS_PIDS=()  # redis-server processes of the current backend.

log() { echo "scale-out: $*" >&2; }

source "$ROOT/bench/lib.sh"
stop_pids_and_remove_work_on_exit

# --- building ---------------------------------------------------------------------------------

build() {
  local common=(-S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLARDER_BUILD_BENCH=ON
    -DLARDER_BUILD_TESTS=OFF -DLARDER_BUILD_CLIENT=OFF -DLARDER_BUILD_EXAMPLES=OFF)
  command -v ccache >/dev/null && common+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake "${common[@]}" >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log" >&2; exit 1; }
  # One job, serialised with the other builds on this (small, shared) machine.
  local make_cmd=(make -C "$BUILD" -j1 larderd larder_loadgen)
  command -v flock >/dev/null && make_cmd=(flock /tmp/larder-build.lock "${make_cmd[@]}")
  if ! "${make_cmd[@]}" >"$WORK/build.log" 2>&1; then
    tail -40 "$WORK/build.log" >&2
    exit 1
  fi
}

# --- processes --------------------------------------------------------------------------------

# cpu_ticks VAR PID...: sets VAR to utime + stime, in clock ticks, summed over the pids. Bash
# builtins only (no fork), so a snapshot of several processes takes microseconds.
cpu_ticks() {
  local -n out="$1"
  local pid line fields
  shift
  out=0
  for pid in "$@"; do
    [[ -r "/proc/$pid/stat" ]] || continue
    read -r line <"/proc/$pid/stat" || continue
    read -r -a fields <<<"${line##*) }"
    out=$((out + fields[11] + fields[12]))  # Fields 14 and 15 of /proc/PID/stat.
  done
}

# CPU seconds (user + system) summed over the given pids.
cpu_of() {
  local ticks
  cpu_ticks ticks "$@"
  awk -v t="$ticks" -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}'
}

# A free port for a cluster node: <= 55535, and port + 10000 (its cluster bus) free as well.
node_port() {
  local port
  for _ in $(seq 100); do
    port="$(free_port)"
    ((port <= 55535)) || continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  log "no free port for a cluster node"
  return 1
}

# start_redis_node NAME PORT EXTRA...: a node on a port of the caller's choosing (a cluster node's
# stays below 55536 for its bus) in a directory of its own; no persistence, 4 GB without eviction;
# appends to REDIS_PIDS.
start_redis_node() {
  local name="$1" port="$2"
  shift 2
  mkdir -p "$WORK/$name"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --maxmemory 4gb --maxmemory-policy noeviction --dir "$WORK/$name" "$@" \
    >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  REDIS_PIDS+=("$pid")
  wait_for "$WORK/$name.log" 30 "Ready to accept connections" "$pid" ||
    { cat "$WORK/$name.log" >&2; exit 1; }
}

stop() {
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# redis_sum PORT... FIELD: an INFO field summed over nodes (e.g. keyspace_hits).
redis_sum() {
  local field="${*: -1}" port total=0 value
  for port in "${@:1:$#-1}"; do
    value="$(redis-cli -h 127.0.0.1 -p "$port" INFO stats | tr -d '\r' |
      sed -n "s/^$field://p")"
    total=$((total + ${value:-0}))
  done
  echo "$total"
}

dbsize_sum() {
  local port total=0
  for port in "$@"; do
    total=$((total + $(redis-cli -h 127.0.0.1 -p "$port" DBSIZE)))
  done
  echo "$total"
}

# --- the reference data: redis-benchmark's own keys ---------------------------------------------

# preload_reference PORT PREFIX: SET key:<PREFIX>%012d (ids [0, KEYS)) to VALUE_SIZE bytes on
# one server, through redis-cli --pipe. PREFIX is "" on a standalone server and the hash tag
# redis-benchmark --cluster uses for that node ("{06S}:") on a cluster.
preload_reference() {
  local port="$1" out
  PREFIX="$2" awk -v n="$KEYS" -v size="$VALUE_SIZE" 'BEGIN {
    p = ENVIRON["PREFIX"]; v = sprintf("%*s", size, ""); gsub(/ /, "x", v)
    for (i = 0; i < n; i++) {
      k = sprintf("key:%s%012d", p, i)
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, size, v
    }
  }' >"$WORK/reference.resp"
  out="$(redis-cli -h 127.0.0.1 -p "$port" --pipe <"$WORK/reference.resp" 2>&1)" || true
  rm -f "$WORK/reference.resp"
  grep -q "errors: 0, replies: $KEYS" <<<"$out" ||
    { log "reference preload on port $port failed: $out"; exit 1; }
}

# The key prefix redis-benchmark --cluster gives each node, found by letting it SET a few keys
# (it tags every key it sends to a node with one hash tag owned by that node).
cluster_reference_prefixes() {
  redis-benchmark --cluster -h 127.0.0.1 -p "$1" -c 6 -n 60 -r "$KEYS" -d "$VALUE_SIZE" \
    -t set -q >/dev/null 2>&1
  local port key
  for port in "$@"; do
    key="$(redis-cli -h 127.0.0.1 -p "$port" --scan --pattern 'key:*' | head -1)"
    [[ -n "$key" ]] || { log "no redis-benchmark key on node $port"; exit 1; }
    sed -E 's/^key:(.*)[0-9]{12}$/\1/' <<<"$key"
  done
}

# reference LABEL REDIS_PORTS(comma) ARGS...: redis-benchmark GET, Redis CPU over the run.
reference() {
  local label="$1" ports before after hits misses
  IFS=, read -r -a ports <<<"$2"
  shift 2
  log "redis-benchmark $label"
  hits="$(redis_sum "${ports[@]}" keyspace_hits)"
  misses="$(redis_sum "${ports[@]}" keyspace_misses)"
  before="$(cpu_of "${REDIS_PIDS[@]}")"
  timeout 600 redis-benchmark -h 127.0.0.1 -p "${ports[0]}" -c "$TOTAL_INFLIGHT" -n "$RB_GET" \
    -r "$KEYS" -t get --csv "$@" >"$WORK/$label.csv"
  after="$(cpu_of "${REDIS_PIDS[@]}")"
  hits=$(($(redis_sum "${ports[@]}" keyspace_hits) - hits))
  misses=$(($(redis_sum "${ports[@]}" keyspace_misses) - misses))
  tail -1 "$WORK/$label.csv" | tr -d '"' | awk -F, -v b="$before" -v a="$after" -v n="$RB_GET" \
    -v h="$hits" -v m="$misses" -v label="$label" \
    '{printf "{\"label\":\"%s\",\"requests\":%d,\"rps\":%s,\"p50_us\":%.1f,\"p99_us\":%.1f,",
        label, n, $2, $5 * 1000, $7 * 1000
      printf "\"redis_cpu_s\":%.2f,\"redis_cpu_us_per_get\":%.3f,\"hits\":%d,\"misses\":%d}\n",
        a - b, (a - b) * 1e6 / n, h, m}' >"$RESULTS/$label.json"
}

# --- the larderd runs ---------------------------------------------------------------------------

PRELOADED=0

# replicas BACKEND R LARDERD_FLAGS...: R larderd on the current backend, R loadgens at once.
replicas() {
  local backend="$1" r="$2"
  shift 2
  local label="$backend-r$r" lpids=() lports=() i
  for ((i = 0; i < r; i++)); do
    if ! start_larderd "$label-larderd$i" --engine=redis "$@"; then
      stop "${lpids[@]}"
      echo "{\"label\":\"$label\",\"failed\":\"larderd $i did not start\"}" >"$RESULTS/$label.json"
      return 0
    fi
    lpids+=("$LARDER_PID")
    lports+=("$LARDER_PORT")
  done
  if [[ "$PRELOADED" == 0 ]]; then
    log "$backend: preloading $KEYS keys through one replica"
    "$LOADGEN" --label="$backend-preload" --target="127.0.0.1:${lports[0]}" \
      --value-size="$VALUE_SIZE" --preload-keys="$KEYS" --duration=0 \
      >"$RESULTS/$backend-preload.json"
    PRELOADED=1
  fi
  local inflight=$(((TOTAL_INFLIGHT + r - 1) / r)) gens=()
  log "$label: $r loadgens x $inflight in flight"
  for ((i = 0; i < r; i++)); do
    "$LOADGEN" --label="$label-loadgen$i" --target="127.0.0.1:${lports[i]}" --keys="$KEYS" \
      --value-size="$VALUE_SIZE" --inflight="$inflight" --channels="$CHANNELS" \
      --warmup="${WARMUP}s" --duration="${DURATION}s" --server-pid="${lpids[i]}" \
      >"$RESULTS/$label-loadgen$i.json" 2>"$WORK/$label-loadgen$i.err" &
    gens+=($!)
    PIDS+=($!)
  done
  # Both snapshots are taken with builtins only, right after reading the clock.
  local started="$EPOCHREALTIME" l0 r0 t0 l1 r1 t1
  sleep "$(awk -v s="$started" -v n="$EPOCHREALTIME" -v w="$WINDOW_START" \
    'BEGIN {d = s + w - n; print (d > 0) ? d : 0}')"
  t0="$EPOCHREALTIME"
  cpu_ticks l0 "${lpids[@]}"
  cpu_ticks r0 "${REDIS_PIDS[@]}"
  sleep "$(awk -v t="$t0" -v n="$EPOCHREALTIME" -v w="$WINDOW" \
    'BEGIN {d = w - (n - t); print (d > 0) ? d : 0}')"
  t1="$EPOCHREALTIME"
  cpu_ticks l1 "${lpids[@]}"
  cpu_ticks r1 "${REDIS_PIDS[@]}"
  local failed=""
  for ((i = 0; i < r; i++)); do
    wait "${gens[i]}" || failed="loadgen $i: $(tail -1 "$WORK/$label-loadgen$i.err")"
  done
  stop "${lpids[@]}"
  if [[ -n "$failed" ]]; then
    log "$label failed: $failed"
    jq -n --arg l "$label" --arg f "$failed" '{label: $l, failed: $f}' >"$RESULTS/$label.json"
    return 0
  fi
  jq -s --arg l "$label" --argjson r "$r" --argjson inflight "$inflight" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --argjson window "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" \
    --argjson larderd "$(awk -v t=$((l1 - l0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}')" \
    --argjson redis "$(awk -v t=$((r1 - r0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}')" '
    (map(.ops_per_s) | add) as $rate
    | {label: $l, replicas: $r, inflight_each: $inflight, gets_per_s: $rate,
       errors: (map(.errors) | add), misses: (map(.misses) | add),
       p99_us_max: (map(.p99_us) | max), window_s: $window, load_average: $load,
       larderd_cpu_s: $larderd, redis_cpu_s: $redis,
       larderd_us_per_get: ($larderd / $window / $rate * 1e6),
       redis_us_per_get: ($redis / $window / $rate * 1e6),
       total_us_per_get: (($larderd + $redis) / $window / $rate * 1e6),
       larderd_us_per_get_loadgen: ((map(.server_cpu_s) | add) / (map(.ops) | add) * 1e6),
       client_us_per_get: ((map(.client_cpu_us_per_op * .ops) | add) / (map(.ops) | add))}' \
    "${RESULTS}/$label"-loadgen*.json >"$RESULTS/$label.json"
}

# --- the backends -------------------------------------------------------------------------------

run_standalone() {
  REDIS_PIDS=() PRELOADED=0
  local port r
  port="$(free_port)"
  start_redis_node standalone "$port"
  log "standalone: redis-server on $port"
  preload_reference "$port" ""
  for r in "${REPLICAS[@]}"; do
    replicas standalone "$r" --redis-url="redis://127.0.0.1:$port/0" --redis-mode=standalone
  done
  reference standalone-redis-benchmark "$port"
  stop "${REDIS_PIDS[@]}"
}

run_cluster() {
  REDIS_PIDS=() PRELOADED=0
  local ports=() port i r out
  for i in 0 1 2; do
    port="$(node_port)"
    start_redis_node "cluster-$port" "$port" --cluster-enabled yes \
      --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 1000
    ports+=("$port")
  done
  log "cluster: masters on ${ports[*]}"
  out="$(timeout 60 redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" \
    --cluster-replicas 0 --cluster-yes 2>&1)" || true
  grep -q "All 16384 slots covered" <<<"$out" || { log "cluster create failed: $out"; exit 1; }
  for port in "${ports[@]}"; do
    for _ in $(seq 300); do
      redis-cli -h 127.0.0.1 -p "$port" CLUSTER INFO | grep -q "cluster_state:ok" && break
      sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p "$port" CLUSTER INFO | grep -q "cluster_state:ok" ||
      { log "node $port: cluster_state is not ok"; exit 1; }
  done
  local prefixes=()
  mapfile -t prefixes < <(cluster_reference_prefixes "${ports[@]}")
  [[ "${#prefixes[@]}" == 3 ]] || { log "redis-benchmark --cluster key tags not found"; exit 1; }
  for i in 0 1 2; do preload_reference "${ports[i]}" "${prefixes[i]}"; done
  local seeds
  seeds="$(printf '127.0.0.1:%s,' "${ports[@]}")"
  for r in "${REPLICAS[@]}"; do
    replicas cluster "$r" --redis-url="redis://${seeds%,}" --redis-mode=cluster
  done
  reference cluster-redis-benchmark "$(IFS=,; echo "${ports[*]}")" --cluster
  stop "${REDIS_PIDS[@]}"
}

# --- the table ----------------------------------------------------------------------------------

fmt() {
  [[ -z "$1" || "$1" == "null" || "$1" == "n/a" ]] && { echo n/a; return; }
  awk -v x="$1" -v d="${2:-1}" 'BEGIN {printf "%.*f", d, x}'
}

field() {
  [[ -s "$RESULTS/$1.json" ]] || { echo n/a; return; }
  jq -r --arg f "$2" '.[$f] // "n/a"' "$RESULTS/$1.json"
}

ROW='%-28s %8s %10s %7s %8s %10s %10s %10s\n'

print_table() {
  echo
  echo "larderd replicas on Redis, $(date -u '+%Y-%m-%d %H:%M UTC')$([[ "$QUICK" == 1 ]] &&
    echo ', --quick')"
  echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), Linux $(uname -r);" \
    "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "load: ${VALUE_SIZE} B values, uniform Get over ${KEYS} keys, R loadgens x" \
    "ceil(${TOTAL_INFLIGHT}/R) in flight, ${CHANNELS} gRPC channels each; ${DURATION} s phases" \
    "after ${WARMUP} s warm-up; CPU from /proc over a ${WINDOW} s window inside the phase"
  echo
  # shellcheck disable=SC2059
  printf "$ROW" backend replicas "Gets/s" errors "p99 us" "larderd us" "Redis us" "total us"
  # shellcheck disable=SC2059
  printf "$ROW" "" "" "" "" "" "CPU/Get" "CPU/Get" "CPU/Get"
  printf '%s\n' "$(printf '%.0s-' {1..100})"
  local backend name r label value
  for backend in standalone cluster; do
    [[ "$backend" == standalone ]] && name="standalone Redis" || name="Redis Cluster, 3 masters"
    for r in "${REPLICAS[@]}"; do
      label="$backend-r$r"
      # shellcheck disable=SC2059
      printf "$ROW" "$name" "$r" "$(fmt "$(field "$label" gets_per_s)" 0)" \
        "$(field "$label" errors)" "$(fmt "$(field "$label" p99_us_max)" 0)" \
        "$(fmt "$(field "$label" larderd_us_per_get)")" \
        "$(fmt "$(field "$label" redis_us_per_get)")" "$(fmt "$(field "$label" total_us_per_get)")"
    done
  done
  for backend in standalone cluster; do
    label="$backend-redis-benchmark"
    [[ "$backend" == standalone ]] && name="redis-benchmark GET" ||
      name="redis-benchmark --cluster"
    # shellcheck disable=SC2059
    printf "$ROW" "$name" "-" "$(fmt "$(field "$label" rps)" 0)" "-" \
      "$(fmt "$(field "$label" p99_us)" 0)" "-" "$(fmt "$(field "$label" redis_cpu_us_per_get)")" \
      "$(fmt "$(field "$label" redis_cpu_us_per_get)")"
  done
  echo
  echo "redis-benchmark rows: -c ${TOTAL_INFLIGHT} -r ${KEYS} -n ${RB_GET} -t get, no larderd, on" \
    "its own ${VALUE_SIZE} B keys (hits: $(field standalone-redis-benchmark hits) /" \
    "$(field cluster-redis-benchmark hits), misses: $(field standalone-redis-benchmark misses) /" \
    "$(field cluster-redis-benchmark misses))."
  echo "Cross-check, larderd us CPU/Get as each loadgen charged its own replica over its phase:" \
    "$(for backend in standalone cluster; do for r in "${REPLICAS[@]}"; do
      printf '%s-r%s %s  ' "$backend" "$r" \
        "$(fmt "$(field "$backend-r$r" larderd_us_per_get_loadgen)")"; done; done)"
  for backend in standalone cluster; do
    for r in "${REPLICAS[@]}"; do
      label="$backend-r$r"
      [[ "$(field "$label" failed)" == n/a ]] ||
        echo "WARNING: $label failed: $(field "$label" failed)"
      for name in errors misses; do
        value="$(field "$label" "$name")"
        [[ "$value" == n/a || "$value" == 0 ]] || echo "WARNING: $label had $value $name"
      done
    done
  done
  echo "Raw results: $RESULTS"
}

main() {
  for tool in redis-server redis-cli redis-benchmark jq cmake; do
    command -v "$tool" >/dev/null ||
      { log "$tool is missing: run bench/install-bench-deps.sh"; exit 2; }
  done
  mkdir -p "$RESULTS"
  log "building in $BUILD"
  build
  LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
  log "results in $RESULTS (load average: $LOAD_BEFORE)"
  run_standalone
  run_cluster
  print_table | tee "$RESULTS/table.txt"
}

main
