#!/usr/bin/env bash
# bench/near_bench.sh: the SDK's coherent near cache (ClientOptions::near_cache), measured by
# build-bench/bench/larder_near_bench (bench/near/) against larderd (memory engine) on a free
# 127.0.0.1 port:
#   - instructions per near-cache hit of a 1 KiB value, counted by callgrind on the calling
#     thread only (--collect-atstart=no, toggled around the counted hits): NearCache::Lookup
#     alone, Client::Get, and the HTTP layer's LarderResponseStore::Lookup (the Get plus the
#     record's decoding); Lookup and Get also with Abseil's Mutex deadlock detection off, as
#     larderd runs (Debian's libabsl leaves it on in every process that does not turn it off);
#   - the propagation delay of a write to another client's near cache, at bounded write rates:
#     one writer client, one near-cache reader client polling the keys in a tight loop, both in
#     one process on std::chrono::steady_clock (p50 / p90 / p99 / max from the Set's
#     acknowledgement to the reader's first read of that value or a later one).
# Prints rows in the format of bench/table.sh and keeps one JSON line per measurement.
#
#   bench/near_bench.sh              # 20,000 counted hits per mode, 5 s per rate; ~2 minutes
#   bench/near_bench.sh --quick      # 5,000 hits, 3 s per rate
#   --rates=1000,10000               # write rates of the propagation rows (writes per second)
#   --keys=N                         # keys written round-robin and polled (default 8)
#   --build-dir=DIR                  # default build-bench/
#   --no-build                       # use DIR's binaries as they are
#   --results=DIR                    # JSON lines (default: BUILD/bench-results/near-TIME)
#   --rows-only                      # print the table's rows alone (for bench/run.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-bench"
OPS=20000 DURATION_S=5 RATES=1000,10000 KEYS=8
RESULTS="" BUILD_IT=1 ROWS_ONLY=0 QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 OPS=5000 DURATION_S=3 ;;
    --rates=*) RATES="${arg#*=}" ;;
    --keys=*) KEYS="${arg#*=}" ;;
    --build-dir=*) BUILD="$(cd "$ROOT" && realpath -m "${arg#*=}")" ;;
    --no-build) BUILD_IT=0 ;;
    --results=*) RESULTS="$(realpath -m "${arg#*=}")" ;;
    --rows-only) ROWS_ONLY=1 ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--rates=R,R] [--keys=N] [--build-dir=DIR] [--no-build]" \
      "[--results=DIR] [--rows-only]" >&2; exit 2 ;;
  esac
done

[[ -n "$RESULTS" ]] || RESULTS="$BUILD/bench-results/near-$(date -u +%Y%m%d-%H%M%S)"
WORK="$(mktemp -d /tmp/larder-near-bench.XXXXXX)"
LARDERD="$BUILD/server/larderd"
BENCH="$BUILD/bench/larder_near_bench"
PIDS=()

log() { echo "near-bench: $*" >&2; }

source "$ROOT/bench/lib.sh"
source "$ROOT/bench/bench_build.sh"
stop_pids_and_remove_work_on_exit

# --- measuring --------------------------------------------------------------------------------

# cost LABEL MODE DETECTION: OPS hits of MODE under callgrind (deadlock detection true / false);
# keeps the bench's JSON line plus the instructions counted as $RESULTS/near-cost-LABEL.json.
cost() {
  local label="$1" mode="$2" detection="$3" out="$RESULTS/callgrind.near-$1" line ir
  log "callgrind: $OPS hits of $mode (deadlock detection $detection)"
  if ! line="$(timeout 600 valgrind --tool=callgrind --collect-atstart=no \
    --callgrind-out-file="$out" "$BENCH" --mode="$mode" --target="$TARGET" --ops="$OPS" \
    --mutex-deadlock-detection="$detection" --label="$label" 2>"$WORK/$label.log")"; then
    log "$label failed: $(tail -2 "$WORK/$label.log")"
    return 0
  fi
  ir="$(callgrind_annotate "$out" 2>/dev/null |
    awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
  jq -c --argjson ir "${ir:-null}" --argjson detection "$detection" \
    '. + {ir: $ir, ir_per_op: (if $ir then $ir / .ops else null end),
      deadlock_detection: $detection}' <<<"$line" >"$RESULTS/near-cost-$label.json"
}

# propagation RATE: the writer at RATE writes per second for DURATION_S seconds.
propagation() {
  log "propagation at $1 writes/s for ${DURATION_S}s over $KEYS keys"
  timeout $((DURATION_S + 120)) "$BENCH" --mode=propagation --target="$TARGET" --rate="$1" \
    --duration="${DURATION_S}s" --keys="$KEYS" --label="propagation-$1" \
    >"$RESULTS/near-propagation-$1.json" 2>"$WORK/propagation-$1.log" ||
    log "propagation at $1/s failed: $(tail -2 "$WORK/propagation-$1.log")"
}

# --- the table --------------------------------------------------------------------------------

get() {
  [[ -s "$RESULTS/$1.json" ]] || { echo n/a; return; }
  jq -r --arg f "$2" '.[$f] // "n/a"' "$RESULTS/$1.json"
}

# shellcheck source=bench/table.sh
source "$ROOT/bench/table.sh"

# value_row LABEL VALUE DECIMALS: a figure without a reference.
value_row() {
  printf '%-58s %12s %12s %8s %9s %6s\n' "$1" "$(fmt "$2" "$3")" "-" "-" "info" "info"
}

print_near_rows() {
  local rate
  row "Near-cache hit: Client::Get, Ir (vs a 2,000 Ir budget)" \
    "$(get near-cost-get ir_per_op)" 2000 0 "<=" 1.0
  row "  the same, Mutex deadlock detection off (as larderd)" \
    "$(get near-cost-get-nodd ir_per_op)" 2000 0 "<=" 1.0
  row "  NearCache::Lookup alone, Ir (vs Client::Get)" \
    "$(get near-cost-lookup ir_per_op)" "$(get near-cost-get ir_per_op)" 0
  row "  NearCache::Lookup, deadlock detection off (vs Get)" \
    "$(get near-cost-lookup-nodd ir_per_op)" "$(get near-cost-get-nodd ir_per_op)" 0
  row "  HTTP layer's store lookup (Get + decode), Ir (vs Get)" \
    "$(get near-cost-store-lookup ir_per_op)" "$(get near-cost-get ir_per_op)" 0
  for rate in ${RATES//,/ }; do
    value_row "Near propagation at ${rate} writes/s: p50, us" \
      "$(get "near-propagation-$rate" p50_us)" 0
    value_row "  p99, us" "$(get "near-propagation-$rate" p99_us)" 0
    value_row "  max, us" "$(get "near-propagation-$rate" max_us)" 0
  done
}

print_near_notes() {
  local rate file
  echo
  echo "Near-cache rows: larder_near_bench against larderd --engine=memory; $OPS counted hits" \
    "of one 1 KiB value per callgrind row (user-space instructions of the calling thread);" \
    "propagation: ${DURATION_S}s of Sets over $KEYS keys by one client, read in a tight loop" \
    "by a near-cache client in the same process (Set acknowledged -> first read of it or a" \
    "later value)."
  for rate in ${RATES//,/ }; do
    file="$RESULTS/near-propagation-$rate.json"
    [[ -s "$file" ]] || continue
    jq -r '"  at \(.rate)/s: \(.write_rate) writes/s achieved, \(.reached) of \(.writes)" +
      " reached (\(.superseded) overwritten first, \(.reached_before_ack) before the ack)," +
      " reader: \(.reader_gets) Gets, \(.reader_near_hits) near, refetch p50 / p99" +
      " \(.refetch_p50_us) / \(.refetch_p99_us) us"' "$file"
    jq -r 'if .stale_at_end > 0 then "WARNING: at \(.rate)/s, \(.stale_at_end) keys were" +
      " still stale at the end" elif .write_rate < 0.9 * .rate then "WARNING: at \(.rate)/s the" +
      " writer fell behind (\(.write_rate)/s)" else empty end' "$file"
  done
  echo "Raw results: $RESULTS"
}

main() {
  for tool in valgrind callgrind_annotate jq cmake; do
    command -v "$tool" >/dev/null ||
      { log "$tool is missing: run bench/install-bench-deps.sh"; exit 2; }
  done
  mkdir -p "$RESULTS"
  if [[ "$BUILD_IT" == 1 ]]; then
    log "building larderd and larder_near_bench in $BUILD"
    bench_build "$BUILD" "$WORK" larderd larder_near_bench
  fi
  [[ -x "$BENCH" ]] || { log "$BENCH is missing (the SDK is needed to build it)"; exit 1; }
  start_larderd near-larderd --engine=memory || exit 1
  TARGET="127.0.0.1:$LARDER_PORT"
  cost lookup lookup true
  cost lookup-nodd lookup false
  cost get get true
  cost get-nodd get false
  cost store-lookup store-lookup true
  for rate in ${RATES//,/ }; do propagation "$rate"; done
  if [[ "$ROWS_ONLY" == 1 ]]; then
    print_near_rows
    print_near_notes >&2
    return
  fi
  echo
  echo "larder near cache, $(date -u '+%Y-%m-%d %H:%M UTC')$([[ "$QUICK" == 1 ]] && echo ', --quick')"
  echo
  printf '%-58s %12s %12s %8s %9s %6s\n' "metric" "larder" "reference" "ratio" "target" "result"
  printf '%s\n' "$(printf '%.0s-' {1..110})"
  print_near_rows
  print_near_notes
}

main
