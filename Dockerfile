# One image for every taskjet service; the command picks the role:
#   node services/scheduler/dist/main.js | node services/worker/dist/main.js --node <name> | node services/gateway/dist/main.js
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY shared ./shared
COPY services ./services
RUN npm ci --no-audit --no-fund && npx turbo run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# a larger young generation: the hot paths allocate short-lived objects per fire and per run; measured
# ~9 % less scheduler CPU per job (bench/RESULTS.md)
ENV NODE_OPTIONS=--max-semi-space-size=64
WORKDIR /app
COPY --from=build /app /app
USER node
# SIGTERM reaches node directly (no shell): services stop gracefully
ENTRYPOINT ["node"]
CMD ["services/scheduler/dist/main.js"]
