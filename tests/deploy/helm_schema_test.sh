#!/usr/bin/env bash
# values.schema.json and the chart's own checks: bad values (and combinations larderd would
# refuse at start-up or that cannot fit the container's memory) must fail `helm template` with a
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
rejects "autoscaling.enabled needs engine=redis or engine=memcached" --set autoscaling.enabled=true
rejects "autoscaling.enabled needs engine=redis or engine=memcached" --set engine=rocksdb \
  --set autoscaling.enabled=true
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

# memcached: servers, and values and flags of the engine only with it.
mc=(--set engine=memcached --set 'memcached.servers={a:11211,b:11211}')
rejects "engine=memcached needs memcached.servers" --set engine=memcached
rejects "memcached.servers, keyPrefix, timeout or maxItemBytes is set, but engine=memory" \
  --set 'memcached.servers={a:11211}'
rejects "memcached.servers, keyPrefix, timeout or maxItemBytes is set, but engine=redis" \
  --set engine=redis --set redis.url=redis://r:6379/0 --set memcached.maxItemBytes=2097152
rejects "extraArgs --memcached-timeout=1s is a flag of the memcached engine, but engine=redis" \
  --set engine=redis --set redis.url=redis://r:6379/0 --set 'extraArgs[0]=--memcached-timeout=1s'
rejects "extraArgs --redis-timeout=1s is a flag of the redis engine, but engine=memcached" \
  "${mc[@]}" --set 'extraArgs[0]=--redis-timeout=1s'
rejects "memcached.timeout=0: larderd refuses a memcached timeout" "${mc[@]}" \
  --set memcached.timeout=0
rejects "extraArgs --memcached-timeout=0: larderd refuses" "${mc[@]}" \
  --set 'extraArgs[0]=--memcached-timeout=0'
rejects "memcached.keyPrefix: Does not match pattern" "${mc[@]}" --set 'memcached.keyPrefix=a b'
rejects "extraArgs --memcached-key-prefix=a b: larderd refuses" "${mc[@]}" \
  --set 'extraArgs[0]=--memcached-key-prefix=a b'
rejects "memcached.maxItemBytes: Must be greater than or equal to 1024" "${mc[@]}" \
  --set memcached.maxItemBytes=10
for bad in a 'a:' ':11211' 'a:0' 'a:65536' 'a b:11211'; do
  rejects "memcached.servers.0: Does not match pattern" --set engine=memcached \
    --set-json "memcached.servers=[\"${bad}\"]"
done
accepts "${mc[@]}" --set memcached.timeout=250ms --set memcached.maxItemBytes=4194304 \
  --set autoscaling.enabled=true
accepts --set engine=memcached --set 'memcached.servers={[::1]:11211}'

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

# What larderd refuses at start-up (server/server_options.cc, server/main.cc, the engines).
rejects "config.maxTtl=1h needs config.defaultTtl set to at most it" --set config.maxTtl=1h
rejects "config.defaultTtl=2h is longer than config.maxTtl=1h" --set config.maxTtl=1h \
  --set config.defaultTtl=2h
rejects "config.defaultTtl=61m is longer than config.maxTtl=1h" --set config.maxTtl=1h \
  --set config.defaultTtl=61m
rejects "extraArgs --max-ttl=12h needs config.defaultTtl" --set 'extraArgs[0]=--max-ttl=12h'
rejects "extraArgs --max_ttl=1h needs config.defaultTtl" --set 'extraArgs[0]=--max_ttl=1h'
rejects "config.defaultTtl=2h is longer than extraArgs --max-ttl=90m" --set config.defaultTtl=2h \
  --set 'extraArgs[0]=--max-ttl=90m'
rejects "extraEnv LARDER_MAX_TTL=1h needs config.defaultTtl" \
  --set-json 'extraEnv=[{"name":"LARDER_MAX_TTL","value":"1h"}]'
rejects "extraArgs --default-ttl=soon is not a duration" --set 'extraArgs[0]=--default-ttl=soon'
rejects "config.maxConnectionAge" --set config.maxConnectionAge=5min
rejects "config.maxConnectionAgeGrace" --set config.maxConnectionAgeGrace=-1s
rejects "config.maxValueBytes" --set config.maxValueBytes=0
rejects "config.maxValueBytes" --set config.maxValueBytes=1073741825
rejects "config.maxValueBytes=134217728 is more than --max-response-bytes (67108864" \
  --set config.maxValueBytes=134217728 --set memory.limitBytes=1073741824 \
  --set resources.limits.memory=2Gi
rejects "extraArgs --max-response-bytes=3GiB is more than larderd accepts" \
  --set 'extraArgs[0]=--max-response-bytes=3GiB'
rejects "extraArgs --max-response-bytes=lots is not a byte count" \
  --set 'extraArgs[0]=--max-response-bytes=lots'
rejects "memory.limitBytes=0 is less than one largest entry, 8454144 bytes" \
  --set memory.limitBytes=0
rejects "memory.limitBytes=1048576 is less than one largest entry, 2162688 bytes" \
  --set memory.limitBytes=1048576 --set config.maxValueBytes=2097152
redis=(--set engine=redis --set redis.url=redis://r:6379/0)
rejects "redis.poolSize=2 is less than --storage-threads (4, larderd's default)" "${redis[@]}" \
  --set redis.poolSize=2
rejects "redis.poolSize=4 is less than --storage-threads (--storage-threads=8)" "${redis[@]}" \
  --set redis.poolSize=4 --set 'extraArgs[0]=--storage-threads=8'
rejects "redis.poolSize (unset: larderd's default 8) is less than --storage-threads" \
  "${redis[@]}" --set 'extraArgs[0]=--storage-threads=16'
rejects "redis.timeout=0: larderd refuses a Redis timeout that is not positive" "${redis[@]}" \
  --set redis.timeout=0
rejects "redis.keyPrefix: Does not match pattern" "${redis[@]}" --set 'redis.keyPrefix=app{1}:'
rejects "extraArgs --redis-key-prefix={x}: larderd refuses '{' or '}'" "${redis[@]}" \
  --set 'extraArgs[0]=--redis-key-prefix={x}'

# Flags and values of one engine are refused with another, which would ignore them.
rejects "extraArgs --engine=redis: set the engine value instead" --set 'extraArgs[0]=--engine=redis'
rejects "extraArgs --rocksdb-sync-writes is a flag of the rocksdb engine, but engine=memory" \
  --set 'extraArgs[0]=--rocksdb-sync-writes'
rejects "extraArgs --data_dir=/d is a flag of the rocksdb engine, but engine=redis" \
  "${redis[@]}" --set 'extraArgs[0]=--data_dir=/d'
rejects "extraArgs --memory-shards=4 is a flag of the memory engine, but engine=rocksdb" \
  --set engine=rocksdb --set 'extraArgs[0]=--memory-shards=4'
rejects "extraArgs --redis-mode=cluster is a flag of the redis engine, but engine=memory" \
  --set 'extraArgs[0]=--redis-mode=cluster'
rejects "rocksdb.blockCacheBytes is set, but engine=memory" --set rocksdb.blockCacheBytes=1048576
rejects "redis.url, redis.clusterNodes or redis.mode is set, but engine=rocksdb" \
  --set engine=rocksdb --set redis.url=redis://r:6379/0

# Engine memory must fit in 75% of the container's memory limit.
rejects "memory.limitBytes=4294967296 plus config.leaseStaleBytes (unset: larderd's default 67108864) need 4160 MiB, more than 75% of resources.limits.memory=512Mi (384 MiB)" \
  --set memory.limitBytes=4294967296
rejects "memory.limitBytes (unset: larderd's default 1073741824) plus" --set memory.limitBytes=null
rejects "rocksdb.blockCacheBytes=536870912 plus config.leaseStaleBytes (unset: larderd's default 67108864) need 576 MiB, more than 75% of resources.limits.memory=512Mi" \
  --set engine=rocksdb --set rocksdb.blockCacheBytes=536870912
rejects "Raise resources.limits.memory to at least 768Mi, or lower rocksdb.blockCacheBytes" \
  --set engine=rocksdb --set rocksdb.blockCacheBytes=536870912
rejects "plus config.leaseStaleBytes=268435456 need 512 MiB, more than 75% of resources.limits.memory=600M (429 MiB)" \
  --set config.leaseStaleBytes=268435456 --set resources.limits.memory=600M
rejects "extraArgs --memory-limit=1GiB plus" --set 'extraArgs[0]=--memory-limit=1GiB'
rejects "extraArgs --rocksdb-block-cache-bytes=2G plus" --set engine=rocksdb \
  --set 'extraArgs[0]=--rocksdb-block-cache-bytes=2G' --set resources.limits.memory=2Gi
rejects "resources.limits.memory: Does not match pattern" --set resources.limits.memory=lots
rejects "resources.limits.memory: Does not match pattern" --set resources.limits.memory=512MB

accepts --set config.maxTtl=1h --set config.defaultTtl=1h
accepts --set config.maxTtl=1h30m --set config.defaultTtl=90m
accepts --set config.maxTtl=0 --set config.defaultTtl=5m
accepts --set config.defaultTtl=30s --set 'extraArgs[0]=--max-ttl=1m'
accepts --set config.maxConnectionAge=0 --set config.maxConnectionAgeGrace=0
accepts --set config.maxValueBytes=134217728 --set memory.limitBytes=1073741824 \
  --set resources.limits.memory=2Gi --set 'extraArgs[0]=--max-response-bytes=128MiB'
accepts --set memory.limitBytes=8454144
accepts "${redis[@]}" --set redis.poolSize=2 --set 'extraArgs[0]=--storage-threads=2'
accepts "${redis[@]}" --set redis.poolSize=4 --set resources.limits.memory=64Mi
accepts --set memory.limitBytes=335544320
accepts --set memory.limitBytes=null --set resources.limits.memory=1451Mi
accepts --set memory.limitBytes=null --set resources.limits.memory=1.5Gi
accepts --set memory.limitBytes=1073741824 --set resources.limits.memory=1600M
accepts --set memory.limitBytes=1073741824 --set resources.limits.memory=2e9
accepts --set memory.limitBytes=1073741824 --set resources.limits.memory=4294967296
accepts --set memory.limitBytes=1073741824 --set resources.limits=null
accepts --set engine=rocksdb --set rocksdb.blockCacheBytes=536870912 \
  --set resources.limits.memory=768Mi
accepts --set engine=rocksdb --set 'extraArgs[0]=--rocksdb-sync-writes'

accepts "${auth[@]}" "${tls[@]}" --set tls.clientCA.enabled=true --set auth.tlsPrincipal=cn
accepts "${tls[@]}" --set tls.clientCA.enabled=true --set tls.clientCA.secretName=client-ca \
  --set tls.clientCA.key=bundle.pem --set config.reflection=true
accepts --set auth.tokensSecret=larder-tokens --set ports.health=50051
accepts --set networkPolicy.enabled=true --set-json 'networkPolicy.prometheus=[]' \
  --set-json 'networkPolicy.allowedClients=[{"namespaceSelector":{}}]'
accepts --set config.defaultTtl=1h30m --set config.maxTtl=0 --set redis.timeout=250ms
accepts --set memory.limitBytes=17179869184 --set resources.limits.memory=22Gi
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
# larder-proxy (proxy.*): the schema, and what larder-proxy would refuse or could not use.
proxy=(--set proxy.enabled=true --set proxy.upstream=http://api.shop.svc:8000)
sidecar=(--set proxy.enabled=true --set proxy.mode=sidecar)
rejects "proxy.mode must be one of" --set proxy.enabled=true --set proxy.mode=daemonset
rejects "proxy.upstream: String length must be greater than or equal to 1" --set proxy.enabled=true
rejects "proxy.mode=deployment needs proxy.upstream" --skip-schema-validation \
  --set proxy.enabled=true
for bad in https://api:443 http://api:8000/v1 http://api:8000// api:8000 'http://a b:80' \
  http://api:0 http://api:65536 http://user@api:80 'http://api:8000?q=1' http://[::1; do
  rejects "proxy.upstream: Does not match pattern" --set proxy.enabled=true \
    --set "proxy.upstream=${bad}"
done
rejects "proxy.listenPort and proxy.adminPort must differ" "${proxy[@]}" --set proxy.adminPort=8080
rejects "proxy.adminPort" "${proxy[@]}" --set proxy.adminPort=0
for arg in --listen=0.0.0.0:80 --admin_listen=:9 --upstream=http://b:1 --larder=x:1 \
  --config=/r.yaml --auth-token-file=/t; do
  rejects "proxy.extraArgs ${arg}: set proxy." "${proxy[@]}" --set "proxy.extraArgs[0]=${arg}"
done
rejects "proxy.extraArgs.0: Does not match pattern" "${proxy[@]}" \
  --set 'proxy.extraArgs[0]=threads=8'
rejects "proxy.larderDeadline: Does not match pattern" "${proxy[@]}" --set proxy.larderDeadline=soon
rejects "proxy.larderDeadline: Invalid type" "${proxy[@]}" --set proxy.larderDeadline=50
rejects "proxy.upstreamTimeout: Does not match pattern" "${proxy[@]}" \
  --set proxy.upstreamTimeout=30sec
rejects "proxy.threads: Must be greater than or equal to 1" "${proxy[@]}" --set proxy.threads=0
rejects "proxy.threads: Must be less than or equal to 4096" "${proxy[@]}" --set proxy.threads=4097
rejects "proxy.eventLoops: Must be greater than or equal to 0" "${proxy[@]}" \
  --set proxy.eventLoops=-1
rejects "proxy.eventLoops: Must be less than or equal to 64" "${proxy[@]}" \
  --set proxy.eventLoops=65
rejects "proxy.eventLoops: Invalid type" "${proxy[@]}" --set proxy.eventLoops=auto
rejects "proxy.lookupBatchKeys: Must be greater than or equal to 0" "${proxy[@]}" \
  --set proxy.lookupBatchKeys=-1
rejects "proxy.lookupBatchKeys: Must be less than or equal to 1000" "${proxy[@]}" \
  --set proxy.lookupBatchKeys=1001
rejects "proxy.lookupBatchKeys: Invalid type" "${proxy[@]}" --set proxy.lookupBatchKeys=many
rejects "proxy.larderDeadline=0ms: larder-proxy refuses a duration that is not positive" \
  "${proxy[@]}" --set proxy.larderDeadline=0ms
rejects "proxy.upstreamTimeout=0h0s: larder-proxy refuses" "${proxy[@]}" \
  --set proxy.upstreamTimeout=0h0s
rejects "proxy.nearCacheBytes=65535: larder-proxy refuses a near cache under 65536 bytes" \
  "${proxy[@]}" --set proxy.nearCacheBytes=65535
rejects "proxy.maxRequestBody" "${proxy[@]}" --set proxy.maxRequestBody=-1
rejects "proxy.nearCacheBytes: Invalid type" "${proxy[@]}" --set proxy.nearCacheBytes=64MiB
rejects "proxy.service.type must be one of" "${proxy[@]}" --set proxy.service.type=Ingress
rejects "proxy.authTokenSecret" "${proxy[@]}" --set proxy.authTokenSecret=Bad_Name
rejects "Additional property replicas is not allowed" "${proxy[@]}" --set proxy.replicas=3
rejects "proxy.routes.routes.0: Must validate one and only one schema" "${proxy[@]}" \
  --set-json 'proxy.routes={"routes":[{"prefix":"/a/","regex":"^/b$"}]}'
rejects "proxy.routes.routes.0: Must validate one and only one schema" "${proxy[@]}" \
  --set-json 'proxy.routes={"routes":[{"namespace":"items"}]}'
rejects "proxy.routes.routes.0.prefix: Does not match pattern" "${proxy[@]}" \
  --set-json 'proxy.routes={"routes":[{"prefix":"items/"}]}'
rejects "proxy.routes.routes.0.max_ttl: Does not match pattern" "${proxy[@]}" \
  --set-json 'proxy.routes={"routes":[{"prefix":"/a/","max_ttl":"10 minutes"}]}'
rejects "proxy.routes.routes.0.cache: Invalid type" "${proxy[@]}" \
  --set-json 'proxy.routes={"routes":[{"prefix":"/a/","cache":"no"}]}'
rejects "proxy.routes.routes.0.vary.0: Does not match pattern" "${proxy[@]}" \
  --set-json 'proxy.routes={"routes":[{"prefix":"/a/","vary":["Accept Language"]}]}'
rejects "proxy.routes.default.prefix: Must not validate the schema" "${proxy[@]}" \
  --set-json 'proxy.routes={"default":{"prefix":"/"}}'
rejects "proxy.routes: Invalid type" "${proxy[@]}" --set-json 'proxy.routes=["a"]'
rejects "proxy.routes is not a YAML mapping" "${proxy[@]}" --set 'proxy.routes=- a'
rejects "proxy.enabled with tls.enabled: larder-proxy has no TLS client flags" "${proxy[@]}" \
  "${tls[@]}"
rejects "proxy.enabled with auth.enabled needs proxy.authTokenSecret" "${proxy[@]}" "${auth[@]}"
rejects "proxy.autoscaling.enabled and proxy.podDisruptionBudget.enabled need proxy.mode" \
  "${sidecar[@]}" --set proxy.autoscaling.enabled=true
rejects "proxy.autoscaling.enabled and proxy.podDisruptionBudget.enabled need proxy.mode" \
  "${sidecar[@]}" --set proxy.podDisruptionBudget.enabled=true
rejects "proxy.autoscaling.minReplicas is larger" "${proxy[@]}" \
  --set proxy.autoscaling.enabled=true --set proxy.autoscaling.minReplicas=5 \
  --set proxy.autoscaling.maxReplicas=2
rejects "proxy.terminationGracePeriodSeconds=12 is less than proxy.preStopSleepSeconds (5) plus" \
  "${proxy[@]}" --set proxy.terminationGracePeriodSeconds=12
rejects "(with proxy.mode=sidecar, list the pods running the larder-proxy sidecar)" \
  "${sidecar[@]}" --set networkPolicy.enabled=true

accepts "${sidecar[@]}"
accepts "${proxy[@]}" --set proxy.terminationGracePeriodSeconds=10 --set proxy.preStopSleepSeconds=0
accepts "${proxy[@]}" --set proxy.upstream=http://[fd00::7]:8000
accepts "${proxy[@]}" --set proxy.upstream=http://10.0.0.7:65535
accepts "${proxy[@]}" --set proxy.upstream=http://api.shop.svc
accepts "${proxy[@]}" --set proxy.upstream=http://api.shop.svc:8000/
accepts "${proxy[@]}" --set proxy.upstream=http://[::1]
accepts "${proxy[@]}" --set proxy.nearCacheBytes=65536 --set proxy.threads=4096 \
  --set proxy.eventLoops=64 --set proxy.lookupBatchKeys=1000
accepts "${proxy[@]}" --set networkPolicy.enabled=true
accepts "${proxy[@]}" "${tls[@]}" --set proxy.larderTarget=larder-plain.cache.svc:50051
accepts "${proxy[@]}" "${auth[@]}" --set proxy.authTokenSecret=proxy-token
accepts "${proxy[@]}" --set proxy.larderDeadline=25ms --set proxy.upstreamTimeout=1m30s \
  --set proxy.maxRequestBody=0 --set proxy.nearCacheBytes=0 --set proxy.threads=1 \
  --set proxy.eventLoops=0 --set proxy.lookupBatchKeys=0
accepts "${proxy[@]}" --set-json 'proxy.routes={"routes":[{"regex":"^/x/[0-9]+$","cache":false}],
  "default":{"namespace":"http","max_ttl":"0"}}'
accepts "${proxy[@]}" --set 'proxy.routes=routes: []'
accepts "${proxy[@]}" --set-json 'proxy.routes={"routes":[{"prefix":"/","max_ttl":600,
  "lease_wait":"2s","shared":true,"coalesce":false,"ignore_cookies":true,
  "honor_client_no_cache":true,"query_params":["page"],"tags":["catalog"]}],
  "strip_tags_header":false}'
accepts "${proxy[@]}" --set proxy.mode=deployment --set proxy.autoscaling.enabled=true \
  --set proxy.podDisruptionBudget.enabled=true --set proxy.podDisruptionBudget.maxUnavailable=50%
accepts --set proxy.mode=sidecar --set proxy.upstream=
finish
