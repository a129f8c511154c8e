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

# Redis Cluster: redis.clusterNodes and redis.mode.
nodes=(--set engine=redis --set 'redis.clusterNodes={a:6379,b:6379,c:6379}')
rejects "redis.url and redis.clusterNodes are both set" "${nodes[@]}" \
  --set redis.url=redis://r:6379/0
rejects "redis.clusterNodes cannot be used with redis.existingSecretUrlKey" "${nodes[@]}" \
  --set redis.existingSecret=creds --set redis.existingSecretUrlKey=url
rejects "redis.clusterNodes lists Redis Cluster seed nodes" "${nodes[@]}" \
  --set redis.mode=standalone
rejects "redis.mode must be one of" --set engine=redis --set redis.url=redis://r:6379/0 \
  --set redis.mode=sentinel
for bad in a 'a:' ':6379' 'a:0' 'a:65536' 'a:port' 'redis://a:6379' 'a:6379/0' 'u:p@a:6379' \
  '::1:7000' '[::1]' '[a.b]:7000' 'a b:6379'; do
  rejects "redis.clusterNodes.0: Does not match pattern" --set engine=redis \
    --set-json "redis.clusterNodes=[\"${bad}\"]"
done
rejects "redis.clusterNodes: Array must have at most 64 items" --set engine=redis \
  --set-json "redis.clusterNodes=[$(printf '"n%d:6379",' $(seq 1 65) | sed 's/,$//')]"
rejects "redis.clusterNodes: array items[0,1] must be unique" --set engine=redis \
  --set 'redis.clusterNodes={a:6379,a:6379}'

tls=(--set tls.enabled=true --set tls.secretName=larder-tls)
auth=(--set auth.enabled=true --set auth.tokensSecret=larder-tokens)
rejects "auth.enabled needs auth.tokensSecret" --set auth.enabled=true
rejects "tls.enabled needs tls.secretName" --set tls.enabled=true
rejects "tls.clientCA.enabled needs tls.enabled" --set tls.clientCA.enabled=true
rejects "auth.tlsPrincipal needs auth.enabled" "${tls[@]}" --set tls.clientCA.enabled=true \
  --set auth.tlsPrincipal=cn
rejects "auth.tlsPrincipal needs tls.clientCA.enabled" "${auth[@]}" "${tls[@]}" \
  --set auth.tlsPrincipal=san
rejects "auth.tlsPrincipal" "${auth[@]}" "${tls[@]}" --set tls.clientCA.enabled=true \
  --set auth.tlsPrincipal=email
rejects "auth.tokensSecret" --set auth.enabled=true --set auth.tokensSecret=Larder_Tokens
rejects "auth.tokensSecretKey" "${auth[@]}" --set auth.tokensSecretKey=a/b
rejects "tls.secretName" --set tls.enabled=true --set tls.secretName=-cert
rejects "tls.clientCA.key" "${tls[@]}" --set tls.clientCA.enabled=true --set tls.clientCA.key=
rejects "config.reflection" --set config.reflection=maybe
rejects "ports.health" --set ports.health=0
rejects "ports.health must differ" "${tls[@]}" --set ports.health=50051
rejects "ports.health must differ" "${tls[@]}" --set ports.health=9464
rejects "networkPolicy.enabled needs networkPolicy.allowedClients" --set networkPolicy.enabled=true
rejects "Additional property ipBlock" --set networkPolicy.enabled=true \
  --set-json 'networkPolicy.allowedClients=[{"ipBlock":{"cidr":"10.0.0.0/8"}}]'
rejects "networkPolicy.allowedClients" --set networkPolicy.enabled=true \
  --set-json 'networkPolicy.allowedClients=[{}]'
rejects "networkPolicy.prometheus" --set-json 'networkPolicy.prometheus=[{"podSelector":{"a":1}}]'

accepts "${auth[@]}" "${tls[@]}" --set tls.clientCA.enabled=true --set auth.tlsPrincipal=cn
accepts "${tls[@]}" --set tls.clientCA.enabled=true --set tls.clientCA.secretName=client-ca \
  --set tls.clientCA.key=bundle.pem --set config.reflection=true
accepts --set auth.tokensSecret=larder-tokens --set ports.health=50051
accepts --set networkPolicy.enabled=true --set-json 'networkPolicy.prometheus=[]' \
  --set-json 'networkPolicy.allowedClients=[{"namespaceSelector":{}}]'
accepts --set config.defaultTtl=1h30m --set config.maxTtl=0 --set redis.timeout=250ms
accepts --set memory.limitBytes=0 --set memory.limitBytes=17179869184
accepts --set engine=redis --set redis.url=redis://user:p%2Fw@redis:6379/2
accepts --set engine=redis --set redis.existingSecret=creds --set redis.url=redis://redis:6379/0
accepts --set engine=rocksdb --set rocksdb.compression=none --set replicaCount=0
accepts "${nodes[@]}" --set redis.mode=cluster --set autoscaling.enabled=true
accepts --set engine=redis --set-json \
  'redis.clusterNodes=["[::1]:7000","[2001:db8::7]:65535","10.0.0.1:1","redis-0.redis_x.svc:7000"]'
accepts --set engine=redis --set-json \
  "redis.clusterNodes=[$(printf '"n%d:6379",' $(seq 1 64) | sed 's/,$//')]"
accepts "${nodes[@]}" --set redis.existingSecret=creds --set redis.existingSecretPasswordKey=pw
accepts --set engine=redis --set 'redis.url=redis://:pw@a:6379\,b:6379' --set redis.mode=cluster
accepts --set engine=redis --set redis.url=redis://r:6379/0 --set redis.mode=standalone
finish
