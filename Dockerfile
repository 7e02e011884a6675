# Builds the operator image: compile on a full Node.js image, run on a slim one as a non-root user.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY pkg pkg
COPY operator operator
COPY webhook webhook
COPY cmd cmd
COPY hack hack
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
USER 65532:65532
# The flags of the Makefile's NODE_RUNTIME_FLAGS (bin/imprimatur): a small young generation, for the memory target,
# and gc() for one collection before the operator says ready.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--expose-gc", "dist/cmd/imprimatur.js"]
CMD ["run"]
