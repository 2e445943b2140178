import { buildSchema, specifiedRules, type DocumentNode, type GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '@conversa/contracts';
import type { Principal, TokenService } from '@conversa/auth';
import type { UserDoc } from '@conversa/store';
import type { GatewayContext, GatewayServices } from './context.js';
import { createErrorFormatter } from './errors.js';
import { groupedSubscribe } from './fanout.js';
import { Presence } from './presence.js';
import type { PresenceStore } from './adapters/presence.js';
import { SocketQuota, SocketRegistry, type SocketCountStore } from './sockets.js';
import { createSocketLifecycle, type GatewaySocket, type SocketLifecycleDeps } from './ws-lifecycle.js';
import { withSafeSubscriptionRule } from './subscription-document.js';

const logger = pino({ level: 'silent' });
const schema = buildSchema(`
  type Query { hello: String }
  type Message { id: ID! }
  type Subscription { messageAdded(room: ID!): Message }
`);
const principal: Principal = { id: 'u1', username: 'ann', role: 'USER', expiresAt: Date.now() + 3_600_000 };

function fakeSocket() {
  const closes: { code: number; reason: string }[] = [];
  const s = {
    OPEN: 1,
    readyState: 1,
    peer: '10.0.0.1',
    session: undefined,
    operations: undefined,
    close(code: number, reason: string) {
      closes.push({ code, reason });
      s.readyState = 3;
    },
    // Every operation the lifecycle started still runs (the server would say so).
    isLive: () => true,
  };
  return { socket: s as unknown as GatewaySocket, closes, raw: s };
}

function setup(opts: { maxSockets?: number; maxOps?: number; refusal?: 'muted' | null } = {}) {
  const counts = new Map<string, Set<string>>();
  const countStore: SocketCountStore = {
    acquire: (user, socket, max) => {
      const set = counts.get(user) ?? new Set<string>();
      counts.set(user, set);
      if (set.size >= max) return Promise.resolve(false);
      set.add(socket);
      return Promise.resolve(true);
    },
    release: (user, socket) => Promise.resolve(void counts.get(user)?.delete(socket)),
    restore: () => Promise.resolve(),
    reapGateway: () => Promise.resolve(),
    count: (user) => Promise.resolve(counts.get(user)?.size ?? 0),
  };
  const present = new Set<string>();
  const presenceStore: PresenceStore = {
    enter: (scope, user) => Promise.resolve(!!present.add(`${scope}/${user}`)),
    leave: (scope, user) => Promise.resolve(present.delete(`${scope}/${user}`)),
    restore: () => Promise.resolve(),
    reapGateway: () => Promise.resolve([]),
    online: () => Promise.resolve([]),
    onlineAmong: () => Promise.resolve(new Set()),
  };
  const presence = new Presence({ store: presenceStore, publish: () => Promise.resolve(), users: () => Promise.resolve([]), logger });
  const hits: string[] = [];
  const rejected: readonly GraphQLError[][] = [];
  const deps: SocketLifecycleDeps = {
    services: { limits: { hit: (action: string, user: string) => Promise.resolve(void hits.push(`${action}:${user}`)) } } as unknown as GatewayServices,
    tokens: { verify: (a: unknown) => (a === 'Bearer ok' ? Promise.resolve(principal) : Promise.reject(new AppError(ErrorCode.UNAUTHENTICATED, 'bad token'))) } as unknown as TokenService,
    userById: (id) => Promise.resolve(id === 'u1' ? ({ _id: 'u1', username: 'ann', displayName: 'Ann', role: 'USER' } as UserDoc) : null),
    access: { banned: () => Promise.resolve(false), refusal: () => Promise.resolve(opts.refusal ?? null) },
    quota: new SocketQuota({ store: countStore, maxSocketsPerUser: opts.maxSockets ?? 2 }),
    sockets: new SocketRegistry({ maxSocketsPerUser: opts.maxSockets ?? 2, maxOperationsPerSocket: opts.maxOps ?? 5 }),
    presence,
    metrics: { established: () => undefined, rejected: (e) => void (rejected as GraphQLError[][]).push([...e]), completed: () => undefined },
    errors: createErrorFormatter({ production: false, logger }),
    fanout: groupedSubscribe(() => 'USER'),
    execute: () => ({ data: null }),
    schema,
    rules: withSafeSubscriptionRule(specifiedRules),
    documents: new LRUCache<string, DocumentNode>({ max: 10 }),
    address: () => '10.0.0.1',
    limits: { maxTokens: 1_000, maxConnectionParamsBytes: 100, maxSocketsPerUser: opts.maxSockets ?? 2, maxOperationsPerSocket: opts.maxOps ?? 5 },
    logger,
  };
  const lifecycle = createSocketLifecycle(deps);
  lifecycle.bind({ end: () => Promise.resolve() });
  return { lifecycle, hooks: lifecycle.hooks, counts, present, hits, rejected, deps };
}

describe('socket lifecycle: connect and close', () => {
  it('keeps only ids, role and handles per socket, and gives everything back on close', async () => {
    const t = setup();
    const { socket } = fakeSocket();
    const session = await t.hooks.connect(socket, { authorization: 'Bearer ok' });
    expect(session).not.toBe(false);
    if (!session) return;
    expect(session.principal).toEqual({ id: 'u1', username: 'ann', role: 'USER', expiresAt: principal.expiresAt });
    expect(Object.keys(session).sort()).toEqual(['entry', 'expirySlot', 'presence', 'principal', 'slot']);
    expect(t.counts.get('u1')?.size).toBe(1);
    expect(t.deps.sockets.socketsOf('u1')).toBe(1);
    expect(t.present.size).toBe(1);
    socket.session = session;
    await t.hooks.closed?.(socket, 1000, '');
    expect(t.counts.get('u1')?.size).toBe(0);
    expect(t.deps.sockets.socketsOf('u1')).toBe(0);
    expect(t.present.size).toBe(0);
    t.lifecycle.stop();
  });

  it('refuses a bad token (4403 by the server), oversized params (4400) and a user over the cap (4429)', async () => {
    const t = setup({ maxSockets: 1 });
    const bad = fakeSocket();
    expect(await t.hooks.connect(bad.socket, { authorization: 'Bearer no' })).toBe(false);
    expect(bad.closes).toEqual([]);
    const big = fakeSocket();
    expect(await t.hooks.connect(big.socket, { authorization: 'x'.repeat(200) })).toBe(false);
    expect(big.closes[0]?.code).toBe(4400);
    expect(await t.hooks.connect(fakeSocket().socket, { authorization: 'Bearer ok' })).not.toBe(false);
    const second = fakeSocket();
    expect(await t.hooks.connect(second.socket, { authorization: 'Bearer ok' })).toBe(false);
    expect(second.closes[0]).toEqual({ code: 4429, reason: 'Too many connections: at most 1 per user' });
    t.lifecycle.stop();
  });

  it('gives the slot back when the socket went away while it was being counted', async () => {
    const t = setup();
    const { socket, raw } = fakeSocket();
    const pending = t.hooks.connect(socket, { authorization: 'Bearer ok' });
    raw.readyState = 3;
    expect(await pending).toBe(false);
    expect(t.counts.get('u1')?.size).toBe(0);
    t.lifecycle.stop();
  });
});

describe('socket lifecycle: subscribe', () => {
  async function connected(opts: Parameters<typeof setup>[0] = {}) {
    const t = setup(opts);
    const { socket } = fakeSocket();
    const session = await t.hooks.connect(socket, { authorization: 'Bearer ok' });
    if (!session) throw new Error('not connected');
    socket.session = session;
    return { t, socket };
  }

  it('hands over the execution with a context of the socket’s caller', async () => {
    const { t, socket } = await connected();
    const prepared = await t.hooks.prepare(socket, '1', { query: 'subscription { messageAdded(room: "r") { id } }' });
    expect(Array.isArray(prepared)).toBe(false);
    const ctx = (prepared as { contextValue: GatewayContext }).contextValue;
    expect(ctx.principal?.id).toBe('u1');
    expect(ctx.address).toBe('10.0.0.1');
    expect(t.hits).toEqual(['subscribe:u1']);
    expect(socket.session?.entry?.operations.get('1')).toBe('r');
    t.lifecycle.stop();
  });

  it('refuses a room id with a NUL or control character as BAD_USER_INPUT before the room is looked up (issue 17: the fuzz run)', async () => {
    const { t, socket } = await connected();
    const looked: string[] = [];
    const refusal = t.deps.access.refusal.bind(t.deps.access);
    t.deps.access.refusal = (user, room) => {
      looked.push(room);
      return refusal(user, room);
    };
    for (const room of ['\u0000', 'a\u0000b', 'r\u0007', 'two words']) {
      const refused = await t.hooks.prepare(socket, room, { query: 'subscription($r: ID!) { messageAdded(room: $r) { id } }', variables: { r: room } });
      expect(Array.isArray(refused), room).toBe(true);
      expect(t.deps.errors.formatErrors(refused as GraphQLError[])[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(looked).toEqual([]);
    expect(t.hits).toEqual([]);
    expect(socket.session?.entry?.operations.size).toBe(0);
    t.lifecycle.stop();
  });

  it('refuses beyond the operation cap (RATE_LIMITED) and a room the user may not read (FORBIDDEN), counted as rejected', async () => {
    const { t, socket } = await connected({ maxOps: 1, refusal: 'muted' });
    const muted = await t.hooks.prepare(socket, '1', { query: 'subscription { messageAdded(room: "r") { id } }' });
    expect(t.deps.errors.formatErrors(muted as GraphQLError[])[0]).toEqual({ message: 'r: you are muted in this room', extensions: { code: 'FORBIDDEN' } });
    expect(socket.session?.entry?.operations.size).toBe(0);
    expect(Array.isArray(await t.hooks.prepare(socket, '2', { query: '{ hello }' }))).toBe(false);
    const capped = await t.hooks.prepare(socket, '3', { query: '{ hello }' });
    expect(t.deps.errors.formatErrors(capped as GraphQLError[])[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(t.rejected).toHaveLength(2);
    t.lifecycle.stop();
  });
});
