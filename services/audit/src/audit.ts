import { names, type Names } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import { KafkaAdapter, type EventConsumer, type EventProducer, type IncomingBatch } from '@conversa/kafka';
import {
  closeServer,
  createProbeServer,
  listen,
  reach,
  safeUrl,
  type Logger,
  type Service,
} from '@conversa/observability';
import { Store, type AuditDoc } from '@conversa/store';
import { decodeRecord } from './audit-entry.js';

export interface AuditService extends Service {
  readonly port: number;
  readonly names: Names;
  readonly stats: { appended: number; duplicates: number; deadLettered: number };
}

/**
 * Builds the audit service: a Kafka consumer group that appends every domain event to the
 * audit log once (insert by event id under a unique index), commits offsets only after the
 * batch is stored, and parks records it cannot parse on the dead-letter topic.
 */
export async function createAudit(config: Config, logger: Logger): Promise<AuditService> {
  const n = names(config.CONVERSA_NAMESPACE);
  const t = config.STARTUP_TIMEOUT_MS;
  const store = await reach('MongoDB', safeUrl(config.MONGO_URL), t, () =>
    Store.connect({ url: config.MONGO_URL, dbName: config.MONGO_DB }),
  );
  await store.ensureIndexes();
  const kafka = new KafkaAdapter({ brokers: config.KAFKA_BROKERS, clientId: 'conversa-audit', logger });
  let consumer: EventConsumer | undefined;
  const producer: EventProducer = await reach('Kafka', config.KAFKA_BROKERS.join(','), t, async () => {
    await kafka.ensureTopics([
      { topic: n.eventsTopic, partitions: config.KAFKA_PARTITIONS },
      { topic: n.deadLetterTopic, partitions: 1 },
    ]);
    return kafka.producer();
  });
  const stats = { appended: 0, duplicates: 0, deadLettered: 0 };

  const handleBatch = async (batch: IncomingBatch) => {
    const now = new Date();
    const entries: AuditDoc[] = [];
    const dead: { key: string; value: string; headers: Record<string, string> }[] = [];
    for (const r of batch.records) {
      const d = decodeRecord(r, now);
      if (d.ok) {
        entries.push(d.entry);
        continue;
      }
      logger.warn({ topic: r.topic, partition: r.partition, offset: r.offset, reason: d.reason }, 'dead-lettering a record');
      dead.push({
        key: r.key ?? '',
        value: r.value?.toString('utf8') ?? '',
        headers: {
          ...r.headers,
          'dlq-reason': d.reason.slice(0, 1_000),
          'dlq-source': `${r.topic}/${r.partition}/${r.offset}`,
          'dlq-consumer': n.auditGroup,
        },
      });
    }
    // Both writes finish before the adapter commits the batch's offsets.
    if (dead.length > 0) {
      await producer.send(n.deadLetterTopic, dead);
      stats.deadLettered += dead.length;
    }
    const inserted = await store.appendAudit(entries);
    stats.appended += inserted;
    stats.duplicates += entries.length - inserted;
  };

  let draining = false;
  const probe = createProbeServer({ mongo: () => store.ping(), kafka: () => kafka.ping() }, () => draining);
  let port = config.AUDIT_PORT;

  return {
    names: n,
    stats,
    get port() {
      return port;
    },
    async start() {
      port = await listen(probe, config.AUDIT_PORT, config.HOST);
      consumer = await kafka.consumer({ groupId: n.auditGroup, topics: [n.eventsTopic], fromBeginning: true });
      await consumer.run(handleBatch);
      logger.info({ port, topic: n.eventsTopic, group: n.auditGroup }, 'audit consumer ready');
    },
    async stop() {
      draining = true;
      // Finish the batch in flight and commit, leave the group, then close clients.
      await consumer?.stop();
      await producer.close();
      await kafka.close();
      await closeServer(probe);
      await store.close();
    },
  };
}
