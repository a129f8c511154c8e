{{/* Names, labels and the checks every template shares. */}}

{{- define "larder.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "larder.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "larder.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "larder.selectorLabels" -}}
app.kubernetes.io/name: {{ include "larder.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "larder.labels" -}}
helm.sh/chart: {{ include "larder.chart" . }}
{{ include "larder.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: cache
app.kubernetes.io/managed-by: {{ .Release.Service }}
larder.dev/engine: {{ .Values.engine }}
{{- end }}

{{- define "larder.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "larder.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the Redis URL and password: an existing one or the chart's own. */}}
{{- define "larder.redisSecretName" -}}
{{- if .Values.redis.existingSecret }}
{{- .Values.redis.existingSecret }}
{{- else }}
{{- printf "%s-redis" (include "larder.fullname" .) }}
{{- end }}
{{- end }}

{{/* The Redis URL larderd gets: redis.url, or redis://<redis.clusterNodes joined by ","> (a
seed list without userinfo or db: Redis Cluster only has db 0, and the password still goes
through redis.password). */}}
{{- define "larder.redisUrl" -}}
{{- if .Values.redis.url }}
{{- .Values.redis.url }}
{{- else if .Values.redis.clusterNodes }}
{{- printf "redis://%s" (join "," .Values.redis.clusterNodes) }}
{{- end }}
{{- end }}

{{/* "true" when the chart creates the Redis Secret. */}}
{{- define "larder.createRedisSecret" -}}
{{- if and (eq .Values.engine "redis") (not .Values.redis.existingSecret) }}true{{ end }}
{{- end }}

{{/* A value as larderd reads it, as a string: numbers in full ("1073741824", never "1e+09"). */}}
{{- define "larder.flagText" -}}
{{- if kindIs "string" . }}{{ . }}{{ else }}{{ printf "%.0f" (float64 .) }}{{ end }}
{{- end }}

{{/* Where larderd gets one flag, as JSON {"value", "from", "name"}: the last --FLAG= of extraArgs
(dashes or underscores, as larderd reads them), else the chart's value, else a LARDER_<FLAG> of
extraEnv, else nothing ("value" empty). "from" names the source and its value for messages,
"name" the chart value (or the flag). Call with
(dict "Values" .Values "flag" "max-ttl" "value" .Values.config.maxTtl "name" "config.maxTtl"). */}}
{{- define "larder.flag" -}}
{{- $key := replace "-" "_" .flag }}
{{- $name := .name | default (printf "--%s" .flag) }}
{{- $out := dict "value" "" "from" "" "name" $name }}
{{- if and (not (kindIs "invalid" .value)) (ne (toString .value) "") }}
{{- $text := include "larder.flagText" .value }}
{{- $out = dict "value" $text "from" (printf "%s=%s" $name $text) "name" $name }}
{{- else }}
{{- $env := printf "LARDER_%s" (upper $key) }}
{{- range .Values.extraEnv }}
{{- if and (eq (toString .name) $env) (hasKey . "value") }}
{{- $text := include "larder.flagText" .value }}
{{- $out = dict "value" $text "from" (printf "extraEnv %s=%s" $env $text) "name" $name }}
{{- end }}
{{- end }}
{{- end }}
{{- range .Values.extraArgs }}
{{- if and (contains "=" .) (eq (replace "-" "_" (regexReplaceAll "=.*$" (trimPrefix "--" .) "")) $key) }}
{{- $out = dict "value" (regexReplaceAll "^[^=]*=" . "") "from" (printf "extraArgs %s" .) "name" $name }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* Nanoseconds of a flag from larder.flag holding a duration (30s, 1h30m, 250ms, 0), as a
number; `default` (nanoseconds) when unset. Fails on text larderd's duration syntax would not
read the same way. Call with (dict "flag" $flag "default" 0). */}}
{{- define "larder.durationNanos" -}}
{{- $text := .flag.value }}
{{- if eq $text "" }}
{{- printf "%.0f" (float64 .default) }}
{{- else if not (regexMatch "^(0|([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+)$" $text) }}
{{- fail (printf "%s is not a duration such as 30s, 5m or 1h30m" .flag.from) }}
{{- else }}
{{- $units := dict "ns" 1.0 "us" 1000.0 "ms" 1000000.0 "s" 1000000000.0 "m" 60000000000.0 "h" 3600000000000.0 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h)" $text -1 }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $total = addf $total (mulf $number (get $units (trimPrefix $number .))) }}
{{- end }}
{{- printf "%.0f" $total }}
{{- end }}
{{- end }}

{{/* Bytes of a flag from larder.flag holding a larderd byte size (1048576, 512MiB, 8M, 64k: the
suffixes count in 1024s), as a number; `default` when unset. Fails on other text. Call with
(dict "flag" $flag "default" 1073741824). */}}
{{- define "larder.byteSize" -}}
{{- $text := lower (trim .flag.value) }}
{{- $units := dict "" 1.0 "b" 1.0 "k" 1024.0 "kb" 1024.0 "kib" 1024.0 "m" 1048576.0 "mb" 1048576.0 "mib" 1048576.0 "g" 1073741824.0 "gb" 1073741824.0 "gib" 1073741824.0 }}
{{- $number := regexFind "^[0-9]+" $text }}
{{- if eq $text "" }}
{{- printf "%.0f" (float64 .default) }}
{{- else if or (not $number) (not (hasKey $units (trimPrefix $number $text))) }}
{{- fail (printf "%s is not a byte count such as 1048576, 512MiB or 8M" .flag.from) }}
{{- else }}
{{- printf "%.0f" (mulf $number (get $units (trimPrefix $number $text))) }}
{{- end }}
{{- end }}

{{/* Bytes of a Kubernetes quantity (512Mi, 2Gi, 1.5G, 800M, 536870912, 1e9), as a number; ""
when unset. Fails, naming `name`, on a quantity it cannot read. Call with
(dict "quantity" .Values.resources.limits.memory "name" "resources.limits.memory"). */}}
{{- define "larder.quantityBytes" -}}
{{- if and (not (kindIs "invalid" .quantity)) (ne (toString .quantity) "") }}
{{- $text := include "larder.flagText" .quantity }}
{{- $units := dict "" 1.0 "m" 0.001 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "P" 1000000000000000.0 "E" 1000000000000000000.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 }}
{{- $number := regexFind "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)" $text }}
{{- $suffix := trimPrefix $number $text }}
{{- if not $number }}
{{- fail (printf "%s=%s is not a Kubernetes quantity such as 512Mi or 2Gi" .name $text) }}
{{- else if hasKey $units $suffix }}
{{- printf "%.0f" (mulf $number (get $units $suffix)) }}
{{- else if regexMatch "^[eE][0-9]{1,2}$" $suffix }}
{{- $bytes := float64 $number }}
{{- range until (int (substr 1 3 $suffix)) }}{{ $bytes = mulf $bytes 10 }}{{ end }}
{{- printf "%.0f" $bytes }}
{{- else }}
{{- fail (printf "%s=%s is not a Kubernetes quantity such as 512Mi or 2Gi" .name $text) }}
{{- end }}
{{- end }}
{{- end }}

{{/* resources.limits.memory, or "" when no container memory limit is set. */}}
{{- define "larder.memoryLimit" -}}
{{- $limits := dict }}
{{- with .Values.resources }}{{ with .limits }}{{ $limits = . }}{{ end }}{{ end }}
{{- if and (hasKey $limits "memory") (not (kindIs "invalid" $limits.memory)) }}
{{- include "larder.flagText" $limits.memory }}
{{- end }}
{{- end }}

{{/* The share of resources.limits.memory the bytes larderd bounds by flags may take: the memory
engine's entries (--memory-limit) or RocksDB's block cache, plus stale copies kept for leases.
The rest is headroom for what no flag bounds: the heap's own overhead, gRPC message buffers
(each call in flight holds its value), Watch stream buffers and RocksDB's memtables. */}}
{{- define "larder.memoryBudgetPercent" -}}75{{- end }}

{{/* Checks of what larderd would refuse at start-up, or what would not fit the container. */}}
{{- define "larder.validateFlags" -}}
{{- include "larder.validateEngineScope" . }}
{{- include "larder.validateTtls" . }}
{{- include "larder.validateSizes" . }}
{{- if eq .Values.engine "redis" }}{{ include "larder.validateRedis" . }}{{ end }}
{{- if eq .Values.engine "memcached" }}{{ include "larder.validateMemcached" . }}{{ end }}
{{- end }}

{{/* Flags and values of one engine are ignored by the others: refuse them rather than drop them. */}}
{{- define "larder.validateEngineScope" -}}
{{- $v := .Values }}
{{- $engine := $v.engine }}
{{- $owners := dict "memory_" "memory" "rocksdb_" "rocksdb" "data_dir" "rocksdb" "redis_" "redis" "memcached_" "memcached" }}
{{- range $arg := $v.extraArgs }}
{{- $key := replace "-" "_" (regexReplaceAll "=.*$" (trimPrefix "--" $arg) "") }}
{{- if eq $key "engine" }}
{{- fail (printf "extraArgs %s: set the engine value instead (the chart picks the workload, volumes and Services from it)" $arg) }}
{{- end }}
{{- range $prefix, $owner := $owners }}
{{- if and (hasPrefix $prefix $key) (ne $owner $engine) }}
{{- fail (printf "extraArgs %s is a flag of the %s engine, but engine=%s: larderd would ignore it" $arg $owner $engine) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (ne $engine "rocksdb") (not (kindIs "invalid" $v.rocksdb.blockCacheBytes)) }}
{{- fail (printf "rocksdb.blockCacheBytes is set, but engine=%s: only the rocksdb engine has a block cache" $engine) }}
{{- end }}
{{- if and (ne $engine "redis") (or $v.redis.url $v.redis.clusterNodes $v.redis.mode) }}
{{- fail (printf "redis.url, redis.clusterNodes or redis.mode is set, but engine=%s: only the redis engine uses them" $engine) }}
{{- end }}
{{- if and (ne $engine "memcached") (or $v.memcached.servers $v.memcached.keyPrefix $v.memcached.timeout (not (kindIs "invalid" $v.memcached.maxItemBytes))) }}
{{- fail (printf "memcached.servers, keyPrefix, timeout or maxItemBytes is set, but engine=%s: only the memcached engine uses them" $engine) }}
{{- end }}
{{- end }}

{{/* TTLs: with a maximum, a default TTL no longer than it; durations larderd can read
(server/server_options.cc). */}}
{{- define "larder.validateTtls" -}}
{{- $v := .Values }}
{{- $maxTtl := include "larder.flag" (dict "Values" $v "flag" "max-ttl" "value" $v.config.maxTtl "name" "config.maxTtl") | fromJson }}
{{- $defaultTtl := include "larder.flag" (dict "Values" $v "flag" "default-ttl" "value" $v.config.defaultTtl "name" "config.defaultTtl") | fromJson }}
{{- $maxTtlNs := include "larder.durationNanos" (dict "flag" $maxTtl "default" 0) | float64 }}
{{- $defaultTtlNs := include "larder.durationNanos" (dict "flag" $defaultTtl "default" 0) | float64 }}
{{- if and (gt $maxTtlNs 0.0) (eq $defaultTtlNs 0.0) }}
{{- fail (printf "%s needs %s set to at most it: larderd refuses --max-ttl without a --default-ttl (entries stored without a TTL would outlive the maximum)" $maxTtl.from $defaultTtl.name) }}
{{- end }}
{{- if and (gt $maxTtlNs 0.0) (gt $defaultTtlNs $maxTtlNs) }}
{{- fail (printf "%s is longer than %s: larderd refuses a --default-ttl above --max-ttl" $defaultTtl.from $maxTtl.from) }}
{{- end }}
{{- range $flag, $name := dict "lease-grace" "config.leaseGrace" "max-connection-age" "config.maxConnectionAge" "max-connection-age-grace" "config.maxConnectionAgeGrace" }}
{{- $value := get $v.config (trimPrefix "config." $name) }}
{{- $_ := include "larder.durationNanos" (dict "flag" (include "larder.flag" (dict "Values" $v "flag" $flag "value" $value "name" $name) | fromJson) "default" 0) }}
{{- end }}
{{- end }}

{{/* Value and response sizes (server/server_options.cc, common/limits.h), the memory engine's
smallest limit (storage/memory/memory_engine.cc), and the memory or RocksDB engine's cache plus
lease copies within larder.memoryBudgetPercent of the container's memory limit. */}}
{{- define "larder.validateSizes" -}}
{{- $v := .Values }}
{{- $engine := $v.engine }}
{{- $maxValue := include "larder.flag" (dict "Values" $v "flag" "max-value-bytes" "value" $v.config.maxValueBytes "name" "config.maxValueBytes") | fromJson }}
{{- $maxValueBytes := include "larder.byteSize" (dict "flag" $maxValue "default" 8388608) | float64 }}
{{- if or (lt $maxValueBytes 1.0) (gt $maxValueBytes 1073741824.0) }}
{{- fail (printf "%s is out of range: larderd accepts 1 to 1073741824 (1 GiB)" $maxValue.from) }}
{{- end }}
{{- $maxResponse := include "larder.flag" (dict "Values" $v "flag" "max-response-bytes") | fromJson }}
{{- $maxResponseBytes := include "larder.byteSize" (dict "flag" $maxResponse "default" 67108864) | float64 }}
{{- if lt $maxResponseBytes $maxValueBytes }}
{{- fail (printf "%s is more than --max-response-bytes (%s): larderd refuses it; add extraArgs --max-response-bytes=N with N at least %.0f" (default (printf "config.maxValueBytes=%.0f" $maxValueBytes) $maxValue.from) (default "67108864, larderd's default" (trimPrefix "extraArgs " $maxResponse.from)) $maxValueBytes) }}
{{- end }}
{{- if gt $maxResponseBytes 2146435072.0 }}
{{- fail (printf "%s is more than larderd accepts: 2146435072 (2 GiB - 1 MiB)" $maxResponse.from) }}
{{- end }}
{{- $leaseStale := include "larder.flag" (dict "Values" $v "flag" "lease-stale-bytes" "value" $v.config.leaseStaleBytes "name" "config.leaseStaleBytes") | fromJson }}
{{- $leaseStaleBytes := include "larder.byteSize" (dict "flag" $leaseStale "default" 67108864) | float64 }}
{{- $cache := dict }}
{{- $cacheBytes := 0.0 }}
{{- if eq $engine "memory" }}
{{- $cache = include "larder.flag" (dict "Values" $v "flag" "memory-limit" "value" $v.memory.limitBytes "name" "memory.limitBytes") | fromJson }}
{{- $cacheBytes = include "larder.byteSize" (dict "flag" $cache "default" 1073741824) | float64 }}
{{- $entry := addf $maxValueBytes 65536 }}
{{- if lt $cacheBytes $entry }}
{{- fail (printf "%s is less than one largest entry, %.0f bytes (--max-value-bytes %.0f plus 64 KiB for its key and overhead): larderd refuses it" (default (printf "%s (unset: larderd's default %.0f)" $cache.name $cacheBytes) $cache.from) $entry $maxValueBytes) }}
{{- end }}
{{- else if eq $engine "rocksdb" }}
{{- $cache = include "larder.flag" (dict "Values" $v "flag" "rocksdb-block-cache-bytes" "value" $v.rocksdb.blockCacheBytes "name" "rocksdb.blockCacheBytes") | fromJson }}
{{- $cacheBytes = include "larder.byteSize" (dict "flag" $cache "default" 268435456) | float64 }}
{{- end }}
{{- $container := include "larder.quantityBytes" (dict "quantity" (include "larder.memoryLimit" .) "name" "resources.limits.memory") }}
{{- if and (has $engine (list "memory" "rocksdb")) $container }}
{{- $percent := include "larder.memoryBudgetPercent" . | float64 }}
{{- $budget := divf (mulf (float64 $container) $percent) 100 }}
{{- $need := addf $cacheBytes $leaseStaleBytes }}
{{- if gt $need $budget }}
{{- $mib := 1048576.0 }}
{{- fail (printf "%s plus %s need %.0f MiB, more than %.0f%% of resources.limits.memory=%s (%.0f MiB): the container would be OOM-killed before larderd evicts. Raise resources.limits.memory to at least %.0fMi, or lower %s" (default (printf "%s (unset: larderd's default %.0f)" $cache.name $cacheBytes) $cache.from) (default (printf "%s (unset: larderd's default %.0f)" $leaseStale.name $leaseStaleBytes) $leaseStale.from) (divf $need $mib) $percent (include "larder.memoryLimit" .) (divf $budget $mib) (ceil (divf (mulf $need 100) (mulf $percent $mib))) $cache.name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The memcached engine's options (storage/memcached/memcached_pool.cc, memcached_engine.cc). */}}
{{- define "larder.validateMemcached" -}}
{{- $v := .Values }}
{{- $servers := include "larder.flag" (dict "Values" $v "flag" "memcached-servers" "value" (join "," $v.memcached.servers) "name" "memcached.servers") | fromJson }}
{{- if eq $servers.value "" }}
{{- fail "engine=memcached needs memcached.servers: the host:port of each memcached server" }}
{{- end }}
{{- $timeout := include "larder.flag" (dict "Values" $v "flag" "memcached-timeout" "value" $v.memcached.timeout "name" "memcached.timeout") | fromJson }}
{{- if and (ne $timeout.value "") (le (include "larder.durationNanos" (dict "flag" $timeout "default" 1000000000) | float64) 0.0) }}
{{- fail (printf "%s: larderd refuses a memcached timeout that is not positive" $timeout.from) }}
{{- end }}
{{- $prefix := include "larder.flag" (dict "Values" $v "flag" "memcached-key-prefix" "value" $v.memcached.keyPrefix "name" "memcached.keyPrefix") | fromJson }}
{{- if or (gt (len $prefix.value) 64) (not (regexMatch "^[!-~]*$" $prefix.value)) }}
{{- fail (printf "%s: larderd refuses a memcached key prefix over 64 bytes or with spaces or non-ASCII characters" $prefix.from) }}
{{- end }}
{{- end }}

{{/* The Redis engine's options (server/server_options.cc, storage/redis/redis_engine.cc). */}}
{{- define "larder.validateRedis" -}}
{{- $v := .Values }}
{{- $pool := include "larder.flag" (dict "Values" $v "flag" "redis-pool-size" "value" $v.redis.poolSize "name" "redis.poolSize") | fromJson }}
{{- $threads := include "larder.flag" (dict "Values" $v "flag" "storage-threads") | fromJson }}
{{- $poolSize := $pool.value | default "8" | float64 }}
{{- $storageThreads := $threads.value | default "4" | float64 }}
{{- if lt $poolSize $storageThreads }}
{{- fail (printf "%s is less than --storage-threads (%s): larderd refuses a Redis pool smaller than its storage threads" (default "redis.poolSize (unset: larderd's default 8)" $pool.from) (default "4, larderd's default" (trimPrefix "extraArgs " $threads.from))) }}
{{- end }}
{{- $timeout := include "larder.flag" (dict "Values" $v "flag" "redis-timeout" "value" $v.redis.timeout "name" "redis.timeout") | fromJson }}
{{- if eq (include "larder.durationNanos" (dict "flag" $timeout "default" 1000000000) | float64) 0.0 }}
{{- fail (printf "%s: larderd refuses a Redis timeout that is not positive" $timeout.from) }}
{{- end }}
{{- $prefix := include "larder.flag" (dict "Values" $v "flag" "redis-key-prefix" "value" $v.redis.keyPrefix "name" "redis.keyPrefix") | fromJson }}
{{- if regexMatch "[{}]" $prefix.value }}
{{- fail (printf "%s: larderd refuses '{' or '}' in the key prefix (they are Redis Cluster hash tags)" $prefix.from) }}
{{- end }}
{{- end }}

{{/* Checks that need more than one value; the schema covers the rest. */}}
{{- define "larder.validate" -}}
{{- include "larder.validateFlags" . }}
{{- if eq .Values.engine "redis" }}
{{- if and .Values.redis.clusterNodes .Values.redis.url }}
{{- fail "redis.url and redis.clusterNodes are both set: set only one (the chart builds the URL from redis.clusterNodes)" }}
{{- end }}
{{- if and .Values.redis.clusterNodes .Values.redis.existingSecret .Values.redis.existingSecretUrlKey }}
{{- fail "redis.clusterNodes cannot be used with redis.existingSecretUrlKey: put the seed list (redis://host:port,host:port) in that Secret key, or clear redis.existingSecretUrlKey" }}
{{- end }}
{{- if and .Values.redis.clusterNodes (eq (toString .Values.redis.mode) "standalone") }}
{{- fail "redis.clusterNodes lists Redis Cluster seed nodes: it cannot be used with redis.mode=standalone" }}
{{- end }}
{{- if and (not .Values.redis.existingSecret) (not .Values.redis.url) (not .Values.redis.clusterNodes) }}
{{- fail "engine=redis needs redis.url or redis.clusterNodes, or redis.existingSecret with redis.existingSecretUrlKey" }}
{{- end }}
{{- if and .Values.redis.existingSecret (not .Values.redis.existingSecretUrlKey) (not .Values.redis.url) (not .Values.redis.clusterNodes) }}
{{- fail "redis.existingSecret is set without redis.existingSecretUrlKey: set it, or set redis.url or redis.clusterNodes" }}
{{- end }}
{{- if and .Values.redis.existingSecret .Values.redis.password }}
{{- fail "redis.password is ignored with redis.existingSecret: put the password in that Secret" }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (has .Values.engine (list "redis" "memcached"))) }}
{{- fail (printf "autoscaling.enabled needs engine=redis or engine=memcached: %s replicas do not share data" .Values.engine) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas is larger than autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.auth.enabled (not .Values.auth.tokensSecret) }}
{{- fail "auth.enabled needs auth.tokensSecret: the name of a Secret holding the tokens file (docs/security.md)" }}
{{- end }}
{{- if and .Values.auth.tlsPrincipal (not .Values.auth.enabled) }}
{{- fail "auth.tlsPrincipal needs auth.enabled: certificate names are matched against the tokens file" }}
{{- end }}
{{- if and .Values.auth.tlsPrincipal (not .Values.tls.clientCA.enabled) }}
{{- fail "auth.tlsPrincipal needs tls.clientCA.enabled: only verified client certificates name a principal" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled needs tls.secretName: a kubernetes.io/tls Secret with tls.crt and tls.key" }}
{{- end }}
{{- if and .Values.tls.clientCA.enabled (not .Values.tls.enabled) }}
{{- fail "tls.clientCA.enabled needs tls.enabled: client certificates are only checked over TLS" }}
{{- end }}
{{- if and .Values.tls.enabled (has (int .Values.ports.health) (list (int .Values.ports.grpc) (int .Values.ports.metrics))) }}
{{- fail "ports.health must differ from ports.grpc and ports.metrics" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.allowedClients) (not (include "larder.proxyDeployment" .)) }}
{{- fail (printf "networkPolicy.enabled needs networkPolicy.allowedClients: otherwise no client can reach the gRPC port%s" (ternary " (with proxy.mode=sidecar, list the pods running the larder-proxy sidecar)" "" (and .Values.proxy.enabled (eq .Values.proxy.mode "sidecar")))) }}
{{- end }}
{{- if .Values.proxy.enabled }}{{ include "larder.validateProxy" . }}{{ end }}
{{- end }}

{{/* The port of the grpc probes: the plaintext health-only port when the gRPC port speaks TLS. */}}
{{- define "larder.probePort" -}}
{{- if .Values.tls.enabled }}{{ .Values.ports.health }}{{ else }}{{ .Values.ports.grpc }}{{ end }}
{{- end }}

{{/* larderd's command-line flags as a YAML list (toYaml quotes values that need it). */}}
{{- define "larder.args" -}}
{{- $v := .Values }}
{{- $args := list (printf "--listen=0.0.0.0:%d" (int $v.ports.grpc)) (printf "--metrics-address=0.0.0.0:%d" (int $v.ports.metrics)) (printf "--engine=%s" $v.engine) }}
{{- if and (not (kindIs "invalid" $v.config.defaultTtl)) (ne (toString $v.config.defaultTtl) "") }}
{{- $args = append $args (printf "--default-ttl=%v" $v.config.defaultTtl) }}
{{- end }}
{{- if and (not (kindIs "invalid" $v.config.maxTtl)) (ne (toString $v.config.maxTtl) "") }}
{{- $args = append $args (printf "--max-ttl=%v" $v.config.maxTtl) }}
{{- end }}
{{- if not (kindIs "invalid" $v.config.maxValueBytes) }}
{{- $args = append $args (printf "--max-value-bytes=%d" (int64 $v.config.maxValueBytes)) }}
{{- end }}
{{- if not (kindIs "invalid" $v.config.metricsMaxNamespaces) }}
{{- $args = append $args (printf "--metrics-max-namespaces=%d" (int64 $v.config.metricsMaxNamespaces)) }}
{{- end }}
{{- if and (not (kindIs "invalid" $v.config.leaseGrace)) (ne (toString $v.config.leaseGrace) "") }}
{{- $args = append $args (printf "--lease-grace=%v" $v.config.leaseGrace) }}
{{- end }}
{{- if not (kindIs "invalid" $v.config.maxLeases) }}
{{- $args = append $args (printf "--max-leases=%d" (int64 $v.config.maxLeases)) }}
{{- end }}
{{- if not (kindIs "invalid" $v.config.leaseStaleBytes) }}
{{- $args = append $args (printf "--lease-stale-bytes=%d" (int64 $v.config.leaseStaleBytes)) }}
{{- end }}
{{- if not (kindIs "invalid" $v.config.maxWatchers) }}
{{- $args = append $args (printf "--max-watchers=%d" (int64 $v.config.maxWatchers)) }}
{{- end }}
{{- if not (kindIs "invalid" $v.config.watchBufferBytes) }}
{{- $args = append $args (printf "--watch-buffer-bytes=%d" (int64 $v.config.watchBufferBytes)) }}
{{- end }}
{{- if and (not (kindIs "invalid" $v.config.maxConnectionAge)) (ne (toString $v.config.maxConnectionAge) "") }}
{{- $args = append $args (printf "--max-connection-age=%v" $v.config.maxConnectionAge) }}
{{- end }}
{{- if and (not (kindIs "invalid" $v.config.maxConnectionAgeGrace)) (ne (toString $v.config.maxConnectionAgeGrace) "") }}
{{- $args = append $args (printf "--max-connection-age-grace=%v" $v.config.maxConnectionAgeGrace) }}
{{- end }}
{{- if eq $v.engine "memory" }}
{{- if not (kindIs "invalid" $v.memory.limitBytes) }}
{{- $args = append $args (printf "--memory-limit=%d" (int64 $v.memory.limitBytes)) }}
{{- end }}
{{- else if eq $v.engine "rocksdb" }}
{{- $args = append $args (printf "--data-dir=%s" $v.rocksdb.dataDir) }}
{{- $args = append $args (printf "--rocksdb-compression=%s" $v.rocksdb.compression) }}
{{- if not (kindIs "invalid" $v.rocksdb.blockCacheBytes) }}
{{- $args = append $args (printf "--rocksdb-block-cache-bytes=%d" (int64 $v.rocksdb.blockCacheBytes)) }}
{{- end }}
{{- else if eq $v.engine "redis" }}
{{- if $v.redis.mode }}
{{- $args = append $args (printf "--redis-mode=%s" $v.redis.mode) }}
{{- else if $v.redis.clusterNodes }}
{{- $args = append $args "--redis-mode=cluster" }}
{{- end }}
{{- if $v.redis.keyPrefix }}
{{- $args = append $args (printf "--redis-key-prefix=%s" $v.redis.keyPrefix) }}
{{- end }}
{{- if not (kindIs "invalid" $v.redis.poolSize) }}
{{- $args = append $args (printf "--redis-pool-size=%d" (int64 $v.redis.poolSize)) }}
{{- end }}
{{- if and (not (kindIs "invalid" $v.redis.timeout)) (ne (toString $v.redis.timeout) "") }}
{{- $args = append $args (printf "--redis-timeout=%v" $v.redis.timeout) }}
{{- end }}
{{- else if eq $v.engine "memcached" }}
{{- $args = append $args (printf "--memcached-servers=%s" (join "," $v.memcached.servers)) }}
{{- if $v.memcached.keyPrefix }}
{{- $args = append $args (printf "--memcached-key-prefix=%s" $v.memcached.keyPrefix) }}
{{- end }}
{{- if and (not (kindIs "invalid" $v.memcached.timeout)) (ne (toString $v.memcached.timeout) "") }}
{{- $args = append $args (printf "--memcached-timeout=%v" $v.memcached.timeout) }}
{{- end }}
{{- if not (kindIs "invalid" $v.memcached.maxItemBytes) }}
{{- $args = append $args (printf "--memcached-max-item-bytes=%d" (int64 $v.memcached.maxItemBytes)) }}
{{- end }}
{{- end }}
{{- if not (kindIs "invalid" $v.config.reflection) }}
{{- $args = append $args (printf "--reflection=%t" $v.config.reflection) }}
{{- end }}
{{- if $v.tls.enabled }}
{{- $args = append $args "--tls-cert-file=/etc/larder/tls/tls.crt" }}
{{- $args = append $args "--tls-key-file=/etc/larder/tls/tls.key" }}
{{- if $v.tls.clientCA.enabled }}
{{- $args = append $args "--tls-client-ca-file=/etc/larder/client-ca/ca.crt" }}
{{- end }}
{{- $args = append $args (printf "--health-listen=0.0.0.0:%d" (int $v.ports.health)) }}
{{- end }}
{{- if $v.auth.enabled }}
{{- $args = append $args "--auth-tokens-file=/etc/larder/auth/tokens" }}
{{- with $v.auth.tlsPrincipal }}
{{- $args = append $args (printf "--auth-tls-principal=%s" .) }}
{{- end }}
{{- end }}
{{- $args = concat $args $v.extraArgs }}
{{- toYaml $args }}
{{- end }}

{{/* Environment of the larderd container: the Redis URL and password come from a Secret. */}}
{{- define "larder.env" -}}
{{- if eq .Values.engine "redis" }}
{{- $secret := include "larder.redisSecretName" . }}
{{- if or (not .Values.redis.existingSecret) .Values.redis.existingSecretUrlKey }}
- name: LARDER_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ if .Values.redis.existingSecret }}{{ .Values.redis.existingSecretUrlKey }}{{ else }}redis-url{{ end }}
{{- else }}
- name: LARDER_REDIS_URL
  value: {{ include "larder.redisUrl" . | quote }}
{{- end }}
{{- if .Values.redis.existingSecret }}
{{- if .Values.redis.existingSecretPasswordKey }}
- name: LARDER_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.redis.existingSecretPasswordKey }}
{{- end }}
{{- else if .Values.redis.password }}
- name: LARDER_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: redis-password
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* One grpc probe; call with (dict "probe" .Values.probes.x "port" .Values.ports.grpc). */}}
{{- define "larder.grpcProbe" -}}
grpc:
  port: {{ .port }}
  service: {{ .probe.service | quote }}
periodSeconds: {{ .probe.periodSeconds | default 10 }}
timeoutSeconds: {{ .probe.timeoutSeconds | default 1 }}
failureThreshold: {{ .probe.failureThreshold | default 3 }}
{{- end }}

{{/* The pod template shared by the Deployment and the StatefulSet. */}}
{{- define "larder.podTemplate" -}}
metadata:
  labels:
    {{- include "larder.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or (include "larder.createRedisSecret" .) .Values.podAnnotations }}
  annotations:
    {{- if include "larder.createRedisSecret" . }}
    checksum/redis-secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  serviceAccountName: {{ include "larder.serviceAccountName" . }}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: larderd
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        {{- include "larder.args" . | nindent 8 }}
      {{- with (include "larder.env" . | trim) }}
      env:
        {{- . | nindent 8 }}
      {{- end }}
      ports:
        - name: grpc
          containerPort: {{ .Values.ports.grpc }}
          protocol: TCP
        - name: metrics
          containerPort: {{ .Values.ports.metrics }}
          protocol: TCP
        {{- if .Values.tls.enabled }}
        - name: health
          containerPort: {{ .Values.ports.health }}
          protocol: TCP
        {{- end }}
      {{- $probePort := include "larder.probePort" . | int }}
      {{- if .Values.probes.startup.enabled }}
      startupProbe:
        {{- include "larder.grpcProbe" (dict "probe" .Values.probes.startup "port" $probePort) | nindent 8 }}
      {{- end }}
      {{- if .Values.probes.liveness.enabled }}
      livenessProbe:
        {{- include "larder.grpcProbe" (dict "probe" .Values.probes.liveness "port" $probePort) | nindent 8 }}
      {{- end }}
      {{- if .Values.probes.readiness.enabled }}
      readinessProbe:
        {{- include "larder.grpcProbe" (dict "probe" .Values.probes.readiness "port" $probePort) | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if eq .Values.engine "rocksdb" }}
        - name: data
          mountPath: {{ .Values.rocksdb.dataDir }}
        {{- end }}
        {{- /* Secrets are mounted whole, never with subPath: the kubelet then updates them in place. */}}
        {{- if .Values.tls.enabled }}
        - name: tls
          mountPath: /etc/larder/tls
          readOnly: true
        {{- if .Values.tls.clientCA.enabled }}
        - name: client-ca
          mountPath: /etc/larder/client-ca
          readOnly: true
        {{- end }}
        {{- end }}
        {{- if .Values.auth.enabled }}
        - name: auth-tokens
          mountPath: /etc/larder/auth
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.tmpSizeLimit }}
    {{- if .Values.tls.enabled }}
    - name: tls
      secret:
        secretName: {{ .Values.tls.secretName }}
        defaultMode: 0440
        items:
          - key: tls.crt
            path: tls.crt
          - key: tls.key
            path: tls.key
    {{- if .Values.tls.clientCA.enabled }}
    - name: client-ca
      secret:
        secretName: {{ .Values.tls.clientCA.secretName | default .Values.tls.secretName }}
        defaultMode: 0440
        items:
          - key: {{ .Values.tls.clientCA.key }}
            path: ca.crt
    {{- end }}
    {{- end }}
    {{- if .Values.auth.enabled }}
    - name: auth-tokens
      secret:
        secretName: {{ .Values.auth.tokensSecret }}
        defaultMode: 0440
        items:
          - key: {{ .Values.auth.tokensSecretKey }}
            path: tokens
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* NetworkPolicy peers from a list of {podSelector, namespaceSelector} label maps ({} = all). */}}
{{- define "larder.networkPolicyPeers" -}}
{{- $peers := list }}
{{- range $item := . }}
{{- $peer := dict }}
{{- range $selector := list "podSelector" "namespaceSelector" }}
{{- if hasKey $item $selector }}
{{- $labels := get $item $selector }}
{{- $_ := set $peer $selector (ternary (dict) (dict "matchLabels" $labels) (empty $labels)) }}
{{- end }}
{{- end }}
{{- $peers = append $peers $peer }}
{{- end }}
{{- toYaml $peers }}
{{- end }}
