import type { Redis } from 'ioredis';
import type { RateLimitSetting } from '@conversa/config';
import type { Logger } from '@conversa/observability';
import type { Names } from '@conversa/contracts';
import {
  ACTION_WORDS,
  rateLimited,
  roomSendTtlMs,
  type LimitedAction,
  type LoginGuard,
  type RateLimiter,
  type RoomSendLimiter,
  type RoomSendRule,
} from '../rate-limits.js';

/**
 * Rate limits in Redis, shared by every gateway: fixed windows (INCR + PEXPIRE), growing
 * login lockouts and the per-(person, room) send buckets with slow mode, each one atomic Lua
 * script. Keys: `<ns>:rl:<action>:<subject>`, `<ns>:login:<user|addr>:<subject>` and
 * `<ns>:rl:room-send:<room>:<user>`, each expiring by itself.
 *
 * Redis unreachable: the limits fail open after `timeoutMs` (logged), so that sign-in keeps
 * working through a Redis blip; writes need Redis (the command queue) anyway.
 */

// KEYS[1] counter; ARGV[1] window ms. Returns {count, ms left in the window}.
const HIT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

// Now in ms from the Redis clock, so that every gateway agrees on lockout ends.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS[1] username key, KEYS[2] address key. Returns ms until both allow a login (0 = now).
const CHECK = `${NOW}
local wait = 0
for _, k in ipairs(KEYS) do
  local u = tonumber(redis.call('HGET', k, 'until') or '0')
  if u - now > wait then wait = u - now end
end
return wait`;

// KEYS[1..2] as above; ARGV: free failures for KEYS[1], for KEYS[2], base ms, max ms, window ms.
// Each key: failures + 1; past its free ones the lockout is base × 2^(failures − free − 1) ≤ max.
const FAIL = `${NOW}
local base, max, window = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {}
for i, k in ipairs(KEYS) do
  local free = tonumber(ARGV[i])
  local f = redis.call('HINCRBY', k, 'failures', 1)
  local lock = 0
  if f > free then lock = math.min(max, base * 2 ^ math.min(f - free - 1, 40)) end
  if lock > 0 then redis.call('HSET', k, 'until', now + lock) end
  redis.call('PEXPIRE', k, math.max(window, lock))
  out[i] = lock
end
return out`;

// KEYS[1] the (person, room) bucket hash; ARGV: burst, refill per ms, slow mode ms, clientMsgId,
// ttl ms. The same decision as takeRoomSend (rate-limits.ts), on the Redis clock. Returns
// {0} when admitted, {wait ms, 1} for an empty bucket, {wait ms, 2} for slow mode.
const ROOM_SEND = `${NOW}
local burst, rate, slow = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'lastAt', 'cmid')
local tokens, at, lastAt = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
end
if h[4] == ARGV[4] then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
  return {0}
end
if slow > 0 and lastAt ~= nil and lastAt + slow > now then return {lastAt + slow - now, 2} end
if tokens < 1 then return {math.ceil((1 - tokens) / rate), 1} end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', now, 'lastAt', now, 'cmid', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {0}`;

type Scripted = Redis & {
  roomSend(key: string, burst: number, refillPerMs: number, slowModeMs: number, clientMsgId: string, ttlMs: number): Promise<number[]>;
  rateHit(key: string, windowMs: number): Promise<[number, number]>;
  loginCheck(userKey: string, addrKey: string): Promise<number>;
  loginFail(userKey: string, addrKey: string, freeUser: number, freeAddr: number, base: number, max: number, window: number): Promise<number[]>;
};

export interface RedisLimitsOptions {
  redis: Redis;
  /** The namespace's key names (`names(ns)`). */
  keys: Pick<Names, 'rateLimit' | 'roomSendBucket' | 'loginFailuresByUser' | 'loginFailuresByAddress'>;
  limits: Record<LimitedAction, RateLimitSetting>;
  /** Each person's sends into each room (token bucket). */
  roomSend: RoomSendRule;
  login: { freeFailures: number; addressFreeFailures: number; lockoutBaseMs: number; lockoutMaxMs: number; failureWindowMs: number };
  logger: Logger;
  /** How long a limit check may take before it fails open, ms (1 s). */
  timeoutMs?: number;
}

export function redisRateLimits(opts: RedisLimitsOptions): { limiter: RateLimiter; logins: LoginGuard; roomSends: RoomSendLimiter } {
  const r = opts.redis as Scripted;
  r.defineCommand('rateHit', { numberOfKeys: 1, lua: HIT });
  r.defineCommand('loginCheck', { numberOfKeys: 2, lua: CHECK });
  r.defineCommand('loginFail', { numberOfKeys: 2, lua: FAIL });
  r.defineCommand('roomSend', { numberOfKeys: 1, lua: ROOM_SEND });
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const userKey = (u: string) => opts.keys.loginFailuresByUser(u.toLowerCase());
  const addrKey = (a: string) => opts.keys.loginFailuresByAddress(a);

  /** Runs a Redis call; on error or timeout logs and returns undefined (fail open). */
  async function guarded<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        call(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      opts.logger.warn({ err: e instanceof Error ? e.message : String(e), what }, 'rate limit not checked (Redis); allowing');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  const limiter: RateLimiter = {
    async hit(action, subject) {
      const { limit, windowMs } = opts.limits[action];
      const res = await guarded(action, () => r.rateHit(opts.keys.rateLimit(action, subject), windowMs));
      if (res && res[0] > limit) throw rateLimited(ACTION_WORDS[action], res[1]);
    },
  };

  const logins: LoginGuard = {
    async check(username, address) {
      const wait = await guarded('login', () => r.loginCheck(userKey(username), addrKey(address)));
      if (wait && wait > 0) throw rateLimited('too many failed sign-ins', wait);
    },
    async failed(username, address) {
      const l = opts.login;
      await guarded('login', () =>
        r.loginFail(userKey(username), addrKey(address), l.freeFailures, l.addressFreeFailures, l.lockoutBaseMs, l.lockoutMaxMs, l.failureWindowMs),
      );
    },
    async succeeded(username) {
      await guarded('login', () => r.del(userKey(username)));
    },
  };
  const roomSends: RoomSendLimiter = {
    async take(user, room, clientMsgId, slowModeMs) {
      const rule = opts.roomSend;
      const res = await guarded('room send', () =>
        r.roomSend(opts.keys.roomSendBucket(room, user), rule.burst, rule.refillPerMs, slowModeMs, clientMsgId, roomSendTtlMs(rule, slowModeMs)),
      );
      const [waitMs = 0, why] = res ?? [];
      return waitMs > 0 ? { ok: false, reason: why === 2 ? 'slow-mode' : 'burst', waitMs } : null;
    },
  };
  return { limiter, logins, roomSends };
}
