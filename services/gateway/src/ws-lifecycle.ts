import type { IncomingMessage } from 'node:http';
import { GraphQLError, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { LRUCache } from 'lru-cache';
import { AppError, ErrorCode } from '@conversa/contracts';
import type { Principal, TokenService } from '@conversa/auth';
import type { UserDoc } from '@conversa/store';
import { toUserView } from '@conversa/store';
import type { Logger } from '@conversa/observability';
import { makeContext, type GatewayContext, type GatewayServices } from './context.js';
import { asGraphQLError, type ErrorFormatter } from './errors.js';
import { isDirectStream, type GroupedSubscribe } from './fanout.js';
import type { WsOperationHooks } from './metrics.js';
import type { Presence, PresenceConnection } from './presence.js';
import { rateLimited } from './rate-limits.js';
import { REVOKED, type SocketEntry, type SocketHandle, type SocketQuota, type SocketRegistry } from './sockets.js';
import { TimerWheel } from './timer-wheel.js';
import { CloseCode } from './ws-protocol.js';
import { prepareOperation, subscribedRoom } from './ws-operations.js';
import { parseArgs, RoomArgs } from './validation.js';
import type { GraphQLSocket, GraphQLWsHooks, GraphQLWsServer } from './ws-server.js';

/**
 * What the gateway decides over a socket's life, as ws-server.ts' hooks: who may connect
 * (token, account, ban, sockets per user), what a subscribe may run (operation cap, document
 * limits, rate limit, access to the room), and what a close gives back (the socket's slot in
 * the per-user count, its presence). Per socket it keeps one {@link SocketSession}.
 */

/** What a socket holds once connection_init is accepted: ids and the few handles it needs. */
export interface SocketSession {
  principal: Principal;
  /** Its slot in the user's socket count across gateways (SocketQuota). */
  slot: string;
  /** Its operations in the registry (caps, revocations); set once registered. */
  entry?: SocketEntry;
  presence?: PresenceConnection;
  /** Its bucket in the token-expiry wheel; -1: none. */
  expirySlot: number;
}

export type GatewaySocket = GraphQLSocket<SocketSession>;

export interface SocketLifecycleDeps {
  services: GatewayServices;
  tokens: TokenService;
  userById: (id: string) => Promise<UserDoc | null>;
  access: { banned(user: string): Promise<boolean>; refusal(user: string, room: string): Promise<keyof typeof REVOKED | null> };
  quota: SocketQuota;
  sockets: SocketRegistry;
  presence: Presence;
  metrics: WsOperationHooks;
  errors: ErrorFormatter;
  fanout: GroupedSubscribe;
  execute: GraphQLWsHooks<SocketSession>['execute'];
  schema: GraphQLSchema;
  /** The WebSocket path's validation rules (the same limits as Apollo's). */
  rules: readonly ValidationRule[];
  /** Parsed and validated documents by query text. */
  documents: LRUCache<string, DocumentNode>;
  /** The caller's address from the upgrade request (TRUST_PROXY applied). */
  address: (request: IncomingMessage) => string;
  limits: {
    maxTokens: number;
    maxConnectionParamsBytes: number;
    maxSocketsPerUser: number;
    maxOperationsPerSocket: number;
  };
  logger: Logger;
}

/** A socket as the registry sees it (revocations end its operations or close it). */
class RegisteredSocket implements SocketHandle {
  constructor(
    private readonly socket: GatewaySocket,
    private readonly server: Pick<GraphQLWsServer<SocketSession>, 'end'>,
  ) {}
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }
  isLive(id: string): boolean {
    return this.socket.isLive(id);
  }
  end(id: string, error: AppError): Promise<void> {
    return this.server.end(this.socket, id, [asGraphQLError(error)]);
  }
}

export interface SocketLifecycle {
  readonly hooks: GraphQLWsHooks<SocketSession>;
  /** The server the hooks serve (revocations end operations through it). */
  bind(server: Pick<GraphQLWsServer<SocketSession>, 'end'>): void;
  /** Stops the token-expiry wheel (shutdown). */
  stop(): void;
}

export function createSocketLifecycle(d: SocketLifecycleDeps): SocketLifecycle {
  let server: Pick<GraphQLWsServer<SocketSession>, 'end'> | undefined;
  // The session ends with its token: the client must sign in again. One wheel for all sockets.
  const expiry = new TimerWheel<GatewaySocket>({
    resolutionMs: 1_000,
    fire: (socket) => {
      if (socket.session) socket.session.expirySlot = -1;
      socket.close(CloseCode.Forbidden, 'Forbidden: token expired');
    },
  });
  const open = (s: GatewaySocket) => s.readyState === s.OPEN;

  const hooks: GraphQLWsHooks<SocketSession> = {
    peer: d.address,

    async connect(socket, params) {
      if (params && Buffer.byteLength(JSON.stringify(params)) > d.limits.maxConnectionParamsBytes) {
        socket.close(CloseCode.BadRequest, 'Bad request: connectionParams too large');
        return false;
      }
      let principal: Principal;
      try {
        principal = await d.tokens.verify(params?.authorization);
      } catch {
        return false; // 4403 Forbidden
      }
      const user = await d.userById(principal.id);
      if (!user || (await d.access.banned(principal.id))) return false;
      const tooMany = () => {
        socket.close(CloseCode.TooManyConnections, `Too many connections: at most ${d.limits.maxSocketsPerUser} per user`);
        return false as const;
      };
      const slot = await d.quota.acquire(principal.id);
      if (!slot) return tooMany();
      // Gone while we waited: `closed` has run already and would never release this slot.
      if (!open(socket)) {
        await d.quota.release(slot);
        return false;
      }
      // Only ids and the role are kept (no token, no request).
      const session: SocketSession = { principal: { id: principal.id, username: principal.username, role: principal.role, expiresAt: principal.expiresAt }, slot, expirySlot: -1 };
      socket.session = session;
      const entry = d.sockets.open(principal.id, new RegisteredSocket(socket, server!));
      if (!entry) return tooMany();
      session.entry = entry;
      // Anything else that fails here (Redis down) closes with 4500, not a misleading 4403.
      session.presence = await d.presence.connect(toUserView(user));
      if (!open(socket)) {
        await session.presence.close();
        return false;
      }
      session.expirySlot = expiry.schedule(socket, principal.expiresAt);
      return session;
    },

    async closed(socket) {
      const s = socket.session;
      if (!s) return;
      if (s.expirySlot >= 0) expiry.cancel(socket, s.expirySlot);
      if (s.entry) d.sockets.close(s.entry);
      await d.quota.release(s.slot).catch((e: unknown) => d.logger.warn({ err: e }, 'socket count release failed'));
      await s.presence?.close().catch((e: unknown) => d.logger.warn({ err: e }, 'presence close failed'));
    },

    async prepare(socket, id, payload) {
      const startedAt = process.hrtime.bigint();
      const refuse = (errors: readonly GraphQLError[]) => {
        d.metrics.rejected(errors, startedAt);
        return errors;
      };
      const s = socket.session;
      if (!s?.entry) return refuse([new GraphQLError('sign in first', { extensions: { code: ErrorCode.UNAUTHENTICATED } })]);
      const { entry, principal } = s;
      // The cap first: a flood of subscribes is refused before any parsing.
      if (!entry.tryStart(id)) {
        return refuse([asGraphQLError(rateLimited(`this socket already runs ${d.limits.maxOperationsPerSocket} operations; complete some first`, 1_000))]);
      }
      // Parsed and validated like Apollo does on HTTP, with the same limits.
      const prepared = prepareOperation({ schema: d.schema, rules: d.rules, maxTokens: d.limits.maxTokens, cache: d.documents }, payload);
      if (Array.isArray(prepared)) {
        entry.finish(id);
        return refuse(prepared);
      }
      if (prepared.subscription) {
        const room = subscribedRoom(prepared.subscription);
        try {
          // The resolver's own check of the room, before the room is looked up here: an id with
          // a NUL or other control character never reaches the store (FerretDB's PostgreSQL
          // refused it: INTERNAL_SERVER_ERROR; found by the fuzz run, issue 17).
          if (room !== null) parseArgs(RoomArgs, { room });
          await d.services.limits.hit('subscribe', principal.id);
          const refused = room ? await d.access.refusal(principal.id, room) : null;
          if (refused) throw new AppError(ErrorCode.FORBIDDEN, `${room}: ${REVOKED[refused]}`);
        } catch (e) {
          entry.finish(id);
          return refuse([asGraphQLError(e)]);
        }
        entry.setRoom(id, room);
      }
      const contextValue: GatewayContext = makeContext(d.services, s.principal, null, s.presence ?? null, socket.peer, (code, reason) => socket.close(code, reason));
      return { schema: d.schema, document: prepared.document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
    },

    // Execute once per event per group of identical subscriptions (see fanout.ts).
    subscribe: (args) => d.fanout(args),
    execute: d.execute,

    established(socket, id, args, result, startedAt) {
      d.metrics.established(args.document, args.operationName, result, startedAt);
      // From here on the stream writes its own `next` frames to this socket.
      if (isDirectStream(result)) result.attach(id, socket);
    },

    completed(socket, id, stream) {
      d.metrics.completed(stream);
      socket.session?.entry?.finish(id);
    },

    formatErrors: (errors) => d.errors.formatErrors(errors),
    formatResult: (r) => d.errors.formatResult(r),
  };

  return {
    hooks,
    bind(s) {
      server = s;
    },
    stop() {
      expiry.clear();
    },
  };
}
