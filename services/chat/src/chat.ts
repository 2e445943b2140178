import { TraceContext, names, type Names } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import { DeadLetterQueue, KafkaAdapter, type EventConsumer } from '@conversa/kafka';
import {
  closeServer,
  createProbeServer,
  currentTraceparent,
  listen,
  reach,
  safeUrl,
  SpanKind,
  withSpan,
  type Logger,
  type Service,
} from '@conversa/observability';
import { openStore, redisActivityCache } from '@conversa/store';
import { CommandExecutor } from './commands.js';
import { createCommandWorker, createQueueDepth, reportServiceRate } from './adapters/queue.js';
import { createChatMetrics } from './metrics.js';
import { ReadCache, storeReads } from './read-cache.js';
import { listenForChanges, noticeChange } from './adapters/cache-notices.js';
import { createRedis, redisLocks, redisPublisher, redisSeqLocks } from './adapters/redis.js';
import { OutboxRelay } from './outbox-relay.js';
import { createMuteTimers } from './adapters/timers.js';
import { chatModerationHandler } from './moderation-consumer.js';

export interface ChatService extends Service {
  readonly port: number;
  readonly names: Names;
  readonly relay: OutboxRelay;
}

/**
 * Builds the chat service: connects its dependencies (failing fast with the one it could not
 * reach), then `start()` begins taking commands and relaying the outbox.
 */
export async function createChat(config: Config, logger: Logger): Promise<ChatService> {
  const n = names(config.CONVERSA_NAMESPACE);
  const t = config.STARTUP_TIMEOUT_MS;
  // The sources are read at scrape time only, once everything below exists.
  const cm = createChatMetrics({
    queueCounts: () => depth.counts(),
    outboxPending: () => store.outbox.countPending(),
    published: () => relay.published,
  });
  const redisError = () => cm.dependencyError('redis', 'connection');
  const redis = createRedis(config.REDIS_URL, 'chat');
  const workerRedis = createRedis(config.REDIS_URL, 'chat-worker');
  redis.on('error', redisError);
  workerRedis.on('error', redisError);
  await reach('Redis', safeUrl(config.REDIS_URL), t, async () => {
    await redis.connect();
    await workerRedis.connect();
  });
  // Updates of one document are serialized across all chat processes (FerretDB has no
  // atomic read-modify-write); see StoreOptions.locks.
  // What a send reads, cached; every write that changes it is evicted here and, through
  // Redis, in the other chat processes (read-cache.ts).
  const caches: { current?: ReadCache } = {};
  const store = await reach('MongoDB', safeUrl(config.MONGO_URL), t, () =>
    openStore({
      url: config.MONGO_URL,
      dbName: config.MONGO_DB,
      locks: redisLocks(redis, n.queuePrefix),
      activityCache: redisActivityCache(redis, n.roomActivity),
      documentLocks: config.STORE_DOCUMENT_LOCKS,
      onError: (op) => cm.dependencyError('mongo', op),
      onWrite: (change) => {
        caches.current?.evict(change);
        noticeChange(redis, n.chatCacheChannel, change, logger);
      },
    }),
  );
  const cache = new ReadCache(storeReads(store), { ttlMs: config.CHAT_READ_CACHE_TTL_MS });
  caches.current = cache;
  const cacheRedis = createRedis(config.REDIS_URL, 'chat-cache-notices');
  cacheRedis.on('error', redisError);
  await reach('Redis', safeUrl(config.REDIS_URL), t, () => cacheRedis.connect());
  await listenForChanges(cacheRedis, n.chatCacheChannel, cache, logger);
  await store.ensureIndexes();
  const kafka = new KafkaAdapter({
    brokers: config.KAFKA_BROKERS,
    clientId: 'conversa-chat',
    logger,
    onError: (op) => cm.dependencyError('kafka', op),
  });
  const producer = await reach('Kafka', config.KAFKA_BROKERS.join(','), t, async () => {
    await kafka.ensureTopics([
      { topic: n.eventsTopic, partitions: config.KAFKA_PARTITIONS },
      { topic: n.moderationTopic, partitions: config.KAFKA_PARTITIONS },
      { topic: n.deadLetterTopic, partitions: 1 },
    ]);
    return kafka.producer();
  }, { retry: true });

  // The mute timers' worker blocks on Redis: a connection of its own.
  const timerRedis = createRedis(config.REDIS_URL, 'chat-moderation-timers');
  timerRedis.on('error', redisError);
  await reach('Redis', safeUrl(config.REDIS_URL), t, () => timerRedis.connect());
  const timers = createMuteTimers({
    connection: redis,
    workerConnection: timerRedis,
    prefix: n.queuePrefix,
    queue: n.moderationTimerQueue,
    expire: (muteId, action) => executor.moderation.expire(muteId, action),
    logger,
  });

  const roomSignals = redisPublisher(redis, n.roomChannel, n.userChannel);
  const relay = new OutboxRelay({ outbox: store.outbox, producer, topic: n.eventsTopic, logger, sweepMs: config.OUTBOX_SWEEP_MS });
  // Every event a write stores reaches the relay's fast path from the store itself.
  store.onEventsStored((stored) => relay.stored(stored));
  const executor = new CommandExecutor({
    store,
    publisher: {
      publish: (room, signal) =>
        withSpan('redis publish', { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'redis', 'messaging.destination.name': n.roomChannel(room) } }, () =>
          roomSignals.publish(room, signal),
        ),
      publishToUser: (user, signal) => roomSignals.publishToUser!(user, signal),
    },
    traceparent: currentTraceparent,
    reads: cache,
    seqLocks: redisSeqLocks(redis, n.queuePrefix),
    logger,
    timers,
  });
  // A mute or a ban ends the user's live subscriptions on every gateway at once (docs/security.md).
  executor.moderation.revokeAccess = async (signal) => {
    await redis.publish(n.accessChannel, JSON.stringify(signal));
  };
  const worker = createCommandWorker({
    connection: workerRedis,
    prefix: n.queuePrefix,
    queue: n.commandQueue,
    concurrency: config.CHAT_CONCURRENCY,
    staleAfterMs: config.COMMAND_TIMEOUT_MS,
    onDropped: (type) => logger.info({ command: type }, 'stale command dropped unexecuted (its caller had given up)'),
    execute: (payload) => {
      const command = String((payload as { type?: unknown }).type);
      // The gateway's trace rides in the job data beside the command (the contract strips it).
      const trace = TraceContext.safeParse((payload as { trace?: unknown }).trace);
      return withSpan(
        `command ${command}`,
        { kind: SpanKind.CONSUMER, parent: trace.success ? trace.data.traceparent : undefined, attributes: { 'messaging.system': 'bullmq', 'conversa.command': command } },
        () =>
          cm.timeJob(command, async () => {
            const result = await executor.execute(payload);
            logger.debug({ command }, 'command done'); // carries the trace id when tracing is on
            return result;
          }),
      );
    },
  });
  const depth = createQueueDepth({ connection: redis, prefix: n.queuePrefix, queue: n.commandQueue });
  const serviceRate = reportServiceRate({ worker, redis, key: n.commandsDoneKey });
  worker.on('failed', (job, err) => logger.warn({ job: job?.id, name: job?.name, err }, 'command failed; queue retries it'));
  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  // Moderation actions decided by the rules (audit service) arrive on Kafka.
  let moderationConsumer: EventConsumer | undefined;
  cm.metrics.gauge('kafka_consumer_lag', 'Records behind the newest offset, summed over the partitions a consumer group member holds.', ['group'], () =>
    moderationConsumer ? [{ labels: { group: n.chatModerationGroup }, value: moderationConsumer.lag() }] : [],
  );
  const handleModeration = chatModerationHandler({
    applier: executor.moderation,
    deadLetters: new DeadLetterQueue({ producer, topic: n.deadLetterTopic, consumer: n.chatModerationGroup, logger }),
  });

  let draining = false;
  const probe = createProbeServer(
    {
      mongo: () => store.ping(),
      redis: async () => {
        await redis.ping();
      },
      moderation: () => (moderationConsumer ? Promise.resolve() : Promise.reject(new Error('moderation consumer not joined yet'))),
    },
    () => draining,
    cm.metrics,
  );
  let port = config.CHAT_PORT;

  return {
    names: n,
    relay,
    get port() {
      return port;
    },
    async start() {
      port = await listen(probe, config.CHAT_PORT, config.HOST);
      relay.start();
      void worker.run();
      await worker.waitUntilReady();
      await timers.start();
      // Re-adds the end of every stored mute (same job ids: no duplicates) in case Redis lost them.
      const rescheduled = await executor.moderation.rescheduleAll();
      const consumer = await kafka.consumer({ groupId: n.chatModerationGroup, topics: [n.moderationTopic], fromBeginning: true });
      await consumer.run(handleModeration);
      moderationConsumer = consumer;
      logger.info(
        { port, queue: `${n.queuePrefix}:${n.commandQueue}`, moderation: n.moderationTopic, group: n.chatModerationGroup, rescheduled },
        'chat worker ready',
      );
    },
    async stop() {
      draining = true;
      // Finish the jobs in flight, then publish what they stored, then close the clients.
      await worker.close();
      await serviceRate.stop();
      await moderationConsumer?.stop();
      await timers.close();
      await relay.stop();
      await depth.close();
      await producer.close();
      await kafka.close();
      await closeServer(probe);
      redis.disconnect();
      workerRedis.disconnect();
      timerRedis.disconnect();
      cacheRedis.disconnect();
      await store.close();
    },
  };
}
