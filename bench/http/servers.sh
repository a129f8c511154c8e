# HTTP benchmark helpers shared by bench/http_bench.sh and bench/proxy_bench.sh (sourced after
# bench/lib.sh): nginx and Varnish as reference servers, /proc CPU accounting, and measure(), one
# wrk run kept as a JSON line. The caller defines log(), WORK, RESULTS, PIDS, BODY_BYTES,
# WARMUP, DURATION, CONNECTIONS and WRK_SCRIPT.
#   source "$ROOT/bench/http/servers.sh"; start_nginx && measure nginx "$url" "$NGINX_PID"

# On exit, stops every server in PIDS, their child processes too (nginx workers, the Varnish
# child, uvicorn's), and removes WORK; SIGINT and SIGTERM exit 130 through it.
stop_servers_and_remove_work_on_exit() {
  trap stop_servers_and_remove_work EXIT
  trap 'exit 130' INT TERM
}

stop_servers_and_remove_work() {
  local pid children=()
  for pid in "${PIDS[@]}"; do
    mapfile -t -O "${#children[@]}" children < <(pgrep -P "$pid" 2>/dev/null || true)
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}" "${children[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}

# Waits up to $2 seconds for URL $1 to answer 200, while process $3 lives.
wait_http() {
  for _ in $(seq $(($2 * 10))); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true)" == 200 ]] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# nginx: one worker per core serving $WORK/www/1k.bin ($BODY_BYTES random bytes); sets
# NGINX_PID and NGINX_PORT. NGINX_SERVER_EXTRA, when set, is added to its server block (say, an
# add_header line).
start_nginx() {
  NGINX_PORT="$(free_port)"
  local dir="$WORK/nginx" user_line="" temp_paths="" module
  mkdir -p "$dir/logs" "$dir/temp" "$WORK/www"
  head -c "$BODY_BYTES" /dev/urandom | base64 -w 0 | head -c "$BODY_BYTES" >"$WORK/www/1k.bin"
  # As root, nginx would hand its workers to "nobody"; keep them as the current user.
  [[ "$(id -u)" == 0 ]] && user_line="user $(id -un) $(id -gn);"
  for module in client_body proxy fastcgi uwsgi scgi; do
    nginx -V 2>&1 | grep -q -- "--without-http_${module}_module" && continue
    temp_paths+="    ${module}_temp_path $dir/temp/$module;"$'\n'
  done
  cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes $(nproc);
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    open_file_cache max=64 inactive=60s;
    default_type application/octet-stream;
$temp_paths
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
${NGINX_SERVER_EXTRA:-}
    }
}
EOF
  nginx -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_http "http://127.0.0.1:$NGINX_PORT/1k.bin" 30 "$NGINX_PID" ||
    { log "nginx did not start: $(tail -3 "$dir/logs/error.log" "$dir/stdout.log")"; return 1; }
}

# varnishd in front of nginx, caching every response for 60 s; sets VARNISH_PID, VARNISH_PORT.
start_varnish() {
  VARNISH_PORT="$(free_port)"
  local dir="$WORK/varnish"
  mkdir -p "$dir"
  cat >"$dir/default.vcl" <<EOF
vcl 4.1;
backend nginx { .host = "127.0.0.1"; .port = "$NGINX_PORT"; }
sub vcl_backend_response { set beresp.ttl = 60s; set beresp.grace = 10s; }
sub vcl_deliver {
    if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
EOF
  # -j none: no privilege separation, the current user throughout; -T none: no admin port.
  varnishd -F -j none -T none -n "$dir/state" -a "127.0.0.1:$VARNISH_PORT" -f "$dir/default.vcl" \
    -s malloc,64m >"$dir/varnishd.log" 2>&1 &
  VARNISH_PID=$!
  PIDS+=("$VARNISH_PID")
  wait_http "http://127.0.0.1:$VARNISH_PORT/1k.bin" 60 "$VARNISH_PID" ||
    { log "varnishd did not start: $(tail -5 "$dir/varnishd.log")"; return 1; }
}

# cpu_json PID...: {"NAME": {"user": s, "sys": s}, ...}, each PID counted with its children and
# named after its command (/proc/PID/comm).
cpu_json() {
  local pid name p
  for pid in "$@"; do
    name="$(cat "/proc/$pid/comm" 2>/dev/null || echo "$pid")"
    for p in $(with_children "$pid"); do
      sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk -v n="$name" '{print n, $12, $13}' || true
    done
  done | awk -v hz="$(getconf CLK_TCK)" '{u[$1] += $2 / hz; s[$1] += $3 / hz}
    END {sep = ""; printf "{"; for (n in u) {printf "%s\"%s\":{\"user\":%.2f,\"sys\":%.2f}", sep, n,
      u[n], s[n]; sep = ","}; print "}"}'
}

# The process and its children (nginx workers, the Varnish cache process).
with_children() {
  local pid
  for pid in "$@"; do echo "$pid"; pgrep -P "$pid" 2>/dev/null || true; done
}

# children_cpu FILE: CPU seconds (user + system) of this shell's finished children (wrk's share
# of the machine) from FILE, where `builtin times` was written by this very shell (not by a
# subshell, whose children are its own).
children_cpu() {
  tail -1 "$1" | awk '{t = 0; for (i = 1; i <= 2; ++i) {split($i, p, /[ms]/);
    t += p[1] * 60 + p[2]}; print t}'
}

# measure LABEL URL PIDS...: warms URL, then wrk -t2 -c$CONNECTIONS --latency for $DURATION s;
# keeps one JSON line as $RESULTS/http-LABEL.json: wrk's figures, the servers' CPU per request
# (PIDS and their children, from /proc: in total, and user / kernel per process), the body and
# header sizes of the response and its X-Cache. Optional hooks the caller may define:
# measure_ready LABEL URL (runs before the warm-up), measure_counters LABEL (a JSON object of
# counters; the run's increase of each becomes a field) and measure_fields LABEL (a JSON object
# of fields added as they are).
measure() {
  local label="$1" url="$2" before after client_before client_after sizes xcache
  local counters_before="{}" counters_after="{}" fields="{}"
  shift 2
  # A cached route answers X-Cache: HIT before it is measured; a MISS (a store that timed out on
  # the busy machine, say) is retried twice.
  for _ in 1 2 3; do
    sizes="$(curl -sf -o /dev/null -D "$WORK/$label.headers" \
      -w '%{size_download} %{size_header}' "$url")" ||
      { log "$label: $url does not answer 200; not measured"; return 0; }
    xcache="$(awk -F': *' 'tolower($1) == "x-cache" {gsub(/\r/, "", $2); print $2}' \
      "$WORK/$label.headers")"
    [[ -z "$xcache" || "$xcache" == HIT ]] && break
    sleep 0.5
  done
  log "$label: $url (body ${sizes% *} B, headers ${sizes#* } B${xcache:+, X-Cache: $xcache})"
  if declare -F measure_ready >/dev/null; then measure_ready "$label" "$url"; fi
  timeout $((WARMUP + 30)) wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null
  if declare -F measure_counters >/dev/null; then counters_before="$(measure_counters "$label")"; fi
  if declare -F measure_fields >/dev/null; then fields="$(measure_fields "$label")"; fi
  before="$(cpu_json "$@")"
  builtin times >"$WORK/times"
  client_before="$(children_cpu "$WORK/times")"
  timeout $((DURATION + 30)) wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    -s "$WRK_SCRIPT" "$url" >"$WORK/$label.wrk"
  builtin times >"$WORK/times"
  client_after="$(children_cpu "$WORK/times")"
  after="$(cpu_json "$@")"
  if declare -F measure_counters >/dev/null; then counters_after="$(measure_counters "$label")"; fi
  sed -n 's/^JSON //p' "$WORK/$label.wrk" | jq -c --arg name "$label" --arg url "$url" \
    --arg xcache "$xcache" --argjson body "${sizes% *}" --argjson headers "${sizes#* }" \
    --argjson before "$before" --argjson after "$after" \
    --argjson client "$(awk -v a="$client_after" -v b="$client_before" 'BEGIN {print a - b}')" \
    --argjson connections "$CONNECTIONS" --argjson fields "$fields" \
    --argjson c0 "$counters_before" --argjson c1 "$counters_after" "
    def per_req(s): if .requests > 0 then s * 1e6 / .requests else null end;
    . as \$r
    | (\$after | with_entries(.key as \$k | .value = {
        user_us_per_req: (\$r | per_req(\$after[\$k].user - \$before[\$k].user)),
        sys_us_per_req: (\$r | per_req(\$after[\$k].sys - \$before[\$k].sys))})) as \$by
    | . + {\"label\": \$name, url: \$url, x_cache: \$xcache, body_bytes: \$body,
      header_bytes: \$headers, connections: \$connections, wrk_threads: 2,
      server_cpu_us_per_req: ([\$by[] | .user_us_per_req + .sys_us_per_req] | add),
      server_cpu_by_process: \$by, client_cpu_us_per_req: per_req(\$client)}
      + \$fields + (\$c1 | with_entries(.value = .value - (\$c0[.key] // 0)))" \
    >"$RESULTS/http-$label.json"
  [[ -s "$RESULTS/http-$label.json" ]] ||
    { log "$label: no wrk result"; cat "$WORK/$label.wrk" >&2; }
}
