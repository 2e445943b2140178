import { names, type Names } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import { DeadLetterQueue, KafkaAdapter, type EventConsumer } from '@conversa/kafka';
import {
  closeServer,
  createProbeServer,
  listen,
  reach,
  safeUrl,
  type Logger,
  type Service,
} from '@conversa/observability';
import { Store } from '@conversa/store';
import { CommandExecutor } from './commands.js';
import { createCommandWorker } from './adapters/queue.js';
import { createRedis, redisPublisher } from './adapters/redis.js';
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
  const store = await reach('MongoDB', safeUrl(config.MONGO_URL), t, () =>
    Store.connect({ url: config.MONGO_URL, dbName: config.MONGO_DB }),
  );
  await store.ensureIndexes();
  const redis = createRedis(config.REDIS_URL, 'chat');
  const workerRedis = createRedis(config.REDIS_URL, 'chat-worker');
  await reach('Redis', safeUrl(config.REDIS_URL), t, async () => {
    await redis.connect();
    await workerRedis.connect();
  });
  const kafka = new KafkaAdapter({ brokers: config.KAFKA_BROKERS, clientId: 'conversa-chat', logger });
  const producer = await reach('Kafka', config.KAFKA_BROKERS.join(','), t, async () => {
    await kafka.ensureTopics([
      { topic: n.eventsTopic, partitions: config.KAFKA_PARTITIONS },
      { topic: n.moderationTopic, partitions: config.KAFKA_PARTITIONS },
      { topic: n.deadLetterTopic, partitions: 1 },
    ]);
    return kafka.producer();
  });

  // The mute timers' worker blocks on Redis: a connection of its own.
  const timerRedis = createRedis(config.REDIS_URL, 'chat-moderation-timers');
  await reach('Redis', safeUrl(config.REDIS_URL), t, () => timerRedis.connect());
  const timers = createMuteTimers({
    connection: redis,
    workerConnection: timerRedis,
    prefix: n.queuePrefix,
    queue: n.moderationTimerQueue,
    expire: (muteId, action) => executor.moderation.expire(muteId, action),
    logger,
  });

  const relay = new OutboxRelay({ store, producer, topic: n.eventsTopic, logger, sweepMs: config.OUTBOX_SWEEP_MS });
  const executor = new CommandExecutor({
    store,
    publisher: redisPublisher(redis, n.roomChannel),
    onEventStored: (collection, docId, events) => relay.stored(collection, docId, events),
    logger,
    timers,
  });
  const worker = createCommandWorker({
    connection: workerRedis,
    prefix: n.queuePrefix,
    queue: n.commandQueue,
    concurrency: config.CHAT_CONCURRENCY,
    execute: (payload) => executor.execute(payload),
  });
  worker.on('failed', (job, err) => logger.warn({ job: job?.id, name: job?.name, err }, 'command failed; queue retries it'));
  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  // Moderation actions decided by the rules (audit service) arrive on Kafka.
  let moderationConsumer: EventConsumer | undefined;
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
      await moderationConsumer?.stop();
      await timers.close();
      await relay.stop();
      await producer.close();
      await kafka.close();
      await closeServer(probe);
      redis.disconnect();
      workerRedis.disconnect();
      timerRedis.disconnect();
      await store.close();
    },
  };
}
