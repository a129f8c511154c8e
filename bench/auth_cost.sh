#!/usr/bin/env bash
# The cost of larderd's access check per call, in user-space instructions counted by callgrind
# (reproducible on a noisy machine). Runs larder_auth_cost at two call counts; the difference
# divided by the extra calls is what one Check costs, start-up and file loading cancelled out.
# Usage: bench/auth_cost.sh [build-dir]   (configure with -DLARDER_BUILD_BENCH=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
cmake --build "$build" --target larder_auth_cost -j"$(nproc)" >/dev/null
binary="$build/bench/larder_auth_cost"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

instructions() {  # calls -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" "$binary" --calls="$1" \
    --tokens_file="$out/tokens" >/dev/null 2>"$out/log.$1"
  grep -m1 '^summary:' "$out/cg.$1" | awk '{print $2}'
}

low=20000
high=120000
a="$(instructions "$low")"
b="$(instructions "$high")"
per_call=$(( (b - a) / (high - low) ))
echo "auth check (100 principals, valid token, SHA-256 + lookup + grant): ${per_call} instructions per call"
echo "  callgrind totals: ${a} at ${low} calls, ${b} at ${high} calls"
