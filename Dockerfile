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
# jemalloc instead of glibc's malloc, in every process of the image: a worker holding 10,000
# cached cases used 213 KiB of RSS per case with glibc (two arenas) and 158 KiB with jemalloc,
# nearly all of the difference native memory outside V8 (`npm run bench:scale`,
# bench/RESULTS.md). The link gives one path on any architecture.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 \
 && ln -s "$(dpkg -L libjemalloc2 | grep '/libjemalloc.so.2$')" /usr/local/lib/libjemalloc.so.2 \
 && rm -rf /var/lib/apt/lists/*
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2

COPY package.json package-lock.json ./
# No dependency install scripts: nothing the image runs needs one (embedded PostgreSQL, whose
# script links its binaries, serves only `npm start`, which compose replaces).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

COPY . .
COPY --from=console /app/console/dist console/dist

USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "server.ts"]
