# One image for every CDS-TS node; what a container runs is chosen with SERVICES.
#   docker build -t cds-ts .                          the nodes (the default target, `server`)
#   docker build --target worker -t cds-ts-worker .   the worker pods of the Kubernetes hatchery
FROM node:22-bookworm-slim AS base
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates tini \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# Every module's type-stripped JavaScript, cached in the image (bin/ts-cache.mjs): the containers
# run as `node` and cannot write it, and a worker pod would otherwise strip ~100 modules per job.
RUN node bin/ts-cache.mjs --warm
ENV NODE_ENV=production CDS_API_PORT=8081 CDS_DATA_DIR=/var/lib/cds
RUN mkdir -p /var/lib/cds && chown node:node /var/lib/cds

# A worker pod (CDS_KUBERNETES_DEFAULT_IMAGE, command `node /app/bin/cds-worker.mjs`) runs both
# its containers (the worker, and the steps') as uid 1000 (`node`, CDS_KUBERNETES_RUN_AS_USER),
# reads the job's Secret through its fsGroup, and makes its workspaces in the pod's emptyDir at
# the hatchery's CDS_WORKER_BASEDIR (`$CDS_DATA_DIR/workers` of the hatchery).
FROM base AS worker
USER node
CMD ["node", "/app/bin/cds-worker.mjs"]

FROM base AS server
USER node
EXPOSE 8081
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/cds-server.mjs"]
