# Shell helpers shared by the benchmark scripts (sourced; the caller defines log(), and for
# start_larderd, stop_pids and stop_pids_and_remove_work_on_exit also LARDERD, WORK and the PIDS
# array).
#   source "$ROOT/bench/lib.sh"; port="$(free_port)"; wait_for "$logfile" 10 "ready" "$pid"

# A free TCP port on 127.0.0.1 (nothing answers a connect to it).
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  log "no free port found"
  return 1
}

# Waits up to $2 seconds for file $1 to contain $3, while process $4 lives.
wait_for() {
  for _ in $(seq $(($2 * 10))); do
    grep -q "$3" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# cpu_seconds PID: user + system CPU seconds the process has used.
cpu_seconds() {
  sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{print ($12 + $13) / hz}'
}

# Stops every process in the caller's PIDS array: SIGTERM to all, then up to 15 s each to exit
# before SIGKILL.
stop_pids() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

# On exit, stops the caller's PIDS (stop_pids) and removes its WORK directory; SIGINT and SIGTERM
# exit 130 through it.
stop_pids_and_remove_work_on_exit() {
  trap 'stop_pids; rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM
}

# start_larderd NAME FLAGS...: starts $LARDERD on a free loopback port with FLAGS, logging to
# $WORK/NAME.log; sets LARDER_PID and LARDER_PORT; returns 1 when it cannot start.
start_larderd() {
  local name="$1"
  shift
  start_server "$name" "$LARDERD" --listen=127.0.0.1:0 --metrics-address= "$@"
}

# start_redis NAME [ARGS...]: a redis-server on a free loopback port, without persistence, with
# ARGS, logging to $WORK/NAME.log; sets REDIS_PID and REDIS_PORT; exits when it does not start.
start_redis() {
  local name="$1"
  shift
  REDIS_PORT="$(free_port)"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$WORK" \
    "$@" >"$WORK/$name.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_for "$WORK/$name.log" 30 "Ready to accept connections" "$REDIS_PID" ||
    { cat "$WORK/$name.log" >&2; exit 1; }
}

# start_server NAME COMMAND...: start_larderd for any server that logs larderd's
# "larderd ready grpc=HOST:PORT" line (e.g. bench/async_probe).
start_server() {
  local name="$1"
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  LARDER_PID=$!
  PIDS+=("$LARDER_PID")
  if ! wait_for "$WORK/$name.log" 60 "larderd ready" "$LARDER_PID"; then
    log "$name did not start: $(tail -1 "$WORK/$name.log")"
    return 1
  fi
  LARDER_PORT="$(grep -o 'grpc=[^ ]*' "$WORK/$name.log" | head -1 | cut -d: -f2)"
}
