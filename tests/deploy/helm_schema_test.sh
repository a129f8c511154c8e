#!/usr/bin/env bash
# values.schema.json and the chart's own checks: bad values must fail `helm template` with a
# message naming the value; good edge cases must render.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_helm

# rejects "EXPECTED TEXT" HELM-ARGS...: the render must fail and print EXPECTED TEXT.
rejects() {
  local expected="$1"
  shift
  local out
  if out="$("${HELM}" template t "${CHART}" "$@" 2>&1)"; then
    fail "accepted: $* (expected an error mentioning '${expected}')"
  elif grep -qF -- "${expected}" <<<"${out}"; then
    pass "rejected: $*"
  else
    echo "${out}" >&2
    fail "rejected $* but without '${expected}'"
  fi
}

# accepts HELM-ARGS...: the render must succeed.
accepts() {
  local out
  if out="$("${HELM}" template t "${CHART}" "$@" 2>&1)"; then
    pass "accepted: $*"
  else
    echo "${out}" >&2
    fail "rejected: $*"
  fi
}

rejects "engine must be one of" --set engine=bogus
rejects "memory.limitBytes" --set memory.limitBytes=-1
rejects "rocksdb.blockCacheBytes" --set engine=rocksdb --set rocksdb.blockCacheBytes=-1
rejects "config.maxValueBytes" --set config.maxValueBytes=-1
rejects "config.defaultTtl" --set config.defaultTtl=5min
rejects "config.maxTtl" --set config.maxTtl=-30s
rejects "redis.timeout" --set redis.timeout=soon
rejects "rocksdb.compression" --set rocksdb.compression=snappy
rejects "replicaCount" --set replicaCount=-1
rejects "ports.grpc" --set ports.grpc=70000
rejects "redis.url" --set engine=redis --set redis.url=http://redis:6379
rejects "rocksdb.persistence.size" --set engine=rocksdb --set rocksdb.persistence.size=lots
rejects "extraArgs" --set 'extraArgs[0]=verbose'
rejects "Additional property" --set unknownValue=1
rejects "autoscaling.enabled needs engine=redis" --set autoscaling.enabled=true
rejects "autoscaling.enabled needs engine=redis" --set engine=rocksdb --set autoscaling.enabled=true
rejects "engine=redis needs redis.url" --set engine=redis
rejects "redis.existingSecret is set without" --set engine=redis --set redis.existingSecret=creds
rejects "redis.password is ignored" --set engine=redis --set redis.existingSecret=creds \
  --set redis.existingSecretUrlKey=url --set redis.password=secret
rejects "minReplicas is larger" --set engine=redis --set redis.url=redis://r:6379/0 \
  --set autoscaling.enabled=true --set autoscaling.minReplicas=5 --set autoscaling.maxReplicas=2

accepts --set config.defaultTtl=1h30m --set config.maxTtl=0 --set redis.timeout=250ms
accepts --set memory.limitBytes=0 --set memory.limitBytes=17179869184
accepts --set engine=redis --set redis.url=redis://user:p%2Fw@redis:6379/2
accepts --set engine=redis --set redis.existingSecret=creds --set redis.url=redis://redis:6379/0
accepts --set engine=rocksdb --set rocksdb.compression=none --set replicaCount=0
finish
