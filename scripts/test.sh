#!/usr/bin/env bash
# Installs every dependency, builds everything and runs the whole test suite (unit and
# end-to-end tests against real larderd, redis-server, RocksDB and Prometheus processes).
# Usage: scripts/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
if [ -f scripts/install-helm.sh ]; then bash scripts/install-helm.sh; fi

jobs="$(nproc)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLARDER_BUILD_TESTS=ON -DLARDER_WERROR=ON \
  -DLARDER_BUILD_CLIENT=ON -DLARDER_WITH_ROCKSDB=ON -DLARDER_WITH_REDIS=ON \
  -DLARDER_BUILD_EXAMPLES=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600 "$@"
