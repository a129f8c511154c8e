#!/usr/bin/env bash
# bench/profile.sh: a reproducible per-operation CPU figure and a breakdown of where larderd
# spends it. Runs larderd and redis-server under `valgrind --tool=callgrind`, counts the
# user-space instructions of a fixed number of calls (Get and MultiGet of 16 on larderd; GET
# and GET pipelined 16 deep on Redis; instrumentation is on only around them), and sums
# larderd's cost by component (gRPC, protobuf, our handler, the engine, absl Mutex, malloc, ...)
# and gRPC's by area. Kernel time (syscalls, TCP) is not in these counts: see the "kernel
# (stime)" row of run.sh.
#
#   bench/profile.sh [--ops=N] [--out=DIR] [--json]      (needs build-bench/, see run.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${LARDER_BENCH_BUILD:-$ROOT/build-bench}"
OPS=20000
OUT="$BUILD/bench-results/profile"
JSON=0
for arg in "$@"; do
  case "$arg" in
    --ops=*) OPS="${arg#--ops=}" ;;
    --out=*) OUT="${arg#--out=}" ;;
    --json) JSON=1 ;;
    *) echo "usage: $0 [--ops=N] [--out=DIR] [--json]" >&2; exit 2 ;;
  esac
done
LARDERD="$BUILD/server/larderd"
LOADGEN="$BUILD/bench/larder_loadgen"
for tool in valgrind callgrind_annotate callgrind_control redis-server redis-benchmark; do
  command -v "$tool" >/dev/null ||
    { echo "profile.sh: $tool is missing (bench/install-bench-deps.sh)" >&2; exit 2; }
done
[[ -x "$LARDERD" && -x "$LOADGEN" ]] ||
  { echo "profile.sh: build first (bench/run.sh builds)" >&2; exit 2; }

WORK="$(mktemp -d /tmp/larder-profile.XXXXXX)"

mkdir -p "$OUT"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { [[ "$JSON" == 1 ]] || echo "profile: $*" >&2; }

# A free TCP port on 127.0.0.1 (nothing answers a connect to it).
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "profile.sh: no free port" >&2
  return 1
}

# Waits up to $2 seconds for file $1 to contain $3.
wait_for() {
  for _ in $(seq $(($2 * 10))); do grep -q "$3" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "profile.sh: timed out waiting for '$3' in $1" >&2
  return 1
}

# Total Ir of a callgrind output file.
total_ir() {
  callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}

# Inclusive Ir of the first function whose name matches $2 (a regex), or 0.
inclusive_ir() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
    awk -v re="$2" '!found && $0 ~ re {gsub(",", "", $1); value = $1; found = 1}
      END {print found ? value : 0}'
}

# profile_larderd OP BATCH: OPS calls of OP (get or multiget of BATCH keys) under callgrind.
profile_larderd() {
  local out="$OUT/callgrind.larderd-$1" port pid
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "$LARDERD" --listen=127.0.0.1:0 --metrics-address= >"$WORK/larderd.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_for "$WORK/larderd.log" 120 "larderd ready"
  port="$(grep -o 'grpc=[^ ]*' "$WORK/larderd.log" | cut -d: -f2)"
  local common=(--target="127.0.0.1:$port" --keys=10000 --timeout=60s --op="$1" --batch="$2")
  "$LOADGEN" "${common[@]}" --preload-keys=10000 --duration=0 >/dev/null
  # Warms gRPC's pools and the maps; not counted.
  "$LOADGEN" "${common[@]}" --warmup=0 --duration=5s --inflight=8 >/dev/null
  callgrind_control -i on "$pid" >/dev/null 2>&1
  "$LOADGEN" "${common[@]}" --warmup=0 --duration=600s --max-ops="$OPS" >/dev/null
  callgrind_control -i off "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  log "larderd $1: $(total_ir "$out") Ir for $OPS calls"
}

# profile_redis NAME ARGS...: redis-benchmark -n OPS ARGS against redis-server under callgrind.
profile_redis() {
  local out="$OUT/callgrind.redis-$1" port pid
  shift
  port="$(free_port)"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$WORK" >"$WORK/redis.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_for "$WORK/redis.log" 120 "Ready to accept connections"
  "$LOADGEN" --protocol=redis --target="127.0.0.1:$port" --preload-keys=10000 --duration=0 \
    --timeout=60s --inflight=1 >/dev/null
  callgrind_control -i on "$pid" >/dev/null 2>&1
  timeout 600 redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -n "$OPS" -r 10000 "$@" \
    -q >/dev/null
  callgrind_control -i off "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  log "redis-server $*: $(total_ir "$out") Ir for $OPS requests"
}

# classify: reads callgrind_annotate's self-cost lines, prints "component<TAB>Ir" per line.
# With $1 = grpc, splits gRPC's own cost by area and drops everything else.
classify() {
  awk -v mode="${1:-all}" '
    /^ *[0-9,]+ \( *[0-9.]+%\)  / && !/PROGRAM TOTALS/ {
      ir = $1; gsub(",", "", ir)
      obj = $0; sub(/.*\[/, "", obj); sub(/\].*/, "", obj)
      fn = $0; sub(/^ *[0-9,]+ \( *[0-9.]+%\)  /, "", fn); sub(/ \[[^]]*\]$/, "", fn)
      grpc = obj ~ /libgrpc|libgpr|libupb|libaddress_sorting/ ||
             (fn ~ /grpc/ && fn !~ /larder::(server|storage)|google::protobuf/ &&
              fn !~ /larder::v1::[A-Za-z]+::/)
      if (mode == "grpc") {
        if (!grpc) next
        if (fn ~ /chttp2|HPack|hpack|grpc_tcp|tcp_|ndpoint|frame|low_control|FlowControl/ ||
            fn ~ /[Bb]dp|slice/) {
          c = "HTTP/2 transport, TCP endpoint, slices"
        } else if (fn ~ /FilterStackCall|grpc_call_|romise|CallCombiner|BatchControl|[Mm]etadata/ ||
                   fn ~ /[Aa]rena|[Ff]ilter|CallData|ChannelStack|call_element|[Ss]tatus/ ||
                   fn ~ /stream_ref|stream_unref|perform_stream_op|AcceptStream/) {
          c = "call object, filter stack, metadata, arena"
        } else if (fn ~ /completion_queue|cq_|Executor|ExecCtx|[Cc]ombiner|[Cc]losure|pollset/ ||
                   fn ~ /epoll|ev_|gpr_mu|gpr_cv|Timestamp|[Tt]imer|gpr_time|gpr_now/ ||
                   fn ~ /gpr_convert|[Tt]hread|Thd|MultiProducer/) {
          c = "completion queues, ExecCtx, executor threads, polling, clocks"
        }
        else if (fn ~ /grpc::/) c = "gRPC C++ layer (callback handler, CallOpSet, ByteBuffer)"
        else if (fn ~ /\?\?\?:0x/) c = "unnamed (stripped) gRPC internals"
        else c = "other gRPC"
      } else if (obj ~ /graphcycles/ || fn ~ /Deadlock|GraphCycles/) {
        c = "absl Mutex deadlock detection (graph cycles)"
      }
      else if (obj ~ /libabsl_synchronization/) c = "absl Mutex (lock, unlock, waiters)"
      else if (obj ~ /libprotobuf/ || fn ~ /google::protobuf|larder::v1::[A-Za-z]+::/) {
        c = "protobuf (parse, serialize, messages)"
      }
      else if (fn ~ /larder::storage::/) c = "memory engine (larder::storage)"
      else if (fn ~ /larder::|prometheus/) c = "service + handler + metrics (larder::server)"
      else if (grpc) c = "gRPC core + C++ (HTTP/2, call, CQ, executor)"
      else if (obj ~ /jemalloc|tcmalloc/ || fn ~ /malloc|free|arena\.c|_int_|realloc|calloc/) {
        c = "malloc / free"
      }
      else if (obj ~ /ld-linux/) c = "TLS lookups (__tls_get_addr, shared libraries)"
      else if (obj ~ /libabsl/) c = "other absl (status, time, hash)"
      else if (obj ~ /libc\.so/) c = "other libc (memcpy, pthread, time)"
      else if (obj ~ /libstdc/) c = "libstdc++"
      else c = "other"
      printf "%s\t%s\n", c, ir
    }'
}

# breakdown FILE DIVISOR [grpc]: self cost summed by component, "share  Ir/unit  component".
breakdown() {
  callgrind_annotate --threshold=100 "$1" 2>/dev/null | classify "${3:-all}" |
    awk -F'\t' -v n="$2" '{by[$1] += $2; total += $2}
      END {for (c in by) printf "  %5.1f%%  %7.0f  %s\n", 100 * by[c] / total, by[c] / n, c}' |
    sort -k2,2nr
}

per() { bc -l <<<"$1 / $2"; }

# inclusive_line FILE DIVISOR LABEL REGEX...: "LABEL Ir/unit" for each regex.
inclusive_line() {
  local file="$1" divisor="$2"
  shift 2
  while [[ $# -ge 2 ]]; do
    printf '  %-44s %7.0f\n' "$1" "$(per "$(inclusive_ir "$file" "$2")" "$divisor")"
    shift 2
  done
}

report_get() {
  local file="$OUT/callgrind.larderd-get"
  printf '\nInclusive cost per Get (Ir):\n'
  inclusive_line "$file" "$OPS" \
    "CacheService::Get (our code, all of it)" 'larder::server::CacheService::Get\(' \
    "  CacheHandler::Get" 'larder::server::CacheHandler::Get\(' \
    "    MemoryEngine::Get" 'larder::storage::MemoryEngine::Get\(' \
    "    NamespaceStats::RecordLookup" 'larder::server::NamespaceStats::RecordLookup' \
    "    FillGetResponse" 'larder::server::CacheHandler::FillGetResponse' \
    "  RpcMetrics::Record" 'larder::server::RpcMetrics::Record' \
    "GetRequest parse (gRPC Deserialize)" 'GetRequest, larder::v1::GetResponse>::Deserialize' \
    "GetResponse serialize" 'GenericSerialize<grpc::ProtoBufferWriter, larder::v1::GetResponse>'
  printf '\nlarderd self cost per Get by component (share, Ir per Get):\n'
  breakdown "$file" "$OPS"
  printf '\ngRPC share split by area (share of gRPC, Ir per Get):\n'
  breakdown "$file" "$OPS" grpc
}

report_multiget() {
  local file="$OUT/callgrind.larderd-multiget" keys=$((OPS * 16))
  printf '\nMultiGet(16), inclusive cost per key (Ir):\n'
  inclusive_line "$file" "$keys" \
    "CacheService::MultiGet" 'larder::server::CacheService::MultiGet\(' \
    "  StorageEngine::MultiGet (16 engine Gets)" 'larder::storage::StorageEngine::MultiGet' \
    "  NamespaceStats::RecordLookup" 'larder::server::NamespaceStats::RecordLookup' \
    "  FillGetResponse" 'larder::server::CacheHandler::FillGetResponse' \
    "MultiGetRequest parse" 'MultiGetRequest, larder::v1::MultiGetResponse>::Deserialize' \
    "MultiGetResponse serialize" \
    'GenericSerialize<grpc::ProtoBufferWriter, larder::v1::MultiGetResponse>'
  printf '\nlarderd self cost per MultiGet key by component (share, Ir per key):\n'
  breakdown "$file" "$keys"
}

main() {
  log "running larderd and redis-server under callgrind, $OPS calls each"
  profile_larderd get 1
  profile_larderd multiget 16
  profile_redis get -t get
  profile_redis pipeline -t get -P 16
  local get multiget redis pipeline
  get="$(per "$(total_ir "$OUT/callgrind.larderd-get")" "$OPS")"
  multiget="$(per "$(total_ir "$OUT/callgrind.larderd-multiget")" "$((OPS * 16))")"
  redis="$(per "$(total_ir "$OUT/callgrind.redis-get")" "$OPS")"
  pipeline="$(per "$(total_ir "$OUT/callgrind.redis-pipeline")" "$OPS")"
  if [[ "$JSON" == 1 ]]; then
    printf '{"ops":%d,"larderd_ir_per_get":%.0f,"redis_ir_per_get":%.0f,' "$OPS" "$get" "$redis"
    printf '"larderd_ir_per_multiget_key":%.0f,"redis_ir_per_pipelined_get":%.0f}\n' \
      "$multiget" "$pipeline"
    return
  fi
  printf '\nUser-space instructions (callgrind; %d calls each, 50 in flight):\n' "$OPS"
  printf '  larderd Get              %7.0f Ir   redis-server GET          %6.0f Ir  (%.1fx)\n' \
    "$get" "$redis" "$(per "$get" "$redis")"
  printf '  larderd MultiGet(16)/key %7.0f Ir   redis GET pipelined -P 16 %6.0f Ir  (%.1fx)\n' \
    "$multiget" "$pipeline" "$(per "$multiget" "$pipeline")"
  report_get
  report_multiget
  printf '\nCallgrind files: %s (callgrind_annotate --inclusive=yes FILE)\n' "$OUT"
}

main
