import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import { DuplicateKeyError } from './errors.js';
import type { Store } from './store.js';
import { dropStore, isolatedStore } from './int-fixtures.js';

let store: Store;

beforeEach(async () => {
  store = await isolatedStore();
});

afterEach(() => dropStore(store));

describe('users', () => {
  const user = (id: string, username: string) => {
    const view = { id, username, displayName: username, role: 'USER' as const };
    return {
      _id: id,
      username,
      displayName: username,
      role: 'USER' as const,
      passwordHash: 'x'.repeat(40),
      createdAt: new Date(),
      outbox: [newEvent('user.registered', id, id, { user: view })],
    };
  };

  it('refuses a duplicate username', async () => {
    await store.users.create(user('u1', 'ann'));
    const err: unknown = await store.users.create(user('u2', 'ann')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect(await store.users.findById('u2')).toBeNull();
  });

  it('finds a user by username whatever its case (stored lower-case)', async () => {
    await store.users.create(user('u1', 'ann.lee'));
    expect((await store.users.findByUsername('Ann.LEE'))?._id).toBe('u1');
    expect((await store.users.findByUsername('ann.lee'))?._id).toBe('u1');
    expect(await store.users.findByUsername('bob')).toBeNull();
  });
});
