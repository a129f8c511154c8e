#!/usr/bin/env python3
"""Renders helm/larder with `helm template` per case and asserts on the Kubernetes objects.

Usage: check_helm_render.py HELM CHART_DIR
Prints one line per check and exits non-zero when any check failed.
"""
import base64
import os
import shutil
import subprocess
import sys

from checks import Checks
import tempfile

import yaml

RELEASE = "larder"
NAMESPACE = "cache"
GRPC_PORT = 50051
METRICS_PORT = 9464
HEALTH_PORT = 50052


def render(helm, chart, args):
    proc = subprocess.run(
        [helm, "template", RELEASE, chart, "--namespace", NAMESPACE, *args],
        capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"helm template {' '.join(args)} failed:\n{proc.stderr}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def of_kind(objs, kind):
    return [o for o in objs if o.get("kind") == kind]


def container(workload):
    containers = workload["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "larderd")


def env_map(cont):
    return {e["name"]: e for e in cont.get("env", [])}


def check_common(c, case, objs, engine, tls=False):
    """Checks every render shares; with tls, the probes use the plaintext health-only port."""
    workloads = of_kind(objs, "Deployment") + of_kind(objs, "StatefulSet")
    if not c.check(len(workloads) == 1, f"{case}: exactly one Deployment or StatefulSet"):
        return None
    wl = workloads[0]
    pod = wl["spec"]["template"]["spec"]
    cont = container(wl)
    args = cont.get("args", [])
    c.check(all(isinstance(a, str) for a in args), f"{case}: every arg is a string")
    for flag in ("--listen=0.0.0.0:50051", "--metrics-address=0.0.0.0:9464",
                 f"--engine={engine}", "--max-connection-age=5m",
                 "--max-connection-age-grace=30s"):
        c.check(flag in args, f"{case}: args contain {flag}")

    ports = {p["name"]: p["containerPort"] for p in cont.get("ports", [])}
    expected_ports = {"grpc": GRPC_PORT, "metrics": METRICS_PORT}
    if tls:
        expected_ports["health"] = HEALTH_PORT
    c.check(ports == expected_ports, f"{case}: container ports {expected_ports} (got {ports})")
    health_flags = [a for a in args if a.startswith("--health-listen")]
    c.check(health_flags == ([f"--health-listen=0.0.0.0:{HEALTH_PORT}"] if tls else []),
            f"{case}: --health-listen {'on the health port' if tls else 'absent'} "
            f"(got {health_flags})")
    probe_port = HEALTH_PORT if tls else GRPC_PORT

    expected_service = {"livenessProbe": "", "readinessProbe": "larder.v1.Cache",
                        "startupProbe": ""}
    for name, service in expected_service.items():
        probe = cont.get(name)
        if not c.check(probe is not None, f"{case}: {name} is set"):
            continue
        c.check(set(probe) & {"httpGet", "exec", "tcpSocket"} == set(),
                f"{case}: {name} uses no httpGet/exec/tcpSocket")
        grpc = probe.get("grpc", {})
        c.check(grpc.get("port") == probe_port,
                f"{case}: {name} is a grpc probe on {probe_port} (got {grpc.get('port')})")
        c.check(grpc.get("service") == service,
                f"{case}: {name} asks health service {service!r} (got {grpc.get('service')!r})")

    psc = pod.get("securityContext", {})
    csc = cont.get("securityContext", {})
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    c.check(psc.get("runAsNonRoot") is True and csc.get("runAsNonRoot") is True,
            f"{case}: runAsNonRoot on pod and container")
    c.check(isinstance(uid, int) and uid > 0, f"{case}: fixed non-root runAsUser (got {uid})")
    c.check(csc.get("readOnlyRootFilesystem") is True, f"{case}: readOnlyRootFilesystem")
    c.check(csc.get("allowPrivilegeEscalation") is False, f"{case}: no privilege escalation")
    c.check("ALL" in csc.get("capabilities", {}).get("drop", []),
            f"{case}: capabilities drop ALL")
    c.check(pod.get("automountServiceAccountToken") is False,
            f"{case}: no service account token mounted")

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in cont.get("volumeMounts", [])}
    c.check("/tmp" in mounts and "emptyDir" in volumes.get(mounts["/tmp"], {}),
            f"{case}: /tmp is an emptyDir")
    for m in cont.get("volumeMounts", []):
        if "secret" in volumes.get(m["name"], {}):
            c.check(m.get("readOnly") is True and "subPath" not in m,
                    f"{case}: Secret volume {m['name']} is mounted read-only, without subPath "
                    "(the kubelet updates it in place)")
    c.check("memory" in cont.get("resources", {}).get("limits", {}),
            f"{case}: a memory limit is set")

    labels = wl["spec"]["template"]["metadata"]["labels"]
    selector = wl["spec"]["selector"]["matchLabels"]
    c.check(all(labels.get(k) == v for k, v in selector.items()),
            f"{case}: the workload selector matches its pod labels")
    services = [s for s in of_kind(objs, "Service") if s["spec"].get("clusterIP") != "None"]
    if c.check(len(services) == 1, f"{case}: one client Service"):
        svc = services[0]
        svc_ports = {p["name"]: p["targetPort"] for p in svc["spec"]["ports"]}
        c.check(svc_ports == {"grpc": "grpc", "metrics": "metrics"},
                f"{case}: Service exposes grpc and metrics (got {svc_ports})")
        c.check(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()),
                f"{case}: the Service selects the pods")
    for obj in objs:
        meta = obj.get("metadata", {})
        c.check(bool(meta.get("name")) and "app.kubernetes.io/name" in meta.get("labels", {}),
                f"{case}: {obj.get('kind')} {meta.get('name')} is named and labelled")
    return wl


def check_memory(c, helm, chart):
    case = "memory"
    objs = render(helm, chart, ["-f", f"{chart}/ci/memory-values.yaml"])
    wl = check_common(c, case, objs, "memory")
    c.check(of_kind(objs, "Deployment") and not of_kind(objs, "StatefulSet"),
            f"{case}: a Deployment and no StatefulSet")
    c.check(not of_kind(objs, "HorizontalPodAutoscaler"), f"{case}: no HorizontalPodAutoscaler")
    c.check(not of_kind(objs, "Secret"), f"{case}: no Secret")
    c.check(not of_kind(objs, "PersistentVolumeClaim"), f"{case}: no PersistentVolumeClaim")
    if wl:
        c.check("--memory-limit=1073741824" in container(wl)["args"],
                f"{case}: --memory-limit from memory.limitBytes, printed as an integer")
        c.check("--default-ttl=5m" in container(wl)["args"], f"{case}: --default-ttl from config")
        c.check(wl["spec"].get("replicas") == 1, f"{case}: replicas from replicaCount")
    sms = of_kind(objs, "ServiceMonitor")
    if c.check(len(sms) == 1, f"{case}: a ServiceMonitor"):
        sm = sms[0]
        ep = sm["spec"]["endpoints"][0]
        c.check(ep["port"] == "metrics" and ep["path"] == "/metrics",
                f"{case}: ServiceMonitor scrapes port metrics at /metrics")
        c.check(ep.get("honorLabels") is True, f"{case}: ServiceMonitor keeps larderd's labels")
        c.check(sm["spec"].get("jobLabel") == "app.kubernetes.io/name",
                f"{case}: ServiceMonitor job label is app.kubernetes.io/name")
        c.check(sm["metadata"]["labels"].get("release") == "prometheus",
                f"{case}: ServiceMonitor carries serviceMonitor.labels")
    rules = of_kind(objs, "PrometheusRule")
    if c.check(len(rules) == 1, f"{case}: a PrometheusRule"):
        alerts = [r["alert"] for g in rules[0]["spec"]["groups"] for r in g["rules"]]
        c.check(sorted(alerts) == ["LarderAuthDenied", "LarderEngineDown",
                                   "LarderHighErrorRate", "LarderHighLatency",
                                   "LarderInstanceDown", "LarderLowHitRatio",
                                   "LarderWatchLimitReached"],
                f"{case}: PrometheusRule has the seven alerts (got {alerts})")
    pdbs = of_kind(objs, "PodDisruptionBudget")
    if c.check(len(pdbs) == 1, f"{case}: a PodDisruptionBudget") and wl:
        sel = pdbs[0]["spec"]["selector"]["matchLabels"]
        c.check(sel == wl["spec"]["selector"]["matchLabels"],
                f"{case}: the PodDisruptionBudget selects the pods")


def check_rocksdb(c, helm, chart):
    case = "rocksdb"
    objs = render(helm, chart, ["-f", f"{chart}/ci/rocksdb-values.yaml"])
    wl = check_common(c, case, objs, "rocksdb")
    c.check(not of_kind(objs, "Deployment"), f"{case}: no Deployment")
    c.check(not of_kind(objs, "HorizontalPodAutoscaler"), f"{case}: no HorizontalPodAutoscaler")
    sts = of_kind(objs, "StatefulSet")
    if not c.check(len(sts) == 1, f"{case}: a StatefulSet"):
        return
    sts = sts[0]
    vcts = sts["spec"].get("volumeClaimTemplates", [])
    if c.check(len(vcts) == 1, f"{case}: one volumeClaimTemplate"):
        vct = vcts[0]
        c.check(vct["spec"]["resources"]["requests"]["storage"] == "50Gi",
                f"{case}: the claim requests rocksdb.persistence.size")
        c.check(vct["spec"].get("storageClassName") == "fast-ssd",
                f"{case}: the claim uses rocksdb.persistence.storageClassName")
        mounts = {m["name"]: m["mountPath"] for m in container(sts).get("volumeMounts", [])}
        data_dir = mounts.get(vct["metadata"]["name"])
        c.check(data_dir == "/var/lib/larder", f"{case}: the claim is mounted at the data dir")
        c.check(f"--data-dir={data_dir}" in container(sts)["args"],
                f"{case}: --data-dir points at the mounted claim")
    args = container(sts)["args"]
    c.check("--rocksdb-compression=zstd" in args, f"{case}: --rocksdb-compression from values")
    c.check("--rocksdb-block-cache-bytes=536870912" in args,
            f"{case}: --rocksdb-block-cache-bytes from values")
    c.check(not any(a.startswith("--memory-limit") for a in args),
            f"{case}: no memory-engine flags")
    headless = [s for s in of_kind(objs, "Service") if s["spec"].get("clusterIP") == "None"]
    c.check(len(headless) == 1 and headless[0]["metadata"]["name"] == sts["spec"]["serviceName"],
            f"{case}: a headless Service named by serviceName")
    fs_group = sts["spec"]["template"]["spec"]["securityContext"].get("fsGroup")
    c.check(isinstance(fs_group, int) and fs_group > 0, f"{case}: fsGroup makes the volume writable")


def check_redis(c, helm, chart):
    case = "redis"
    objs = render(helm, chart, ["-f", f"{chart}/ci/redis-values.yaml"])
    wl = check_common(c, case, objs, "redis")
    c.check(of_kind(objs, "Deployment") and not of_kind(objs, "StatefulSet"),
            f"{case}: a Deployment and no StatefulSet")
    secrets = of_kind(objs, "Secret")
    if not (c.check(len(secrets) == 1, f"{case}: a chart-created Secret") and wl):
        return
    secret = secrets[0]
    env = env_map(container(wl))
    for var, key in (("LARDER_REDIS_PASSWORD", "redis-password"), ("LARDER_REDIS_URL", "redis-url")):
        ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
        c.check(ref.get("name") == secret["metadata"]["name"] and ref.get("key") == key,
                f"{case}: {var} comes from Secret {secret['metadata']['name']} key {key}")
        c.check(key in secret.get("data", {}), f"{case}: the Secret holds {key}")
    rendered_pod = yaml.safe_dump(wl)
    c.check("not-a-real-password" not in rendered_pod, f"{case}: no plain-text password in the pod")
    c.check("checksum/redis-secret" in wl["spec"]["template"]["metadata"].get("annotations", {}),
            f"{case}: pods roll when the Secret changes")
    args = container(wl)["args"]
    c.check("--redis-key-prefix=larder:" in args, f"{case}: --redis-key-prefix kept verbatim")
    c.check("--redis-timeout=250ms" in args, f"{case}: --redis-timeout from values")
    hpas = of_kind(objs, "HorizontalPodAutoscaler")
    if c.check(len(hpas) == 1, f"{case}: a HorizontalPodAutoscaler"):
        ref = hpas[0]["spec"]["scaleTargetRef"]
        c.check(ref["kind"] == "Deployment" and ref["name"] == wl["metadata"]["name"],
                f"{case}: the autoscaler scales the Deployment")
        c.check("replicas" not in wl["spec"], f"{case}: replicas left to the autoscaler")
    check_client_headless(c, case, objs, wl)

    case = "redis-existing-secret"
    objs = render(helm, chart, ["-f", f"{chart}/ci/redis-existing-secret-values.yaml"])
    wl = check_common(c, case, objs, "redis")
    c.check(not of_kind(objs, "Secret"), f"{case}: no chart-created Secret")
    c.check(not of_kind(objs, "ServiceAccount"), f"{case}: no chart-created ServiceAccount")
    c.check(not of_kind(objs, "HorizontalPodAutoscaler"), f"{case}: no HorizontalPodAutoscaler")
    if wl:
        env = env_map(container(wl))
        for var, key in (("LARDER_REDIS_PASSWORD", "password"), ("LARDER_REDIS_URL", "url")):
            ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
            c.check(ref == {"name": "larder-redis-credentials", "key": key},
                    f"{case}: {var} comes from the existing Secret key {key}")
        c.check(wl["spec"].get("replicas") == 3, f"{case}: replicas from replicaCount")
        check_client_headless(c, case, objs, wl)
        c.check(wl["spec"]["template"]["spec"]["serviceAccountName"] == "cache-runtime",
                f"{case}: uses the named ServiceAccount")
        c.check(container(wl)["args"][-1] == "--max-ttl=12h", f"{case}: extraArgs come last")

    case = "redis-no-autoscaling"
    objs = render(helm, chart, ["--set", "engine=redis",
                                "--set", "redis.url=redis://redis:6379/0"])
    c.check(not of_kind(objs, "HorizontalPodAutoscaler"),
            f"{case}: no HorizontalPodAutoscaler unless autoscaling.enabled")
    c.check(not any("LARDER_REDIS_PASSWORD" in env_map(container(w))
                    for w in of_kind(objs, "Deployment")),
            f"{case}: no LARDER_REDIS_PASSWORD without a password")


def check_memcached(c, helm, chart):
    case = "memcached"
    objs = render(helm, chart, ["-f", f"{chart}/ci/memcached-values.yaml"])
    wl = check_common(c, case, objs, "memcached")
    c.check(of_kind(objs, "Deployment") and not of_kind(objs, "StatefulSet"),
            f"{case}: a Deployment and no StatefulSet")
    c.check(not of_kind(objs, "Secret"), f"{case}: no Secret (memcached has no credentials)")
    if not wl:
        return
    args = container(wl)["args"]
    servers = "memcached-0.memcached.cache.svc:11211,memcached-1.memcached.cache.svc:11211"
    for flag in (f"--memcached-servers={servers}", "--memcached-key-prefix=larder:",
                 "--memcached-timeout=250ms", "--memcached-max-item-bytes=2097152"):
        c.check(flag in args, f"{case}: args contain {flag} (got {args})")
    c.check(not any(a.startswith("--redis-") for a in args), f"{case}: no Redis flag")
    hpas = of_kind(objs, "HorizontalPodAutoscaler")
    if c.check(len(hpas) == 1, f"{case}: a HorizontalPodAutoscaler (replicas share the servers)"):
        c.check(hpas[0]["spec"]["scaleTargetRef"]["name"] == wl["metadata"]["name"],
                f"{case}: the autoscaler scales the Deployment")
    check_client_headless(c, case, objs, wl)

    case = "memcached-defaults"
    objs = render(helm, chart, ["--set", "engine=memcached",
                                "--set", "memcached.servers={10.0.0.5:11211}"])
    wl = check_common(c, case, objs, "memcached")
    if wl:
        args = container(wl)["args"]
        c.check([a for a in args if a.startswith("--memcached-")] ==
                ["--memcached-servers=10.0.0.5:11211"],
                f"{case}: only --memcached-servers, the rest left to larderd (got {args})")


def check_client_headless(c, case, objs, wl):
    """The Redis engine's headless Service: every ready pod's address, for round_robin clients."""
    headless = [s for s in of_kind(objs, "Service") if s["spec"].get("clusterIP") == "None"]
    if not c.check(len(headless) == 1, f"{case}: one headless Service"):
        return
    spec = headless[0]["spec"]
    c.check(headless[0]["metadata"]["name"] == f"{RELEASE}-headless",
            f"{case}: the headless Service is named <fullname>-headless")
    c.check(spec.get("publishNotReadyAddresses") is False,
            f"{case}: the headless Service lists only ready pods")
    labels = wl["spec"]["template"]["metadata"]["labels"]
    c.check(all(labels.get(k) == v for k, v in spec["selector"].items()),
            f"{case}: the headless Service selects the pods")
    ports = [(p["name"], p["port"], p["targetPort"]) for p in spec["ports"]]
    c.check(ports == [("grpc", GRPC_PORT, "grpc")],
            f"{case}: the headless Service has only the grpc port, at the pods' own port, so "
            f"the ServiceMonitor does not scrape pods twice (got {ports})")


def secret_value(secret, key):
    """The decoded value of `key` in a rendered Secret's data, or None."""
    data = secret.get("data", {})
    return base64.b64decode(data[key]).decode() if key in data else None


def check_redis_cluster(c, helm, chart):
    case = "redis-cluster"
    nodes = [f"redis-cluster-{i}.redis-cluster.cache.svc:6379" for i in range(3)]
    objs = render(helm, chart, ["-f", f"{chart}/ci/redis-cluster-values.yaml"])
    wl = check_common(c, case, objs, "redis")
    c.check(of_kind(objs, "Deployment") and not of_kind(objs, "StatefulSet"),
            f"{case}: a Deployment and no StatefulSet")
    secrets = of_kind(objs, "Secret")
    if not (c.check(len(secrets) == 1, f"{case}: a chart-created Secret") and wl):
        return
    check_client_headless(c, case, objs, wl)
    secret = secrets[0]
    url = secret_value(secret, "redis-url")
    c.check(url == "redis://" + ",".join(nodes),
            f"{case}: the Secret's redis-url is the seed list of redis.clusterNodes (got {url!r})")
    c.check(secret_value(secret, "redis-password") == "not-a-real-password",
            f"{case}: the password stays in its own Secret key, out of the URL")
    env = env_map(container(wl))
    for var, key in (("LARDER_REDIS_PASSWORD", "redis-password"), ("LARDER_REDIS_URL", "redis-url")):
        ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
        c.check(ref.get("name") == secret["metadata"]["name"] and ref.get("key") == key,
                f"{case}: {var} comes from Secret {secret['metadata']['name']} key {key}")
    args = container(wl)["args"]
    c.check(flag_value(args, "--redis-mode") == "cluster",
            f"{case}: --redis-mode=cluster, once, from redis.clusterNodes (got {args})")
    c.check(not any(n in a for a in args for n in nodes), f"{case}: no seed node in the args")
    hpas = of_kind(objs, "HorizontalPodAutoscaler")
    if c.check(len(hpas) == 1, f"{case}: a HorizontalPodAutoscaler (cluster mode may autoscale)"):
        ref = hpas[0]["spec"]["scaleTargetRef"]
        c.check(ref["kind"] == "Deployment" and ref["name"] == wl["metadata"]["name"],
                f"{case}: the autoscaler scales the Deployment")
        c.check("replicas" not in wl["spec"], f"{case}: replicas left to the autoscaler")

    # The checksum annotation hashes the Secret with the built URL: the same as with that URL
    # given as redis.url.
    with tempfile.TemporaryDirectory() as tmp:
        same_url = os.path.join(tmp, "same-url.yaml")
        with open(same_url, "w") as f:
            yaml.safe_dump({"redis": {"clusterNodes": [], "mode": "cluster",
                                      "url": "redis://" + ",".join(nodes)}}, f)
        same = render(helm, chart, ["-f", f"{chart}/ci/redis-cluster-values.yaml", "-f", same_url])
    c.check(same == objs, f"{case}: renders exactly as redis.url set to the seed list would")

    case = "redis-cluster-ipv6-mode"
    objs = render(helm, chart, ["--set", "engine=redis", "--set", "redis.mode=auto",
                                "--set", "redis.clusterNodes={[::1]:7000,10.0.0.2:7001}"])
    secret = next(iter(of_kind(objs, "Secret")), {})
    c.check(secret_value(secret, "redis-url") == "redis://[::1]:7000,10.0.0.2:7001",
            f"{case}: IPv6 seeds keep their brackets (got {secret_value(secret, 'redis-url')!r})")
    for wl in of_kind(objs, "Deployment"):
        args = container(wl)["args"]
        c.check(flag_value(args, "--redis-mode") == "auto",
                f"{case}: an explicit redis.mode wins over the clusterNodes default (got {args})")
        c.check("LARDER_REDIS_PASSWORD" not in env_map(container(wl)),
                f"{case}: no LARDER_REDIS_PASSWORD without a password")

    case = "redis-cluster-existing-password-secret"
    objs = render(helm, chart, ["--set", "engine=redis", "--set", "redis.existingSecret=creds",
                                "--set", "redis.clusterNodes={a:6379,b:6379}"])
    c.check(not of_kind(objs, "Secret"), f"{case}: no chart-created Secret")
    for wl in of_kind(objs, "Deployment"):
        env = env_map(container(wl))
        c.check(env.get("LARDER_REDIS_URL", {}).get("value") == "redis://a:6379,b:6379",
                f"{case}: without existingSecretUrlKey the seed list is the URL value")
        ref = env.get("LARDER_REDIS_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef", {})
        c.check(ref == {"name": "creds", "key": "redis-password"},
                f"{case}: the password still comes from the existing Secret")

    for case, args, mode in (
            ("redis-mode-standalone", ["--set", "redis.mode=standalone"], "standalone"),
            ("redis-mode-unset", [], None)):
        objs = render(helm, chart, ["--set", "engine=redis",
                                    "--set", "redis.url=redis://redis:6379/0", *args])
        for wl in of_kind(objs, "Deployment"):
            got = [a for a in container(wl)["args"] if a.startswith("--redis-mode")]
            c.check(got == ([f"--redis-mode={mode}"] if mode else []),
                    f"{case}: --redis-mode {mode or 'absent (larderd default auto)'} (got {got})")


def check_defaults(c, helm, chart):
    case = "defaults"
    objs = render(helm, chart, [])
    wl = check_common(c, case, objs, "memory")
    for kind in ("ServiceMonitor", "PrometheusRule", "PodDisruptionBudget",
                 "HorizontalPodAutoscaler", "Secret", "StatefulSet", "NetworkPolicy"):
        c.check(not of_kind(objs, kind), f"{case}: no {kind} by default")
    c.check(len(of_kind(objs, "Service")) == 1,
            f"{case}: no headless Service with the memory engine")
    if wl:
        security_flags = [a for a in container(wl)["args"]
                          if a.startswith(("--auth", "--tls", "--reflection", "--health"))]
        c.check(security_flags == [], f"{case}: no auth, TLS or reflection flags "
                f"(larderd defaults; got {security_flags})")
        c.check(all("secret" not in v for v in wl["spec"]["template"]["spec"]["volumes"]),
                f"{case}: no Secret volumes")


def check_connection_age(c, helm, chart):
    """config.maxConnectionAge and its grace reach larderd as flags; `0` is passed, empty is not."""
    for case, args, expected in (
            ("connection-age-set", ["--set", "config.maxConnectionAge=2m",
                                    "--set", "config.maxConnectionAgeGrace=10s"],
             ["--max-connection-age=2m", "--max-connection-age-grace=10s"]),
            ("connection-age-off", ["--set", "config.maxConnectionAge=0",
                                    "--set", "config.maxConnectionAgeGrace=0"],
             ["--max-connection-age=0", "--max-connection-age-grace=0"]),
            ("connection-age-larderd-default", ["--set", "config.maxConnectionAge=",
                                                "--set", "config.maxConnectionAgeGrace="], [])):
        for wl in of_kind(render(helm, chart, args), "Deployment"):
            got = [a for a in container(wl)["args"] if a.startswith("--max-connection-age")]
            c.check(got == expected, f"{case}: connection-age flags {expected} (got {got})")


def secret_file(wl, path):
    """(Secret name, key) of the file at `path` in the larderd container, or None."""
    pod = wl["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in container(wl).get("volumeMounts", []):
        prefix = m["mountPath"].rstrip("/") + "/"
        secret = volumes.get(m["name"], {}).get("secret")
        if secret is None or not path.startswith(prefix):
            continue
        name = path[len(prefix):]
        items = secret.get("items")
        if items is None:
            return secret["secretName"], name
        key = next((i["key"] for i in items if i["path"] == name), None)
        return (secret["secretName"], key) if key else None
    return None


def flag_value(args, flag):
    values = [a.split("=", 1)[1] for a in args if a.startswith(f"{flag}=")]
    return values[0] if len(values) == 1 else None


def peer(pods=None, namespaces=None):
    out = {}
    if pods is not None:
        out["podSelector"] = {"matchLabels": pods} if pods else {}
    if namespaces is not None:
        out["namespaceSelector"] = {"matchLabels": namespaces} if namespaces else {}
    return out


def rule(port, *peers):
    out = {"ports": [{"port": port, "protocol": "TCP"}]}
    if peers:
        out["from"] = list(peers)
    return out


def check_network_policy(c, case, objs, wl, expected_ingress):
    policies = of_kind(objs, "NetworkPolicy")
    if not c.check(len(policies) == 1, f"{case}: a NetworkPolicy"):
        return
    spec = policies[0]["spec"]
    c.check(spec.get("podSelector") == {"matchLabels": wl["spec"]["selector"]["matchLabels"]},
            f"{case}: the NetworkPolicy selects the larderd pods")
    c.check(spec.get("policyTypes") == ["Ingress"], f"{case}: the NetworkPolicy is ingress-only")
    c.check(spec.get("ingress") == expected_ingress,
            f"{case}: NetworkPolicy ingress rules are exactly {expected_ingress} "
            f"(got {spec.get('ingress')})")


def check_secure(c, helm, chart):
    case = "secure"
    objs = render(helm, chart, ["-f", f"{chart}/ci/secure-values.yaml"])
    wl = check_common(c, case, objs, "memory", tls=True)
    c.check(not of_kind(objs, "Secret"), f"{case}: the chart creates no Secret (tokens stay out)")
    if not wl:
        return
    args = container(wl)["args"]
    for flag in ("--tls-cert-file", "--tls-key-file", "--tls-client-ca-file",
                 "--auth-tokens-file", "--auth-tls-principal", "--reflection", "--health-listen"):
        c.check(flag_value(args, flag) is not None, f"{case}: {flag} given exactly once")
    expected_files = {
        "--tls-cert-file": ("larder-tls", "tls.crt"),
        "--tls-key-file": ("larder-tls", "tls.key"),
        "--tls-client-ca-file": ("larder-client-ca", "ca.crt"),
        "--auth-tokens-file": ("larder-tokens", "tokens.txt"),
    }
    for flag, (secret, key) in expected_files.items():
        path = flag_value(args, flag) or ""
        got = secret_file(wl, path)
        c.check(got == (secret, key),
                f"{case}: {flag}={path} is key {key} of Secret {secret} (got {got})")
    c.check(flag_value(args, "--auth-tls-principal") == "san",
            f"{case}: --auth-tls-principal from auth.tlsPrincipal")
    c.check(flag_value(args, "--reflection") == "false", f"{case}: --reflection=false")
    c.check(args[:3] == ["--listen=0.0.0.0:50051", "--metrics-address=0.0.0.0:9464",
                         "--engine=memory"], f"{case}: the listen flags are unchanged")
    secret_mounts = [m["name"] for m in container(wl)["volumeMounts"] if m.get("readOnly")]
    c.check(sorted(secret_mounts) == ["auth-tokens", "client-ca", "tls"],
            f"{case}: three read-only Secret mounts (got {secret_mounts})")
    modes = {v["name"]: v["secret"].get("defaultMode")
             for v in wl["spec"]["template"]["spec"]["volumes"] if "secret" in v}
    c.check(all(m == 0o440 for m in modes.values()),
            f"{case}: Secret files are 0440, readable through fsGroup only (got {modes})")
    check_network_policy(c, case, objs, wl, [
        rule(GRPC_PORT, peer(pods={"app.kubernetes.io/name": "catalog"}),
             peer(pods={"app.kubernetes.io/component": "indexer"},
                  namespaces={"kubernetes.io/metadata.name": "search"})),
        rule(METRICS_PORT, peer(pods={"app.kubernetes.io/name": "prometheus"},
                                namespaces={"kubernetes.io/metadata.name": "monitoring"})),
        rule(HEALTH_PORT),
    ])


def check_tls_and_auth_variants(c, helm, chart):
    case = "tls-same-secret-ca"
    objs = render(helm, chart, ["--set", "tls.enabled=true", "--set", "tls.secretName=cert",
                                "--set", "tls.clientCA.enabled=true"])
    wl = check_common(c, case, objs, "memory", tls=True)
    if wl:
        args = container(wl)["args"]
        got = secret_file(wl, flag_value(args, "--tls-client-ca-file") or "")
        c.check(got == ("cert", "ca.crt"),
                f"{case}: the client CA defaults to ca.crt of tls.secretName (got {got})")
        c.check(not any(a.startswith("--auth") for a in args), f"{case}: no auth flags")

    case = "tls-only"
    objs = render(helm, chart, ["--set", "tls.enabled=true", "--set", "tls.secretName=cert"])
    wl = check_common(c, case, objs, "memory", tls=True)
    if wl:
        args = container(wl)["args"]
        c.check(not any(a.startswith("--tls-client-ca-file") for a in args),
                f"{case}: no --tls-client-ca-file without tls.clientCA.enabled")
        names = [v["name"] for v in wl["spec"]["template"]["spec"]["volumes"]]
        c.check(names == ["tmp", "tls"], f"{case}: only the tls Secret volume (got {names})")

    case = "auth-only"
    objs = render(helm, chart, ["--set", "auth.enabled=true", "--set", "auth.tokensSecret=tok"])
    wl = check_common(c, case, objs, "memory", tls=False)
    if wl:
        args = container(wl)["args"]
        got = secret_file(wl, flag_value(args, "--auth-tokens-file") or "")
        c.check(got == ("tok", "tokens"), f"{case}: tokens file is key `tokens` (got {got})")
        c.check(not any(a.startswith(("--tls", "--auth-tls-principal", "--reflection"))
                        for a in args), f"{case}: no TLS, principal or reflection flags")

    case = "rocksdb-secure"
    objs = render(helm, chart, [
        "--set", "engine=rocksdb", "--set", "tls.enabled=true", "--set", "tls.secretName=cert",
        "--set", "auth.enabled=true", "--set", "auth.tokensSecret=tok",
        "--set", "config.reflection=true"])
    wl = check_common(c, case, objs, "rocksdb", tls=True)
    if wl:
        mounts = {m["name"]: m["mountPath"] for m in container(wl)["volumeMounts"]}
        c.check(mounts.get("data") == "/var/lib/larder" and "tls" in mounts
                and "auth-tokens" in mounts, f"{case}: data and Secret mounts side by side")
        c.check(flag_value(container(wl)["args"], "--reflection") == "true",
                f"{case}: --reflection=true from config.reflection")


def check_network_policy_variants(c, helm, chart):
    case = "networkpolicy-plaintext"
    objs = render(helm, chart, [
        "--set", "networkPolicy.enabled=true",
        "--set-json", 'networkPolicy.allowedClients=[{"namespaceSelector":{}}]',
        "--set-json", "networkPolicy.prometheus=[]"])
    wl = check_common(c, case, objs, "memory", tls=False)
    if wl:
        check_network_policy(c, case, objs, wl, [rule(GRPC_PORT, peer(namespaces={}))])

    case = "networkpolicy-default-prometheus"
    objs = render(helm, chart, [
        "--set", "networkPolicy.enabled=true",
        "--set-json", 'networkPolicy.allowedClients=[{"podSelector":{"a":"b"}}]'])
    wl = check_common(c, case, objs, "memory", tls=False)
    if wl:
        check_network_policy(c, case, objs, wl, [
            rule(GRPC_PORT, peer(pods={"a": "b"})),
            rule(METRICS_PORT, peer(pods={"app.kubernetes.io/name": "prometheus"}, namespaces={})),
        ])


def render_notes(helm, chart, args):
    """NOTES.txt as `helm install` would print it, rendered through a probe template."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "larder")
        shutil.copytree(chart, copy)
        with open(os.path.join(copy, "templates", "zz-notes-probe.yaml"), "w") as f:
            f.write('notes: {{ include "larder/templates/NOTES.txt" . | toJson }}\n')
        objs = render(helm, copy, ["--show-only", "templates/zz-notes-probe.yaml", *args])
    return objs[0]["notes"]


def check_notes(c, helm, chart):
    redis = ["--set", "redis.url=redis://redis:6379/0"]
    auth = ["--set", "auth.enabled=true", "--set", "auth.tokensSecret=tok"]
    tls = ["--set", "tls.enabled=true", "--set", "tls.secretName=cert"]
    no_auth = "auth.enabled=false while larderd listens on 0.0.0.0:50051"
    plaintext_tokens = "auth.enabled=true but tls.enabled=false"
    no_memory_limit = "resources.limits.memory is unset"
    cases = [
        ("memory x3", ["--set", "replicaCount=3"],
         [no_auth, "replicaCount=3 with the memory engine"]),
        ("rocksdb x2", ["--set", "engine=rocksdb", "--set", "replicaCount=2"],
         [no_auth, "replicaCount=2 with the rocksdb engine"]),
        ("memory x1", [], [no_auth]),
        ("redis x3", ["--set", "engine=redis", "--set", "replicaCount=3", *redis], [no_auth]),
        ("memcached x3", ["--set", "engine=memcached", "--set", "replicaCount=3",
                          "--set", "memcached.servers={m:11211}"],
         [no_auth, "several pods on the memcached engine"]),
        ("memcached x1", ["--set", "engine=memcached", "--set", "memcached.servers={m:11211}"],
         [no_auth]),
        ("tls without auth", tls, [no_auth]),
        ("auth without tls", auth, [plaintext_tokens]),
        ("auth and tls", [*auth, *tls], []),
        ("secure values", ["-f", f"{chart}/ci/secure-values.yaml"], []),
        ("loopback without auth", ["--set", "extraArgs[0]=--listen=127.0.0.1:50051"], []),
        ("memory without a memory limit", ["--set", "resources.limits=null"],
         [no_auth, no_memory_limit]),
        ("redis without a memory limit", ["--set", "engine=redis", *redis,
                                          "--set", "resources.limits=null"],
         [no_auth, no_memory_limit]),
    ]
    for name, args, warnings in cases:
        notes = render_notes(helm, chart, args)
        c.check("port-forward" in notes, f"NOTES ({name}): tell how to reach the service")
        got = [line for line in notes.splitlines() if line.startswith("WARNING")]
        c.check(len(got) == len(warnings) and
                all(any(line.startswith(f"WARNING: {w}") for line in got) for w in warnings),
                f"NOTES ({name}): warnings {warnings} (got {got})")
    notes = render_notes(helm, chart, ["-f", f"{chart}/ci/secure-values.yaml"])
    c.check("authorization: Bearer <token>" in notes and "over TLS" in notes,
            "NOTES (secure values): tell clients to use TLS and send a bearer token")
    target = f"dns:///{RELEASE}-headless.{NAMESPACE}.svc:{GRPC_PORT} with round_robin"
    notes = render_notes(helm, chart, ["-f", f"{chart}/ci/redis-values.yaml"])
    c.check(target in notes and "older than 5m" in notes,
            f"NOTES (redis): in-cluster clients use {target}, rebalanced by connection age")
    notes = render_notes(helm, chart, ["-f", f"{chart}/ci/memcached-values.yaml"])
    c.check(target in notes, f"NOTES (memcached): in-cluster clients use {target}")
    notes = render_notes(helm, chart, ["-f", f"{chart}/ci/memory-values.yaml"])
    c.check("dns:///" not in notes, "NOTES (memory): no headless client target")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    helm, chart = sys.argv[1], sys.argv[2]
    c = Checks()
    for check in (check_defaults, check_memory, check_rocksdb, check_redis, check_redis_cluster,
                  check_memcached,
                  check_connection_age, check_secure, check_tls_and_auth_variants,
                  check_network_policy_variants, check_notes):
        try:
            check(c, helm, chart)
        except (RuntimeError, KeyError, TypeError, IndexError, StopIteration) as e:
            c.check(False, f"{check.__name__}: {type(e).__name__}: {e}")
    c.finish()


if __name__ == "__main__":
    main()
