# nginx serving the built SPA and sending /api/ to the proxy, with nginx/site.conf exactly as
# on a VPS; unprivileged (listens on 8080). Build from the repository root.
FROM node:22-bookworm-slim AS build
COPY ops/build.sh /src/ops/build.sh
COPY frontend /src/frontend
RUN /src/ops/build.sh spa /out

FROM nginxinc/nginx-unprivileged:1.24-alpine
COPY nginx/site.conf nginx/security-headers.conf /etc/nginx/therapyassistance/
COPY docker/nginx-site.conf /etc/nginx/conf.d/default.conf
COPY --from=build /out/web /usr/share/nginx/html
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1
