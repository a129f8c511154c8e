#!/usr/bin/env bash
# Installs the dependencies, builds larderd and starts it on the in-memory engine.
# Usage: scripts/start.sh [larderd flags, e.g. --listen=0.0.0.0:50051 --default-ttl=5m]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target larderd -j"$(nproc)"
exec build/server/larderd --engine=memory "$@"
