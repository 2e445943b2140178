import type { Redis } from 'ioredis';
import type { SocketCountStore } from '../sockets.js';
import { inChunks } from './chunks.js';

/**
 * Sockets per user across gateways, in Redis: one sorted set per user (`names.userSockets`),
 * socket id → expiry (epoch ms). The key itself expires with its newest entry, so a user whose
 * sockets all died leaves nothing behind.
 */

// KEYS[1] = the user's set; ARGV = socket, max, expiresAt, now
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

type Scripted = Redis & {
  socketsAcquire(key: string, socket: string, max: number, expiresAt: number, now: number): Promise<number>;
};

export function redisSocketCount(redis: Redis, keyOf: (user: string) => string): SocketCountStore {
  const r = redis as Scripted;
  r.defineCommand('socketsAcquire', { numberOfKeys: 1, lua: ACQUIRE });
  return {
    async acquire(user, socket, max, expiresAt, now) {
      return (await r.socketsAcquire(keyOf(user), socket, max, expiresAt, now)) === 1;
    },
    async release(user, socket) {
      await r.zrem(keyOf(user), socket);
    },
    async refresh(entries, expiresAt) {
      const ttl = Math.max(1, expiresAt - Date.now());
      await inChunks(entries, async (slice) => {
        const p = r.pipeline();
        for (const e of slice) {
          // XX: a socket released meanwhile is not brought back.
          p.zadd(keyOf(e.user), 'XX', 'GT', expiresAt, e.socket);
          p.pexpire(keyOf(e.user), ttl, 'GT');
        }
        await p.exec();
      });
    },
    count(user, now) {
      return r.zcount(keyOf(user), `(${now}`, '+inf');
    },
  };
}
