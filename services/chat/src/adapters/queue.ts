import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';

export interface CommandWorkerOptions {
  connection: Redis;
  prefix: string;
  queue: string;
  concurrency: number;
  execute: (payload: unknown) => Promise<unknown>;
}

/** The BullMQ worker that feeds jobs to the executor; the job name is the command type. */
export function createCommandWorker(opts: CommandWorkerOptions): Worker {
  return new Worker(
    opts.queue,
    async (job: Job) => opts.execute({ ...(job.data as Record<string, unknown>), type: job.name }),
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
