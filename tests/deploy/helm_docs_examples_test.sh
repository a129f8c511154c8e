#!/usr/bin/env bash
# Every values example of docs/deploy.md (each ```yaml block) renders with helm/larder: the
# guide shows nothing the schema or the chart's checks refuse. Its ```yaml manifest blocks are
# Kubernetes objects, whose larder-proxy sidecar must be what the chart's named template gives.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_helm
find_python
"${PYTHON}" "${DEPLOY_TESTS}/check_docs_examples.py" "${HELM}" "${CHART}" \
  "${ROOT}/docs/deploy.md" 9
