#!/usr/bin/env bash
# The runtime image's package list covers every shared library of a built larderd.
# Usage: runtime_libs_test.sh PATH/TO/larderd
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ $# -eq 1 ] || die "usage: $0 PATH/TO/larderd"
[ -x "$1" ] || die "larderd not found or not executable at '$1' (build the larderd target first)"
need_command ldd "apt-get install libc-bin"
need_command dpkg-query "a Debian system is needed"
find_python
"${PYTHON}" "${DEPLOY_TESTS}/check_runtime_libs.py" "$1" \
  "${ROOT}/deploy/docker/runtime-packages.txt" "${ROOT}/scripts/install-deps.sh"
