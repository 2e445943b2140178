import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { LocalLocks, type DocLocks } from '@conversa/store';
import type { RoomSignal } from '@conversa/contracts';
import type { SignalPublisher } from '../commands.js';

/** A Redis connection that BullMQ can share (no per-request retry limit). */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectionName: name });
}

export function redisPublisher(redis: Redis, channelOf: (room: string) => string): SignalPublisher {
  return {
    async publish(room, signal: RoomSignal) {
      await redis.publish(channelOf(room), JSON.stringify(signal));
    },
  };
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Document locks shared by every chat process: a Redis key per document (SET NX PX, released
 * only by its holder), taken inside a local mutex so one process queues its own tasks instead
 * of polling Redis for them. Guards FerretDB's unversioned read-modify-write updates.
 */
export function redisLocks(redis: Redis, prefix: string, opts: { ttlMs?: number; waitMs?: number } = {}): DocLocks {
  const local = new LocalLocks();
  const ttl = opts.ttlMs ?? 10_000;
  const maxWait = opts.waitMs ?? 15_000;
  return {
    run: (key, task) =>
      local.run(key, async () => {
        const k = `${prefix}:lock:${key}`;
        const token = randomUUID();
        const deadline = Date.now() + maxWait;
        for (let wait = 2; (await redis.set(k, token, 'PX', ttl, 'NX')) !== 'OK'; wait = Math.min(50, wait * 2)) {
          if (Date.now() > deadline) throw new Error(`lock ${key}: not acquired within ${maxWait} ms`);
          await new Promise((r) => setTimeout(r, wait));
        }
        try {
          return await task();
        } finally {
          await redis.eval(RELEASE, 1, k, token).catch(() => undefined); // expires by itself otherwise
        }
      }),
  };
}
