# shellcheck shell=bash
# Configures and builds the benchmarks' build directory the one way every benchmark script does
# (sourced; the caller defines log() and ROOT). Release, with the benchmarks, the SDK and the
# examples, without tests. Every script configures with the same arguments, so running one after
# another (bench/run.sh runs http_bench.sh and near_bench.sh) rebuilds nothing. GCC 12 reports a
# false -Wmaybe-uninitialized at -O3 in the client's HTTP layer, which a -Werror build would stop
# on, so that one warning stays a warning. cmake and make run under
# `flock /tmp/larder-build.lock`, so builds on the machine take turns.
#
#   source "$ROOT/bench/bench_build.sh"
#   bench_build "$BUILD" "$WORK" larderd larder_loadgen    # logs in $WORK; exits on failure

# bench_build BUILD_DIR LOG_DIR TARGET...: configures BUILD_DIR (retrying without the RocksDB and
# Redis engines when they do not configure) and makes TARGETs, -j2.
bench_build() {
  local build="$1" logs="$2"
  shift 2
  local lock=() common=(-S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLARDER_BUILD_BENCH=ON
    -DLARDER_BUILD_TESTS=OFF -DLARDER_BUILD_CLIENT=ON -DLARDER_BUILD_EXAMPLES=ON
    "-DCMAKE_CXX_FLAGS=-Wno-error=maybe-uninitialized")
  command -v ccache >/dev/null && common+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  command -v flock >/dev/null && lock=(flock /tmp/larder-build.lock)
  if ! "${lock[@]}" cmake "${common[@]}" >"$logs/configure.log" 2>&1; then
    log "configure with every engine failed; retrying without RocksDB and Redis engines"
    "${lock[@]}" cmake "${common[@]}" -DLARDER_WITH_ROCKSDB=OFF -DLARDER_WITH_REDIS=OFF \
      >"$logs/configure.log" 2>&1 || { cat "$logs/configure.log" >&2; exit 1; }
  fi
  if ! "${lock[@]}" make -C "$build" -j2 "$@" >"$logs/build.log" 2>&1; then
    tail -40 "$logs/build.log" >&2
    exit 1
  fi
}
