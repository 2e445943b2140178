/**
 * S6 — slow readers: hot rooms with a steady send rate (within what the write path carries,
 * so that latency measures delivery, not queueing) and a share of sockets that stop reading.
 * Once the kernel's buffers for a stopped socket are full (a few MB on loopback), the gateway
 * buffers its frames up to WS_MAX_BUFFERED_BYTES and then closes it with 4413: its memory
 * stays bounded and the healthy sockets keep their latency. Latency counts only messages that
 * healthy sockets received; compare with S3's.
 */
import { gqlOk } from '../../../e2e/src/harness.js';
import { paced, stamped } from '../lib/pace.js';
import { num, report } from '../lib/report.js';
import { rss, startSeeded } from '../lib/system.js';
import { Workers, until } from '../lib/workers.js';

const ROOMS = num('BENCH_ROOMS', 2, 2);
const PER_ROOM = num('BENCH_PER_ROOM', 200, 20);
const RATE = num('BENCH_RATE', 60, 20);
const SECONDS = num('BENCH_SECONDS', 90, 3);
/** Message body bytes: large enough that a stopped reader fills its kernel buffers within the run. */
const BODY = num('BENCH_BODY', 2_000, 200);
const SLOW = Number(process.env.BENCH_SLOW_FRACTION ?? 0.05);
const MAX_BUFFERED = process.env.BENCH_MAX_BUFFERED ?? '262144';
const SENDERS = 16;

const workers = Workers.start(2);
const { sys, users, close } = await startSeeded({
  users: Math.max(SENDERS, PER_ROOM * 2),
  chats: 1,
  env: { COMMAND_TIMEOUT_MS: '30000', WS_MAX_BUFFERED_BYTES: MAX_BUFFERED },
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
      gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r: rooms[r], b: stamped(BODY), c: `s${n++}` }, sender(r).token).catch(() => undefined),
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
      'slow sockets': Math.round(sockets.length * SLOW),
      'closed 4413': s.closes['4413'] ?? 0,
      'cap KiB': Math.round(Number(MAX_BUFFERED) / 1024),
      'gateway MB before': Math.round(rssBefore / 2 ** 20),
      'gateway MB peak': Math.round(peak / 2 ** 20),
    },
  ]);
} finally {
  await workers.close();
  await close();
}
