#!/usr/bin/env bash
# deploy/grafana/larder-dashboard.json: parses, has the datasource/namespace/instance/proxy
# variables, every panel has queries, and every query (variables set to .*) is valid PromQL per
# promtool.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_command promtool "apt-get install prometheus"
find_python

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
DASHBOARD="${ROOT}/deploy/grafana/larder-dashboard.json"

if "${PYTHON}" "${DEPLOY_TESTS}/check_dashboard.py" "${DASHBOARD}" "${tmp}/queries.yml"; then
  pass "dashboard structure"
else
  fail "dashboard structure"
fi
if [ -s "${tmp}/queries.yml" ]; then
  if promtool check rules "${tmp}/queries.yml" >"${tmp}/out" 2>&1; then
    pass "every dashboard query parses as PromQL ($(grep -o '[0-9]* rules found' "${tmp}/out"))"
  else
    cat "${tmp}/out" >&2
    fail "some dashboard queries are not valid PromQL"
  fi
fi
finish
