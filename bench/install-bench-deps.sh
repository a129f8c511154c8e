#!/usr/bin/env bash
# Installs the Debian packages the benchmarks need beyond scripts/install-deps.sh (idempotent):
# redis-server and redis-tools (redis-benchmark), jq (run.sh reads JSON results), valgrind
# (profile.sh), wrk and hyperfine (HTTP and command timing), nginx-light and varnish (the
# reference HTTP servers of bench/http_bench.sh, which runs its own instances as the current user
# on loopback ports with configs in a temporary directory: it never uses the packages' system
# services, which a machine running systemd enables on installation; `nginx` replaces
# `nginx-light` on releases that no longer ship the latter), python3-fastapi and
# python3-uvicorn (the FastAPI upstream of bench/proxy_bench.sh).
# Usage: bench/install-bench-deps.sh            (as root, or with sudo available)
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"  # Where nginx lives.

PACKAGES=(redis-server redis-tools jq valgrind wrk hyperfine nginx-light varnish memcached
  libmemcached-tools bc python3-fastapi python3-uvicorn)
if ! apt-cache show nginx-light >/dev/null 2>&1 && ! command -v nginx >/dev/null; then
  PACKAGES=("${PACKAGES[@]/nginx-light/nginx}")
fi

# Any nginx binary serves the static file: do not add nginx-light next to another flavour.
if command -v nginx >/dev/null; then
  PACKAGES=("${PACKAGES[@]/nginx-light/}")
  PACKAGES=("${PACKAGES[@]/nginx/}")
fi
exec "$(dirname "$0")/../scripts/install-deps.sh" ${PACKAGES[@]}
