import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { AppError, names, type Names, type RoomSignal } from '@conversa/contracts';
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
import { Store, toUserView } from '@conversa/store';
import { createCommandBus } from './adapters/commands.js';
import { createRedisSignals } from './adapters/pubsub.js';
import { PasswordHasher, TokenService, type Principal } from '@conversa/auth';
import { makeContext, withAuthors, type GatewayContext, type GatewayServices } from './context.js';
import { Presence, type PresenceConnection } from './presence.js';
import { redisPresenceStore } from './adapters/presence.js';
import { formatError } from './errors.js';
import { handleGraphQLHttp } from './http.js';
import { RoomHubs } from './room-hub.js';
import { createGatewayMetrics } from './metrics.js';
import { resolvers } from './resolvers.js';
import { createStaticHandler, resolveWebDist } from './static.js';

export interface GatewayService extends Service {
  readonly port: number;
  readonly names: Names;
  readonly hubs: RoomHubs;
}

// A type alias (not an interface) so that it satisfies graphql-ws's Record constraint.
type SocketExtra = {
  principal?: Principal;
  presence?: PresenceConnection;
  expiryTimer?: NodeJS.Timeout;
};

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
    Store.connect({ url: config.MONGO_URL, dbName: config.MONGO_DB, onError: (op) => gm.dependencyError('mongo', op) }),
  );
  const signals = createRedisSignals(config.REDIS_URL, n.roomChannel, logger, redisError);
  await reach('Redis', safeUrl(config.REDIS_URL), t, () => signals.connect());
  const bus = await reach('Redis (command queue)', safeUrl(config.REDIS_URL), t, () =>
    createCommandBus({ url: config.REDIS_URL, prefix: n.queuePrefix, queue: n.commandQueue, timeoutMs: config.COMMAND_TIMEOUT_MS, onError: redisError }),
  );

  const hubs = new RoomHubs(
    signals,
    {
      lastSeq: (room) => store.lastSeq(room),
      between: async (room, after, upTo, limit) =>
        withAuthors(store, (await store.messagesBetween(room, after, upTo)).slice(0, limit)),
    },
    logger,
  );

  const publish = async (room: string, signal: RoomSignal) => {
    await signals.publisher.publish(n.roomChannel(room), JSON.stringify(signal));
  };
  const presence = new Presence({
    store: redisPresenceStore(signals.publisher, n.queuePrefix),
    publish,
    users: async (ids) => (await store.findUsersByIds(ids)).map(toUserView),
    logger,
    ttlMs: config.PRESENCE_TTL_MS,
    heartbeatMs: config.PRESENCE_HEARTBEAT_MS,
  });
  // After a Redis drop: repair the live streams from the database and re-announce presence.
  signals.onReconnect(() => {
    void hubs.resyncAll();
    void presence.restore();
  });
  const services: GatewayServices = {
    store,
    bus,
    tokens: new TokenService(config.JWT_SECRET, config.JWT_TTL_SECONDS),
    hasher: new PasswordHasher(),
    hubs,
    presence,
    publish,
    typingAllowed: async (room, user) =>
      (await signals.publisher.set(`${n.queuePrefix}:typing:${room}:${user}`, '1', 'PX', config.TYPING_THROTTLE_MS, 'NX')) === 'OK',
    logger,
  };
  const schema = makeExecutableSchema<GatewayContext>({ typeDefs, resolvers });
  const production = config.NODE_ENV === 'production';
  const format = (f: GraphQLFormattedError, e: unknown) => formatError(f, e, logger);

  const apollo = new ApolloServer<GatewayContext>({
    schema,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    formatError: format,
    plugins: [ApolloServerPluginLandingPageDisabled(), gm.apolloPlugin],
    logger: {
      debug: (m: string) => logger.debug(m),
      info: (m: string) => logger.info(m),
      warn: (m: string) => logger.warn(m),
      error: (m: string) => logger.error(m),
    },
  });

  const httpContext = async (authorization: string | undefined): Promise<GatewayContext> => {
    if (!authorization) return makeContext(services, null, null, null);
    try {
      return makeContext(services, await services.tokens.verify(authorization), null, null);
    } catch (e) {
      return makeContext(services, null, e instanceof AppError ? e : null, null);
    }
  };

  // The web client and GraphiQL (static files; 503 until `npm run build` has built them).
  const serveWeb = createStaticHandler({ distDir: resolveWebDist(config.WEB_DIST_DIR), logger });

  let draining = false;
  const httpServer: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (handleMetrics(req, res, gm.metrics)) return;
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
      const auth = req.headers.authorization;
      // The span every write's trace starts from (its job, Redis publish, Kafka event, audit entry).
      withSpan('POST /graphql', { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'POST', 'http.route': '/graphql' } }, () =>
        handleGraphQLHttp(apollo, req, res, () => httpContext(auth)),
      ).catch((e: unknown) => {
        logger.error({ err: e }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}');
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: try /graphql"}');
  });

  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 1_048_576 });
  const formatWsErrors = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => format(e.toJSON(), e));
  const wsServer = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      context: (ctx): GatewayContext => makeContext(services, ctx.extra.principal ?? null, null, ctx.extra.presence ?? null),
      onConnect: async (ctx) => {
        let principal: Principal;
        try {
          principal = await services.tokens.verify(ctx.connectionParams?.authorization);
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        const user = await store.findUserById(principal.id);
        if (!user) return false;
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
        await ctx.extra.presence?.close().catch((e: unknown) => logger.warn({ err: e }, 'presence close failed'));
      },
      onSubscribe: (ctx, id) => {
        gm.ws.subscribe(ctx.extra, id);
      },
      onOperation: (ctx, id, _payload, args, result) => {
        gm.ws.operation(ctx.extra, id, args.document, args.operationName, result);
      },
      onComplete: (ctx, id) => {
        gm.ws.complete(ctx.extra, id);
      },
      onError: (ctx, id, _payload, errors) => {
        gm.ws.rejected(ctx.extra, id, errors);
        return formatWsErrors(errors);
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        const r = result as ExecutionResult;
        if (!r.errors?.length) return undefined;
        return { ...(r.data !== undefined ? { data: r.data } : {}), errors: formatWsErrors(r.errors) };
      },
    },
    wss,
  );

  let port = config.PORT;
  return {
    names: n,
    hubs,
    get port() {
      return port;
    },
    async start() {
      await apollo.start();
      presence.start();
      port = await listen(httpServer, config.PORT, config.HOST);
      logger.info({ port, url: `http://${config.HOST}:${port}/graphql` }, 'gateway ready');
    },
    async stop() {
      draining = true;
      // Stop accepting, close sockets with 1001 (going away), drain HTTP, then close clients.
      for (const client of wss.clients) client.close(1001, 'Going away: server restarting');
      await wsServer.dispose();
      await hubs.drain(5_000);
      await presence.stop();
      await closeServer(httpServer);
      await apollo.stop();
      await bus.close();
      await signals.close();
      await store.close();
    },
  };
}
