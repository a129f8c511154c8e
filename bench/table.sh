# bench/table.sh: prints the one table of bench/run.sh from the JSON results it kept in
# $RESULTS (one file per measurement). Sourced by run.sh, which defines get(), RESULTS and the
# run settings; not meant to be run on its own.
#
#   source "$ROOT/bench/table.sh"; print_table

# fmt NUMBER [DECIMALS]: a number rounded for the table, or n/a.
fmt() {
  [[ "$1" == "n/a" || -z "$1" || "$1" == "null" ]] && { echo n/a; return; }
  awk -v x="$1" -v d="${2:-1}" 'BEGIN {printf "%.*f", d, x}'
}

# verdict RATIO OP LIMIT: PASS / FAIL for a ratio against a target ("<=" or ">="), else n/a.
verdict() {
  [[ "$1" == "n/a" ]] && { echo n/a; return; }
  awk -v r="$1" -v op="$2" -v t="$3" \
    'BEGIN {ok = (op == "<=") ? (r <= t) : (r >= t); print ok ? "PASS" : "FAIL"}'
}

# row LABEL LARDER OTHER DECIMALS [OP LIMIT]: one line, ratio = larder / other.
row() {
  local label="$1" a b ratio="n/a" target="info" result="info"
  a="$(fmt "$2" "$4")"
  b="$(fmt "$3" "$4")"
  if [[ "$a" != "n/a" && "$b" != "n/a" ]]; then
    ratio="$(awk -v a="$2" -v b="$3" 'BEGIN {if (b == 0) print "n/a"; else printf "%.2f", a / b}')"
  fi
  if [[ $# -ge 6 ]]; then
    target="$5 $6x"
    result="$(verdict "$ratio" "$5" "$6")"
  fi
  [[ "$ratio" != "n/a" ]] && ratio="${ratio}x"
  printf '%-58s %12s %12s %8s %9s %6s\n' "$label" "$a" "$b" "$ratio" "$target" "$result"
}

# points_row LABEL FILE [MIN_POINTS]: S3-FIFO vs LRU hit ratio, difference in points.
points_row() {
  local s3 lru diff="n/a" target="info" result="info"
  s3="$(jq -r '.s3fifo_hit_ratio * 100' "$RESULTS/$2" 2>/dev/null || echo n/a)"
  lru="$(jq -r '.lru_hit_ratio * 100' "$RESULTS/$2" 2>/dev/null || echo n/a)"
  if [[ "$s3" != "n/a" && "$lru" != "n/a" ]]; then
    diff="$(awk -v a="$s3" -v b="$lru" 'BEGIN {printf "%+.2f", a - b}')"
    if [[ $# -ge 3 ]]; then
      target=">= +$3pt"
      result="$(awk -v d="$diff" -v t="$3" 'BEGIN {print (d >= t) ? "PASS" : "FAIL"}')"
    fi
    diff="${diff}pt"
  fi
  printf '%-58s %12s %12s %8s %9s %6s\n' "$1" "$(fmt "$s3" 2)" "$(fmt "$lru" 2)" "$diff" \
    "$target" "$result"
}

# times N RESULT FIELD: N x a field, or n/a.
times() {
  local value
  value="$(get "$2" "$3")"
  [[ "$value" == "n/a" ]] && { echo n/a; return; }
  awk -v n="$1" -v v="$value" 'BEGIN {print n * v}'
}

mib() {
  local value
  value="$(get "$1" server_rss_bytes)"
  [[ "$value" == "n/a" ]] && { echo n/a; return; }
  awk -v v="$value" 'BEGIN {print v / 1048576}'
}

# print_http_header TITLE: the title, machine and column heads of an HTTP table (http_bench.sh,
# proxy_bench.sh), whose clients run on the same cores as the servers.
print_http_header() {
  echo
  echo "$1, $(date -u '+%Y-%m-%d %H:%M UTC')$([[ "$QUICK" == 1 ]] && echo ', --quick')"
  echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), Linux" \
    "$(uname -r); wrk runs on the same cores, so read ratios, not absolute figures"
  echo
  printf '%-58s %12s %12s %8s %9s %6s\n' "metric" "larder" "reference" "ratio" "target" "result"
  printf '%s\n' "$(printf '%.0s-' {1..110})"
}

print_header() {
  echo
  echo "larder vs Redis, $(date -u '+%Y-%m-%d %H:%M UTC')$([[ "$QUICK" == 1 ]] && echo ', --quick')"
  echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), Linux $(uname -r);" \
    "shared with other work, so read ratios, not absolute figures"
  echo "load: ${VALUE_SIZE} B values, uniform over ${HOT_KEYS} keys, ${INFLIGHT} in flight" \
    "(larder_loadgen: gRPC on HTTP/2 framed by hand over ${CHANNELS} connections, rows marked" \
    "'gRPC's C++ client' through gRPC's own client; redis-benchmark: ${INFLIGHT} connections);" \
    "${DURATION} phases after ${WARMUP} warm-up"
  echo
  printf '%-58s %12s %12s %8s %9s %6s\n' "metric" "larder" "Redis/LRU" "ratio" "target" "result"
  printf '%s\n' "$(printf '%.0s-' {1..110})"
}

print_rows() {
  row "Get: server CPU per op, us (vs redis-benchmark GET)" \
    "$(get get-larder server_cpu_us_per_op)" "$(get get-redis cpu_us_per_req)" 1 "<=" 1.5
  row "Get: throughput, ops/s (vs redis-benchmark GET)" \
    "$(get get-larder ops_per_s)" "$(get get-redis rps)" 0 ">=" 0.5
  row "  same load generator: Get ops/s (vs loadgen RESP GET)" \
    "$(get get-larder ops_per_s)" "$(get get-redis-loadgen ops_per_s)" 0
  row "  same load generator: server CPU per op, us" \
    "$(get get-larder server_cpu_us_per_op)" "$(get get-redis-loadgen server_cpu_us_per_op)" 1
  row "  of which kernel (stime) per op, us" \
    "$(get get-larder server_sys_us_per_op)" "$(get get-redis-loadgen server_sys_us_per_op)" 1
  row "  gRPC's C++ client: Get ops/s (vs redis-benchmark GET)" \
    "$(get get-larder-grpc ops_per_s)" "$(get get-redis rps)" 0
  row "  gRPC's C++ client: server CPU per op, us" \
    "$(get get-larder-grpc server_cpu_us_per_op)" "$(get get-redis cpu_us_per_req)" 1
  row "MultiGet(16): keys/s (vs GET pipelined -P 16)" \
    "$(get multiget-larder keys_per_s)" "$(get pipeline-redis rps)" 0 ">=" 1.0
  row "MultiGet(16): server CPU per key, us (vs GET -P 16)" \
    "$(get multiget-larder server_cpu_us_per_key)" "$(get pipeline-redis cpu_us_per_req)" 2 "<=" 1.0
  row "  MultiGet(16) keys/s (vs Redis MGET of 16 keys)" \
    "$(get multiget-larder keys_per_s)" "$(times 16 mget-redis rps)" 0
  row "  MultiGet(16) server CPU per key, us (vs MGET 16)" \
    "$(get multiget-larder server_cpu_us_per_key)" \
    "$(awk -v v="$(get mget-redis cpu_us_per_req)" 'BEGIN {print (v == "n/a") ? v : v / 16}')" 2
  row "  gRPC's C++ client: MultiGet(16) keys/s (vs MGET 16)" \
    "$(get multiget-larder-grpc keys_per_s)" "$(times 16 mget-redis rps)" 0
  row "RocksDB engine Get (warm), ops/s (vs memory engine)" \
    "$(get rocksdb-larder ops_per_s)" "$(get rocksdb-memory ops_per_s)" 0 ">=" 0.8
  row "  RocksDB engine server CPU per Get, us (vs memory)" \
    "$(get rocksdb-larder server_cpu_us_per_op)" "$(get rocksdb-memory server_cpu_us_per_op)" 1
  row "Redis engine Get, ops/s (vs raw redis-benchmark GET)" \
    "$(get redis-engine-larder ops_per_s)" "$(get redis-engine-raw rps)" 0 ">=" 0.5
  row "Redis engine CPU per Get, us (larderd+redis vs redis)" \
    "$(get redis-engine-larder server_cpu_us_per_op)" "$(get redis-engine-raw cpu_us_per_req)" 1 \
    "<=" 3.0
  row "Redis engine MultiGet(16) keys/s (vs MGET of 16 keys)" \
    "$(get redis-engine-multiget keys_per_s)" "$(times 16 redis-engine-mget rps)" 0 ">=" 0.5
  row "  gRPC's C++ client: Redis engine Get, ops/s" \
    "$(get redis-engine-larder-grpc ops_per_s)" "$(get redis-engine-raw rps)" 0
  row "  gRPC's C++ client: Redis engine CPU per Get, us" \
    "$(get redis-engine-larder-grpc server_cpu_us_per_op)" \
    "$(get redis-engine-raw cpu_us_per_req)" 1
  row "  gRPC's C++ client: Redis engine MultiGet(16) keys/s" \
    "$(get redis-engine-multiget-grpc keys_per_s)" "$(times 16 redis-engine-mget rps)" 0
  row "p99 at half of own peak, us (open loop, same loadgen)" \
    "$(get half-larder p99_us)" "$(get half-redis p99_us)" 0
  row "  p50 at half of own peak, us" "$(get half-larder p50_us)" "$(get half-redis p50_us)" 0
  row "RSS after loading $((RSS_KEYS / 1000))k x 1 KiB entries, MiB" \
    "$(mib load-larder)" "$(mib load-redis)" 0
  points_row "Eviction hit %, Zipf(0.99), cache 10%: S3-FIFO vs LRU" eviction-zipf.json 5
  points_row "  hit %, Zipf(0.99) + scans, cache 10%" eviction-scans.json
  points_row "  hit %, loop over 10x the cache" eviction-loop.json
  row "Lease storm (20 procs): DB calls/round, leases vs none" \
    "$(get lease-storm-memory-on runs_per_round)" "$(get lease-storm-memory-off runs_per_round)" 2
  row "User-space instructions per Get (callgrind)" \
    "$(get profile larderd_ir_per_get)" "$(get profile redis_ir_per_get)" 0
  row "  per MultiGet(16) key (vs GET -P 16)" \
    "$(get profile larderd_ir_per_multiget_key)" "$(get profile redis_ir_per_pipelined_get)" 0
}

print_notes() {
  echo
  echo "Redis figures: redis-benchmark -c ${INFLIGHT} (GET, -P 16, MGET) unless marked 'loadgen'."
  echo "p99 rows: larder at $(fmt "$(get half-larder rate)" 0)/s, Redis at" \
    "$(fmt "$(get half-redis rate)" 0)/s: half of each one's closed-loop peak under" \
    "larder_loadgen (rows 2 and 3)."
  local label errors
  for label in get-larder get-larder-grpc multiget-larder multiget-larder-grpc half-larder \
    rocksdb-larder redis-engine-larder redis-engine-larder-grpc redis-engine-multiget \
    redis-engine-multiget-grpc; do
    errors="$(get "$label" errors)"
    [[ "$errors" == "n/a" || "$errors" == 0 ]] || echo "WARNING: $label had $errors errors"
    errors="$(get "$label" misses)"
    [[ "$errors" == "n/a" || "$errors" == 0 ]] || echo "WARNING: $label had $errors misses"
  done
  echo "Raw results: $RESULTS"
}

print_table() {
  print_header
  print_rows
  print_notes
}
