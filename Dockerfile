# syntax=docker/dockerfile:1
# tfa-service: `docker build -t tfa-service .` then `docker compose up` (see README, Operations).
# The drift test (test/ops/drift.test.ts) checks this file against package.json,
# docker-compose.yml, .env.example and the config schema, and CI runs the same
# build and CMD (scripts/smoke-prod.ts): no Docker engine runs in CI.

# --- build: every dependency, TypeScript compiled to dist/ ---------------------
# Node 24 (LTS) in both stages; CI runs the test suite on Node 24 too (.ci/run).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# dist/src (service and CLI), dist/migrations, and the /docs page in dist/src/docs/site.
RUN npm run build

# --- runtime: production dependencies and compiled JavaScript only, non-root --
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
# No tsx, TypeScript or redoc here (devDependencies): size in README, Operations.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY openapi.yaml ./
# The command line runs compiled too: `node dist/src/cli.js` ("cli:prod"), and
# `npm run cli -- <command>` as outside the image, pointed here at the same file.
RUN npm pkg set scripts.cli="node dist/src/cli.js"
# PGlite's folder, when no DATABASE_URL is given.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Metrics on a port of their own (README "Metrics"): open to a Prometheus on the
# container network, published to nobody (docker-compose.yml publishes 3000 only).
ENV METRICS_HOST=0.0.0.0
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 on purpose, without tini or `npm start`: npm would not pass
# SIGTERM on, and the service installs its own SIGTERM/SIGINT handlers first
# thing (PID 1 ignores signals it has no handler for) and starts no child
# processes that would need reaping. Mirrors package.json's "start:prod".
# The heap flags keep the process under 200 MB at full load (BENCHMARKS.md):
# V8 otherwise lets a busy heap grow well past the ~40 MiB the service keeps
# live before it collects. Raise them for a host with memory to spare.
STOPSIGNAL SIGTERM
CMD ["node", "--max-old-space-size=128", "--max-semi-space-size=4", "dist/src/server.js"]
