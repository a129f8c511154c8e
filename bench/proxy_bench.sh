#!/usr/bin/env bash
# bench/proxy_bench.sh: larder-proxy's rows of the larder benchmark. Measures with wrk, back to
# back on loopback, a cached 1 KiB hit through larder-proxy (larderd's memory engine, without
# and with the near cache) and through Varnish, both in front of the same nginx serving the file
# with "Cache-Control: max-age=60"; then a FastAPI app (examples/fastapi_proxy, uvicorn) serving
# a 1 KiB page uncached, from an in-process dict cache, and through larder-proxy. Prints rows in
# the format of bench/table.sh (ratios against Varnish and against the FastAPI app) and keeps one
# JSON line per measurement. Every server runs as the current user on a free 127.0.0.1 port and
# is stopped on exit. Installs nothing: bench/install-bench-deps.sh provides nginx, varnishd,
# wrk, python3-fastapi and python3-uvicorn.
#
#   bench/proxy_bench.sh                   # 10 s per measurement after a 3 s warm-up
#   bench/proxy_bench.sh --quick           # 5 s per measurement after 1 s
#   --build-dir=DIR        where larderd and larder-proxy are built (default: build-bench)
#   --results=DIR          where the JSON lines go (default: BUILD/bench-results/proxy-TIME)
#   --connections=N        wrk -c (default: 50); wrk always runs 2 threads
#   --proxy-threads=N      larder-proxy --threads (default: 64)
#   --uvicorn-workers=N    uvicorn --workers (default: 1; Debian's uvicorn 0.17 with 2 workers
#                          served ~5x fewer requests than with one on this 2-core machine)
#   --rows-only            print the table rows alone (to append them to bench/run.sh's table)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATH="$PATH:/usr/sbin:/sbin"  # nginx and varnishd live there.
BUILD="$ROOT/build-bench"
RESULTS=""
QUICK=0
ROWS_ONLY=0
CONNECTIONS=50
PROXY_THREADS=64
UVICORN_WORKERS=1
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --rows-only) ROWS_ONLY=1 ;;
    --build-dir=*) BUILD="$(cd "$ROOT" && realpath -m "${arg#*=}")" ;;
    --results=*) RESULTS="$(realpath -m "${arg#*=}")" ;;
    --connections=*) CONNECTIONS="${arg#*=}" ;;
    --proxy-threads=*) PROXY_THREADS="${arg#*=}" ;;
    --uvicorn-workers=*) UVICORN_WORKERS="${arg#*=}" ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--build-dir=DIR] [--results=DIR] [--connections=N]" \
      "[--proxy-threads=N] [--uvicorn-workers=N] [--rows-only]" >&2; exit 2 ;;
  esac
done
if [[ "$QUICK" == 1 ]]; then WARMUP=1 DURATION=5; else WARMUP=3 DURATION=10; fi
BODY_BYTES=1024
NEAR_CACHE_BYTES=$((64 << 20))
# What an uncached FastAPI render costs beyond the framework: a 2 ms database query, say.
RENDER_MS=2
# Debian's interpreter, which has python3-fastapi and python3-uvicorn (not a pyenv shim's).
PYTHON=/usr/bin/python3
[[ -n "$RESULTS" ]] || RESULTS="$BUILD/bench-results/proxy-$(date -u +%Y%m%d-%H%M%S)"
WORK="$(mktemp -d /tmp/larder-proxy-bench.XXXXXX)"
LARDERD="$BUILD/server/larderd"
PROXY="$BUILD/proxy/larder-proxy"
WRK_SCRIPT="$ROOT/bench/http/wrk_report.lua"
# nginx states the freshness both caches go by (Varnish would cache without it; larder-proxy
# takes it from the response).
NGINX_SERVER_EXTRA='        add_header Cache-Control "max-age=60";'
PIDS=()

log() { echo "bench-proxy: $*" >&2; }

source "$ROOT/bench/lib.sh"
source "$ROOT/bench/bench_build.sh"
source "$ROOT/bench/http/servers.sh"

stop_servers_and_remove_work_on_exit

# start_proxy NAME UPSTREAM FLAGS...: larder-proxy in front of UPSTREAM (caching in larderd at
# $LARDER_TARGET); sets PROXY_PID and PROXY_PORT.
start_proxy() {
  local name="$1" upstream="$2"
  shift 2
  PROXY_PORT="$(free_port)"
  "$PROXY" --listen="127.0.0.1:$PROXY_PORT" --admin-listen="127.0.0.1:$(free_port)" \
    --upstream="$upstream" --larder="$LARDER_TARGET" --threads="$PROXY_THREADS" "$@" \
    >"$WORK/$name.log" 2>&1 &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  wait_for "$WORK/$name.log" 30 "larder-proxy: listening" "$PROXY_PID" ||
    { log "$name did not start: $(tail -3 "$WORK/$name.log")"; exit 1; }
}

# The FastAPI example app under uvicorn; sets FASTAPI_PID and FASTAPI_PORT.
start_fastapi() {
  FASTAPI_PORT="$(free_port)"
  local workers=()
  [[ "$UVICORN_WORKERS" == 1 ]] || workers=(--workers "$UVICORN_WORKERS")
  RENDER_DELAY_MS="$RENDER_MS" "$PYTHON" -m uvicorn app:app \
    --app-dir "$ROOT/examples/fastapi_proxy" --host 127.0.0.1 --port "$FASTAPI_PORT" \
    "${workers[@]}" --log-level warning --no-access-log >"$WORK/fastapi.log" 2>&1 &
  FASTAPI_PID=$!
  PIDS+=("$FASTAPI_PID")
  wait_http "http://127.0.0.1:$FASTAPI_PORT/bench/page" 60 "$FASTAPI_PID" ||
    { log "uvicorn did not start: $(tail -3 "$WORK/fastapi.log")"; return 1; }
}

# The proxy's count of larder_client_near_cache_lookups_total{result="hit"} (0 without it).
near_hits() {
  curl -sf "http://$1/metrics" |
    awk '/^larder_client_near_cache_lookups_total\{/ && /result="hit"/ {n += $2}
      END {printf "%d\n", n}'
}

# measure()'s hook: the near-cache run starts once the near cache answers.
measure_ready() {
  [[ "$1" == proxy-near ]] || return 0
  local admin
  admin="$(grep -o 'admin on [0-9.:]*' "$WORK/proxy-near.log" | head -1 | cut -d' ' -f3)"
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$2" || true
    [[ "$(near_hits "$admin")" -gt 0 ]] && return 0
    sleep 0.1
  done
  log "$1: the near cache never answered $2 within 10 s"
}

get() {
  [[ -s "$RESULTS/$1.json" ]] || { echo n/a; return; }
  jq -r --arg f "$2" '.[$f] // "n/a"' "$RESULTS/$1.json"
}

# shellcheck source=bench/table.sh
source "$ROOT/bench/table.sh"

print_rows() {
  row "larder-proxy hit, req/s (vs Varnish, both before nginx)" \
    "$(get http-proxy rps)" "$(get http-varnish rps)" 0 ">=" 0.7
  row "  larder-proxy hit, server CPU per req, us (vs Varnish)" \
    "$(get http-proxy server_cpu_us_per_req)" "$(get http-varnish server_cpu_us_per_req)" 1
  row "  larder-proxy hit, p99, us (vs Varnish)" \
    "$(get http-proxy p99_us)" "$(get http-varnish p99_us)" 0
  row "larder-proxy near-cache hit, req/s (vs Varnish)" \
    "$(get http-proxy-near rps)" "$(get http-varnish rps)" 0 ">=" 1.0
  row "  larder-proxy near-cache hit, CPU per req, us (vs Varnish)" \
    "$(get http-proxy-near server_cpu_us_per_req)" "$(get http-varnish server_cpu_us_per_req)" 1
  row "larder-proxy before FastAPI, req/s (vs FastAPI uncached)" \
    "$(get http-proxy-fastapi rps)" "$(get http-fastapi-page rps)" 0
  row "larder-proxy before FastAPI, req/s (vs FastAPI dict cache)" \
    "$(get http-proxy-fastapi rps)" "$(get http-fastapi-dict rps)" 0
  row "  FastAPI dict cache, req/s (vs FastAPI uncached)" \
    "$(get http-fastapi-dict rps)" "$(get http-fastapi-page rps)" 0
}

print_notes() {
  local label value
  echo
  echo "larder-proxy rows: wrk -t2 -c$CONNECTIONS -d${DURATION}s after ${WARMUP}s;" \
    "larder-proxy --threads=$PROXY_THREADS (near cache: --near-cache-bytes=$NEAR_CACHE_BYTES)," \
    "larderd memory engine; nginx serves a $BODY_BYTES B file with Cache-Control: max-age=60;" \
    "Varnish -s malloc,64m; FastAPI: examples/fastapi_proxy under uvicorn" \
    "--workers=$UVICORN_WORKERS, GET /bench/page (built per call, RENDER_DELAY_MS=$RENDER_MS)," \
    "/bench/dict (the same through an in-process dict cache); server CPU counts every server process of the path (proxy + larderd, varnishd +" \
    "child, uvicorn + workers)."
  for label in varnish proxy proxy-near proxy-fastapi; do
    [[ -s "$RESULTS/http-$label.json" ]] || continue
    value="$(get "http-$label" x_cache)"
    [[ "$value" == HIT ]] || echo "WARNING: http-$label answered X-Cache: $value before measuring"
  done
  for label in nginx varnish proxy proxy-near fastapi-page fastapi-dict proxy-fastapi; do
    [[ -s "$RESULTS/http-$label.json" ]] || continue
    value="$(jq '.errors_connect + .errors_read + .errors_write + .errors_status
      + .errors_timeout' "$RESULTS/http-$label.json")"
    [[ "$value" == 0 ]] || echo "WARNING: http-$label had $value socket or status errors"
  done
  echo "Raw results: $RESULTS"
}

measure_all() {
  local file="http://127.0.0.1:$NGINX_PORT/1k.bin" near_pid
  curl -sf -o /dev/null "http://127.0.0.1:$VARNISH_PORT/1k.bin"
  measure nginx "$file" "$NGINX_PID"
  measure varnish "http://127.0.0.1:$VARNISH_PORT/1k.bin" "$VARNISH_PID"
  start_proxy proxy "http://127.0.0.1:$NGINX_PORT"
  curl -sf -o /dev/null "http://127.0.0.1:$PROXY_PORT/1k.bin"
  measure proxy "http://127.0.0.1:$PROXY_PORT/1k.bin" "$PROXY_PID" "$LARDER_PID"
  kill "$PROXY_PID"
  start_proxy proxy-near "http://127.0.0.1:$NGINX_PORT" --near-cache-bytes="$NEAR_CACHE_BYTES"
  near_pid="$PROXY_PID"
  measure proxy-near "http://127.0.0.1:$PROXY_PORT/1k.bin" "$near_pid" "$LARDER_PID"
  kill "$near_pid"
  start_fastapi || return 0
  measure fastapi-page "http://127.0.0.1:$FASTAPI_PORT/bench/page" "$FASTAPI_PID"
  measure fastapi-dict "http://127.0.0.1:$FASTAPI_PORT/bench/dict" "$FASTAPI_PID"
  start_proxy proxy-fastapi "http://127.0.0.1:$FASTAPI_PORT" \
    --config="$ROOT/examples/fastapi_proxy/routes.yaml"
  curl -sf -o /dev/null "http://127.0.0.1:$PROXY_PORT/bench/page"
  measure proxy-fastapi "http://127.0.0.1:$PROXY_PORT/bench/page" "$PROXY_PID" "$LARDER_PID" \
    "$FASTAPI_PID"
}

main() {
  local tool
  for tool in wrk jq curl cmake nginx varnishd; do
    command -v "$tool" >/dev/null || { log "$tool is missing: run bench/install-bench-deps.sh"; exit 2; }
  done
  "$PYTHON" -c 'import fastapi, uvicorn' 2>/dev/null ||
    { log "python3-fastapi / python3-uvicorn are missing: run bench/install-bench-deps.sh"; exit 2; }
  mkdir -p "$RESULTS"
  log "building larderd and larder-proxy in $BUILD"
  bench_build "$BUILD" "$WORK" larderd larder-proxy
  log "results in $RESULTS"
  start_nginx
  start_varnish
  start_larderd larderd --engine=memory || exit 1
  LARDER_TARGET="127.0.0.1:$LARDER_PORT"
  measure_all
  {
    [[ "$ROWS_ONLY" == 1 ]] || print_http_header "larder-proxy"
    print_rows
    [[ "$ROWS_ONLY" == 1 ]] || print_notes
  } | tee "$RESULTS/proxy-table.txt"
  [[ "$ROWS_ONLY" == 0 ]] || print_notes >&2
}

main
