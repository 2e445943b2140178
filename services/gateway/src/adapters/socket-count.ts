import type { Redis } from 'ioredis';
import type { Names } from '@conversa/contracts';
import type { SocketCountStore } from '../sockets.js';
import { inChunks } from './chunks.js';

/**
 * Sockets per user across gateways, in Redis: one hash per user (`names.userSockets`), socket id
 * → the gateway that holds it, with no expiry per entry. A socket counts while its gateway's
 * liveness key (`names.gatewayAlive`) exists: a killed gateway's sockets stop counting once
 * that key expires, and any live gateway's reaper removes them (it walks the dead gateway's
 * `names.gatewaySocketUsers`), so a user whose sockets all died leaves nothing behind.
 */
export type SocketCountKeys = Pick<Names, 'userSockets' | 'gatewaySocketUsers' | 'gatewayAlive' | 'gateways'>;

// KEYS: [1] the user's hash, [2] this gateway's socket users, [3] the registry.
// ARGV: [1] socket, [2] max, [3] this gateway, [4] prefix of the liveness keys, [5] user
const ACQUIRE = `
local all = redis.call('HGETALL', KEYS[1])
local alive, n = {}, 0
alive[ARGV[3]] = true
for i = 1, #all, 2 do
  local g = all[i + 1]
  if alive[g] == nil then alive[g] = redis.call('EXISTS', ARGV[4] .. g) == 1 end
  if alive[g] then n = n + 1 else redis.call('HDEL', KEYS[1], all[i]) end
end
if n >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[3])
return 1`;

// KEYS: [1] the user's hash, [2] this gateway's socket users. ARGV: [1] socket, [2] this gateway, [3] user
const RELEASE = `
redis.call('HDEL', KEYS[1], ARGV[1])
for _, g in ipairs(redis.call('HVALS', KEYS[1])) do
  if g == ARGV[2] then return 0 end
end
redis.call('SREM', KEYS[2], ARGV[3])
return 1`;

// KEYS: [1] the user's hash. ARGV: [1] prefix of the liveness keys
const COUNT = `
local alive, n = {}, 0
for _, g in ipairs(redis.call('HVALS', KEYS[1])) do
  if alive[g] == nil then alive[g] = redis.call('EXISTS', ARGV[1] .. g) == 1 end
  if alive[g] then n = n + 1 end
end
return n`;

// One batch of a dead gateway's users. KEYS: [1] its liveness key, [2] its socket users.
// ARGV: [1] the dead gateway, [2] prefix of the users' hashes, [3] batch size. Returns 1 while more are left.
const REAP = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for _, u in ipairs(redis.call('SPOP', KEYS[2], tonumber(ARGV[3]))) do
  local k = ARGV[2] .. u
  local all = redis.call('HGETALL', k)
  for i = 1, #all, 2 do
    if all[i + 1] == ARGV[1] then redis.call('HDEL', k, all[i]) end
  end
end
return redis.call('EXISTS', KEYS[2])`;

type Scripted = Redis & {
  socketsAcquire(key: string, users: string, registry: string, socket: string, max: number, gw: string, alive: string, user: string): Promise<number>;
  socketsRelease(key: string, users: string, socket: string, gw: string, user: string): Promise<number>;
  socketsCount(key: string, alive: string): Promise<number>;
  socketsReap(alive: string, users: string, gw: string, prefix: string, batch: number): Promise<number>;
};

/** Users per batch when a dead gateway is reaped: Redis runs one script at a time. */
const REAP_BATCH = 500;

/** The socket slots of gateway `gatewayId` (this process); counts cover every live gateway. */
export function redisSocketCount(redis: Redis, keys: SocketCountKeys, gatewayId: string): SocketCountStore {
  const r = redis as Scripted;
  r.defineCommand('socketsAcquire', { numberOfKeys: 3, lua: ACQUIRE });
  r.defineCommand('socketsRelease', { numberOfKeys: 2, lua: RELEASE });
  r.defineCommand('socketsCount', { numberOfKeys: 1, lua: COUNT });
  r.defineCommand('socketsReap', { numberOfKeys: 2, lua: REAP });
  const alive = keys.gatewayAlive('');
  const ownUsers = keys.gatewaySocketUsers(gatewayId);
  return {
    async acquire(user, socket, max) {
      return (await r.socketsAcquire(keys.userSockets(user), ownUsers, keys.gateways, socket, max, gatewayId, alive, user)) === 1;
    },
    async release(user, socket) {
      await r.socketsRelease(keys.userSockets(user), ownUsers, socket, gatewayId, user);
    },
    async restore(entries) {
      if (entries.length === 0) return;
      await inChunks(entries, async (slice) => {
        const p = r.pipeline();
        for (const e of slice) p.hset(keys.userSockets(e.user), e.socket, gatewayId).sadd(ownUsers, e.user);
        await p.exec();
      });
      await r.sadd(keys.gateways, gatewayId);
    },
    async reapGateway(dead) {
      while ((await r.socketsReap(keys.gatewayAlive(dead), keys.gatewaySocketUsers(dead), dead, keys.userSockets(''), REAP_BATCH)) === 1);
    },
    count(user) {
      return r.socketsCount(keys.userSockets(user), alive);
    },
  };
}
