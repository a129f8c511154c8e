# syntax=docker/dockerfile:1
# larderd image, with larderctl (the operator's command line) and larder-proxy (the HTTP caching
# reverse proxy): built on debian:bookworm with the same scripts/install-deps.sh as a developer
# machine, run on debian:bookworm-slim with only the runtime libraries, tini as PID 1 and a fixed
# non-root user.
#   docker build -t larder/larderd:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 larder/larderd:0.1.0 --engine=memory
#   docker run --rm -v larder-data:/var/lib/larder larder/larderd:0.1.0 --engine=rocksdb
#   docker run --rm -p 8080:8080 --entrypoint /usr/bin/tini larder/larderd:0.1.0 -- \
#     /usr/local/bin/larder-proxy --listen=0.0.0.0:8080 --upstream=http://api:8000 \
#     --larder=larder:50051

FROM debian:bookworm AS builder
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# gRPC, protobuf and Abseil linked in: the runtime needs none of their packages.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DLARDER_STATIC_GRPC=ON \
        -DLARDER_BUILD_TESTS=OFF -DLARDER_BUILD_EXAMPLES=OFF -DLARDER_BUILD_BENCH=OFF \
    && cmake --build /build --target larderd larderctl larder-proxy --parallel "$(nproc)" \
    && strip --strip-unneeded -o /larderd /build/server/larderd \
    && strip --strip-unneeded -o /larderctl /build/ctl/larderctl \
    && strip --strip-unneeded -o /larder-proxy /build/proxy/larder-proxy \
    && /larderd --version >/dev/null && /larderctl --help >/dev/null \
    && /larder-proxy --version >/dev/null

FROM debian:bookworm-slim AS runtime
COPY deploy/docker/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
    && sed -e 's/#.*//' /tmp/runtime-packages.txt | xargs \
        apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
RUN groupadd --system --gid 10001 larder \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/larder --no-create-home \
        --shell /usr/sbin/nologin larder \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/larder
COPY --from=builder /larderd /usr/local/bin/larderd
# For operators: `kubectl exec deploy/larder -- larderctl --target=127.0.0.1:50051 stats`.
COPY --from=builder /larderctl /usr/local/bin/larderctl
# The HTTP caching reverse proxy, run by the Helm chart (proxy.enabled) with this image and
# command ["/usr/bin/tini", "--", "/usr/local/bin/larder-proxy"]; it loads the same libraries.
COPY --from=builder /larder-proxy /usr/local/bin/larder-proxy

USER 10001:10001
WORKDIR /var/lib/larder
# Where --engine=rocksdb keeps its data unless --data-dir says otherwise.
ENV LARDER_DATA_DIR=/var/lib/larder
VOLUME ["/var/lib/larder"]
# gRPC (larder.v1.Cache, grpc.health.v1) and Prometheus /metrics.
EXPOSE 50051 9464
# larder-proxy, when run instead of larderd: HTTP clients, and /metrics, /healthz, /readyz.
EXPOSE 8080 9465
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/larderd", "--listen=0.0.0.0:50051", "--metrics-address=0.0.0.0:9464"]
CMD ["--engine=memory"]
