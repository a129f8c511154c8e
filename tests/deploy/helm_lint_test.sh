#!/usr/bin/env bash
# `helm lint --strict` of helm/larder with its defaults and with every ci/*-values.yaml (one
# per engine, `secure` with auth, TLS and a NetworkPolicy, `proxy` and `proxy-sidecar` with
# larder-proxy), and a `# --` comment on every value of values.yaml.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_helm
find_python

lint() {
  local label="$1"
  shift
  local out
  if out="$("${HELM}" lint --strict "${CHART}" "$@" 2>&1)"; then
    pass "helm lint --strict (${label})"
  else
    echo "${out}" >&2
    fail "helm lint --strict (${label})"
  fi
}

lint "default values"
shopt -s nullglob
cases=("${CHART}"/ci/*-values.yaml)
[ ${#cases[@]} -ge 3 ] || fail "expected at least 3 ci/*-values.yaml, found ${#cases[@]}"
for values in "${cases[@]}"; do
  lint "ci/$(basename "${values}")" -f "${values}"
done
for case in memory rocksdb redis secure proxy proxy-sidecar; do
  [ -f "${CHART}/ci/${case}-values.yaml" ] && pass "ci/${case}-values.yaml exists" \
    || fail "ci/${case}-values.yaml is missing"
done
if "${PYTHON}" "${DEPLOY_TESTS}/check_values_docs.py" "${CHART}/values.yaml"; then
  pass "every value in values.yaml has a '# --' comment"
else
  fail "values.yaml has undocumented values"
fi
finish
