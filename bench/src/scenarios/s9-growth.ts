/**
 * S9 — growth (issue 13): does a command get slower as the database fills? p50/p99 of
 * `joinRoom`, `sendMessage`, a `messages` page and `rooms`, first on a small database, then
 * again after loading BENCH_USERS users, BENCH_MEMBERSHIPS memberships and BENCH_MESSAGES
 * messages (default 10,000 / 50,000 / 200,000 over BENCH_ROOMS = 1,000 public rooms) through
 * the store's write methods (lib/loader.ts; it marks the events it wrote published itself, see
 * there), once the outbox is empty (so the second phase is not measuring a backlog).
 * Each phase's operations touch that phase's rooms: joins into them, sends into them (the chat
 * worker has never seen them: its newest-seq look-up runs on a 200-message room), their pages.
 * The raw driver's newest-page query on the same collection is measured in both phases as the
 * database's own baseline. Target: p99 at the large size ≤ 1.5 × the small size.
 */
import { MongoClient } from 'mongodb';
import { openStore } from '@conversa/store';
import { gqlOk } from '../../../e2e/src/harness.js';
import { load, type LoadSize } from '../lib/loader.js';
import { histogram, num, report, type Row } from '../lib/report.js';
import { INFRA_ENV, startSeeded } from '../lib/system.js';
import { until } from '../lib/workers.js';

const LARGE: LoadSize = {
  users: num('BENCH_USERS', 10_000, 300),
  rooms: num('BENCH_ROOMS', 1_000, 30),
  memberships: num('BENCH_MEMBERSHIPS', 50_000, 1_500),
  messages: num('BENCH_MESSAGES', 200_000, 6_000),
};
/** The small database: the same shape (messages per room), a hundredth of it. */
const SMALL: LoadSize = {
  users: Math.max(20, Math.round(LARGE.users / 100)),
  rooms: Math.max(4, Math.round(LARGE.rooms / 100)),
  memberships: Math.max(40, Math.round(LARGE.memberships / 100)),
  messages: Math.max(4, Math.round(LARGE.rooms / 100)) * Math.floor(LARGE.messages / LARGE.rooms),
};
const OPS = num('BENCH_OPS', 200, 24);
const CONCURRENCY = num('BENCH_CONCURRENCY', 4, 2);
const BENCH_USERS = 64;

const { sys, users, close } = await startSeeded({ users: BENCH_USERS, env: { COMMAND_TIMEOUT_MS: '30000' } });
const mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
const store = await openStore({ url: INFRA_ENV.MONGO_URL, dbName: sys.namespace });
const gw = sys.gateways[0]!;
const rows: Row[] = [];

async function timed(n: number, op: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const h = histogram();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await op(i);
        h.recordValue(Math.max(1, Math.round(performance.now() - t0)));
      }
    }),
  );
  return { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99) };
}

/** Waits until nothing is pending in the outbox. */
async function caughtUp(): Promise<number> {
  const t0 = Date.now();
  await until(
    async () => {
      const pending = await store.outbox.countPending();
      process.stderr.write(`[catch-up] ${pending} pending in the outbox\n`);
      return pending === 0;
    },
    600_000,
    5_000,
  );
  return Date.now() - t0;
}

async function phase(label: string, rooms: string[]): Promise<Record<string, { p50: number; p99: number }>> {
  const user = (i: number) => users[i % BENCH_USERS]!;
  // op i: bench user i mod 64 in room ⌊i / 64⌋ (distinct pairs: a real join each time).
  const room = (i: number) => rooms[(Math.floor(i / BENCH_USERS) * 7 + (i % BENCH_USERS)) % rooms.length]!;
  const perRoom = Math.floor(LARGE.messages / LARGE.rooms);
  const r: Record<string, { p50: number; p99: number }> = {};
  r.joinRoom = await timed(OPS, (i) => gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room(i) }, user(i).token));
  r.sendMessage = await timed(OPS, (i) =>
    gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r: room(i), b: `growth ${label} ${i}`, c: `${label}-${i}` }, user(i).token),
  );
  // Newest page and an older page, alternately.
  r['messages page'] = await timed(OPS, (i) =>
    gqlOk(
      gw.http,
      'query($r: ID!, $b: Int) { messages(room: $r, before: $b, limit: 50) { hasMore messages { seq body author { displayName } } } }',
      { r: room(i), b: i % 2 === 0 ? null : Math.max(2, Math.floor(perRoom / 2)) },
      user(i).token,
    ),
  );
  r.rooms = await timed(OPS, (i) => gqlOk(gw.http, '{ rooms { id name kind } }', {}, user(i).token));
  const raw = mongo.db(sys.namespace).collection('messages');
  r['raw driver: newest page'] = await timed(OPS, (i) => raw.find({ room: room(i) }).sort({ seq: -1 }).limit(50).toArray());
  return r;
}

try {
  const small = await load(INFRA_ENV.MONGO_URL, sys.namespace, SMALL, 's-');
  const smallCatchUp = await caughtUp();
  process.stderr.write('[phase] small\n');
  const a = await phase('small', small.rooms);
  const large = await load(INFRA_ENV.MONGO_URL, sys.namespace, LARGE, 'l-');
  const largeCatchUp = await caughtUp();
  process.stderr.write('[phase] large\n');
  const b = await phase('large', large.rooms);
  const counts = await Promise.all(['users', 'memberships', 'messages', 'audit_log'].map((c) => mongo.db(sys.namespace).collection(c).estimatedDocumentCount()));
  for (const op of Object.keys(a)) {
    rows.push({
      operation: op,
      'small p50 ms': a[op]!.p50,
      'small p99 ms': a[op]!.p99,
      'large p50 ms': b[op]!.p50,
      'large p99 ms': b[op]!.p99,
      'p99 large / small': +(b[op]!.p99 / a[op]!.p99).toFixed(2),
    });
  }
  report('s9-growth', rows, {
    small: SMALL,
    large: LARGE,
    ops: OPS,
    concurrency: CONCURRENCY,
    database: { users: counts[0], memberships: counts[1], messages: counts[2], audit_log: counts[3] },
    loadMs: { small: small.ms, large: large.ms },
    catchUpMs: { small: smallCatchUp, large: largeCatchUp },
  });
  console.log(`database after the load: ${counts[0]} users, ${counts[1]} memberships, ${counts[2]} messages, ${counts[3]} audit entries`);
  console.log(`large load took ${JSON.stringify(large.ms)} ms; outbox empty ${largeCatchUp} ms after it`);
} finally {
  await store.close();
  await mongo.close();
  await close();
}
