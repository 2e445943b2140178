/**
 * S6 — slow readers: S3's shape (many rooms, a few subscribers each, a steady send rate) with a
 * share of sockets that stop reading. The gateway must keep its memory bounded (slow sockets
 * are closed with 4413 once WS_MAX_PENDING_MESSAGES wait for them) and the healthy clients'
 * p99 must stay close to S3's. Latency counts only messages that healthy sockets received.
 */
import { gqlOk } from '../../../e2e/src/harness.js';
import { paced, stamped } from '../lib/pace.js';
import { num, report } from '../lib/report.js';
import { rss, startSeeded } from '../lib/system.js';
import { Workers, until } from '../lib/workers.js';

const ROOMS = num('BENCH_ROOMS', 200, 10);
const PER_ROOM = num('BENCH_PER_ROOM', 10, 4);
const RATE = num('BENCH_RATE', 200, 20);
const SECONDS = num('BENCH_SECONDS', 20, 3);
const SLOW = Number(process.env.BENCH_SLOW_FRACTION ?? 0.05);
const SENDERS = 16;

const workers = Workers.start(2);
const { sys, users, close } = await startSeeded({
  users: Math.max(SENDERS, PER_ROOM * 2),
  chats: 2,
  env: { COMMAND_TIMEOUT_MS: '30000', WS_MAX_PENDING_MESSAGES: process.env.BENCH_MAX_PENDING ?? '200' },
});
try {
  const gw = sys.gateways[0]!;
  const rooms = Array.from({ length: ROOMS }, (_, i) => `slow${i}`);
  const sender = (r: number) => users[r % SENDERS]!;
  for (let r = 0; r < ROOMS; r++) await gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: rooms[r] }, sender(r).token);
  const query = 'subscription($room: ID!) { messageAdded(room: $room, after: 0) { seq body } }';
  const sockets = rooms.flatMap((room, r) => Array.from({ length: PER_ROOM }, (_, k) => ({ token: users[(r + k) % users.length]!.token, subs: [{ query, variables: { room } }] })));
  const half = Math.ceil(sockets.length / 2);
  await workers.open([
    { type: 'open', mode: 'graphql', url: gw.ws, sockets: sockets.slice(0, half), slowFraction: SLOW },
    { type: 'open', mode: 'graphql', url: gw.ws, sockets: sockets.slice(half), slowFraction: SLOW },
  ]);
  const rssBefore = rss(gw.proc.child.pid!);
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(gw.proc.child.pid!))), 250);
  await workers.stats(true);
  let n = 0;
  const pending: Promise<unknown>[] = [];
  const sent = await paced(RATE, SECONDS, (i) => {
    const r = i % ROOMS;
    pending.push(
      gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r: rooms[r], b: stamped(200), c: `s${n++}` }, sender(r).token).catch(() => undefined),
    );
  });
  await Promise.all(pending);
  const healthy = Math.round(sockets.length * (1 - SLOW));
  await until(async () => (await workers.received()) >= (sent / ROOMS) * healthy * 0.99, 60_000).catch(() => undefined);
  clearInterval(sampler);
  const s = await workers.stats();
  report('s6-slow-readers', [
    {
      sockets: sockets.length,
      'slow %': SLOW * 100,
      'sends/s': RATE,
      sent,
      'healthy p50 ms': s.p50,
      'healthy p99 ms': s.p99,
      'closed 4413': s.closes['4413'] ?? 0,
      'gateway MB before': Math.round(rssBefore / 2 ** 20),
      'gateway MB peak': Math.round(peak / 2 ** 20),
    },
  ]);
} finally {
  await workers.close();
  await close();
}
