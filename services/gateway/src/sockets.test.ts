import { describe, expect, it } from 'vitest';
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
    const sets = new Map<string, Set<string>>();
    const restored: number[] = [];
    const reaped: string[] = [];
    const store: SocketCountStore = {
      acquire: (user, socket, max) => {
        const set = sets.get(user) ?? new Set<string>();
        sets.set(user, set);
        if (set.size >= max) return Promise.resolve(false);
        set.add(socket);
        return Promise.resolve(true);
      },
      release: (user, socket) => {
        sets.get(user)?.delete(socket);
        return Promise.resolve();
      },
      restore: (entries) => {
        restored.push(entries.length);
        for (const e of entries) sets.get(e.user)?.add(e.socket);
        return Promise.resolve();
      },
      reapGateway: (id) => Promise.resolve(void reaped.push(id)),
      count: (user) => Promise.resolve(sets.get(user)?.size ?? 0),
    };
    return { store, restored, reaped };
  }

  it('caps a user, writes its live sockets again on restore and releases them all on stop', async () => {
    const { store, restored, reaped } = memoryStore();
    const quota = new SocketQuota({ store, maxSocketsPerUser: 2 });
    const a = await quota.acquire('ann');
    const b = await quota.acquire('ann');
    expect(b).not.toBeNull();
    expect(await quota.acquire('ann')).toBeNull();
    await quota.release(a!);
    await quota.release(a!); // twice: a no-op
    expect(await store.count('ann')).toBe(1);
    await quota.restore();
    expect(restored).toEqual([1]);
    await quota.reapGateway('dead-gateway');
    expect(reaped).toEqual(['dead-gateway']);
    await quota.stop();
    expect(await store.count('ann')).toBe(0);
    await quota.restore();
    expect(restored).toEqual([1, 0]);
  });
});
