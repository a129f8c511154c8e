#!/usr/bin/env python3
"""Checks that every value in a chart's values.yaml is documented with a `# --` comment.

Usage: check_values_docs.py VALUES_YAML
A key is documented when the comment block right above it starts with `# --`; a map without
such a comment is documented when each of its keys is. Prints undocumented keys.
"""
import re
import sys

KEY = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):(.*)$")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        lines = f.read().splitlines()

    entries = []  # (indent, dotted key, documented, is_map)
    stack = []
    comment = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        m = KEY.match(line)
        if not m or stripped.startswith("-"):
            if not stripped:
                comment = []
            continue
        indent, key, rest = len(m.group(1)), m.group(2), m.group(3).split("#")[0].strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([k for _, k in stack] + [key])
        nxt = next((l for l in lines[i + 1:] if l.strip() and not l.strip().startswith("#")), "")
        is_map = rest == "" and (len(nxt) - len(nxt.lstrip())) > indent and not nxt.strip().startswith("-")
        documented = any(c.startswith("# --") for c in comment[:1])
        entries.append((dotted, documented, is_map))
        stack.append((indent, key))
        comment = []

    documented = {d for d, doc, _ in entries if doc}
    missing = []
    for dotted, doc, is_map in entries:
        covered = doc or any(dotted.startswith(p + ".") for p in documented)
        if not covered and not is_map:
            missing.append(dotted)
    for key in missing:
        print(f"FAIL: {key} has no '# --' comment", file=sys.stderr)
    print(f"{len(entries) - len(missing)} of {len(entries)} keys documented")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
