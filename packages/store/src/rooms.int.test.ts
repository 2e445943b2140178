import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import type { Store } from './store.js';
import { dropStore, isolatedStore } from './int-fixtures.js';

let store: Store;

beforeEach(async () => {
  store = await isolatedStore();
});

afterEach(() => dropStore(store));

describe('rooms and memberships', () => {
  it('ensureRoom raced five times creates the room exactly once', async () => {
    const attempt = (i: number) =>
      store.rooms.ensure({
        _id: 'lobby',
        name: `Lobby ${i}`,
        kind: 'PUBLIC',
        pair: [],
        createdAt: new Date(),
        outbox: [
          newEvent('room.created', 'lobby', `u${i}`, {
            room: 'lobby',
            name: 'Lobby',
            kind: 'PUBLIC',
            members: [],
          }),
        ],
      });
    const results = await Promise.all([0, 1, 2, 3, 4].map(attempt));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const winner = results.find((r) => r.created)!.room;
    for (const r of results) expect(r.room._id).toBe('lobby');
    for (const r of results) expect(r.room.name).toBe(winner.name);
    expect(await store.models.Room.countDocuments({ _id: 'lobby' })).toBe(1);
    expect((await store.rooms.findById('lobby'))?.outbox).toHaveLength(1);
  });

  it('setMembership reports changes only and stores each change event in the outbox', async () => {
    const joined = (u: string) => newEvent('room.joined', 'r1', u, { room: 'r1', user: u });
    const left = (u: string) => newEvent('room.left', 'r1', u, { room: 'r1', user: u });

    expect(await store.rooms.setMembership('r1', 'ann', false, left('ann'))).toBe(false); // never joined
    const j1 = joined('ann');
    expect(await store.rooms.setMembership('r1', 'ann', true, j1)).toBe(true);
    expect(await store.rooms.setMembership('r1', 'ann', true, joined('ann'))).toBe(false);
    expect(await store.rooms.setMembership('r1', 'bob', true, joined('bob'))).toBe(true);
    expect(await store.rooms.isMember('r1', 'ann')).toBe(true);
    expect((await store.rooms.memberIds('r1')).sort()).toEqual(['ann', 'bob']);

    const l1 = left('ann');
    expect(await store.rooms.setMembership('r1', 'ann', false, l1)).toBe(true);
    expect(await store.rooms.setMembership('r1', 'ann', false, left('ann'))).toBe(false);
    expect(await store.rooms.isMember('r1', 'ann')).toBe(false);
    expect(await store.rooms.isMember('r1', 'nobody')).toBe(false);
    expect(await store.rooms.memberIds('r1')).toEqual(['bob']);

    const doc = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(doc?.outbox.map((e) => e.id)).toEqual([j1.id, l1.id]);
    expect(doc?.outboxPending).toBe(true);
  });

  it('setMembership raced: concurrent joins of one user change it once', async () => {
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map(() =>
        store.rooms.setMembership(
          'r1',
          'ann',
          true,
          newEvent('room.joined', 'r1', 'ann', { room: 'r1', user: 'ann' }),
        ),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const doc = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(doc?.outbox).toHaveLength(1);
  });
});

describe('first joins and new rooms (one insert, no read)', () => {
  const joined = (u: string) => newEvent('room.joined', 'r1', u, { room: 'r1', user: u });
  const left = (u: string) => newEvent('room.left', 'r1', u, { room: 'r1', user: u });

  it('setMembership likelyNew inserts a first join, and falls back to the read for a member or a rejoin', async () => {
    expect(await store.rooms.setMembership('r1', 'ann', true, joined('ann'), { likelyNew: true })).toBe(true);
    expect(await store.rooms.setMembership('r1', 'ann', true, joined('ann'), { likelyNew: true })).toBe(false); // a member already
    expect(await store.rooms.setMembership('r1', 'ann', false, left('ann'))).toBe(true);
    expect(await store.rooms.isMember('r1', 'ann')).toBe(false);
    expect(await store.rooms.setMembership('r1', 'ann', true, joined('ann'), { likelyNew: true })).toBe(true); // a rejoin
    expect(await store.rooms.isMember('r1', 'ann')).toBe(true);
    const doc = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(doc?.outbox.map((e) => e.type)).toEqual(['room.joined', 'room.left', 'room.joined']);
  });

  it('setMembership likelyNew raced: concurrent first joins change it once', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => store.rooms.setMembership('r1', 'bob', true, joined('bob'), { likelyNew: true })));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('ensure with absent inserts first, and returns the existing room when it was there', async () => {
    const room = (id: string) => ({ _id: id, name: id, kind: 'PUBLIC' as const, pair: [], createdAt: new Date(), outbox: [] });
    expect((await store.rooms.ensure(room('lobby'), { absent: true })).created).toBe(true);
    const again = await store.rooms.ensure({ ...room('lobby'), name: 'other' }, { absent: true });
    expect(again.created).toBe(false);
    expect(again.room.name).toBe('lobby');
  });
});
