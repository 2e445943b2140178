import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema, execute, GraphQLError, parse, subscribe, validate, type ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { serveGraphQLWs, type GraphQLWsServer } from './ws-server.js';

const schema = buildSchema(`
  type Query { hello: String }
  type Subscription { ticks(n: Int!): Int, forever: Int }
`);
/** A stream whose end is observable: `stopped` resolves once return() ran. */
function watched() {
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const it: AsyncIterableIterator<unknown> = {
    next: () => new Promise(() => undefined),
    return: () => {
      stop();
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { it, stopped };
}
let forever = watched();
const root = {
  hello: () => 'world',
  ticks: async function* ({ n }: { n: number }) {
    for (let i = 1; i <= n; i++) yield await Promise.resolve({ ticks: i });
  },
  forever: () => forever.it,
};

interface Started {
  url: string;
  server: GraphQLWsServer<{ user: string }>;
  closed: { code: number; reason: string }[];
  http: Server;
}
const running: Started[] = [];

async function start(opts: { initTimeoutMs?: number } = {}): Promise<Started> {
  const http = createServer();
  const closed: Started['closed'] = [];
  const server = serveGraphQLWs<{ user: string }>({
    ws: { server: http, path: '/graphql' },
    initTimeoutMs: opts.initTimeoutMs ?? 3_000,
    keepAliveMs: 0,
    production: false,
    logger: pino({ level: 'silent' }),
    hooks: {
      peer: (req) => req.socket.remoteAddress ?? 'unknown',
      connect: (_socket, params) => Promise.resolve(params?.token === 'ok' ? { user: 'ann' } : false),
      prepare: (_socket, _id, payload) => {
        const document = parse(payload.query);
        const errors = validate(schema, document);
        return Promise.resolve(errors.length ? errors : { schema, document, rootValue: root, variableValues: payload.variables ?? {} });
      },
      subscribe: (args) => subscribe(args) as Promise<AsyncIterable<ExecutionResult> | ExecutionResult>,
      execute: (args) => execute(args),
      closed: (_s, code, reason) => void closed.push({ code, reason }),
      formatErrors: (errors) => errors.map((e) => ({ message: e.message })),
      formatResult: (r) => r,
    },
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const s = { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`, server, closed, http };
  running.push(s);
  return s;
}

afterEach(async () => {
  for (const s of running.splice(0)) {
    await s.server.close();
    s.http.close();
  }
  forever = watched();
});

/** A raw protocol client: every frame it receives, and its close. */
function raw(url: string, protocol: string | null = 'graphql-transport-ws') {
  const ws = protocol === null ? new WebSocket(url) : new WebSocket(url, protocol);
  ws.on('error', () => undefined);
  const frames: Record<string, unknown>[] = [];
  const waiters: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  ws.on('message', (d: Buffer) => {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    frames.push(m);
    for (const w of waiters.filter((x) => x.pred(m))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return {
    ws,
    frames,
    closed,
    opened: once(ws, 'open'),
    send: (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    next: (pred: (m: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const seen = frames.find(pred);
        if (seen) resolve(seen);
        else waiters.push({ pred, resolve });
      }),
  };
}
async function acked(url: string) {
  const c = raw(url);
  await c.opened;
  c.send({ type: 'connection_init', payload: { token: 'ok' } });
  await c.next((m) => m.type === 'connection_ack');
  return c;
}

describe('serveGraphQLWs', () => {
  it("serves graphql-ws' own client: queries, subscriptions to their end", async () => {
    const s = await start();
    const client = createClient({ url: s.url, webSocketImpl: WebSocket, connectionParams: { token: 'ok' }, retryAttempts: 0 });
    const hello = await new Promise((resolve, reject) => client.subscribe({ query: '{ hello }' }, { next: resolve, error: reject, complete: () => undefined }));
    expect(hello).toEqual({ data: { hello: 'world' } });
    const ticks: unknown[] = [];
    await new Promise<void>((resolve, reject) =>
      client.subscribe({ query: 'subscription { ticks(n: 3) }' }, { next: (v) => ticks.push(v), error: reject, complete: resolve }),
    );
    expect(ticks).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }, { data: { ticks: 3 } }]);
    await client.dispose();
  });

  it('answers validation errors with an error frame and keeps the socket', async () => {
    const s = await start();
    const c = await acked(s.url);
    c.send({ id: '1', type: 'subscribe', payload: { query: '{ nope }' } });
    const err = await c.next((m) => m.type === 'error');
    expect(err).toMatchObject({ id: '1', payload: [{ message: 'Cannot query field "nope" on type "Query".' }] });
    c.send({ type: 'ping', payload: { t: 1 } });
    expect(await c.next((m) => m.type === 'pong')).toEqual({ type: 'pong', payload: { t: 1 } });
    c.ws.close();
  });

  it('closes with the protocol codes', async () => {
    const s = await start({ initTimeoutMs: 100 });
    // No subprotocol offered (a client that insists on another one aborts the handshake itself).
    const wrong = raw(s.url, null);
    expect((await wrong.closed).code).toBe(4406);

    const silent = raw(s.url);
    expect(await silent.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });

    const refused = raw(s.url);
    await refused.opened;
    refused.send({ type: 'connection_init', payload: { token: 'bad' } });
    expect((await refused.closed).code).toBe(4403);

    const early = raw(s.url);
    await early.opened;
    early.send({ id: '1', type: 'subscribe', payload: { query: '{ hello }' } });
    expect((await early.closed).code).toBe(4401);

    const twice = await acked(s.url);
    twice.send({ type: 'connection_init', payload: { token: 'ok' } });
    expect((await twice.closed).code).toBe(4429);

    const dup = await acked(s.url);
    dup.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { forever }' } });
    dup.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { forever }' } });
    expect(await dup.closed).toEqual({ code: 4409, reason: 'Subscriber for a already exists' });

    const bad = await acked(s.url);
    bad.send({ id: 1, type: 'subscribe', payload: { query: '{ hello }' } });
    expect(await bad.closed).toEqual({ code: 4400, reason: "Invalid message received: expected subscribe's id to be a non-empty string, got number" });

    const notJson = await acked(s.url);
    notJson.send('{');
    expect((await notJson.closed).code).toBe(4400);
  });

  it('stops a stream on the client’s complete, and every stream when the socket closes', async () => {
    const s = await start();
    const c = await acked(s.url);
    c.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { forever }' } });
    await new Promise<void>((r) => setImmediate(r));
    c.send({ id: '1', type: 'complete' });
    await forever.stopped;
    forever = watched();
    c.send({ id: '2', type: 'subscribe', payload: { query: 'subscription { forever }' } });
    // Its id is live once the server runs it: a duplicate is refused (and closes the socket).
    c.send({ id: '2', type: 'subscribe', payload: { query: 'subscription { forever }' } });
    await forever.stopped;
    expect((await c.closed).code).toBe(4409);
    await new Promise<void>((r) => setImmediate(r));
    expect(s.closed.at(-1)?.code).toBe(4409);
  });

  it('lets a client reuse an id once it sent complete', async () => {
    const s = await start();
    const c = await acked(s.url);
    c.send({ id: 'r', type: 'subscribe', payload: { query: 'subscription { forever }' } });
    await new Promise<void>((r) => setImmediate(r));
    c.send({ id: 'r', type: 'complete' });
    c.send({ id: 'r', type: 'subscribe', payload: { query: 'subscription { ticks(n: 2) }' } });
    await c.next((m) => m.type === 'complete' && m.id === 'r');
    expect(c.frames.filter((m) => m.id === 'r').map((m) => m.type)).toEqual(['next', 'next', 'complete']);
    c.ws.close();
  });

  it('ends one operation with an error frame and no complete', async () => {
    const s = await start();
    const c = await acked(s.url);
    c.send({ id: 'x', type: 'subscribe', payload: { query: 'subscription { forever }' } });
    const socket = await new Promise<NonNullable<ReturnType<typeof first>>>((resolve) => {
      const poll = () => {
        const f = first(s);
        if (f?.isLive('x') && f.operations?.get('x')?.it) resolve(f);
        else setImmediate(poll);
      };
      poll();
    });
    await s.server.end(socket, 'x', [new GraphQLError('revoked')]);
    await forever.stopped;
    expect(await c.next((m) => m.type === 'error')).toEqual({ id: 'x', type: 'error', payload: [{ message: 'revoked' }] });
    c.send({ type: 'ping' });
    await c.next((m) => m.type === 'pong');
    expect(c.frames.filter((m) => m.type === 'complete')).toEqual([]);
    expect(socket.isLive('x')).toBe(false);
    c.ws.close();
  });
});

const first = (s: Started) => [...s.server.clients][0];
