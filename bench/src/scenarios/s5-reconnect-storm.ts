/**
 * S5 — reconnect storm: N subscribed clients drop at once and resume with `after`; time until
 * every one of them has the message sent during the outage, and the errors.
 */
import { gqlOk } from '../../../e2e/src/harness.js';
import { num, report } from '../lib/report.js';
import { startSeeded } from '../lib/system.js';
import { Workers, until } from '../lib/workers.js';

const N = num('BENCH_CLIENTS', 10_000, 200);
const ROOMS = 100;
const WORKERS = num('BENCH_WORKERS', 4, 1);
const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);

const workers = Workers.start(WORKERS);
const { sys, users, close } = await startSeeded({ users: Math.ceil(N / 10) + 1 });
try {
  const gw = sys.gateways[0]!;
  const rooms = Array.from({ length: ROOMS }, (_, i) => `storm${i}`);
  for (const r of rooms) await gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, users[0]!.token);
  const send = (r: string, tag: string) =>
    gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r, b: `${Date.now()}|${tag}`, c: `${tag}-${r}` }, users[0]!.token);
  for (const r of rooms) await send(r, 'first');
  const open = (after: number) => {
    const query = 'subscription($room: ID!, $after: Int) { messageAdded(room: $room, after: $after) { seq body } }';
    const sockets = Array.from({ length: N }, (_, i) => ({ token: users[1 + (i % (users.length - 1))]!.token, subs: [{ query, variables: { room: rooms[i % ROOMS], after } }] }));
    return workers.open(Array.from({ length: WORKERS }, (_, w) => ({ type: 'open' as const, mode: 'graphql' as const, url: gw.ws, sockets: sockets.filter((_, i) => i % WORKERS === w), localAddresses: addresses, opening: 0 })));
  };
  await open(0);
  await until(async () => (await workers.received()) >= N, 300_000, 500);
  await workers.stats(true);
  // Everyone drops; a message is sent to every room while they are away; then everyone
  // resumes after seq 1 at once, and the clock runs until each has the message it missed.
  await workers.dropAll();
  await Promise.all(rooms.map((r) => send(r, 'missed')));
  const t0 = Date.now();
  const reopened = await open(1);
  await until(async () => (await workers.received()) >= N, 300_000, 100);
  const s = await workers.stats();
  const ms = Date.now() - t0;
  report('s5-reconnect-storm', [{ clients: N, 'all recovered ms': ms, 'reconnect ms': reopened.ms, errors: s.errors + reopened.errors, 'p99 ms': s.p99 }], { target: '10,000 recovered in ≤ 10 s with 0 errors' });
} finally {
  await workers.close();
  await close();
}
