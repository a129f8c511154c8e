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

{{/* Checks that need more than one value; the schema covers the rest. */}}
{{- define "larder.validate" -}}
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
{{- if and .Values.autoscaling.enabled (ne .Values.engine "redis") }}
{{- fail (printf "autoscaling.enabled needs engine=redis: %s replicas do not share data" .Values.engine) }}
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
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.allowedClients) }}
{{- fail "networkPolicy.enabled needs networkPolicy.allowedClients: otherwise no client can reach the gRPC port" }}
{{- end }}
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
