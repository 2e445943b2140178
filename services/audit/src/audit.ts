import { fileURLToPath } from 'node:url';
import { names, type Names } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import { DeadLetterQueue, KafkaAdapter, splitRecords, type EventConsumer, type EventProducer, type IncomingBatch } from '@conversa/kafka';
import {
  closeServer,
  createMetrics,
  createProbeServer,
  dependencyErrorCounter,
  SpanKind,
  withSpans,
  listen,
  reach,
  safeUrl,
  type Logger,
  type Service,
} from '@conversa/observability';
import { eventRecord, type DomainEvent } from '@conversa/contracts';
import { openStore } from '@conversa/store';
import { decodeEvent, toAuditEntry } from './audit-entry.js';
import { AuditLogWriter } from './audit-log.js';
import { moderationBatchHandler } from './moderation-consumer.js';
import { loadRulesFile } from './moderation/rules-file.js';
import { ModerationEngine, type RulesFile } from './moderation/rules.js';
import { reconcile, type ReconcileReport } from './reconcile.js';

/** The rules file shipped with the service (src/ and dist/ both sit beside rules/). */
export const DEFAULT_RULES_FILE = fileURLToPath(new URL('../rules/default.yaml', import.meta.url));

export interface AuditStats {
  appended: number;
  duplicates: number;
  deadLettered: number;
  actions: number;
}

export interface AuditService extends Service {
  readonly port: number;
  readonly names: Names;
  readonly stats: AuditStats;
  /** One reconciliation run now (the periodic one runs every AUDIT_RECONCILE_INTERVAL_MS). */
  reconcile(opts?: { settleMs?: number }): Promise<ReconcileReport>;
}

export interface AuditOptions {
  /** Rules to use instead of reading MODERATION_RULES_FILE (tests). */
  rules?: RulesFile;
  now?: () => Date;
}

/**
 * Builds the audit service, two Kafka consumer groups on the events topic in one process:
 * - `<ns>-audit` appends every domain event to the hash-chained audit log once (insert by
 *   event id), committing offsets only after the batch is stored;
 * - `<ns>-moderation` runs the moderation rules and sends their actions to the moderation topic.
 * Both park records they cannot parse on the dead-letter topic and go on. Metrics on /metrics of
 * the probe port. A rules file that does not parse stops it before anything connects.
 */
export async function createAudit(config: Config, logger: Logger, opts: AuditOptions = {}): Promise<AuditService> {
  const rulesFile = config.MODERATION_RULES_FILE ?? DEFAULT_RULES_FILE;
  const engine = new ModerationEngine(opts.rules ?? loadRulesFile(rulesFile));
  const now = opts.now ?? (() => new Date());
  const n = names(config.CONVERSA_NAMESPACE);
  const t = config.STARTUP_TIMEOUT_MS;
  const metrics = createMetrics('audit');
  const dependencyError = dependencyErrorCounter(metrics, [
    ['kafka', 'client'],
    ['mongo', 'command'],
  ]);
  const store = await reach('MongoDB', safeUrl(config.MONGO_URL), t, () =>
    openStore({ url: config.MONGO_URL, dbName: config.MONGO_DB, onError: (op) => dependencyError('mongo', op) }),
  );
  await store.ensureIndexes();
  const kafka = new KafkaAdapter({
    brokers: config.KAFKA_BROKERS,
    clientId: 'conversa-audit',
    logger,
    onError: (op) => dependencyError('kafka', op),
  });
  const producer: EventProducer = await reach('Kafka', config.KAFKA_BROKERS.join(','), t, async () => {
    await kafka.ensureTopics([
      { topic: n.eventsTopic, partitions: config.KAFKA_PARTITIONS },
      { topic: n.moderationTopic, partitions: config.KAFKA_PARTITIONS },
      { topic: n.deadLetterTopic, partitions: 1 },
    ]);
    return kafka.producer();
  }, { retry: true });

  const stats: AuditStats = { appended: 0, duplicates: 0, deadLettered: 0, actions: 0 };
  const consumers = new Map<string, EventConsumer>();
  const appended = metrics.counter('audit_events_appended_total', 'Domain events appended to the audit log.');
  const duplicates = metrics.counter('audit_events_duplicate_total', 'Domain events delivered again and skipped (already in the log).');
  const deadLettered = metrics.counter('dead_lettered_total', 'Records parked on the dead-letter topic, by consumer group.', ['consumer']);
  const actionsSent = metrics.counter('moderation_actions_total', 'Moderation actions sent to the moderation topic, by rule and kind.', ['rule', 'kind']);
  const checked = metrics.counter('moderation_messages_checked_total', 'Posted or edited messages the moderation rules looked at.');
  metrics.gauge('kafka_consumer_lag', 'Records behind the newest offset, summed over the partitions a consumer group member holds.', ['group'], () =>
    [...consumers].map(([group, c]) => ({ labels: { group }, value: c.lag() })),
  );

  const deadLetters = (group: string) =>
    new DeadLetterQueue({
      producer,
      topic: n.deadLetterTopic,
      consumer: group,
      logger,
      onParked: (k) => {
        stats.deadLettered += k;
        deadLettered.inc({ consumer: group }, k);
      },
    });
  const auditDeadLetters = deadLetters(n.auditGroup);
  const writer = new AuditLogWriter(store.audit);

  const handleAuditBatch = async (batch: IncomingBatch) => {
    const { good, dead } = splitRecords(batch.records, decodeEvent);
    // Both writes finish before the adapter commits the batch's offsets.
    await auditDeadLetters.park(dead);
    const recordedAt = now();
    // The producer's span (header), else the command's (envelope): the audit entry ends the trace.
    const r = await withSpans(
      'audit append',
      SpanKind.CONSUMER,
      good.map((g) => g.record.headers.traceparent ?? g.value.trace?.traceparent),
      { 'messaging.system': 'kafka', 'messaging.destination.name': batch.topic, 'messaging.consumer.group.name': n.auditGroup },
      () => writer.append(good.map((g) => toAuditEntry(g.value, recordedAt))),
    );
    stats.appended += r.appended;
    stats.duplicates += r.duplicates;
    appended.inc(undefined, r.appended);
    duplicates.inc(undefined, r.duplicates);
  };
  const reconcileRuns = metrics.counter('audit_reconcile_runs_total', 'Reconciliation runs of the audit log against the stored messages, by outcome.', ['outcome']);
  const reconcileChecked = metrics.counter('audit_reconcile_checked_total', 'Stored messages whose event the reconciliation looked up in the audit log.');
  const reconcileRepublished = metrics.counter(
    'audit_reconcile_republished_total',
    'Events the reconciliation found missing from the audit log and handed back to the events topic.',
  );
  const repo = store.reconcile;
  const republish = (events: DomainEvent[]) => producer.send(n.eventsTopic, events.map((e) => eventRecord(e)));
  const reconcileOnce = async (settleMs = config.AUDIT_RECONCILE_SETTLE_MS): Promise<ReconcileReport> => {
    try {
      const r = await reconcile({ repo, lastSeq: (room, hint) => store.messages.lastSeq(room, hint), republish, now, settleMs });
      reconcileRuns.inc({ outcome: 'ok' });
      reconcileChecked.inc(undefined, r.checked);
      reconcileRepublished.inc(undefined, r.republished.length);
      if (r.republished.length > 0) {
        logger.warn({ count: r.republished.length, ids: r.republished.slice(0, 20).map((e) => e.id) }, 'audit reconciliation: events missing from the log handed back to the events topic');
      }
      return r;
    } catch (e) {
      reconcileRuns.inc({ outcome: 'failed' });
      throw e;
    }
  };
  let reconcileTimer: NodeJS.Timeout | undefined;
  let reconciling: Promise<unknown> = Promise.resolve();
  const scheduleReconcile = () => {
    if (config.AUDIT_RECONCILE_INTERVAL_MS === 0 || draining) return;
    reconcileTimer = setTimeout(() => {
      reconciling = reconcileOnce()
        .catch((e: unknown) => logger.warn({ err: e }, 'audit reconciliation failed; it runs again next period'))
        .finally(scheduleReconcile);
    }, config.AUDIT_RECONCILE_INTERVAL_MS);
    reconcileTimer.unref();
  };

  const handleModerationBatch = moderationBatchHandler({
    engine,
    producer,
    topic: n.moderationTopic,
    deadLetters: deadLetters(n.moderationGroup),
    logger,
    now,
    onChecked: () => checked.inc(),
    onAction: (a) => {
      stats.actions++;
      actionsSent.inc({ rule: a.rule ?? 'none', kind: a.kind });
    },
  });

  let draining = false;
  let running = false;
  const probe = createProbeServer(
    {
      mongo: () => store.ping(),
      kafka: () => kafka.ping(),
      consumers: () => (running ? Promise.resolve() : Promise.reject(new Error('consumer groups not joined yet'))),
    },
    () => draining,
    metrics,
  );
  let port = config.AUDIT_PORT;

  return {
    names: n,
    stats,
    get port() {
      return port;
    },
    reconcile: (o) => reconcileOnce(o?.settleMs),
    async start() {
      port = await listen(probe, config.AUDIT_PORT, config.HOST);
      for (const [group, handler] of [
        [n.auditGroup, handleAuditBatch],
        [n.moderationGroup, handleModerationBatch],
      ] as const) {
        // From the beginning for a new group: the log must miss nothing; moderation skips
        // events older than the rules file's maxEventAgeSeconds instead.
        const c = await kafka.consumer({ groupId: group, topics: [n.eventsTopic], fromBeginning: true });
        consumers.set(group, c);
        await c.run(handler);
      }
      running = true;
      scheduleReconcile();
      logger.info(
        { port, topic: n.eventsTopic, groups: [...consumers.keys()], rules: opts.rules ? '(given)' : rulesFile, ruleCount: engine.config.rules.length },
        'audit and moderation consumers ready',
      );
    },
    async stop() {
      draining = true;
      clearTimeout(reconcileTimer);
      await reconciling;
      // Finish the batches in flight and commit, leave the groups, then close clients.
      for (const c of consumers.values()) await c.stop();
      await producer.close();
      await kafka.close();
      await closeServer(probe);
      await store.close();
    },
  };
}
