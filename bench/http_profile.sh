#!/usr/bin/env bash
# bench/http_profile.sh: where the example service's CPU goes per request, in user-space
# instructions (callgrind) and system calls (strace -c). Runs larderd (memory engine) and
# examples/httplib_service (--near_cache_bytes=64 MiB unless told otherwise) on free 127.0.0.1
# ports, the service under `valgrind --tool=callgrind --instr-atstart=no`; stores a 1 KiB-body
# item, waits until the near cache answers it, then counts a bounded wrk load (-t1 -c4) of
# GET /items/1 (cached hits) and, in a second dump, of GET /uncached (the control: cpp-httplib
# and the handler, no cache). Prints Ir per request, inclusive costs of the functions on a hit's
# path, and self cost by component. With --syscalls, also counts the service's system calls per
# hit under strace -f -c (a second, uninstrumented service run).
#
#   bench/http_profile.sh                       # ~1.5 minutes once built
#   --seconds=N           wrk duration of each counted load (default 10)
#   --service-arg=ARG     replaces the near-cache flag (repeatable; e.g. --near_cache_bytes=0)
#   --syscalls            add the strace count
#   --build-dir=DIR --no-build --out=DIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-bench"
SECONDS_PER_LOAD=10 BUILD_IT=1 SYSCALLS=0 OUT=""
SERVICE_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --seconds=*) SECONDS_PER_LOAD="${arg#*=}" ;;
    --service-arg=*) SERVICE_ARGS+=("${arg#*=}") ;;
    --syscalls) SYSCALLS=1 ;;
    --build-dir=*) BUILD="$(cd "$ROOT" && realpath -m "${arg#*=}")" ;;
    --no-build) BUILD_IT=0 ;;
    --out=*) OUT="$(realpath -m "${arg#*=}")" ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--seconds=N] [--service-arg=ARG]... [--syscalls] [--build-dir=DIR]" \
      "[--no-build] [--out=DIR]" >&2; exit 2 ;;
  esac
done
[[ "${#SERVICE_ARGS[@]}" -gt 0 ]] || SERVICE_ARGS=(--near_cache_bytes=67108864)
[[ -n "$OUT" ]] || OUT="$BUILD/bench-results/http-profile-$(date -u +%Y%m%d-%H%M%S)"
WORK="$(mktemp -d /tmp/larder-http-profile.XXXXXX)"
LARDERD="$BUILD/server/larderd"
SERVICE="$BUILD/examples/httplib_service/httplib_service"
BODY_BYTES=1024
PIDS=()

log() { echo "http-profile: $*" >&2; }

source "$ROOT/bench/lib.sh"
source "$ROOT/bench/bench_build.sh"
stop_pids_and_remove_work_on_exit

# start_service WRAPPER...: the example service, run through WRAPPER (e.g. valgrind), against
# LARDER_PORT; sets SERVICE_PID and SERVICE_PORT.
start_service() {
  "$@" "$SERVICE" --port=0 --host=127.0.0.1 --larder="127.0.0.1:$LARDER_PORT" --threads=64 \
    "${SERVICE_ARGS[@]}" >"$WORK/service.log" 2>&1 &
  SERVICE_PID=$!
  PIDS+=("$SERVICE_PID")
  wait_for "$WORK/service.log" 120 "httplib_service ready" "$SERVICE_PID" ||
    { log "the example service did not start: $(tail -3 "$WORK/service.log")"; exit 1; }
  SERVICE_PORT="$(grep -o 'ready port=[0-9]*' "$WORK/service.log" | head -1 | cut -d= -f2)"
}

# Stores item 1 with a body of BODY_BYTES, then requests it until it is a near-cache hit (or,
# without the near cache, a few times).
prepare_item() {
  local base="http://127.0.0.1:$SERVICE_PORT/items/1" pad=900 size
  for _ in 1 2 3; do
    curl -sf -X PUT -H 'Content-Type: application/json' -o /dev/null \
      --data "{\"name\":\"tea\",\"pad\":\"$(printf '%*s' "$pad" '' | tr ' ' x)\"}" "$base"
    size="$(curl -sf -o /dev/null -w '%{size_download}' "$base")"
    [[ "$size" == "$BODY_BYTES" ]] && break
    pad=$((pad + BODY_BYTES - size))
  done
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$base"
    [[ "$(metric 'larder_client_near_cache_lookups_total{result="hit"}')" -gt 0 ]] && return
    sleep 0.1
  done
  log "no near-cache hit on $base (near cache off?)"
}

# metric SERIES: the value of one of the service's series (the text before the value), or 0.
metric() {
  curl -sf "http://127.0.0.1:$SERVICE_PORT/metrics" |
    awk -v series="$1" 'index($0, series " ") == 1 {n += $NF} END {printf "%d\n", n}'
}

# load PATH: wrk -t1 -c4 on PATH for SECONDS_PER_LOAD; prints the requests it completed.
load() {
  timeout $((SECONDS_PER_LOAD + 60)) wrk -t1 -c4 -d"${SECONDS_PER_LOAD}s" \
    "http://127.0.0.1:$SERVICE_PORT$1" | awk '/requests in/ {print $1}'
}

# --- counting ---------------------------------------------------------------------------------

# Counts the hits, then /uncached, in two callgrind dumps; sets HIT_FILE, HIT_REQUESTS,
# UNCACHED_FILE and UNCACHED_REQUESTS.
profile() {
  local out="$OUT/callgrind.service"
  start_service valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out"
  prepare_item
  log "counting GET /items/1 for ${SECONDS_PER_LOAD}s, then GET /uncached"
  callgrind_control -i on "$SERVICE_PID" >/dev/null 2>&1
  HIT_REQUESTS="$(load /items/1)"
  callgrind_control -d "$SERVICE_PID" >/dev/null 2>&1
  UNCACHED_REQUESTS="$(load /uncached)"
  callgrind_control -d "$SERVICE_PID" >/dev/null 2>&1
  callgrind_control -i off "$SERVICE_PID" >/dev/null 2>&1
  kill "$SERVICE_PID"
  wait "$SERVICE_PID" 2>/dev/null || true
  HIT_FILE="$out.1" UNCACHED_FILE="$out.2"
  [[ -s "$HIT_FILE" && -s "$UNCACHED_FILE" ]] || { log "no callgrind dumps in $OUT"; exit 1; }
}

# Counts the service's system calls over wrk -t2 -c50 -d5s of hits; sets SYSCALL_FILE and
# SYSCALL_REQUESTS.
count_syscalls() {
  local strace_pid
  start_service
  prepare_item
  timeout 60 wrk -t2 -c50 -d2s "http://127.0.0.1:$SERVICE_PORT/items/1" >/dev/null
  SYSCALL_FILE="$OUT/strace.txt"
  strace -f -c -o "$SYSCALL_FILE" -p "$SERVICE_PID" 2>/dev/null &
  strace_pid=$!
  sleep 1
  SYSCALL_REQUESTS="$(timeout 60 wrk -t2 -c50 -d5s "http://127.0.0.1:$SERVICE_PORT/items/1" |
    awk '/requests in/ {print $1}')"
  kill -INT "$strace_pid"
  wait "$strace_pid" 2>/dev/null || true
  kill "$SERVICE_PID"
  wait "$SERVICE_PID" 2>/dev/null || true
}

# --- reporting --------------------------------------------------------------------------------

total_ir() {
  callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}

# inclusive FILE REQUESTS LABEL REGEX...: "LABEL Ir per request" for each pair, from the first
# function whose line matches REGEX.
inclusive() {
  local file="$1" requests="$2" listing
  shift 2
  listing="$(callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null)"
  while [[ $# -ge 2 ]]; do
    awk -v re="$2" -v n="$requests" -v label="$1" '!found && $0 ~ re {gsub(",", "", $1);
      printf "  %-58s %8.0f\n", label, $1 / n; found = 1}
      END {if (!found) printf "  %-58s %8s\n", label, "-"}' <<<"$listing"
    shift 2
  done
}

# components FILE REQUESTS: self cost per request summed by component, "component<TAB>Ir".
components() {
  callgrind_annotate --threshold=100 "$1" 2>/dev/null | awk -v n="$2" '
    /^ *[0-9,]+ \( *[0-9.]+%\)  / && !/PROGRAM TOTALS/ {
      ir = $1; gsub(",", "", ir)
      obj = $0; sub(/.*\[/, "", obj); sub(/\].*/, "", obj)
      fn = $0; sub(/^ *[0-9,]+ \( *[0-9.]+%\)  /, "", fn)
      if (obj ~ /libcpp-httplib/) c = "cpp-httplib (parse, header maps, write)"
      else if (fn ~ /larder::client::internal::Near|larder::Client::|ClientCore|ClientMetrics/) {
        c = "larder::Client + near cache"
      }
      else if (fn ~ /DecodeRecord|ValidateRecord|record_codec|record_validation|Reader::/) {
        c = "HTTP record decode + validation"
      }
      else if (fn ~ /larder::/) c = "HTTP cache layer and adapter (larder::http*)"
      else if (obj ~ /prometheus/) c = "prometheus-cpp"
      else if (fn ~ /malloc|free|operator new|operator delete|_int_|arena\.c/) c = "malloc / free"
      else if (fn ~ /printf|_IO_|getnameinfo|inet_ntop|strchrnul/) {
        c = "libc formatting (snprintf, getnameinfo)"
      }
      else if (obj ~ /graphcycles/ || fn ~ /GraphCycles|Deadlock/) {
        c = "absl Mutex deadlock detection"
      }
      else if (obj ~ /libabsl/) c = "absl (Mutex, hash, time, strings)"
      else if (obj ~ /libstdc/) c = "libstdc++ (strings, streams, maps)"
      else if (obj ~ /libc\.so/) c = "other libc (memcpy, tolower, strlen)"
      else c = "other"
      by[c] += ir
    }
    END {for (c in by) printf "%s\t%.0f\n", c, by[c] / n}'
}

report() {
  local hit uncached
  hit="$(bc -l <<<"$(total_ir "$HIT_FILE") / $HIT_REQUESTS")"
  uncached="$(bc -l <<<"$(total_ir "$UNCACHED_FILE") / $UNCACHED_REQUESTS")"
  printf '\nExample service (%s), user-space Ir per request (callgrind, wrk -t1 -c4):\n' \
    "${SERVICE_ARGS[*]}"
  printf '  %-58s %8.0f  (%d requests)\n' "GET /items/1, cached hit" "$hit" "$HIT_REQUESTS"
  printf '  %-58s %8.0f  (%d requests)\n' "GET /uncached, the control" "$uncached" \
    "$UNCACHED_REQUESTS"
  printf '\nInclusive Ir per hit (overlapping):\n'
  inclusive "$HIT_FILE" "$HIT_REQUESTS" \
    "larder::httplib::Cached route (all of larder's work)" 'larder::httplib::Cached\(.*lambda' \
    "  ToCoreRequest (copy the httplib request in)" 'larder::httplib::ToCoreRequest' \
    "  HttpCache::Handle" 'larder::http::HttpCache::Handle\(' \
    "    KeyFor (cache key)" 'larder::http::internal::KeyFor' \
    "    LarderResponseStore::Lookup" 'LarderResponseStore::Lookup\(' \
    "      Client::Get (near-cache hit)" 'larder::Client::Get\(' \
    "        NearCache::Lookup" 'larder::client::internal::NearCache::Lookup\(' \
    "      DecodeRecord" 'larder::http::internal::DecodeRecord\(' \
    "        ValidateRecord" 'larder::http::internal::ValidateRecord\(' \
    "    ServeHit (age, headers, metrics)" 'larder::http::HttpCache::ServeHit\(' \
    "      Decorate" 'larder::http::Decorate\(' \
    "      HttpMetrics::CountResponse" 'HttpMetrics::CountResponse\(' \
    "  ApplyCoreResponse (copy the response out)" 'larder::httplib::ApplyCoreResponse' \
    "cpp-httplib write_response_core (headers, body)" 'httplib::Server::write_response_core' \
    "  write_headers (snprintf per header)" 'httplib::detail::write_headers' \
    "cpp-httplib read_headers" 'httplib::detail::read_headers' \
    "cpp-httplib get_remote/local_ip_and_port (x2)" 'httplib::detail::get_ip_and_port'
  printf '\nSelf Ir per request by component:        %10s %10s\n' "hit" "/uncached"
  join -t $'\t' -a 1 -a 2 -e 0 -o 0,1.2,2.2 <(components "$HIT_FILE" "$HIT_REQUESTS" | sort) \
    <(components "$UNCACHED_FILE" "$UNCACHED_REQUESTS" | sort) | sort -t $'\t' -k2,2nr |
    awk -F'\t' '{printf "  %-40s %10s %10s\n", $1, $2, $3}'
}

report_syscalls() {
  printf '\nSystem calls per hit (strace -f -c, wrk -t2 -c50 -d5s, %d requests):\n' \
    "$SYSCALL_REQUESTS"
  awk -v n="$SYSCALL_REQUESTS" '$4 ~ /^[0-9]+$/ && $NF != "total" {
    printf "  %-20s %6.2f\n", $NF, $4 / n}' "$SYSCALL_FILE" | head -12
}

main() {
  for tool in valgrind callgrind_annotate callgrind_control wrk curl bc; do
    command -v "$tool" >/dev/null || { log "$tool is missing (bench/install-bench-deps.sh)"; exit 2; }
  done
  mkdir -p "$OUT"
  [[ "$BUILD_IT" == 1 ]] && bench_build "$BUILD" "$WORK" larderd larder_example_httplib_service
  start_larderd larderd --engine=memory || exit 1
  profile
  report | tee "$OUT/report.txt"
  if [[ "$SYSCALLS" == 1 ]]; then
    count_syscalls
    report_syscalls | tee -a "$OUT/report.txt"
  fi
  printf '\nCallgrind dumps: %s (callgrind_annotate --inclusive=yes FILE)\n' "$OUT"
}

main
