{{/* larder-proxy: names, labels, its checks, and the container and volumes shared by the
proxy Deployment (proxy.mode=deployment) and by pods that run it as a sidecar
(proxy.mode=sidecar). The sidecar templates read only .Values, .Release and .Chart, so a parent
chart can call them with its subchart's context:
  containers:
    - {{- include "larder.proxySidecar" .Subcharts.larder | nindent 6 }}
  volumes:
    {{- include "larder.proxySidecarVolumes" .Subcharts.larder | nindent 4 }} */}}

{{- define "larder.proxyName" -}}
{{- printf "%s-proxy" (include "larder.name" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "larder.proxyFullname" -}}
{{- printf "%s-proxy" (include "larder.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "larder.proxySelectorLabels" -}}
app.kubernetes.io/name: {{ include "larder.proxyName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "larder.proxyLabels" -}}
helm.sh/chart: {{ include "larder.chart" . }}
{{ include "larder.proxySelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: proxy
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* "true" when larder-proxy runs as the chart's own Deployment. */}}
{{- define "larder.proxyDeployment" -}}
{{- if and .Values.proxy.enabled (eq .Values.proxy.mode "deployment") }}true{{ end }}
{{- end }}

{{/* The routes file (--config): proxy.routes as YAML, or its text when given as a string;
empty when unset (larder-proxy then uses its default routes). */}}
{{- define "larder.proxyRoutesYaml" -}}
{{- $routes := .Values.proxy.routes }}
{{- if kindIs "string" $routes }}{{ trim $routes }}{{ else if $routes }}{{ toYaml $routes | trim }}{{ end }}
{{- end }}

{{/* larderd's gRPC target: proxy.larderTarget, else this release's larderd (every pod through
the headless Service when the pods share data, else the Service). */}}
{{- define "larder.proxyLarderTarget" -}}
{{- if .Values.proxy.larderTarget }}
{{- .Values.proxy.larderTarget }}
{{- else if has .Values.engine (list "redis" "memcached") }}
{{- printf "dns:///%s-headless.%s.svc:%d" (include "larder.fullname" .) .Release.Namespace (int .Values.ports.grpc) }}
{{- else }}
{{- printf "%s.%s.svc:%d" (include "larder.fullname" .) .Release.Namespace (int .Values.service.grpcPort) }}
{{- end }}
{{- end }}

{{/* larder-proxy's flags as a YAML list; unset values leave larder-proxy's defaults. */}}
{{- define "larder.proxyArgs" -}}
{{- $p := .Values.proxy }}
{{- $args := list (printf "--listen=0.0.0.0:%d" (int $p.listenPort)) (printf "--admin-listen=0.0.0.0:%d" (int $p.adminPort)) }}
{{- with $p.upstream }}{{ $args = append $args (printf "--upstream=%s" .) }}{{ end }}
{{- $args = append $args (printf "--larder=%s" (include "larder.proxyLarderTarget" .)) }}
{{- if include "larder.proxyRoutesYaml" . }}
{{- $args = append $args "--config=/etc/larder-proxy/routes.yaml" }}
{{- end }}
{{- with $p.larderDeadline }}{{ $args = append $args (printf "--larder-deadline=%s" .) }}{{ end }}
{{- with $p.upstreamTimeout }}{{ $args = append $args (printf "--upstream-timeout=%s" .) }}{{ end }}
{{- range $flag, $value := dict "max-request-body" $p.maxRequestBody "near-cache-bytes" $p.nearCacheBytes "threads" $p.threads "event-loops" $p.eventLoops "lookup-batch-keys" $p.lookupBatchKeys }}
{{- if not (kindIs "invalid" $value) }}
{{- $args = append $args (printf "--%s=%d" $flag (int64 $value)) }}
{{- end }}
{{- end }}
{{- if $p.authTokenSecret }}
{{- $args = append $args "--auth-token-file=/etc/larder-proxy/token" }}
{{- end }}
{{- toYaml (concat $args $p.extraArgs) }}
{{- end }}

{{/* One HTTP probe on the admin port; call with (dict "probe" .Values.proxy.probes.x "path" "/healthz"). */}}
{{- define "larder.proxyProbe" -}}
httpGet:
  path: {{ .path }}
  port: proxy-admin
periodSeconds: {{ .probe.periodSeconds | default 10 }}
timeoutSeconds: {{ .probe.timeoutSeconds | default 1 }}
failureThreshold: {{ .probe.failureThreshold | default 3 }}
{{- end }}

{{/* The larder-proxy container (a YAML mapping), for the proxy Deployment and for sidecars. */}}
{{- define "larder.proxySidecar" -}}
{{- $p := .Values.proxy -}}
name: larder-proxy
image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
imagePullPolicy: {{ .Values.image.pullPolicy }}
command:
  - /usr/bin/tini
  - --
  - /usr/local/bin/larder-proxy
args:
  {{- include "larder.proxyArgs" . | nindent 2 }}
{{- with $p.extraEnv }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
ports:
  - name: proxy-http
    containerPort: {{ $p.listenPort }}
    protocol: TCP
  - name: proxy-admin
    containerPort: {{ $p.adminPort }}
    protocol: TCP
{{- if $p.probes.liveness.enabled }}
livenessProbe:
  {{- include "larder.proxyProbe" (dict "probe" $p.probes.liveness "path" "/healthz") | nindent 2 }}
{{- end }}
{{- if $p.probes.readiness.enabled }}
readinessProbe:
  {{- include "larder.proxyProbe" (dict "probe" $p.probes.readiness "path" "/readyz") | nindent 2 }}
{{- end }}
{{- if gt (int $p.preStopSleepSeconds) 0 }}
lifecycle:
  {{- /* Endpoints are removed while it sleeps, so no new request reaches a draining proxy. */}}
  preStop:
    exec:
      command: ["/bin/sleep", "{{ int $p.preStopSleepSeconds }}"]
{{- end }}
{{- with $p.resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.securityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumeMounts:
  - name: larder-proxy-tmp
    mountPath: /tmp
  {{- if or (include "larder.proxyRoutesYaml" .) $p.authTokenSecret }}
  - name: larder-proxy-config
    mountPath: /etc/larder-proxy
    readOnly: true
  {{- end }}
{{- end }}

{{/* The volumes larder.proxySidecar mounts (a YAML list): /tmp, and /etc/larder-proxy with the
routes ConfigMap and the token Secret, mounted whole so the kubelet updates them in place. The
token is 0440 (readable through fsGroup 10001) in the chart's pods, 0444 in other pods, whose
fsGroup the chart does not know. */}}
{{- define "larder.proxySidecarVolumes" -}}
{{- $p := .Values.proxy -}}
- name: larder-proxy-tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if or (include "larder.proxyRoutesYaml" .) $p.authTokenSecret }}
- name: larder-proxy-config
  projected:
    defaultMode: 0444
    sources:
      {{- if include "larder.proxyRoutesYaml" . }}
      - configMap:
          name: {{ include "larder.proxyFullname" . }}-routes
          items:
            - key: routes.yaml
              path: routes.yaml
      {{- end }}
      {{- if $p.authTokenSecret }}
      - secret:
          name: {{ $p.authTokenSecret }}
          items:
            - key: {{ $p.authTokenSecretKey }}
              path: token
              mode: {{ ternary "0440" "0444" (eq $p.mode "deployment") }}
      {{- end }}
{{- end }}
{{- end }}

{{/* Labels of pods running the sidecar: the PodMonitor (serviceMonitor.enabled) scrapes them. */}}
{{- define "larder.proxySidecarLabels" -}}
larder.dev/proxy: {{ include "larder.proxyFullname" . }}
{{- end }}

{{/* Annotations of pods running the sidecar: a routes change rolls them (larder-proxy reads its
routes at start). Empty without proxy.routes. */}}
{{- define "larder.proxySidecarAnnotations" -}}
{{- with include "larder.proxyRoutesYaml" . -}}
checksum/larder-proxy-routes: {{ sha256sum . }}
{{- end }}
{{- end }}

{{/* What larder-proxy would refuse, or a proxy that could not reach larderd. */}}
{{- define "larder.validateProxy" -}}
{{- $p := .Values.proxy }}
{{- if and (eq $p.mode "deployment") (not $p.upstream) }}
{{- fail "proxy.mode=deployment needs proxy.upstream: the http://host:port of the service larder-proxy fronts, e.g. http://my-api.default.svc:8000" }}
{{- end }}
{{- if eq (int $p.listenPort) (int $p.adminPort) }}
{{- fail "proxy.listenPort and proxy.adminPort must differ" }}
{{- end }}
{{- $owners := dict "listen" "proxy.listenPort" "admin_listen" "proxy.adminPort" "upstream" "proxy.upstream" "larder" "proxy.larderTarget" "config" "proxy.routes" "auth_token_file" "proxy.authTokenSecret" }}
{{- range $arg := $p.extraArgs }}
{{- $key := replace "-" "_" (regexReplaceAll "=.*$" (trimPrefix "--" $arg) "") }}
{{- if hasKey $owners $key }}
{{- fail (printf "proxy.extraArgs %s: set %s instead (the chart wires ports, probes and mounts from it)" $arg (get $owners $key)) }}
{{- end }}
{{- end }}
{{- range $name := list "larderDeadline" "upstreamTimeout" }}
{{- $text := get $p $name }}
{{- if and $text (eq (include "larder.durationNanos" (dict "flag" (dict "value" $text "from" (printf "proxy.%s=%s" $name $text)) "default" 0) | float64) 0.0) }}
{{- fail (printf "proxy.%s=%s: larder-proxy refuses a duration that is not positive" $name $text) }}
{{- end }}
{{- end }}
{{- if and (not (kindIs "invalid" $p.nearCacheBytes)) (gt (int64 $p.nearCacheBytes) 0) (lt (int64 $p.nearCacheBytes) 65536) }}
{{- fail (printf "proxy.nearCacheBytes=%d: larder-proxy refuses a near cache under 65536 bytes (0 turns it off)" (int64 $p.nearCacheBytes)) }}
{{- end }}
{{- if kindIs "string" $p.routes }}
{{- if hasKey (fromYaml $p.routes) "Error" }}
{{- fail (printf "proxy.routes is not a YAML mapping: %s" (get (fromYaml $p.routes) "Error")) }}
{{- end }}
{{- end }}
{{- if not $p.larderTarget }}
{{- if .Values.tls.enabled }}
{{- fail "proxy.enabled with tls.enabled: larder-proxy has no TLS client flags, so it could not reach larderd and would forward every request uncached; set proxy.larderTarget to a plaintext larderd or turn tls off" }}
{{- end }}
{{- if and .Values.auth.enabled (not $p.authTokenSecret) }}
{{- fail "proxy.enabled with auth.enabled needs proxy.authTokenSecret: a Secret holding a bearer token of a principal allowed the routes' namespaces (docs/security.md)" }}
{{- end }}
{{- end }}
{{- if eq $p.mode "sidecar" }}
{{- if or $p.autoscaling.enabled $p.podDisruptionBudget.enabled }}
{{- fail "proxy.autoscaling.enabled and proxy.podDisruptionBudget.enabled need proxy.mode=deployment: the chart does not own the pods of a sidecar" }}
{{- end }}
{{- else if and $p.autoscaling.enabled (gt (int $p.autoscaling.minReplicas) (int $p.autoscaling.maxReplicas)) }}
{{- fail "proxy.autoscaling.minReplicas is larger than proxy.autoscaling.maxReplicas" }}
{{- else if lt (int $p.terminationGracePeriodSeconds) (add (int $p.preStopSleepSeconds) 10) }}
{{- fail (printf "proxy.terminationGracePeriodSeconds=%d is less than proxy.preStopSleepSeconds (%d) plus the 10 s larder-proxy may take to finish requests in flight: pods would be killed mid-request" (int $p.terminationGracePeriodSeconds) (int $p.preStopSleepSeconds)) }}
{{- end }}
{{- end }}
