/**
 * Says where a `message.posted` event that the audit log lacks is: still in the outbox, on the
 * events topic (then the audit consumer skipped it), parked on the dead-letter topic, or
 * nowhere (the relay believed Kafka had it and Kafka does not). Independent of the services'
 * code: the plain MongoDB driver and a throwaway kafkajs consumer that reads both topics from
 * the beginning up to the end offsets taken when it starts.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';

export type Location = 'outbox' | 'topic' | 'dead-letter' | 'nowhere';

export interface Located {
  id: string;
  where: Location;
  /** Where on the topic (partition/offset, every copy), or what the outbox holds. */
  detail: string;
}

interface Envelope {
  id?: string;
  type?: string;
  data?: { message?: { id?: string } };
}

/** Every record of `topic`, from the oldest retained one up to the end offsets at the call. */
async function readTopic(brokers: string[], topic: string): Promise<{ partition: number; offset: string; value: string }[]> {
  const kafka = new Kafka({ clientId: 'fault-checker', brokers, logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return [];
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
    const remaining = new Set([...ends].filter(([, o]) => o.high > o.low).map(([p]) => p));
    if (remaining.size === 0) return [];
    const out: { partition: number; offset: string; value: string }[] = [];
    const groupId = `fault-checker-${randomUUID().slice(0, 8)}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`reading ${topic}: partitions ${[...remaining].join(',')} not read to their end in 60 s`)), 60_000);
        consumer
          .run({
            autoCommit: false,
            eachMessage: ({ partition, message }) => {
              const end = ends.get(partition);
              if (!end || BigInt(message.offset) >= end.high) return Promise.resolve();
              out.push({ partition, offset: message.offset, value: message.value?.toString('utf8') ?? '' });
              if (BigInt(message.offset) === end.high - 1n) {
                remaining.delete(partition);
                if (remaining.size === 0) {
                  clearTimeout(timer);
                  resolve();
                }
              }
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

function postedMessageId(value: string): string | undefined {
  try {
    const e = JSON.parse(value) as Envelope;
    return e.type === 'message.posted' ? e.data?.message?.id : undefined;
  } catch {
    return undefined;
  }
}

/** Locates each of `missing` (message ids whose `message.posted` event the audit log lacks). */
export async function locateMissing(mongoUrl: string, db: string, brokers: string[], namespace: string, missing: readonly string[]): Promise<Located[]> {
  if (missing.length === 0) return [];
  const client = await MongoClient.connect(mongoUrl);
  try {
    const d = client.db(db);
    const marks = new Set((await d.collection<{ _id: string }>('outbox_marks').find({ _id: { $in: [...missing] } }).toArray()).map((m) => m._id));
    const msgs = await d
      .collection<{ _id: string; outboxPending?: boolean; posted?: Envelope | null }>('messages')
      .find({ _id: { $in: [...missing] } }, { projection: { outboxPending: 1, posted: 1 } })
      .toArray();
    const byId = new Map(msgs.map((m) => [m._id, m]));
    const onTopic = new Map<string, string[]>();
    for (const r of await readTopic(brokers, `${namespace}.events`)) {
      const id = postedMessageId(r.value);
      if (id && missing.includes(id)) onTopic.set(id, [...(onTopic.get(id) ?? []), `p${r.partition}@${r.offset}`]);
    }
    const dead = new Map<string, string[]>();
    for (const r of await readTopic(brokers, `${namespace}.dlq`)) {
      for (const id of missing) if (r.value.includes(`"${id}"`)) dead.set(id, [...(dead.get(id) ?? []), `p${r.partition}@${r.offset}`]);
    }
    return missing.map((id): Located => {
      const m = byId.get(id);
      if (marks.has(id)) return { id, where: 'outbox', detail: `outbox mark present (posted event ${m?.posted ? 'stored' : 'absent'})` };
      const topic = onTopic.get(id);
      if (topic) return { id, where: 'topic', detail: `on ${namespace}.events at ${topic.join(', ')}` };
      const dl = dead.get(id);
      if (dl) return { id, where: 'dead-letter', detail: `on ${namespace}.dlq at ${dl.join(', ')}` };
      return { id, where: 'nowhere', detail: `no outbox mark, not on the events or dead-letter topic (message ${m ? `stored, posted event ${m.posted ? `id ${m.posted.id}` : 'absent'}` : 'not stored'})` };
    });
  } finally {
    await client.close();
  }
}
