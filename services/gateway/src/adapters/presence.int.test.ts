import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { names } from '@conversa/contracts';
import { GLOBAL_SCOPE, redisPresenceStore } from './presence.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.quit());

/** Each test gets its own key namespace. */
const fresh = () => redisPresenceStore(redis, names(`it-${randomUUID().slice(0, 8)}`));

describe('presence in Redis', () => {
  it('keeps a user online while any of their connections lives', async () => {
    const p = fresh();
    const exp = Date.now() + 60_000;
    expect(await p.enter('room', 'ann', 'tab1', exp)).toBe(true);
    expect(await p.enter('room', 'ann', 'tab2', exp)).toBe(false);
    expect(await p.online('room', Date.now())).toEqual(['ann']);
    expect(await p.leave('room', 'ann', 'tab1', Date.now())).toBe(false);
    expect(await p.online('room', Date.now())).toEqual(['ann']);
    expect(await p.leave('room', 'ann', 'tab2', Date.now())).toBe(true);
    expect(await p.online('room', Date.now())).toEqual([]);
  });

  it('drops connections that stop heartbeating (a dead gateway) and reports them once', async () => {
    const p = fresh();
    const now = Date.now();
    await p.enter('room', 'ann', 'dead-gateway-conn', now + 150);
    await p.enter(GLOBAL_SCOPE, 'ann', 'dead-gateway-conn', now + 150);
    await p.enter('room', 'ben', 'live-conn', now + 60_000);
    expect((await p.onlineAmong(GLOBAL_SCOPE, ['ann', 'ben'], now)).has('ann')).toBe(true);
    // Reads filter on expiry: once it passes, ann is offline even before anything reaps.
    expect(await p.online('room', now + 200)).toEqual(['ben']);
    expect((await p.onlineAmong(GLOBAL_SCOPE, ['ann'], now + 200)).has('ann')).toBe(false);
    const gone = await p.reap(now + 200);
    expect(gone.sort((a, b) => a.scope.localeCompare(b.scope))).toEqual([
      { scope: GLOBAL_SCOPE, user: 'ann' },
      { scope: 'room', user: 'ann' },
    ]);
    expect(await p.reap(now + 200)).toEqual([]);
  });

  it('keeps heartbeating connections alive past their first expiry', async () => {
    const p = fresh();
    const now = Date.now();
    await p.enter('room', 'ann', 'c1', now + 100);
    await p.heartbeat([{ scope: 'room', user: 'ann', conn: 'c1' }], now + 60_000);
    expect(await p.reap(now + 1_000)).toEqual([]);
    expect(await p.online('room', now + 1_000)).toEqual(['ann']);
  });

  it('does not revive a connection that left when a late heartbeat arrives', async () => {
    const p = fresh();
    const now = Date.now();
    await p.enter('room', 'ann', 'c1', now + 60_000);
    await p.leave('room', 'ann', 'c1', now);
    await p.heartbeat([{ scope: 'room', user: 'ann', conn: 'c1' }], now + 60_000);
    expect(await p.online('room', now)).toEqual([]);
  });
});
