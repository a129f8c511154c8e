#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) in build-fuzz/ and runs each
# for a while on a copy of its seed corpus, with its dictionary. Exits non-zero when a target
# crashes (or times out, or runs out of memory); the input that did it is kept in
# build-fuzz/fuzz-artifacts/. Up to JOBS targets (default: nproc) build and run at once, so every
# target for 60 s takes about (targets / JOBS) minutes.
# Usage: scripts/fuzz.sh [target|all] [seconds] [extra libFuzzer flags...]
#   scripts/fuzz.sh                          every target, 60 s each
#   scripts/fuzz.sh glob_fuzz 300            one target for 5 minutes
#   scripts/fuzz.sh all 120 -runs=1000000    stop each at 1M executions (or 120 s)
#   JOBS=1 nice -n 19 scripts/fuzz.sh        on a shared machine, one target at a time
# A crash reproduces with: build-fuzz/tests/fuzz/<target> <crash file>
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(glob_fuzz tokens_file_fuzz http_record_fuzz cache_control_fuzz rocksdb_codec_fuzz
  http_key_fuzz request_path_fuzz redis_reply_fuzz redis_url_fuzz proxy_config_fuzz
  http1_parser_fuzz memcached_item_fuzz)
which="${1:-all}"
seconds="${2:-60}"
shift $(($# < 2 ? $# : 2))
extra_flags=("$@")
jobs="${JOBS:-$(nproc)}"
build_dir=build-fuzz

if [ "$which" = "all" ]; then
  targets=("${ALL_TARGETS[@]}")
elif [[ " ${ALL_TARGETS[*]} " == *" $which "* ]]; then
  targets=("$which")
else
  echo "fuzz.sh: unknown target '$which' (all, ${ALL_TARGETS[*]})" >&2
  exit 2
fi

scripts/install-deps.sh clang clang-14 libfuzzer-14-dev libhiredis-dev libyaml-dev libre2-dev \
  libmemcached-dev

# Product code in the linked libraries gets ASan + UBSan and libFuzzer's coverage
# (fuzzer-no-link); tests/fuzz/CMakeLists.txt adds -fsanitize=fuzzer to the targets themselves.
cxx_flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined"
cxx_flags+=" -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$cxx_flags" \
  -DLARDER_BUILD_FUZZ=ON -DLARDER_BUILD_TESTS=OFF -DLARDER_BUILD_EXAMPLES=OFF \
  -DLARDER_BUILD_BENCH=OFF -DLARDER_BUILD_CLIENT=OFF -DLARDER_WITH_ROCKSDB=OFF \
  -DLARDER_WITH_REDIS=ON -DLARDER_WITH_HTTPLIB=OFF >/dev/null
cmake --build "$build_dir" -j"$jobs" --target "${targets[@]}"

# Longest input per target: glob_fuzz checks against an O(pattern * text) reference matcher;
# request_path_fuzz skips inputs over 4096 bytes (its engine budget is sized for them).
max_len_of() {
  case "$1" in
    glob_fuzz) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# Throughput: ASan's defaults (256 MiB quarantine, 4 KiB fill of every allocation, 30-frame
# allocation stacks) halve the executions per second of these allocation-heavy targets. A crash
# still aborts the run; replay it with the defaults for the full report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:max_malloc_fill_size=0:malloc_context_size=5}"

# Runs one target on a copy of its corpus; prints its report in one piece when done and leaves
# its summary line in $work/<target>.summary and "failed" in $work/<target>.failed on a crash.
run_target() {
  local target="$1" corpus="$work/$1" log="$work/$1.log" status=0 start=$SECONDS
  mkdir -p "$corpus"
  cp -R "tests/fuzz/corpus/$target/." "$corpus/"
  "$build_dir/tests/fuzz/$target" "$corpus" -dict="tests/fuzz/$target.dict" \
    -max_total_time="$seconds" -max_len="$(max_len_of "$target")" -timeout=25 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
    ${extra_flags[@]+"${extra_flags[@]}"} >"$log" 2>&1 || status=$?
  local final execs rate cov ft line report
  final="$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' "$log" | tail -n 1 || true)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")"
  report="== $target: ${seconds}s on a copy of tests/fuzz/corpus/$target"$'\n'"   $final"
  line="$(printf '%-20s execs=%-10s exec/s=%-8s cov=%-6s ft=%-6s wall=%ss' "$target" \
    "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$((SECONDS - start))")"
  if [ "$status" -ne 0 ]; then
    report+=$'\n'"   FAILED (exit $status); the end of its log:"$'\n'
    report+="$(tail -n 60 "$log" | sed 's/^/   | /')"
    cp "$log" "$artifacts/$target.log"
    line="$line  FAILED (log: $artifacts/$target.log)"
    echo failed >"$work/$target.failed"
  fi
  echo "$line" >"$work/$target.summary"
  printf '%s\n' "$report"
}

# At most $jobs targets at a time; each is one libFuzzer process (one core).
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$target" &
done
wait

failed=()
echo "== summary"
for target in "${targets[@]}"; do
  if [ -e "$work/$target.summary" ]; then
    cat "$work/$target.summary"
  else
    echo "$target: did not run to the end"
    failed+=("$target")
  fi
  if [ -e "$work/$target.failed" ]; then failed+=("$target"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${failed[*]} failed; crashing inputs in $artifacts/" >&2
  exit 1
fi
