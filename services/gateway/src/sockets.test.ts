import { describe, expect, it, vi } from 'vitest';
import type { AppError } from '@conversa/contracts';
import { CloseCode } from './ws-protocol.js';
import { SocketQuota, SocketRegistry, type SocketCountStore, type SocketHandle } from './sockets.js';

function fakeSocket() {
  const closed: { code: number; reason: string }[] = [];
  const ended: { id: string; error: AppError }[] = [];
  const live = new Set<string>();
  const handle: SocketHandle = {
    close: (code, reason) => closed.push({ code, reason }),
    end: (id, error) => {
      ended.push({ id, error });
      live.delete(id);
      return Promise.resolve();
    },
    isLive: (id) => live.has(id),
  };
  return { handle, closed, ended, live };
}

describe('SocketRegistry', () => {
  it('caps sockets per user and frees a slot when one closes', () => {
    const reg = new SocketRegistry({ maxSocketsPerUser: 2, maxOperationsPerSocket: 5 });
    const a = reg.open('ann', fakeSocket().handle);
    expect(reg.open('ann', fakeSocket().handle)).not.toBeNull();
    expect(reg.open('ann', fakeSocket().handle)).toBeNull();
    expect(reg.open('ben', fakeSocket().handle)).not.toBeNull();
    reg.close(a!);
    expect(reg.socketsOf('ann')).toBe(1);
    expect(reg.open('ann', fakeSocket().handle)).not.toBeNull();
  });

  it('caps live operations per socket, pruning ones graphql-ws has finished', () => {
    const s = fakeSocket();
    const entry = new SocketRegistry({ maxSocketsPerUser: 1, maxOperationsPerSocket: 2 }).open('ann', s.handle)!;
    s.live.add('1');
    s.live.add('2');
    expect(entry.tryStart('1', 'r')).toBe(true);
    expect(entry.tryStart('2', null)).toBe(true);
    expect(entry.tryStart('3', 'r')).toBe(false);
    s.live.delete('1'); // ended without a hook telling us
    expect(entry.tryStart('3', 'r')).toBe(true);
    entry.finish('2');
    expect(entry.tryStart('4', 'r')).toBe(true);
  });

  it('ends the live operations of a muted room only, FORBIDDEN, on every socket of that user', async () => {
    const reg = new SocketRegistry({ maxSocketsPerUser: 5, maxOperationsPerSocket: 5 });
    const s1 = fakeSocket();
    const s2 = fakeSocket();
    const other = fakeSocket();
    const e1 = reg.open('ann', s1.handle)!;
    const e2 = reg.open('ann', s2.handle)!;
    reg.open('ben', other.handle)!.tryStart('b', 'lobby');
    e1.tryStart('a', 'lobby');
    e1.tryStart('b', 'kitchen');
    e1.tryStart('q', null); // a query: reads no room
    e2.tryStart('c', 'lobby');
    expect(await reg.revoke({ kind: 'access.revoked', user: 'ann', room: 'lobby', reason: 'muted' })).toBe(2);
    expect(s1.ended.map((e) => [e.id, e.error.code])).toEqual([['a', 'FORBIDDEN']]);
    expect(s1.ended[0]!.error.message).toMatch(/muted/);
    expect(s2.ended.map((e) => e.id)).toEqual(['c']);
    expect(other.ended).toEqual([]);
    expect([...e1.operations.keys()]).toEqual(['b', 'q']);
  });

  it('ends every room on a mute everywhere, and closes every socket on a ban', async () => {
    const reg = new SocketRegistry({ maxSocketsPerUser: 5, maxOperationsPerSocket: 5 });
    const s1 = fakeSocket();
    const s2 = fakeSocket();
    const e1 = reg.open('ann', s1.handle)!;
    reg.open('ann', s2.handle);
    e1.tryStart('a', 'lobby');
    e1.tryStart('b', 'kitchen');
    expect(await reg.revoke({ kind: 'access.revoked', user: 'ann', room: null, reason: 'removed' })).toBe(2);
    expect(await reg.revoke({ kind: 'access.revoked', user: 'ann', room: null, reason: 'banned' })).toBe(2);
    expect(s1.closed).toEqual([{ code: CloseCode.Forbidden, reason: 'Forbidden: banned' }]);
    expect(s2.closed).toHaveLength(1);
    expect(await reg.revoke({ kind: 'access.revoked', user: 'nobody', room: null, reason: 'banned' })).toBe(0);
  });
});

describe('SocketQuota', () => {
  /** An in-memory SocketCountStore (the Redis one has its integration test). */
  function memoryStore() {
    const sets = new Map<string, Map<string, number>>();
    const refreshed: number[] = [];
    const store: SocketCountStore = {
      acquire: (user, socket, max, expiresAt, now) => {
        const set = sets.get(user) ?? new Map<string, number>();
        for (const [s, exp] of set) if (exp <= now) set.delete(s);
        sets.set(user, set);
        if (set.size >= max) return Promise.resolve(false);
        set.set(socket, expiresAt);
        return Promise.resolve(true);
      },
      release: (user, socket) => {
        sets.get(user)?.delete(socket);
        return Promise.resolve();
      },
      refresh: (entries, expiresAt) => {
        refreshed.push(entries.length);
        for (const e of entries) if (sets.get(e.user)?.has(e.socket)) sets.get(e.user)!.set(e.socket, expiresAt);
        return Promise.resolve();
      },
      count: (user, now) => Promise.resolve([...(sets.get(user)?.values() ?? [])].filter((exp) => exp > now).length),
    };
    return { store, refreshed };
  }

  it('caps a user, refreshes its live sockets on the heartbeat and releases them all on stop', async () => {
    vi.useFakeTimers();
    try {
      const { store, refreshed } = memoryStore();
      const quota = new SocketQuota({ store, maxSocketsPerUser: 2, ttlMs: 30_000, heartbeatMs: 10_000 });
      const a = await quota.acquire('ann');
      expect(await quota.acquire('ann')).not.toBeNull();
      expect(await quota.acquire('ann')).toBeNull();
      await quota.release(a!);
      await quota.release(a!); // twice: a no-op
      expect(await store.count('ann', Date.now())).toBe(1);
      quota.start();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(refreshed).toEqual([1]);
      await quota.stop();
      expect(await store.count('ann', Date.now())).toBe(0);
      await vi.advanceTimersByTimeAsync(30_000);
      expect(refreshed).toEqual([1]);
    } finally {
      vi.useRealTimers();
    }
  });
});
