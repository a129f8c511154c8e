#!/usr/bin/env bash
# Installs every dependency, builds everything and runs the whole test suite (unit and
# end-to-end tests against real larderd, redis-server, RocksDB and Prometheus processes).
# Usage: scripts/test.sh [--sanitize=address,undefined|thread] [extra ctest arguments, e.g. -L unit]
#   --sanitize builds into its own directory (build-asan-ubsan/, build-tsan/) with those
#   sanitizers and runs the suite there; see docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
flags=""
werror=ON
if [[ "${1:-}" == --sanitize=* ]]; then
  sanitizers="${1#--sanitize=}"
  shift
  case "${sanitizers}" in
    address,undefined | undefined,address) build=build-asan-ubsan ;;
    thread) build=build-tsan ;;
    *) echo "test.sh: --sanitize must be address,undefined or thread" >&2; exit 2 ;;
  esac
  flags="-fsanitize=${sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  # GCC 12 raises false -Wrestrict / -Wstringop-overflow errors on libstdc++ code under the
  # sanitizers' instrumentation; warnings stay errors in the plain build only.
  werror=OFF
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
fi

scripts/install-deps.sh
if [ -f scripts/install-helm.sh ]; then bash scripts/install-helm.sh; fi

jobs="$(nproc)"
cmake -S . -B "${build}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLARDER_BUILD_TESTS=ON -DLARDER_WERROR="${werror}" \
  -DLARDER_BUILD_CLIENT=ON -DLARDER_WITH_ROCKSDB=ON -DLARDER_WITH_REDIS=ON \
  -DLARDER_BUILD_EXAMPLES=ON -DCMAKE_CXX_FLAGS="${flags}" \
  -DCMAKE_EXE_LINKER_FLAGS="${flags}" -DCMAKE_SHARED_LINKER_FLAGS="${flags}"
cmake --build "${build}" -j"$jobs"
ctest --test-dir "${build}" --output-on-failure -j"$jobs" --timeout 600 "$@"
