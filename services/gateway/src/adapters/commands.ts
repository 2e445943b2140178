import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { currentTraceparent } from '@conversa/observability';
import { decide, serviceRate, type AdmissionOptions, type QueueSnapshot } from '../admission.js';
import {
  AppError,
  COMMAND_POLICY,
  ErrorCode,
  parseCommandResult,
  type CommandOf,
  type CommandType,
  type CommandResult,
} from '@conversa/contracts';

type CommandValueOf<T extends CommandType> = Extract<CommandResult<T>, { ok: true }>['value'];

export interface CommandBus {
  /** Enqueues the command and resolves with its result; a refusal throws its AppError. */
  execute<T extends CommandType>(command: CommandOf<T>): Promise<CommandValueOf<T>>;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
  close(): Promise<void>;
}

export interface CommandBusOptions {
  url: string;
  prefix: string;
  queue: string;
  /** How long a mutation waits for its job, ms. */
  timeoutMs: number;
  /** Redis key of the chat workers' finished commands in one second (`names().commandsDoneKey`). */
  doneKey: (epochSecond: number) => string;
  /** Admission control; `budgetMs` defaults to 1 s (at most half of `timeoutMs`), `minBacklog` to 50. */
  admission?: Partial<AdmissionOptions>;
  /** How long one look at the queue (backlog, service rate) is used, ms (200). */
  snapshotMs?: number;
  /** Called on each Redis connection error (for metrics); without it ioredis prints them. */
  onError?: (err: Error) => void;
}

/** The job data: the command, and the caller's trace beside it when tracing is on (the chat worker continues it). */
function withTrace(data: Record<string, unknown>): Record<string, unknown> {
  const traceparent = currentTraceparent();
  return traceparent ? { ...data, trace: { traceparent } } : data;
}

/** BullMQ producer side: the gateway's only way to change state. */
export async function createCommandBus(opts: CommandBusOptions): Promise<CommandBus> {
  const connection = new Redis(opts.url, { maxRetriesPerRequest: null, lazyConnect: true, connectionName: 'gateway-queue' });
  const eventsConnection = new Redis(opts.url, { maxRetriesPerRequest: null, lazyConnect: true, connectionName: 'gateway-queue-events' });
  const onError = opts.onError ?? (() => undefined);
  connection.on('error', onError);
  eventsConnection.on('error', onError);
  await Promise.all([connection.connect(), eventsConnection.connect()]);
  const queue = new Queue(opts.queue, {
    connection,
    prefix: opts.prefix,
    defaultJobOptions: {
      // Infrastructure failures (a database blip) are retried; refusals are results, not failures.
      attempts: 5,
      backoff: { type: 'exponential', delay: 200 },
      removeOnComplete: { age: 300, count: 10_000 },
      removeOnFail: { age: 86_400 },
    },
  });
  const events = new QueueEvents(opts.queue, { connection: eventsConnection, prefix: opts.prefix });
  await events.waitUntilReady();

  const admission: AdmissionOptions = { budgetMs: Math.min(1_000, opts.timeoutMs / 2), minBacklog: 50, ...opts.admission };
  const RATE_WINDOW_S = 5;
  // One look at the queue serves every command for `snapshotMs`; what this process admitted
  // since is added, so a burst does not overshoot while the snapshot ages.
  let snapshot: { at: number; value: Promise<QueueSnapshot> } | undefined;
  let admittedSince = 0;
  const look = async (): Promise<QueueSnapshot> => {
    const now = Math.floor(Date.now() / 1_000);
    const keys = Array.from({ length: RATE_WINDOW_S }, (_, i) => opts.doneKey(now - RATE_WINDOW_S + i));
    const [counts, done] = await Promise.all([queue.getJobCounts('waiting', 'prioritized'), connection.mget(...keys)]);
    return { backlog: (counts.waiting ?? 0) + (counts.prioritized ?? 0), ratePerSecond: serviceRate(done.map((d) => Number(d ?? 0))) };
  };
  const current = (): Promise<QueueSnapshot> => {
    if (!snapshot || Date.now() - snapshot.at > (opts.snapshotMs ?? 200)) {
      snapshot = { at: Date.now(), value: look() };
      admittedSince = 0;
      snapshot.value.catch(() => (snapshot = undefined));
    }
    return snapshot.value;
  };
  return {
    async execute<T extends CommandType>(command: CommandOf<T>) {
      const { type, ...data } = command;
      const policy = COMMAND_POLICY[type];
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('command timed out')), opts.timeoutMs);
      });
      // Where it stopped decides the answer: before or while enqueueing (a failed add), certainly
      // not done (UNAVAILABLE); an add that timed out, or once enqueued, it may run (and will,
      // unless stale and dropped by its policy): OUTCOME_UNKNOWN.
      let stage: 'admission' | 'enqueueing' | 'enqueued' = 'admission';
      let raw: unknown;
      try {
        const q = await Promise.race([current(), deadline]);
        const verdict = decide({ ...q, backlog: q.backlog + admittedSince }, policy.class, admission);
        if (!verdict.admit) {
          throw new AppError(ErrorCode.UNAVAILABLE, `the write path is saturated; nothing was done: retry in ${verdict.retryAfterSeconds} s`, {
            details: { retryAfter: verdict.retryAfterSeconds },
          });
        }
        admittedSince++;
        stage = 'enqueueing';
        // One deadline for enqueueing and waiting: with Redis down, `add` would wait forever.
        const job = await Promise.race([queue.add(type, withTrace(data), policy.class === 'bulk' ? { priority: 10 } : undefined), deadline]);
        stage = 'enqueued';
        raw = await Promise.race([job.waitUntilFinished(events, opts.timeoutMs), deadline]);
      } catch (e) {
        if (e instanceof AppError) throw e;
        if (stage === 'admission' || (stage === 'enqueueing' && !/timed out/i.test(String((e as Error).message)))) {
          throw new AppError(ErrorCode.UNAVAILABLE, 'the command could not be queued; nothing was done: retry in 1 s', { cause: e, details: { retryAfter: 1 } });
        }
        throw new AppError(
          ErrorCode.OUTCOME_UNKNOWN,
          type === 'message.send'
            ? 'the command did not finish in time and may still be done: retrying it with the same clientMsgId is safe and returns the stored message if it was'
            : 'the command did not finish in time and may still be done: retrying it is safe',
          { cause: e, details: { retryAfter: 1 } },
        );
      } finally {
        clearTimeout(timer);
      }
      const result = parseCommandResult(type, raw);
      if (!result.ok) throw new AppError(result.error.code, result.error.message);
      return result.value;
    },
    async depth() {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      await events.close();
      await queue.close();
      connection.disconnect();
      eventsConnection.disconnect();
    },
  };
}
