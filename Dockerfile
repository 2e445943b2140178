# syntax=docker/dockerfile:1
#
# One image recipe for the three conversa services. Pick the service with a build argument:
#
#   docker build --build-arg SERVICE=gateway -t conversa-gateway .   # GraphQL, PORT 4000
#   docker build --build-arg SERVICE=chat    -t conversa-chat .      # workers, CHAT_PORT 4001
#   docker build --build-arg SERVICE=audit   -t conversa-audit .     # audit, AUDIT_PORT 4002
#   docker build --build-arg SERVICE=search  -t conversa-search .    # search indexer, SEARCH_PORT 4003
#
# Stages: pruner (turbo prune: only the workspaces the service depends on) → builder (npm ci,
# build, drop dev dependencies) → runtime (node:20-bookworm-slim, non-root). argon2 ships
# prebuilt glibc binaries, which is why the runtime is Debian slim and not Alpine.
# The gateway also serves the web client (/ and GraphiQL): web-pruner → web-builder build
# packages/web, and only its dist/ enters the gateway image (WEB_DIST_DIR). The gateway does
# not depend on @conversa/web as a package, so its own prune leaves it out.
# docker-compose.yml builds all three from this file.

ARG SERVICE=gateway
ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------- pruner
FROM ${NODE_IMAGE} AS pruner
ARG SERVICE
WORKDIR /src
RUN case "${SERVICE}" in \
      gateway|chat|audit|search) ;; \
      *) echo "SERVICE must be gateway, chat, audit or search (got '${SERVICE}')" >&2; exit 1 ;; \
    esac
COPY . .
# The turbo version comes from the root package.json, so the image and the repo agree.
# out/json: package.json files + pruned lock file (the dependency layer's cache key);
# out/full: the sources of those workspaces.
RUN --mount=type=cache,target=/root/.npm \
    TURBO_VERSION="$(node -p "require('./package.json').devDependencies.turbo")" \
 && TURBO_TELEMETRY_DISABLED=1 npx --yes "turbo@${TURBO_VERSION}" prune "@conversa/${SERVICE}" --docker

# --------------------------------------------------------------------------------- builder
FROM ${NODE_IMAGE} AS builder
ARG SERVICE
ENV TURBO_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app
# Dependencies first: this layer is reused until a package.json or the lock file changes.
COPY --from=pruner /src/out/json/ ./
RUN --mount=type=cache,target=/root/.npm npm ci
# Then the sources. turbo prune leaves out root files that are not workspaces: every
# tsconfig.json extends ../../tsconfig.base.json.
COPY --from=pruner /src/out/full/ ./
COPY tsconfig.base.json ./
# Builds the service and, first, the workspace packages it depends on (turbo ^build);
# the gateway's build copies src/schema.graphql into dist.
RUN npx turbo run build --filter="@conversa/${SERVICE}"
# Keep what runs: production dependencies (workspace links included) and each dist/.
RUN --mount=type=cache,target=/root/.npm npm prune --omit=dev \
 && find packages services -mindepth 2 -maxdepth 2 \
      \( -name src -o -name .turbo -o -name 'tsconfig*.json' -o -name '*.tsbuildinfo' \) \
      -exec rm -rf {} + \
 && rm -rf .turbo tsconfig.base.json turbo.json \
 && test -f "services/${SERVICE}/dist/main.js"

# ------------------------------------------------------------------------- web (gateway only)
# The web client's static build: vite and its dependencies stay in this stage; the gateway
# image gets dist/ alone.
FROM ${NODE_IMAGE} AS web-pruner
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.npm \
    TURBO_VERSION="$(node -p "require('./package.json').devDependencies.turbo")" \
 && TURBO_TELEMETRY_DISABLED=1 npx --yes "turbo@${TURBO_VERSION}" prune @conversa/web --docker

FROM ${NODE_IMAGE} AS web-builder
ENV TURBO_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app
COPY --from=web-pruner /src/out/json/ ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY --from=web-pruner /src/out/full/ ./
COPY tsconfig.base.json ./
# Builds @conversa/contracts (the web client takes the error codes from it) and then the web.
RUN npx turbo run build --filter=@conversa/web \
 && test -f packages/web/dist/index.html && test -f packages/web/dist/graphiql.html

# The web stage each service takes: the build for the gateway, an empty folder for the others
# (stages that no target needs are not built: chat and audit never run vite).
FROM web-builder AS web-gateway
FROM ${NODE_IMAGE} AS web-none
RUN mkdir -p /app/packages/web/dist
FROM web-none AS web-chat
FROM web-none AS web-audit
FROM web-none AS web-search
FROM web-${SERVICE} AS web

# --------------------------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="conversa-${SERVICE}" \
      org.opencontainers.image.description="conversa ${SERVICE} service (real-time chat backend)"
# HOST: in a container the service must listen beyond loopback (config default: 127.0.0.1).
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    HOST=0.0.0.0
# Files stay owned by root (read-only for the service); the process runs as `node` (uid 1000).
COPY --from=builder /app /app
# The web client the gateway serves at / and GraphiQL at a browser's GET /graphql (empty for
# chat and audit, which do not read WEB_DIST_DIR).
COPY --from=web /app/packages/web/dist /app/web
ENV WEB_DIST_DIR=/app/web
# Exec-form CMD does not expand variables, so the service is chosen through the working
# directory (WORKDIR does expand build arguments) and CMD stays shell-less: no shell sits
# between the runtime and node, so node receives SIGTERM itself for its graceful drain.
# Nothing in the services depends on cwd.
WORKDIR /app/services/${SERVICE}
USER node
# Listens on one port: gateway PORT (4000), chat CHAT_PORT (4001) or audit AUDIT_PORT (4002)
# (no EXPOSE: it would list ports this service does not open).
# Liveness: GET /healthz on the service's own port (/readyz checks the dependencies).
# No curl in the slim image, so node does it; the defaults mirror packages/config.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env,s=e.SERVICE,p=s==='chat'?(e.CHAT_PORT||4001):s==='audit'?(e.AUDIT_PORT||4002):s==='search'?(e.SEARCH_PORT||4003):(e.PORT||4000);require('http').get({host:'127.0.0.1',port:p,path:'/healthz',timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',function(){this.destroy()}).on('error',()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
