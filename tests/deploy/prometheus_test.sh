#!/usr/bin/env bash
# deploy/prometheus: promtool check config / check rules / test rules, and the chart's
# PrometheusRule matches alerts.yml and passes the same unit tests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_command promtool "apt-get install prometheus"
find_python
need_helm

PROM="${ROOT}/deploy/prometheus"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# run NAME COMMAND...: one check that passes when COMMAND exits 0.
run() {
  local name="$1"
  shift
  if "$@" >"${tmp}/out" 2>&1; then
    pass "${name}"
  else
    cat "${tmp}/out" >&2
    fail "${name}"
  fi
}

run "promtool check config prometheus.yml" promtool check config "${PROM}/prometheus.yml"
run "promtool check rules alerts.yml" promtool check rules "${PROM}/alerts.yml"
run "promtool test rules alerts_test.yml" promtool test rules "${PROM}/alerts_test.yml"

"${HELM}" template larder "${CHART}" --set prometheusRule.enabled=true \
  --show-only templates/prometheusrule.yaml >"${tmp}/chart.yaml" \
  || die "helm template of the PrometheusRule failed"
run "alerts.yml, its unit tests and the chart's PrometheusRule agree" \
  "${PYTHON}" "${DEPLOY_TESTS}/check_alert_rules.py" "${PROM}/alerts.yml" \
  "${PROM}/alerts_test.yml" "${tmp}/chart.yaml" "${tmp}/alerts.yml"
if [ -s "${tmp}/alerts.yml" ]; then
  cp "${PROM}/alerts_test.yml" "${tmp}/alerts_test.yml"
  # The chart's groups, with alerts.yml's larder-proxy group that the chart lacks.
  run "the chart's rules pass alerts_test.yml" promtool test rules "${tmp}/alerts_test.yml"
fi

# Thresholds from values reach the expressions and the descriptions.
cat >"${tmp}/custom-values.yaml" <<'VALUES'
prometheusRule:
  enabled: true
  job: cache
  maxErrorRatio: 0.1
  maxP99LatencySeconds: 0.25
  minHitRatio: 0.8
  maxAuthDeniedPerSecond: 0.5
  additionalAlertLabels:
    team: platform
VALUES
"${HELM}" template larder "${CHART}" -f "${tmp}/custom-values.yaml" \
  --show-only templates/prometheusrule.yaml >"${tmp}/custom.yaml" \
  || die "helm template with custom thresholds failed"
tr -s ' \n' '  ' <"${tmp}/custom.yaml" >"${tmp}/custom.flat"
for needle in '> 0.1' 'More than 10% of' '> 0.25' 'above 250ms' ') < 0.8' 'below 80%' \
  'up{job="cache"}' 'team: platform' 'principal) (rate(larder_auth_denied_total[5m])) > 0.5' \
  'more than 0.5 calls per second'; do
  if grep -qF -- "${needle}" "${tmp}/custom.flat"; then
    pass "custom thresholds: rendered rules contain '${needle}'"
  else
    fail "custom thresholds: rendered rules lack '${needle}'"
  fi
done
"${PYTHON}" -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); yaml.safe_dump({"groups": d["spec"]["groups"]}, open(sys.argv[2], "w"))' \
  "${tmp}/custom.yaml" "${tmp}/custom-rules.yml"
run "promtool check rules on the chart's rules with custom thresholds" \
  promtool check rules "${tmp}/custom-rules.yml"
finish
