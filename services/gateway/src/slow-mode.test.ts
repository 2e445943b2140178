import { describe, expect, it } from 'vitest';
import { SlowModeCache } from './slow-mode.js';

describe('SlowModeCache', () => {
  it('reads a room once while the entry lives, and again once it is forgotten', async () => {
    const stored = new Map([['general', 30]]);
    let reads = 0;
    const cache = new SlowModeCache((room) => {
      reads++;
      return Promise.resolve(stored.get(room) ?? 0);
    }, { ttlMs: 60_000 });
    expect(await Promise.all([cache.get('general'), cache.get('general')])).toEqual([30, 30]);
    expect(await cache.get('general')).toBe(30);
    expect(reads).toBe(1);
    stored.set('general', 0);
    cache.forget('general');
    expect(await cache.get('general')).toBe(0);
    expect(reads).toBe(2);
    expect(await cache.get('nowhere')).toBe(0);
  });

  it('does not keep a value read while the room was forgotten', async () => {
    let release: (n: number) => void = () => undefined;
    const cache = new SlowModeCache(() => new Promise<number>((r) => (release = r)), { ttlMs: 60_000 });
    const stale = cache.get('general');
    cache.forget('general');
    release(10);
    expect(await stale).toBe(10);
    const fresh = cache.get('general'); // not cached: a new read
    release(0);
    expect(await fresh).toBe(0);
  });
});
