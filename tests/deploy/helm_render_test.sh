#!/usr/bin/env bash
# Renders helm/larder per engine with `helm template` and asserts on the objects
# (workload kind, PVCs, grpc probes, securityContext, Secret references, HPA, monitoring).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_helm
find_python
"${PYTHON}" "${DEPLOY_TESTS}/check_helm_render.py" "${HELM}" "${CHART}"
