import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { COMMAND_POLICY, ErrorCode } from '@conversa/contracts';

export interface CommandWorkerOptions {
  connection: Redis;
  prefix: string;
  queue: string;
  concurrency: number;
  execute: (payload: unknown) => Promise<unknown>;
  /** A job older than this, ms, has lost its caller (the command deadline): its policy decides (COMMAND_POLICY). */
  staleAfterMs: number;
  /** Called for a stale job dropped unexecuted. */
  onDropped?: (type: string) => void;
}

/** The refusal a dropped job answers (nobody waits for it any more; a retry starts afresh). */
const DROPPED = { ok: false, error: { code: ErrorCode.UNAVAILABLE, message: 'dropped unexecuted: its caller had given up waiting; retry' } } as const;

/** The BullMQ worker that feeds jobs to the executor; the job name is the command type. */
export function createCommandWorker(opts: CommandWorkerOptions): Worker {
  return new Worker(
    opts.queue,
    async (job: Job) => {
      const policy = (COMMAND_POLICY as Record<string, { stale: 'execute' | 'drop' } | undefined>)[job.name];
      if (policy?.stale === 'drop' && Date.now() - job.timestamp > opts.staleAfterMs) {
        opts.onDropped?.(job.name);
        return DROPPED;
      }
      return opts.execute({ ...(job.data as Record<string, unknown>), type: job.name });
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      autorun: false,
      // A job whose worker died is retried by another after this long, ms.
      lockDuration: 15_000,
      stalledInterval: 5_000,
      maxStalledCount: 5,
    },
  );
}

/** Job counts of the command queue by state (waiting, active, delayed, prioritized, failed). */
export interface QueueDepth {
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Reads the queue's job counts (one Redis round trip), for the queue-depth gauge. */
export function createQueueDepth(opts: { connection: Redis; prefix: string; queue: string }): QueueDepth {
  const queue = new Queue(opts.queue, { connection: opts.connection, prefix: opts.prefix });
  return {
    counts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
    close: () => queue.close(),
  };
}

/**
 * Counts the commands this worker finished into the shared per-second key (`commandsDoneKey`),
 * flushed every `flushMs` (250 ms) in one round trip: the service rate the gateways' admission
 * control divides the backlog by. Keys expire after 30 s.
 */
export function reportServiceRate(opts: { worker: Worker; redis: Redis; key: (epochSecond: number) => string; flushMs?: number }): { stop(): Promise<void> } {
  let done = 0;
  const count = () => void done++;
  opts.worker.on('completed', count);
  const flush = async () => {
    if (done === 0) return;
    const n = done;
    done = 0;
    const key = opts.key(Math.floor(Date.now() / 1_000));
    await opts.redis.multi().incrby(key, n).expire(key, 30).exec();
  };
  const timer = setInterval(() => void flush().catch(() => undefined), opts.flushMs ?? 250);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      opts.worker.off('completed', count);
      await flush().catch(() => undefined);
    },
  };
}
