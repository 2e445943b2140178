/**
 * Bad input at scale (issue 17): a time-bounded fuzz run of the GraphQL surface (HTTP POST,
 * GET, and operations over graphql-ws) and of the WebSocket protocol itself, against
 * production-mode services started by the harness in a namespace of their own (two gateways).
 * Inputs come from fast-check arbitraries over the served schema (arbitraries.ts); every answer
 * goes through the oracle (oracle.ts). Afterwards no process has exited, a normal round trip
 * works on every gateway, and the fault suite's checker finds every acknowledged message stored
 * once, audited once, and the outbox drained.
 *
 * FUZZ_SECONDS (default 60) bounds the fuzzing (all workers run side by side for that long);
 * FUZZ_SEED replays a run (worker i uses FUZZ_SEED + i). The seed and a table of answers by
 * channel and kind are printed at the end; a failure lists the offending inputs.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { buildSchema } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, type Verdict as CheckVerdict } from '../faults/checker.js';
import type { Ack, SubscriberRecord } from '../faults/load.js';
import { E2E_JWT_SECRET, INFRA_ENV, LOAD_ENV, REPO, cli, collect, eventually, gqlOk, register, startSystem, wsClient, type System } from '../harness.js';
import { gqlCase, httpCase, wsCase, type GqlCase, type HttpCase, type Pools, type WsAction, type WsCase } from './arbitraries.js';
import { judgeClose, judgeFrame, judgeHttp, Tally } from './oracle.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 60);
const SEED = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
/** Small, so that oversized frames are cheap to send (the documented default is 1 MiB). */
const MAX_PAYLOAD = 65_536;
/** An answer later than this is a hang. */
const ANSWER_TIMEOUT_MS = 15_000;
/** How long a subscription that was accepted is kept before the fuzz completes it. */
const SUBSCRIPTION_WAIT_MS = 300;
const GATEWAYS = 2;
const DEBUG = process.env.FUZZ_DEBUG === '1';

// Production, with the per-user limits of load runs lifted (a few fuzz users make the traffic
// of many) except sign-in: each register/login costs an argon2 hash, so its default limit stays.
const { RATE_LIMIT_AUTH: _auth, ...LIFTED } = LOAD_ENV;
const ENV: Record<string, string> = {
  ...LIFTED,
  NODE_ENV: 'production',
  JWT_SECRET: E2E_JWT_SECRET,
  WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD),
};

const schema = buildSchema(readFileSync(`${REPO}services/gateway/src/schema.graphql`, 'utf8'));
const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id room seq clientMsgId } }';

interface Sent {
  sendMessage?: { id?: unknown; room?: unknown; seq?: unknown; clientMsgId?: unknown } | null;
}

/**
 * Runs `body` on inputs drawn from `arb` until `ms` have passed, one after the other, in
 * batches that fast-check generates from `seed` and the batch's number (so a seed replays the
 * same sequence). No shrinking: against a live system every answer is judged, not only the first
 * failing one. An exception of `body` (the harness's own failure) stops the worker.
 */
async function runFor<T>(seed: number, arb: fc.Arbitrary<T>, ms: number, body: (x: T) => Promise<void>): Promise<number> {
  const deadline = Date.now() + ms;
  let runs = 0;
  for (let batch = 0; Date.now() < deadline; batch++) {
    for (const x of fc.sample(arb, { seed: (seed + batch * 7_919) | 0, numRuns: 10 })) {
      if (Date.now() >= deadline) break;
      try {
        await body(x);
      } catch (e) {
        throw new Error(`run ${runs} (batch ${batch}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, { cause: e });
      }
      runs++;
    }
  }
  return runs;
}

const timeout = <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve('timeout'), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });

type Frame = { type?: string | undefined; id?: string | undefined };

/**
 * A raw graphql-transport-ws client socket: every frame it gets is judged; waiters resolve on
 * a frame matching them or on the close.
 */
class FuzzSocket {
  readonly ws: WebSocket;
  readonly opened: Promise<'open' | number>;
  readonly closed: Promise<{ code: number; reason: string; byServer: boolean }>;
  private closing = false;
  error: string | undefined;
  private readonly waiters = new Set<() => void>();
  readonly frames: Frame[] = [];

  constructor(url: string, protocols: string[], tally: Tally, channel: string, input: () => unknown) {
    this.ws = new WebSocket(url, protocols);
    // Reported by the close; kept for the one the client raises itself (no subprotocol agreed).
    this.ws.on('error', (e) => (this.error ??= e.message));
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve('open'));
      this.ws.once('unexpected-response', (req, res) => {
        res.resume();
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
      this.ws.once('close', () => resolve(0));
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString(), byServer: !this.closing });
        for (const w of [...this.waiters]) w();
      }),
    );
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const v = judgeFrame(isBinary ? `<binary ${data.length} bytes>` : data.toString('utf8'));
      tally.add(channel, v, input);
      this.frames.push({ type: v.type, id: v.id });
      for (const w of [...this.waiters]) w();
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(data: string | Uint8Array, binary = false): void {
    if (this.open) this.ws.send(data, { binary }, () => undefined);
  }

  /** Resolves with the first frame from `from` on that matches, 'closed', or 'timeout'. */
  waitFor(match: (f: Frame) => boolean, ms: number, from = 0): Promise<Frame | 'closed' | 'timeout'> {
    return new Promise((resolve) => {
      const check = () => {
        const f = this.frames.slice(from).find(match);
        if (f) finish(f);
        else if (this.ws.readyState === WebSocket.CLOSED) finish('closed');
      };
      const timer = setTimeout(() => finish('timeout'), ms);
      const finish = (r: Frame | 'closed' | 'timeout') => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(r);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** A ping answered by a pong (or a close): the gateway still reads this socket. */
  async barrier(): Promise<'pong' | 'closed' | 'timeout'> {
    if (!this.open) return 'closed';
    const from = this.frames.length;
    this.send('{"type":"ping"}');
    const r = await this.waitFor((f) => f.type === 'pong', ANSWER_TIMEOUT_MS, from);
    return r === 'closed' || r === 'timeout' ? r : 'pong';
  }

  close(): void {
    this.closing = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
  }
}

describe('fuzz: bad input at scale (GraphQL over HTTP and WebSocket, graphql-transport-ws)', () => {
  let sys: System;
  let pools: Pools;
  const tally = new Tally();
  const acks: Ack[] = [];
  const tag = randomUUID().slice(0, 6);
  const sockets: FuzzSocket[] = [];

  const recordAck = (data: unknown) => {
    const s = (data as Sent | null | undefined)?.sendMessage;
    if (s && typeof s.id === 'string' && typeof s.room === 'string' && typeof s.seq === 'number' && typeof s.clientMsgId === 'string') {
      acks.push({ id: s.id, room: s.room, seq: s.seq, clientMsgId: s.clientMsgId });
    }
  };
  const processesAlive = () => sys.procs.filter((p) => p.child.exitCode !== null || p.child.signalCode !== null).map((p) => `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output.join('').slice(-2_000)}`);

  beforeAll(async () => {
    sys = await startSystem({ gateways: GATEWAYS, searches: 1, env: ENV });
    const g = sys.gateways.map((x) => x.http);
    const [alice, bob, carol] = await Promise.all([register(g[0]!, `fz_alice_${tag}`, 'Alice'), register(g[1]!, `fz_bob_${tag}`, 'Bob'), register(g[0]!, `fz_carol_${tag}`, 'Carol')]);
    const adminName = `fz_root_${tag}`;
    const created = await cli(sys.env, ['admin', 'create', adminName, '--password', 'admin-password-1']);
    if (created.code !== 0) throw new Error(created.out);
    const admin = (await gqlOk<{ login: { token: string } }>(g[0]!, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: adminName, p: 'admin-password-1' })).login.token;
    const join = (token: string, n: string) => gqlOk<{ joinRoom: { id: string } }>(g[0]!, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n }, token).then((d) => d.joinRoom.id);
    const ra = await join(alice.token, `fuzz-a-${tag}`);
    const rb = await join(alice.token, `fuzz-b-${tag}`);
    await join(bob.token, ra);
    await join(carol.token, rb);
    const dm = (await gqlOk<{ openDirectRoom: { id: string } }>(g[0]!, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: bob.user.id }, alice.token)).openDirectRoom.id;
    const group = (await gqlOk<{ createGroup: { id: string } }>(g[1]!, 'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, members: $m) { id } }', { n: `fuzz group ${tag}`, m: [bob.user.id] }, alice.token)).createGroup.id;
    const messageIds: string[] = [];
    for (const [s, r, i] of [[alice, ra, 1], [bob, ra, 2], [carol, rb, 3], [alice, dm, 4]] as const) {
      const d = await gqlOk<Sent>(g[i % GATEWAYS]!, SEND, { r, b: `seed message ${i}`, c: `seed-${i}` }, s.token);
      recordAck(d);
      messageIds.push(String(d.sendMessage?.id));
    }
    const users = [alice, bob, carol];
    pools = {
      roomIds: [ra, rb, dm, group, 'general'],
      userIds: users.map((u) => u.user.id),
      messageIds,
      usernames: users.map((u) => u.user.username),
      tokens: [...users.map((u) => u.token), admin],
    };
    console.log(`fuzz: FUZZ_SEED=${SEED} FUZZ_SECONDS=${SECONDS} namespace ${sys.namespace}`);
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await sys?.stop();
  });

  // ---- HTTP ------------------------------------------------------------------------------------
  async function http(c: HttpCase): Promise<void> {
    const gw = sys.gateways[c.gateway]!;
    const headers: Record<string, string> = {};
    if (c.auth.kind === 'token') headers.authorization = `Bearer ${pools.tokens[c.auth.index]!}`;
    else if (c.auth.kind === 'header' && c.auth.value !== '') headers.authorization = c.auth.value;
    if (c.preflight) headers['apollo-require-preflight'] = 'true';
    const g = c.gql;
    const payload = { query: g.query, variables: g.variables, ...(g.operationName !== undefined ? { operationName: g.operationName } : {}), ...(g.extensions !== undefined ? { extensions: g.extensions } : {}) };
    let method = c.method;
    let url = gw.http;
    let body: string | undefined;
    if (method === 'GET') {
      const q = new URLSearchParams();
      const asParam = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
      if (g.query !== undefined) q.set('query', asParam(g.query));
      if (g.variables !== undefined) q.set('variables', JSON.stringify(g.variables));
      if (g.operationName !== undefined) q.set('operationName', asParam(g.operationName));
      if (g.extensions !== undefined) q.set('extensions', JSON.stringify(g.extensions));
      url = `${gw.http}?${q.toString()}`;
      headers.accept = 'application/json';
      // Node's HTTP server caps the request line and headers at 16 KiB (431): a long one goes as POST.
      if (url.length > 12_000) method = 'POST';
    }
    if (method === 'POST') {
      url = gw.http;
      if (c.contentType !== '') headers['content-type'] = c.contentType;
      body =
        c.body === 'json' ? JSON.stringify(payload) : c.body === 'batch' ? JSON.stringify([payload, payload]) : c.body === 'empty' ? '' : c.body === 'invalid-json' ? `${JSON.stringify(payload).slice(0, -1)},` : c.rawText;
    }
    const channel = `HTTP ${method}`;
    const t0 = Date.now();
    if (DEBUG) console.log(`${new Date().toISOString()} http start ${method} gw${c.gateway} ${String(g.query).slice(0, 80)}`);
    try {
      const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) });
      const text = await res.text();
      if (DEBUG) console.log(`${new Date().toISOString()} http end ${res.status} in ${Date.now() - t0} ms`);
      const v = judgeHttp(method, res.status, text);
      tally.add(channel, v, () => ({ ...c, url: url.slice(0, 300) }));
      if (v.ok && res.status === 200) recordAck((JSON.parse(text) as { data?: unknown }).data);
    } catch (e) {
      const hang = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      tally.add(channel, { ok: false, kind: hang ? 'no answer (hang)' : 'network error', why: hang ? `no answer within ${ANSWER_TIMEOUT_MS} ms` : `request failed: ${e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause)}` : String(e)}` }, () => c);
    }
  }

  // ---- GraphQL over graphql-ws: one authenticated socket per worker, reopened when closed --------
  function opWorker(gateway: number, seed: number, ms: number): Promise<number> {
    const channel = 'WS operation';
    let sock: FuzzSocket | undefined;
    let tokenIndex = 0;
    let n = 0;
    let last: GqlCase | undefined;
    const connect = async (): Promise<FuzzSocket> => {
      for (let attempt = 0; attempt < pools.tokens.length * 2; attempt++) {
        const s = new FuzzSocket(sys.gateways[gateway]!.ws, ['graphql-transport-ws'], tally, channel, () => last);
        sockets.push(s);
        trackWsAcks(s);
        void s.closed.then((c) => {
          if (c.byServer) tally.add(`${channel} close`, judgeClose(c.code, c.reason), () => last);
        });
        if ((await s.opened) !== 'open') throw new Error('the operation socket did not open');
        s.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${pools.tokens[tokenIndex % pools.tokens.length]!}` } }));
        const ack = await s.waitFor((f) => f.type === 'connection_ack', ANSWER_TIMEOUT_MS);
        if (ack !== 'closed' && ack !== 'timeout') return s;
        // Refused (the fuzz may have banned this user): the next token.
        if (ack === 'timeout') tally.violation(channel, `no connection_ack within ${ANSWER_TIMEOUT_MS} ms`, () => ({ tokenIndex }));
        s.close();
        tokenIndex++;
      }
      throw new Error('no token is accepted on a socket any more');
    };
    return runFor(seed, gqlCase(schema, pools), ms, async (c) => {
      if (!sock?.open) sock = await connect();
      last = c;
      const id = `op${++n}`;
      const from = sock.frames.length;
      sock.send(JSON.stringify({ id, type: 'subscribe', payload: { query: c.query, variables: c.variables, ...(c.operationName !== undefined ? { operationName: c.operationName } : {}), ...(c.extensions !== undefined ? { extensions: c.extensions } : {}) } }));
      const subscription = c.op === 'subscription';
      const r = await sock.waitFor((f) => f.id === id && (f.type === 'next' || f.type === 'error' || f.type === 'complete'), subscription ? SUBSCRIPTION_WAIT_MS : ANSWER_TIMEOUT_MS, from);
      if (r === 'timeout') {
        if (subscription) {
          tally.add(channel, { ok: true, kind: 'subscribed (no event yet)' }, () => c);
          sock.send(JSON.stringify({ id, type: 'complete' }));
        } else {
          tally.add(channel, { ok: false, kind: 'no answer (hang)', why: `no answer to a ${c.op} within ${ANSWER_TIMEOUT_MS} ms` }, () => c);
        }
      }
    });
  }

  // Acknowledged sends over the operation sockets (the frames are judged in FuzzSocket).
  function trackWsAcks(s: FuzzSocket): void {
    s.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      try {
        const m = JSON.parse(data.toString('utf8')) as { type?: string; payload?: { data?: unknown } };
        if (m.type === 'next') recordAck(m.payload?.data);
      } catch {
        /* judged elsewhere */
      }
    });
  }

  // ---- the protocol itself ---------------------------------------------------------------------
  async function wsProtocol(c: WsCase): Promise<void> {
    const channel = 'WS protocol';
    const s = new FuzzSocket(sys.gateways[c.gateway]!.ws, c.protocols, tally, channel, () => c);
    sockets.push(s);
    const opened = await timeout(s.opened, ANSWER_TIMEOUT_MS);
    if (opened === 0 && !c.protocols.includes('graphql-transport-ws') && s.error?.includes('no subprotocol')) {
      // The gateway accepted the upgrade without a subprotocol (it would close with 4406); ws'
      // client aborts such a handshake itself when it offered one.
      tally.add(channel, { ok: true, kind: 'upgrade without subprotocol (client aborts)' }, () => c);
      return;
    }
    if (opened !== 'open') {
      tally.add(channel, { ok: false, kind: `upgrade ${opened}`, why: `the upgrade was answered ${opened}${s.error ? ` (${s.error})` : ''}` }, () => c);
      s.close();
      return;
    }
    const json = (m: unknown) => s.send(JSON.stringify(m));
    const token = pools.tokens[0]!;
    const act = async (a: WsAction) => {
      switch (a.t) {
        case 'init':
          return json(a.payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload: a.payload });
        case 'init-storm':
          for (let i = 0; i < a.n; i++) json({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
          return;
        case 'subscribe':
          return json({ id: a.id, type: 'subscribe', payload: a.payload });
        case 'complete':
          return json({ id: a.id, type: 'complete' });
        case 'ping':
        case 'pong':
          return json(a.payload === undefined ? { type: a.t } : { type: a.t, payload: a.payload });
        case 'ping-storm':
          for (let i = 0; i < a.n; i++) s.send(a.pong ? '{"type":"pong"}' : '{"type":"ping"}');
          return;
        case 'text':
          return s.send(a.text);
        case 'binary':
          return s.send(a.bytes, true);
        case 'invalid-utf8':
          return s.send(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), false);
        case 'oversized':
          return a.binary ? s.send(new Uint8Array(MAX_PAYLOAD + a.extra), true) : s.send(`{"type":"ping","payload":{"x":"${'x'.repeat(MAX_PAYLOAD + a.extra)}"}}`);
        case 'barrier': {
          const b = await s.barrier();
          if (b === 'timeout') tally.add(channel, { ok: false, kind: 'no pong (hang)', why: `no pong within ${ANSWER_TIMEOUT_MS} ms` }, () => c);
          return;
        }
      }
    };
    for (const a of c.actions) {
      if (!s.open) break;
      await act(a);
    }
    // Still open: it must still answer; then it closes when asked.
    const b = await s.barrier();
    if (b === 'timeout') tally.add(channel, { ok: false, kind: 'no pong (hang)', why: `no pong within ${ANSWER_TIMEOUT_MS} ms after the sequence` }, () => c);
    const serverClosedFirst = !s.open;
    s.close();
    const closed = await timeout(s.closed, ANSWER_TIMEOUT_MS);
    if (closed === 'timeout') {
      tally.add(`${channel} close`, { ok: false, kind: 'close never completed', why: `the close did not complete within ${ANSWER_TIMEOUT_MS} ms` }, () => c);
      s.ws.terminate();
      return;
    }
    tally.add(`${channel} close`, serverClosedFirst || closed.byServer ? judgeClose(closed.code, closed.reason) : { ok: true, kind: 'open until our close' }, () => c);
  }

  it(`answers every generated request with a documented answer for FUZZ_SECONDS (${SECONDS} s)`, { timeout: SECONDS * 1_000 + 120_000 }, async () => {
    const ms = SECONDS * 1_000;
    const started = Date.now();
    // FUZZ_ONLY=http|ws-op|ws-protocol runs one kind of worker (to chase a finding).
    const only = process.env.FUZZ_ONLY;
    const kinds: [string, () => Promise<number>][] = [
      ['http', () => runFor(SEED, httpCase(schema, pools, GATEWAYS), ms, http)],
      ['http', () => runFor(SEED + 1, httpCase(schema, pools, GATEWAYS), ms, http)],
      ['http', () => runFor(SEED + 2, httpCase(schema, pools, GATEWAYS), ms, http)],
      ['ws-op', () => opWorker(0, SEED + 3, ms)],
      ['ws-op', () => opWorker(1, SEED + 4, ms)],
      ['ws-protocol', () => runFor(SEED + 5, wsCase(schema, pools, GATEWAYS, MAX_PAYLOAD), ms, wsProtocol)],
      ['ws-protocol', () => runFor(SEED + 6, wsCase(schema, pools, GATEWAYS, MAX_PAYLOAD), ms, wsProtocol)],
    ];
    const workers = kinds.map(([k, run]) => (!only || only === k ? run() : Promise.resolve(0)));
    const results = await Promise.allSettled(workers);
    for (const s of sockets) s.close();
    const elapsed = ((Date.now() - started) / 1_000).toFixed(1);
    const runs = results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed')).join(', ');
    console.log(`fuzz: ${tally.total()} answers in ${elapsed} s (FUZZ_SEED=${SEED}; cases per worker: ${runs})\n${tally.table()}`);
    const harness = results.flatMap((r, i) => (r.status === 'rejected' ? [`worker ${i} (seed ${SEED + i}): ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
    const dead = processesAlive();
    const report = [
      `FUZZ_SEED=${SEED} replays this run.`,
      ...harness,
      ...dead,
      ...tally.violations.slice(0, 30).map((v) => `[${v.channel}] ${v.why}\n    input: ${v.input}`),
    ].join('\n');
    if (tally.violations.length || harness.length || dead.length) {
      console.log(`fuzz: violations:\n${report}`);
      for (const g of sys.gateways) console.log(`fuzz: gateway on ${g.port}, last output:\n${g.proc.output.join('').slice(-3_000)}`);
    }
    expect(harness, report).toEqual([]);
    expect(dead, report).toEqual([]);
    expect(tally.violations.length, report).toBe(0);
    expect(tally.total('HTTP POST')).toBeGreaterThan(0);
    expect(tally.total('WS protocol close')).toBeGreaterThan(0);
  });

  it('still works afterwards: a round trip on every gateway, nothing lost or doubled, the outbox drained', { timeout: 120_000 }, async () => {
    const subs: SubscriberRecord[] = [];
    for (let i = 0; i < GATEWAYS; i++) {
      const here = sys.gateways[i]!;
      const other = sys.gateways[(i + 1) % GATEWAYS]!;
      const u = await register(here.http, `fz_rt${i}_${tag}`, `Round trip ${i}`);
      const room = (await gqlOk<{ joinRoom: { id: string } }>(here.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: `fuzz-rt${i}-${tag}` }, u.token)).joinRoom.id;
      const client = wsClient(here.ws, u.token);
      try {
        const sub = collect<{ messageAdded: { seq: number; body: string } }>(client, 'subscription($r: ID!) { messageAdded(room: $r, after: 0) { seq body } }', { r: room });
        // With `after: 0` the message arrives however the send and the subscribe interleave (replay, then live).
        const sent = await gqlOk<Sent>(other.http, SEND, { r: room, b: `after the fuzz ${i}`, c: `rt-${i}` }, u.token);
        recordAck(sent);
        const got = await sub.until(1, 20_000);
        expect(got[0]!.messageAdded.body).toBe(`after the fuzz ${i}`);
        subs.push({ room, seqs: got.map((x) => x.messageAdded.seq), violations: [], resumes: 0 });
        sub.dispose();
      } finally {
        await client.dispose();
      }
    }
    const rooms = [...new Set(acks.map((a) => a.room))];
    let verdict: CheckVerdict | undefined;
    await eventually(
      'the consistency check to find nothing wrong',
      async () => {
        verdict = await check(INFRA_ENV.MONGO_URL, sys.namespace, rooms, acks, subs);
        return verdict.problems.length === 0 ? verdict : undefined;
      },
      30_000,
    ).catch(() => undefined);
    console.log(`fuzz: after the run: ${acks.length} acknowledged sends in ${rooms.length} rooms; checker: ${JSON.stringify({ ...verdict, missingFromAudit: verdict?.missingFromAudit.length })}`);
    expect(verdict?.problems, `FUZZ_SEED=${SEED}`).toEqual([]);
    expect(verdict?.lostAcked).toBe(0);
    expect(processesAlive()).toEqual([]);
  });
});
