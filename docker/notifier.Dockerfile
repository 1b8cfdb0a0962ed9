# The reminder sender (notifier/): built with ops/build.sh (as deploy-mikrus.sh does), run as an
# unprivileged user on a slim Debian with only libpq, libcurl and the CA certificates.
# Build from the repository root: docker build -f docker/notifier.Dockerfile .
FROM debian:bookworm-slim AS build
COPY ops/build.sh /src/ops/build.sh
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(/src/ops/build.sh packages notifier-build) \
 && rm -rf /var/lib/apt/lists/*
COPY notifier /src/notifier
RUN /src/ops/build.sh notifier /out

FROM debian:bookworm-slim
COPY --from=build /src/ops/build.sh /tmp/build.sh
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(/tmp/build.sh packages notifier-runtime) \
 && rm -rf /var/lib/apt/lists/* /tmp/build.sh \
 && useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin therapyassistance-notifier
COPY --from=build /out/therapyassistance-notifier /usr/local/bin/therapyassistance-notifier
USER 10002
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/therapyassistance-notifier"]
