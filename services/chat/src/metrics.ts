import {
  createMetrics,
  dependencyErrorCounter,
  type DependencyErrorHook,
  type Metrics,
} from '@conversa/observability';

/** Outcome of one command job: done, refused (a result with an error code), or failed (thrown: the queue retries it). */
export type JobOutcome = 'ok' | 'refused' | 'failed';

export interface ChatMetrics {
  readonly metrics: Metrics;
  readonly dependencyError: DependencyErrorHook;
  /** Runs one command job, counting it and its latency by command type and outcome. */
  timeJob<T>(command: string, run: () => Promise<T>): Promise<T>;
}

export interface ChatMetricSources {
  /** Job counts by state. */
  queueCounts: () => Promise<Record<string, number>>;
  /** Documents whose outbox still holds events (a database count at scrape time). */
  outboxPending: () => Promise<number>;
  /** Events the relay of this process has published. */
  published: () => number;
}

/** The outcome of a job whose executor resolved: refusals are `{ ok: false }` results. */
export function outcomeOf(result: unknown): JobOutcome {
  return typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === false
    ? 'refused'
    : 'ok';
}

export function createChatMetrics(sources: ChatMetricSources): ChatMetrics {
  const metrics = createMetrics('chat');
  const jobs = metrics.counter(
    'command_jobs_total',
    'Command jobs run by this worker, by command type and outcome (ok, refused, failed).',
    ['command', 'outcome'],
  );
  const latency = metrics.histogram(
    'command_job_duration_seconds',
    'Time to run one command job, by command type and outcome, seconds.',
    ['command', 'outcome'],
  );
  metrics.gauge(
    'command_queue_depth',
    'Jobs in the command queue by state (shared by all workers).',
    ['state'],
    async () =>
      Object.entries(await sources.queueCounts()).map(([state, value]) => ({
        labels: { state },
        value,
      })),
  );
  metrics.gauge(
    'outbox_pending_documents',
    'Documents whose domain events are not yet acknowledged by Kafka.',
    [],
    sources.outboxPending,
  );
  metrics.observedCounter(
    'outbox_published_events_total',
    'Domain events this process published to Kafka.',
    sources.published,
  );
  const dependencyError = dependencyErrorCounter(metrics, [
    ['redis', 'connection'],
    ['kafka', 'produce'],
    ['mongo', 'command'],
  ]);
  return {
    metrics,
    dependencyError,
    async timeJob(command, run) {
      const done = latency.startTimer({ command });
      try {
        const result = await run();
        const outcome = outcomeOf(result);
        done({ outcome });
        jobs.inc({ command, outcome });
        return result;
      } catch (e) {
        done({ outcome: 'failed' });
        jobs.inc({ command, outcome: 'failed' });
        throw e;
      }
    },
  };
}
