/**
 * Starts conversa's services as separate processes (the built dist/main.js of each), in a
 * namespace of their own, against the local infrastructure; and talks to them as a client would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Moderation rules for load and fault runs: no flood mute (see the file). */
export const LOAD_RULES_FILE = `${REPO}e2e/fixtures/rules-load.yaml`;

/**
 * Settings for load generators (fault suite, benchmarks): a few users drive the traffic of
 * many, so the per-user protections (flood mute, rate limits, per-room send buckets, sockets
 * per user) are lifted; their own tests cover them.
 */
export const LOAD_ENV: Record<string, string> = {
  MODERATION_RULES_FILE: LOAD_RULES_FILE,
  RATE_LIMIT_SEND: '1000000/1s',
  RATE_LIMIT_ROOM_SEND_BURST: '1000000',
  RATE_LIMIT_ROOM_SEND_REFILL: '1000000/1s',
  RATE_LIMIT_TYPING: '1000000/1s',
  RATE_LIMIT_SUBSCRIBE: '1000000/1s',
  RATE_LIMIT_JOIN: '1000000/1s',
  RATE_LIMIT_AUTH: '1000000/1s',
  WS_MAX_SOCKETS_PER_USER: '1000000',
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '1000000',
};

/** The systems under test sign with this secret, so a test can mint tokens (e.g. short-lived ones). */
export const E2E_JWT_SECRET = 'e2e-secret-0123456789-abcdefghijklmnop';

export const INFRA_ENV = {
  MONGO_URL: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  SEARCH_PG_URL: process.env.SEARCH_PG_URL ?? 'postgres://conversa@127.0.0.1:54329/conversa_search',
};

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  /** The port it serves /healthz, /readyz and /metrics on (set by startSystem). */
  port?: number;
}

/**
 * `SERVICE_NODE_ARGS` in env: options for node itself, space-separated (`--cpu-prof …`, which
 * NODE_OPTIONS does not allow), for every service; `GATEWAY_NODE_ARGS`, `CHAT_NODE_ARGS`,
 * `AUDIT_NODE_ARGS`: for one kind only (after the common ones). Not passed on to the service.
 */
export function spawnService(name: 'gateway' | 'chat' | 'audit' | 'search', env: Record<string, string>): ServiceProcess {
  const { SERVICE_NODE_ARGS, GATEWAY_NODE_ARGS, CHAT_NODE_ARGS, AUDIT_NODE_ARGS, ...serviceEnv } = env;
  const own = { gateway: GATEWAY_NODE_ARGS, chat: CHAT_NODE_ARGS, audit: AUDIT_NODE_ARGS, search: undefined }[name];
  const nodeArgs = `${SERVICE_NODE_ARGS ?? ''} ${own ?? ''}`.split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, `${REPO}services/${name}/dist/main.js`], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...serviceEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, output, exited };
}

export interface System {
  namespace: string;
  env: Record<string, string>;
  gateways: { http: string; ws: string; port: number; proc: ServiceProcess }[];
  procs: ServiceProcess[];
  stop(): Promise<void>;
}

async function waitReady(p: ServiceProcess, port: number): Promise<void> {
  const exited = p.exited.then((code) => {
    throw new Error(`${p.name} exited with ${code} before it was ready:\n${p.output.join('')}`);
  });
  const ready = eventually(`${p.name} ready on ${port}`, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return res.ok ? true : undefined;
  }, 60_000);
  exited.catch(() => undefined); // it rejects again when the test stops the process: not an error then
  await Promise.race([ready, exited]);
}

/**
 * Starts `gateways` gateways, `chats` chat workers and `audits` audit consumers (1 each by
 * default) and `searches` search indexers (none by default) in a fresh namespace (the search
 * index: schema `<namespace>` of SEARCH_PG_URL's database).
 */
export async function startSystem(opts: { gateways?: number; chats?: number; audits?: number; searches?: number; env?: Record<string, string> } = {}): Promise<System> {
  const namespace = `e2e-${randomUUID().slice(0, 8)}`;
  const env: Record<string, string> = {
    ...INFRA_ENV,
    CONVERSA_NAMESPACE: namespace,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    KAFKA_PARTITIONS: '3',
    OUTBOX_SWEEP_MS: '500',
    JWT_SECRET: E2E_JWT_SECRET,
    ...opts.env,
  };
  const procs: ServiceProcess[] = [];
  const gateways: System['gateways'] = [];
  const started: Promise<void>[] = [];
  for (let i = 0; i < (opts.chats ?? 1); i++) {
    const port = await freePort();
    const p = spawnService('chat', { ...env, CHAT_PORT: String(port) });
    p.port = port;
    procs.push(p);
    started.push(waitReady(p, port));
  }
  for (let i = 0; i < (opts.audits ?? 1); i++) {
    const port = await freePort();
    const p = spawnService('audit', { ...env, AUDIT_PORT: String(port) });
    p.port = port;
    procs.push(p);
    started.push(waitReady(p, port));
  }
  for (let i = 0; i < (opts.searches ?? 0); i++) {
    const port = await freePort();
    const p = spawnService('search', { ...env, SEARCH_PORT: String(port) });
    p.port = port;
    procs.push(p);
    started.push(waitReady(p, port));
  }
  for (let i = 0; i < (opts.gateways ?? 1); i++) {
    const port = await freePort();
    const p = spawnService('gateway', { ...env, PORT: String(port) });
    p.port = port;
    procs.push(p);
    gateways.push({ http: `http://127.0.0.1:${port}/graphql`, ws: `ws://127.0.0.1:${port}/graphql`, port, proc: p });
    started.push(waitReady(p, port));
  }
  const stop = async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
  };
  try {
    await Promise.all(started);
  } catch (e) {
    await stop();
    throw e;
  }
  return { namespace, env, gateways, procs, stop };
}

export interface GqlResult<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** One GraphQL request over HTTP. */
export async function gql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult<T>;
}

/**
 * Like gql, but as a client does with a refusal that says nothing was done (UNAVAILABLE: the
 * write path is saturated; RATE_LIMITED): waits its retryAfter and sends it again, at most
 * `attempts` times. Returns the last answer and how many refusals came before it.
 */
export async function gqlRetried<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  attempts = 10,
): Promise<GqlResult<T> & { refusals: number }> {
  for (let refusals = 0; ; refusals++) {
    const r = await gql<T>(url, query, variables, token);
    const e = r.errors?.length === 1 ? (r.errors[0]!.extensions as { code?: string; retryAfter?: number } | undefined) : undefined;
    if (!e || (e.code !== 'UNAVAILABLE' && e.code !== 'RATE_LIMITED') || refusals + 1 >= attempts) return { ...r, refusals };
    await new Promise((res) => setTimeout(res, (e.retryAfter ?? 1) * 1_000));
  }
}

/** Like gql, but throws unless the request succeeded. */
export async function gqlOk<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const r = await gql<T>(url, query, variables, token);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL error: ${JSON.stringify(r.errors)}`);
  return r.data;
}

export interface Session {
  token: string;
  user: { id: string; username: string; displayName: string };
}

export async function register(url: string, username: string, displayName: string): Promise<Session> {
  const d = await gqlOk<{ register: Session }>(
    url,
    'mutation($u: String!, $p: String!, $d: String) { register(username: $u, password: $p, displayName: $d) { token user { id username displayName } } }',
    { u: username, p: 'correct horse battery', d: displayName },
  );
  return d.register;
}

export function wsClient(url: string, token: string | undefined, onClose?: (code: number, reason: string) => void): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: false,
    // The close is reported through `on.closed`; without this the client also throws it.
    onNonLazyError: () => undefined,
    on: onClose ? { closed: (e) => { const ev = e as { code: number; reason: string }; onClose(ev.code, ev.reason); } } : {},
  });
}

/** Collects a subscription's payloads; `until(n)` resolves when n have arrived. */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown>) {
  const items: T[] = [];
  const errors: unknown[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (v) => {
        if (v.errors) errors.push(v.errors);
        if (v.data) items.push(v.data);
        for (const w of waiters.filter((w) => items.length >= w.n)) w.resolve();
      },
      error: (e) => errors.push(e),
      complete: () => undefined,
    },
  );
  return {
    items,
    errors,
    dispose,
    until(n: number, timeoutMs = 20_000): Promise<T[]> {
      if (items.length >= n) return Promise.resolve(items);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`got ${items.length} of ${n} events: ${JSON.stringify(errors)}`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(t); resolve(items); } });
      });
    },
  };
}

/** Runs the CLI with the system's environment. */
export function cli(env: Record<string, string>, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${REPO}packages/cli/bin/conversa.js`, ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}
