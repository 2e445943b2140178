/**
 * S4 — write path: sendMessage throughput at saturation and mutation p99, against raw-driver
 * inserts of the same documents into the same database in the same run.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { gqlOk } from '../../../e2e/src/harness.js';
import { histogram, num, report, type Row } from '../lib/report.js';
import { INFRA_ENV, startSeeded } from '../lib/system.js';

const SECONDS = num('BENCH_SECONDS', 10, 2);
const CONCURRENCY = num('BENCH_CONCURRENCY', 32, 4);
const ROOMS = 16;
/**
 * Chat worker processes. One by default: on a 2-core machine a second process adds no CPU,
 * only contention for the same rooms (BENCH_CHATS=2 measures that).
 */
const CHATS = num('BENCH_CHATS', 1, 1);
const rows: Row[] = [];

async function saturate(name: string, op: (i: number) => Promise<void>): Promise<number> {
  const h = histogram();
  let done = 0;
  let failed = 0;
  let i = 0;
  const end = Date.now() + SECONDS * 1000;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const s = Date.now();
        try {
          await op(i++);
          done++;
          h.recordValue(Math.max(1, Date.now() - s));
        } catch {
          failed++;
        }
      }
    }),
  );
  const perSecond = Math.round((done * 1000) / (Date.now() - t0));
  rows.push({ path: name, concurrency: CONCURRENCY, 'ops/s': perSecond, 'p50 ms': h.getValueAtPercentile(50), 'p99 ms': h.getValueAtPercentile(99), failed });
  return perSecond;
}

const { sys, users, close } = await startSeeded({ users: ROOMS, chats: CHATS, env: { COMMAND_TIMEOUT_MS: '30000' } });
try {
  const gw = sys.gateways[0]!;
  for (let r = 0; r < ROOMS; r++) await gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: `w${r}` }, users[r]!.token);
  const mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
  const raw = mongo.db(sys.namespace).collection('raw_inserts');
  const rawRate = await saturate('raw driver insertOne (w: majority, j)', async (i) => {
    await raw.insertOne(
      { _id: randomUUID() as never, room: `w${i % ROOMS}`, seq: i, authorId: users[i % ROOMS]!.id, body: 'x'.repeat(200), status: 'VISIBLE', clientMsgId: randomUUID(), createdAt: new Date(), editedAt: null, outbox: [], outboxPending: true },
      { writeConcern: { w: 'majority', j: true } },
    );
  });
  await mongo.close();
  const sendRate = await saturate('sendMessage (gateway → queue → chat → MongoDB)', async (i) => {
    const r = i % ROOMS;
    await gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r: `w${r}`, b: 'x'.repeat(200), c: randomUUID() }, users[r]!.token);
  });
  report('s4-write-path', rows, { chats: CHATS, ratio: +(sendRate / rawRate).toFixed(2), target: '≥ 0.5 × raw' });
  console.log(`sendMessage = ${(sendRate / rawRate).toFixed(2)} × raw inserts (target ≥ 0.5)`);
} finally {
  await close();
}
