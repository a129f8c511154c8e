#!/usr/bin/env python3
"""Checks deploy/docker/runtime-packages.txt against the shared libraries of the image's binaries.

Usage: check_runtime_libs.py RUNTIME_PACKAGES_TXT INSTALL_DEPS_SH BINARY [BINARY...]
  (the binaries the image installs: larderd, larderctl, larder-proxy)
  - every library `ldd BINARY` resolves belongs (dpkg -S) to a listed package or to a
    dependency of one, so the runtime image can load every binary (larder-proxy adds libre2
    and libyaml-0-2 to the SDK's libraries);
  - every listed package is in install-deps.sh's PACKAGES or a dependency of one of them, so
    the builder links against the same libraries the runtime installs;
  - a listed package that provides none of the libraries is reported (a warning: the build at
    hand may leave an engine out).
"""
import os
import re
import subprocess
import sys

from checks import Checks


def read_list(path):
    with open(path) as f:
        return [line.split("#", 1)[0].strip() for line in f if line.split("#", 1)[0].strip()]


def install_deps_packages(path):
    with open(path) as f:
        text = f.read()
    match = re.search(r"^PACKAGES=\((.*?)^\)", text, re.S | re.M)
    if not match:
        raise RuntimeError(f"no PACKAGES=( ... ) list in {path}")
    body = "\n".join(line.split("#", 1)[0] for line in match.group(1).splitlines())
    return body.split()


def ldd_paths(binary):
    proc = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ldd {binary} failed: {proc.stderr.strip()}")
    libs = {}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if "not found" in line:
            raise RuntimeError(f"ldd cannot resolve: {line}")
        m = re.match(r"(\S+) => (/\S+) \(", line) or re.match(r"((/\S+)) \(", line)
        if m:
            libs[m.group(1)] = m.group(2)
    return libs


def spellings(path):
    """path, its real path, and their /usr-merged twins: dpkg knows only one of them."""
    out = []
    for p in (path, os.path.realpath(path)):
        out += [p, p[len("/usr"):] if p.startswith("/usr/") else "/usr" + p]
    return out


def owners(paths):
    """Path -> the Debian package owning it (one dpkg-query call for every spelling)."""
    wanted = sorted({s for p in paths for s in spellings(p)})
    proc = subprocess.run(["dpkg-query", "-S", *wanted], capture_output=True, text=True)
    found = {}
    for line in proc.stdout.splitlines():
        pkgs, _, owned = line.partition(": ")
        if owned in wanted:
            found[owned] = pkgs.split(",")[0].split(":")[0].strip()
    return {p: next((found[s] for s in spellings(p) if s in found), None) for p in paths}


def installed_graph():
    """Package -> set of packages it depends on (Depends and Pre-Depends, all alternatives)."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Provides}\t"
         "${Pre-Depends}, ${Depends}\n"], capture_output=True, text=True, check=True).stdout
    deps, provides = {}, {}
    for line in out.splitlines():
        status, pkg, prov, dep = (line.split("\t") + ["", "", ""])[:4]
        if not status.startswith("ii"):
            continue
        names = set()
        for clause in dep.split(","):
            for alt in clause.split("|"):
                name = alt.strip().split(" ")[0].split(":")[0]
                if name:
                    names.add(name)
        deps[pkg] = names
        for p in prov.split(","):
            name = p.strip().split(" ")[0]
            if name:
                provides.setdefault(name, set()).add(pkg)
    return deps, provides


def closure(roots, deps, provides):
    seen, todo = set(), list(roots)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        for dep in deps.get(pkg, ()):
            todo.append(dep)
            todo.extend(provides.get(dep, ()))
    return seen


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runtime_path, deps_path, binaries = sys.argv[1], sys.argv[2], sys.argv[3:]
    check = Checks()

    runtime = read_list(runtime_path)
    build = install_deps_packages(deps_path)
    deps, provides = installed_graph()
    check(bool(runtime), f"{runtime_path} lists packages")
    for pkg in runtime:
        check(pkg in deps, f"{pkg} is an installed Debian package (so its files can be checked)")

    runtime_closure = closure(runtime, deps, provides)
    build_closure = closure([p for p in build if p in deps], deps, provides)

    providing = set()
    libs, users = {}, {}   # soname -> path; soname -> the binaries loading it
    for binary in binaries:
        for soname, path in ldd_paths(binary).items():
            libs[soname] = path
            users.setdefault(soname, []).append(os.path.basename(binary))
    owner = owners(libs.values())
    for soname, path in sorted(libs.items()):
        pkg = owner[path]
        who = ", ".join(users[soname])
        if pkg is None:
            check(False, f"{soname} ({path}, {who}) belongs to a Debian package "
                  "(dpkg -S found none)")
            continue
        providing.add(pkg)
        check(pkg in runtime_closure,
              f"{soname} ({who}) comes from {pkg}, "
              + ("covered by runtime-packages.txt" if pkg in runtime_closure
                 else "which runtime-packages.txt neither lists nor pulls in"))

    for pkg in runtime:
        check(pkg in build_closure,
              f"{pkg} is in install-deps.sh PACKAGES or a dependency of them")
    for pkg in (p for p in runtime if p not in providing):
        print(f"warning: {pkg} provides no library these binaries load "
              "(expected when the build leaves its engine out)")

    check.finish()


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
