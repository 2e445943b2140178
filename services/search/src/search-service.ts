import type { Config } from '@conversa/config';
import { names, type Names } from '@conversa/contracts';
import { DeadLetterQueue, KafkaAdapter, type EventConsumer, type EventProducer, type IncomingBatch } from '@conversa/kafka';
import {
  closeServer,
  createMetrics,
  createProbeServer,
  dependencyErrorCounter,
  listen,
  reach,
  safeUrl,
  type Logger,
  type Service,
} from '@conversa/observability';
import { PostgresSearchIndex } from '@conversa/search-index';
import { openStore } from '@conversa/store';
import { planBatch } from './indexer.js';
import { REBUILT_KEY, rebuildFromStore } from './rebuild.js';

export interface SearchIndexerStats {
  indexed: number;
  skipped: number;
  deadLettered: number;
}

export interface SearchIndexerService extends Service {
  readonly port: number;
  readonly names: Names;
  readonly stats: SearchIndexerStats;
  /** Resolves when the rebuild from the store that this start began (if any) is done. */
  readonly rebuilt: Promise<unknown>;
}

/**
 * The search indexer: Kafka consumer group `<ns>-search-indexer` on the events topic, writing
 * message changes to the search index (PostgreSQL, `SEARCH_PG_URL`, schema `SEARCH_PG_SCHEMA`),
 * committing offsets only after the batch is written. A fresh index (never rebuilt) is first
 * filled from the store in the background while the consumer runs. Health and metrics on
 * SEARCH_PORT.
 */
export async function createSearchIndexer(config: Config, logger: Logger): Promise<SearchIndexerService> {
  const n = names(config.CONVERSA_NAMESPACE);
  const t = config.STARTUP_TIMEOUT_MS;
  const metrics = createMetrics('search');
  const dependencyError = dependencyErrorCounter(metrics, [
    ['kafka', 'client'],
    ['mongo', 'command'],
    ['postgres', 'client'],
  ]);
  const index = new PostgresSearchIndex({
    url: config.SEARCH_PG_URL,
    schema: config.SEARCH_PG_SCHEMA,
    poolSize: config.SEARCH_PG_POOL,
    onError: () => dependencyError('postgres', 'client'),
  });
  await reach('PostgreSQL', safeUrl(config.SEARCH_PG_URL), t, () => index.migrate());
  const store = await reach('MongoDB', safeUrl(config.MONGO_URL), t, () =>
    openStore({ url: config.MONGO_URL, dbName: config.MONGO_DB, onError: (op) => dependencyError('mongo', op) }),
  );
  const kafka = new KafkaAdapter({ brokers: config.KAFKA_BROKERS, clientId: 'conversa-search', logger, onError: (op) => dependencyError('kafka', op) });
  const producer: EventProducer = await reach('Kafka', config.KAFKA_BROKERS.join(','), t, async () => {
    await kafka.ensureTopics([
      { topic: n.eventsTopic, partitions: config.KAFKA_PARTITIONS },
      { topic: n.deadLetterTopic, partitions: 1 },
    ]);
    return kafka.producer();
  }, { retry: true });

  const stats: SearchIndexerStats = { indexed: 0, skipped: 0, deadLettered: 0 };
  const indexed = metrics.counter('search_events_indexed_total', 'Message events written to the search index.');
  const deadLettered = metrics.counter('dead_lettered_total', 'Records parked on the dead-letter topic, by consumer group.', ['consumer']);
  const delay = metrics.histogram('search_index_delay_seconds', 'From an event (occurredAt) to its change being in the search index.', [], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
  let consumer: EventConsumer | undefined;
  metrics.gauge('kafka_consumer_lag', 'Records behind the newest offset, summed over the partitions a consumer group member holds.', ['group'], () =>
    consumer ? [{ labels: { group: n.searchGroup }, value: consumer.lag() }] : [],
  );
  const deadLetters = new DeadLetterQueue({
    producer,
    topic: n.deadLetterTopic,
    consumer: n.searchGroup,
    logger,
    onParked: (k) => {
      stats.deadLettered += k;
      deadLettered.inc({ consumer: n.searchGroup }, k);
    },
  });

  const handleBatch = async (batch: IncomingBatch) => {
    const plan = planBatch(batch.records);
    await deadLetters.park(plan.dead);
    // Written before the adapter commits the batch's offsets: a crash means the batch again.
    if (plan.changes.length > 0) await index.index(plan.changes);
    const now = Date.now();
    for (const e of plan.events) delay.observe({}, Math.max(0, now - Date.parse(e.occurredAt)) / 1_000);
    stats.indexed += plan.changes.length;
    stats.skipped += plan.skipped;
    indexed.inc(undefined, plan.changes.length);
  };

  let draining = false;
  let running = false;
  let rebuilt: Promise<unknown> = Promise.resolve();
  const probe = createProbeServer(
    {
      postgres: () => index.ping(),
      mongo: () => store.ping(),
      kafka: () => kafka.ping(),
      consumers: () => (running ? Promise.resolve() : Promise.reject(new Error('consumer group not joined yet'))),
    },
    () => draining,
    metrics,
  );
  let port = config.SEARCH_PORT;

  return {
    names: n,
    stats,
    get port() {
      return port;
    },
    get rebuilt() {
      return rebuilt;
    },
    async start() {
      port = await listen(probe, config.SEARCH_PORT, config.HOST);
      // From the beginning for a new group (as far as the topic's retention goes); the store
      // fills in what the topic no longer holds.
      consumer = await kafka.consumer({ groupId: n.searchGroup, topics: [n.eventsTopic], fromBeginning: true });
      await consumer.run(handleBatch);
      running = true;
      if ((await index.getMeta(REBUILT_KEY)) === null) {
        rebuilt = rebuildFromStore({ roomIds: () => store.reconcile.roomIds(), page: (room, q) => store.messages.page(room, q) }, index, logger, () => draining).catch(
          (e: unknown) => logger.error({ err: e }, 'search: rebuild from the store failed; it runs again at the next start'),
        );
      }
      logger.info({ port, topic: n.eventsTopic, group: n.searchGroup, schema: config.SEARCH_PG_SCHEMA }, 'search indexer ready');
    },
    async stop() {
      draining = true;
      await rebuilt;
      // Finish the batch in flight and commit, leave the group, then close clients.
      await consumer?.stop();
      await producer.close();
      await kafka.close();
      await closeServer(probe);
      await store.close();
      await index.close();
    },
  };
}
