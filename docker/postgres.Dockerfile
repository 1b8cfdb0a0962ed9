# PostgreSQL 15 with the therapyassistance extension, tuned for 1 GB (ops/postgresql-1gb.conf).
# Build from the repository root: docker build -f docker/postgres.Dockerfile .
# The build step is ops/build.sh, the same one deploy-mikrus.sh runs on a VPS.
FROM postgres:15-bookworm AS build
COPY ops/build.sh /src/ops/build.sh
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(/src/ops/build.sh packages extension-build) \
 && rm -rf /var/lib/apt/lists/*
COPY Makefile therapyassistance.control /src/
COPY extension /src/extension
COPY sql /src/sql
RUN /src/ops/build.sh extension && make -s -C /src install DESTDIR=/out

FROM postgres:15-bookworm
COPY --from=build /out/ /
COPY ops/postgresql-1gb.conf /etc/postgresql/therapyassistance.conf
COPY ops/roles-and-database.sql /usr/local/share/therapyassistance/roles-and-database.sql
COPY docker/initdb.sh /docker-entrypoint-initdb.d/10-therapyassistance.sh
COPY docker/upgrade.sh /usr/local/share/therapyassistance/upgrade.sh
ENV TA_ROLES_SQL=/usr/local/share/therapyassistance/roles-and-database.sql
# The server never runs as root (the entrypoint needs no root when the volume is postgres').
USER postgres
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
    CMD pg_isready -U postgres -d "${TA_DB:-therapyassistance}" -q
