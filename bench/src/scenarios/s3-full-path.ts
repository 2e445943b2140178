/**
 * S3 — full path: many rooms with a few subscribers each, a steady rate of sendMessage;
 * end-to-end latency (send → every subscriber), delivery ratio, and audit consumer lag
 * (message createdAt → its audit entry's recordedAt). The baseline in the same run: the raw
 * driver's `insertOne` of the same documents into the same database at the same rate (the
 * database's own latency at this load, without conversa).
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { gqlOk } from '../../../e2e/src/harness.js';
import { paced, stamped } from '../lib/pace.js';
import { num, report, histogram } from '../lib/report.js';
import { INFRA_ENV, rss, startSeeded } from '../lib/system.js';
import { Workers, until } from '../lib/workers.js';

const ROOMS = num('BENCH_ROOMS', 1_000, 20);
const PER_ROOM = num('BENCH_PER_ROOM', 10, 3);
const RATE = num('BENCH_RATE', 500, 20);
const SECONDS = num('BENCH_SECONDS', 60, 2);
const SENDERS = num('BENCH_SENDERS', 32, 4);
/** Chat worker processes (see S4: on 2 cores a second one only adds contention). */
const CHATS = num('BENCH_CHATS', 1, 1);

const workers = Workers.start(2);
const { sys, users, close } = await startSeeded({ users: Math.max(SENDERS, PER_ROOM * 2), chats: CHATS, env: { COMMAND_TIMEOUT_MS: '30000' } });
try {
  const gw = sys.gateways[0]!;
  const rooms = Array.from({ length: ROOMS }, (_, i) => `r${i}`);
  // Senders join every room they send to (sender i sends to rooms i, i + SENDERS, ...).
  const sender = (r: number) => users[r % SENDERS]!;
  for (let r = 0; r < ROOMS; r++) await gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: rooms[r] }, sender(r).token);
  const query = 'subscription($room: ID!) { messageAdded(room: $room, after: 0) { seq body } }';
  const sockets = rooms.flatMap((room, r) => Array.from({ length: PER_ROOM }, (_, k) => ({ token: users[(r + k) % users.length]!.token, subs: [{ query, variables: { room } }] })));
  const half = Math.ceil(sockets.length / 2);
  const opened = await workers.open([
    { type: 'open', mode: 'graphql', url: gw.ws, sockets: sockets.slice(0, half) },
    { type: 'open', mode: 'graphql', url: gw.ws, sockets: sockets.slice(half) },
  ]);
  await workers.stats(true);
  let failed = 0;
  let n = 0;
  const pending: Promise<unknown>[] = [];
  const mutationLatency = histogram();
  const sent = await paced(RATE, SECONDS, (i) => {
    const r = i % ROOMS;
    const t0 = Date.now();
    pending.push(
      gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r: rooms[r], b: stamped(200), c: `s${n++}` }, sender(r).token)
        .then(() => mutationLatency.recordValue(Math.max(1, Date.now() - t0)))
        .catch(() => failed++),
    );
  });
  await Promise.all(pending);
  const want = (sent - failed) * PER_ROOM;
  await until(async () => (await workers.received()) >= want, 60_000).catch(() => undefined);
  const s = await workers.stats();
  // Audit lag from the database: recordedAt − message createdAt, per message.
  const lag = histogram();
  await until(async () => {
    const mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
    try {
      const n = await mongo.db(sys.namespace).collection('audit_log').countDocuments({ type: 'message.posted' });
      return n >= sent - failed;
    } finally {
      await mongo.close();
    }
  }, 60_000, 500).catch(() => undefined);
  const mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
  const raw = mongo.db(sys.namespace).collection('raw_inserts');
  const audit = await mongo.db(sys.namespace).collection<{ at: Date; recordedAt: Date }>('audit_log').find({ type: 'message.posted' }, { projection: { at: 1, recordedAt: 1 } }).toArray();
  for (const a of audit) lag.recordValue(Math.max(1, a.recordedAt.getTime() - a.at.getTime()));
  // Baseline: the raw driver at the same rate into the same database, once conversa is idle.
  const rawLatency = histogram();
  let rawFailed = 0;
  const rawPending: Promise<unknown>[] = [];
  await paced(RATE, SECONDS, (i) => {
    const t0 = Date.now();
    rawPending.push(
      raw
        .insertOne(
          { _id: randomUUID() as never, room: rooms[i % ROOMS], seq: i, authorId: sender(i).id, body: stamped(200), status: 'VISIBLE', clientMsgId: randomUUID(), createdAt: new Date(), editedAt: null, outbox: [], outboxPending: true },
          { writeConcern: { w: 'majority', j: true } },
        )
        .then(() => rawLatency.recordValue(Math.max(1, Date.now() - t0)))
        .catch(() => rawFailed++),
    );
  });
  await Promise.all(rawPending);
  await mongo.close();
  report('s3-full-path', [
    {
      rooms: ROOMS,
      subscribers: ROOMS * PER_ROOM,
      'sends/s': RATE,
      sent,
      failed,
      'delivery %': +((100 * s.received) / Math.max(1, want)).toFixed(2),
      'e2e p50 ms': s.p50,
      'e2e p99 ms': s.p99,
      'e2e max ms': s.max,
      'mutation p99 ms': mutationLatency.getValueAtPercentile(99),
      'audit lag p99 ms': lag.getValueAtPercentile(99),
      audited: audit.length,
      'raw insertOne p50 / p99 ms': `${rawLatency.getValueAtPercentile(50)} / ${rawLatency.getValueAtPercentile(99)}`,
      'raw failed': rawFailed,
      'gateway MB': Math.round(rss(gw.proc.child.pid!) / 2 ** 20),
      errors: s.errors,
    },
  ], { connectMs: opened.ms, closes: s.closes });
  if (s.received < want) {
    console.error(`only ${s.received} of ${want} deliveries arrived; socket closes ${JSON.stringify(s.closes)}, errors ${s.errors}`);
    for (const p of sys.procs) console.error(`--- ${p.name} (last lines)\n${p.output.join('').split('\n').slice(-15).join('\n')}`);
    process.exitCode = 1;
  }
} finally {
  await workers.close();
  await close();
}
