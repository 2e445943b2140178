import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { currentTraceparent } from '@conversa/observability';
import {
  AppError,
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

  return {
    async execute<T extends CommandType>(command: CommandOf<T>) {
      const { type, ...data } = command;
      let raw: unknown;
      let timer: NodeJS.Timeout | undefined;
      try {
        // One deadline for enqueueing and waiting: with Redis down, `add` would wait forever.
        raw = await Promise.race([
          queue.add(type, withTrace(data)).then((job) => job.waitUntilFinished(events, opts.timeoutMs)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('command timed out')), opts.timeoutMs);
          }),
        ]);
      } catch (e) {
        const timedOut = e instanceof Error && /timed out/i.test(e.message);
        throw new AppError(
          ErrorCode.INTERNAL_SERVER_ERROR,
          timedOut
            ? 'the command did not finish in time; retrying it is safe'
            : 'the command failed; retrying it is safe',
          { cause: e },
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
