import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { AppError, names, type Names } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import {
  closeServer,
  handleProbe,
  listen,
  reach,
  safeUrl,
  type Logger,
  type Service,
} from '@conversa/observability';
import { Store } from '@conversa/store';
import { createCommandBus } from './adapters/commands.js';
import { createRedisSignals } from './adapters/pubsub.js';
import { PasswordHasher, TokenService, type Principal } from '@conversa/auth';
import { withAuthors, type GatewayContext, type GatewayServices } from './context.js';
import { formatError } from './errors.js';
import { handleGraphQLHttp } from './http.js';
import { RoomHubs } from './room-hub.js';
import { resolvers } from './resolvers.js';

export interface GatewayService extends Service {
  readonly port: number;
  readonly names: Names;
  readonly hubs: RoomHubs;
}

// A type alias (not an interface) so that it satisfies graphql-ws's Record constraint.
type SocketExtra = {
  principal?: Principal;
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
  const store = await reach('MongoDB', safeUrl(config.MONGO_URL), t, () =>
    Store.connect({ url: config.MONGO_URL, dbName: config.MONGO_DB }),
  );
  const signals = createRedisSignals(config.REDIS_URL, n.roomChannel, logger);
  await reach('Redis', safeUrl(config.REDIS_URL), t, () => signals.connect());
  const bus = await reach('Redis (command queue)', safeUrl(config.REDIS_URL), t, () =>
    createCommandBus({ url: config.REDIS_URL, prefix: n.queuePrefix, queue: n.commandQueue, timeoutMs: config.COMMAND_TIMEOUT_MS }),
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
  signals.onReconnect(() => void hubs.resyncAll());

  const services: GatewayServices = {
    store,
    bus,
    tokens: new TokenService(config.JWT_SECRET, config.JWT_TTL_SECONDS),
    hasher: new PasswordHasher(),
    hubs,
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
    plugins: [ApolloServerPluginLandingPageDisabled()],
    logger: {
      debug: (m: string) => logger.debug(m),
      info: (m: string) => logger.info(m),
      warn: (m: string) => logger.warn(m),
      error: (m: string) => logger.error(m),
    },
  });

  const httpContext = async (authorization: string | undefined): Promise<GatewayContext> => {
    if (!authorization) return { principal: null, authError: null, services };
    try {
      return { principal: await services.tokens.verify(authorization), authError: null, services };
    } catch (e) {
      return { principal: null, authError: e instanceof AppError ? e : null, services };
    }
  };

  let draining = false;
  const httpServer: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
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
    if (path === '/graphql') {
      const auth = req.headers.authorization;
      handleGraphQLHttp(apollo, req, res, () => httpContext(auth)).catch((e: unknown) => {
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
      context: (ctx): GatewayContext => ({ principal: ctx.extra.principal ?? null, authError: null, services }),
      onConnect: async (ctx) => {
        try {
          const principal = await services.tokens.verify(ctx.connectionParams?.authorization);
          ctx.extra.principal = principal;
          // The session ends with its token: the client must sign in again.
          const left = principal.expiresAt - Date.now();
          ctx.extra.expiryTimer = setTimeout(() => ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: token expired'), Math.max(0, left));
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiryTimer),
      onError: (_ctx, _id, _payload, errors) => formatWsErrors(errors),
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
      port = await listen(httpServer, config.PORT, config.HOST);
      logger.info({ port, url: `http://${config.HOST}:${port}/graphql` }, 'gateway ready');
    },
    async stop() {
      draining = true;
      // Stop accepting, close sockets with 1001 (going away), drain HTTP, then close clients.
      for (const client of wss.clients) client.close(1001, 'Going away: server restarting');
      await wsServer.dispose();
      await closeServer(httpServer);
      await apollo.stop();
      await bus.close();
      await signals.close();
      await store.close();
    },
  };
}
