# latentserve on CPU. For CUDA, build FROM an image with CUDA 12 + cuDNN 9, install with
# ONNXRUNTIME_NODE_INSTALL=cuda12 (the project .npmrc skips the CUDA download by default) and pass --device cuda.
#   docker build -t latentserve .
#   docker run -p 8000:8000 -v /path/to/DeepSeek-V2-Lite:/models/m:ro -v latentserve-cache:/cache \
#     latentserve serve --model /models/m
FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci && npm prune --omit=dev --ignore-scripts
ENV HOST=0.0.0.0 PORT=8000 LATENTSERVE_CACHE_DIR=/cache
VOLUME ["/cache"]
EXPOSE 8000
ENTRYPOINT ["node", "bin/latentserve.js"]
CMD ["serve"]
