# One image for every taskjet service; the command picks the role:
#   node services/scheduler/dist/main.js | node services/worker/dist/main.js --node <name> | node services/gateway/dist/main.js
# The base image is a build argument: the public node image by default; `npm run images` (deploy/images/build.sh)
# builds a local one from Debian for machines that reach no registry and passes it here.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ENV TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY shared ./shared
COPY services ./services
# the dashboard's build checks its job editor against the protocol's generated JSON Schema
COPY docs/schemas ./docs/schemas
RUN npm ci --no-audit --no-fund && npx turbo run build && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf .turbo shared/*/src shared/*/test services/*/src services/*/test

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# a larger young generation: the hot paths allocate short-lived objects per fire and per run; measured
# ~9 % less scheduler CPU per job (bench/RESULTS.md)
ENV NODE_OPTIONS=--max-semi-space-size=64
# the scheduler and the worker serve /metrics, /healthz and /readyz here (the gateway on its HTTP port)
ENV TASKJET_METRICS_PORT=9464
WORKDIR /app
# owned by root, read-only for the service user
COPY --from=build /app /app
COPY deploy/docker/healthcheck.mjs /app/healthcheck.mjs
# the image's `node` user, by number so Kubernetes' runAsNonRoot can verify it
USER 1000:1000
EXPOSE 8080 9464
# GET /healthz of whichever service runs (healthcheck.mjs finds the role and its port)
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
# SIGTERM reaches node directly (node is PID 1, no shell): services stop gracefully
STOPSIGNAL SIGTERM
ENTRYPOINT ["node"]
CMD ["services/scheduler/dist/main.js"]
