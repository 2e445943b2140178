/**
 * The outbox relay against a real MongoDB-wire server (FerretDB locally) and a real Kafka.
 * Each test has a database (`it_<uuid8>`), a topic (`it-<uuid8>.events`) and a consumer group
 * of its own, all removed afterwards. Events are written by the real CommandExecutor; the
 * topic is read back with a real consumer.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  parseDomainEvent,
  type CommandResult,
  type CommandType,
  type DomainEvent,
} from '@conversa/contracts';
import {
  KafkaAdapter,
  type EventConsumer,
  type EventProducer,
  type IncomingRecord,
} from '@conversa/kafka';
import { createLogger } from '@conversa/observability';
import { openStore, type Store } from '@conversa/store';
import { CommandExecutor } from './commands.js';
import { OutboxRelay } from './outbox-relay.js';

const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger('chat-it', 'silent');
const uuid8 = () => randomUUID().slice(0, 8);
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

/** Resolves when `check` returns true; polls every 20 ms, fails after `timeoutMs`. */
async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let kafka: KafkaAdapter;
let realProducer: EventProducer;
const topics: string[] = [];

beforeAll(async () => {
  kafka = new KafkaAdapter({ brokers: BROKERS, clientId: `it-relay-${uuid8()}`, logger });
  realProducer = await kafka.producer();
});

afterAll(async () => {
  await realProducer.close();
  if (topics.length > 0) await kafka.deleteTopics(topics);
  await kafka.close();
});

let dbName: string;
let topic: string;
let stores: Store[];
let relays: OutboxRelay[];
let consumer: EventConsumer | undefined;
/** Records read back from the topic, in arrival order. */
let records: IncomingRecord[];
/** Every event the executor handed to the relay: what must reach Kafka. */
let written: DomainEvent[];
/** Per hand-over: whether the relay queued it on its fast path (it leaves it to the sweep while catching up). */
let fastPath: boolean[];
/** The relay the executor hands events to (the fast path); none while "the process is down". */
let current: OutboxRelay | undefined;
/** Called right after each hand-over, before the relay's fast path can run. */
let onHandover: (() => void) | undefined;

async function openTestStore(): Promise<Store> {
  const s = await openStore({ url: MONGO_URL, dbName });
  stores.push(s);
  return s;
}

function relay(store: Pick<Store, 'outbox'>, producer: EventProducer, sweepMs = 100): OutboxRelay {
  const r = new OutboxRelay({ outbox: store.outbox, producer, topic, logger, sweepMs });
  relays.push(r);
  return r;
}

function executor(store: Store): CommandExecutor {
  store.onEventsStored((stored) => {
    written.push(...stored.events);
    const before = current?.queued ?? 0;
    current?.stored(stored);
    fastPath.push((current?.queued ?? 0) > before);
    onHandover?.();
  });
  return new CommandExecutor({ store, publisher: { publish: () => Promise.resolve() }, logger });
}

/** A producer whose first `failures` sends reject, as when the broker is unreachable. */
function flaky(failures: number) {
  const state = { attempts: 0, rejected: 0 };
  const producer: EventProducer = {
    send(t, recs) {
      state.attempts++;
      if (state.rejected < failures) {
        state.rejected++;
        return Promise.reject(new Error('broker unreachable'));
      }
      return realProducer.send(t, recs);
    },
    close: () => Promise.resolve(),
  };
  return { producer, state };
}

function ok<T extends CommandType>(
  r: CommandResult<T>,
): Extract<CommandResult<T>, { ok: true }>['value'] {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** Registers two users, makes them join `room` and sends `n` messages; returns the user ids. */
async function chat(
  ex: CommandExecutor,
  room: string,
  n: number,
  users?: string[],
): Promise<string[]> {
  const ids =
    users ??
    (await Promise.all(
      [`ann-${room}`, `bob-${room}`].map(async (username) => {
        const r = await ex.execute({
          type: 'user.register',
          username,
          displayName: username,
          passwordHash: HASH,
        });
        return ok(r as CommandResult<'user.register'>).user.id;
      }),
    ));
  for (const actor of ids)
    ok((await ex.execute({ type: 'room.join', actor, name: room })) as CommandResult<'room.join'>);
  for (let k = 0; k < n; k++) {
    const actor = ids[k % ids.length]!;
    ok(
      (await ex.execute({
        type: 'message.send',
        actor,
        room,
        body: `${room} ${k}`,
        clientMsgId: randomUUID(),
      })) as CommandResult<'message.send'>,
    );
  }
  return ids;
}

const published = () => records.map((r) => parseDomainEvent(JSON.parse(r.value!.toString('utf8'))));

/** Every written event is on the topic, under its key, with its headers. */
function expectAllPublished(): void {
  const byId = new Map(published().map((e) => [e.id, e]));
  for (const e of written) expect(byId.get(e.id), `${e.type} ${e.id}`).toEqual(e);
  for (const r of records) {
    const e = parseDomainEvent(JSON.parse(r.value!.toString('utf8')));
    expect(r.key).toBe(e.key);
    expect(r.headers).toEqual({ 'event-type': e.type, 'event-id': e.id, 'event-version': '1' });
  }
}

/** The messages of a room reach Kafka in seq order (a redelivered one may repeat, never overtake). */
function expectRoomOrder(room: string): void {
  const seqs = published().flatMap((e) =>
    e.type === 'message.posted' && e.key === room ? [e.data.message.seq] : [],
  );
  const firsts = seqs.filter((s, k) => seqs.indexOf(s) === k);
  expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(
    written.filter((e) => e.type === 'message.posted' && e.key === room).length,
  );
}

beforeEach(async () => {
  dbName = `it_${uuid8()}`;
  topic = `it-${uuid8()}.events`;
  topics.push(topic);
  stores = [];
  relays = [];
  records = [];
  written = [];
  fastPath = [];
  onHandover = undefined;
  current = undefined;
  await kafka.ensureTopics([{ topic, partitions: 3 }]);
  const first = await openTestStore();
  await first.ensureIndexes();
  consumer = await kafka.consumer({
    groupId: `it-${uuid8()}-relay-check`,
    topics: [topic],
    fromBeginning: true,
  });
  await consumer.run((batch) => {
    records.push(...batch.records);
    return Promise.resolve();
  });
});

afterEach(async () => {
  for (const r of relays) await r.stop();
  await consumer?.stop();
  consumer = undefined;
  await stores[0]?.dropDatabase();
  for (const s of stores) await s.close();
});

const pendingIsZero = (s: Store) => async () => (await s.outbox.countPending()) === 0;
const allOnTopic = () => {
  const ids = new Set(records.map((r) => r.headers['event-id']));
  return written.length > 0 && written.every((e) => ids.has(e.id));
};

describe('OutboxRelay', () => {
  it('publishes what was stored before it started (sweep) and after (fast path), then clears the outbox', async () => {
    const [store] = stores as [Store];
    const ex = executor(store);
    const users = await chat(ex, 'before', 3);
    const before = written.length;
    expect(before).toBe(2 + 1 + 2 + 3); // registered ×2, created, joined ×2, posted ×3
    expect(await store.outbox.countPending()).toBe(2 + 1 + 2 + 3);

    const r = relay(store, realProducer);
    current = r;
    r.start();
    await eventually('the backlog on the topic', () => records.length >= before);
    await eventually('the backlog marked published', pendingIsZero(store));

    await chat(ex, 'after', 5, users);
    await eventually('every event on the topic', allOnTopic);
    await eventually('nothing pending', pendingIsZero(store));

    expectAllPublished();
    expectRoomOrder('before');
    expectRoomOrder('after');
    const docs = await store.models.Message.find({}).lean().exec();
    expect(docs).toHaveLength(8);
    expect(docs.every((d) => d.outbox.length === 0 && !d.outboxPending)).toBe(true);
    expect(r.published).toBeGreaterThanOrEqual(written.length);
  }, 30_000);

  it('publishes events stored while Kafka was failing with a later sweep; nothing stays pending', async () => {
    const [store] = stores as [Store];
    const ex = executor(store);
    const { producer, state } = flaky(3);
    const r = relay(store, producer, 50);
    current = r;
    r.start();

    // The first event goes the fast path and fails; the rest are written while the relay is failing.
    const ann = ok(
      (await ex.execute({
        type: 'user.register',
        username: 'ann',
        displayName: 'Ann',
        passwordHash: HASH,
      })) as CommandResult<'user.register'>,
    ).user.id;
    await eventually('a failed send', () => state.rejected >= 1);
    await chat(ex, 'down', 6, [ann]);

    await eventually('every event on the topic', allOnTopic);
    await eventually('nothing pending', pendingIsZero(store));
    expect(state.rejected).toBe(3);

    // Healthy again: the fast path carries new events.
    await chat(ex, 'down', 2, [ann]);
    await eventually('the new events on the topic', allOnTopic);
    await eventually('nothing pending', pendingIsZero(store));

    expectAllPublished();
    expectRoomOrder('down');
  }, 30_000);

  it('a new relay on the same database publishes what a stopped one left pending', async () => {
    const [store] = stores as [Store];
    const ex = executor(store);
    const dead = flaky(Number.POSITIVE_INFINITY);
    const first = relay(store, dead.producer, 50);
    current = first;
    first.start();
    const users = await chat(ex, 'restart', 3);
    await eventually('a failed send', () => dead.state.rejected >= 1);
    await first.stop();
    current = undefined;
    // Written while no relay runs (the process is down, say); the first relay ignores hand-overs now.
    first.stored({ collection: 'messages', docId: 'ignored', events: [] });
    await chat(ex, 'restart', 2, users);
    const pending = await store.outbox.countPending();
    expect(pending).toBe(2 + 1 + 2 + 5);
    expect(records).toHaveLength(0);

    // Another process: its own connection to the same database, its own relay.
    const other = await openTestStore();
    const second = relay(other, realProducer, 100);
    current = second;
    second.start();
    await eventually('every event on the topic', allOnTopic);
    await eventually('nothing pending', pendingIsZero(store));
    expectAllPublished();
    expectRoomOrder('restart');
    expect(published().filter((e) => e.type === 'message.posted')).toHaveLength(5);
  }, 30_000);

  it('stop() publishes what was handed over before it resolves', async () => {
    const [store] = stores as [Store];
    const ex = executor(store);
    const r = relay(store, realProducer, 250);
    current = r;
    r.start();
    const users = await chat(ex, 'stopping', 1);

    // Right after catching up the relay may still leave a hand-over to its sweep; send until
    // one is queued on the fast path, and stop in that very moment (before the fast path's
    // turn comes): only stop() can flush it now.
    let stopping: Promise<void> | undefined;
    let queuedAtStop = 0;
    onHandover = () => {
      if (stopping || !(fastPath.at(-1) === true && r.queued > 0)) return;
      queuedAtStop = r.queued;
      stopping = r.stop();
    };
    for (let k = 0; k < 20 && !stopping; k++) {
      await eventually('nothing pending', pendingIsZero(store));
      const sent = await ex.execute({
        type: 'message.send',
        actor: users[0]!,
        room: 'stopping',
        body: `last ${k}`,
        clientMsgId: `c-last-${k}`,
      });
      ok(sent as CommandResult<'message.send'>);
    }
    onHandover = undefined;
    expect(queuedAtStop).toBeGreaterThan(0);
    await stopping;
    expect(r.queued).toBe(0);
    expect(await store.outbox.countPending()).toBe(0);
    await eventually('every event on the topic', allOnTopic);
    expectAllPublished();
  }, 30_000);
});

/**
 * Regression: `stored()` drops hand-overs while `backlog` is true, and `sweep()` used to leave
 * backlog mode after one empty scan. An event written after that scan read its collection but
 * handed over before the flag flipped was in neither path, and the room's next event overtook
 * it. The sweep now scans again when a hand-over arrived during the scan.
 */
describe('OutboxRelay keeps room order across the backlog → fast path switch', () => {
  it("publishes a room's messages in seq order across the backlog → fast path switch", async () => {
    const [store] = stores as [Store];
    const ex = executor(store);
    const users = await chat(ex, 'switch', 0);
    const [ann] = users as [string];

    // The real store; only the timing of one scan is pinned: the write lands after the scan read.
    let duringLastScan: (() => Promise<void>) | undefined = async () => {
      ok(
        (await ex.execute({
          type: 'message.send',
          actor: ann,
          room: 'switch',
          body: 'first',
          clientMsgId: 'c-1',
        })) as CommandResult<'message.send'>,
      );
    };
    let lateWriteDone = false;
    const racy = Object.create(store.outbox) as Store['outbox'];
    racy.pending = async (limit: number) => {
      const rows = await store.outbox.pending(limit);
      const hook = duringLastScan;
      if (rows.length === 0 && hook) {
        duringLastScan = undefined;
        await hook();
        lateWriteDone = true;
      }
      return rows;
    };

    // The next periodic sweep is a second away: the fast path must not have overtaken anything by then.
    const r = relay({ outbox: racy }, realProducer, 1_000);
    current = r;
    r.start();
    await eventually(
      'the startup backlog published and the late write made',
      () => lateWriteDone && records.length >= 5,
    );
    ok(
      (await ex.execute({
        type: 'message.send',
        actor: ann,
        room: 'switch',
        body: 'second',
        clientMsgId: 'c-2',
      })) as CommandResult<'message.send'>,
    );

    const seqs = () =>
      published().flatMap((e) => (e.type === 'message.posted' ? [e.data.message.seq] : []));
    await eventually('the second message on the topic', () => seqs().includes(2));
    // Same key, same partition: whatever was produced before seq 2 has arrived before it.
    expect(seqs()).toEqual([1, 2]);
    await eventually('nothing pending', pendingIsZero(store));
  }, 30_000);
});
