import type { Redis } from 'ioredis';
import type { Names } from '@conversa/contracts';
import { inChunks } from './chunks.js';

/**
 * Presence in Redis, shared by every gateway. For each scope (a room id, or GLOBAL for "has any
 * connection at all") two sorted sets:
 *   <ns>:presence:<scope>            user → newest expiry of its connections (epoch ms)
 *   <ns>:presence:<scope>:<user>     connection → its expiry
 * Gateways refresh their connections' expiries with heartbeats; a gateway that dies simply
 * stops refreshing, and its users drop out once their expiry passes (reads filter on it, and
 * the reaper reports them offline).
 */
export const GLOBAL_SCOPE = '*';

export interface PresenceStore {
  /** Adds a connection; true when the user was not online in the scope before. */
  enter(scope: string, user: string, conn: string, expiresAt: number): Promise<boolean>;
  /** Removes a connection; true when the user has no live connection left in the scope. */
  leave(scope: string, user: string, conn: string, now: number): Promise<boolean>;
  /** Extends the expiry of live connections. */
  heartbeat(entries: { scope: string; user: string; conn: string }[], expiresAt: number): Promise<void>;
  /** Removes expired users of every scope; returns who went offline where. */
  reap(now: number): Promise<{ scope: string; user: string }[]>;
  /** Users with a live connection in the scope. */
  online(scope: string, now: number): Promise<string[]>;
  /** Which of these users are online in the scope. */
  onlineAmong(scope: string, users: string[], now: number): Promise<Set<string>>;
}

const ENTER = `
local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[5])
if (not was) or tonumber(was) <= tonumber(ARGV[4]) then return 1 end
return 0`;

const LEAVE = `
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #top == 0 then
  local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  if was and tonumber(was) > tonumber(ARGV[3]) then return 1 end
  return 0
end
redis.call('ZADD', KEYS[1], top[2], ARGV[1])
return 0`;

// KEYS[1] = scope set, ARGV[1] = now, ARGV[2] = key prefix of the scope's per-user sets
const REAP = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local gone = {}
for _, user in ipairs(expired) do
  local k = ARGV[2] .. user
  redis.call('ZREMRANGEBYSCORE', k, '-inf', ARGV[1])
  local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
  if #top == 0 then
    redis.call('ZREM', KEYS[1], user)
    redis.call('DEL', k)
    table.insert(gone, user)
  else
    redis.call('ZADD', KEYS[1], top[2], user)
  end
end
return gone`;

type Scripted = Redis & {
  presenceEnter(k1: string, k2: string, k3: string, user: string, conn: string, exp: number, now: number, scope: string): Promise<number>;
  presenceLeave(k1: string, k2: string, user: string, conn: string, now: number): Promise<number>;
  presenceReap(k1: string, now: number, prefix: string): Promise<string[]>;
};

/** The presence keys of one namespace (`names(ns)`). */
export type PresenceKeys = Pick<Names, 'presenceScope' | 'presenceUser' | 'presenceScopes'>;

export function redisPresenceStore(redis: Redis, keys: PresenceKeys): PresenceStore {
  const r = redis as Scripted;
  r.defineCommand('presenceEnter', { numberOfKeys: 3, lua: ENTER });
  r.defineCommand('presenceLeave', { numberOfKeys: 2, lua: LEAVE });
  r.defineCommand('presenceReap', { numberOfKeys: 1, lua: REAP });
  const scopeKey = keys.presenceScope;
  const userKey = keys.presenceUser;
  const scopesKey = keys.presenceScopes;

  return {
    async enter(scope, user, conn, expiresAt) {
      return (await r.presenceEnter(scopeKey(scope), userKey(scope, user), scopesKey, user, conn, expiresAt, Date.now(), scope)) === 1;
    },
    async leave(scope, user, conn, now) {
      return (await r.presenceLeave(scopeKey(scope), userKey(scope, user), user, conn, now)) === 1;
    },
    async heartbeat(entries, expiresAt) {
      await inChunks(entries, async (slice) => {
        const p = r.pipeline();
        for (const e of slice) {
          p.zadd(userKey(e.scope, e.user), 'XX', expiresAt, e.conn);
          p.zadd(scopeKey(e.scope), 'XX', 'GT', expiresAt, e.user);
        }
        await p.exec();
      });
    },
    async reap(now) {
      const scopes = await r.smembers(scopesKey);
      const out: { scope: string; user: string }[] = [];
      for (const scope of scopes) {
        const gone = await r.presenceReap(scopeKey(scope), now, userKey(scope, ""));
        for (const user of gone) out.push({ scope, user });
        if ((await r.zcard(scopeKey(scope))) === 0) await r.srem(scopesKey, scope);
      }
      return out;
    },
    online(scope, now) {
      return r.zrangebyscore(scopeKey(scope), `(${now}`, '+inf');
    },
    async onlineAmong(scope, users, now) {
      if (users.length === 0) return new Set();
      const scores = await r.zmscore(scopeKey(scope), ...users);
      return new Set(users.filter((_, i) => Number(scores[i] ?? 0) > now));
    },
  };
}
