import type { Redis } from 'ioredis';
import type { Names } from '@conversa/contracts';
import type { LivenessStore } from '../liveness.js';

/**
 * One key per gateway instance (`names.gatewayAlive`) with a TTL, refreshed by its gateway:
 * O(1) Redis commands per gateway and heartbeat, however many sockets it holds. The registry
 * (`names.gateways`) lists every gateway that may hold presence or socket-count entries, so that
 * the other gateways' reapers find the dead ones.
 */
export type LivenessKeys = Pick<Names, 'gatewayAlive' | 'gateways' | 'gatewayScopes' | 'gatewaySocketUsers'>;

// KEYS[1] = alive key, KEYS[2] = its scopes, KEYS[3] = its socket users, KEYS[4] = registry; ARGV[1] = id
const FORGET = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SREM', KEYS[4], ARGV[1])
return 1`;

type Scripted = Redis & {
  gatewayForget(alive: string, scopes: string, users: string, registry: string, id: string): Promise<number>;
};

export function redisLiveness(redis: Redis, keys: LivenessKeys, gatewayId: string): LivenessStore {
  const r = redis as Scripted;
  r.defineCommand('gatewayForget', { numberOfKeys: 4, lua: FORGET });
  const alive = keys.gatewayAlive(gatewayId);
  return {
    gatewayId,
    async announce(ttlMs) {
      await r.multi().set(alive, '1', 'PX', ttlMs).sadd(keys.gateways, gatewayId).exec();
    },
    async refresh(ttlMs) {
      if ((await r.pexpire(alive, ttlMs)) === 1) return true;
      await this.announce(ttlMs);
      return false;
    },
    async dead() {
      const ids = (await r.smembers(keys.gateways)).filter((g) => g !== gatewayId);
      if (ids.length === 0) return [];
      const exists = await Promise.all(ids.map((g) => r.exists(keys.gatewayAlive(g))));
      return ids.filter((_, i) => exists[i] === 0);
    },
    async forget(id) {
      await r.gatewayForget(keys.gatewayAlive(id), keys.gatewayScopes(id), keys.gatewaySocketUsers(id), keys.gateways, id);
    },
    async retire() {
      await r.del(alive);
    },
  };
}
