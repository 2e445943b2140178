import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { names } from '@conversa/contracts';
import { redisLiveness } from './liveness.js';
import { GLOBAL_SCOPE, redisPresenceStore } from './presence.js';

// Two connections: two gateways, each with its own client.
const redisA = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const redisB = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(async () => {
  await Promise.all([redisA.quit(), redisB.quit()]);
});

/** Each test gets its own key namespace; a gateway is its liveness key and its presence store. */
function namespace() {
  const n = names(`it-${randomUUID().slice(0, 8)}`);
  const gateway = async (redis: Redis, ttlMs = 60_000) => {
    const id = randomUUID();
    const liveness = redisLiveness(redis, n, id);
    await liveness.announce(ttlMs);
    return { id, liveness, presence: redisPresenceStore(redis, n, id) };
  };
  /** Waits (no fixed sleep) until a gateway's liveness key has expired in Redis. */
  const expired = (id: string) => vi.waitFor(async () => expect(await redisA.exists(n.gatewayAlive(id))).toBe(0), { timeout: 5_000, interval: 20 });
  return { n, gateway, expired };
}

const byScope = (a: { scope: string; user: string }, b: { scope: string; user: string }) => `${a.scope}/${a.user}`.localeCompare(`${b.scope}/${b.user}`);

describe('presence in Redis, liveness per gateway', () => {
  it('keeps a person with two tabs on two gateways online until the last one leaves', async () => {
    const { gateway } = namespace();
    const a = await gateway(redisA);
    const b = await gateway(redisB);
    expect(await a.presence.enter('room', 'ann')).toBe(true);
    expect(await b.presence.enter('room', 'ann')).toBe(false);
    expect(await b.presence.online('room')).toEqual(['ann']);
    expect(await a.presence.leave('room', 'ann')).toBe(false);
    expect(await a.presence.online('room')).toEqual(['ann']);
    expect(await b.presence.leave('room', 'ann')).toBe(true);
    expect(await a.presence.online('room')).toEqual([]);
    // Leaving again (nothing held) reports nothing.
    expect(await b.presence.leave('room', 'ann')).toBe(false);
  });

  it('drops a gateway’s users once its liveness key expires; another gateway’s entries survive; the reaper reports each once', async () => {
    const { n, gateway, expired } = namespace();
    const dying = await gateway(redisA, 300); // then killed: it never refreshes its key
    const live = await gateway(redisB);
    for (const scope of ['room', GLOBAL_SCOPE]) {
      await dying.presence.enter(scope, 'ann');
      await dying.presence.enter(scope, 'cat'); // cat has a second tab on the live gateway
      await live.presence.enter(scope, 'cat');
      await live.presence.enter(scope, 'ben');
    }
    expect((await live.presence.online('room')).sort()).toEqual(['ann', 'ben', 'cat']);
    expect(await live.presence.onlineAmong(GLOBAL_SCOPE, ['ann', 'ben', 'dan'])).toEqual(new Set(['ann', 'ben']));

    await expired(dying.id);
    // Reads ignore a dead gateway's entries before anything reaps them.
    expect((await live.presence.online('room')).sort()).toEqual(['ben', 'cat']);
    expect(await live.presence.onlineAmong(GLOBAL_SCOPE, ['ann', 'ben', 'cat'])).toEqual(new Set(['ben', 'cat']));
    // A user whose only entry is on the dead gateway comes online again on entering (a reconnect).
    expect(await live.presence.enter(GLOBAL_SCOPE, 'ann')).toBe(true);

    expect(await live.liveness.dead()).toEqual([dying.id]);
    const gone = await live.presence.reapGateway(dying.id);
    // Rooms only (the global scope announces nothing), and cat is still online on the live gateway.
    expect(gone.sort(byScope)).toEqual([{ scope: 'room', user: 'ann' }]);
    expect(await live.presence.reapGateway(dying.id)).toEqual([]);
    // Nothing of the dead gateway is left; the live gateway's entries are intact.
    expect(await redisA.exists(n.presenceUsers('room', dying.id), n.presenceUsers(GLOBAL_SCOPE, dying.id), n.gatewayScopes(dying.id))).toBe(0);
    expect(await redisA.smembers(n.presenceGateways('room'))).toEqual([live.id]);
    expect((await live.presence.online(GLOBAL_SCOPE)).sort()).toEqual(['ann', 'ben', 'cat']);
    await live.liveness.forget(dying.id);
    expect(await redisA.smembers(n.gateways)).toEqual([live.id]);
  });

  it('reports a user offline once when the last tab closes on a live gateway before a dead one is reaped', async () => {
    const { gateway, expired } = namespace();
    const dying = await gateway(redisA, 300);
    const live = await gateway(redisB);
    await dying.presence.enter('room', 'ann');
    await live.presence.enter('room', 'ann');
    await expired(dying.id);
    expect(await live.presence.leave('room', 'ann')).toBe(true);
    expect(await live.presence.reapGateway(dying.id)).toEqual([]);
  });

  it('reports a user on two dead gateways once, when the last of them is reaped', async () => {
    const { gateway, expired } = namespace();
    const d1 = await gateway(redisA, 300);
    const d2 = await gateway(redisA, 300);
    const live = await gateway(redisB);
    await d1.presence.enter('room', 'ann');
    await d2.presence.enter('room', 'ann');
    await expired(d1.id);
    await expired(d2.id);
    expect((await live.liveness.dead()).sort()).toEqual([d1.id, d2.id].sort());
    const gone = [...(await live.presence.reapGateway(d1.id)), ...(await live.presence.reapGateway(d2.id))];
    expect(gone).toEqual([{ scope: 'room', user: 'ann' }]);
  });

  it('keeps the entries of a gateway whose key is refreshed; a lapsed gateway writes them again', async () => {
    const { n, gateway, expired } = namespace();
    const a = await gateway(redisA, 400);
    const b = await gateway(redisB);
    await a.presence.enter('room', 'ann');
    expect(await a.liveness.refresh(60_000)).toBe(true);
    expect(await b.liveness.dead()).toEqual([]);
    expect(await b.presence.online('room')).toEqual(['ann']);
    // Its key lapses (a long pause, a Redis outage) and another gateway reaps it meanwhile.
    await redisA.pexpire(n.gatewayAlive(a.id), 1);
    await expired(a.id);
    await b.presence.reapGateway(a.id);
    expect(await b.presence.online('room')).toEqual([]);
    // Its next refresh says so; it sets its key again and restores what it holds.
    expect(await a.liveness.refresh(60_000)).toBe(false);
    await a.presence.restore('room', ['ann']);
    expect(await b.presence.online('room')).toEqual(['ann']);
    expect(await b.liveness.dead()).toEqual([]);
    // A reaper that saw the gateway dead but runs after it came back removes nothing.
    expect(await b.presence.reapGateway(a.id)).toEqual([]);
    expect(await b.presence.online('room')).toEqual(['ann']);
  });

  it('reaps a dead gateway that held thousands of users in batches', async () => {
    const { n, gateway, expired } = namespace();
    const dying = await gateway(redisA, 300);
    const live = await gateway(redisB);
    const users = Array.from({ length: 2_500 }, (_, i) => `u${i}`);
    await dying.presence.restore('room', users);
    await dying.presence.restore(GLOBAL_SCOPE, users);
    expect(await live.presence.onlineAmong('room', ['u0', 'u2499'])).toEqual(new Set(['u0', 'u2499']));
    await expired(dying.id);
    const gone = await live.presence.reapGateway(dying.id);
    expect(gone.length).toBe(2_500);
    expect(await redisA.exists(n.presenceUsers('room', dying.id), n.presenceUsers(GLOBAL_SCOPE, dying.id))).toBe(0);
  });
});
