import type { Redis } from 'ioredis';
import type { Names } from '@conversa/contracts';
import { inChunks } from './chunks.js';

/**
 * Presence in Redis, shared by every gateway. For each scope (a room id, or GLOBAL for "has any
 * connection at all"):
 *   <ns>:presence-gateways:<scope>     the gateways that hold users in the scope
 *   <ns>:presence:<scope>@<gateway>    the users that gateway holds there
 * A user's connections are counted by their gateway, in memory: Redis sees one member per user,
 * gateway and scope, and no expiry per entry. Each gateway keeps one liveness key
 * (`names.gatewayAlive`, adapters/liveness.ts); reads ignore the entries of a gateway whose key
 * is gone, and the reaper of any live gateway removes them and reports who went offline.
 */
export const GLOBAL_SCOPE = '*';

export interface PresenceStore {
  /** This gateway now holds the user in the scope; true when no live gateway held them before. */
  enter(scope: string, user: string): Promise<boolean>;
  /** This gateway no longer holds the user; true when no live gateway holds them any more. */
  leave(scope: string, user: string): Promise<boolean>;
  /** Writes these users of this gateway again (its liveness had lapsed; they may be gone). */
  restore(scope: string, users: readonly string[]): Promise<void>;
  /** Removes every entry of a dead gateway; returns who went offline where (once). */
  reapGateway(gatewayId: string): Promise<{ scope: string; user: string }[]>;
  /** Users a live gateway holds in the scope. */
  online(scope: string): Promise<string[]>;
  /** Which of these users a live gateway holds in the scope. */
  onlineAmong(scope: string, users: string[]): Promise<Set<string>>;
}

// Common ARGV: [1] user, [2] this gateway, [3] scope, [4] prefix of the liveness keys,
// [5] prefix of the scope's per-gateway user sets (both end where the gateway id goes).

// KEYS: [1] this gateway's users in the scope, [2] the scope's gateways, [3] this gateway's scopes, [4] the registry
const ENTER = `
local was = 0
for _, g in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('SISMEMBER', ARGV[5] .. g, ARGV[1]) == 1 and redis.call('EXISTS', ARGV[4] .. g) == 1 then
    was = 1
    break
  end
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[2])
return 1 - was`;

// KEYS: [1] this gateway's users in the scope, [2] the scope's gateways, [3] this gateway's scopes
const LEAVE = `
local removed = redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('SREM', KEYS[3], ARGV[3])
end
local dead = {}
for _, g in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('SISMEMBER', ARGV[5] .. g, ARGV[1]) == 1 then
    if redis.call('EXISTS', ARGV[4] .. g) == 1 then return 0 end
    table.insert(dead, g)
  end
end
-- Offline now: forget the user on dead gateways too, so that their reaper does not report it again.
for _, g in ipairs(dead) do redis.call('SREM', ARGV[5] .. g, ARGV[1]) end
if removed == 0 and #dead == 0 then return 0 end
return 1`;

// One batch of a dead gateway's users in one scope. KEYS: [1] its liveness key, [2] its users in
// the scope, [3] the scope's gateways, [4] its scopes. ARGV: [1] the dead gateway, [2] scope,
// [3] prefix of the scope's user sets, [4] batch size, [5] '1' to report who went offline.
// A user also held by another gateway, live or not yet reaped, is not reported: the last one
// to go reports it, once. Returns {more to do (0/1), offline users}.
const REAP = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, {}} end
local users = redis.call('SPOP', KEYS[2], tonumber(ARGV[4]))
local gone = {}
if ARGV[5] == '1' and #users > 0 then
  local others = {}
  for _, g in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if g ~= ARGV[1] then table.insert(others, ARGV[3] .. g) end
  end
  for _, u in ipairs(users) do
    local held = false
    for _, k in ipairs(others) do
      if redis.call('SISMEMBER', k, u) == 1 then
        held = true
        break
      end
    end
    if not held then table.insert(gone, u) end
  end
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[2])
  return {0, gone}
end
return {1, gone}`;

// KEYS: [1] the scope's gateways. ARGV: [1] liveness prefix, [2] user-set prefix
const ONLINE = `
local seen, out = {}, {}
for _, g in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. g) == 1 then
    for _, u in ipairs(redis.call('SMEMBERS', ARGV[2] .. g)) do
      if not seen[u] then
        seen[u] = true
        table.insert(out, u)
      end
    end
  end
end
return out`;

// KEYS: [1] the scope's gateways. ARGV: [1] liveness prefix, [2] user-set prefix, [3..] users
const ONLINE_AMONG = `
local sets = {}
for _, g in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. g) == 1 then table.insert(sets, ARGV[2] .. g) end
end
local out = {}
for i = 3, #ARGV do
  for _, k in ipairs(sets) do
    if redis.call('SISMEMBER', k, ARGV[i]) == 1 then
      table.insert(out, ARGV[i])
      break
    end
  end
end
return out`;

type Scripted = Redis & {
  presenceEnter(k1: string, k2: string, k3: string, k4: string, user: string, gw: string, scope: string, alive: string, users: string): Promise<number>;
  presenceLeave(k1: string, k2: string, k3: string, user: string, gw: string, scope: string, alive: string, users: string): Promise<number>;
  presenceReap(k1: string, k2: string, k3: string, k4: string, gw: string, scope: string, users: string, batch: number, report: string): Promise<[number, string[]]>;
  presenceOnline(k1: string, alive: string, users: string): Promise<string[]>;
  presenceOnlineAmong(k1: string, alive: string, prefix: string, ...users: string[]): Promise<string[]>;
};

/** The presence keys of one namespace (`names(ns)`). */
export type PresenceKeys = Pick<Names, 'presenceGateways' | 'presenceUsers' | 'gatewayScopes' | 'gatewayAlive' | 'gateways'>;

/** Users per batch when a dead gateway is reaped: Redis runs one script at a time. */
const REAP_BATCH = 1_000;

/** Presence entries of gateway `gatewayId` (this process) in Redis; reads cover every live gateway. */
export function redisPresenceStore(redis: Redis, keys: PresenceKeys, gatewayId: string): PresenceStore {
  const r = redis as Scripted;
  r.defineCommand('presenceEnter', { numberOfKeys: 4, lua: ENTER });
  r.defineCommand('presenceLeave', { numberOfKeys: 3, lua: LEAVE });
  r.defineCommand('presenceReap', { numberOfKeys: 4, lua: REAP });
  r.defineCommand('presenceOnline', { numberOfKeys: 1, lua: ONLINE });
  r.defineCommand('presenceOnlineAmong', { numberOfKeys: 1, lua: ONLINE_AMONG });
  const alive = keys.gatewayAlive('');
  const own = (scope: string) => keys.presenceUsers(scope, gatewayId);
  const usersPrefix = (scope: string) => keys.presenceUsers(scope, '');
  const ownScopes = keys.gatewayScopes(gatewayId);

  return {
    async enter(scope, user) {
      const added = await r.presenceEnter(own(scope), keys.presenceGateways(scope), ownScopes, keys.gateways, user, gatewayId, scope, alive, usersPrefix(scope));
      return added === 1;
    },
    async leave(scope, user) {
      return (await r.presenceLeave(own(scope), keys.presenceGateways(scope), ownScopes, user, gatewayId, scope, alive, usersPrefix(scope))) === 1;
    },
    async restore(scope, users) {
      if (users.length === 0) return;
      await inChunks(users, (slice) => r.sadd(own(scope), ...slice));
      await r.multi().sadd(keys.presenceGateways(scope), gatewayId).sadd(ownScopes, scope).sadd(keys.gateways, gatewayId).exec();
    },
    async reapGateway(dead) {
      const out: { scope: string; user: string }[] = [];
      const deadAlive = keys.gatewayAlive(dead);
      const deadScopes = keys.gatewayScopes(dead);
      for (const scope of await r.smembers(deadScopes)) {
        const report = scope === GLOBAL_SCOPE ? '0' : '1';
        for (;;) {
          const [more, gone] = await r.presenceReap(deadAlive, keys.presenceUsers(scope, dead), keys.presenceGateways(scope), deadScopes, dead, scope, usersPrefix(scope), REAP_BATCH, report);
          for (const user of gone) out.push({ scope, user });
          if (more === 0) break;
        }
      }
      return out;
    },
    online(scope) {
      return r.presenceOnline(keys.presenceGateways(scope), alive, usersPrefix(scope));
    },
    async onlineAmong(scope, users) {
      if (users.length === 0) return new Set();
      return new Set(await r.presenceOnlineAmong(keys.presenceGateways(scope), alive, usersPrefix(scope), ...users));
    },
  };
}
