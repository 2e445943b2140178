import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { LocalLocks, type DocLocks } from '@conversa/store';
import type { RoomSignal, UserSignal } from '@conversa/contracts';
import type { RoomSeqLocks, SignalPublisher } from '../commands.js';

/** A Redis connection that BullMQ can share (no per-request retry limit). */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectionName: name });
}

export function redisPublisher(redis: Redis, channelOf: (room: string) => string, userChannelOf?: (user: string) => string): SignalPublisher {
  return {
    async publish(room, signal: RoomSignal) {
      await redis.publish(channelOf(room), JSON.stringify(signal));
    },
    ...(userChannelOf
      ? {
          async publishToUser(user: string, signal: UserSignal) {
            await redis.publish(userChannelOf(user), JSON.stringify(signal));
          },
        }
      : {}),
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

/** Takes the room's lock if free and returns its newest seq ('' when unknown); nil when taken. */
const ACQUIRE_ROOM = `if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return redis.call('GET', KEYS[2]) or '' end return false`;
/** Releases the lock if still held, first recording a newer seq (kept a day after the last insert). */
const RELEASE_ROOM = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and tonumber(ARGV[2]) > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], ARGV[2], 'PX', 86400000) end
return redis.call('DEL', KEYS[1])`;

/**
 * Room insert locks shared by every chat process (see RoomSeqLocks): SET NX PX plus the
 * room's newest seq in one script, released with the seq the holder wrote. A waiter polls
 * every few milliseconds (an insert holds the lock for one database write).
 */
export function redisSeqLocks(redis: Redis, prefix: string, opts: { ttlMs?: number; waitMs?: number } = {}): RoomSeqLocks {
  const ttl = opts.ttlMs ?? 10_000;
  const maxWait = opts.waitMs ?? 15_000;
  return {
    async run(room, task) {
      const lock = `${prefix}:room-lock:${room}`;
      const seqKey = `${prefix}:room-seq:${room}`;
      const token = randomUUID();
      const deadline = Date.now() + maxWait;
      let got: unknown;
      for (let wait = 1; (got = await redis.eval(ACQUIRE_ROOM, 2, lock, seqKey, token, ttl)) === null; wait = Math.min(8, wait * 2)) {
        if (Date.now() > deadline) throw new Error(`room ${room}: insert lock not acquired within ${maxWait} ms`);
        await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
      }
      const known = typeof got === 'string' && got !== '' ? Number(got) : null;
      let newest: number | null = null;
      try {
        const r = await task(known);
        newest = r.newest;
        return r.value;
      } finally {
        await redis.eval(RELEASE_ROOM, 2, lock, seqKey, token, newest === null ? '' : String(newest)).catch(() => undefined); // expires by itself otherwise
      }
    },
  };
}
