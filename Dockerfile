# The worker, the API and the migration job share this image; compose picks the command.
# Debian, not Alpine: the Temporal SDK's native core is built against glibc.

# The collection console (console/) is built from the API's own OpenAPI document with the dev
# toolchain (Vite, openapi-typescript); only its static output reaches the runtime image.
FROM node:20-bookworm-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run -s console:build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# glibc gives each thread that allocates its own arena. The SDK's native core allocates from
# many threads, and freed memory stays in those arenas: a worker holding 1,500 cached cases
# used 285 KiB of RSS per case with the default and 215 KiB with two (bench/scale.ts).
ENV MALLOC_ARENA_MAX=2

COPY package.json package-lock.json ./
# No dependency install scripts: nothing the image runs needs one (embedded PostgreSQL, whose
# script links its binaries, serves only `npm start`, which compose replaces).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

COPY . .
COPY --from=console /app/console/dist console/dist

USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "server.ts"]
