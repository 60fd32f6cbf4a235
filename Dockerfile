# rpm-gateway — multi-stage image. The build stage runs the same steps as .ci/run.
#   docker build -t rpm-gateway .                 # runtime image
#   docker build --target test -t rpm-gateway:test .   # also runs the test suites

FROM node:22-slim AS build
ENV ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npm ci \
 && npm run typecheck \
 && npm run lint \
 && npm run format:check

FROM build AS test
RUN scripts/install-test-deps.sh && npm test

FROM build AS prune
RUN npm prune --omit=dev

FROM node:22-slim AS runtime
# socat: the demo's serial lane runs over a pseudo-terminal pair.
# The console's static files and the models are served from the same layout as a checkout.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends socat tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Memory (bench/gateway-bench.ts measures the whole gateway with and without these; keep
# DEPLOYED_ENV there in step with this line): glibc keeps an arena of freed memory per thread
# that allocated (image decode, inference, the outbox writer); V8 grows the main thread's
# young generation to 32 MB under a scan's allocations; and on a machine with 8 GB of memory or
# more V8 lets the old generation grow 4-fold after each full collection. Two arenas, 4 MB
# semi-spaces and an old-generation cap of 2000 MB (far above the gateway's ≈ 60 MB of heap;
# below 2048 MB V8 grows the old generation at most ≈ 2-fold) keep the whole gateway's peak RSS
# over 40 scans at 224–242 MB, against 249–262 with the first two alone and 268–295 with none,
# with the alarm path's latency unchanged.
ENV MALLOC_ARENA_MAX=2 NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=2000"
COPY --from=prune /app/package.json ./
COPY --from=prune /app/node_modules ./node_modules
COPY --from=prune /app/dist ./dist
COPY --from=prune /app/config ./config
COPY --from=prune /app/models ./models
COPY --from=prune /app/src/api/console ./src/api/console
# The gateway's state (storage.dir: database and scan pictures) lives on this volume; set
# `storage.dir: /var/lib/rpm-gateway` in the mounted configuration. Owned by the user it runs as.
RUN mkdir -p /var/lib/rpm-gateway && chown node:node /var/lib/rpm-gateway
USER node
VOLUME ["/var/lib/rpm-gateway"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/rpm-gateway/gateway.yaml"]
