import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, NoSchemaIntrospectionCustomRule, specifiedRules, type DocumentNode, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { CloseCode, MessageType, stringifyMessage } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { Context as GraphQLWsContext } from 'graphql-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { AppError, ErrorCode, names, type Names, type RoomSignal } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import {
  closeServer,
  handleMetrics,
  handleProbe,
  SpanKind,
  withSpan,
  listen,
  reach,
  safeUrl,
  type Logger,
  type Service,
} from '@conversa/observability';
import { openStore, toUserView } from '@conversa/store';
import { createCommandBus } from './adapters/commands.js';
import { createRedisSignals } from './adapters/pubsub.js';
import { PasswordHasher, TokenService, type Principal } from '@conversa/auth';
import { makeContext, withAuthors, type GatewayContext, type GatewayServices } from './context.js';
import { Presence, type PresenceConnection } from './presence.js';
import { redisPresenceStore } from './adapters/presence.js';
import { formatError, hideSuggestions } from './errors.js';
import { coalesced } from './coalesce.js';
import { groupedSubscribe, isDirectStream } from './fanout.js';
import { handleGraphQLHttp } from './http.js';
import { RoomHubs } from './room-hub.js';
import { createGatewayMetrics } from './metrics.js';
import { resolvers, SLOW_CONSUMER_CLOSE } from './resolvers.js';
import { createStaticHandler, resolveWebDist } from './static.js';
import { listenForRevocations } from './adapters/access.js';
import { redisRateLimits } from './adapters/rate-limit.js';
import { CachedAccessPolicy, storeAccessPolicy } from './access-policy.js';
import { applySecurityHeaders, checkOrigin, clientAddress, corsHeaders } from './http-security.js';
import { queryLimitRules } from './query-limits.js';
import { rateLimited } from './rate-limits.js';
import { SlowModeCache } from './slow-mode.js';
import { REVOKED, SocketCloseCode, SocketQuota, SocketRegistry, type SocketEntry, type SocketHandle } from './sockets.js';
import { redisSocketCount } from './adapters/socket-count.js';
import { prepareOperation, subscribedRoom } from './ws-operations.js';
import { withSafeSubscriptionRule } from './subscription-document.js';

export interface GatewayService extends Service {
  readonly port: number;
  /** The port `/metrics` is served on: METRICS_PORT's once started, else the public port. */
  readonly metricsPort: number;
  readonly names: Names;
  readonly hubs: RoomHubs;
}

// A type alias (not an interface) so that it satisfies graphql-ws's Record constraint.
type SocketExtra = {
  principal?: Principal;
  presence?: PresenceConnection;
  expiryTimer?: NodeJS.Timeout;
  /** This socket in the registry: its live operations, for caps and revocations. */
  entry?: SocketEntry;
  /** The peer's address (per-address sign-in limits). */
  address?: string;
  /** Its slot in the user's socket count across gateways (SocketQuota). */
  slot?: string;
};

/** An AppError as graphql-ws sends it (formatError unwraps it again and keeps its code). */
const asGraphQLError = (e: unknown): GraphQLError =>
  e instanceof GraphQLError ? e : new GraphQLError(e instanceof Error ? e.message : String(e), { originalError: e instanceof Error ? e : null });

type WsContext = GraphQLWsContext<Record<string, unknown> | undefined, Extra & Partial<SocketExtra>>;

const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

/**
 * Builds the gateway: Apollo Server (HTTP) and graphql-ws (WebSocket) on one port, both at
 * /graphql. Reads come from MongoDB; writes become command jobs; live events come from Redis.
 */
export async function createGateway(config: Config, logger: Logger): Promise<GatewayService> {
  const n = names(config.CONVERSA_NAMESPACE);
  const t = config.STARTUP_TIMEOUT_MS;
  // Read at scrape time only, when wss and hubs below exist.
  const gm = createGatewayMetrics({ sockets: () => wss.clients.size, rooms: () => hubs.size });
  const redisError = () => gm.dependencyError('redis', 'connection');
  const store = await reach('MongoDB', safeUrl(config.MONGO_URL), t, () =>
    openStore({ url: config.MONGO_URL, dbName: config.MONGO_DB, onError: (op) => gm.dependencyError('mongo', op) }),
  );
  const signals = createRedisSignals(config.REDIS_URL, n.roomChannel, logger, redisError);
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
  const userById = coalesced((id: string) => store.users.findById(id), (id) => id);

  const publish = async (room: string, signal: RoomSignal) => {
    await signals.publisher.publish(n.roomChannel(room), JSON.stringify(signal));
  };
  const presence = new Presence({
    store: redisPresenceStore(signals.publisher, n.queuePrefix),
    publish,
    users: async (ids) => (await store.users.findByIds(ids)).map(toUserView),
    logger,
    ttlMs: config.PRESENCE_TTL_MS,
    heartbeatMs: config.PRESENCE_HEARTBEAT_MS,
  });
  // After a Redis drop: repair the live streams from the database and re-announce presence.
  signals.onReconnect(() => {
    void hubs.resyncAll();
    void presence.restore();
  });
  const { limiter, logins, roomSends } = redisRateLimits({
    redis: signals.publisher,
    prefix: n.queuePrefix,
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
    presence,
    publish,
    maxPendingPerSubscription: config.WS_MAX_PENDING_MESSAGES,
    findRoom,
    typingAllowed: async (room, user) =>
      (await signals.publisher.set(`${n.queuePrefix}:typing:${room}:${user}`, '1', 'PX', config.TYPING_THROTTLE_MS, 'NX')) === 'OK',
    logger,
  };
  const schema = makeExecutableSchema<GatewayContext>({ typeDefs, resolvers });
  const production = config.NODE_ENV === 'production';
  // Production hides the schema: no introspection, no "Did you mean …?" (both paths).
  const format = (f: GraphQLFormattedError, e: unknown) => {
    const out = formatError(f, e, logger);
    return production ? hideSuggestions(out) : out;
  };
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
    store: redisSocketCount(signals.publisher, n.userSockets),
    maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
    ttlMs: config.PRESENCE_TTL_MS,
    heartbeatMs: config.PRESENCE_HEARTBEAT_MS,
    onError: (e) => {
      redisError();
      logger.warn({ err: e }, 'socket count refresh failed');
    },
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
    formatError: format,
    plugins: [ApolloServerPluginLandingPageDisabled(), gm.apolloPlugin],
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
  const httpServer: Server = createServer((req, res) => {
    // On everything written below (API, pages, probes, 404s); the page handler refines the CSP.
    applySecurityHeaders(res);
    const path = (req.url ?? '/').split('?')[0];
    if (!metricsServer && handleMetrics(req, res, gm.metrics)) return;
    if (
      handleProbe(
        req,
        res,
        {
          mongo: () => store.ping(),
          redis: async () => {
            await signals.publisher.ping();
          },
        },
        () => draining,
      )
    ) {
      return;
    }
    if (serveWeb(req, res, path ?? '/')) return;
    if (path === '/graphql') {
      // A browser page of a foreign origin gets 403 before any GraphQL runs; allowed ones get
      // CORS headers (same-origin and non-browser callers need none).
      const origin = checkOrigin(req.headers, config.CORS_ORIGINS);
      if (origin === 'forbidden') {
        res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"errors":[{"message":"this origin may not call the API","extensions":{"code":"FORBIDDEN"}}]}');
        return;
      }
      if (origin === 'allowed') {
        for (const [k, v] of Object.entries(corsHeaders(String(req.headers.origin), req.method === 'OPTIONS'))) res.setHeader(k, v);
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
        return;
      }
      res.setHeader('cache-control', 'no-store');
      const auth = req.headers.authorization;
      const address = clientAddress(req.headers, req.socket.remoteAddress, config.TRUST_PROXY);
      // The span every write's trace starts from (its job, Redis publish, Kafka event, audit entry).
      withSpan('POST /graphql', { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'POST', 'http.route': '/graphql' } }, () =>
        handleGraphQLHttp(apollo, req, res, () => httpContext(auth, address)),
      ).catch((e: unknown) => {
        logger.error({ err: e }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}');
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: try /graphql"}');
  });

  const wss = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    // A larger frame closes the socket with 1009 before it is buffered.
    maxPayload: config.WS_MAX_PAYLOAD_BYTES,
    // Cross-site WebSocket hijacking: a page of a foreign origin gets 403 at the upgrade.
    verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      if (checkOrigin(info.req.headers, config.CORS_ORIGINS) === 'forbidden') done(false, 403, 'Forbidden: origin not allowed');
      else done(true);
    },
  });
  const formatWsErrors = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => format(e.toJSON(), e));
  /** A result with errors as the socket sends it: our error format (undefined: none to format). */
  const formatNext = (r: ExecutionResult): FormattedExecutionResult | undefined =>
    r.errors?.length ? { ...(r.data !== undefined ? { data: r.data } : {}), errors: formatWsErrors(r.errors) } : undefined;
  // Execute and serialize once per event per group of identical subscriptions; write the same
  // bytes to every member's socket, closing those that fall too far behind (see fanout.ts).
  const fanout = groupedSubscribe({
    viewerClass: (ctx) => (ctx as GatewayContext).principal?.role ?? 'ANONYMOUS',
    viewerId: (ctx) => (ctx as GatewayContext).principal?.id,
    serialize: (r) => JSON.stringify(formatNext(r) ?? r),
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    slowClose: { code: SLOW_CONSUMER_CLOSE, reason: 'slow consumer: too many bytes unsent; reconnect and resume with after' },
  });
  // Parsed and validated documents by query text (the same subscription on many sockets).
  const documents = new LRUCache<string, DocumentNode>({ max: 1_000 });
  /** This socket, as the registry ends its operations or closes it. */
  const socketHandle = (ctx: WsContext): SocketHandle => ({
    close: (code, reason) => ctx.extra.socket.close(code, reason),
    isLive: (id) => id in ctx.subscriptions,
    end: async (id, error) => {
      const live = ctx.subscriptions[id];
      // Deleted first: graphql-ws then sends no `complete` after our `error`.
      delete (ctx.subscriptions as Record<string, unknown>)[id];
      const stopped = live && 'return' in live && typeof live.return === 'function' ? live.return(undefined) : undefined;
      const message = stringifyMessage({ id, type: MessageType.Error, payload: formatWsErrors([asGraphQLError(error)]) });
      await new Promise<void>((resolve) => ctx.extra.socket.send(message, () => resolve()));
      await stopped;
    },
  });
  const wsServer = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      // Execute once per event per group of identical subscriptions (see fanout.ts).
      subscribe: fanout,
      context: (ctx): GatewayContext => ({
        ...makeContext(services, ctx.extra.principal ?? null, null, ctx.extra.presence ?? null, ctx.extra.address),
        closeSocket: (code, reason) => ctx.extra.socket.close(code, reason),
      }),
      connectionInitWaitTimeout: config.WS_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams;
        if (params && Buffer.byteLength(JSON.stringify(params)) > config.WS_MAX_CONNECTION_PARAMS_BYTES) {
          ctx.extra.socket.close(SocketCloseCode.BadRequest, 'Bad request: connectionParams too large');
          return false;
        }
        ctx.extra.address = clientAddress(ctx.extra.request.headers, ctx.extra.request.socket.remoteAddress, config.TRUST_PROXY);
        let principal: Principal;
        try {
          principal = await services.tokens.verify(ctx.connectionParams?.authorization);
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        const user = await userById(principal.id);
        if (!user || (await access.banned(principal.id))) return false;
        const tooMany = () => {
          ctx.extra.socket.close(SocketCloseCode.TooManyConnections, `Too many connections: at most ${config.WS_MAX_SOCKETS_PER_USER} per user`);
          return false;
        };
        const slot = await quota.acquire(principal.id);
        if (!slot) return tooMany();
        // Gone while we waited: onClose has run already and would never release this slot.
        if (ctx.extra.socket.readyState !== WebSocket.OPEN) {
          await quota.release(slot);
          return false;
        }
        ctx.extra.slot = slot;
        const entry = sockets.open(principal.id, socketHandle(ctx));
        if (!entry) return tooMany();
        ctx.extra.entry = entry;
        ctx.extra.principal = principal;
        // Anything else that fails here (Redis down) closes with 4500, not a misleading 4403.
        ctx.extra.presence = await presence.connect(toUserView(user));
        // The session ends with its token: the client must sign in again.
        const left = principal.expiresAt - Date.now();
        ctx.extra.expiryTimer = setTimeout(() => ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: token expired'), Math.max(0, left));
        return true;
      },
      onClose: async (ctx) => {
        gm.ws.closed(ctx.extra);
        clearTimeout(ctx.extra.expiryTimer);
        if (ctx.extra.entry) sockets.close(ctx.extra.entry);
        if (ctx.extra.slot) await quota.release(ctx.extra.slot).catch((e: unknown) => logger.warn({ err: e }, 'socket count release failed'));
        await ctx.extra.presence?.close().catch((e: unknown) => logger.warn({ err: e }, 'presence close failed'));
      },
      onSubscribe: async (ctx, id, payload) => {
        gm.ws.subscribe(ctx.extra, id);
        const { entry, principal } = ctx.extra;
        if (!entry || !principal) return [new GraphQLError('sign in first', { extensions: { code: 'UNAUTHENTICATED' } })];
        // The cap first: a flood of subscribes is refused before any parsing.
        if (!entry.tryStart(id)) {
          return [asGraphQLError(rateLimited(`this socket already runs ${config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET} operations; complete some first`, 1_000))];
        }
        // Parsed and validated like Apollo does on HTTP, with the same limits.
        const prepared = prepareOperation({ schema, rules: wsRules, maxTokens: config.GRAPHQL_MAX_TOKENS, cache: documents }, payload);
        if (Array.isArray(prepared)) {
          entry.finish(id);
          return prepared;
        }
        if (prepared.subscription) {
          const room = subscribedRoom(prepared.subscription);
          try {
            await services.limits.hit('subscribe', principal.id);
            const refused = room ? await access.refusal(principal.id, room) : null;
            if (refused) throw new AppError(ErrorCode.FORBIDDEN, `${room}: ${REVOKED[refused]}`);
          } catch (e) {
            entry.finish(id);
            return [asGraphQLError(e)];
          }
          entry.setRoom(id, room);
        }
        return {
          schema,
          document: prepared.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
      },
      onOperation: (ctx, id, _payload, args, result) => {
        gm.ws.operation(ctx.extra, id, args.document, args.operationName, result);
        // From here on the stream writes its own `next` frames to this socket.
        if (isDirectStream(result)) result.attach(id, ctx.extra.socket);
      },
      onComplete: (ctx, id) => {
        gm.ws.complete(ctx.extra, id);
        ctx.extra.entry?.finish(id);
      },
      onError: (ctx, id, _payload, errors) => {
        gm.ws.rejected(ctx.extra, id, errors);
        return formatWsErrors(errors);
      },
      // Queries and mutations over the socket (subscriptions write their own frames).
      onNext: (_ctx, _id, _payload, _args, result) => formatNext(result as ExecutionResult),
    },
    wss,
  );

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
      presence.start();
      quota.start();
      if (metricsServer) metricsPort = await listen(metricsServer, config.METRICS_PORT ?? 0, config.HOST);
      port = await listen(httpServer, config.PORT, config.HOST, config.LISTEN_BACKLOG);
      logger.info({ port, metricsPort: metricsPort ?? port, url: `http://${config.HOST}:${port}/graphql` }, 'gateway ready');
    },
    async stop() {
      draining = true;
      stopRevocations();
      // Stop accepting, close sockets with 1001 (going away), drain HTTP, then close clients.
      for (const client of wss.clients) client.close(1001, 'Going away: server restarting');
      await wsServer.dispose();
      await quota.stop().catch((e: unknown) => logger.warn({ err: e }, 'socket count release failed'));
      await hubs.drain(5_000);
      await presence.stop();
      await closeServer(httpServer);
      // After the public server: metrics stay scrapeable while it drains.
      if (metricsServer) await closeServer(metricsServer);
      await apollo.stop();
      await bus.close();
      await signals.close();
      await store.close();
    },
  };
}
