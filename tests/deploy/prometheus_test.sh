#!/usr/bin/env bash
# deploy/prometheus: promtool check config / check rules / test rules, and the chart's
# PrometheusRule matches alerts.yml and passes the same unit tests. The chart renders the
# larder-proxy group only with proxy.enabled, so that comparison renders it with the proxy.
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

PROXY_ON=(--set proxy.enabled=true --set proxy.upstream=http://api.shop.svc:8000)
"${HELM}" template larder "${CHART}" --set prometheusRule.enabled=true "${PROXY_ON[@]}" \
  --show-only templates/prometheusrule.yaml >"${tmp}/chart.yaml" \
  || die "helm template of the PrometheusRule failed"
run "alerts.yml, its unit tests and the chart's PrometheusRule agree" \
  "${PYTHON}" "${DEPLOY_TESTS}/check_alert_rules.py" "${PROM}/alerts.yml" \
  "${PROM}/alerts_test.yml" "${tmp}/chart.yaml" "${tmp}/alerts.yml"
if [ -s "${tmp}/alerts.yml" ]; then
  cp "${PROM}/alerts_test.yml" "${tmp}/alerts_test.yml"
  # The chart's groups, larder and larder-proxy, under alerts.yml's unit tests.
  run "the chart's rules pass alerts_test.yml" promtool test rules "${tmp}/alerts_test.yml"
fi

# groups_are NAME EXPECTED HELM_ARGS...: the PrometheusRule rendered with HELM_ARGS has the
# groups EXPECTED (space-separated, in order).
groups_are() {
  local name="$1" expected="$2"
  shift 2
  local got
  if ! "${HELM}" template larder "${CHART}" --set prometheusRule.enabled=true "$@" \
    --show-only templates/prometheusrule.yaml >"${tmp}/groups.yaml" 2>"${tmp}/err"; then
    cat "${tmp}/err" >&2
    fail "${name}: helm template failed"
    return
  fi
  got="$("${PYTHON}" -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(" ".join(g["name"] for g in d["spec"]["groups"]))' "${tmp}/groups.yaml")"
  if [ "${got}" = "${expected}" ]; then
    pass "${name}: groups ${expected}"
  else
    fail "${name}: groups '${got}', expected '${expected}'"
  fi
}
groups_are "proxy disabled" "larder"
groups_are "proxy as a Deployment" "larder larder-proxy" "${PROXY_ON[@]}"
groups_are "proxy as a sidecar" "larder larder-proxy" --set proxy.enabled=true \
  --set proxy.mode=sidecar
groups_are "proxy.mode without proxy.enabled" "larder" --set proxy.mode=sidecar

# Thresholds from values reach the expressions and the descriptions.
cat >"${tmp}/custom-values.yaml" <<'VALUES'
prometheusRule:
  enabled: true
  job: cache
  maxErrorRatio: 0.1
  maxP99LatencySeconds: 0.25
  minHitRatio: 0.8
  maxAuthDeniedPerSecond: 0.5
  proxyMaxUpstreamErrorRatio: 0.02
  proxyMinHitRatio: 0.3
  proxyMinMissesPerSecond: 5
  additionalAlertLabels:
    team: platform
proxy:
  enabled: true
  mode: sidecar
VALUES
"${HELM}" template larder "${CHART}" -f "${tmp}/custom-values.yaml" \
  --show-only templates/prometheusrule.yaml >"${tmp}/custom.yaml" \
  || die "helm template with custom thresholds failed"
tr -s ' \n' '  ' <"${tmp}/custom.yaml" >"${tmp}/custom.flat"
for needle in '> 0.1' 'More than 10% of' '> 0.25' 'above 250ms' ') < 0.8' 'below 80%' \
  'up{job="cache"}' 'team: platform' 'principal) (rate(larder_auth_denied_total[5m])) > 0.5' \
  'more than 0.5 calls per second' 'upstream_seconds_count[5m])) > 0.02' \
  'More than 2% of the upstream exchanges' ') < 0.3' 'been below 30%' \
  'cache="miss"}[15m])) > 5' 'more than 5 miss per second'; do
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
