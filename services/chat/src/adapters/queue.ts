import { Worker, type Job } from 'bullmq';
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
