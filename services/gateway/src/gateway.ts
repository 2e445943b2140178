import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { execute, NoSchemaIntrospectionCustomRule, specifiedRules, type DocumentNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { AppError, names, type Names, type RoomSignal } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import { closeServer, handleMetrics, listen, reach, safeUrl, type Logger, type Service } from '@conversa/observability';
import { openStore, redisActivityCache, toUserView } from '@conversa/store';
import { PostgresSearchIndex } from '@conversa/search-index';
import { createCommandBus } from './adapters/commands.js';
import { createRedisSignals } from './adapters/pubsub.js';
import { PasswordHasher, TokenService } from '@conversa/auth';
import { makeContext, withAuthors, type GatewayContext, type GatewayServices } from './context.js';
import { Presence } from './presence.js';
import { redisPresenceStore } from './adapters/presence.js';
import { redisLiveness } from './adapters/liveness.js';
import { GatewayLiveness } from './liveness.js';
import { createErrorFormatter } from './errors.js';
import { coalesced } from './coalesce.js';
import { groupedSubscribe } from './fanout.js';
import { handleGraphQLHttp } from './http.js';
import { refuseSubscriptionsOverHttp } from './http-subscriptions.js';
import { createHttpRoutes } from './http-routes.js';
import { RoomHubs } from './room-hub.js';
import { InboxStreams } from './inbox-stream.js';
import { createGatewayMetrics } from './metrics.js';
import { resolvers } from './resolvers.js';
import { createStaticHandler, resolveWebDist } from './static.js';
import { listenForRevocations } from './adapters/access.js';
import { redisRateLimits } from './adapters/rate-limit.js';
import { CachedAccessPolicy, storeAccessPolicy } from './access-policy.js';
import { applySecurityHeaders, checkOrigin, clientAddress } from './http-security.js';
import { queryLimitRules } from './query-limits.js';
import { SlowModeCache } from './slow-mode.js';
import { SocketQuota, SocketRegistry } from './sockets.js';
import { redisSocketCount } from './adapters/socket-count.js';
import { randomUUID } from 'node:crypto';
import { withSafeSubscriptionRule } from './subscription-document.js';
import { CloseCode } from './ws-protocol.js';
import { serveGraphQLWs } from './ws-server.js';
import { fullGc, StormSettler } from './settle-gc.js';
import { createSocketLifecycle, type SocketSession } from './ws-lifecycle.js';

export interface GatewayService extends Service {
  readonly port: number;
  /** The port `/metrics` is served on: METRICS_PORT's once started, else the public port. */
  readonly metricsPort: number;
  readonly names: Names;
  readonly hubs: RoomHubs;
}

const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

/**
 * Builds the gateway: Apollo Server (HTTP) and graphql-transport-ws (WebSocket, ws-server.ts) on one port, both at
 * /graphql. Reads come from MongoDB; writes become command jobs; live events come from Redis.
 */
export async function createGateway(config: Config, logger: Logger): Promise<GatewayService> {
  const n = names(config.CONVERSA_NAMESPACE);
  const t = config.STARTUP_TIMEOUT_MS;
  // Read at scrape time only, when wss and hubs below exist.
  const gm = createGatewayMetrics({ sockets: () => ws.clients.size, rooms: () => hubs.size });
  const redisError = () => gm.dependencyError('redis', 'connection');
  const signals = createRedisSignals(config.REDIS_URL, n.roomChannel, logger, redisError, n.userChannel);
  const store = await reach('MongoDB', safeUrl(config.MONGO_URL), t, () =>
    openStore({
      url: config.MONGO_URL,
      dbName: config.MONGO_DB,
      onError: (op) => gm.dependencyError('mongo', op),
      // Commands wait in ioredis' offline queue until Redis is reached below.
      activityCache: redisActivityCache(signals.publisher, n.roomActivity),
    }),
  );
  await reach('Redis', safeUrl(config.REDIS_URL), t, () => signals.connect());
  const bus = await reach('Redis (command queue)', safeUrl(config.REDIS_URL), t, () =>
    createCommandBus({
      url: config.REDIS_URL,
      prefix: n.queuePrefix,
      queue: n.commandQueue,
      timeoutMs: config.COMMAND_TIMEOUT_MS,
      doneKey: n.commandsDoneKey,
      admission: { minBacklog: config.ADMISSION_MIN_BACKLOG, budgetMs: config.ADMISSION_BUDGET_MS ?? Math.min(1_000, config.COMMAND_TIMEOUT_MS / 2) },
      onError: redisError,
    }),
  );

  // Reads a reconnect storm repeats many times at once (a room's subscribers resuming after
  // the same seq, the sockets of one user) share one database trip while in flight.
  const hubs = new RoomHubs(
    signals,
    {
      lastSeq: coalesced((room: string) => store.messages.lastSeq(room), (room) => room),
      between: coalesced(
        async (room: string, after: number, upTo: number, limit: number) => withAuthors(store, (await store.messages.between(room, after, upTo)).slice(0, limit)),
        (room, after, upTo, limit) => `${room}\u0000${after}\u0000${upTo}\u0000${limit}`,
      ),
    },
    logger,
  );
  const inbox = new InboxStreams({
    hubs,
    users: signals,
    store,
    between: async (room, after, upTo) => withAuthors(store, await store.messages.between(room, after, upTo)),
    logger,
    maxPending: config.WS_MAX_PENDING_MESSAGES,
  });
  const userById = coalesced((id: string) => store.users.findById(id), (id) => id);

  const publish = async (room: string, signal: RoomSignal) => {
    await signals.publisher.publish(n.roomChannel(room), JSON.stringify(signal));
  };
  // This process' identity in Redis: presence and socket-count entries name it, and its one
  // liveness key (refreshed every PRESENCE_HEARTBEAT_MS, TTL PRESENCE_TTL_MS) says it is alive.
  const gatewayId = randomUUID();
  const presence = new Presence({
    store: redisPresenceStore(signals.publisher, n, gatewayId),
    publish,
    users: async (ids) => (await store.users.findByIds(ids)).map(toUserView),
    logger,
  });
  const { limiter, logins, roomSends } = redisRateLimits({
    redis: signals.publisher,
    keys: n,
    limits: {
      send: config.RATE_LIMIT_SEND,
      typing: config.RATE_LIMIT_TYPING,
      subscribe: config.RATE_LIMIT_SUBSCRIBE,
      join: config.RATE_LIMIT_JOIN,
      auth: config.RATE_LIMIT_AUTH,
    },
    roomSend: {
      burst: config.RATE_LIMIT_ROOM_SEND_BURST,
      refillPerMs: config.RATE_LIMIT_ROOM_SEND_REFILL.limit / config.RATE_LIMIT_ROOM_SEND_REFILL.windowMs,
    },
    login: {
      freeFailures: config.LOGIN_FREE_FAILURES,
      addressFreeFailures: config.LOGIN_ADDRESS_FREE_FAILURES,
      lockoutBaseMs: config.LOGIN_LOCKOUT_BASE_MS,
      lockoutMaxMs: config.LOGIN_LOCKOUT_MAX_MS,
      failureWindowMs: config.LOGIN_FAILURE_WINDOW_MS,
    },
    logger,
  });
  const findRoom = coalesced((id: string) => store.rooms.findById(id), (id) => id);
  // Query.search's index (connects on first use; the search service creates it).
  const search = new PostgresSearchIndex({ url: config.SEARCH_PG_URL, schema: config.SEARCH_PG_SCHEMA, poolSize: config.SEARCH_PG_POOL, onError: (e) => logger.warn({ err: e }, 'search index connection error') });
  const services: GatewayServices = {
    limits: limiter,
    roomSends,
    slowModes: new SlowModeCache(async (room) => (await findRoom(room))?.slowModeSeconds ?? 0, { ttlMs: config.SLOW_MODE_CACHE_TTL_MS }),
    logins,
    store,
    bus,
    tokens: new TokenService(config.JWT_SECRET, config.JWT_TTL_SECONDS),
    hasher: new PasswordHasher(),
    hubs,
    inbox,
    presence,
    publish,
    maxPendingPerSubscription: config.WS_MAX_PENDING_MESSAGES,
    findRoom,
    usersByIds: coalesced(async (ids: string[]) => (await store.users.findByIds(ids)).map(toUserView), (ids) => ids.join('\u0000')),
    search,
    typingAllowed: async (room, user) =>
      (await signals.publisher.set(n.typingThrottle(room, user), '1', 'PX', config.TYPING_THROTTLE_MS, 'NX')) === 'OK',
    logger,
  };
  const schema = makeExecutableSchema<GatewayContext>({ typeDefs, resolvers });
  const production = config.NODE_ENV === 'production';
  // Production hides the schema: no introspection, no "Did you mean …?" (both paths).
  const errors = createErrorFormatter({ production, logger });
  // The same limits on both paths: Apollo adds them to its specified rules; the WebSocket
  // path validates with exactly this list (docs/security.md).
  const limitRules = queryLimitRules({
    maxDepth: config.GRAPHQL_MAX_DEPTH,
    maxAliases: config.GRAPHQL_MAX_ALIASES,
    maxRootFields: config.GRAPHQL_MAX_ROOT_FIELDS,
    maxCost: config.GRAPHQL_MAX_COST,
  });
  const wsRules = [...withSafeSubscriptionRule(specifiedRules), ...limitRules, ...(production ? [NoSchemaIntrospectionCustomRule] : [])];
  const policy = storeAccessPolicy(store.moderation);
  // "Not muted, not banned" is cached (evicted by access signals, see CachedAccessPolicy);
  // concurrent identical checks share one read.
  const access = new CachedAccessPolicy(
    {
      refusal: coalesced((user: string, room: string) => policy.refusal(user, room), (user, room) => `${user}\u0000${room}`),
      banned: coalesced((user: string) => policy.banned(user), (user) => user),
    },
    { ttlMs: config.GATEWAY_ACCESS_CACHE_TTL_MS },
  );
  // Access signals may have been missed while Redis was away.
  signals.onReconnect(() => access.clear());
  const sockets = new SocketRegistry({
    maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
    maxOperationsPerSocket: config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
  });
  // The cap counts a user's sockets on every gateway (Redis); a dead gateway's drop out after
  // PRESENCE_TTL_MS, as its presence does.
  const quota = new SocketQuota({
    store: redisSocketCount(signals.publisher, n, gatewayId),
    maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
  });
  const liveness = new GatewayLiveness({
    store: redisLiveness(signals.publisher, n, gatewayId),
    entries: [presence, quota],
    ttlMs: config.PRESENCE_TTL_MS,
    heartbeatMs: config.PRESENCE_HEARTBEAT_MS,
    logger,
    onError: redisError,
  });
  // After a Redis drop: repair the live streams from the database, and write this gateway's
  // presence and socket slots again if Redis lost them (its liveness key is gone then too).
  signals.onReconnect(() => {
    void hubs.resyncAll();
    void liveness.tick();
  });

  const apollo = new ApolloServer<GatewayContext>({
    schema,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    hideSchemaDetailsFromClientErrors: production,
    validationRules: limitRules,
    parseOptions: { maxTokens: config.GRAPHQL_MAX_TOKENS },
    formatError: errors.format,
    plugins: [ApolloServerPluginLandingPageDisabled(), refuseSubscriptionsOverHttp<GatewayContext>(), gm.apolloPlugin],
    logger: {
      debug: (m: string) => logger.debug(m),
      info: (m: string) => logger.info(m),
      warn: (m: string) => logger.warn(m),
      error: (m: string) => logger.error(m),
    },
  });

  const httpContext = async (authorization: string | undefined, address: string): Promise<GatewayContext> => {
    if (!authorization) return makeContext(services, null, null, null, address);
    try {
      return makeContext(services, await services.tokens.verify(authorization), null, null, address);
    } catch (e) {
      return makeContext(services, null, e instanceof AppError ? e : null, null, address);
    }
  };

  // The web client and GraphiQL (static files; 503 until `npm run build` has built them).
  const serveWeb = createStaticHandler({ distDir: resolveWebDist(config.WEB_DIST_DIR), logger });

  // METRICS_PORT: /metrics on a port of its own (not exposed publicly), and not on the public one.
  const metricsServer: Server | undefined =
    config.METRICS_PORT === undefined
      ? undefined
      : createServer((req, res) => {
          applySecurityHeaders(res);
          if (handleMetrics(req, res, gm.metrics)) return;
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: this port serves /metrics only"}');
        });

  let draining = false;
  const httpServer: Server = createServer(
    createHttpRoutes({
      metrics: metricsServer ? undefined : gm.metrics,
      probes: {
        mongo: () => store.ping(),
        redis: async () => {
          await signals.publisher.ping();
        },
      },
      draining: () => draining,
      serveWeb,
      corsOrigins: config.CORS_ORIGINS,
      trustProxy: config.TRUST_PROXY,
      graphql: (req, res, auth, address) => handleGraphQLHttp(apollo, req, res, () => httpContext(auth, address), { maxTokens: config.GRAPHQL_MAX_TOKENS }),
      logger,
    }),
  );

  // Execute and serialize once per event per group of identical subscriptions; write the same
  // bytes to every member's socket, closing those that fall too far behind (see fanout.ts).
  const fanout = groupedSubscribe({
    viewerClass: (ctx) => (ctx as GatewayContext).principal?.role ?? 'ANONYMOUS',
    viewerId: (ctx) => (ctx as GatewayContext).principal?.id,
    serialize: (r) => JSON.stringify(errors.formatResult(r)),
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    slowClose: { code: CloseCode.SlowConsumer, reason: 'slow consumer: too many bytes unsent; reconnect and resume with after' },
  });
  const lifecycle = createSocketLifecycle({
    services,
    tokens: services.tokens,
    userById,
    access,
    quota,
    sockets,
    presence,
    metrics: gm.ws,
    errors,
    fanout,
    // Queries and mutations over the socket.
    execute: (args) => execute(args),
    schema,
    rules: wsRules,
    // Parsed and validated documents by query text (the same subscription on many sockets).
    documents: new LRUCache<string, DocumentNode>({ max: 1_000 }),
    address: (req) => clientAddress(req.headers, req.socket.remoteAddress, config.TRUST_PROXY),
    limits: {
      maxTokens: config.GRAPHQL_MAX_TOKENS,
      maxConnectionParamsBytes: config.WS_MAX_CONNECTION_PARAMS_BYTES,
      maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
      maxOperationsPerSocket: config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
    },
    logger,
  });
  const ws = serveGraphQLWs<SocketSession>({
    ws: {
      server: httpServer,
      path: '/graphql',
      // A larger frame closes the socket with 1009 before it is buffered.
      maxPayload: config.WS_MAX_PAYLOAD_BYTES,
      // No compression: its per-socket zlib state would cost more than the frames save.
      perMessageDeflate: false,
      // Cross-site WebSocket hijacking: a page of a foreign origin gets 403 at the upgrade.
      verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
        if (checkOrigin(info.req.headers, config.CORS_ORIGINS) === 'forbidden') done(false, 403, 'Forbidden: origin not allowed');
        else done(true);
      },
    },
    hooks: lifecycle.hooks,
    initTimeoutMs: config.WS_INIT_TIMEOUT_MS,
    keepAliveMs: 12_000,
    production,
    logger,
  });
  lifecycle.bind(ws);
  // One full collection once a connect storm is over (settle-gc.ts).
  const stormGc = gm.metrics.histogram('gateway_storm_gc_seconds', 'Pause of the full, compacting garbage collection run once a connect storm is over', [], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
  const settler = new StormSettler({
    minConnects: config.GATEWAY_SETTLE_GC_CONNECTS,
    quietMs: 5_000,
    collect: config.GATEWAY_SETTLE_GC_CONNECTS > 0 ? fullGc() : () => undefined,
    collected: (ms, connects) => {
      stormGc.observe({}, ms / 1_000);
      logger.info({ ms: Math.round(ms), connects, heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1_048_576) }, 'heap collected after a connect storm');
    },
  });
  ws.wss.on('connection', () => settler.connected());

  let port = config.PORT;
  let metricsPort: number | undefined;
  let stopRevocations = (): void => undefined;
  return {
    names: n,
    hubs,
    get port() {
      return port;
    },
    get metricsPort() {
      return metricsPort ?? port;
    },
    async start() {
      // Mutes, bans, removals: every gateway ends what they no longer cover, at once.
      stopRevocations = await listenForRevocations(signals.pubsub, n.accessChannel, (signal) => {
        access.revoked(signal.user);
        void sockets.revoke(signal).then((ended) => {
          if (ended > 0) logger.info({ user: signal.user, room: signal.room, reason: signal.reason, ended }, 'access revoked');
        });
      }, logger);
      await apollo.start();
      await liveness.start();
      if (metricsServer) metricsPort = await listen(metricsServer, config.METRICS_PORT ?? 0, config.HOST);
      port = await listen(httpServer, config.PORT, config.HOST, config.LISTEN_BACKLOG);
      logger.info({ port, metricsPort: metricsPort ?? port, url: `http://${config.HOST}:${port}/graphql` }, 'gateway ready');
    },
    async stop() {
      draining = true;
      settler.stop();
      stopRevocations();
      // Stop accepting, close sockets with 1001 (going away), drain HTTP, then close clients.
      lifecycle.stop();
      await ws.close('Going away: server restarting');
      await quota.stop().catch((e: unknown) => logger.warn({ err: e }, 'socket count release failed'));
      await hubs.drain(5_000);
      await presence.stop();
      await liveness.stop().catch((e: unknown) => logger.warn({ err: e }, 'gateway liveness key not deleted'));
      await closeServer(httpServer);
      // After the public server: metrics stay scrapeable while it drains.
      if (metricsServer) await closeServer(metricsServer);
      await apollo.stop();
      await bus.close();
      await signals.close();
      await store.close();
      await search.close();
    },
  };
}
