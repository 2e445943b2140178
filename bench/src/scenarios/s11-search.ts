/**
 * S11 — search (issue 16): p50/p99 of a search for one person in BENCH_SEARCH_ROOMS rooms (100;
 * smoke 10) over an index of BENCH_SEARCH_MESSAGES messages (200,000; smoke 5,000), half in the
 * person's rooms, half in rooms they are not in — measured at the engine (the adapter's query)
 * and through the gateway (Query.search: the person's rooms from the store, the index, each hit
 * read back from the store); and the index lag p99 (event on the topic → findable) while
 * BENCH_SEARCH_RATE message.posted events a second (100; smoke 50) arrive for
 * BENCH_SEARCH_SECONDS (30; smoke 5).
 *
 * The bulk goes into the index straight through the adapter (not through GraphQL: the chat
 * write path on FerretDB does ~13 sends/s, S4); the lag events are produced on the events topic
 * as the outbox relay would, and the search indexer of the system under test consumes them. Bulk
 * messages are not in the store, so the gateway drops them after the index answered: its figure
 * is the query path's cost (rooms, index, up to 20 point look-ups that miss), not a page of
 * hydrated hits.
 */
import { randomUUID } from 'node:crypto';
import { eventRecord, type DomainEvent } from '@conversa/contracts';
import { KafkaAdapter } from '@conversa/kafka';
import { pino } from 'pino';
import { PostgresSearchIndex, type MessageChange } from '@conversa/search-index';
import { gqlOk } from '../../../e2e/src/harness.js';
import { histogram, num, report, type Row } from '../lib/report.js';
import { INFRA_ENV, startSeeded } from '../lib/system.js';

const BULK = num('BENCH_SEARCH_MESSAGES', 200_000, 5_000);
const ROOMS = num('BENCH_SEARCH_ROOMS', 100, 10);
const OPS = num('BENCH_OPS', 400, 40);
const CONCURRENCY = num('BENCH_CONCURRENCY', 4, 2);
const RATE = num('BENCH_SEARCH_RATE', 100, 50);
const SECONDS = num('BENCH_SEARCH_SECONDS', 30, 5);

const WORDS = ['deployment', 'release', 'meeting', 'cancelled', 'tomorrow', 'coffee', 'café', 'budget', 'review', 'server', 'database', 'incident', 'lunch', 'project', 'design', 'schedule', 'report', 'customer', 'ticket', 'weekend'];
const CJK = ['明天的会议取消了', '我们去喝咖啡', '服务器故障', '项目进展顺利', '周末愉快'];
const QUERIES = ['budget', 'deplo', '"release notes"', '会议', 'cafe review', 'ticket42', 'incident serv'];

const { sys, users, close } = await startSeeded({ users: 1, searches: 1, env: { COMMAND_TIMEOUT_MS: '30000' } });
const gw = sys.gateways[0]!;
const reader = users[0]!;
const index = new PostgresSearchIndex({ url: INFRA_ENV.SEARCH_PG_URL, schema: sys.namespace });
const kafka = new KafkaAdapter({ brokers: INFRA_ENV.KAFKA_BROKERS.split(','), clientId: 'bench-s11', logger: pino({ level: 'warn' }) });

async function pool(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (next < n) await task(next++);
  }));
}

const pick = <T>(xs: readonly T[], i: number) => xs[i % xs.length]!;
function body(i: number): string {
  let x = (i * 2_654_435_761) >>> 0;
  const words = Array.from({ length: 8 + (i % 5) }, () => {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    return pick(WORDS, x >>> 8) + (x % 7 === 0 ? String(x % 100) : '');
  });
  if (i % 50 === 0) words.push('release notes');
  if (i % 10 === 0) words.push(pick(CJK, i / 10));
  return words.join(' ');
}

async function timed(run: (q: string) => Promise<unknown>): Promise<{ p50: number; p99: number; max: number }> {
  const h = histogram();
  await pool(OPS, CONCURRENCY, async (i) => {
    const t0 = performance.now();
    await run(pick(QUERIES, i));
    h.recordValue(Math.max(1, Math.round(performance.now() - t0)));
  });
  return { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue };
}

try {
  const rooms: string[] = [];
  await pool(ROOMS, 8, async (i) => {
    const { joinRoom } = await gqlOk<{ joinRoom: { id: string } }>(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: `s11-${i}` }, reader.token);
    rooms.push(joinRoom.id);
  });
  const t0 = Date.now();
  const base = Date.now() - BULK * 1_000;
  for (let from = 0; from < BULK; from += 5_000) {
    const chunk: MessageChange[] = [];
    for (let i = from; i < Math.min(BULK, from + 5_000); i++) {
      const room = i % 2 === 0 ? pick(rooms, i / 2) : `s11-elsewhere-${i % ROOMS}`;
      const createdAt = new Date(base + i * 1_000);
      chunk.push({ id: `bulk/${i}`, room, seq: i + 1, authorId: reader.id, createdAt, status: i % 97 === 0 ? 'HIDDEN' : 'VISIBLE', body: body(i), at: createdAt });
    }
    await index.index(chunk);
  }
  const loadMs = Date.now() - t0;
  process.stderr.write(`[load] ${BULK} messages into the index in ${loadMs} ms\n`);

  const engine = await timed((q) => index.search({ query: q, rooms, statuses: ['VISIBLE'], limit: 20 }));
  const gateway = await timed((q) => gqlOk(gw.http, 'query($q: String!) { search(query: $q) { hits { snippet message { id } } nextCursor } }', { q }, reader.token));

  // Index lag: events on the topic at RATE/s, each findable once the indexer wrote it.
  const producer = await kafka.producer();
  const lag = histogram();
  const pending = new Map<string, number>();
  let found = 0;
  let producing = true;
  const poller = (async () => {
    while (producing || pending.size > 0) {
      const ids = [...pending.keys()];
      const hit = await index.findable(ids);
      const now = performance.now();
      for (const id of hit) {
        lag.recordValue(Math.max(1, Math.round(now - pending.get(id)!)));
        pending.delete(id);
        found++;
      }
      await new Promise((r) => setTimeout(r, 20));
      if (!producing && pending.size > 0 && performance.now() - Math.min(...pending.values()) > 60_000) break;
    }
  })();
  const total = RATE * SECONDS;
  const sends: Promise<void>[] = [];
  const tLag = Date.now();
  let fired = 0;
  while (fired < total) {
    const due = Math.min(total, Math.floor(((Date.now() - tLag) / 1000) * RATE) + 1);
    while (fired < due) {
      const i = fired++;
      const room = pick(rooms, i);
      const id = `lag/${randomUUID()}`;
      const at = new Date().toISOString();
      const e = {
        id: randomUUID(),
        type: 'message.posted',
        version: 1,
        occurredAt: at,
        key: room,
        actor: reader.id,
        data: { message: { id, room, seq: i + 1, author: { id: reader.id, username: 'bench', displayName: 'Bench', role: 'USER' }, body: `lag probe ${i} ${body(i)}`, status: 'VISIBLE', clientMsgId: id, createdAt: at, editedAt: null } },
      } as DomainEvent;
      pending.set(id, performance.now());
      sends.push(producer.send(sys.namespace + '.events', [eventRecord(e)]));
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(sends);
  const achieved = total / ((Date.now() - tLag) / 1000);
  producing = false;
  await poller;
  await producer.close();

  const rows: Row[] = [
    { measure: `search p50/p99/max ms, engine (${ROOMS} rooms, ${BULK} messages)`, p50: engine.p50, p99: engine.p99, max: engine.max },
    { measure: 'search p50/p99/max ms, through the gateway', p50: gateway.p50, p99: gateway.p99, max: gateway.max },
    { measure: `index lag p50/p99/max ms at ${achieved.toFixed(0)} events/s`, p50: lag.getValueAtPercentile(50), p99: lag.getValueAtPercentile(99), max: lag.maxValue },
  ];
  report('s11-search', rows, { messages: BULK, rooms: ROOMS, ops: OPS, concurrency: CONCURRENCY, rate: RATE, seconds: SECONDS, loadMs, lagFound: found, lagSent: total });
  if (found !== total) throw new Error(`index lag: ${total - found} of ${total} events never became findable`);
} finally {
  await kafka.close();
  await index.drop();
  await index.close();
  await close();
}
