#!/usr/bin/env bash
# Renders helm/larder per engine with `helm template` and asserts on the objects
# (workload kind, PVCs, grpc probes, securityContext, Secret references, HPA, monitoring,
# auth and TLS flags and their read-only Secret mounts, the NetworkPolicy, the Redis engine's
# headless Service, connection-age flags, NOTES warnings), then with larder-proxy in deployment
# and sidecar mode (its Deployment, Services, args, probes, routes ConfigMap, monitors, the
# NetworkPolicy peer, and the sidecar named templates, also from a parent chart).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_helm
find_python
status=0
"${PYTHON}" "${DEPLOY_TESTS}/check_helm_render.py" "${HELM}" "${CHART}" || status=1
"${PYTHON}" "${DEPLOY_TESTS}/check_helm_render_proxy.py" "${HELM}" "${CHART}" || status=1
exit "${status}"
