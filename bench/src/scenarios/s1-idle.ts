/**
 * S1 — idle capacity: N sockets, each with one messageAdded subscription, on one gateway
 * process: RSS per socket and connect-and-subscribe rate, against a bare ws server holding
 * the same number of sockets in the same run. Sockets are spread over 127.0.0.x source
 * addresses so that tens of thousands fit in the ephemeral port range. The gateway's RSS is
 * read twice: at once when every socket has its probe message, and once idle (BENCH_SETTLE_S).
 */
import { gqlOk } from '../../../e2e/src/harness.js';
import { startCeiling } from '../lib/ceiling.js';
import { num, report, type Row } from '../lib/report.js';
import { cpuMs, rss, startSeeded } from '../lib/system.js';
import { Workers, until } from '../lib/workers.js';

const N = num('BENCH_SOCKETS', 10_000, 200);
const ROOMS = 100;
const WORKERS = num('BENCH_WORKERS', 4, 1);
const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
const rows: Row[] = [];

const split = <T>(xs: T[], parts: number): T[][] => Array.from({ length: parts }, (_, p) => xs.filter((_, i) => i % parts === p));

/** The gateway's own memory figures from its /metrics (prom-client's process metrics), bytes. */
async function memory(port: number): Promise<{ heapUsed: number; heapTotal: number; external: number; old: number; young: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string, labels = '(?:\\{[^}]*\\})?') => Number(new RegExp(`^conversa_${name}${labels} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    heapUsed: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
    // Committed size of V8's old and young generations (the young one is the semi-spaces).
    old: value('nodejs_heap_space_size_total_bytes', '\\{space="old"[^}]*\\}'),
    young: value('nodejs_heap_space_size_total_bytes', '\\{space="new"[^}]*\\}'),
  };
}
const perSocket = (after: number, before: number) => +((after - before) / 1024 / N).toFixed(1);

{
  const workers = Workers.start(WORKERS);
  const ceiling = await startCeiling();
  const before = rss(ceiling.pid);
  const cpu0 = cpuMs(ceiling.pid);
  const sockets = Array.from({ length: N }, () => ({ token: '', subs: [] }));
  const o = await workers.open(split(sockets, WORKERS).map((s) => ({ type: 'open' as const, mode: 'bare' as const, url: ceiling.url, sockets: s })));
  const kb = +((rss(ceiling.pid) - before) / 1024 / N).toFixed(1);
  rows.push({ server: 'bare ws (ceiling)', sockets: o.sockets, errors: o.errors, 'connect/s': Math.round((o.sockets * 1000) / o.ms), 'KB per socket': kb, 'KB per socket, idle': kb, 'CPU ms per socket': +((cpuMs(ceiling.pid) - cpu0) / o.sockets).toFixed(2) });
  ceiling.close();
  await workers.close();
}

const workers = Workers.start(WORKERS);
const { sys, users, close } = await startSeeded({ users: Math.ceil(N / 10) + 1 });
try {
  const gw = sys.gateways[0]!;
  const rooms = Array.from({ length: ROOMS }, (_, i) => `idle${i}`);
  for (const r of rooms) await gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, users[0]!.token);
  const before = rss(gw.proc.child.pid!);
  const mem0 = await memory(gw.port);
  const query = 'subscription($room: ID!) { messageAdded(room: $room) { seq body } }';
  const sockets = Array.from({ length: N }, (_, i) => ({ token: users[1 + (i % (users.length - 1))]!.token, subs: [{ query, variables: { room: rooms[i % ROOMS] } }] }));
  const t0 = Date.now();
  const cpu0 = cpuMs(gw.proc.child.pid!);
  const o = await workers.open(split(sockets, WORKERS).map((s) => ({ type: 'open' as const, mode: 'graphql' as const, url: gw.ws, sockets: s, localAddresses: addresses })));
  // Subscribed, not only connected: one message per room must reach every socket.
  await until(async () => {
    for (const r of rooms) await gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r, b: `${Date.now()}|probe`, c: `p-${r}-${Date.now()}` }, users[0]!.token);
    return (await workers.received()) >= N;
  }, 300_000, 2_000);
  const ms = Date.now() - t0;
  // The gateway's CPU time per socket connected and subscribed: unlike connect/s, it does not
  // depend on what else the shared machine runs.
  const cpuPerSocket = +((cpuMs(gw.proc.child.pid!) - cpu0) / o.sockets).toFixed(2);
  const mem1 = await memory(gw.port);
  const atOnce = +((rss(gw.proc.child.pid!) - before) / 1024 / N).toFixed(1);
  // Idle capacity is what idle sockets hold, not the connect storm's garbage, which V8 keeps
  // until its memory reducer runs (a few seconds after allocation stops): RSS once idle for
  // up to BENCH_SETTLE_S seconds (default 60), sampled every 5 s until it stops falling.
  const settleMs = num('BENCH_SETTLE_S', 60, 5) * 1_000;
  let settled = rss(gw.proc.child.pid!);
  for (const t0s = Date.now(); Date.now() - t0s < settleMs; ) {
    await new Promise((r) => setTimeout(r, 5_000));
    const now = rss(gw.proc.child.pid!);
    const falling = now < settled * 0.99;
    settled = Math.min(settled, now);
    if (!falling && Date.now() - t0s >= 20_000) break;
  }
  const mem2 = await memory(gw.port);
  rows.push({
    server: 'conversa gateway',
    sockets: o.sockets,
    errors: o.errors,
    'connect/s': Math.round((o.sockets * 1000) / ms),
    'KB per socket': atOnce,
    'KB per socket, idle': +((settled - before) / 1024 / N).toFixed(1),
    'CPU ms per socket': cpuPerSocket,
  });
  // Where the RSS went: V8's heap (used: live and not yet collected; total: what V8 holds) and
  // memory outside it (Buffers); the rest of RSS is native (sockets, malloc, code).
  const rssIdle = rss(gw.proc.child.pid!);
  for (const [when, m, r] of [['at once', mem1, atOnce], ['idle', mem2, +((rssIdle - before) / 1024 / N).toFixed(1)]] as const) {
    const heapTotal = perSocket(m.heapTotal, mem0.heapTotal);
    console.log(
      `gateway per socket ${when}: RSS ${r} KB, heap used ${perSocket(m.heapUsed, mem0.heapUsed)} KB, heap total ${heapTotal} KB ` +
        `(old ${perSocket(m.old, mem0.old)}, young ${perSocket(m.young, mem0.young)}), external ${perSocket(m.external, mem0.external)} KB, RSS − heap total ${+(r - heapTotal).toFixed(1)} KB`,
    );
  }
  // The one full, compacting collection the gateway runs once the storm is over (settle-gc.ts).
  const gcText = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text();
  const gcStat = (k: string) => Number(new RegExp(`^conversa_gateway_storm_gc_seconds_${k}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(gcText)?.[1] ?? NaN);
  console.log(`gateway's collections after the storm: ${gcStat('count')}, pauses ${Math.round(gcStat('sum') * 1_000)} ms in all`);
  report('s1-idle', rows, { target: '≥ 50,000 sockets at ≤ 15 KB each' });
} finally {
  await workers.close();
  await close();
}
