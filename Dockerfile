# One image for every fleet service: `--build-arg SERVICE=auth`. gs builds it (`gs build`) from a
# small context it stages itself: this file, service.mjs (the esbuild bundle of the service: the SDK
# and every npm dependency inside, so there is no npm install and no node_modules) and proto/.
# No RUN steps: the image needs nothing but node, so it builds on any base that has node on PATH.
ARG BASE_IMAGE=node:20-slim
FROM ${BASE_IMAGE}

ARG SERVICE
ARG VERSION=0.0.0
LABEL org.opencontainers.image.title="${SERVICE}" \
      org.opencontainers.image.version="${VERSION}"
ENV NODE_ENV=production \
    GS_SERVICE=${SERVICE} \
    GS_SERVICE_VERSION=${VERSION} \
    GS_PROTO_DIR=/app/proto \
    GS_HEALTH_FILE=/tmp/gs-health.json
WORKDIR /app

# Dependencies before code: the proto contracts change less often than the service's code, so their
# layer stays cached (and shared between services) when only the bundle changes.
COPY proto/ /app/proto/
COPY service.mjs /app/service.mjs

# Not root. Numeric, so it works on bases without /etc/passwd (node:20-slim calls uid 1000 "node").
USER 1000:1000

# The SDK's health check, run by node alone (the seed's slim images had no pgrep): it passes only when
# this container's own micro instance answers $SRV.PING over NATS.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/service.mjs", "--health"]

# node is PID 1 (exec form, no shell): ECS's SIGTERM reaches it directly and the SDK drains before exit.
CMD ["node", "/app/service.mjs"]
