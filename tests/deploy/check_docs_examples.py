#!/usr/bin/env python3
"""Renders every values example of a Markdown guide with `helm template`: each must render.

Usage: check_docs_examples.py HELM CHART_DIR GUIDE_MD [MIN_EXAMPLES]
Every fenced block tagged `yaml` in the guide is a values file (a block inside a list item may
be indented: it is dedented first). Fails when fewer than MIN_EXAMPLES (default 1) are found,
so a change of fence style cannot make the test pass vacuously.
"""
import os
import re
import subprocess
import sys
import tempfile
import textwrap

import yaml

from checks import Checks

# An opening fence ```yaml (any indentation), its body, and the closing fence at that indent.
FENCE = re.compile(r"^(?P<indent>[ \t]*)```yaml[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)


def examples(text):
    """(line number, dedented body) of each yaml block."""
    for m in FENCE.finditer(text):
        yield text.count("\n", 0, m.start()) + 1, textwrap.dedent(m.group("body"))


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    helm, chart, guide = sys.argv[1:4]
    minimum = int(sys.argv[4]) if len(sys.argv) == 5 else 1
    with open(guide) as f:
        found = list(examples(f.read()))
    c = Checks()
    name = os.path.basename(guide)
    c.check(len(found) >= minimum,
            f"{name}: at least {minimum} yaml values examples (found {len(found)})")
    with tempfile.TemporaryDirectory() as tmp:
        for line, body in found:
            what = f"{name}:{line}"
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
