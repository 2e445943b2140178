/**
 * S14 — memory per event of a long-running consumer (issue 17): does the search indexer keep
 * anything per event it indexes? The soak feeds it a few events a second, too few for one of
 * V8's garbage saw-tooths to finish inside 30 minutes; this feeds it BENCH_EVENTS
 * `message.posted` events (150,000; smoke 3,000) at BENCH_RATE a second (500; smoke 500)
 * straight onto its events topic (the relay's wire form, 200 rooms), and samples its RSS,
 * V8's committed heap (and its resident pages) and its live heap (heap used after each major GC,
 * `conversa_nodejs_heap_after_major_gc_bytes`) every BENCH_SAMPLE_MS (5,000; smoke 1,000).
 *
 * Reported per fifth of the events: what it had indexed, RSS, committed heap, live heap and RSS
 * outside the V8 heap; and the least-squares slope of the live heap and of the off-heap RSS per
 * 10,000 events over the last four fifths (the first fifth is warm-up: JIT, pools, buffers),
 * against the first fifth of the same run as the baseline. Nothing kept per event: both slopes
 * near 0, and the last fifth's live heap within a few MB of the first's.
 */
import { randomUUID } from 'node:crypto';
import { eventRecord, names, newEvent, type MessageView } from '@conversa/contracts';
import { KafkaAdapter } from '@conversa/kafka';
import { pino } from 'pino';
import { startSystem } from '../../../e2e/src/harness.js';
import { scrape, sum } from '../../../e2e/src/metrics-text.js';
import { leastSquares, majorGcPoints } from '../../../e2e/src/soak/figures.js';
import { num, report, type Row } from '../lib/report.js';
import { INFRA_ENV, rss } from '../lib/system.js';
import { until } from '../lib/workers.js';

const EVENTS = num('BENCH_EVENTS', 150_000, 3_000);
const RATE = num('BENCH_RATE', 500, 500);
const SAMPLE_MS = num('BENCH_SAMPLE_MS', 5_000, 1_000);
const ROOMS = 200;
const TICK_MS = 100;
const MB = 2 ** 20;

interface Sample {
  indexed: number;
  rssMB: number;
  heapTotalMB: number;
  /** The committed heap's resident pages; RSS − this is memory outside the V8 heap. */
  heapResidentMB: number;
  liveHeapMB?: number;
  majorGcAt?: number;
}

const sys = await startSystem({ gateways: 0, chats: 0, audits: 0, searches: 1 });
const search = sys.procs.find((p) => p.name === 'search')!;
const topic = names(sys.namespace).eventsTopic;
const kafka = new KafkaAdapter({ brokers: INFRA_ENV.KAFKA_BROKERS.split(','), clientId: 'bench-s14', logger: pino({ level: 'warn' }) });
const producer = await kafka.producer();
const author = { id: 'u-s14', username: 's14', displayName: 'S14', role: 'USER' as const };

async function sample(): Promise<Sample> {
  const m = await scrape(search.port!);
  const gcAt = sum(m, 'conversa_nodejs_major_gc_at_seconds');
  return {
    indexed: sum(m, 'conversa_search_events_indexed_total') ?? 0,
    rssMB: rss(search.child.pid!) / MB,
    heapTotalMB: (sum(m, 'conversa_nodejs_heap_size_total_bytes') ?? 0) / MB,
    heapResidentMB: (sum(m, 'conversa_nodejs_heap_physical_bytes') ?? 0) / MB,
    ...(gcAt ? { liveHeapMB: (sum(m, 'conversa_nodejs_heap_after_major_gc_bytes') ?? 0) / MB, majorGcAt: gcAt } : {}),
  };
}

function event(seq: number) {
  const room = `s14-r${seq % ROOMS}`;
  const now = new Date();
  const message: MessageView = {
    id: `s14-${seq}-${randomUUID().slice(0, 8)}`,
    room,
    seq: Math.floor(seq / ROOMS) + 1,
    author,
    body: `status update ${seq}: the build is green again, deploy ${randomUUID().slice(0, 6)} goes out after lunch`,
    status: 'VISIBLE',
    clientMsgId: randomUUID(),
    createdAt: now.toISOString(),
    editedAt: null,
    pinned: false,
  };
  return eventRecord(newEvent('message.posted', room, author.id, { message }, now));
}

const samples: Sample[] = [];
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    const next = Date.now() + SAMPLE_MS;
    samples.push(await sample());
    // The sampling period (not a wait for an event).
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
})();

try {
  const t0 = Date.now();
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1_000));
  for (let sent = 0; sent < EVENTS; ) {
    const tick = Date.now();
    const n = Math.min(perTick, EVENTS - sent);
    await producer.send(topic, Array.from({ length: n }, (_, i) => event(sent + i)));
    sent += n;
    // Pacing to BENCH_RATE.
    await new Promise((r) => setTimeout(r, Math.max(0, TICK_MS - (Date.now() - tick))));
  }
  const sendS = (Date.now() - t0) / 1_000;
  await until(async () => (await sample()).indexed >= EVENTS, 300_000, 500);
  const drainS = (Date.now() - t0) / 1_000;
  sampling = false;
  await sampler;
  samples.push(await sample());

  const fifths = Array.from({ length: 5 }, (_, k) => samples.filter((s) => s.indexed > (k * EVENTS) / 5 && s.indexed <= ((k + 1) * EVENTS) / 5));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : Number.NaN);
  const r1 = (x: number) => +x.toFixed(1);
  // Live heap: one point per major GC of the run, at the events indexed then.
  const gcs = majorGcPoints(samples, (s) => s.indexed / 10_000);
  const liveOf = (from: number, to: number) => gcs.filter((g) => g.x * 10_000 > from && g.x * 10_000 <= to).map((g) => g.y);
  const rows: Row[] = fifths.map((f, k) => ({
    events: `${((k * EVENTS) / 5).toLocaleString('en')}–${(((k + 1) * EVENTS) / 5).toLocaleString('en')}`,
    samples: f.length,
    'RSS MB': r1(mean(f.map((s) => s.rssMB))),
    'RSS max': r1(Math.max(...f.map((s) => s.rssMB))),
    'heap committed MB': r1(mean(f.map((s) => s.heapTotalMB))),
    'major GCs': liveOf((k * EVENTS) / 5, ((k + 1) * EVENTS) / 5).length,
    'live heap MB': r1(mean(liveOf((k * EVENTS) / 5, ((k + 1) * EVENTS) / 5))),
    'off-heap RSS MB': r1(mean(f.map((s) => s.rssMB - s.heapResidentMB))),
  }));
  const steady = (p: { x: number }) => p.x * 10_000 > EVENTS / 5;
  const live = leastSquares(gcs.filter(steady));
  const off = leastSquares(samples.map((s) => ({ x: s.indexed / 10_000, y: s.rssMB - s.heapResidentMB })).filter(steady));
  const summary = {
    events: EVENTS,
    offeredPerS: RATE,
    achievedPerS: r1(EVENTS / sendS),
    drainedAfterS: r1(drainS),
    majorGcs: gcs.length,
    liveHeapSlopeMBPer10k: +live.slope.toFixed(3),
    liveHeapR2: +live.r2.toFixed(2),
    offHeapSlopeMBPer10k: +off.slope.toFixed(3),
    offHeapR2: +off.r2.toFixed(2),
  };
  report('s14-consumer-memory', rows, { summary, samples });
  console.log(
    `S14: ${EVENTS.toLocaleString('en')} events at ${summary.achievedPerS}/s, all indexed after ${summary.drainedAfterS} s; ${gcs.length} major GCs; ` +
      `over the last four fifths, live heap ${summary.liveHeapSlopeMBPer10k} MB per 10k events (R² ${summary.liveHeapR2}), off-heap RSS ${summary.offHeapSlopeMBPer10k} MB per 10k events (R² ${summary.offHeapR2})`,
  );
} finally {
  sampling = false;
  await sampler;
  await producer.close();
  await kafka.close();
  await sys.stop();
}
