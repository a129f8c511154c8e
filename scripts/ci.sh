#!/usr/bin/env bash
# Everything CI runs (.ci/run), in order, each part timed:
#   1. the README's test command, exactly as a new user runs it (scripts/test.sh: GCC,
#      RelWithDebInfo, warnings as errors, the whole suite);
#   2. the whole suite but the deployment checks (label deploy: the chart, Prometheus rules and
#      the dashboard, checked by part 1) under AddressSanitizer + UBSan (GCC, Debug at -O1);
#   3. the unit tests, the engine conformance suite and the tests labelled "race" (threads sharing
#      one connection) under ThreadSanitizer (clang, Release,
#      warnings as errors, -Wthread-safety; benchmarks built too);
#   4. every libFuzzer target for FUZZ_SECONDS (default 25) from its seed corpus; a longer
#      campaign is scripts/fuzz.sh all 600.
# Every part runs even when an earlier one failed; the exit status is non-zero if any failed.
# Usage: scripts/ci.sh [part...]   parts: test asan tsan fuzz (default: all four)
set -uo pipefail
cd "$(dirname "$0")/.."

run_part() {
  case "$1" in
    test) bash scripts/test.sh ;;
    asan) bash scripts/test.sh --sanitize=address,undefined -LE deploy ;;
    tsan) bash scripts/test.sh --sanitize=thread -L 'unit|conformance|race' ;;
    fuzz) bash scripts/fuzz.sh all "${FUZZ_SECONDS:-25}" ;;
    *) echo "ci.sh: unknown part '$1' (test asan tsan fuzz)" >&2; return 2 ;;
  esac
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(test asan tsan fuzz)
summary=()
failed=0
for part in "${parts[@]}"; do
  echo "=== ci: ${part}"
  start=$SECONDS
  status=0
  run_part "${part}" || status=$?
  elapsed=$((SECONDS - start))
  [ "${status}" -eq 0 ] || failed=1
  summary+=("$(printf '%-5s %-6s %4d s' "${part}" "$([ "${status}" -eq 0 ] && echo passed || echo FAILED)" "${elapsed}")")
done
echo "=== ci: summary"
printf '  %s\n' "${summary[@]}"
exit "${failed}"
