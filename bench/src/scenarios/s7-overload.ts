/**
 * S7 — overload: the write path past saturation (S3's shape: many rooms, sends spread over
 * them). First the saturation rate is measured (a closed loop of BENCH_CLOSED senders for
 * BENCH_SECONDS), then sends arrive open-loop at 1 ×, 2 × and 4 × that rate. Per phase:
 * acknowledged sends/s (goodput), refusals (UNAVAILABLE: certainly not done), outcome-unknown
 * answers, p99 of answered requests (acknowledged or refused), the oldest queued job's age.
 * Afterwards, from the database: 0 acknowledged lost, nothing refused stored, and every stored
 * message was acknowledged or answered "outcome unknown".
 *
 * Targets (issue 18): goodput at 2 × and 4 × ≥ 90 % of 1 ×; answered p99 ≤ 1 s; the oldest
 * job within the deadline (COMMAND_TIMEOUT_MS, 10 s).
 */
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { gql, gqlOk } from '../../../e2e/src/harness.js';
import { paced } from '../lib/pace.js';
import { histogram, num, report } from '../lib/report.js';
import { INFRA_ENV, startSeeded } from '../lib/system.js';

const ROOMS = num('BENCH_ROOMS', 200, 10);
const SECONDS = num('BENCH_SECONDS', 10, 2);
const CLOSED = num('BENCH_CLOSED', 64, 8);
const SENDERS = num('BENCH_SENDERS', 32, 4);
const TIMEOUT_MS = 10_000;

const { sys, users, close } = await startSeeded({ users: SENDERS, env: { COMMAND_TIMEOUT_MS: String(TIMEOUT_MS) } });
const redis = new Redis(INFRA_ENV.REDIS_URL);
try {
  const gw = sys.gateways[0]!;
  const rooms = Array.from({ length: ROOMS }, (_, i) => `o${i}`);
  const sender = (r: number) => users[r % SENDERS]!;
  for (let r = 0; r < ROOMS; r++) await gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: rooms[r] }, sender(r).token);

  const acked = new Set<string>();
  const unknown = new Set<string>();
  const refused = new Set<string>();
  let n = 0;
  type Outcome = 'acked' | 'refused' | 'unknown' | 'other';
  const send = async (): Promise<{ outcome: Outcome; ms: number }> => {
    const i = n++;
    const r = i % ROOMS;
    const c = `o${i}`;
    const t0 = Date.now();
    const res = await gql<{ sendMessage: { seq: number } }>(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r: rooms[r], b: `m${i}`, c }, sender(r).token).catch(() => undefined);
    const ms = Date.now() - t0;
    const code = res?.errors?.[0]?.extensions?.code;
    if (res?.data?.sendMessage) return acked.add(c), { outcome: 'acked', ms };
    if (code === 'UNAVAILABLE' || code === 'RATE_LIMITED') return refused.add(c), { outcome: 'refused', ms };
    if (code === 'OUTCOME_UNKNOWN') return unknown.add(c), { outcome: 'unknown', ms };
    return { outcome: 'other', ms };
  };

  // The oldest waiting job's age, sampled while a phase runs (BullMQ's wait list, oldest at the tail).
  const waitKey = `${sys.namespace}:commands:wait`;
  const oldestAge = async (): Promise<number> => {
    const id = await redis.lindex(waitKey, -1);
    if (!id) return 0;
    const ts = await redis.hget(`${sys.namespace}:commands:${id}`, 'timestamp');
    return ts ? Date.now() - Number(ts) : 0;
  };

  // Saturation: a closed loop, each sender sending again as soon as it is answered.
  const t0 = Date.now();
  let closedAcked = 0;
  await Promise.all(
    Array.from({ length: CLOSED }, async () => {
      while (Date.now() - t0 < SECONDS * 1_000) if ((await send()).outcome === 'acked') closedAcked++;
    }),
  );
  const saturation = closedAcked / ((Date.now() - t0) / 1_000);

  const rows = [];
  for (const factor of [1, 2, 4]) {
    const rate = Math.max(1, Math.round(saturation * factor));
    const answered = histogram();
    const counts: Record<Outcome, number> = { acked: 0, refused: 0, unknown: 0, other: 0 };
    let oldest = 0;
    const sampler = setInterval(() => void oldestAge().then((a) => (oldest = Math.max(oldest, a)), () => undefined), 250);
    const pending: Promise<void>[] = [];
    const start = Date.now();
    await paced(rate, SECONDS, () => {
      pending.push(
        send().then(({ outcome, ms }) => {
          counts[outcome]++;
          if (outcome === 'acked' || outcome === 'refused') answered.recordValue(Math.max(1, ms));
        }),
      );
    });
    await Promise.all(pending);
    clearInterval(sampler);
    const seconds = (Date.now() - start) / 1_000;
    rows.push({
      load: `${factor} ×`,
      'offered/s': rate,
      'acked/s': +(counts.acked / seconds).toFixed(1),
      refused: counts.refused,
      unknown: counts.unknown,
      other: counts.other,
      'answered p50 ms': answered.getValueAtPercentile(50),
      'answered p99 ms': answered.getValueAtPercentile(99),
      'oldest job ms': oldest,
    });
  }
  const base = Number(rows[0]!['acked/s']);
  for (const r of rows) Object.assign(r, { 'goodput vs 1 ×': base > 0 ? +(Number(r['acked/s']) / base).toFixed(2) : 0 });

  // The honest-outcome check, straight from the database once the queue has drained.
  const mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
  let stored: string[] = [];
  try {
    for (let i = 0; i < 120; i++) {
      const depth = (await redis.llen(waitKey)) + (await redis.llen(`${sys.namespace}:commands:active`));
      if (depth === 0) break;
      await new Promise((r) => setTimeout(r, 500)); // the queue drains on its own; nothing to wait on
    }
    stored = (await mongo.db(sys.namespace).collection<{ clientMsgId: string }>('messages').find({}, { projection: { clientMsgId: 1 } }).toArray()).map((m) => m.clientMsgId);
  } finally {
    await mongo.close();
  }
  const storedSet = new Set(stored);
  const lost = [...acked].filter((c) => !storedSet.has(c)).length;
  const refusedStored = [...refused].filter((c) => storedSet.has(c)).length;
  const unexplained = stored.filter((c) => !acked.has(c) && !unknown.has(c)).length;
  report('s7-overload', rows, { saturationPerSecond: +saturation.toFixed(1), lostAcked: lost, refusedButStored: refusedStored, storedNeitherAckedNorUnknown: unexplained, timeoutMs: TIMEOUT_MS });
  console.log(`saturation ${saturation.toFixed(1)} sends/s; acknowledged lost ${lost}; refused but stored ${refusedStored}; stored but neither acknowledged nor "outcome unknown" ${unexplained}`);
  if (lost > 0 || refusedStored > 0 || unexplained > 0) process.exitCode = 1;
} finally {
  redis.disconnect();
  await close();
}
