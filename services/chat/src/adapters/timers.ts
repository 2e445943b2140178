import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@conversa/observability';
import type { MuteTimers } from '../moderation.js';

export interface MuteTimerOptions {
  /** For the queue (adding jobs). */
  connection: Redis;
  /** For the worker (blocking reads): a connection of its own. */
  workerConnection: Redis;
  prefix: string;
  /** `names(ns).moderationTimerQueue`. */
  queue: string;
  /** Ends the mute; must be idempotent (a job can run twice). */
  expire: (muteId: string, action: string) => Promise<unknown>;
  logger: Logger;
}

export interface MuteTimerService extends MuteTimers {
  start(): Promise<void>;
  close(): Promise<void>;
}

interface MuteEndJob {
  muteId: string;
  action: string;
}

/**
 * Mute ends as BullMQ delayed jobs. Redis keeps delayed jobs across restarts of every service,
 * and the job id derives from the mute action's id: scheduling the same mute twice (a
 * redelivered action, the start-up re-scheduling) adds one job. Jobs are kept a week after
 * they complete so a late duplicate is still recognised; running one twice is harmless anyway.
 */
export function createMuteTimers(opts: MuteTimerOptions): MuteTimerService {
  const queue = new Queue<MuteEndJob>(opts.queue, { connection: opts.connection, prefix: opts.prefix });
  const worker = new Worker<MuteEndJob>(
    opts.queue,
    async (job: Job<MuteEndJob>) => {
      await opts.expire(job.data.muteId, job.data.action);
    },
    { connection: opts.workerConnection, prefix: opts.prefix, concurrency: 8, autorun: false },
  );
  worker.on('failed', (job, err) => opts.logger.warn({ job: job?.id, err }, 'mute end failed; retrying'));
  worker.on('error', (err) => opts.logger.error({ err }, 'mute timer worker error'));
  let running: Promise<void> | undefined;
  return {
    async schedule({ muteId, action, until }) {
      await queue.add(
        'mute.end',
        { muteId, action },
        {
          jobId: `mute-end-${action}`,
          delay: Math.max(0, until.getTime() - Date.now()),
          attempts: 20,
          backoff: { type: 'exponential', delay: 1_000 },
          removeOnComplete: { age: 7 * 86_400 },
          removeOnFail: { age: 30 * 86_400 },
        },
      );
    },
    async start() {
      running = worker.run();
      await worker.waitUntilReady();
    },
    async close() {
      await worker.close();
      await running;
      await queue.close();
    },
  };
}
