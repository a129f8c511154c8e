#!/usr/bin/env bash
# Golden renders: `helm template` of helm/larder with its defaults and with each
# ci/<case>-values.yaml must equal tests/deploy/golden/<case>.yaml.
# After an intended chart change: bash tests/deploy/helm_golden_test.sh --update, then review
# the diff of the golden files.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_helm

GOLDEN="${DEPLOY_TESTS}/golden"
update=0
[ "${1:-}" = "--update" ] && update=1
mkdir -p "${GOLDEN}"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

check_case() {
  local name="$1"
  shift
  local out="${tmp}/${name}.yaml"
  if ! "${HELM}" template larder "${CHART}" --namespace cache "$@" >"${out}" 2>"${tmp}/err"; then
    cat "${tmp}/err" >&2
    fail "${name}: helm template failed"
    return
  fi
  if [ "${update}" -eq 1 ]; then
    cp "${out}" "${GOLDEN}/${name}.yaml"
    pass "${name}: golden file written"
  elif [ ! -f "${GOLDEN}/${name}.yaml" ]; then
    fail "${name}: no golden file ${GOLDEN}/${name}.yaml (run with --update)"
  elif diff -u "${GOLDEN}/${name}.yaml" "${out}" >"${tmp}/diff"; then
    pass "${name}: render equals golden/${name}.yaml"
  else
    head -n 60 "${tmp}/diff" >&2
    fail "${name}: render differs from golden/${name}.yaml (intended? rerun with --update)"
  fi
}

check_case default
for values in "${CHART}"/ci/*-values.yaml; do
  name="$(basename "${values}" -values.yaml)"
  check_case "${name}" -f "${values}"
done
for golden in "${GOLDEN}"/*.yaml; do
  name="$(basename "${golden}" .yaml)"
  [ "${name}" = default ] || [ -f "${CHART}/ci/${name}-values.yaml" ] \
    || fail "golden/${name}.yaml has no ci/${name}-values.yaml (remove it)"
done
finish
