/**
 * `follow()` (what `conversa audit tail` reads with) and the dead-letter queue against a real
 * broker. Topics of their own (`it-<uuid8>.…`), deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DeadLetterQueue, decodeJsonRecord, splitRecords } from './dead-letter.js';
import { KafkaAdapter, type EventProducer, type IncomingRecord } from './kafka.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = pino({ level: 'silent' });
const uuid8 = () => randomUUID().slice(0, 8);

function waitFor<T>(what: string, items: T[], n: number, timeoutMs = 15_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      if (items.length >= n) return resolve(items);
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}: ${items.length} of ${n}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

let kafka: KafkaAdapter;
let producer: EventProducer;
const prefix = `it-${uuid8()}`;
const topic = `${prefix}.events`;
const dlq = `${prefix}.dlq`;

beforeAll(async () => {
  kafka = new KafkaAdapter({ brokers: BROKERS, clientId: `it-follow-${uuid8()}`, logger });
  await kafka.ensureTopics([
    { topic, partitions: 2 },
    { topic: dlq, partitions: 1 },
  ]);
  producer = await kafka.producer();
});

afterAll(async () => {
  await producer.close();
  await kafka.deleteTopics([topic, dlq]).catch(() => undefined);
  await kafka.close();
});

describe('follow', () => {
  it('delivers only records produced after it started, then stops and leaves nothing behind', async () => {
    await producer.send(topic, [{ key: 'a', value: 'old-1' }, { key: 'b', value: 'old-2' }]);
    const seen: IncomingRecord[] = [];
    const f = await kafka.follow({ topics: [topic], groupPrefix: `${prefix}-tail` }, (r) => void seen.push(r));
    await producer.send(topic, [{ key: 'a', value: 'new-1', headers: { h: '1' } }, { key: 'b', value: 'new-2' }]);
    await waitFor('the new records', seen, 2);
    expect(seen.map((r) => r.value?.toString()).sort()).toEqual(['new-1', 'new-2']);
    expect(seen.find((r) => r.key === 'a')?.headers).toEqual({ h: '1' });
    await f.stop();

    const all: IncomingRecord[] = [];
    const g = await kafka.follow({ topics: [topic], groupPrefix: `${prefix}-tail`, fromBeginning: true }, (r) => void all.push(r));
    await waitFor('every record', all, 4);
    expect(all.map((r) => r.value?.toString()).sort()).toEqual(['new-1', 'new-2', 'old-1', 'old-2']);
    await g.stop();
  });
});

describe('DeadLetterQueue', () => {
  it('parks records on the dead-letter topic with reason, source and consumer', async () => {
    const parked: IncomingRecord[] = [];
    const f = await kafka.follow({ topics: [dlq], groupPrefix: `${prefix}-dlq` }, (r) => void parked.push(r));
    const records: IncomingRecord[] = [
      { topic, partition: 1, offset: '41', key: 'k', value: Buffer.from('{"n":2}'), headers: { 'event-type': 't' }, timestamp: '0' },
      { topic, partition: 1, offset: '42', key: 'k', value: Buffer.from('not json'), headers: { 'event-type': 't' }, timestamp: '0' },
    ];
    const { good, dead } = splitRecords(records, (r) => decodeJsonRecord(r, (json) => ({ ok: true, value: json })));
    expect(good).toHaveLength(1);
    await new DeadLetterQueue({ producer, topic: dlq, consumer: `${prefix}-group`, logger }).park(dead);
    await waitFor('the dead letter', parked, 1);
    expect(parked[0]!.value?.toString()).toBe('not json');
    expect(parked[0]!.key).toBe('k');
    expect(parked[0]!.headers).toMatchObject({
      'event-type': 't',
      'dlq-source': `${topic}/1/42`,
      'dlq-consumer': `${prefix}-group`,
      'dlq-reason': expect.stringMatching(/^value is not JSON/),
    });
    await f.stop();
  });
});
