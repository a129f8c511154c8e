#!/usr/bin/env python3
"""Renders helm/larder with larder-proxy (proxy.*) and asserts on its objects.

Usage: check_helm_render_proxy.py HELM CHART_DIR
Deployment mode: the proxy Deployment (args, probes, mounts, security), its Services, the routes
ConfigMap, HPA, PDB, ServiceMonitor, the NetworkPolicy peer and the PrometheusRule's larder-proxy
group, with larderd's objects as without the proxy. Sidecar mode: no proxy workload, the
ConfigMap, a PodMonitor, the larder-proxy alerts, and the named templates' output, also from a
parent chart through .Subcharts.larder.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

from check_helm_render import (NAMESPACE, RELEASE, check_common, container, of_kind, render,
                               render_notes)
from checks import Checks

PROXY = "larder-proxy"          # the proxy objects' name with release "larder"
PROXY_SELECTOR = {"app.kubernetes.io/name": PROXY, "app.kubernetes.io/instance": RELEASE}


def split(objs):
    """(larderd's objects, larder-proxy's objects)."""
    def is_proxy(o):
        return o["metadata"].get("labels", {}).get("app.kubernetes.io/name") == PROXY
    return [o for o in objs if not is_proxy(o)], [o for o in objs if is_proxy(o)]


def proxy_container(pod):
    return next(c for c in pod["containers"] if c["name"] == PROXY)


def mounted_file(pod, cont, path):
    """(kind, object name, key, mode) of the file at `path` in `cont`, from projected volumes."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in cont.get("volumeMounts", []):
        prefix = m["mountPath"].rstrip("/") + "/"
        if not path.startswith(prefix):
            continue
        volume = volumes.get(m["name"], {})
        for source in volume.get("projected", {}).get("sources", []):
            for kind, ref in source.items():
                for item in ref.get("items", []):
                    if item["path"] == path[len(prefix):]:
                        mode = item.get("mode", volume["projected"].get("defaultMode"))
                        return kind, ref["name"], item["key"], mode
    return None


def routes_text(objs):
    maps = [o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"] == f"{PROXY}-routes"]
    return maps[0]["data"]["routes.yaml"] if len(maps) == 1 else None


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_container(c, case, pod, cont, expected_args, token_mode):
    """The container both modes share: command, args, ports, probes, mounts."""
    c.check(cont["command"] == ["/usr/bin/tini", "--", "/usr/local/bin/larder-proxy"],
            f"{case}: tini runs /usr/local/bin/larder-proxy")
    c.check(cont["args"] == expected_args,
            f"{case}: args are {expected_args} (got {cont['args']})")
    ports = {p["name"]: p["containerPort"] for p in cont["ports"]}
    c.check(ports == {"proxy-http": 8080, "proxy-admin": 9465}, f"{case}: ports (got {ports})")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        got = cont.get(probe, {}).get("httpGet")
        c.check(got == {"path": path, "port": "proxy-admin"},
                f"{case}: {probe} is GET {path} on the admin port (got {got})")
    c.check(cont.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
            == ["/bin/sleep", "5"], f"{case}: preStop sleeps while the endpoint is removed")
    csc = cont.get("securityContext", {})
    c.check(csc.get("readOnlyRootFilesystem") is True and csc.get("runAsNonRoot") is True
            and csc.get("allowPrivilegeEscalation") is False,
            f"{case}: read-only, non-root, no privilege escalation")
    names = [v["name"] for v in pod["volumes"]]
    c.check(all(n.startswith("larder-proxy-") for n in names),
            f"{case}: volume names cannot clash with a pod's own (got {names})")
    if "--config=/etc/larder-proxy/routes.yaml" in expected_args:
        got = mounted_file(pod, cont, "/etc/larder-proxy/routes.yaml")
        c.check(got == ("configMap", f"{PROXY}-routes", "routes.yaml", 0o444),
                f"{case}: --config is the routes ConfigMap's routes.yaml (got {got})")
    if token_mode is not None:
        got = mounted_file(pod, cont, "/etc/larder-proxy/token")
        c.check(got is not None and got[0] == "secret" and got[3] == token_mode,
                f"{case}: the token is a Secret file of mode {token_mode:o} (got {got})")
    c.check(all(m.get("readOnly") for m in cont["volumeMounts"] if m["mountPath"] != "/tmp"),
            f"{case}: the config mount is read-only")


LARDERD_ALERTS = ["LarderInstanceDown", "LarderHighErrorRate", "LarderHighLatency",
                  "LarderLowHitRatio", "LarderAuthDenied", "LarderWatchLimitReached",
                  "LarderEngineDown"]
PROXY_ALERTS = ["LarderProxyUpstreamErrors", "LarderProxyLowHitRatio"]


def check_alert_groups(c, case, objs, min_hit_ratio="0.5"):
    """The PrometheusRule holds the larder group and, with the proxy, the larder-proxy group."""
    rules = of_kind(objs, "PrometheusRule")
    if not c.check(len(rules) == 1, f"{case}: a PrometheusRule"):
        return
    groups = {g["name"]: [r["alert"] for r in g["rules"]] for g in rules[0]["spec"]["groups"]}
    c.check(groups == {"larder": LARDERD_ALERTS, "larder-proxy": PROXY_ALERTS},
            f"{case}: PrometheusRule groups larder and larder-proxy (got {groups})")
    proxy_group = [g for g in rules[0]["spec"]["groups"] if g["name"] == "larder-proxy"]
    if proxy_group:
        low = next((r for r in proxy_group[0]["rules"]
                    if r["alert"] == "LarderProxyLowHitRatio"), None)
        c.check(low is not None and f") < {min_hit_ratio}\n" in low["expr"],
                f"{case}: LarderProxyLowHitRatio below prometheusRule.proxyMinHitRatio "
                f"{min_hit_ratio}")


def check_deployment_mode(c, helm, chart):
    case = "proxy"
    values_file = f"{chart}/ci/proxy-values.yaml"
    with open(values_file) as f:
        values = yaml.safe_load(f)
    objs = render(helm, chart, ["-f", values_file])
    larderd, proxy = split(objs)
    wl = check_common(c, f"{case} (larderd)", larderd, "redis")
    deployments = of_kind(proxy, "Deployment")
    if not (c.check(len(deployments) == 1, f"{case}: one proxy Deployment") and wl):
        return
    dep = deployments[0]
    pod = dep["spec"]["template"]["spec"]
    cont = proxy_container(pod)
    c.check(dep["metadata"]["name"] == PROXY and dep["spec"]["selector"]["matchLabels"]
            == PROXY_SELECTOR, f"{case}: named {PROXY}, selecting its own pods")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    larderd_pod_labels = wl["spec"]["template"]["metadata"]["labels"]
    for svc in of_kind(larderd, "Service"):
        c.check(not selects(svc["spec"]["selector"], pod_labels),
                f"{case}: larderd Service {svc['metadata']['name']} does not select proxy pods")
    check_container(c, case, pod, cont, [
        "--listen=0.0.0.0:8080", "--admin-listen=0.0.0.0:9465",
        "--upstream=http://catalog-api.shop.svc:8000",
        f"--larder=dns:///{RELEASE}-headless.{NAMESPACE}.svc:50051",
        "--config=/etc/larder-proxy/routes.yaml", "--larder-deadline=30ms",
        "--upstream-timeout=10s", "--max-request-body=1048576", "--near-cache-bytes=67108864",
        "--threads=128", "--auth-token-file=/etc/larder-proxy/token",
        "--upstream-connections=128"], 0o440)
    c.check(cont["image"] == container(wl)["image"], f"{case}: larderd's image")
    c.check(cont["securityContext"] == container(wl)["securityContext"]
            and pod["securityContext"] == wl["spec"]["template"]["spec"]["securityContext"],
            f"{case}: larderd's pod and container securityContext")
    c.check(pod.get("automountServiceAccountToken") is False, f"{case}: no service account token")
    c.check(cont["resources"]["limits"] == {"memory": "512Mi"}, f"{case}: proxy.resources")
    c.check("replicas" not in dep["spec"], f"{case}: replicas left to the autoscaler")
    text = routes_text(proxy)
    if c.check(text is not None, f"{case}: a routes ConfigMap"):
        c.check(yaml.safe_load(text) == values["proxy"]["routes"],
                f"{case}: the ConfigMap holds proxy.routes")
        checksum = dep["spec"]["template"]["metadata"]["annotations"].get(
            "checksum/larder-proxy-routes")
        c.check(checksum == hashlib.sha256(text.rstrip("\n").encode()).hexdigest(),
                f"{case}: pods roll when the routes change")
    services = {s["metadata"]["name"]: s["spec"] for s in of_kind(proxy, "Service")}
    c.check(set(services) == {PROXY, f"{PROXY}-admin"}, f"{case}: client and admin Services")
    if PROXY in services:
        c.check([(p["name"], p["port"], p["targetPort"]) for p in services[PROXY]["ports"]]
                == [("http", 80, "proxy-http")] and selects(services[PROXY]["selector"],
                                                           pod_labels)
                and not selects(services[PROXY]["selector"], larderd_pod_labels),
                f"{case}: the client Service serves port 80 of the proxy pods only")
    if f"{PROXY}-admin" in services:
        admin = services[f"{PROXY}-admin"]
        c.check(admin.get("clusterIP") == "None" and [(p["name"], p["targetPort"])
                for p in admin["ports"]] == [("admin", "proxy-admin")],
                f"{case}: a headless admin Service for scraping")
    hpas = of_kind(proxy, "HorizontalPodAutoscaler")
    c.check(len(hpas) == 1 and hpas[0]["spec"]["scaleTargetRef"]["name"] == PROXY
            and (hpas[0]["spec"]["minReplicas"], hpas[0]["spec"]["maxReplicas"]) == (3, 12),
            f"{case}: an autoscaler of the proxy Deployment")
    pdbs = of_kind(proxy, "PodDisruptionBudget")
    c.check(len(pdbs) == 1 and pdbs[0]["spec"]["selector"]["matchLabels"] == PROXY_SELECTOR,
            f"{case}: a PodDisruptionBudget of the proxy pods")
    monitors = of_kind(proxy, "ServiceMonitor")
    if c.check(len(monitors) == 1, f"{case}: a proxy ServiceMonitor"):
        spec = monitors[0]["spec"]
        ep = spec["endpoints"][0]
        c.check(spec["selector"]["matchLabels"] == PROXY_SELECTOR and ep["port"] == "admin"
                and ep["path"] == "/metrics", f"{case}: it scrapes the admin port's /metrics")
        c.check({"action": "replace", "targetLabel": "job", "replacement": PROXY}
                in ep["relabelings"], f"{case}: job larder-proxy")
    check_alert_groups(c, case, larderd)
    for sm in of_kind(larderd, "ServiceMonitor"):
        c.check(not selects(sm["spec"]["selector"]["matchLabels"],
                            dep["metadata"]["labels"]),
                f"{case}: larderd's ServiceMonitor does not select proxy Services")
    policy = of_kind(larderd, "NetworkPolicy")[0]["spec"]["ingress"][0]
    c.check(policy["from"] == [{"podSelector": {"matchLabels": PROXY_SELECTOR}}]
            and policy["ports"][0]["port"] == 50051,
            f"{case}: the NetworkPolicy admits the proxy pods to gRPC (got {policy['from']})")
    notes = render_notes(helm, chart, ["-f", values_file])
    c.check(f"larder-proxy: http://{PROXY}.{NAMESPACE}.svc:80 forwards to "
            "http://catalog-api.shop.svc:8000" in notes, f"NOTES ({case}): the proxy's address")


def check_deployment_variants(c, helm, chart):
    base = ["--set", "proxy.enabled=true", "--set", "proxy.upstream=http://api:8000"]
    case = "proxy-minimal"
    larderd, proxy = split(render(helm, chart, base))
    deps = of_kind(proxy, "Deployment")
    if c.check(len(deps) == 1, f"{case}: a proxy Deployment"):
        dep = deps[0]
        pod = dep["spec"]["template"]["spec"]
        args = proxy_container(pod)["args"]
        c.check(args == [
            "--listen=0.0.0.0:8080", "--admin-listen=0.0.0.0:9465", "--upstream=http://api:8000",
            f"--larder={RELEASE}.{NAMESPACE}.svc:50051"],
            f"{case}: larder-proxy defaults, larderd's Service (got {args})")
        c.check(dep["spec"].get("replicas") == 2, f"{case}: proxy.replicaCount")
        c.check([v["name"] for v in pod["volumes"]] == ["larder-proxy-tmp"],
                f"{case}: no config volume without routes or token")
        c.check("annotations" not in dep["spec"]["template"]["metadata"],
                f"{case}: no routes checksum")
    for kind in ("ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor"):
        c.check(not of_kind(proxy, kind), f"{case}: no proxy {kind} by default")
    c.check(len(larderd) == len(render(helm, chart, [])), f"{case}: larderd's objects unchanged")

    case = "proxy-event-loops"
    for value, flag in (("2", "--event-loops=2"), ("0", "--event-loops=0"), ("null", None)):
        _, proxy = split(render(helm, chart, [*base, "--set", f"proxy.eventLoops={value}"]))
        args = proxy_container(of_kind(proxy, "Deployment")[0]["spec"]["template"]["spec"])["args"]
        got = [a for a in args if a.startswith("--event-loops")]
        c.check(got == ([flag] if flag else []),
                f"{case}: proxy.eventLoops={value} renders {flag or 'no --event-loops'} (got {got})")

    case = "proxy-lookup-batch-keys"
    for value, flag in (("16", "--lookup-batch-keys=16"), ("0", "--lookup-batch-keys=0"),
                        ("null", None)):
        _, proxy = split(render(helm, chart, [*base, "--set", f"proxy.lookupBatchKeys={value}"]))
        args = proxy_container(of_kind(proxy, "Deployment")[0]["spec"]["template"]["spec"])["args"]
        got = [a for a in args if a.startswith("--lookup-batch-keys")]
        c.check(got == ([flag] if flag else []),
                f"{case}: proxy.lookupBatchKeys={value} renders "
                f"{flag or 'no --lookup-batch-keys'} (got {got})")

    case = "proxy-target-override"
    _, proxy = split(render(helm, chart, [*base, "--set", "proxy.larderTarget=dns:///l.x.svc:1"]))
    args = proxy_container(of_kind(proxy, "Deployment")[0]["spec"]["template"]["spec"])["args"]
    c.check("--larder=dns:///l.x.svc:1" in args, f"{case}: proxy.larderTarget verbatim")

    case = "proxy-networkpolicy-clients"
    larderd, _ = split(render(helm, chart, [
        *base, "--set", "networkPolicy.enabled=true",
        "--set-json", 'networkPolicy.allowedClients=[{"podSelector":{"a":"b"}}]']))
    got = of_kind(larderd, "NetworkPolicy")[0]["spec"]["ingress"][0]["from"]
    c.check(got == [{"podSelector": {"matchLabels": {"a": "b"}}},
                    {"podSelector": {"matchLabels": PROXY_SELECTOR}}],
            f"{case}: allowedClients and the proxy pods (got {got})")

    case = "proxy-no-monitor"
    _, proxy = split(render(helm, chart, [*base, "--set", "serviceMonitor.enabled=true",
                                          "--set", "proxy.serviceMonitor=false"]))
    c.check(not of_kind(proxy, "ServiceMonitor"), f"{case}: proxy.serviceMonitor=false")
    _, proxy = split(render(helm, chart, ["--set", "proxy.upstream=http://api:8000"]))
    c.check(proxy == [], "proxy-disabled: no proxy objects")


NAMED_TEMPLATES = """container:
  {{- include "larder.proxySidecar" . | nindent 2 }}
volumes:
  {{- include "larder.proxySidecarVolumes" . | nindent 2 }}
labels:
  {{- include "larder.proxySidecarLabels" . | nindent 2 }}
annotations:
  {{- include "larder.proxySidecarAnnotations" . | nindent 2 }}
"""


def render_named(helm, chart, args):
    """The four sidecar named templates' output, rendered through a probe template."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "larder")
        shutil.copytree(chart, copy)
        with open(os.path.join(copy, "templates", "zz-sidecar-probe.yaml"), "w") as f:
            f.write(NAMED_TEMPLATES)
        return render(helm, copy, ["--show-only", "templates/zz-sidecar-probe.yaml", *args])[0]


def check_sidecar_mode(c, helm, chart):
    case = "proxy-sidecar"
    values_file = f"{chart}/ci/proxy-sidecar-values.yaml"
    with open(values_file) as f:
        values = yaml.safe_load(f)
    objs = render(helm, chart, ["-f", values_file])
    larderd, proxy = split(objs)
    check_common(c, f"{case} (larderd)", larderd, "memory")
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                 "ServiceMonitor"):
        c.check(not of_kind(proxy, kind), f"{case}: no proxy {kind}")
    text = routes_text(proxy)
    c.check(text is not None and text.strip() == values["proxy"]["routes"].strip(),
            f"{case}: the ConfigMap holds the routes text verbatim")
    monitors = of_kind(proxy, "PodMonitor")
    if c.check(len(monitors) == 1, f"{case}: a PodMonitor"):
        spec = monitors[0]["spec"]
        c.check(spec["selector"]["matchLabels"] == {"larder.dev/proxy": PROXY}
                and spec["podMetricsEndpoints"][0]["port"] == "proxy-admin",
                f"{case}: it scrapes proxy-admin of pods labelled larder.dev/proxy")
    check_alert_groups(c, case, larderd, min_hit_ratio="0.3")
    got = of_kind(larderd, "NetworkPolicy")[0]["spec"]["ingress"][0]["from"]
    c.check(got == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "storefront"}}}],
            f"{case}: the NetworkPolicy admits allowedClients only (got {got})")
    named = render_named(helm, chart, ["-f", values_file, "--set", "proxy.authTokenSecret=tok"])
    pod = {"containers": [named["container"]], "volumes": named["volumes"]}
    check_container(c, f"{case} (larder.proxySidecar)", pod, named["container"], [
        "--listen=0.0.0.0:8080", "--admin-listen=0.0.0.0:9465",
        "--upstream=http://127.0.0.1:3000", f"--larder={RELEASE}.{NAMESPACE}.svc:50051",
        "--config=/etc/larder-proxy/routes.yaml", "--auth-token-file=/etc/larder-proxy/token"],
        0o444)
    c.check(named["labels"] == {"larder.dev/proxy": PROXY},
            f"{case}: larder.proxySidecarLabels match the PodMonitor")
    c.check(text is not None and named["annotations"] == {"checksum/larder-proxy-routes":
            hashlib.sha256(text.rstrip("\n").encode()).hexdigest()},
            f"{case}: larder.proxySidecarAnnotations hold the routes checksum")
    notes = render_notes(helm, chart, ["-f", values_file])
    c.check(f"larder.dev/proxy: {PROXY}" in notes and "- name: larder-proxy" in notes,
            f"NOTES ({case}): the container and labels to add")
    check_parent_chart(c, helm, chart)


PARENT_VALUES = """larder:
  proxy:
    enabled: true
    mode: sidecar
    routes: {routes: [{prefix: /products/, namespace: shop}]}
"""
PARENT_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  selector: {matchLabels: {app: shop}}
  template:
    metadata:
      labels:
        app: shop
        {{- include "larder.proxySidecarLabels" .Subcharts.larder | nindent 8 }}
    spec:
      containers:
        - name: app
          image: shop:1
        - {{- include "larder.proxySidecar" .Subcharts.larder | nindent 10 }}
      volumes:
        {{- include "larder.proxySidecarVolumes" .Subcharts.larder | nindent 8 }}
"""


def check_parent_chart(c, helm, chart):
    """A chart depending on larder adds the sidecar to its own pods through .Subcharts.larder."""
    case = "proxy-sidecar-parent-chart"
    with tempfile.TemporaryDirectory() as tmp:
        parent = os.path.join(tmp, "shop")
        os.makedirs(os.path.join(parent, "templates"))
        shutil.copytree(chart, os.path.join(parent, "charts", "larder"))
        files = {"Chart.yaml": "apiVersion: v2\nname: shop\nversion: 1.0.0\n",
                 "values.yaml": PARENT_VALUES, "templates/shop.yaml": PARENT_DEPLOYMENT}
        for name, text in files.items():
            with open(os.path.join(parent, name), "w") as f:
                f.write(text)
        proc = subprocess.run([helm, "template", "shop", parent, "--namespace", NAMESPACE],
                              capture_output=True, text=True)
    if not c.check(proc.returncode == 0, f"{case}: renders ({proc.stderr.strip()[:300]})"):
        return
    objs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    shop = next(o for o in of_kind(objs, "Deployment") if o["metadata"]["name"] == "shop")
    pod = shop["spec"]["template"]["spec"]
    c.check([x["name"] for x in pod["containers"]] == ["app", PROXY],
            f"{case}: the app container and larder-proxy")
    got = mounted_file(pod, proxy_container(pod), "/etc/larder-proxy/routes.yaml")
    maps = [o["metadata"]["name"] for o in of_kind(objs, "ConfigMap")]
    c.check(got is not None and got[1] == "shop-larder-proxy-routes" and got[1] in maps,
            f"{case}: it mounts the subchart's routes ConfigMap (got {got}, maps {maps})")
    c.check(f"--larder=shop-larder.{NAMESPACE}.svc:50051" in proxy_container(pod)["args"],
            f"{case}: --larder is the subchart's larderd")
    c.check(shop["spec"]["template"]["metadata"]["labels"].get("larder.dev/proxy")
            == "shop-larder-proxy", f"{case}: the PodMonitor label")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    helm, chart = sys.argv[1], sys.argv[2]
    c = Checks()
    for check in (check_deployment_mode, check_deployment_variants, check_sidecar_mode):
        try:
            check(c, helm, chart)
        except (RuntimeError, KeyError, TypeError, IndexError, StopIteration) as e:
            c.check(False, f"{check.__name__}: {type(e).__name__}: {e}")
    c.finish()


if __name__ == "__main__":
    main()
