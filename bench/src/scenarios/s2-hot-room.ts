/**
 * S2 — hot room: one room, many subscribers, stepped publish rate. Three ways in the same run:
 *   ceiling    a bare ws broadcast server (no GraphQL, no Redis): the machine's limit
 *   fan-out    conversa's gateway, events published straight onto the room's Redis channel
 *   send       conversa end to end: sendMessage → queue → chat → MongoDB → Redis → gateway
 * For each: p50/p99/max delivery latency at fixed rates, and deliveries/s at saturation (a
 * burst, timed until every subscriber has every message).
 */
import { Redis } from 'ioredis';
import { gqlOk } from '../../../e2e/src/harness.js';
import { startCeiling } from '../lib/ceiling.js';
import { paced, stamped } from '../lib/pace.js';
import { num, report, SMOKE, type Row } from '../lib/report.js';
import { INFRA_ENV, rss, startSeeded } from '../lib/system.js';
import { Workers, until } from '../lib/workers.js';

const SUBSCRIBERS = num('BENCH_SUBSCRIBERS', 1_000, 50);
const RATES = SMOKE ? [5] : (process.env.BENCH_RATES ?? '20,50,100').split(',').map(Number);
const SECONDS = num('BENCH_SECONDS', 5, 1);
const BURST = num('BENCH_BURST', 200, 10);
const PAYLOAD = 200;
const SEND_CONCURRENCY = num('BENCH_SEND_CONCURRENCY', 16, 4);
/** BENCH_S2_SEND=0 skips the sendMessage part (ceiling and fan-out only, e.g. while profiling). */
const WITH_SEND = process.env.BENCH_S2_SEND !== '0';

const rows: Row[] = [];
const workers = Workers.start(SMOKE ? 1 : 2);

async function measure(mode: string, publish: (body: string) => void | Promise<void>, serverPid: number): Promise<number> {
  for (const rate of RATES) {
    await workers.stats(true);
    const sent = await paced(rate, SECONDS, () => void publish(stamped(PAYLOAD)));
    const want = sent * SUBSCRIBERS;
    await until(async () => (await workers.received()) >= want, 60_000);
    const s = await workers.stats(true);
    rows.push({ mode, 'rate msg/s': rate, 'deliveries/s': rate * SUBSCRIBERS, 'p50 ms': s.p50, 'p99 ms': s.p99, 'max ms': s.max, 'server MB': Math.round(rss(serverPid) / 2 ** 20), errors: s.errors });
  }
  // Saturation: publish a burst as fast as possible; time until all of it was delivered.
  await workers.stats(true);
  const t0 = Date.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < BURST; i++) {
    const r = publish(stamped(PAYLOAD));
    if (r) pending.push(r);
  }
  await Promise.all(pending);
  await until(async () => (await workers.received()) >= BURST * SUBSCRIBERS, 120_000, 20).catch(async (e: unknown) => {
    const s = await workers.stats();
    throw new Error(`${mode}: ${s.received} of ${BURST * SUBSCRIBERS} burst deliveries, errors ${s.errors}, socket closes ${JSON.stringify(s.closes)} (${String(e)})`);
  });
  const ms = Date.now() - t0;
  const s = await workers.stats(true);
  const perSecond = Math.round((BURST * SUBSCRIBERS * 1000) / ms);
  rows.push({ mode, 'rate msg/s': 'burst', 'deliveries/s': perSecond, 'p50 ms': s.p50, 'p99 ms': s.p99, 'max ms': s.max, 'server MB': Math.round(rss(serverPid) / 2 ** 20), errors: s.errors });
  return perSecond;
}

try {
  // 1. The ceiling.
  const ceiling = await startCeiling();
  const perWorker = Math.ceil(SUBSCRIBERS / workers.size);
  await workers.open(
    Array.from({ length: workers.size }, () => ({ type: 'open' as const, mode: 'bare' as const, url: ceiling.url, sockets: Array.from({ length: perWorker }, () => ({ token: '', subs: [] })) })),
  );
  const ceilingRate = await measure('ceiling (bare ws)', (b) => ceiling.publish(b), ceiling.pid);
  await workers.dropAll();
  ceiling.close();

  // 2 and 3. conversa.
  const { sys, users, close } = await startSeeded({ users: Math.max(2, Math.ceil(SUBSCRIBERS / 10)), env: { COMMAND_TIMEOUT_MS: '30000' } });
  try {
    const gw = sys.gateways[0]!;
    const room = 'hot';
    await gqlOk(gw.http, 'mutation { joinRoom(name: "hot") { id } }', {}, users[0]!.token);
    const sockets = (query: string) =>
      Array.from({ length: workers.size }, (_, w) => ({
        type: 'open' as const,
        mode: 'graphql' as const,
        url: gw.ws,
        sockets: Array.from({ length: perWorker }, (_, i) => ({ token: users[(w * perWorker + i) % users.length]!.token, subs: [{ query, variables: { room } }] })),
      }));
    const opened = await workers.open(sockets('subscription($room: ID!) { messageUpdated(room: $room) { body } }'));
    // A warm-up signal proves every subscription is live before measuring.
    const redis = new Redis(INFRA_ENV.REDIS_URL);
    const channel = `${sys.namespace}:room:${room}`;
    const signal = (body: string) =>
      JSON.stringify({
        kind: 'message.updated',
        message: { id: 'bench', room, seq: 1, author: { id: users[0]!.id, username: 'bench', displayName: 'Bench', role: 'USER' }, body, status: 'VISIBLE', clientMsgId: 'bench', createdAt: new Date().toISOString(), editedAt: null },
      });
    await until(async () => {
      await redis.publish(channel, signal(stamped(PAYLOAD)));
      return (await workers.received()) >= SUBSCRIBERS;
    }, 60_000, 500);
    await workers.stats(true);
    const fanout = await measure('conversa fan-out (Redis → gateway)', (b) => void redis.publish(channel, signal(b)), gw.proc.child.pid!);
    await workers.dropAll();
    if (!WITH_SEND) {
      await redis.quit();
      report('s2-hot-room', rows, { subscribers: SUBSCRIBERS, connectMs: opened.ms, ratios: { fanoutVsCeiling: +(fanout / ceilingRate).toFixed(2) } });
      console.log(`fan-out at saturation = ${(fanout / ceilingRate).toFixed(2)} × the bare-ws ceiling (target ≥ 0.6)`);
    } else {
      await workers.open(sockets('subscription($room: ID!) { messageAdded(room: $room) { seq body } }'));
      let inflight = 0;
      let n = 0;
      const queue: string[] = [];
      const pump = (): void => {
        while (queue.length > 0 && inflight < SEND_CONCURRENCY) {
          const body = queue.shift()!;
          inflight++;
          void gqlOk(gw.http, 'mutation($b: String!, $c: String!) { sendMessage(room: "hot", body: $b, clientMsgId: $c) { seq } }', { b: body, c: `c${n++}` }, users[0]!.token)
            .catch(() => undefined)
            .finally(() => {
              inflight--;
              pump();
            });
        }
      };
      await until(async () => {
        queue.push(stamped(PAYLOAD));
        pump();
        return (await workers.received()) >= SUBSCRIBERS;
      }, 60_000, 500);
      await until(async () => (await workers.received()) % SUBSCRIBERS === 0 && inflight === 0, 30_000);
      await workers.stats(true);
      const viaSend = await measure('conversa sendMessage (full path)', (b) => {
        queue.push(b);
        pump();
      }, gw.proc.child.pid!);
      await redis.quit();
      report('s2-hot-room', rows, {
        subscribers: SUBSCRIBERS,
        connectMs: opened.ms,
        ratios: { fanoutVsCeiling: +(fanout / ceilingRate).toFixed(2), sendVsCeiling: +(viaSend / ceilingRate).toFixed(2) },
      });
      console.log(`fan-out at saturation = ${(fanout / ceilingRate).toFixed(2)} × the bare-ws ceiling (target ≥ 0.6); full path = ${(viaSend / ceilingRate).toFixed(2)} ×`);
    }
  } finally {
    await close();
  }
} finally {
  await workers.close();
}
