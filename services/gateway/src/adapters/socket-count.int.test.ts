import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { names } from '@conversa/contracts';
import { SocketQuota } from '../sockets.js';
import { redisLiveness } from './liveness.js';
import { redisSocketCount } from './socket-count.js';

// Two connections: two gateways, each with its own client.
const redisA = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const redisB = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(async () => {
  await Promise.all([redisA.quit(), redisB.quit()]);
});

/** Gateways in a namespace of their own: each its liveness key (with `ttlMs`), its store and quota. */
function namespace(max: number) {
  const n = names(`it-${randomUUID().slice(0, 8)}`);
  const gateway = async (redis: Redis, ttlMs = 60_000) => {
    const id = randomUUID();
    const liveness = redisLiveness(redis, n, id);
    await liveness.announce(ttlMs);
    const store = redisSocketCount(redis, n, id);
    return { id, liveness, store, quota: new SocketQuota({ store, maxSocketsPerUser: max }) };
  };
  const expired = (id: string) => vi.waitFor(async () => expect(await redisA.exists(n.gatewayAlive(id))).toBe(0), { timeout: 5_000, interval: 20 });
  return { n, gateway, expired };
}

describe('sockets per user across gateways (Redis, liveness per gateway)', () => {
  it('caps a user across two gateways and frees a slot when a socket closes on either', async () => {
    const { n, gateway } = namespace(3);
    const a = await gateway(redisA);
    const b = await gateway(redisB);
    const s1 = await a.quota.acquire('ann');
    const s2 = await b.quota.acquire('ann');
    const s3 = await a.quota.acquire('ann');
    expect([s1, s2, s3].every((s) => typeof s === 'string')).toBe(true);
    expect(await b.quota.acquire('ann')).toBeNull();
    expect(await a.quota.acquire('ann')).toBeNull();
    // Another user has slots of their own.
    expect(await b.quota.acquire('ben')).not.toBeNull();
    await a.quota.release(s1!);
    expect(await a.store.count('ann')).toBe(2);
    expect(await b.quota.acquire('ann')).not.toBeNull();
    await Promise.all([a.quota.stop(), b.quota.stop()]);
    expect(await a.store.count('ann')).toBe(0);
    // A clean stop leaves nothing behind.
    expect(await redisA.exists(n.userSockets('ann'), n.userSockets('ben'), n.gatewaySocketUsers(a.id), n.gatewaySocketUsers(b.id))).toBe(0);
  });

  it('stops counting a killed gateway’s sockets once its liveness key expires; the live gateway’s stay; the reaper leaves nothing behind', async () => {
    const { n, gateway, expired } = namespace(2);
    const dying = await gateway(redisA, 300); // then killed: it never refreshes or releases
    const live = await gateway(redisB);
    expect(await dying.quota.acquire('ann')).not.toBeNull();
    expect(await dying.quota.acquire('cat')).not.toBeNull();
    expect(await live.quota.acquire('ann')).not.toBeNull();
    expect(await live.quota.acquire('ann')).toBeNull();
    await expired(dying.id);
    expect(await live.store.count('ann')).toBe(1);
    expect(await live.store.count('cat')).toBe(0);
    expect(await live.quota.acquire('ann')).not.toBeNull();
    expect(await live.quota.acquire('ann')).toBeNull();
    // The reaper removes the dead gateway's slots: cat (who never came back) leaves no key.
    expect(await live.liveness.dead()).toEqual([dying.id]);
    await live.store.reapGateway(dying.id);
    expect(await redisA.exists(n.userSockets('cat'), n.gatewaySocketUsers(dying.id))).toBe(0);
    expect(Object.values(await redisA.hgetall(n.userSockets('ann')))).toEqual([live.id, live.id]);
    await live.liveness.forget(dying.id);
    expect(await redisA.smembers(n.gateways)).toEqual([live.id]);
    await live.quota.stop();
  });

  it('writes a lapsed gateway’s sockets again, and a refreshed gateway keeps them', async () => {
    const { n, gateway, expired } = namespace(1);
    const a = await gateway(redisA, 400);
    const b = await gateway(redisB);
    expect(await a.quota.acquire('ann')).not.toBeNull();
    expect(await a.liveness.refresh(60_000)).toBe(true);
    expect(await b.quota.acquire('ann')).toBeNull();
    await redisA.pexpire(n.gatewayAlive(a.id), 1);
    await expired(a.id);
    await b.store.reapGateway(a.id);
    expect(await b.store.count('ann')).toBe(0);
    expect(await a.liveness.refresh(60_000)).toBe(false);
    await a.quota.restore();
    expect(await b.store.count('ann')).toBe(1);
    expect(await b.quota.acquire('ann')).toBeNull();
    await a.quota.stop();
  });
});
