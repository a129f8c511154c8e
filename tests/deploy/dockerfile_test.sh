#!/usr/bin/env bash
# Static checks of the Dockerfile (no Docker engine needed): a bookworm builder running
# scripts/install-deps.sh, a bookworm-slim runtime from deploy/docker/runtime-packages.txt,
# tini as PID 1, a fixed non-root user, both ports exposed, a volume for RocksDB data only, and
# larderctl and larder-proxy beside larderd where the Helm chart runs them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERFILE="${ROOT}/Dockerfile"
[ -f "${DOCKERFILE}" ] || die "no Dockerfile at the repository root"
[ -f "${ROOT}/.dockerignore" ] && pass ".dockerignore exists" || fail ".dockerignore is missing"

# Instructions with continuation lines joined, comments dropped.
instructions="$(sed -e '/^[[:space:]]*#/d' "${DOCKERFILE}" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')"
froms="$(grep -E '^FROM ' <<<"${instructions}")"
runtime="$(awk '/^FROM /{stage=$0} {if (stage == last_from) print}' \
  last_from="$(tail -n 1 <<<"${froms}")" <<<"${instructions}")"

# expect DESCRIPTION REGEX TEXT: one check that TEXT has a line matching REGEX.
expect() {
  if grep -qE -- "$2" <<<"$3"; then pass "$1"; else fail "$1 (no line matching /$2/)"; fi
}
# expect_not DESCRIPTION REGEX TEXT: one check that no line of TEXT matches REGEX.
expect_not() {
  if grep -qE -- "$2" <<<"$3"; then fail "$1 (found /$2/)"; else pass "$1"; fi
}

[ "$(wc -l <<<"${froms}")" -ge 2 ] && pass "multi-stage build" || fail "multi-stage build"
expect "the builder is debian:bookworm" '^FROM debian:bookworm( |$)' "$(head -n 1 <<<"${froms}")"
expect "the builder runs scripts/install-deps.sh" 'RUN .*scripts/install-deps\.sh' "${instructions}"
expect "the builder builds the larderd target with cmake" 'cmake --build .*--target larderd' \
  "${instructions}"
expect "the runtime stage is debian:bookworm-slim" '^FROM debian:bookworm-slim' \
  "$(tail -n 1 <<<"${froms}")"
expect "the runtime installs deploy/docker/runtime-packages.txt" \
  'deploy/docker/runtime-packages\.txt' "${runtime}"
expect "the runtime installs tini" 'apt-get install .*tini' "${runtime}"
expect "the runtime copies larderd from the builder" '^COPY --from=builder ' "${runtime}"
expect "the runtime runs as a fixed numeric non-root UID" '^USER [1-9][0-9]*(:[0-9]+)?$' \
  "${runtime}"
expect_not "the runtime never switches back to root" '^USER (root|0)(:|$)' "${runtime}"
expect "tini is PID 1" '^ENTRYPOINT \["/usr/bin/tini", "--", "/usr/local/bin/larderd"' "${runtime}"
expect "larderd listens on all interfaces" '^ENTRYPOINT .*"--listen=0\.0\.0\.0:50051"' "${runtime}"
expect "metrics are served on all interfaces" \
  '^ENTRYPOINT .*"--metrics-address=0\.0\.0\.0:9464"' "${runtime}"
expect "EXPOSE 50051" '^EXPOSE .*\b50051\b' "${runtime}"
expect "EXPOSE 9464" '^EXPOSE .*\b9464\b' "${runtime}"

# larder-proxy: built, checked to run, and installed where the chart's container runs it.
expect "the builder builds the larder-proxy target" 'cmake --build .*--target .*\blarder-proxy\b' \
  "${instructions}"
expect "the builder checks that larder-proxy starts" '/larder-proxy --version' "${instructions}"
expect "the runtime installs larderctl" '^COPY --from=builder /larderctl /usr/local/bin/larderctl$' \
  "${runtime}"
expect "the runtime installs larder-proxy" \
  '^COPY --from=builder /larder-proxy /usr/local/bin/larder-proxy$' "${runtime}"
expect "EXPOSE larder-proxy's ports 8080 and 9465" '^EXPOSE 8080 9465$' "${runtime}"
if grep -qF -- '- /usr/local/bin/larder-proxy' "${CHART}/templates/_proxy.tpl"; then
  pass "the chart runs /usr/local/bin/larder-proxy, the image's path"
else
  fail "helm/larder/templates/_proxy.tpl does not run /usr/local/bin/larder-proxy"
fi
for port in listenPort:8080 adminPort:9465; do
  if grep -qxF -- "  ${port%%:*}: ${port##*:}" "${CHART}/values.yaml"; then
    pass "the chart's proxy.${port%%:*} is the exposed ${port##*:}"
  else
    fail "the chart's proxy.${port%%:*} is not the exposed ${port##*:}"
  fi
done

volumes="$(grep -E '^VOLUME ' <<<"${instructions}" || true)"
if [ "$(grep -c . <<<"${volumes}")" -eq 1 ] && grep -qE '^VOLUME \["/var/lib/larder"\]$' <<<"${volumes}"; then
  pass "the only VOLUME is the RocksDB data dir /var/lib/larder"
else
  fail "expected exactly VOLUME [\"/var/lib/larder\"], got: ${volumes:-none}"
fi
chart_dir="$(sed -n 's/^  dataDir: //p' "${CHART}/values.yaml")"
[ "${chart_dir}" = "/var/lib/larder" ] && pass "the chart's rocksdb.dataDir is the image volume" \
  || fail "the chart's rocksdb.dataDir (${chart_dir}) is not the image volume /var/lib/larder"
uid="$(sed -n 's/^USER \([0-9]*\).*/\1/p' <<<"${runtime}")"
chart_uid="$(sed -n 's/^  runAsUser: //p' "${CHART}/values.yaml" | head -n 1)"
[ -n "${uid}" ] && [ "${uid}" = "${chart_uid}" ] && pass "the chart runs as the image's UID ${uid}" \
  || fail "image UID '${uid}' differs from the chart's runAsUser '${chart_uid}'"

# The build context keeps what the builder needs.
for needed in CMakeLists.txt scripts/install-deps.sh deploy/docker/runtime-packages.txt proxy; do
  if grep -qxF -- "${needed}" "${ROOT}/.dockerignore"; then
    fail ".dockerignore excludes ${needed}"
  else
    pass ".dockerignore keeps ${needed}"
  fi
done
finish
