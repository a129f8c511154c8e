#!/usr/bin/env bash
# The runtime image's package list covers every shared library of the binaries the image
# installs: larderd, larderctl and larder-proxy (libre2, libyaml-0-2 besides the SDK's).
# Usage: runtime_libs_test.sh PATH/TO/larderd [PATH/TO/larderctl PATH/TO/larder-proxy ...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ $# -ge 1 ] || die "usage: $0 PATH/TO/larderd [MORE BINARIES...]"
for binary in "$@"; do
  [ -x "${binary}" ] || die "no executable at '${binary}' (build its target first)"
done
need_command ldd "apt-get install libc-bin"
need_command dpkg-query "a Debian system is needed"
find_python
"${PYTHON}" "${DEPLOY_TESTS}/check_runtime_libs.py" "${ROOT}/deploy/docker/runtime-packages.txt" \
  "${ROOT}/scripts/install-deps.sh" "$@"
