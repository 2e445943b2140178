import { describe, expect, it } from 'vitest';
import type { MuteDoc, RoomDoc, UserDoc } from '@conversa/store';
import { parseStoreChange, ReadCache, type SendReads } from './read-cache.js';

const user = (id: string, displayName = 'Ann') => ({ _id: id, username: id, displayName, role: 'USER', passwordHash: 'x', createdAt: new Date(0), outbox: [], outboxPending: false }) as UserDoc;

/** A source that counts loads and can hold one back until released. */
function source() {
  const db = { users: new Map<string, UserDoc>(), members: new Set<string>(), mutes: new Map<string, MuteDoc[]>() };
  const loads = { n: 0 };
  let gate: Promise<void> | undefined;
  const reads: SendReads = {
    user: async (id) => {
      loads.n++;
      const value = db.users.get(id) ?? null;
      await gate;
      return value;
    },
    room: (id) => {
      loads.n++;
      return Promise.resolve({ _id: id } as RoomDoc);
    },
    isMember: (room, u) => {
      loads.n++;
      return Promise.resolve(db.members.has(`${room}/${u}`));
    },
    mutes: (u, room) => {
      loads.n++;
      return Promise.resolve(db.mutes.get(`${u}/${room}`) ?? []);
    },
  };
  return { db, loads, reads, hold: (p: Promise<void>) => (gate = p), release: () => (gate = undefined) };
}

describe('ReadCache', () => {
  it('serves repeated reads from memory and never caches an absence', async () => {
    const s = source();
    const c = new ReadCache(s.reads, { ttlMs: 60_000 });
    expect(await c.user('u1')).toBeNull();
    s.db.users.set('u1', user('u1'));
    expect(await c.user('u1')).toMatchObject({ _id: 'u1' });
    expect(await c.user('u1')).toMatchObject({ _id: 'u1' });
    expect(await c.isMember('r', 'u1')).toBe(false);
    s.db.members.add('r/u1');
    expect(await c.isMember('r', 'u1')).toBe(true);
    expect(await c.isMember('r', 'u1')).toBe(true);
    expect(s.loads.n).toBe(4);
  });

  it('evicts exactly what a change names', async () => {
    const s = source();
    const c = new ReadCache(s.reads, { ttlMs: 60_000 });
    s.db.users.set('u1', user('u1'));
    s.db.members.add('r/u1');
    await Promise.all([c.user('u1'), c.isMember('r', 'u1'), c.mutes('u1', 'r'), c.mutes('u1', 's'), c.mutes('u2', 'r')]);
    s.db.users.set('u1', user('u1', 'Ann B.'));
    c.evict({ kind: 'user', key: 'u1' });
    expect((await c.user('u1'))?.displayName).toBe('Ann B.');
    s.db.members.delete('r/u1');
    c.evict({ kind: 'membership', key: 'r/u1' });
    expect(await c.isMember('r', 'u1')).toBe(false);
    const before = s.loads.n;
    c.evict({ kind: 'mutes', key: 'u1' });
    await Promise.all([c.mutes('u1', 'r'), c.mutes('u1', 's'), c.mutes('u2', 'r')]);
    expect(s.loads.n - before).toBe(2); // u1's two rooms reloaded, u2's still cached
  });

  it('does not keep a value read while a change was being evicted', async () => {
    const s = source();
    const c = new ReadCache(s.reads, { ttlMs: 60_000 });
    s.db.users.set('u1', user('u1', 'Old'));
    let release!: () => void;
    void s.hold(new Promise<void>((r) => (release = r)));
    const inFlight = c.user('u1'); // reads "Old", then waits
    s.db.users.set('u1', user('u1', 'New'));
    c.evict({ kind: 'user', key: 'u1' });
    release();
    expect((await inFlight)?.displayName).toBe('Old');
    s.release();
    expect((await c.user('u1'))?.displayName).toBe('New');
  });

  it('a room change (slow mode) evicts the room', async () => {
    const s = source();
    const c = new ReadCache(s.reads, { ttlMs: 60_000 });
    await c.room('r');
    await c.room('r');
    c.evict({ kind: 'room', key: 'r' });
    await c.room('r');
    expect(s.loads.n).toBe(2);
  });

  it('clear() drops everything; notices parse or are refused', async () => {
    const s = source();
    const c = new ReadCache(s.reads, { ttlMs: 60_000 });
    await c.room('r');
    c.clear();
    await c.room('r');
    expect(s.loads.n).toBe(2);
    expect(parseStoreChange('{"kind":"membership","key":"r/u1"}')).toEqual({ kind: 'membership', key: 'r/u1' });
    expect(parseStoreChange('{"kind":"room","key":"r"}')).toEqual({ kind: 'room', key: 'r' });
    expect(parseStoreChange('{"kind":"message","key":"r:1"}')).toBeNull();
    expect(parseStoreChange('not json')).toBeNull();
  });
});
