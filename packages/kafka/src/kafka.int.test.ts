/**
 * The Kafka adapter against a real broker. Every test uses topics and groups of its own
 * (`it-<uuid8>.…`), deleted in afterAll, so runs can overlap.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import {
  KafkaAdapter,
  type EventConsumer,
  type IncomingBatch,
  type IncomingRecord,
} from './kafka.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = pino({ level: 'silent' });
const uuid8 = () => randomUUID().slice(0, 8);

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

/** Rejects if `p` does not settle within `ms`. */
function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

let adapter: KafkaAdapter;
const topics: string[] = [];
const consumers: EventConsumer[] = [];

function newTopic(): string {
  const t = `it-${uuid8()}.events`;
  topics.push(t);
  return t;
}

async function consumer(topic: string, groupId: string): Promise<EventConsumer> {
  const c = await adapter.consumer({ groupId, topics: [topic], fromBeginning: true });
  consumers.push(c);
  return c;
}

beforeAll(() => {
  adapter = new KafkaAdapter({ brokers: BROKERS, clientId: `it-kafka-${uuid8()}`, logger });
});

afterAll(async () => {
  // A consumer a failed test left running; stop() is idempotent in kafkajs.
  await Promise.allSettled(consumers.map((c) => c.stop()));
  if (topics.length > 0) await adapter.deleteTopics(topics);
  await adapter.close();
});

describe('KafkaAdapter', () => {
  it('ensureTopics creates a 3-partition topic and is idempotent', async () => {
    const topic = newTopic();
    await adapter.ensureTopics([{ topic, partitions: 3 }]);
    await adapter.ensureTopics([{ topic, partitions: 3 }]);
    await adapter.ensureTopics([{ topic, partitions: 5 }]); // existing topics are left as they are

    // Inspect with a plain admin client: the adapter exposes no metadata on purpose.
    const admin = new Kafka({
      brokers: BROKERS,
      clientId: 'it-inspect',
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(meta.topics).toHaveLength(1);
      expect(meta.topics[0]!.partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
  }, 30_000);

  it('ensureTopics returns only once every partition has a leader, also in the process that finds the topic just created by another', async () => {
    const topic = newTopic();
    const other = new KafkaAdapter({ brokers: BROKERS, clientId: `it-kafka-${uuid8()}`, logger });
    try {
      // Two services starting side by side: one creates, the other may list it before its leaders exist.
      await Promise.all([adapter.ensureTopics([{ topic, partitions: 6 }]), other.ensureTopics([{ topic, partitions: 6 }])]);
      const admin = new Kafka({ brokers: BROKERS, clientId: 'it-inspect', logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        expect(meta.topics[0]!.partitions).toHaveLength(6);
        expect(meta.topics[0]!.partitions.every((p) => p.leader >= 0)).toBe(true);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await other.close();
    }
  }, 60_000);

  it('starts a new producer session after a failed send, and the next send arrives whole', async () => {
    const topic = newTopic();
    await adapter.ensureTopics([{ topic, partitions: 2 }]);
    const lines: string[] = [];
    const watched = new KafkaAdapter({
      brokers: BROKERS,
      clientId: `it-kafka-${uuid8()}`,
      logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
    });
    const producer = await watched.producer();
    try {
      // Refused by the broker (over message.max.bytes): the send fails, its session is retired.
      await expect(producer.send(topic, [{ key: 'a', value: 'x'.repeat(2 * 1024 * 1024) }])).rejects.toThrow();
      await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 3}`, value: String(i) })));
    } finally {
      await producer.close();
      await watched.close();
    }
    expect(lines.some((l) => l.includes('new session after a failed send'))).toBe(true);
    const received: IncomingRecord[] = [];
    const c = await consumer(topic, `it-${uuid8()}-g`);
    await c.run((batch) => {
      received.push(...batch.records);
      return Promise.resolve();
    });
    await eventually('the second send', () => received.length >= 10);
    await within('consumer.stop()', c.stop(), 15_000);
    expect(received.map((r) => r.value?.toString()).sort()).toEqual(Array.from({ length: 10 }, (_, i) => String(i)).sort());
  }, 30_000);

  it('delivers keys, values and headers; records of one key arrive in order', async () => {
    const topic = newTopic();
    await adapter.ensureTopics([{ topic, partitions: 3 }]);
    const producer = await adapter.producer();
    const keys = ['room-a', 'room-b', 'room-c', 'room-d'];
    const perKey = 15;
    try {
      // Several sends, several records per send: order holds within a send and across sends.
      for (let round = 0; round < 3; round++) {
        const records = [];
        for (let i = round * 5; i < (round + 1) * 5; i++) {
          for (const key of keys)
            records.push({
              key,
              value: JSON.stringify({ key, i }),
              headers: { 'event-type': 't', 'event-id': `${key}-${i}` },
            });
        }
        await producer.send(topic, records);
      }
      await producer.send(topic, []); // no-op
    } finally {
      await producer.close();
    }

    const received: IncomingRecord[] = [];
    const c = await consumer(topic, `it-${uuid8()}-g`);
    await c.run((batch) => {
      received.push(...batch.records);
      return Promise.resolve();
    });
    await eventually('all records', () => received.length >= keys.length * perKey);
    await within('consumer.stop()', c.stop(), 15_000);

    expect(received).toHaveLength(keys.length * perKey);
    const partitions = new Set(received.map((r) => r.partition));
    expect([...partitions].every((p) => p >= 0 && p < 3)).toBe(true);
    for (const key of keys) {
      const mine = received.filter((r) => r.key === key);
      expect(mine).toHaveLength(perKey);
      // One key, one partition, in the order sent.
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      const values = mine.map(
        (r) => JSON.parse(r.value!.toString('utf8')) as { key: string; i: number },
      );
      expect(values.map((v) => v.i)).toEqual(Array.from({ length: perKey }, (_, i) => i));
      expect(values.every((v) => v.key === key)).toBe(true);
      expect(mine.map((r) => r.headers)).toEqual(
        values.map((v) => ({ 'event-type': 't', 'event-id': `${key}-${v.i}` })),
      );
      expect(
        mine.every(
          (r) =>
            r.topic === topic && typeof r.offset === 'string' && typeof r.timestamp === 'string',
        ),
      ).toBe(true);
    }
  }, 30_000);

  it('redelivers a batch whose handler threw; a new consumer of the group starts after the committed offsets', async () => {
    const topic = newTopic();
    const groupId = `it-${uuid8()}-g`;
    await adapter.ensureTopics([{ topic, partitions: 3 }]);
    const producer = await adapter.producer();
    try {
      await producer.send(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `old-${i}` })),
      );

      const deliveries: IncomingBatch[] = [];
      const processed: string[] = [];
      let failures = 0;
      const first = await consumer(topic, groupId);
      await first.run((batch) => {
        deliveries.push(batch);
        if (failures === 0) {
          failures++;
          return Promise.reject(new Error('handler failed on first delivery'));
        }
        processed.push(...batch.records.map((r) => r.value!.toString('utf8')));
        return Promise.resolve();
      });
      await eventually('the batch processed after a failure', () => processed.length >= 5, 20_000);
      await within('consumer.stop()', first.stop(), 15_000);

      expect(failures).toBe(1);
      expect(processed).toEqual(['old-0', 'old-1', 'old-2', 'old-3', 'old-4']);
      // The failed delivery started at the first record and so did the next one: nothing was skipped.
      expect(deliveries.length).toBeGreaterThanOrEqual(2);
      expect(deliveries[0]!.records[0]!.offset).toBe('0');
      expect(deliveries[1]!.records[0]!.offset).toBe('0');
      expect(deliveries[1]!.records[0]!.value!.toString('utf8')).toBe('old-0');

      await producer.send(topic, [
        { key: 'k', value: 'new-0' },
        { key: 'k', value: 'new-1' },
      ]);
      const seen: string[] = [];
      const second = await consumer(topic, groupId);
      await second.run((batch) => {
        seen.push(...batch.records.map((r) => r.value!.toString('utf8')));
        return Promise.resolve();
      });
      // Anything redelivered from the start would come before the new records of the same partition.
      await eventually('the new records', () => seen.length >= 2, 20_000);
      await within('consumer.stop()', second.stop(), 15_000);
      expect(seen).toEqual(['new-0', 'new-1']);
    } finally {
      await producer.close();
    }
  }, 45_000);

  it('stop() resolves for a consumer that is idle', async () => {
    const topic = newTopic();
    await adapter.ensureTopics([{ topic, partitions: 3 }]);
    const c = await consumer(topic, `it-${uuid8()}-g`);
    await c.run(() => Promise.resolve());
    await within('consumer.stop()', c.stop(), 15_000);
    expect(c.lag()).toBe(0);
  }, 30_000);
});
