import type { IncomingMessage } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  OperationTypeNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import { WebSocket, WebSocketServer, type RawData, type ServerOptions } from 'ws';
import type { Logger } from '@conversa/observability';
import { CloseCode, closeReason, frames, GRAPHQL_TRANSPORT_WS_PROTOCOL, InvalidMessage, parseClientMessage, type SubscribePayload } from './ws-protocol.js';
import { TimerWheel } from './timer-wheel.js';

/**
 * The server side of graphql-transport-ws on `ws`, in place of graphql-ws' `useServer`, built
 * to hold as little per socket as a chat backend with tens of thousands of idle sockets needs:
 * - the protocol's state lives on the socket object itself ({@link GraphQLSocket}, ws'
 *   `WebSocket` option), so a connection is one object beside ws' own, not a context, an
 *   `extra`, the upgrade request and a set of closures;
 * - message, pong, error and close listeners are shared functions (`this` is the socket);
 * - the init timeout is one {@link TimerWheel} for all sockets, keep-alive one interval over
 *   all sockets (ws-level ping, terminate when the previous ping got no pong);
 * - operation ids are only tracked once a socket has one (a Map created on first subscribe).
 * The gateway's policy (who may connect, what may run) is in the hooks (ws-lifecycle.ts).
 */

/** Where a socket is in the protocol. */
export const Phase = { Opened: 0, InitReceived: 1, Acknowledged: 2 } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/**
 * A running operation: its stream once established (undefined while it is being set up). An
 * object of its own, so that an operation that ended cannot remove a newer one with the same
 * id (a client may reuse an id once it got `complete` or `error`).
 */
interface Running {
  it: AsyncIterator<unknown> | undefined;
}

/** One client socket: ws' WebSocket with the protocol's state on it. */
export class GraphQLSocket<S = unknown> extends WebSocket {
  phase: Phase = Phase.Opened;
  /** What `connect` returned for this socket (its caller); undefined before the ack. */
  session: S | undefined = undefined;
  /** The caller's address, read from the upgrade request (which is not kept). */
  peer = '';
  /** Running operations by id; created at the first subscribe. */
  operations: Map<string, Running> | undefined = undefined;
  /** Its bucket in the init-timeout wheel, -1 once it needs none. */
  initSlot = -1;
  /** False from a keep-alive ping until its pong. */
  alive = true;

  /** True while the operation `id` runs on this socket. */
  isLive(id: string): boolean {
    return this.operations?.has(id) ?? false;
  }
}

export interface GraphQLWsHooks<S> {
  /** The caller's address from the upgrade request; the request itself is not kept. */
  peer(request: IncomingMessage): string;
  /**
   * connection_init: the socket's session (acknowledged), or false (closed with 4403 unless
   * the hook closed it already with a code of its own).
   */
  connect(socket: GraphQLSocket<S>, params: Record<string, unknown> | undefined): Promise<S | false>;
  /** A subscribe: what to execute (contextValue included), or the errors to answer with. */
  prepare(socket: GraphQLSocket<S>, id: string, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]>;
  /** Runs a subscription: a stream, or a result with errors. */
  subscribe(args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> | AsyncIterable<ExecutionResult> | ExecutionResult;
  /** Runs a query or mutation. */
  execute(args: ExecutionArgs): Promise<ExecutionResult> | ExecutionResult;
  /** The operation ran (a stream or a result); `startedAt` is process.hrtime.bigint() at subscribe. */
  established?(socket: GraphQLSocket<S>, id: string, args: ExecutionArgs, result: unknown, startedAt: bigint): void;
  /** An established operation ended, however (`stream`: it was a subscription's stream). */
  completed?(socket: GraphQLSocket<S>, id: string, stream: boolean): void;
  /** The socket closed (after its operations were stopped). */
  closed?(socket: GraphQLSocket<S>, code: number, reason: string): Promise<void> | void;
  /** Errors as the client sees them (error frames and results with errors). */
  formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[];
  /** A result's payload as the client sees it. */
  formatResult(result: ExecutionResult): unknown;
}

export interface GraphQLWsServerOptions<S> {
  /** ws' own options (server, path, maxPayload, verifyClient…); the socket class is ours. */
  ws: Omit<ServerOptions, 'WebSocket' | 'handleProtocols'>;
  hooks: GraphQLWsHooks<S>;
  /** How long a socket may wait before connection_init, ms (3_000 // 3 s). */
  initTimeoutMs: number;
  /** Keep-alive ping period, ms (12_000 // 12 s); a socket without a pong by the next one is cut. 0: none. */
  keepAliveMs: number;
  /** Hides internal error messages from close reasons. */
  production: boolean;
  logger: Logger;
}

export interface GraphQLWsServer<S> {
  readonly wss: WebSocketServer;
  /** Open sockets (ws' own tracking). */
  readonly clients: ReadonlySet<GraphQLSocket<S>>;
  /**
   * Ends one running operation with an error frame (no `complete` follows) and stops its
   * stream; resolves once the frame is written.
   */
  end(socket: GraphQLSocket<S>, id: string, errors: readonly GraphQLError[]): Promise<void>;
  /** Closes every socket with 1001 and stops accepting. */
  close(reason?: string): Promise<void>;
}

const text = (data: RawData): string => (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString();
const isAsyncIterable = (x: unknown): x is AsyncIterable<unknown> => typeof x === 'object' && x !== null && Symbol.asyncIterator in x;

export function serveGraphQLWs<S>(o: GraphQLWsServerOptions<S>): GraphQLWsServer<S> {
  const { hooks, logger } = o;
  const wss = new WebSocketServer({
    ...o.ws,
    WebSocket: GraphQLSocket,
    // Offered subprotocols: ours or none (then the socket is closed with 4406 once open).
    handleProtocols: (protocols: Set<string>) => (protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false),
  });
  const clients = wss.clients as Set<GraphQLSocket<S>>;
  const initWheel = new TimerWheel<GraphQLSocket<S>>({
    resolutionMs: Math.max(50, Math.min(1_000, Math.floor(o.initTimeoutMs / 4))),
    fire: (socket) => {
      socket.initSlot = -1;
      if (socket.phase === Phase.Opened) socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    },
  });
  const keepAlive =
    o.keepAliveMs > 0
      ? setInterval(() => {
          for (const s of clients) {
            if (s.readyState !== WebSocket.OPEN) continue;
            if (!s.alive) {
              s.terminate();
              continue;
            }
            s.alive = false;
            s.ping();
          }
        }, o.keepAliveMs).unref()
      : undefined;

  const internalError = (socket: GraphQLSocket<S>, e: unknown) => {
    logger.error({ err: e }, 'websocket message handling failed');
    const message = e instanceof Error ? e.message : String(e);
    socket.close(CloseCode.InternalServerError, o.production ? 'Internal server error' : closeReason(message, 'Internal server error'));
  };
  const send = (socket: GraphQLSocket<S>, text: string) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(text);
  };

  async function connectionInit(socket: GraphQLSocket<S>, params: Record<string, unknown> | null | undefined): Promise<void> {
    if (socket.phase !== Phase.Opened) {
      socket.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
      return;
    }
    socket.phase = Phase.InitReceived;
    if (socket.initSlot >= 0) initWheel.cancel(socket, socket.initSlot);
    socket.initSlot = -1;
    const session = await hooks.connect(socket, params ?? undefined);
    if (session === false) {
      // A hook that closed with its own code (4400, 4429) keeps it: the first close wins.
      socket.close(CloseCode.Forbidden, 'Forbidden');
      return;
    }
    socket.session = session;
    socket.phase = Phase.Acknowledged;
    send(socket, frames.ack);
  }

  async function operation(socket: GraphQLSocket<S>, id: string, payload: SubscribePayload): Promise<void> {
    if (socket.phase !== Phase.Acknowledged) {
      socket.close(CloseCode.Unauthorized, 'Unauthorized');
      return;
    }
    const ops = (socket.operations ??= new Map<string, Running>());
    if (ops.has(id)) {
      socket.close(CloseCode.SubscriberAlreadyExists, closeReason(`Subscriber for ${id} already exists`, 'Subscriber already exists'));
      return;
    }
    const running: Running = { it: undefined };
    ops.set(id, running);
    const mine = () => ops.get(id) === running;
    const startedAt = process.hrtime.bigint();
    try {
      const prepared = await hooks.prepare(socket, id, payload);
      if (Array.isArray(prepared)) {
        if (mine()) send(socket, frames.error(id, hooks.formatErrors(prepared)));
        return;
      }
      const args = prepared as ExecutionArgs;
      const op = getOperationAST(args.document, args.operationName);
      if (!op) {
        if (mine()) send(socket, frames.error(id, hooks.formatErrors([new GraphQLError('Unable to identify operation')])));
        return;
      }
      const result = op.operation === OperationTypeNode.SUBSCRIPTION ? await hooks.subscribe(args) : await hooks.execute(args);
      hooks.established?.(socket, id, args, result, startedAt);
      if (isAsyncIterable(result)) {
        const it = result[Symbol.asyncIterator]();
        if (!mine()) {
          // Completed (or the socket closed) while it was being set up.
          await it.return?.();
        } else {
          running.it = it;
          try {
            for (;;) {
              const r = await it.next();
              if (r.done || !mine()) break;
              send(socket, frames.next(id, JSON.stringify(hooks.formatResult(r.value))));
            }
          } catch (e) {
            if (mine()) {
              const original = e instanceof Error ? e : new Error(String(e));
              send(socket, frames.error(id, hooks.formatErrors([new GraphQLError(original.message, { originalError: original })])));
              ops.delete(id);
            }
          }
        }
      } else if (mine()) {
        send(socket, frames.next(id, JSON.stringify(hooks.formatResult(result))));
      }
      // Still ours: it ended on the server's side, so the client is told; a client's own
      // `complete`, an `end` (error frame sent) or a close took it out already.
      if (mine()) send(socket, frames.complete(id));
      hooks.completed?.(socket, id, isAsyncIterable(result));
    } finally {
      if (mine()) ops.delete(id);
    }
  }

  async function handle(socket: GraphQLSocket<S>, text: string): Promise<void> {
    let m;
    try {
      m = parseClientMessage(text);
    } catch (e) {
      const why = e instanceof InvalidMessage ? `: ${e.message}` : '';
      socket.close(CloseCode.BadRequest, closeReason(`Invalid message received${why}`, 'Invalid message received'));
      return;
    }
    switch (m.type) {
      case 'connection_init':
        return connectionInit(socket, m.payload);
      case 'ping':
        send(socket, frames.pong(m.payload));
        return;
      case 'pong':
        return;
      case 'subscribe':
        return operation(socket, m.id, m.payload);
      case 'complete': {
        const op = socket.operations?.get(m.id);
        socket.operations?.delete(m.id);
        await op?.it?.return?.();
        return;
      }
    }
  }

  // Shared listeners: `this` is the socket (EventEmitter calls them so), nothing per socket.
  // ws builds every socket of this server as a GraphQLSocket (its `WebSocket` option).
  const own = (socket: WebSocket) => socket as GraphQLSocket<S>;
  function onMessage(this: WebSocket, data: RawData): void {
    const socket = own(this);
    handle(socket, text(data)).catch((e: unknown) => internalError(socket, e));
  }
  function onPong(this: WebSocket): void {
    own(this).alive = true;
  }
  function onError(this: WebSocket, e: Error): void {
    // ws closes the socket itself for protocol errors (1002, 1009 for maxPayload…); this
    // close is a no-op then.
    logger.debug({ err: e }, 'websocket error');
    this.close(CloseCode.InternalServerError, o.production ? 'Internal server error' : closeReason(e.message, 'Internal server error'));
  }
  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    const socket = own(this);
    if (socket.initSlot >= 0) initWheel.cancel(socket, socket.initSlot);
    socket.initSlot = -1;
    const running = socket.operations ? [...socket.operations.values()] : [];
    socket.operations?.clear();
    void (async () => {
      await Promise.all(running.flatMap((op) => (op.it?.return ? [op.it.return()] : [])));
      await hooks.closed?.(socket, code, reason.toString());
    })().catch((e: unknown) => logger.warn({ err: e }, 'websocket close handling failed'));
  }

  wss.on('connection', (socket: GraphQLSocket<S>, request: IncomingMessage) => {
    socket.on('error', onError);
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) {
      socket.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
      return;
    }
    socket.peer = hooks.peer(request);
    socket.initSlot = initWheel.schedule(socket, Date.now() + o.initTimeoutMs);
    socket.on('message', onMessage);
    socket.on('pong', onPong);
    socket.once('close', onClose);
  });

  return {
    wss,
    clients,
    async end(socket, id, errors) {
      const op = socket.operations?.get(id);
      // Out of the map first: the operation's loop then sends no `complete` after the error.
      socket.operations?.delete(id);
      const stopped = op?.it?.return?.();
      await new Promise<void>((resolve) => {
        if (socket.readyState !== WebSocket.OPEN) return resolve();
        socket.send(frames.error(id, hooks.formatErrors(errors)), () => resolve());
      });
      await stopped;
    },
    async close(reason = 'Going away') {
      clearInterval(keepAlive);
      initWheel.clear();
      for (const s of clients) s.close(CloseCode.GoingAway, reason);
      await new Promise<void>((resolve, reject) => wss.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
