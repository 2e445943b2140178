/**
 * S1 — idle capacity: N sockets, each with one messageAdded subscription, on one gateway
 * process: RSS per socket and connect-and-subscribe rate, against a bare ws server holding
 * the same number of sockets in the same run. Sockets are spread over 127.0.0.x source
 * addresses so that tens of thousands fit in the ephemeral port range.
 */
import { gqlOk } from '../../../e2e/src/harness.js';
import { startCeiling } from '../lib/ceiling.js';
import { num, report, type Row } from '../lib/report.js';
import { rss, startSeeded } from '../lib/system.js';
import { Workers, until } from '../lib/workers.js';

const N = num('BENCH_SOCKETS', 10_000, 200);
const ROOMS = 100;
const WORKERS = num('BENCH_WORKERS', 4, 1);
const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
const rows: Row[] = [];

const split = <T>(xs: T[], parts: number): T[][] => Array.from({ length: parts }, (_, p) => xs.filter((_, i) => i % parts === p));

{
  const workers = Workers.start(WORKERS);
  const ceiling = await startCeiling();
  const before = rss(ceiling.pid);
  const sockets = Array.from({ length: N }, () => ({ token: '', subs: [] }));
  const o = await workers.open(split(sockets, WORKERS).map((s) => ({ type: 'open' as const, mode: 'bare' as const, url: ceiling.url, sockets: s })));
  rows.push({ server: 'bare ws (ceiling)', sockets: o.sockets, errors: o.errors, 'connect/s': Math.round((o.sockets * 1000) / o.ms), 'KB per socket': +((rss(ceiling.pid) - before) / 1024 / N).toFixed(1) });
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
  const query = 'subscription($room: ID!) { messageAdded(room: $room) { seq body } }';
  const sockets = Array.from({ length: N }, (_, i) => ({ token: users[1 + (i % (users.length - 1))]!.token, subs: [{ query, variables: { room: rooms[i % ROOMS] } }] }));
  const t0 = Date.now();
  const o = await workers.open(split(sockets, WORKERS).map((s) => ({ type: 'open' as const, mode: 'graphql' as const, url: gw.ws, sockets: s, localAddresses: addresses })));
  // Subscribed, not only connected: one message per room must reach every socket.
  await until(async () => {
    for (const r of rooms) await gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r, b: `${Date.now()}|probe`, c: `p-${r}-${Date.now()}` }, users[0]!.token);
    return (await workers.received()) >= N;
  }, 300_000, 2_000);
  const ms = Date.now() - t0;
  rows.push({ server: 'conversa gateway', sockets: o.sockets, errors: o.errors, 'connect/s': Math.round((o.sockets * 1000) / ms), 'KB per socket': +((rss(gw.proc.child.pid!) - before) / 1024 / N).toFixed(1) });
  report('s1-idle', rows, { target: '≥ 50,000 sockets at ≤ 15 KB each' });
} finally {
  await workers.close();
  await close();
}
