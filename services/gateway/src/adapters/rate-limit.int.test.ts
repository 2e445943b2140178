/**
 * Rate limits over a real Redis, each test in its own key namespace (`it-<uuid8>`).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '@conversa/contracts';
import { redisRateLimits } from './rate-limit.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.quit());

const limits = (overrides: Partial<Parameters<typeof redisRateLimits>[0]['login']> = {}) =>
  redisRateLimits({
    redis,
    prefix: `it-${randomUUID().slice(0, 8)}`,
    limits: {
      send: { limit: 3, windowMs: 60_000 },
      typing: { limit: 1, windowMs: 60_000 },
      subscribe: { limit: 1, windowMs: 60_000 },
      join: { limit: 1, windowMs: 60_000 },
      auth: { limit: 1, windowMs: 60_000 },
    },
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
        prefix,
        limits: { send: { limit: 2, windowMs: 60_000 }, typing: { limit: 1, windowMs: 1 }, subscribe: { limit: 1, windowMs: 1 }, join: { limit: 1, windowMs: 1 }, auth: { limit: 1, windowMs: 1 } },
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
    const { limiter, logins } = redisRateLimits({
      redis: dead,
      prefix: 'it-dead',
      limits: { send: { limit: 1, windowMs: 1_000 }, typing: { limit: 1, windowMs: 1 }, subscribe: { limit: 1, windowMs: 1 }, join: { limit: 1, windowMs: 1 }, auth: { limit: 1, windowMs: 1 } },
      login: { freeFailures: 1, addressFreeFailures: 1, lockoutBaseMs: 1, lockoutMaxMs: 1, failureWindowMs: 1 },
      logger: pino({ level: 'warn' }, { write: (l: string) => warnings.push(l) }),
      timeoutMs: 200,
    });
    void dead.connect().catch(() => undefined);
    expect(await outcome(limiter.hit('send', 'ann'))).toBe('ok');
    expect(await outcome(logins.check('ann', '10.0.0.1'))).toBe('ok');
    expect(warnings.join('')).toMatch(/rate limit not checked/);
    dead.disconnect();
  });
});
