/**
 * Rate limits over a real Redis, each test in its own key namespace (`it-<uuid8>`).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError, names } from '@conversa/contracts';
import { redisRateLimits } from './rate-limit.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.quit());

const limits = (overrides: Partial<Parameters<typeof redisRateLimits>[0]['login']> = {}) =>
  redisRateLimits({
    redis,
    keys: names(`it-${randomUUID().slice(0, 8)}`),
    limits: {
      send: { limit: 3, windowMs: 60_000 },
      typing: { limit: 1, windowMs: 60_000 },
      subscribe: { limit: 1, windowMs: 60_000 },
      join: { limit: 1, windowMs: 60_000 },
      auth: { limit: 1, windowMs: 60_000 },
    },
    roomSend: { burst: 3, refillPerMs: 1 / 1_000 },
    login: { freeFailures: 2, addressFreeFailures: 4, lockoutBaseMs: 1_000, lockoutMaxMs: 3_000, failureWindowMs: 60_000, ...overrides },
    logger: pino({ level: 'silent' }),
  });

/** The RATE_LIMITED error's retryAfter, or 'ok' when the call passed. */
async function outcome(call: Promise<void>): Promise<number | 'ok'> {
  try {
    await call;
    return 'ok';
  } catch (e) {
    if (isAppError(e) && e.code === 'RATE_LIMITED') return e.details?.retryAfter as number;
    throw e;
  }
}

describe('redisRateLimits', () => {
  it('allows N per window per subject, then RATE_LIMITED with the seconds left', async () => {
    const { limiter } = limits();
    const hits = [];
    for (let i = 0; i < 4; i++) hits.push(await outcome(limiter.hit('send', 'ann')));
    expect(hits.slice(0, 3)).toEqual(['ok', 'ok', 'ok']);
    expect(hits[3]).toBe(60);
    expect(await outcome(limiter.hit('send', 'ben'))).toBe('ok');
    expect(await outcome(limiter.hit('typing', 'ann'))).toBe('ok');
  });

  it('is shared by every gateway: two limiters on the same keys count together', async () => {
    const prefix = `it-${randomUUID().slice(0, 8)}`;
    const make = () =>
      redisRateLimits({
        redis,
        keys: names(prefix),
        limits: { send: { limit: 2, windowMs: 60_000 }, typing: { limit: 1, windowMs: 1 }, subscribe: { limit: 1, windowMs: 1 }, join: { limit: 1, windowMs: 1 }, auth: { limit: 1, windowMs: 1 } },
        roomSend: { burst: 1, refillPerMs: 1 / 1_000 },
        login: { freeFailures: 1, addressFreeFailures: 1, lockoutBaseMs: 1, lockoutMaxMs: 1, failureWindowMs: 1 },
        logger: pino({ level: 'silent' }),
      }).limiter;
    const [a, b] = [make(), make()];
    expect([await outcome(a.hit('send', 'ann')), await outcome(b.hit('send', 'ann')), await outcome(a.hit('send', 'ann'))]).toEqual(['ok', 'ok', 60]);
  });

  it('locks a username out after its free failures, doubling per failure up to the maximum', async () => {
    const { logins } = limits();
    const fail = () => logins.failed('Ann', '10.0.0.1');
    await fail();
    await fail();
    expect(await outcome(logins.check('ann', '10.0.0.2'))).toBe('ok');
    await fail(); // 3rd: 1 s
    expect(await outcome(logins.check('ann', '10.0.0.2'))).toBe(1);
    await fail(); // 4th: 2 s
    expect(await outcome(logins.check('ann', '10.0.0.2'))).toBe(2);
    await fail(); // 5th: 4 s, capped at 3
    expect(await outcome(logins.check('ann', '10.0.0.2'))).toBe(3);
    // Another name from another address is not affected; a success forgets the name's failures.
    expect(await outcome(logins.check('ben', '10.0.0.2'))).toBe('ok');
    await logins.succeeded('ANN');
    expect(await outcome(logins.check('ann', '10.0.0.2'))).toBe('ok');
  });

  it('locks an address out after its free failures, whatever names it tries', async () => {
    const { logins } = limits();
    for (const name of ['a1', 'a2', 'a3', 'a4']) await logins.failed(name, '10.9.9.9');
    expect(await outcome(logins.check('fresh-name', '10.9.9.9'))).toBe('ok');
    await logins.failed('a5', '10.9.9.9');
    expect(await outcome(logins.check('fresh-name', '10.9.9.9'))).toBe(1);
    expect(await outcome(logins.check('fresh-name', '10.0.0.1'))).toBe('ok');
  });

  it('fails open, logged, when Redis does not answer in time', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: () => 50 });
    dead.on('error', () => undefined);
    const warnings: string[] = [];
    const { limiter, logins, roomSends } = redisRateLimits({
      redis: dead,
      keys: names('it-dead'),
      limits: { send: { limit: 1, windowMs: 1_000 }, typing: { limit: 1, windowMs: 1 }, subscribe: { limit: 1, windowMs: 1 }, join: { limit: 1, windowMs: 1 }, auth: { limit: 1, windowMs: 1 } },
      roomSend: { burst: 1, refillPerMs: 1 / 1_000 },
      login: { freeFailures: 1, addressFreeFailures: 1, lockoutBaseMs: 1, lockoutMaxMs: 1, failureWindowMs: 1 },
      logger: pino({ level: 'warn' }, { write: (l: string) => warnings.push(l) }),
      timeoutMs: 200,
    });
    void dead.connect().catch(() => undefined);
    expect(await outcome(limiter.hit('send', 'ann'))).toBe('ok');
    expect(await outcome(logins.check('ann', '10.0.0.1'))).toBe('ok');
    expect(await roomSends.take('ann', 'general', 'c1', 60_000)).toBeNull();
    expect(warnings.join('')).toMatch(/rate limit not checked/);
    dead.disconnect();
  });
});

describe('redisRateLimits: sends of one person into one room', () => {
  /** A limiter in its own namespace, and the raw key of a (person, room) bucket. */
  const make = (burst: number, refillPerMs: number, prefix = `it-${randomUUID().slice(0, 8)}`) => ({
    prefix,
    roomSends: redisRateLimits({
      redis,
      keys: names(prefix),
      limits: { send: { limit: 1_000, windowMs: 60_000 }, typing: { limit: 1, windowMs: 1 }, subscribe: { limit: 1, windowMs: 1 }, join: { limit: 1, windowMs: 1 }, auth: { limit: 1, windowMs: 1 } },
      roomSend: { burst, refillPerMs },
      login: { freeFailures: 1, addressFreeFailures: 1, lockoutBaseMs: 1, lockoutMaxMs: 1, failureWindowMs: 1 },
      logger: pino({ level: 'silent' }),
    }).roomSends,
  });

  it('lets a burst through, then refuses with the time until the next token, per person and room', async () => {
    const { roomSends } = make(20, 1 / 1_000);
    const verdicts = [];
    for (let i = 0; i < 22; i++) verdicts.push(await roomSends.take('ann', 'general', `c${i}`, 0));
    expect(verdicts.slice(0, 20)).toEqual(Array(20).fill(null));
    for (const v of verdicts.slice(20)) {
      expect(v).toMatchObject({ ok: false, reason: 'burst' });
      expect(v!.waitMs).toBeGreaterThan(0);
      expect(v!.waitMs).toBeLessThanOrEqual(1_000);
    }
    expect(await roomSends.take('ann', 'other', 'c0', 0)).toBeNull();
    expect(await roomSends.take('ben', 'general', 'c0', 0)).toBeNull();
  });

  it('refills: a refused send goes through once its wait is over, and the refusals cost nothing', async () => {
    const { roomSends } = make(2, 1 / 200); // a token every 200 ms
    expect(await roomSends.take('ann', 'general', 'a', 0)).toBeNull();
    expect(await roomSends.take('ann', 'general', 'b', 0)).toBeNull();
    const refused = await roomSends.take('ann', 'general', 'c', 0);
    expect(refused).toMatchObject({ reason: 'burst' });
    for (let i = 0; i < 5; i++) expect(await roomSends.take('ann', 'general', 'c', 0)).not.toBeNull();
    await new Promise((r) => setTimeout(r, refused!.waitMs + 20)); // the wait the limiter asked for
    expect(await roomSends.take('ann', 'general', 'c', 0)).toBeNull();
  });

  it('lets the retry of the last send through without paying (its answer was lost)', async () => {
    const { roomSends } = make(1, 1 / 60_000);
    expect(await roomSends.take('ann', 'general', 'same', 30_000)).toBeNull();
    expect(await roomSends.take('ann', 'general', 'same', 30_000)).toBeNull();
    expect(await roomSends.take('ann', 'general', 'other', 0)).toMatchObject({ reason: 'burst' });
  });

  it('slow mode: refuses a second message within the interval with the time left', async () => {
    const { roomSends } = make(20, 1 / 1_000);
    expect(await roomSends.take('ann', 'slow', 'a', 10_000)).toBeNull();
    const v = await roomSends.take('ann', 'slow', 'b', 10_000);
    expect(v).toMatchObject({ ok: false, reason: 'slow-mode' });
    expect(v!.waitMs).toBeGreaterThan(9_000);
    expect(v!.waitMs).toBeLessThanOrEqual(10_000);
    // Another person is not held back; turning slow mode off (0) lets ann through at once.
    expect(await roomSends.take('ben', 'slow', 'a', 10_000)).toBeNull();
    expect(await roomSends.take('ann', 'slow', 'b', 0)).toBeNull();
  });

  it('is shared by every gateway and keys expire by themselves', async () => {
    const prefix = `it-${randomUUID().slice(0, 8)}`;
    const [a, b] = [make(2, 1 / 1_000, prefix).roomSends, make(2, 1 / 1_000, prefix).roomSends];
    expect([await a.take('ann', 'general', '1', 0), await b.take('ann', 'general', '2', 0)]).toEqual([null, null]);
    expect(await a.take('ann', 'general', '3', 0)).toMatchObject({ reason: 'burst' });
    const ttl = await redis.pttl(`${prefix}:rl:room-send:general:ann`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2_000); // until the bucket is full again
    expect(await redis.keys(`${prefix}:*`)).toEqual([`${prefix}:rl:room-send:general:ann`]);
  });
});
