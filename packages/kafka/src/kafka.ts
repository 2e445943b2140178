/**
 * The only module that imports kafkajs. Services see producers and consumers through these
 * small interfaces so the client can be swapped (kafkajs is in maintenance upstream).
 */
import {
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type Admin,
  type Consumer,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { loudness } from './log-level.js';

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Connection timeout per broker, ms (3 s). */
  connectionTimeoutMs?: number;
  /**
   * Called on each error path (for metrics): `client` for errors the client logs (a lost
   * broker connection, a failed request), `produce` for a send that failed, `consume` for a
   * consumer that crashed and restarts.
   */
  onError?: (op: 'client' | 'produce' | 'consume', err: unknown) => void;
}

export interface OutgoingRecord {
  /** Partition key: events of one key keep their order. */
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface IncomingRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface IncomingBatch {
  topic: string;
  partition: number;
  records: IncomingRecord[];
  /** Offset of the partition's newest record (high watermark − 1), for lag. */
  highWatermark: string;
}

/**
 * Handles a batch. When it resolves, every record of the batch counts as processed and its
 * offset is committed; when it throws, nothing is committed and the batch comes again.
 */
export type BatchHandler = (batch: IncomingBatch) => Promise<void>;

export interface EventProducer {
  /** Resolves once every record is acknowledged by all in-sync replicas. */
  send(topic: string, records: OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning: boolean;
}

export interface EventConsumer {
  run(handler: BatchHandler): Promise<void>;
  /** Stops fetching, lets the running batch finish, commits, leaves the group. */
  stop(): Promise<void>;
  /** Records behind the newest offset, summed over assigned partitions (last seen). */
  lag(): number;
}

export interface FollowOptions {
  topics: string[];
  /** Prefix of the throwaway consumer group (a random suffix is added; the group is deleted on stop). */
  groupPrefix: string;
  /** From the oldest retained record instead of only records produced from now on (false). */
  fromBeginning?: boolean;
}

export interface Follower {
  /** Stops reading and deletes the throwaway group. */
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
}

function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined || v === null) continue;
    out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : Array.isArray(v) ? v.map(String).join(',') : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

export class KafkaAdapter {
  private readonly kafka: Kafka;
  private adminClient: Admin | undefined;

  constructor(private readonly opts: KafkaOptions) {
    const log = opts.logger.child({ component: 'kafkajs' });
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
      logLevel: KafkaLogLevel.WARN,
      retry: { initialRetryTime: 100, retries: 8 },
      logCreator:
        () =>
        ({ level, log: entry }: LogEntry) => {
          const { message, ...rest } = entry;
          const loud = loudness(level, message, rest.error);
          if (loud === 'error') {
            log.error(rest, message);
            opts.onError?.('client', message);
          } else if (loud === 'warn') log.warn(rest, message);
          else log.debug(rest, message);
        },
    });
  }

  private async admin(): Promise<Admin> {
    if (!this.adminClient) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.adminClient = admin;
    }
    return this.adminClient;
  }

  /** Resolves when the cluster answers a metadata request. */
  async ping(): Promise<void> {
    const admin = await this.admin();
    await admin.describeCluster();
  }

  /**
   * Creates missing topics (existing ones are left as they are), then waits until every
   * partition of each has a leader, up to `timeoutMs`. A topic another process has just created
   * is listed before its leaders are elected, and a client that subscribes to it then is told
   * "This server does not host this topic-partition" (a chat worker started beside the audit
   * consumer on a Kafka that had just come up exited on it).
   */
  async ensureTopics(specs: TopicSpec[], timeoutMs = 30_000): Promise<void> {
    const admin = await this.admin();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.partitions, replicationFactor: -1 })),
      });
    }
    const topics = specs.map((s) => s.topic);
    const deadline = Date.now() + timeoutMs;
    for (let delay = 100; ; delay = Math.min(1_000, delay * 2)) {
      let waitingFor: string;
      try {
        const meta = await admin.fetchTopicMetadata({ topics });
        const leaderless = meta.topics.flatMap((t) => (t.partitions.length === 0 ? [`${t.name} (no partitions)`] : t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}[${p.partitionId}]`)));
        if (leaderless.length === 0) return;
        waitingFor = `no leader yet for ${leaderless.join(', ')}`;
      } catch (e) {
        waitingFor = e instanceof Error ? e.message : String(e);
      }
      if (Date.now() + delay >= deadline) throw new Error(`topics ${topics.join(', ')} not ready within ${timeoutMs} ms: ${waitingFor}`);
      // Polls the cluster's metadata until the leaders are there (bounded by the deadline above).
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    const admin = await this.admin();
    await admin.deleteTopics({ topics });
  }

  /**
   * An idempotent producer (acks all, one request in flight): no duplicates from its own retries
   * within one `send`.
   *
   * After a `send` that failed, the producer session is replaced before the next one. Why: the
   * outcome of a failed send is unknown (the broker may have written a batch whose answer was
   * lost when it died, or written some partitions of a request that failed on others), and
   * kafkajs then rolls its sequence numbers back. The next send, by the same session, would carry
   * other records under the same sequence numbers, and a broker that already holds a batch with
   * that first and last sequence answers "duplicate" and drops them while the caller is told
   * they were written: silent loss (it lost `message.posted` events under a kill -9 of Kafka;
   * see docs/architecture.md). A new session (a new producer id, sequences from 0) cannot
   * collide with the old one's batches; what the failed send did write may then be on the topic
   * twice, which consumers absorb by event id.
   */
  async producer(): Promise<EventProducer> {
    const create = async (): Promise<Producer> => {
      const p = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        // Retries are bounded (the client's 8, at most 5 s apart): a send to a broker that stays
        // down fails, and the caller (the outbox sweep) tries again later from the database.
        retry: { initialRetryTime: 100, maxRetryTime: 5_000 },
      });
      await p.connect();
      return p;
    };
    // The current session; concurrent sends share it, and the first failure retires it.
    let session: Promise<Producer> | undefined = Promise.resolve(await create());
    const onError = this.opts.onError;
    const log = this.opts.logger;
    return {
      async send(topic, records) {
        if (records.length === 0) return;
        if (!session) {
          session = create();
          session.then(() => log.info('kafka producer: new session after a failed send'), () => (session = undefined));
        }
        const mine = session;
        const current = await mine;
        try {
          await current.send({
            topic,
            acks: -1,
            messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers ?? {} })),
          });
        } catch (e) {
          onError?.('produce', e);
          // The session's sequence numbers can no longer be trusted: see above.
          if (session === mine) session = undefined;
          await current.disconnect().catch(() => undefined);
          throw e;
        }
      },
      close: async () => {
        const last = session;
        session = undefined;
        await (await last?.catch(() => undefined))?.disconnect();
      },
    };
  }

  async consumer(opts: ConsumerOptions): Promise<EventConsumer> {
    const consumer: Consumer = this.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 15_000,
      maxWaitTimeInMs: 200,
      retry: { retries: 10, initialRetryTime: 200 },
    });
    await consumer.connect();
    consumer.on(consumer.events.CRASH, (e) => this.opts.onError?.('consume', e.payload.error));
    await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning });
    const lagByPartition = new Map<string, number>();
    return {
      async run(handler) {
        await consumer.run({
          autoCommit: true,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: async (payload) => {
            const { batch } = payload;
            if (!payload.isRunning() || payload.isStale()) return;
            const records: IncomingRecord[] = batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key ? m.key.toString('utf8') : null,
              value: m.value,
              headers: headersToStrings(m.headers),
              timestamp: m.timestamp,
            }));
            await handler({
              topic: batch.topic,
              partition: batch.partition,
              records,
              highWatermark: batch.highWatermark,
            });
            const last = records.at(-1);
            if (last) payload.resolveOffset(last.offset);
            // Only now, after the handler stored the batch, may its offsets be committed.
            await payload.commitOffsetsIfNecessary();
            const lag = Number(batch.highWatermark) - 1 - Number(last?.offset ?? batch.highWatermark);
            lagByPartition.set(`${batch.topic}/${batch.partition}`, Math.max(0, lag));
            await payload.heartbeat();
          },
        });
      },
      async stop() {
        await consumer.stop();
        await consumer.disconnect();
      },
      lag() {
        let n = 0;
        for (const v of lagByPartition.values()) n += v;
        return n;
      },
    };
  }

  /**
   * Reads topics live, record by record, in a throwaway consumer group of its own (nothing is
   * committed that another reader depends on), e.g. for `conversa audit tail`. Resolves once the
   * consumer has its partitions; without `fromBeginning`, only records produced after the call
   * are delivered (the end offsets are taken before joining, so nothing in between is missed).
   */
  async follow(opts: FollowOptions, onRecord: (record: IncomingRecord) => Promise<void> | void): Promise<Follower> {
    const admin = await this.admin();
    const start = new Map<string, bigint>();
    if (!opts.fromBeginning) {
      for (const topic of opts.topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) start.set(`${topic}/${p.partition}`, BigInt(p.high));
      }
    }
    const groupId = `${opts.groupPrefix}-${randomUUID().slice(0, 8)}`;
    const consumer: Consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    await consumer.subscribe({ topics: opts.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        // The first fetch can start before the seek below lands: skip what precedes the start.
        const from = start.get(`${topic}/${partition}`);
        if (from !== undefined && BigInt(message.offset) < from) return;
        await onRecord({
          topic,
          partition,
          offset: message.offset,
          key: message.key ? message.key.toString('utf8') : null,
          value: message.value,
          headers: headersToStrings(message.headers),
          timestamp: message.timestamp,
        });
      },
    });
    for (const [tp, offset] of start) {
      const cut = tp.lastIndexOf('/');
      consumer.seek({ topic: tp.slice(0, cut), partition: Number(tp.slice(cut + 1)), offset: offset.toString() });
    }
    return {
      async stop() {
        await consumer.stop();
        await consumer.disconnect();
        await admin.deleteGroups([groupId]).catch(() => undefined); // best effort: it expires anyway
      },
    };
  }

  async close(): Promise<void> {
    await this.adminClient?.disconnect();
    this.adminClient = undefined;
  }
}
