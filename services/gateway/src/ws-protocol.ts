/**
 * The graphql-transport-ws protocol (github.com/enisdenjo/graphql-ws, PROTOCOL.md) as the
 * gateway speaks it: message types, close codes and a validator for what clients send. Pure:
 * no socket, no GraphQL execution (ws-server.ts runs it on `ws`).
 */

/** The WebSocket subprotocol: any other closes with {@link CloseCode.SubprotocolNotAcceptable}. */
export const GRAPHQL_TRANSPORT_WS_PROTOCOL = 'graphql-transport-ws';

/**
 * Every close code the gateway's sockets end with: graphql-ws' `CloseCode` values (the same
 * numbers, so its client reacts as before) and the gateway's own.
 */
export const CloseCode = {
  /** 1001: the gateway shuts down; the client reconnects elsewhere. */
  GoingAway: 1001,
  /** An unexpected failure while handling a message (reason: its message outside production). */
  InternalServerError: 4500,
  /** A message that is not valid graphql-transport-ws, or connectionParams too large. */
  BadRequest: 4400,
  /** `subscribe` before `connection_ack`. */
  Unauthorized: 4401,
  /** connection_init refused (no or a bad token, unknown or banned user), the token expired, a ban. */
  Forbidden: 4403,
  /** The client did not offer the graphql-transport-ws subprotocol. */
  SubprotocolNotAcceptable: 4406,
  /** No connection_init within WS_INIT_TIMEOUT_MS of the upgrade. */
  ConnectionInitialisationTimeout: 4408,
  /** `subscribe` with the id of an operation that still runs on this socket. */
  SubscriberAlreadyExists: 4409,
  /** A second connection_init on one socket. */
  TooManyInitialisationRequests: 4429,
  /**
   * The user already holds WS_MAX_SOCKETS_PER_USER sockets (counted across gateways). The same
   * number as TooManyInitialisationRequests: graphql-ws' client does not retry either.
   */
  TooManyConnections: 4429,
  /** The socket's unsent bytes or pending messages passed their cap: resume with `after`. */
  SlowConsumer: 4413,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export const MessageType = {
  ConnectionInit: 'connection_init',
  ConnectionAck: 'connection_ack',
  Ping: 'ping',
  Pong: 'pong',
  Subscribe: 'subscribe',
  Next: 'next',
  Error: 'error',
  Complete: 'complete',
} as const;

export interface SubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/** What a client may send. */
export type ClientMessage =
  | { type: 'connection_init'; payload?: Record<string, unknown> | null }
  | { type: 'ping'; payload?: Record<string, unknown> | null }
  | { type: 'pong'; payload?: Record<string, unknown> | null }
  | { type: 'subscribe'; id: string; payload: SubscribePayload }
  | { type: 'complete'; id: string };

/** A client message that could not be read: what was expected and what came. */
export class InvalidMessage extends Error {
  override readonly name = 'InvalidMessage';
}

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const isObject = (v: unknown): v is Record<string, unknown> => kind(v) === 'object';
const nullishOr = (v: unknown, k: string) => v === undefined || v === null || kind(v) === k;

/**
 * Parses and validates one text frame from a client. Throws {@link InvalidMessage} saying
 * what it expected and what it got; server-to-client types (`next`, `error`,
 * `connection_ack`) are refused here too.
 */
export function parseClientMessage(text: string): ClientMessage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidMessage('expected JSON, got unparsable text');
  }
  if (!isObject(v)) throw new InvalidMessage(`expected an object, got ${kind(v)}`);
  const { type } = v;
  switch (type) {
    case 'connection_init':
    case 'ping':
    case 'pong':
      if (!nullishOr(v.payload, 'object')) throw new InvalidMessage(`expected ${type}'s payload to be an object or absent, got ${kind(v.payload)}`);
      return v as ClientMessage;
    case 'subscribe': {
      requireId(type, v.id);
      const p = v.payload;
      if (!isObject(p)) throw new InvalidMessage(`expected subscribe's payload to be an object, got ${kind(p)}`);
      if (typeof p.query !== 'string') throw new InvalidMessage(`expected payload.query to be a string, got ${kind(p.query)}`);
      if (!nullishOr(p.variables, 'object')) throw new InvalidMessage(`expected payload.variables to be an object or absent, got ${kind(p.variables)}`);
      if (!nullishOr(p.operationName, 'string')) throw new InvalidMessage(`expected payload.operationName to be a string or absent, got ${kind(p.operationName)}`);
      if (!nullishOr(p.extensions, 'object')) throw new InvalidMessage(`expected payload.extensions to be an object or absent, got ${kind(p.extensions)}`);
      return v as ClientMessage;
    }
    case 'complete':
      requireId(type, v.id);
      return v as ClientMessage;
    default:
      throw new InvalidMessage(
        typeof type === 'string'
          ? `expected connection_init, ping, pong, subscribe or complete, got ${JSON.stringify(type.slice(0, 20))}`
          : `expected a string type, got ${kind(type)}`,
      );
  }
}

function requireId(type: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || id === '') throw new InvalidMessage(`expected ${type}'s id to be a non-empty string, got ${id === '' ? 'an empty string' : kind(id)}`);
}

/** A close reason fits a control frame: at most 123 bytes, else the short fallback. */
export function closeReason(reason: string, fallback: string): string {
  return Buffer.byteLength(reason) <= 123 ? reason : fallback;
}

/** Server frames, written as text without a validator round trip (their shape is fixed here). */
export const frames = {
  ack: '{"type":"connection_ack"}',
  pong: (payload?: Record<string, unknown> | null): string => (payload ? JSON.stringify({ type: 'pong', payload }) : '{"type":"pong"}'),
  next: (id: string, payloadJson: string): string => `{"id":${JSON.stringify(id)},"type":"next","payload":${payloadJson}}`,
  error: (id: string, errors: readonly unknown[]): string => JSON.stringify({ id, type: 'error', payload: errors }),
  complete: (id: string): string => `{"id":${JSON.stringify(id)},"type":"complete"}`,
} as const;
