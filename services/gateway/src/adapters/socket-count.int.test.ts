import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { names } from '@conversa/contracts';
import { SocketQuota } from '../sockets.js';
import { redisSocketCount } from './socket-count.js';

// Two connections: two gateways, each with its own client.
const redisA = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const redisB = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(async () => {
  await Promise.all([redisA.quit(), redisB.quit()]);
});

/** Two gateways' quotas in a namespace of their own, on a clock the test moves. */
function twoGateways(max: number, ttlMs = 30_000) {
  const n = names(`it-${randomUUID().slice(0, 8)}`);
  const clock = { now: Date.now() };
  const make = (redis: Redis) =>
    new SocketQuota({ store: redisSocketCount(redis, n.userSockets), maxSocketsPerUser: max, ttlMs, heartbeatMs: 60_000, now: () => clock.now });
  return { a: make(redisA), b: make(redisB), store: redisSocketCount(redisA, n.userSockets), key: n.userSockets, clock };
}

describe('sockets per user across gateways (Redis)', () => {
  it('caps a user across two gateways and frees a slot when a socket closes on either', async () => {
    const { a, b, store, clock } = twoGateways(3);
    const s1 = await a.acquire('ann');
    const s2 = await b.acquire('ann');
    const s3 = await a.acquire('ann');
    expect([s1, s2, s3].every((s) => typeof s === 'string')).toBe(true);
    expect(await b.acquire('ann')).toBeNull();
    expect(await a.acquire('ann')).toBeNull();
    // Another user has slots of their own.
    expect(await b.acquire('ben')).not.toBeNull();
    await a.release(s1!);
    expect(await store.count('ann', clock.now)).toBe(2);
    expect(await b.acquire('ann')).not.toBeNull();
    await Promise.all([a.stop(), b.stop()]);
    expect(await store.count('ann', clock.now)).toBe(0);
  });

  it('drops a killed gateway’s sockets once their expiry passes, while a live gateway’s refreshed ones stay', async () => {
    const { a, b, store, key, clock } = twoGateways(2, 1_000);
    expect(await a.acquire('ann')).not.toBeNull(); // gateway A is then killed: it never refreshes or releases
    expect(await b.acquire('ann')).not.toBeNull();
    expect(await b.acquire('ann')).toBeNull();
    clock.now += 600;
    await b.refresh();
    clock.now += 600; // past A's expiry, within B's refreshed one
    expect(await store.count('ann', clock.now)).toBe(1);
    expect(await b.acquire('ann')).not.toBeNull();
    expect(await b.acquire('ann')).toBeNull();
    // The key expires with its newest entry: nothing is left behind for a user who is gone.
    const ttl = await redisA.pttl(key('ann'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_000 + 600);
    await b.stop();
  });

  it('does not bring back a socket released before a late refresh', async () => {
    const { a, store, clock } = twoGateways(1);
    const s = await a.acquire('ann');
    // The release reaches Redis first; the gateway's refresh, already on its way, comes after.
    await store.release('ann', s!);
    await a.refresh();
    expect(await store.count('ann', clock.now)).toBe(0);
    await a.stop();
  });
});
