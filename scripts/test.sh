#!/usr/bin/env bash
# Installs every dependency, builds everything and runs the whole test suite (unit and
# end-to-end tests against real larderd, redis-server, RocksDB and Prometheus processes).
# Usage: scripts/test.sh [--sanitize=address,undefined|thread] [extra ctest arguments, e.g. -L unit]
#   --sanitize builds into its own directory (build-asan-ubsan/, build-tsan/) with those
#   sanitizers and runs the suite there; see docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
build_type=RelWithDebInfo
flags=""
# Line tables (-g1): enough for every backtrace and sanitizer report. A test file compiles in 53-65%
# of the time it takes with full -g (GCC's variable and type info); the whole build of the `test`
# part of CI went from about 1,000 s to about 850 s.
# A build for a debugger: cmake -B build -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g -DNDEBUG".
# The tests' own code (not larderd's nor the SDK's) at -O1: a test file compiles in about 75% of
# its -O2 time (tests/CMakeLists.txt, LARDER_TEST_COMPILE_OPTIONS).
build_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DLARDER_TEST_COMPILE_OPTIONS=-O1)
werror=ON
bench=OFF
compilers=()
targets=()
extra_packages=()
if [[ "${1:-}" == --sanitize=* ]]; then
  sanitizers="${1#--sanitize=}"
  shift
  case "${sanitizers}" in
    address,undefined | undefined,address)
      # GCC, Debug (assertions on) at -O1. GCC 12 raises false -Wrestrict / -Wstringop-overflow
      # errors on libstdc++ code under ASan's instrumentation: warnings stay warnings here.
      build=build-asan-ubsan
      build_type=Debug
      flags="-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined"
      # Line tables for the reports, as above; the tests' own code at -O0, which compiles in
      # about 60% of its -O1 time under ASan.
      # A sanitized process costs 0.1-0.3 s to start and end: each unit test binary is one ctest
      # test (LARDER_CTEST_UNIT_PER_BINARY, tests/CMakeLists.txt), here and in the tsan build.
      build_flags=(-DCMAKE_CXX_FLAGS_DEBUG=-g1 -DLARDER_TEST_COMPILE_OPTIONS=-O0
        -DLARDER_CTEST_UNIT_PER_BINARY=ON)
      werror=OFF
      export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
      export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
      ;;
    thread)
      # clang, Release, warnings as errors and -Wthread-safety: the second compiler and
      # configuration CI builds. tests/tsan/ explains the Abseil shim and the suppressions.
      build=build-tsan
      build_type=Release
      build_flags=(-DLARDER_TEST_COMPILE_OPTIONS=-O1 -DLARDER_CTEST_UNIT_PER_BINARY=ON)
      flags="-fsanitize=thread -gline-tables-only"
      compilers=(CC=clang CXX=clang++)
      bench=ON
      # Only what this run tests (the unit, race and conformance tests) and every program,
      # the benchmarks included (tests/CMakeLists.txt).
      targets=(--target larder_sanitizer_suite)
      extra_packages=(clang clang-14 libclang-rt-14-dev)
      export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan/suppressions.txt}"
      ;;
    *) echo "test.sh: --sanitize must be address,undefined or thread" >&2; exit 2 ;;
  esac
  flags+=" -fno-omit-frame-pointer"
fi
# gold links a test binary in half the time of the default linker (0.34 s against 0.84 s for
# client_integration_test; 0.65 s against 1.30 s under ASan), for about 100 binaries per build.
link_flags="${flags} -fuse-ld=gold"

scripts/install-deps.sh ${extra_packages[@]+"${extra_packages[@]}"}
if [ -f scripts/install-helm.sh ]; then bash scripts/install-helm.sh; fi

jobs="$(nproc)"
env ${compilers[@]+"${compilers[@]}"} cmake -S . -B "${build}" -DCMAKE_BUILD_TYPE="${build_type}" \
  "${build_flags[@]}" -DLARDER_BUILD_TESTS=ON -DLARDER_WERROR="${werror}" \
  -DLARDER_BUILD_CLIENT=ON -DLARDER_WITH_ROCKSDB=ON -DLARDER_WITH_REDIS=ON \
  -DLARDER_BUILD_EXAMPLES=ON -DLARDER_BUILD_BENCH="${bench}" -DCMAKE_CXX_FLAGS="${flags}" \
  -DCMAKE_EXE_LINKER_FLAGS="${link_flags}" -DCMAKE_SHARED_LINKER_FLAGS="${link_flags}"
cmake --build "${build}" -j"$jobs" ${targets[@]+"${targets[@]}"}
ctest --test-dir "${build}" --output-on-failure -j"$jobs" --timeout 600 "$@"
