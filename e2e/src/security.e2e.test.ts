/**
 * The security suite: the attacks a public chat endpoint meets, tried against the running
 * services (production mode, two gateways) over HTTP and over WebSocket wherever both apply.
 * Each case records rows (attack, path, expected, observed) and asserts them; the table is
 * printed at the end. After the attacks, a well-behaved client on the same gateways still
 * works, and no process has died. Protections and settings: docs/security.md.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { SignJWT, generateKeyPair } from 'jose';
import { MongoClient } from 'mongodb';
import WebSocket from 'ws';
import { buildSchema, getNamedType, isCompositeType, isEnumType, isNonNullType, type GraphQLInputType, type GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_JWT_SECRET, INFRA_ENV, REPO, cli, eventually, freePort, gqlOk, register, spawnService, startSystem, type ServiceProcess, type Session, type System } from './harness.js';

// ---- settings of the system under test: production, small limits so attacks hit them fast ----
const ENV: Record<string, string> = {
  NODE_ENV: 'production',
  JWT_SECRET: E2E_JWT_SECRET, // ≥ 32 characters, not the default
  LOG_LEVEL: 'debug', // the most talkative level a deployment would use: the log check below reads it all
  TRUST_PROXY: 'true', // attackers come "from" X-Forwarded-For addresses; the well-behaved client from 127.0.0.1
  GRAPHQL_MAX_COST: '500',
  RATE_LIMIT_SEND: '5/60s',
  RATE_LIMIT_TYPING: '5/60s',
  RATE_LIMIT_JOIN: '10/60s',
  RATE_LIMIT_SUBSCRIBE: '120/60s',
  LOGIN_FREE_FAILURES: '3',
  LOGIN_ADDRESS_FREE_FAILURES: '6',
  LOGIN_LOCKOUT_BASE_MS: '1000',
  WS_MAX_SOCKETS_PER_USER: '5',
};
const PASSWORD = 'correct horse battery'; // what harness.register uses
const FOREIGN = 'https://evil.example';

// ---- the table ------------------------------------------------------------------------------
interface Row {
  attack: string;
  path: string;
  expected: string;
  observed: string;
}
const rows: Row[] = [];
/** Records a row and asserts it: the suite fails on any difference. */
function row(attack: string, path: string, expected: string, observed: string): void {
  rows.push({ attack, path, expected, observed });
  expect(observed, `${attack} over ${path}`).toBe(expected);
}
function printTable(): void {
  const head: Row = { attack: 'attack', path: 'path', expected: 'expected', observed: 'observed' };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row, verdict = r.expected === r.observed ? 'ok' : 'DIFFERENT') =>
    `| ${r.attack.padEnd(w('attack'))} | ${r.path.padEnd(w('path'))} | ${r.expected.padEnd(w('expected'))} | ${r.observed.padEnd(w('observed'))} | ${verdict}`;
  const sep = `|${'-'.repeat(w('attack') + 2)}|${'-'.repeat(w('path') + 2)}|${'-'.repeat(w('expected') + 2)}|${'-'.repeat(w('observed') + 2)}|`;
  console.log(['', 'security suite', line(head, ''), sep, ...rows.map((r) => line(r)), '', `${rows.length} rows, ${rows.filter((r) => r.expected !== r.observed).length} different`, 'XSS in the page: covered by the web client\'s browser test, e2e/src/browser.e2e.test.ts "renders hostile bodies as text and keeps the layout" (<script>, <img onerror> bodies shown as text, never run).', ''].join('\n'));
}

// ---- HTTP -----------------------------------------------------------------------------------
interface HttpResult {
  status: number;
  headers: Headers;
  json: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string; retryAfter?: number } }[] } | null;
}
async function post(url: string, body: unknown, headers: Record<string, string> = {}, raw = false): Promise<HttpResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  let json: HttpResult['json'] = null;
  try {
    json = JSON.parse(text) as HttpResult['json'];
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json };
}
const gqlHttp = (url: string, query: string, variables: Record<string, unknown> = {}, token?: string, headers: Record<string, string> = {}) =>
  post(url, { query, variables }, { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers });
/** The first error's code, `ok` when there is data and no error, else the HTTP status. */
const codeOf = (r: HttpResult): string => r.json?.errors?.[0]?.extensions?.code ?? (r.json?.data && r.status === 200 ? 'ok' : `HTTP ${r.status}`);

// ---- WebSocket, speaking graphql-transport-ws by hand --------------------------------------
interface Msg {
  type: string;
  id?: string;
  payload?: unknown;
}
interface WsError {
  message: string;
  extensions?: { code?: string; retryAfter?: number };
}
class RawSocket {
  readonly ws: WebSocket;
  readonly messages: Msg[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves on open; rejects with the HTTP status when the upgrade is refused. */
  readonly opened: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private nextId = 0;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, 'graphql-transport-ws', { headers });
    this.ws.on('error', () => undefined); // reported through `closed` / `opened`
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (req, res) => {
        res.resume();
        req.destroy();
        reject(new Error(`HTTP ${res.statusCode ?? 0}`));
      });
      this.ws.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    this.ws.on('message', (data: Buffer) => {
      this.messages.push(JSON.parse(data.toString('utf8')) as Msg);
      for (const w of [...this.waiters]) w();
    });
  }

  static async connect(url: string, token: string | undefined, opts: { headers?: Record<string, string>; params?: Record<string, unknown> } = {}): Promise<RawSocket> {
    const s = new RawSocket(url, opts.headers);
    await s.opened;
    await s.init(opts.params ?? (token ? { authorization: `Bearer ${token}` } : {}));
    return s;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** Resolves with the first message (received or to come) that matches; rejects on timeout or close. */
  waitFor(what: string, match: (m: Msg) => boolean, timeoutMs = 10_000, from = 0): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.messages.slice(from).find(match);
        if (m) {
          done();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.slice(-3))}`));
      }, timeoutMs);
      const onClose = (code: number) => {
        done();
        reject(new Error(`socket closed (${code}) while waiting for ${what}`));
      };
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        this.ws.off('close', onClose);
      };
      this.waiters.add(check);
      this.ws.once('close', onClose);
      check();
    });
  }

  async init(params: Record<string, unknown>): Promise<void> {
    this.send({ type: 'connection_init', payload: params });
    await this.waitFor('connection_ack', (m) => m.type === 'connection_ack');
  }

  subscribe(query: string, variables: Record<string, unknown> = {}, id = `op-${++this.nextId}`): string {
    this.send({ type: 'subscribe', id, payload: { query, variables } });
    return id;
  }

  /** Runs one operation; resolves with its first `next` or `error` message. */
  async exec(query: string, variables: Record<string, unknown> = {}): Promise<Msg> {
    const id = this.subscribe(query, variables);
    return this.waitFor(`the answer to ${id}`, (m) => m.id === id && (m.type === 'next' || m.type === 'error'));
  }

  complete(id: string): void {
    this.send({ type: 'complete', id });
  }

  close(): void {
    this.ws.close(1000);
  }
}
/** The code of a `next` (its first error, or ok) or `error` message. */
function wsCodeOf(m: Msg): string {
  if (m.type === 'error') return (m.payload as WsError[])[0]?.extensions?.code ?? 'error';
  const p = m.payload as { errors?: WsError[]; data?: unknown };
  return p.errors?.[0]?.extensions?.code ?? (p.data ? 'ok' : 'no data');
}
const wsErrorsOf = (m: Msg): WsError[] => (m.type === 'error' ? (m.payload as WsError[]) : ((m.payload as { errors?: WsError[] }).errors ?? []));
/** How a connection attempt ended: the close code, or the refused upgrade's status. */
async function connectOutcome(s: RawSocket, params: Record<string, unknown> | null): Promise<string> {
  try {
    await s.opened;
  } catch (e) {
    return (e as Error).message;
  }
  if (params) s.send({ type: 'connection_init', payload: params });
  return `close ${(await s.closed).code}`;
}

// ---- tokens -----------------------------------------------------------------------------------
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
async function token(sub: Session, opts: { secret?: string; alg?: 'HS256' | 'HS512'; exp?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ username: sub.user.username, role: 'USER' })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256', typ: 'JWT' })
    .setSubject(sub.user.id)
    .setIssuer('conversa')
    .setIssuedAt(now - 10)
    .setExpirationTime(opts.exp ?? now + 600)
    .sign(new TextEncoder().encode(opts.secret ?? E2E_JWT_SECRET));
}

// ---- Redis, for what chat would publish (a mute, a ban, a removal) ----------------------------
/** PUBLISH over a bare RESP connection (the e2e package has no Redis client). */
function redisPublish(channel: string, message: string): Promise<void> {
  const url = new URL(INFRA_ENV.REDIS_URL);
  const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  return new Promise((resolve, reject) => {
    const sock = tcpConnect(Number(url.port || 6379), url.hostname, () => sock.write(`*3\r\n${bulk('PUBLISH')}${bulk(channel)}${bulk(message)}`));
    sock.once('data', (d) => {
      sock.end();
      if (d.toString().startsWith(':')) resolve();
      else reject(new Error(`redis: ${d.toString()}`));
    });
    sock.once('error', reject);
  });
}

// ---- the schema's arguments, for the injection cases ------------------------------------------
const schema = buildSchema(readFileSync(`${REPO}services/gateway/src/schema.graphql`, 'utf8'));
interface ArgTarget {
  name: string;
  operation: 'query' | 'mutation' | 'subscription';
  document: string;
  scalar: string;
}
function dummy(type: GraphQLInputType): string {
  const t = getNamedType(type);
  if (isEnumType(t)) return t.getValues()[0]!.name;
  switch (t.name) {
    case 'Int':
      return '1';
    case 'Float':
      return '1.5';
    case 'Boolean':
      return 'true';
    case 'DateTime':
      return '"2026-01-01T00:00:00Z"';
    default:
      return '"x"';
  }
}
/** Every argument whose type is a string-like scalar, as an operation taking it in $v. */
function stringArgs(): ArgTarget[] {
  const roots: [ArgTarget['operation'], GraphQLObjectType | null | undefined][] = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ];
  const out: ArgTarget[] = [];
  for (const [operation, type] of roots) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      for (const arg of field.args) {
        const scalar = getNamedType(arg.type).name;
        if (!['String', 'ID', 'JSON', 'DateTime'].includes(scalar)) continue;
        const others = field.args.filter((o) => o !== arg && isNonNullType(o.type)).map((o) => `${o.name}: ${dummy(o.type)}`);
        const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
        out.push({
          name: `${field.name}.${arg.name}`,
          operation,
          scalar,
          document: `${operation}($v: ${String(arg.type)}) { ${field.name}(${[`${arg.name}: $v`, ...others].join(', ')})${selection} }`,
        });
      }
    }
  }
  return out;
}

describe('security: attacks over HTTP and WebSocket', () => {
  let sys: System;
  let g1: string;
  let g2: string;
  let w1: string;
  let w2: string;
  let dev: { proc: ServiceProcess; http: string; ws: string } | undefined;
  let mongo: MongoClient;
  const tag = randomUUID().slice(0, 6);
  const sessions: Record<string, Session> = {};
  const tokensSeen = new Set<string>();
  const open: RawSocket[] = [];
  /** The well-behaved client: connected before the attacks, checked after them. */
  let good: Session;
  let goodWs: RawSocket;
  let goodSub: string;
  let goodRoom: string;

  const user = async (name: string, gw = () => g1) => {
    const s = await register(gw(), `${name}_${tag}`, name);
    sessions[name] = s;
    tokensSeen.add(s.token);
    return s;
  };
  const ws = async (s: Session, gw = () => w1, headers: Record<string, string> = {}) => {
    const sock = await RawSocket.connect(gw(), s.token, { headers });
    open.push(sock);
    return sock;
  };
  const join = (s: Session, room: string) => gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, s.token);
  const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id seq body } }';
  const ADDED = 'subscription($r: ID!) { messageAdded(room: $r) { id seq body } }';
  const REPLAY = 'subscription($r: ID!) { messageAdded(room: $r, after: 0) { id seq body } }';
  const bodyOf = (m: Msg) => (m.type === 'next' ? (m.payload as { data?: { messageAdded?: { body: string } } }).data?.messageAdded?.body : undefined);

  beforeAll(async () => {
    sys = await startSystem({ gateways: 2, env: ENV });
    [g1, g2] = [sys.gateways[0]!.http, sys.gateways[1]!.http];
    [w1, w2] = [sys.gateways[0]!.ws, sys.gateways[1]!.ws];
    mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
    good = await user('good');
    goodRoom = `lobby-${tag}`;
    await join(good, goodRoom);
    goodWs = await ws(good, () => w2);
    goodSub = goodWs.subscribe('subscription($r: ID!) { messageAdded(room: $r, after: 0) { id seq body } }', { r: goodRoom });
    // Live once a message sent now reaches it.
    await gqlOk(g1, SEND, { r: goodRoom, b: 'before the attacks', c: 'g0' }, good.token);
    await goodWs.waitFor('the first message', (m) => m.id === goodSub && m.type === 'next');
  });

  afterAll(async () => {
    printTable();
    for (const s of open) s.close();
    await mongo?.close();
    if (dev && dev.proc.child.exitCode === null) {
      dev.proc.child.kill('SIGTERM');
      await dev.proc.exited;
    }
    await sys?.stop();
  });

  // ---- identities -------------------------------------------------------------------------
  it('refuses forged, expired, alg:none, HS512 and RS256 tokens on both paths', async () => {
    const victim = await user('tokvic');
    const now = Math.floor(Date.now() / 1000);
    const { privateKey } = await generateKeyPair('RS256');
    const rs256 = await new SignJWT({ username: victim.user.username, role: 'ADMIN' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject(victim.user.id)
      .setIssuer('conversa')
      .setExpirationTime(now + 600)
      .sign(privateKey);
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: victim.user.id, username: victim.user.username, role: 'ADMIN', iss: 'conversa', exp: now + 600 })}.`;
    const cases: [string, string][] = [
      ['forged token (other secret)', await token(victim, { secret: 'not-the-secret-0123456789-abcdefghijk' })],
      ['expired token', await token(victim, { exp: now - 5 })],
      ['alg: none token', none],
      ['HS512 token (right secret)', await token(victim, { alg: 'HS512' })],
      ['RS256 token (own key pair)', rs256],
    ];
    for (const [attack, t] of cases) {
      row(attack, 'HTTP', 'UNAUTHENTICATED', codeOf(await gqlHttp(g1, '{ me { id } }', {}, t)));
      row(attack, 'WS', 'close 4403', await connectOutcome(new RawSocket(w1), { authorization: `Bearer ${t}` }));
    }
    row('Mongo operator as the token', 'WS', 'close 4403', await connectOutcome(new RawSocket(w1), { authorization: { $ne: null } }));
    row('Mongo operator as the token', 'HTTP', 'UNAUTHENTICATED', codeOf(await gqlHttp(g1, '{ me { id } }', {}, undefined, { authorization: 'Bearer {"$ne":null}' })));
  });

  it('ends a socket when its token expires (4403)', async () => {
    const s = await user('expiring');
    const short = await token(s, { exp: Math.floor(Date.now() / 1000) + 2 });
    const sock = await RawSocket.connect(w1, short);
    sock.subscribe(ADDED, { r: goodRoom });
    row('token expires on a live socket', 'WS', 'close 4403', `close ${(await sock.closed).code}`);
  });

  // ---- protocol -----------------------------------------------------------------------------
  it('closes sockets that break the protocol: subscribe before ack, no init, duplicate ids, huge params', async () => {
    const s = await user('proto');
    const early = new RawSocket(w1);
    await early.opened;
    early.send({ type: 'subscribe', id: '1', payload: { query: '{ me { id } }' } });
    row('subscribe before connection_ack', 'WS', 'close 4401', `close ${(await early.closed).code}`);

    const silent = new RawSocket(w1);
    await silent.opened;
    const started = Date.now();
    const { code } = await silent.closed;
    row('no connection_init (3 s timeout)', 'WS', 'close 4408', `close ${code}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);

    const dup = await RawSocket.connect(w1, s.token);
    dup.subscribe(ADDED, { r: goodRoom }, 'same');
    dup.subscribe(ADDED, { r: goodRoom }, 'same');
    row('duplicate subscription id', 'WS', 'close 4409', `close ${(await dup.closed).code}`);

    const big = new RawSocket(w1);
    row('5 KB connectionParams', 'WS', 'close 4400', await connectOutcome(big, { authorization: `Bearer ${s.token}`, pad: 'x'.repeat(5_000) }));
  });

  it('closes a socket that sends a 10 MB frame (1009) and refuses a 10 MB body (413)', async () => {
    const s = await user('frame');
    const sock = await RawSocket.connect(w1, s.token);
    sock.send({ type: 'subscribe', id: 'big', payload: { query: `{ me { id } } # ${'x'.repeat(10 * 1024 * 1024)}` } });
    row('10 MB frame', 'WS', 'close 1009', `close ${(await sock.closed).code}`);
    const r = await post(g1, `{"query":"{ me { id } }","pad":"${'x'.repeat(10 * 1024 * 1024)}"}`, { authorization: `Bearer ${s.token}` }, true);
    row('10 MB request body', 'HTTP', 'HTTP 413', `HTTP ${r.status}`);
  });

  it('caps sockets per user (4429) without touching the user’s other sockets', async () => {
    const s = await user('many');
    const socks = [];
    for (let i = 0; i < 5; i++) socks.push(await ws(s));
    const sixth = new RawSocket(w1);
    row('6th socket of one user (cap 5)', 'WS', 'close 4429', await connectOutcome(sixth, { authorization: `Bearer ${s.token}` }));
    row('the user’s 5 other sockets', 'WS', '5 open', `${socks.filter((x) => x.isOpen).length} open`);
    const answer = await socks[0]!.exec('{ me { id } }');
    row('…and they still answer', 'WS', 'ok', wsCodeOf(answer));
    for (const x of socks) x.close();
  });

  it('refuses a 10,000-subscription flood on one socket beyond its cap, keeping the socket', async () => {
    const s = await user('flood');
    const room = `flood-${tag}`;
    await join(s, room);
    const sock = await ws(s);
    const before = sock.messages.length;
    for (let i = 0; i < 10_000; i++) sock.subscribe('subscription($r: ID!) { typing(room: $r) { room } }', { r: room }, `f${i}`);
    await eventually('9,900 refusals', () => (sock.messages.slice(before).filter((m) => m.type === 'error').length >= 9_900 ? true : undefined), 60_000);
    const errors = sock.messages.slice(before).filter((m) => m.type === 'error');
    const codes = new Set(errors.map(wsCodeOf));
    row('10,000 subscriptions on one socket (cap 100)', 'WS', '9900 RATE_LIMITED, socket open', `${errors.length} ${[...codes].join('/')}, socket ${sock.isOpen ? 'open' : 'closed'}`);
    const retry = wsErrorsOf(errors[0]!)[0]?.extensions?.retryAfter;
    row('…each refusal says when to retry', 'WS', 'retryAfter ≥ 1', typeof retry === 'number' && retry >= 1 ? 'retryAfter ≥ 1' : String(retry));
    sock.close();
  }, 120_000);

  // ---- query limits --------------------------------------------------------------------------
  it('refuses depth, alias, root-field, cost and token bombs identically on both paths', async () => {
    const s = await user('bomber');
    const sock = await ws(s);
    const depth = `{ __type(name: "Query") { ${'fields { type { '.repeat(15)}name${' } }'.repeat(15)} } }`;
    const alias = `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const roots = `{ ${Array.from({ length: 25 }, () => 'me { id }').join(' ')} }`;
    const cost = '{ rooms { members { id username displayName role online } online { id username displayName role online } } }';
    const tokens = `{ me { ${'id '.repeat(2_500)}} }`;
    const bombs: [string, string, RegExp][] = [
      ['depth bomb (depth 32)', depth, /too deep/],
      ['alias bomb (200 aliases)', alias, /too many aliases/],
      ['root-field bomb (25 root fields)', roots, /too many top-level fields/],
      ['cost bomb (lists in lists)', cost, /too expensive/],
      ['token bomb (2,500 fields)', tokens, /more that 2000 tokens/],
    ];
    for (const [attack, query, message] of bombs) {
      const h = await gqlHttp(g1, query, {}, s.token);
      row(attack, 'HTTP', 'BAD_USER_INPUT, named', `${codeOf(h)}${(h.json?.errors ?? []).some((e) => message.test(e.message)) ? ', named' : ''}`);
      const w = await sock.exec(query);
      row(attack, 'WS', 'BAD_USER_INPUT, named', `${wsCodeOf(w)}${wsErrorsOf(w).some((e) => message.test(e.message)) ? ', named' : ''}`);
    }
  });

  it('refuses batched HTTP requests and batched WebSocket frames', async () => {
    const s = await user('batcher');
    const batch = Array.from({ length: 500 }, () => ({ query: '{ me { id } }' }));
    row('500-operation batch', 'HTTP', 'HTTP 400', `HTTP ${(await post(g1, batch, { authorization: `Bearer ${s.token}` })).status}`);
    const sock = await RawSocket.connect(w1, s.token);
    sock.send(batch.map((p, i) => ({ type: 'subscribe', id: `b${i}`, payload: p })));
    row('500-operation batch (one frame)', 'WS', 'close 4400', `close ${(await sock.closed).code}`);
  });

  it('hides introspection and "did you mean" in production, shows them in development', async () => {
    const s = await user('prober');
    const sock = await ws(s);
    const intro = '{ __schema { queryType { name } } }';
    row('introspection (production)', 'HTTP', 'BAD_USER_INPUT', codeOf(await gqlHttp(g1, intro, {}, s.token)));
    row('introspection (production)', 'WS', 'BAD_USER_INPUT', wsCodeOf(await sock.exec(intro)));
    const typo = '{ me { usernam } }';
    const suggests = (msgs: { message: string }[]) => (msgs.some((e) => /Did you mean/.test(e.message)) ? 'suggests' : 'no suggestion');
    row('"did you mean" probing (production)', 'HTTP', 'no suggestion', suggests((await gqlHttp(g1, typo, {}, s.token)).json?.errors ?? []));
    row('"did you mean" probing (production)', 'WS', 'no suggestion', suggests(wsErrorsOf(await sock.exec(typo))));

    // The same build in development mode, on the same namespace: both are on, on both paths.
    const port = await freePort();
    const proc = spawnService('gateway', { ...sys.env, NODE_ENV: 'development', PORT: String(port) });
    dev = { proc, http: `http://127.0.0.1:${port}/graphql`, ws: `ws://127.0.0.1:${port}/graphql` };
    await eventually('the development gateway', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok ? true : undefined), 60_000);
    const devWs = await RawSocket.connect(dev.ws, s.token);
    open.push(devWs);
    row('introspection (development)', 'HTTP', 'ok', codeOf(await gqlHttp(dev.http, intro, {}, s.token)));
    row('introspection (development)', 'WS', 'ok', wsCodeOf(await devWs.exec(intro)));
    row('"did you mean" (development)', 'HTTP', 'suggests', suggests((await gqlHttp(dev.http, typo, {}, s.token)).json?.errors ?? []));
    row('"did you mean" (development)', 'WS', 'suggests', suggests(wsErrorsOf(await devWs.exec(typo))));
  });

  // ---- cross-site -----------------------------------------------------------------------------
  it('refuses foreign origins (HTTP and the WebSocket upgrade) and CSRF-style simple requests', async () => {
    const s = await user('csrf');
    row('foreign Origin', 'HTTP', 'HTTP 403', `HTTP ${(await gqlHttp(g1, '{ me { id } }', {}, s.token, { origin: FOREIGN })).status}`);
    const preflight = await fetch(g1, { method: 'OPTIONS', headers: { origin: FOREIGN, 'access-control-request-method': 'POST' } });
    row('foreign Origin preflight', 'HTTP', 'HTTP 403', `HTTP ${preflight.status}`);
    row('foreign Origin upgrade', 'WS', 'HTTP 403', await connectOutcome(new RawSocket(w1, { origin: FOREIGN }), { authorization: `Bearer ${s.token}` }));
    const allowed = await gqlHttp(g1, '{ me { id } }', {}, s.token, { origin: 'http://localhost:4000' });
    row('allowed Origin (control)', 'HTTP', 'ok, CORS header', `${codeOf(allowed)}${allowed.headers.get('access-control-allow-origin') === 'http://localhost:4000' ? ', CORS header' : ''}`);
    const simple = await post(g1, JSON.stringify({ query: `mutation { joinRoom(name: "csrf-${tag}") { id } }` }), { 'content-type': 'text/plain', authorization: `Bearer ${s.token}` }, true);
    row('CSRF simple POST (text/plain)', 'HTTP', 'HTTP 400', `HTTP ${simple.status}`);
    const form = await post(g1, `query=${encodeURIComponent('{ me { id } }')}`, { 'content-type': 'application/x-www-form-urlencoded' }, true);
    row('CSRF simple POST (form)', 'HTTP', 'HTTP 400', `HTTP ${form.status}`);
  });

  it('sends the security headers on API answers and 404s', async () => {
    const want = ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options'];
    const check = (h: Headers) => {
      const missing = want.filter((k) => !h.get(k));
      const csp = h.get('content-security-policy') ?? '';
      if (!/frame-ancestors 'none'/.test(csp) || /unsafe-inline'?[^;]*script|script-src[^;]*unsafe-inline/.test(csp)) missing.push('strict CSP');
      if (h.get('x-content-type-options') !== 'nosniff') missing.push('nosniff');
      return missing.length === 0 ? 'all present' : `missing ${missing.join(', ')}`;
    };
    row('security headers on /graphql JSON', 'HTTP', 'all present', check((await gqlHttp(g1, '{ __typename }')).headers));
    row('security headers on a 404 (API)', 'HTTP', 'all present', check((await fetch(g1.replace('/graphql', '/nope'), { method: 'POST' })).headers));
    row('security headers on a 404 (files)', 'HTTP', 'all present', check((await fetch(g1.replace('/graphql', '/nope.json'))).headers));
  });

  // ---- input ----------------------------------------------------------------------------------
  it('turns Mongo operators and prototype keys in every string argument into clean refusals', async () => {
    const s = await user('injector');
    const sock = await ws(s);
    const targets = stringArgs();
    expect(targets.length).toBeGreaterThan(20);
    const payloads: [string, unknown][] = [
      ['{"$ne": null}', { $ne: null }],
      ['{"$where": "sleep(5000)"}', { $where: 'sleep(5000) || true' }],
      ['{"__proto__": {"role": "ADMIN"}}', JSON.parse('{"__proto__": {"role": "ADMIN"}}')],
    ];
    for (const [label, value] of payloads) {
      for (const path of ['HTTP', 'WS'] as const) {
        const wrong: string[] = [];
        let n = 0;
        for (const t of targets) {
          if (path === 'HTTP' && t.operation === 'subscription') continue; // subscriptions are WebSocket-only
          n++;
          const code = path === 'HTTP' ? codeOf(await post(g1, { query: t.document, variables: { v: value } }, { authorization: `Bearer ${s.token}` })) : wsCodeOf(await sock.exec(t.document, { v: value }));
          if (code !== 'BAD_USER_INPUT') wrong.push(`${t.name}=${code}`);
        }
        row(`${label} in each String/ID/JSON/DateTime argument`, path, `BAD_USER_INPUT ×${n}`, wrong.length === 0 ? `BAD_USER_INPUT ×${n}` : wrong.join(' '));
      }
    }
    // Prototype keys as ids: refused (or FORBIDDEN first, for admin-only fields).
    for (const path of ['HTTP', 'WS'] as const) {
      const wrong: string[] = [];
      let n = 0;
      for (const t of targets.filter((x) => x.scalar === 'ID')) {
        if (path === 'HTTP' && t.operation === 'subscription') continue;
        for (const key of ['__proto__', 'constructor']) {
          n++;
          const code = path === 'HTTP' ? codeOf(await post(g1, { query: t.document, variables: { v: key } }, { authorization: `Bearer ${s.token}` })) : wsCodeOf(await sock.exec(t.document, { v: key }));
          if (code !== 'BAD_USER_INPUT' && code !== 'FORBIDDEN') wrong.push(`${t.name}(${key})=${code}`);
        }
      }
      row('"__proto__" / "constructor" as every ID argument', path, `refused ×${n}`, wrong.length === 0 ? `refused ×${n}` : wrong.join(' '));
    }
    // Operator-looking strings are plain strings: they match nothing.
    const login = await gqlHttp(g1, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: '{"$ne": null}', p: '{"$ne": null}' }, undefined, { 'x-forwarded-for': '10.3.0.3' });
    row('operator-looking strings as login', 'HTTP', 'UNAUTHENTICATED', codeOf(login));
    const room = await sock.exec('query($r: ID!) { room(id: $r) { id } }', { r: '$where' });
    row('operator-looking string as a room id', 'WS', 'null (no such room)', (room.payload as { data?: { room: unknown } }).data?.room === null ? 'null (no such room)' : JSON.stringify(room.payload));
    // "__proto__" in variables or connectionParams grants nothing.
    const proto = await post(g1, '{"query":"{ auditLog { events { id } } }","variables":{"__proto__":{"role":"ADMIN"}},"extensions":{"__proto__":{"role":"ADMIN"}}}', { authorization: `Bearer ${s.token}` }, true);
    row('"__proto__" in request variables, then auditLog', 'HTTP', 'FORBIDDEN', codeOf(proto));
    const polluted = await RawSocket.connect(w1, s.token, { params: JSON.parse(`{"authorization":"Bearer ${s.token}","__proto__":{"role":"ADMIN"},"constructor":{"prototype":{"role":"ADMIN"}}}`) as Record<string, unknown> });
    open.push(polluted);
    row('"__proto__" in connectionParams, then auditLog', 'WS', 'FORBIDDEN', wsCodeOf(await polluted.exec('{ auditLog { events { id } } }')));
    row('control characters in a message body', 'HTTP', 'BAD_USER_INPUT', codeOf(await gqlHttp(g1, SEND, { r: goodRoom, b: 'hi\u0000\u001b[2J', c: 'ctl' }, s.token)));
  });

  // ---- authorization --------------------------------------------------------------------------
  it('keeps other people’s private rooms and messages theirs', async () => {
    const [ann, ben, eve] = [await user('ann'), await user('ben'), await user('eve')];
    const dm = (await gqlOk<{ openDirectRoom: { id: string } }>(g1, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: ben.user.id }, ann.token)).openDirectRoom.id;
    await gqlOk(g1, SEND, { r: dm, b: 'just us', c: 'dm1' }, ben.token);
    const eveWs = await ws(eve);
    const READ = 'query($r: ID!) { messages(room: $r) { messages { body } } }';
    const PEEK = 'query($r: ID!) { room(id: $r) { id } }';
    row("reading someone else's private room", 'HTTP', 'FORBIDDEN', codeOf(await gqlHttp(g2, READ, { r: dm }, eve.token)));
    row("reading someone else's private room", 'WS', 'FORBIDDEN', wsCodeOf(await eveWs.exec(READ, { r: dm })));
    row("peeking at someone else's private room", 'HTTP', 'FORBIDDEN', codeOf(await gqlHttp(g1, PEEK, { r: dm }, eve.token)));
    row("peeking at someone else's private room", 'WS', 'FORBIDDEN', wsCodeOf(await eveWs.exec(PEEK, { r: dm })));
    row("sending to someone else's private room", 'HTTP', 'FORBIDDEN', codeOf(await gqlHttp(g1, SEND, { r: dm, b: 'let me in', c: 'e1' }, eve.token)));
    row("sending to someone else's private room", 'WS', 'FORBIDDEN', wsCodeOf(await eveWs.exec(SEND, { r: dm, b: 'let me in', c: 'e2' })));
    row("subscribing to someone else's private room", 'WS', 'FORBIDDEN', wsCodeOf(await eveWs.exec(ADDED, { r: dm })));
    await join(ann, goodRoom);
    const msg = (await gqlOk<{ sendMessage: { id: string } }>(g1, SEND, { r: goodRoom, b: 'mine', c: 'own1' }, ann.token)).sendMessage.id;
    const EDIT = 'mutation($id: ID!) { editMessage(id: $id, body: "not yours") { id } }';
    const DELETE = 'mutation($id: ID!) { deleteMessage(id: $id) { id } }';
    row("editing someone else's message", 'HTTP', 'FORBIDDEN', codeOf(await gqlHttp(g2, EDIT, { id: msg }, eve.token)));
    row("editing someone else's message", 'WS', 'FORBIDDEN', wsCodeOf(await eveWs.exec(EDIT, { id: msg })));
    row("deleting someone else's message", 'HTTP', 'FORBIDDEN', codeOf(await gqlHttp(g1, DELETE, { id: msg }, eve.token)));
    row("deleting someone else's message", 'WS', 'FORBIDDEN', wsCodeOf(await eveWs.exec(DELETE, { id: msg })));
    row('auditLog as a non-admin', 'HTTP', 'FORBIDDEN', codeOf(await gqlHttp(g1, '{ auditLog { events { id } } }', {}, eve.token)));
  });

  // ---- rate limits ----------------------------------------------------------------------------
  it('locks a username out after repeated failures, growing, on every path and gateway', async () => {
    const victim = await user('victim');
    const attacker = await user('attacker');
    const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }';
    const from = { 'x-forwarded-for': '10.1.0.1' };
    const attempt = (gw: string, p: string) => gqlHttp(gw, LOGIN, { u: victim.user.username, p }, undefined, from);
    const first: string[] = [];
    for (let i = 0; i < 4; i++) first.push(codeOf(await attempt(i % 2 ? g2 : g1, `guess-${i}`)));
    row('login brute force: 4 wrong passwords', 'HTTP', 'UNAUTHENTICATED ×4', first.every((c) => c === 'UNAUTHENTICATED') ? 'UNAUTHENTICATED ×4' : first.join(','));
    const locked = await attempt(g2, PASSWORD);
    row('…then the right password (locked 1 s)', 'HTTP', 'RATE_LIMITED retryAfter 1', `${codeOf(locked)} retryAfter ${locked.json?.errors?.[0]?.extensions?.retryAfter}`);
    const aws = await ws(attacker, () => w1, { 'x-forwarded-for': '10.1.0.9' });
    const viaWs = await aws.exec(LOGIN, { u: victim.user.username, p: PASSWORD });
    row('…the same login over a socket, other address', 'WS', 'RATE_LIMITED', wsCodeOf(viaWs));
    // Once the lockout has passed, the next failure locks for twice as long.
    await eventually('the 1 s lockout to pass', async () => ((codeOf(await attempt(g1, 'guess-5'))) === 'UNAUTHENTICATED' ? true : undefined), 10_000);
    const longer = await attempt(g1, PASSWORD);
    row('…a failure after the lockout (locked 2 s)', 'HTTP', 'RATE_LIMITED retryAfter 2', `${codeOf(longer)} retryAfter ${longer.json?.errors?.[0]?.extensions?.retryAfter}`);
  });

  it('locks an address out after failures across many usernames; other addresses are not affected', async () => {
    const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }';
    const from = { 'x-forwarded-for': '10.2.0.2' };
    const codes: string[] = [];
    for (let i = 0; i < 7; i++) codes.push(codeOf(await gqlHttp(i % 2 ? g2 : g1, LOGIN, { u: `nobody${i}_${tag}`, p: 'wrong password' }, undefined, from)));
    row('password spraying: 7 names from one address', 'HTTP', 'UNAUTHENTICATED ×7', codes.every((c) => c === 'UNAUTHENTICATED') ? 'UNAUTHENTICATED ×7' : codes.join(','));
    row('…then an 8th name from that address', 'HTTP', 'RATE_LIMITED', codeOf(await gqlHttp(g1, LOGIN, { u: `fresh_${tag}`, p: 'wrong password' }, undefined, from)));
    const goodLogin = await gqlHttp(g2, LOGIN, { u: good.user.username, p: PASSWORD });
    row('…the well-behaved user, own address', 'HTTP', 'ok', codeOf(goodLogin));
    const t = (goodLogin.json?.data as { login?: { token: string } } | undefined)?.login?.token;
    if (t) tokensSeen.add(t);
  });

  it('answers spam beyond the limits with RATE_LIMITED and retryAfter, shared by both gateways, never dropping the socket', async () => {
    const s = await user('spammer');
    const room = `spam-${tag}`;
    await join(s, room);
    const [ws1, ws2] = [await ws(s, () => w1), await ws(s, () => w2)];
    const sends = [
      codeOf(await gqlHttp(g1, SEND, { r: room, b: 's1', c: 's1' }, s.token)),
      codeOf(await gqlHttp(g2, SEND, { r: room, b: 's2', c: 's2' }, s.token)),
      wsCodeOf(await ws1.exec(SEND, { r: room, b: 's3', c: 's3' })),
      wsCodeOf(await ws2.exec(SEND, { r: room, b: 's4', c: 's4' })),
      codeOf(await gqlHttp(g1, SEND, { r: room, b: 's5', c: 's5' }, s.token)),
    ];
    row('5 sends across 2 gateways and both paths (limit 5/60 s)', 'HTTP+WS', 'ok ×5', sends.every((c) => c === 'ok') ? 'ok ×5' : sends.join(','));
    const h = await gqlHttp(g2, SEND, { r: room, b: 's6', c: 's6' }, s.token);
    const retry = h.json?.errors?.[0]?.extensions?.retryAfter;
    row('6th send', 'HTTP', 'RATE_LIMITED, retryAfter', `${codeOf(h)}${typeof retry === 'number' && retry > 0 ? ', retryAfter' : ''}`);
    const w = await ws1.exec(SEND, { r: room, b: 's7', c: 's7' });
    row('7th send', 'WS', 'RATE_LIMITED, retryAfter', `${wsCodeOf(w)}${typeof wsErrorsOf(w)[0]?.extensions?.retryAfter === 'number' ? ', retryAfter' : ''}`);
    row('…the spammer’s sockets', 'WS', '2 open', `${[ws1, ws2].filter((x) => x.isOpen).length} open`);

    const TYPING = 'mutation($r: ID!) { setTyping(room: $r) }';
    const typing: string[] = [];
    for (let i = 0; i < 6; i++) typing.push(i % 2 ? wsCodeOf(await ws2.exec(TYPING, { r: room })) : codeOf(await gqlHttp(g1, TYPING, { r: room }, s.token)));
    row('6 typing signals (limit 5/60 s)', 'HTTP+WS', 'ok ×5, RATE_LIMITED', `${typing.slice(0, 5).every((c) => c === 'ok') ? 'ok ×5' : typing.slice(0, 5).join(',')}, ${typing[5]}`);

    const joins: string[] = [];
    for (let i = 0; i < 10; i++) joins.push(codeOf(await gqlHttp(i % 2 ? g2 : g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: `j${i}-${tag}` }, s.token)));
    row('10 more joins (limit 10/60 s, 1 used)', 'HTTP', 'ok ×9, RATE_LIMITED', `${joins.slice(0, 9).every((c) => c === 'ok') ? 'ok ×9' : joins.slice(0, 9).join(',')}, ${joins[9]}`);

    const subs: string[] = [];
    const sub = await ws(await user('subspam'), () => w2);
    for (let i = 0; i < 121; i++) {
      // With after: 0 an accepted subscription answers at once with the room's first message.
      const id = `s${i}`;
      sub.subscribe('subscription($r: ID!) { messageAdded(room: $r, after: 0) { seq } }', { r: goodRoom }, id);
      const m = await sub.waitFor(`subscribe ${i}`, (x) => x.id === id && (x.type === 'next' || x.type === 'error'));
      subs.push(wsCodeOf(m));
      if (m.type === 'next') sub.complete(id);
    }
    row('121 subscribes (limit 120/60 s)', 'WS', 'ok ×120, RATE_LIMITED', `${subs.slice(0, 120).every((c) => c === 'ok') ? 'ok ×120' : [...new Set(subs.slice(0, 120))].join(',')}, ${subs[120]}`);
  }, 120_000);

  // ---- authority that ends ----------------------------------------------------------------------
  it('ends live subscriptions at once on a mute (that room), a ban (everything) and a removal', async () => {
    const [mia, ben] = [await user('mia'), await user('bo')];
    const [r1, r2] = [`mute-a-${tag}`, `mute-b-${tag}`];
    for (const r of [r1, r2]) {
      await join(mia, r);
      await join(ben, r);
    }
    const sock = await ws(mia, () => w2);
    // after: 0 replays what was sent before the subscription is live: no race with the sends.
    const s1 = sock.subscribe(REPLAY, { r: r1 });
    const s2 = sock.subscribe(REPLAY, { r: r2 });
    await gqlOk(g1, SEND, { r: r1, b: 'r1 live', c: 'm1' }, ben.token);
    await gqlOk(g1, SEND, { r: r2, b: 'r2 live', c: 'm2' }, ben.token);
    await sock.waitFor('r1 live', (m) => m.id === s1 && bodyOf(m) === 'r1 live');
    await sock.waitFor('r2 live', (m) => m.id === s2 && bodyOf(m) === 'r2 live');
    // What chat publishes when it applies a mute (its moderation service; here: directly).
    await redisPublish(`${sys.namespace}:access`, JSON.stringify({ kind: 'access.revoked', user: mia.user.id, room: r1, reason: 'muted' }));
    const ended = await sock.waitFor('r1 to end', (m) => m.id === s1 && m.type === 'error');
    row('muted in a room: its subscription', 'WS', 'FORBIDDEN', wsCodeOf(ended));
    await gqlOk(g1, SEND, { r: r2, b: 'r2 still', c: 'm3' }, ben.token);
    await sock.waitFor('r2 still live', (m) => m.id === s2 && bodyOf(m) === 'r2 still');
    row('muted in a room: another room', 'WS', 'still live', 'still live');
    // A mute stored by chat (the mutes collection) refuses a new subscription to that room.
    await mongo.db(sys.namespace).collection<{ _id: string }>('mutes').insertOne({ _id: `${mia.user.id}/${r1}`, user: mia.user.id, room: r1, until: new Date(Date.now() + 600_000), action: randomUUID(), reason: 'security suite', at: new Date() } as never);
    row('muted in a room: subscribing again', 'WS', 'FORBIDDEN', wsCodeOf(await sock.exec(ADDED, { r: r1 })));

    // Removed from a private room: that room's stream ends, nothing else.
    const dm = (await gqlOk<{ openDirectRoom: { id: string } }>(g1, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: mia.user.id }, ben.token)).openDirectRoom.id;
    const benWs = await ws(ben, () => w1);
    const d = benWs.subscribe(REPLAY, { r: dm });
    const other = benWs.subscribe(REPLAY, { r: r2 });
    await gqlOk(g2, SEND, { r: dm, b: 'dm live', c: 'd1' }, mia.token);
    await benWs.waitFor('dm live', (m) => m.id === d && bodyOf(m) === 'dm live');
    await benWs.waitFor('r2 replayed', (m) => m.id === other && bodyOf(m) === 'r2 still');
    await redisPublish(`${sys.namespace}:access`, JSON.stringify({ kind: 'access.revoked', user: ben.user.id, room: dm, reason: 'removed' }));
    row('removed from a private room', 'WS', 'FORBIDDEN', wsCodeOf(await benWs.waitFor('the dm to end', (m) => m.id === d && m.type === 'error')));
    await gqlOk(g2, SEND, { r: r2, b: 'r2 for bo', c: 'm4' }, mia.token);
    await benWs.waitFor('r2 still live for bo', (m) => m.id === other && bodyOf(m) === 'r2 for bo');

    // Banned: every socket of the user closes (4403), and no new one opens.
    const second = await ws(mia, () => w1);
    await redisPublish(`${sys.namespace}:access`, JSON.stringify({ kind: 'access.revoked', user: mia.user.id, room: null, reason: 'banned' }));
    const codes = await Promise.all([sock.closed, second.closed]);
    row('banned: all the user’s sockets (2 gateways)', 'WS', 'close 4403 ×2', codes.every((c) => c.code === 4403) ? 'close 4403 ×2' : codes.map((c) => c.code).join(','));
    await mongo.db(sys.namespace).collection<{ _id: string }>('mutes').insertOne({ _id: `${mia.user.id}/*`, user: mia.user.id, room: null, until: null, action: randomUUID(), reason: 'security suite', at: new Date() } as never);
    row('banned: a new socket', 'WS', 'close 4403', await connectOutcome(new RawSocket(w1), { authorization: `Bearer ${mia.token}` }));
    row('…others in the same rooms', 'WS', 'open', benWs.isOpen ? 'open' : 'closed');
  });

  it('ends every room of a user an admin mutes, through chat, on every gateway', async () => {
    const name = `root_${tag}`;
    const created = await cli(sys.env, ['admin', 'create', name, '--password', 'admin-password-1']);
    expect(created.code, created.out).toBe(0);
    const admin = (await gqlOk<{ login: { token: string } }>(g1, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: name, p: 'admin-password-1' })).login.token;
    tokensSeen.add(admin);
    const zed = await user('zed');
    const [ra, rb] = [`am-a-${tag}`, `am-b-${tag}`];
    await join(zed, ra);
    await join(zed, rb);
    const [z1, z2] = [await ws(zed, () => w1), await ws(zed, () => w2)];
    const AFTER0 = 'subscription($r: ID!) { messageAdded(room: $r, after: 0) { seq } }';
    await gqlOk(g1, SEND, { r: ra, b: 'a', c: 'za' }, zed.token);
    await gqlOk(g1, SEND, { r: rb, b: 'b', c: 'zb' }, zed.token);
    const [sa, sb] = [z1.subscribe(AFTER0, { r: ra }), z2.subscribe(AFTER0, { r: rb })];
    await z1.waitFor('ra live', (m) => m.id === sa && m.type === 'next');
    await z2.waitFor('rb live', (m) => m.id === sb && m.type === 'next');
    await gqlOk(g2, 'mutation($u: ID!) { muteUser(userId: $u, minutes: 1, reason: "security suite") { id } }', { u: zed.user.id }, admin);
    const ended = await Promise.all([
      z1.waitFor('ra to end', (m) => m.id === sa && m.type === 'error'),
      z2.waitFor('rb to end', (m) => m.id === sb && m.type === 'error'),
    ]);
    row('muted everywhere by an admin (muteUser → chat → gateways)', 'WS', 'FORBIDDEN ×2, sockets open', `${ended.map(wsCodeOf).join('/') === 'FORBIDDEN/FORBIDDEN' ? 'FORBIDDEN ×2' : ended.map(wsCodeOf).join('/')}, sockets ${z1.isOpen && z2.isOpen ? 'open' : 'closed'}`);
    row('…sending while muted', 'HTTP', 'FORBIDDEN', codeOf(await gqlHttp(g1, SEND, { r: ra, b: 'still here?', c: 'zc' }, zed.token)));
  });

  // ---- secrets ----------------------------------------------------------------------------------
  it('refuses to start in production with a default or short JWT secret', async () => {
    for (const [label, secret] of [['no JWT_SECRET', undefined], ['a 20-character JWT_SECRET', 'short-secret-20chars']] as const) {
      const port = await freePort();
      const env: Record<string, string> = { ...sys.env, NODE_ENV: 'production', PORT: String(port) };
      delete env.JWT_SECRET;
      if (secret) env.JWT_SECRET = secret;
      const p = spawnService('gateway', env);
      const code = await p.exited;
      const out = p.output.join('');
      row(`production gateway with ${label}`, 'process', 'exit ≠ 0, names JWT_SECRET', `${code === 0 ? 'exit 0' : 'exit ≠ 0'}${out.includes('JWT_SECRET') ? ', names JWT_SECRET' : ''}`);
    }
  });

  // ---- afterwards ---------------------------------------------------------------------------------
  it('leaves well-behaved clients working: nothing crashed, other sessions undisturbed', async () => {
    row('every service process', 'process', 'alive', sys.procs.every((p) => p.child.exitCode === null) ? 'alive' : sys.procs.filter((p) => p.child.exitCode !== null).map((p) => `${p.name} exited ${p.child.exitCode}`).join(', '));
    row('the well-behaved socket opened before the attacks', 'WS', 'open', goodWs.isOpen ? 'open' : 'closed');
    await gqlOk(g2, SEND, { r: goodRoom, b: 'after the attacks', c: 'g1' }, good.token);
    const m = await goodWs.waitFor('the message after the attacks', (x) => x.id === goodSub && bodyOf(x) === 'after the attacks');
    row('…still receives its room', 'WS', 'after the attacks', bodyOf(m) ?? 'nothing');
    const me = await gqlHttp(g1, '{ me { id } rooms { id } }', {}, good.token);
    row('the well-behaved client’s queries', 'HTTP', 'ok', codeOf(me));
    const fresh = await user('latecomer', () => g2);
    const sock = await ws(fresh, () => w1);
    row('a new user and socket after the attacks', 'WS', 'ok', wsCodeOf(await sock.exec('{ me { id } }')));
  });

  it('writes no token or password to any log line', () => {
    const secrets = [...tokensSeen, PASSWORD, E2E_JWT_SECRET];
    const logs = [...sys.procs, ...(dev ? [dev.proc] : [])].map((p) => p.output.join('')).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    const leaked = secrets.filter((s) => logs.includes(s));
    row(`logs of all services (${logs.split('\n').length} lines, level debug)`, 'process', 'no secret', leaked.length === 0 ? 'no secret' : `${leaked.length} leaked`);
  });
});
