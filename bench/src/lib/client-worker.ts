/**
 * A load-generator process: opens sockets (graphql-ws, or bare ws for the ceiling), keeps
 * subscriptions open and records, for every payload, the delivery latency encoded in its body
 * ("<epoch ms>|padding"). Driven by its parent over IPC.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import * as hdr from 'hdr-histogram-js';
import { histogram } from './report.js';

export type WorkerCommand =
  | {
      type: 'open';
      mode: 'graphql' | 'bare';
      url: string;
      /** One entry per socket: its token and the subscriptions it holds. */
      sockets: { token: string; subs: { query: string; variables: Record<string, unknown> }[] }[];
      /** Local addresses to spread sockets over (127.0.0.x) when they run into the tens of thousands. */
      localAddresses?: string[];
      /** Share of sockets (0..1) that stop reading once connected (S6): their TCP window fills. */
      slowFraction?: number;
      /** Handshakes in flight at once (default OPENING); 0: all at once (a storm, S5). */
      opening?: number;
    }
  | { type: 'stats'; reset?: boolean }
  | { type: 'count' }
  | { type: 'drop'; resumeQuery?: string }
  /**
   * S13: the delivery latency of reactions, from the updates each socket received (their
   * reaction totals and arrival times): reaction k (sent at `sent[k]`) reached a socket with
   * the first update whose total reached `base + k + 1`.
   */
  | { type: 'reaction-latency'; sent: { at: number; total: number }[] }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'opened'; sockets: number; ms: number; errors: number }
  | { type: 'stats'; received: number; p50: number; p99: number; max: number; errors: number; histogram: string; closes: Record<string, number> }
  | { type: 'count'; received: number }
  | { type: 'dropped'; recovered: number; ms: number; errors: number }
  | { type: 'reaction-latency'; histogram: string; missing: number; sockets: number; finalTotals: number[] }
  | { type: 'closed' };

const send = (m: WorkerReply) => process.send?.(m);
let received = 0;
let errors = 0;
/** Close codes seen by graphql sockets, e.g. 4413 for slow consumers. */
const closes: Record<string, number> = {};
let hist = histogram();
const clients: Client[] = [];
const bare: WebSocket[] = [];
/** Per socket whose payloads carry `reactions`: arrival times and reaction totals (S13). */
const reactionArrivals: { at: number[]; total: number[] }[] = [];

/** Records an update's reaction total if the payload has reactions; true when it had. */
function recordReactions(payload: unknown, arrivals: { at: number[]; total: number[] } | undefined): boolean {
  const reactions = (payload as { reactions?: { count: number }[] } | undefined)?.reactions;
  if (!Array.isArray(reactions) || !arrivals) return false;
  arrivals.at.push(Date.now());
  arrivals.total.push(reactions.reduce((a, r) => a + r.count, 0));
  received++;
  return true;
}

/**
 * Per subscriber, each accepted reaction's delivery: from its send to the first update whose
 * total reached the total its own answer showed (its batch's, so it includes it; totals only
 * grow in S13), or missing.
 */
function reactionLatency(sent: { at: number; total: number }[]): Extract<WorkerReply, { type: 'reaction-latency' }> {
  const h = histogram();
  let missing = 0;
  const byTotal = [...sent].sort((a, b) => a.total - b.total);
  for (const a of reactionArrivals) {
    // The highest total seen so far at each arrival, so that a late, lower update cannot count.
    let j = 0;
    let best = 0;
    for (const r of byTotal) {
      while (j < a.at.length && best < r.total) best = Math.max(best, a.total[j++]!);
      if (best >= r.total) h.recordValue(Math.max(1, a.at[j - 1]! - r.at));
      else missing++;
    }
  }
  return {
    type: 'reaction-latency',
    histogram: hdr.encodeIntoCompressedBase64(h),
    missing,
    sockets: reactionArrivals.length,
    finalTotals: reactionArrivals.map((a) => a.total.reduce((x, y) => Math.max(x, y), 0)),
  };
}

function record(body: unknown): void {
  if (typeof body !== 'string') return;
  const t = Number(body.slice(0, body.indexOf('|')));
  if (Number.isFinite(t)) hist.recordValue(Math.max(1, Date.now() - t));
  received++;
}

/**
 * The default client: graphql-transport-ws spoken directly over `ws` (connection_init,
 * subscribe, next, ping/pong), one JSON.parse per frame — the same per-frame work as the
 * ceiling's clients, so that the load generator, which shares the machine's cores with the
 * server, costs the same on both sides of the ratio. BENCH_CLIENT=graphql-ws uses the
 * graphql-ws library's client instead.
 */
const lean: WebSocket[] = [];
/**
 * Handshakes one worker keeps in flight: tens of thousands at once overflow the server's
 * listen backlog (the kernel then resets connections: 1006), which measures the load
 * generator, not the server.
 */
const OPENING = 256;
async function openLean(cmd: Extract<WorkerCommand, { type: 'open' }>): Promise<void> {
  const slowEvery = cmd.slowFraction ? Math.round(1 / cmd.slowFraction) : 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let n = next++; n < cmd.sockets.length; n = next++) await openOne(cmd, cmd.sockets[n]!, n, slowEvery);
  };
  const lanes = cmd.opening === 0 ? cmd.sockets.length : (cmd.opening ?? OPENING);
  await Promise.all(Array.from({ length: Math.min(lanes, cmd.sockets.length) }, lane));
}

function openOne(cmd: Extract<WorkerCommand, { type: 'open' }>, s: Extract<WorkerCommand, { type: 'open' }>['sockets'][number], n: number, slowEvery: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const localAddress = cmd.localAddresses?.[n % cmd.localAddresses.length];
    const slow = slowEvery > 0 && n % slowEvery === 0;
    const ws = new WebSocket(cmd.url, 'graphql-transport-ws', localAddress ? { localAddress } : {});
    let acked = false;
    const arrivals = { at: [] as number[], total: [] as number[] };
    reactionArrivals.push(arrivals);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${s.token}` } })));
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; payload?: { data?: Record<string, { body?: string; message?: { body?: string } | null }> } };
      if (m.type === 'next') {
        const payload = m.payload?.data ? Object.values(m.payload.data)[0] : undefined;
        // A message subscription's body, or an inbox event's message body; or reactions (S13).
        if (!recordReactions(payload, arrivals)) record(payload?.body ?? payload?.message?.body);
      } else if (m.type === 'connection_ack') {
        acked = true;
        s.subs.forEach((sub, i) => ws.send(JSON.stringify({ id: String(i + 1), type: 'subscribe', payload: sub })));
        // A slow reader: once subscribed, it stops reading its socket.
        if (slow) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        resolve();
      } else if (m.type === 'ping') {
        ws.send('{"type":"pong"}');
      } else if (m.type === 'error') {
        errors++;
      }
    });
    ws.on('close', (code: number) => {
      closes[String(code)] = (closes[String(code)] ?? 0) + 1;
      if (!acked) {
        errors++;
        resolve();
      }
    });
    ws.on('error', () => undefined);
    lean.push(ws);
  });
}

async function openGraphql(cmd: Extract<WorkerCommand, { type: 'open' }>): Promise<void> {
  let i = 0;
  const slowEvery = cmd.slowFraction ? Math.round(1 / cmd.slowFraction) : 0;
  await Promise.all(
    cmd.sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          const n = i++;
          const localAddress = cmd.localAddresses?.[n % cmd.localAddresses.length];
          const slow = slowEvery > 0 && n % slowEvery === 0;
          const Impl = class extends WebSocket {
            constructor(address: string, protocols?: string | string[]) {
              super(address, protocols, localAddress ? { localAddress } : {});
              // A slow reader: once acknowledged, it stops reading its socket.
              if (slow) this.once('message', () => (this as unknown as { _socket: { pause(): void } })._socket.pause());
            }
          };
          const c = createClient({
            url: cmd.url,
            webSocketImpl: Impl,
            connectionParams: { authorization: `Bearer ${s.token}` },
            lazy: false,
            retryAttempts: 0,
            onNonLazyError: () => {
              errors++;
              resolve();
            },
          });
          c.on('connected', () => resolve());
          c.on('closed', (e) => {
            const code = String((e as { code?: number }).code ?? 'unknown');
            closes[code] = (closes[code] ?? 0) + 1;
          });
          clients.push(c);
          for (const sub of s.subs) {
            c.subscribe<Record<string, { body?: string }>>(sub, {
              next: (v) => {
                const payload = v.data ? Object.values(v.data)[0] : undefined;
                record(payload?.body);
              },
              error: () => errors++,
              complete: () => undefined,
            });
          }
        }),
    ),
  );
}

async function openBare(cmd: Extract<WorkerCommand, { type: 'open' }>): Promise<void> {
  await Promise.all(
    cmd.sockets.map(
      () =>
        new Promise<void>((resolve) => {
          const ws = new WebSocket(cmd.url);
          ws.on('open', () => resolve());
          ws.on('error', () => {
            errors++;
            resolve();
          });
          ws.on('message', (data: Buffer) => {
            const m = JSON.parse(data.toString()) as { payload?: { data?: Record<string, { body?: string }> } };
            const payload = m.payload?.data ? Object.values(m.payload.data)[0] : undefined;
            record(payload?.body);
          });
          bare.push(ws);
        }),
    ),
  );
}

process.on('message', (raw: WorkerCommand) => {
  void (async () => {
    switch (raw.type) {
      case 'open': {
        const t0 = Date.now();
        if (raw.mode === 'graphql') await (process.env.BENCH_CLIENT === 'graphql-ws' ? openGraphql(raw) : openLean(raw));
        else await openBare(raw);
        send({ type: 'opened', sockets: raw.sockets.length, ms: Date.now() - t0, errors });
        return;
      }
      case 'count': {
        // Cheap progress polling: no histogram encoding, which would starve the sockets.
        send({ type: 'count', received });
        return;
      }
      case 'stats': {
        send({
          type: 'stats',
          received,
          p50: hist.getValueAtPercentile(50),
          p99: hist.getValueAtPercentile(99),
          max: hist.maxValue,
          errors,
          histogram: hdr.encodeIntoCompressedBase64(hist),
          closes,
        });
        if (raw.reset) {
          received = 0;
          hist = histogram();
        }
        return;
      }
      case 'reaction-latency': {
        send(reactionLatency(raw.sent));
        return;
      }
      case 'drop': {
        // Close every socket abruptly; each client resumes by opening a new socket (S5).
        const t0 = Date.now();
        for (const ws of [...bare.splice(0), ...lean.splice(0)]) ws.terminate();
        await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
        send({ type: 'dropped', recovered: 0, ms: Date.now() - t0, errors });
        return;
      }
      case 'close': {
        for (const ws of [...bare.splice(0), ...lean.splice(0)]) ws.close();
        await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
        send({ type: 'closed' });
        process.exit(0);
      }
    }
  })();
});
