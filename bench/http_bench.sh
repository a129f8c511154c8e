#!/usr/bin/env bash
# bench/http_bench.sh: the HTTP rows of the larder benchmark. Measures with wrk, back to back on
# loopback, the example cpp-httplib service (examples/httplib_service) answering a cached 1 KiB
# response out of larderd (memory engine), the same service's /uncached route as a control,
# nginx serving a 1 KiB static file, and Varnish caching that file in front of nginx. Prints rows
# in the format of bench/table.sh (ratios against Varnish and against a fixed fastapi-cache
# reference figure) and keeps one JSON line per measurement. Every server runs as the current
# user on a free 127.0.0.1 port with its configuration in a temporary directory, and is stopped
# on exit. Installs nothing: bench/install-bench-deps.sh provides nginx, varnishd and wrk.
#
#   bench/http_bench.sh                    # 10 s per measurement after a 3 s warm-up
#   bench/http_bench.sh --quick            # 5 s per measurement after 1 s
#   --build-dir=DIR        where larderd and the example are built (default: build-bench)
#   --results=DIR          where the JSON lines go (default: BUILD/bench-results/http-TIME)
#   --service-threads=N    the example's --threads (default: 64, above the 50 connections)
#   --connections=N        wrk -c (default: 50); wrk always runs 2 threads
#   --service=PATH         measure another build of the example service (same flags and routes)
#   --service-arg=ARG      one more flag for the example service (repeatable); with
#                          --service-arg=--near_cache_bytes=N (N > 0) the hit is measured once the
#                          near cache answers it, against the near cache's targets (>= 0.8x
#                          Varnish's req/s, <= 1.3x its CPU per request), and its hits are counted
#   --rows-only            print the table rows alone (to append them to bench/run.sh's table)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATH="$PATH:/usr/sbin:/sbin"  # nginx and varnishd live there, outside a user's usual PATH.
BUILD="$ROOT/build-bench"
RESULTS=""
QUICK=0
ROWS_ONLY=0
SERVICE_THREADS=64
CONNECTIONS=50
SERVICE_OVERRIDE=""
SERVICE_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --rows-only) ROWS_ONLY=1 ;;
    --build-dir=*) BUILD="$(cd "$ROOT" && realpath -m "${arg#*=}")" ;;
    --results=*) RESULTS="$(realpath -m "${arg#*=}")" ;;
    --service-threads=*) SERVICE_THREADS="${arg#*=}" ;;
    --connections=*) CONNECTIONS="${arg#*=}" ;;
    --service=*) SERVICE_OVERRIDE="$(realpath -m "${arg#*=}")" ;;
    --service-arg=*) SERVICE_ARGS+=("${arg#*=}") ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--build-dir=DIR] [--results=DIR] [--service-threads=N]" \
      "[--connections=N] [--service=PATH] [--service-arg=ARG]... [--rows-only]" >&2; exit 2 ;;
  esac
done
NEAR=0  # Whether the example runs with its near cache.
for arg in "${SERVICE_ARGS[@]}"; do
  [[ "$arg" =~ ^--near_cache_bytes=0*[1-9][0-9]*$ ]] && NEAR=1
done

if [[ "$QUICK" == 1 ]]; then
  WARMUP=1 DURATION=5
else
  WARMUP=3 DURATION=10
fi
BODY_BYTES=1024
# fastapi-cache on its Redis backend, 2 uvicorn workers, on a similar 2-core machine: a fixed
# reference figure, since the Python stack is not run here.
FASTAPI_CACHE_RPS=4000
[[ -n "$RESULTS" ]] || RESULTS="$BUILD/bench-results/http-$(date -u +%Y%m%d-%H%M%S)"
WORK="$(mktemp -d /tmp/larder-http-bench.XXXXXX)"
LARDERD="$BUILD/server/larderd"
SERVICE="${SERVICE_OVERRIDE:-$BUILD/examples/httplib_service/httplib_service}"
WRK_SCRIPT="$ROOT/bench/http/wrk_report.lua"
PIDS=()


log() { echo "bench-http: $*" >&2; }

# --- building ---------------------------------------------------------------------------------

build() {
  bench_build "$BUILD" "$WORK" larderd larder_example_httplib_service
  [[ -x "$SERVICE" ]] || { log "$SERVICE was not built (is cpp-httplib installed?)"; exit 1; }
}

# --- processes --------------------------------------------------------------------------------

source "$ROOT/bench/lib.sh"
source "$ROOT/bench/bench_build.sh"
source "$ROOT/bench/http/servers.sh"
stop_servers_and_remove_work_on_exit

# larderd (memory engine) and the example service using it; sets LARDER_PID, SERVICE_PID and
# SERVICE_PORT.
start_service() {
  "$LARDERD" --listen=127.0.0.1:0 --metrics-address= --engine=memory >"$WORK/larderd.log" 2>&1 &
  LARDER_PID=$!
  PIDS+=("$LARDER_PID")
  wait_for "$WORK/larderd.log" 60 "larderd ready" "$LARDER_PID" ||
    { log "larderd did not start: $(tail -3 "$WORK/larderd.log")"; exit 1; }
  local target
  target="$(grep -o 'grpc=[^ ]*' "$WORK/larderd.log" | head -1 | cut -d= -f2)"
  "$SERVICE" --port=0 --host=127.0.0.1 --larder="$target" --threads="$SERVICE_THREADS" \
    "${SERVICE_ARGS[@]}" >"$WORK/service.log" 2>&1 &
  SERVICE_PID=$!
  PIDS+=("$SERVICE_PID")
  wait_for "$WORK/service.log" 60 "httplib_service ready" "$SERVICE_PID" ||
    { log "the example service did not start: $(tail -3 "$WORK/service.log")"; exit 1; }
  SERVICE_PORT="$(grep -o 'ready port=[0-9]*' "$WORK/service.log" | head -1 | cut -d= -f2)"
}

# Stores a JSON item under /items/1 whose rendered body is $BODY_BYTES long, and renders it
# once, so /items/1 is then a cache hit of the same size as nginx's file.
prepare_item() {
  local base="http://127.0.0.1:$SERVICE_PORT/items/1" pad=900 size
  for _ in 1 2 3; do
    curl -sf -X PUT -H 'Content-Type: application/json' -o /dev/null \
      --data "{\"name\":\"tea\",\"pad\":\"$(printf '%*s' "$pad" '' | tr ' ' x)\"}" "$base"
    size="$(curl -sf -o /dev/null -w '%{size_download}' "$base")"
    [[ "$size" == "$BODY_BYTES" ]] && return 0
    pad=$((pad + BODY_BYTES - size))
  done
  log "the /items/1 body is $size bytes, not $BODY_BYTES"
}

# The example's count of larder_http_responses_total{route="items",cache="hit"}.
service_hits() {
  curl -sf "http://127.0.0.1:$SERVICE_PORT/metrics" |
    awk '/^larder_http_responses_total\{/ && /cache="hit"/ && /route="items"/ {n += $2}
      END {printf "%d\n", n}'
}

# The example's count of larder_client_near_cache_lookups_total{result="hit"} (0 without it).
near_hits() {
  curl -sf "http://127.0.0.1:$SERVICE_PORT/metrics" |
    awk '/^larder_client_near_cache_lookups_total\{/ && /result="hit"/ {n += $2}
      END {printf "%d\n", n}'
}

# Requests URL until one is answered by the near cache (its Watch stream is live and the entry
# installed), for up to 10 s; false otherwise.
wait_near() {
  local before
  for _ in $(seq 100); do
    before="$(near_hits)"
    curl -sf -o /dev/null "$1" || true
    [[ "$(near_hits)" -gt "$before" ]] && return 0
    sleep 0.1
  done
  return 1
}

# measure()'s hooks: the hit waits for the near cache when it is on, counts the hits the
# example served, and notes the example's threads.
measure_ready() {
  if [[ "$1" == service-hit && "$NEAR" == 1 ]] && ! wait_near "$2"; then
    log "$1: the near cache never answered $2 within 10 s (is larderd's Watch live?)"
  fi
}
measure_counters() {
  if [[ "$1" == service-hit ]]; then
    echo "{\"hits\": $(service_hits), \"near_hits\": $(near_hits)}"
  else
    echo "{}"
  fi
}
measure_fields() {
  if [[ "$1" == service* ]]; then echo "{\"service_threads\": $SERVICE_THREADS}"; else echo "{}"; fi
}

# --- the table --------------------------------------------------------------------------------

get() {
  [[ -s "$RESULTS/$1.json" ]] || { echo n/a; return; }
  jq -r --arg f "$2" '.[$f] // "n/a"' "$RESULTS/$1.json"
}

# row() and fmt() come from bench/table.sh, so these lines match the main table exactly.
# shellcheck source=bench/table.sh
source "$ROOT/bench/table.sh"

# The targets: every hit asking larderd, 0.7x Varnish's req/s; with the near cache, 0.8x its
# req/s at no more than 1.3x its CPU per request.
print_http_rows() {
  local rps_target=0.7 cpu_target=()
  [[ "$NEAR" == 1 ]] && rps_target=0.8 cpu_target=("<=" 1.3)
  row "HTTP cached hit, req/s (vs fastapi-cache reference figure)" \
    "$(get http-service-hit rps)" "$FASTAPI_CACHE_RPS" 0 ">=" 10
  row "HTTP cached hit, req/s (vs Varnish in front of nginx)" \
    "$(get http-service-hit rps)" "$(get http-varnish rps)" 0 ">=" "$rps_target"
  row "  HTTP cached hit, req/s (vs nginx static file)" \
    "$(get http-service-hit rps)" "$(get http-nginx rps)" 0
  row "  HTTP cached hit, server CPU per req, us (vs Varnish)" \
    "$(get http-service-hit server_cpu_us_per_req)" "$(get http-varnish server_cpu_us_per_req)" 1 \
    "${cpu_target[@]}"
  row "  HTTP cached hit, server CPU per req, us (vs /uncached)" \
    "$(get http-service-hit server_cpu_us_per_req)" \
    "$(get http-service-uncached server_cpu_us_per_req)" 1
  row "  HTTP cached hit, p99, us (vs Varnish)" \
    "$(get http-service-hit p99_us)" "$(get http-varnish p99_us)" 0
  row "  HTTP /uncached control, req/s (vs nginx static file)" \
    "$(get http-service-uncached rps)" "$(get http-nginx rps)" 0
  row "  Varnish in front of nginx, req/s (vs nginx static file)" \
    "$(get http-varnish rps)" "$(get http-nginx rps)" 0
  if [[ "$NEAR" == 1 ]]; then
    row "  near-cache hits during the hit run (vs wrk's requests)" \
      "$(get http-service-hit near_hits)" "$(get http-service-hit requests)" 0
  fi
}

print_http_notes() {
  local label value
  echo
  echo "HTTP rows: wrk -t2 -c$CONNECTIONS -d${DURATION}s after ${WARMUP}s; example service" \
    "--threads=$SERVICE_THREADS${SERVICE_ARGS[*]:+ ${SERVICE_ARGS[*]}}${SERVICE_OVERRIDE:+ ($SERVICE)}," \
    "GET /items/1 (larderd memory engine):" \
    "body $(get http-service-hit body_bytes) B, headers $(get http-service-hit header_bytes) B;" \
    "nginx / Varnish: body $(get http-nginx body_bytes) B, headers" \
    "$(get http-nginx header_bytes) / $(get http-varnish header_bytes) B;" \
    "server CPU: the example + larderd, nginx's master + workers, varnishd + its child (/proc);" \
    "fastapi-cache: fixed reference of $FASTAPI_CACHE_RPS req/s (2 uvicorn workers, Redis" \
    "backend), not measured here."
  for label in service-hit varnish; do
    [[ -s "$RESULTS/http-$label.json" ]] || continue
    value="$(get "http-$label" x_cache)"
    [[ "$value" == HIT ]] || echo "WARNING: http-$label answered X-Cache: $value before measuring"
  done
  value="$(get http-service-hit hits)"
  # wrk does not count the requests in flight when it stops, the example does.
  if [[ "$value" != n/a && "$value" -lt "$(get http-service-hit requests)" ]]; then
    echo "WARNING: http-service-hit: $value cache hits for $(get http-service-hit requests) requests"
  fi
  value="$(get http-service-hit near_hits)"
  if [[ "$NEAR" == 1 && "$value" != n/a && "$value" -lt "$(get http-service-hit requests)" ]]; then
    echo "WARNING: http-service-hit: $value near-cache hits for" \
      "$(get http-service-hit requests) requests (the others asked larderd)"
  fi
  for label in nginx varnish service-hit service-uncached; do
    [[ -s "$RESULTS/http-$label.json" ]] || continue
    value="$(jq '.errors_connect + .errors_read + .errors_write + .errors_status
      + .errors_timeout' "$RESULTS/http-$label.json")"
    [[ "$value" == 0 ]] || echo "WARNING: http-$label had $value socket or status errors"
  done
  echo "Raw results: $RESULTS"
}

main() {
  local have_nginx=1 have_varnish=1
  command -v wrk >/dev/null ||
    { log "wrk is missing: run bench/install-bench-deps.sh; no HTTP row can be measured"; exit 2; }
  for tool in jq curl cmake; do
    command -v "$tool" >/dev/null || { log "$tool is missing"; exit 2; }
  done
  command -v nginx >/dev/null ||
    { have_nginx=0; log "nginx is missing: run bench/install-bench-deps.sh (its rows are n/a)"; }
  command -v varnishd >/dev/null ||
    { have_varnish=0; log "varnishd is missing: run bench/install-bench-deps.sh (its rows are n/a)"; }
  [[ "$have_nginx" == 1 ]] || have_varnish=0
  mkdir -p "$RESULTS"
  log "building larderd and the example service in $BUILD"
  build
  log "results in $RESULTS"
  [[ "$have_nginx" == 1 ]] && { start_nginx || have_nginx=0; }
  [[ "$have_nginx" == 1 && "$have_varnish" == 1 ]] && { start_varnish || have_varnish=0; }
  start_service
  prepare_item
  if [[ "$have_varnish" == 1 ]]; then
    curl -sf -o /dev/null "http://127.0.0.1:$VARNISH_PORT/1k.bin"  # Stored; then a hit.
  fi
  # Back to back, the reference servers first.
  [[ "$have_nginx" == 1 ]] && measure nginx "http://127.0.0.1:$NGINX_PORT/1k.bin" "$NGINX_PID"
  [[ "$have_varnish" == 1 ]] &&
    measure varnish "http://127.0.0.1:$VARNISH_PORT/1k.bin" "$VARNISH_PID"
  measure service-hit "http://127.0.0.1:$SERVICE_PORT/items/1" "$SERVICE_PID" "$LARDER_PID"
  measure service-uncached "http://127.0.0.1:$SERVICE_PORT/uncached" "$SERVICE_PID"
  {
    [[ "$ROWS_ONLY" == 1 ]] || print_http_header "larder HTTP response caching"
    print_http_rows
    [[ "$ROWS_ONLY" == 1 ]] || print_http_notes
  } | tee "$RESULTS/http-table.txt"
  [[ "$ROWS_ONLY" == 0 ]] || print_http_notes >&2
}

main
