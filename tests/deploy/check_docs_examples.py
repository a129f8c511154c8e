#!/usr/bin/env python3
"""Renders every values example of a Markdown guide with `helm template`: each must render.

Usage: check_docs_examples.py HELM CHART_DIR GUIDE_MD [MIN_EXAMPLES]
Every fenced block tagged `yaml` in the guide is a values file (a block inside a list item may
be indented: it is dedented first). Fails when fewer than MIN_EXAMPLES (default 1) are found,
so a change of fence style cannot make the test pass vacuously. A block tagged `yaml manifest`
holds Kubernetes objects instead: each must have apiVersion and kind, and a larder-proxy
container in one must equal the chart's larder.proxySidecar rendered (release `larder`, the
object's namespace) with the values example above it, its volumes and labels included.
"""
import os
import re
import subprocess
import sys
import tempfile
import textwrap

import yaml

from check_helm_render_proxy import render_named
from checks import Checks

# An opening fence ```yaml (any indentation), its body, and the closing fence at that indent.
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```yaml(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL)


def examples(text):
    """(line number, is a manifest, dedented body) of each yaml block."""
    for m in FENCE.finditer(text):
        yield (text.count("\n", 0, m.start()) + 1, m.group("info").strip() == "manifest",
               textwrap.dedent(m.group("body")))


def pod_template(obj):
    """(metadata, spec) of a workload's pod template, or of a Pod; None for other objects."""
    if obj.get("kind") == "Pod":
        return obj.get("metadata", {}), obj.get("spec", {})
    template = (obj.get("spec") or {}).get("template")
    return (template.get("metadata", {}), template.get("spec", {})) if template else None


def check_manifest(c, helm, chart, what, body, values):
    """Kubernetes objects; a larder-proxy container equals the chart's named templates."""
    try:
        objs = [o for o in yaml.safe_load_all(body) if o]
    except yaml.YAMLError as e:
        c.check(False, f"{what}: the manifest is YAML ({e})")
        return
    for obj in objs:
        if not c.check(isinstance(obj, dict) and "apiVersion" in obj and "kind" in obj,
                       f"{what}: a Kubernetes object with apiVersion and kind"):
            continue
        pod = pod_template(obj)
        sidecars = [x for x in (pod[1].get("containers", []) if pod else [])
                    if x.get("name") == "larder-proxy"]
        if not sidecars:
            continue
        if not c.check(values is not None, f"{what}: a values example precedes the sidecar"):
            continue
        ns = obj.get("metadata", {}).get("namespace", "cache")
        try:
            named = render_named(helm, chart, ["--namespace", ns, "-f", values])
        except RuntimeError as e:
            c.check(False, f"{what}: the named templates render ({e})")
            continue
        meta, spec = pod
        c.check(sidecars[0] == named["container"],
                f"{what}: the larder-proxy container is larder.proxySidecar's output")
        volumes = {v.get("name"): v for v in spec.get("volumes", [])}
        c.check(all(volumes.get(v["name"]) == v for v in named["volumes"]),
                f"{what}: the pod has every volume of larder.proxySidecarVolumes")
        labels = meta.get("labels", {})
        c.check(all(labels.get(k) == v for k, v in named["labels"].items()),
                f"{what}: the pod carries larder.proxySidecarLabels")


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    helm, chart, guide = sys.argv[1:4]
    minimum = int(sys.argv[4]) if len(sys.argv) == 5 else 1
    with open(guide) as f:
        found = list(examples(f.read()))
    c = Checks()
    name = os.path.basename(guide)
    values_examples = sum(1 for _, manifest, _ in found if not manifest)
    c.check(values_examples >= minimum,
            f"{name}: at least {minimum} yaml values examples (found {values_examples})")
    values = None
    with tempfile.TemporaryDirectory() as tmp:
        for line, manifest, body in found:
            what = f"{name}:{line}"
            if manifest:
                check_manifest(c, helm, chart, what, body, values)
                continue
            if not c.check(isinstance(yaml.safe_load(body), dict), f"{what}: a YAML mapping"):
                continue
            values = os.path.join(tmp, f"line{line}.yaml")
            with open(values, "w") as f:
                f.write(body)
            proc = subprocess.run([helm, "template", "larder", chart, "--namespace", "cache",
                                   "-f", values], capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
            c.check(proc.returncode == 0, f"{what}: the example renders with helm template")
    c.finish()


if __name__ == "__main__":
    main()
