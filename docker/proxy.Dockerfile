# The API proxy: built with ops/build.sh (as deploy-mikrus.sh does), run as an unprivileged
# user on a slim Debian with only its runtime libraries.
# Build from the repository root: docker build -f docker/proxy.Dockerfile .
FROM debian:bookworm-slim AS build
COPY ops/build.sh /src/ops/build.sh
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(/src/ops/build.sh packages proxy-build) \
 && rm -rf /var/lib/apt/lists/*
# The schema version the proxy needs is read from the extension's control file at build time.
COPY therapyassistance.control /src/
COPY proxy /src/proxy
RUN /src/ops/build.sh proxy /out

FROM debian:bookworm-slim
COPY --from=build /src/ops/build.sh /tmp/build.sh
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(/tmp/build.sh packages proxy-runtime) \
 && rm -rf /var/lib/apt/lists/* /tmp/build.sh \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin therapyassistance
COPY --from=build /out/therapyassistance-proxy /usr/local/bin/therapyassistance-proxy
USER 10001
ENV PORT=8000 LISTEN_ADDRESS=0.0.0.0
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000 && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q healthy <&3"]
ENTRYPOINT ["/usr/local/bin/therapyassistance-proxy"]
