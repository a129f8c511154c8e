# Functions shared by the tests/deploy scripts; sourced, not run.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY_TESTS="${ROOT}/tests/deploy"
CHART="${ROOT}/helm/larder"
FAILURES=0
CHECKS=0

# fail MESSAGE: records one failed check and prints it.
fail() {
  FAILURES=$((FAILURES + 1))
  CHECKS=$((CHECKS + 1))
  echo "FAIL: $*" >&2
}

# pass MESSAGE: records one passed check.
pass() {
  CHECKS=$((CHECKS + 1))
  echo "ok: $*"
}

# die MESSAGE: a broken precondition; stops the test.
die() {
  echo "FAIL: $*" >&2
  exit 1
}

# finish: prints the tally and exits non-zero when any check failed.
finish() {
  echo "$((CHECKS - FAILURES)) passed, ${FAILURES} failed"
  [ "${FAILURES}" -eq 0 ]
}

# find_python: sets PYTHON to a python3 that can import yaml (PyYAML, Debian python3-yaml).
find_python() {
  local candidate
  for candidate in python3 /usr/bin/python3; do
    if command -v "${candidate}" >/dev/null 2>&1 && "${candidate}" -c 'import yaml' 2>/dev/null; then
      PYTHON="${candidate}"
      return 0
    fi
  done
  die "no python3 with PyYAML (apt-get install python3-yaml)"
}

# need_helm: sets HELM, installing it with scripts/install-helm.sh when missing.
need_helm() {
  local log
  log="$(mktemp)"
  if ! bash "${ROOT}/scripts/install-helm.sh" >"${log}" 2>&1; then
    cat "${log}" >&2
    rm -f "${log}"
    die "scripts/install-helm.sh could not install helm"
  fi
  rm -f "${log}"
  HELM="${ROOT}/.tools/bin/helm"
}

# need_command NAME HINT: stops the test when NAME is not on PATH.
need_command() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"
}
