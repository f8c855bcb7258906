# syntax=docker/dockerfile:1
# latentserve: an OpenAI-compatible server for DeepSeek-V2/V3 checkpoints on ONNX Runtime.
#
# CPU (default):
#   docker build -t latentserve .
# CUDA 12 (ONNX Runtime's CUDA execution provider; run with the NVIDIA container toolkit and --device cuda):
#   docker build -t latentserve:cuda \
#     --build-arg RUNTIME_BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 \
#     --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 .
# Run: the model folder is a read-only volume at /models, compiled graphs persist in the /cache volume.
#   docker run -p 8000:8000 -e LATENTSERVE_API_KEY=sk-... \
#     -v /path/to/DeepSeek-V2-Lite-Chat:/models:ro -v latentserve-cache:/cache latentserve
#   docker run --gpus all ... latentserve:cuda serve --model /models --device cuda
# docker stop sends SIGTERM: latentserve drains (503 to new requests, running streams finish, --drain-timeout 30 s).

ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_BASE=${NODE_IMAGE}

# 1. Build: every dependency (TypeScript included), then compile to dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` would compile before the sources are here; ONNX Runtime's CPU binaries ship in its package.
RUN npm ci --ignore-scripts
COPY . .
RUN npx tsc -p tsconfig.json

# 2. Production dependencies only; the CUDA provider's binaries are downloaded only when asked for.
FROM ${NODE_IMAGE} AS deps
ARG ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: the project's `prepare` needs TypeScript, which --omit=dev leaves out (dist/ comes from stage 1).
RUN npm ci --omit=dev --ignore-scripts \
 && if [ "$ONNXRUNTIME_NODE_INSTALL" != "skip" ]; then \
      ONNXRUNTIME_NODE_INSTALL="$ONNXRUNTIME_NODE_INSTALL" node node_modules/onnxruntime-node/script/install; \
    fi \
 && npm cache clean --force

# 3. Runtime: Node.js, dist/ and production node_modules, as an unprivileged user.
FROM ${RUNTIME_BASE} AS runtime
# A CUDA base image has no Node.js; the official binary only needs glibc ≥ 2.28 (any current Debian/Ubuntu).
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 latentserve \
 && useradd --system --uid 10001 --gid latentserve --home-dir /app --shell /usr/sbin/nologin latentserve \
 && mkdir -p /app /models /cache \
 && chown latentserve:latentserve /cache
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000 LATENTSERVE_CACHE_DIR=/cache
USER 10001:10001
VOLUME ["/models", "/cache"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=300s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/latentserve.js"]
CMD ["serve", "--model", "/models"]
