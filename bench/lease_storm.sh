#!/usr/bin/env bash
# bench/lease_storm.sh: what leases save in a hot-key expiry storm. N processes (each a
# larder::Cached caller: tests/client/lease_e2e_herd_child) call one cached function on one hot
# key at the same instant, M rounds in a row; the key's TTL is shorter than the round period, so
# it has expired at the start of every round. Without leases (fleet_single_flight=false) every
# process that misses runs the function — a call to the database behind the cache; with leases
# one lease holder per round runs it, and the others wait for its value or serve the stale one
# larderd kept. Prints database calls per round with and without leases, the share saved, and
# each call's latency as the callers saw it, on the memory engine, on two larderd replicas
# sharing one redis-server and on two sharing two memcached servers (when installed).
#
#   bench/lease_storm.sh              # 20 processes x 40 rounds per row, about 1.5 minutes
#   bench/lease_storm.sh --quick      # 20 processes x 12 rounds
#   --processes=N --rounds=M          # the storm's size
#   --period-ms=P --compute-ms=C --ttl-ms=T   # round period (250), function time (50), TTL (100)
#   --build-dir=DIR                   # default build/: the child is built with the tests
#   --no-build                        # use DIR's binaries as they are
#   --results=DIR                     # JSON lines (default: BUILD/bench-results/lease-storm-TIME)
#   --memory-only                     # skip the Redis and memcached rows
#   --rows-only                       # print the table's rows alone
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
PROCESSES=20 ROUNDS=40 PERIOD_MS=250 COMPUTE_MS=50 TTL_MS=100
RESULTS="" BUILD_IT=1 MEMORY_ONLY=0 ROWS_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --quick) ROUNDS=12 ;;
    --processes=*) PROCESSES="${arg#*=}" ;;
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --period-ms=*) PERIOD_MS="${arg#*=}" ;;
    --compute-ms=*) COMPUTE_MS="${arg#*=}" ;;
    --ttl-ms=*) TTL_MS="${arg#*=}" ;;
    --build-dir=*) BUILD="$(cd "$ROOT" && realpath -m "${arg#*=}")" ;;
    --no-build) BUILD_IT=0 ;;
    --results=*) RESULTS="$(realpath -m "${arg#*=}")" ;;
    --memory-only) MEMORY_ONLY=1 ;;
    --rows-only) ROWS_ONLY=1 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--processes=N] [--rounds=M] [--period-ms=P] [--compute-ms=C]" \
      "[--ttl-ms=T] [--build-dir=DIR] [--no-build] [--results=DIR] [--memory-only]" \
      "[--rows-only]" >&2; exit 2 ;;
  esac
done
((TTL_MS + COMPUTE_MS < PERIOD_MS)) ||
  { echo "$0: ttl + compute must be below the period, so the key expires every round" >&2; exit 2; }

[[ -n "$RESULTS" ]] || RESULTS="$BUILD/bench-results/lease-storm-$(date -u +%Y%m%d-%H%M%S)"
WORK="$(mktemp -d /tmp/larder-lease-storm.XXXXXX)"
LARDERD="$BUILD/server/larderd"
CHILD="$BUILD/tests/client/lease_e2e_herd_child"
PIDS=()

log() { echo "lease-storm: $*" >&2; }

source "$ROOT/bench/lib.sh"
stop_pids_and_remove_work_on_exit

build() {
  [[ "$BUILD_IT" == 1 ]] || return 0
  if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$BUILD" >"$WORK/configure.log" 2>&1 ||
      { cat "$WORK/configure.log" >&2; exit 1; }
  fi
  local make_cmd=(cmake --build "$BUILD" -j2 --target larderd lease_e2e_herd_child)
  command -v flock >/dev/null && make_cmd=(flock /tmp/larder-build.lock "${make_cmd[@]}")
  "${make_cmd[@]}" >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; exit 1; }
}

# summarise LABEL LEASES DIR: one JSON line from the children's runs and results files.
summarise() {
  local label="$1" leases="$2" dir="$3" p50 p99 calls
  calls="$(wc -l <"$dir/results")"
  p50="$(cut -d' ' -f3 "$dir/results" | sort -n | awk -v n="$calls" 'NR == int(n * 0.5 + 0.5)')"
  p99="$(cut -d' ' -f3 "$dir/results" | sort -n | awk -v n="$calls" 'NR == int(n * 0.99 + 0.5)')"
  awk -v label="$label" -v leases="$leases" -v rounds="$ROUNDS" -v calls="$calls" \
    -v p50="${p50:-0}" -v p99="${p99:-0}" '
    { runs[$1]++; total++ }
    END {
      for (r = 0; r < rounds; r++) {
        if (runs[r] > max) max = runs[r]
        if (runs[r] > 1) multi++
      }
      printf "{\"label\":\"%s\",\"leases\":%s,\"rounds\":%d,\"calls\":%d,\"runs\":%d,", label,
        leases, rounds, calls, total
      printf "\"runs_per_round\":%.2f,\"max_runs_per_round\":%d,\"rounds_with_several_runs\":%d,",
        total / rounds, max, multi
      printf "\"call_p50_ms\":%.1f,\"call_p99_ms\":%.1f}\n", p50 / 1000, p99 / 1000
    }' "$dir/runs" >"$RESULTS/lease-storm-$label.json"
}

# storm LABEL LEASES TARGET...: PROCESSES children dealt over the targets, one shared start.
storm() {
  local label="$1" leases="$2"
  shift 2
  local targets=("$@") dir="$WORK/$label" start i pids=() failed=0
  mkdir -p "$dir"
  : >"$dir/runs"
  : >"$dir/results"
  start=$(($(date +%s%3N) + 1000 + PROCESSES * 100))
  log "$label: $PROCESSES processes x $ROUNDS rounds, leases $leases"
  for ((i = 0; i < PROCESSES; i++)); do
    "$CHILD" --target="${targets[i % ${#targets[@]}]}" --namespace_name="storm-$label" \
      --start_unix_ms="$start" --period_ms="$PERIOD_MS" --rounds="$ROUNDS" \
      --compute_ms="$COMPUTE_MS" --ttl_ms="$TTL_MS" --hot_key=hot --leases="$leases" \
      --runs_file="$dir/runs" --results_file="$dir/results" 2>>"$dir/stderr" &
    pids+=($!)
    PIDS+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  [[ ! -s "$dir/stderr" ]] || log "$label: children's stderr: $(head -c 2000 "$dir/stderr")"
  if [[ "$failed" == 1 ]]; then
    echo "{\"label\":\"$label\",\"failed\":true}" >"$RESULTS/lease-storm-$label.json"
    return 0
  fi
  summarise "$label" "$leases" "$dir"
}

run_memory() {
  start_larderd memory --engine=memory || exit 1
  storm memory-off false "127.0.0.1:$LARDER_PORT"
  storm memory-on true "127.0.0.1:$LARDER_PORT"
}

run_redis() {
  [[ "$MEMORY_ONLY" == 0 ]] || return 0
  command -v redis-server >/dev/null || { log "no redis-server: Redis rows are n/a"; return 0; }
  local ports=()
  start_redis redis
  for i in 0 1; do
    start_larderd "redis-replica$i" --engine=redis --redis-url="redis://127.0.0.1:$REDIS_PORT/0" ||
      exit 1
    ports+=("127.0.0.1:$LARDER_PORT")
  done
  storm redis2-off false "${ports[@]}"
  storm redis2-on true "${ports[@]}"
}

run_memcached() {
  [[ "$MEMORY_ONLY" == 0 ]] || return 0
  command -v memcached >/dev/null || { log "no memcached: memcached rows are n/a"; return 0; }
  local servers=() ports=() port i as_root=()
  # memcached refuses to run as root unless told which user to be.
  [[ "$(id -u)" != 0 ]] || as_root=(-u root)
  for i in 0 1; do
    port="$(free_port)"
    memcached -l 127.0.0.1 -p "$port" -U 0 -m 64 -t 1 "${as_root[@]}" \
      >"$WORK/memcached$i.log" 2>&1 &
    PIDS+=($!)
    servers+=("127.0.0.1:$port")
  done
  sleep 0.5
  for i in 0 1; do
    start_larderd "memcached-replica$i" --engine=memcached \
      --memcached-servers="$(IFS=,; echo "${servers[*]}")" || exit 1
    ports+=("127.0.0.1:$LARDER_PORT")
  done
  storm memcached2-off false "${ports[@]}"
  storm memcached2-on true "${ports[@]}"
}

# field LABEL NAME: a field of a kept result, or n/a.
field() {
  local file="$RESULTS/lease-storm-$1.json"
  [[ -s "$file" ]] || { echo n/a; return; }
  sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$file" | grep . || echo n/a
}

ROW='%-34s %7s %9s %10s %8s %10s %9s %9s\n'

print_rows() {
  local backend name leases label
  for backend in memory redis2 memcached2; do
    [[ "$backend" == memory || "$MEMORY_ONLY" == 0 ]] || continue
    case "$backend" in
      memory) name="memory engine" ;;
      redis2) name="2 replicas, one Redis" ;;
      *) name="2 replicas, 2 memcached" ;;
    esac
    for leases in off on; do
      label="$backend-$leases"
      # shellcheck disable=SC2059
      printf "$ROW" "$name" "$leases" "$(field "$label" runs)" "$(field "$label" runs_per_round)" \
        "$(field "$label" max_runs_per_round)" "$(field "$label" rounds_with_several_runs)" \
        "$(field "$label" call_p50_ms)" "$(field "$label" call_p99_ms)"
    done
  done
}

# saved BACKEND: database calls saved by leases, as a share and a factor.
saved() {
  awk -v off="$(field "$1-off" runs)" -v on="$(field "$1-on" runs)" 'BEGIN {
    if (off == "n/a" || on == "n/a" || off == 0 || on == 0) { print "n/a"; exit }
    printf "%.1f%% fewer database calls (%.1fx)", (1 - on / off) * 100, off / on }'
}

print_table() {
  echo
  echo "Lease storm, $(date -u '+%Y-%m-%d %H:%M UTC'): $PROCESSES processes x $ROUNDS rounds," \
    "one hot key expiring every round (period ${PERIOD_MS} ms, ttl ${TTL_MS} ms, function" \
    "${COMPUTE_MS} ms); machine: $(nproc) cores"
  echo
  # shellcheck disable=SC2059
  printf "$ROW" backend leases "DB calls" "per round" "max" "rounds >1" "p50 ms" "p99 ms"
  printf '%s\n' "$(printf '%.0s-' {1..102})"
  print_rows
  echo
  echo "memory engine: $(saved memory)"
  [[ "$MEMORY_ONLY" == 1 ]] || echo "2 replicas on one Redis: $(saved redis2)"
  [[ "$MEMORY_ONLY" == 1 ]] || echo "2 replicas on two memcached servers: $(saved memcached2)"
  echo "calls: $((PROCESSES * ROUNDS)) per row (p50/p99: each call's latency, as the caller saw it)"
  echo "Raw results: $RESULTS"
}

main() {
  mkdir -p "$RESULTS"
  build
  [[ -x "$CHILD" && -x "$LARDERD" ]] || { log "$CHILD or $LARDERD is missing"; exit 1; }
  run_memory
  run_redis
  run_memcached
  if [[ "$ROWS_ONLY" == 1 ]]; then print_rows; else print_table | tee "$RESULTS/table.txt"; fi
}

main
