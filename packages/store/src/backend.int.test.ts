/**
 * The document-lock switch against the real server: the store tells FerretDB from MongoDB by
 * `buildInfo`, and takes the locks it was given only when the switch says so.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import type { DocLocks } from './keyed-mutex.js';
import { openStore, type Store } from './store.js';
import type { DocumentLocksMode } from './backend.js';

const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const opened: Store[] = [];

afterEach(async () => {
  for (const s of opened.splice(0)) {
    await s.dropDatabase();
    await s.close();
  }
});

/** Locks that count how often the store asked for one. */
function countingLocks(): DocLocks & { taken: number } {
  const locks = {
    taken: 0,
    run<T>(_key: string, task: () => Promise<T>): Promise<T> {
      locks.taken++;
      return task();
    },
  };
  return locks;
}

async function open(documentLocks?: DocumentLocksMode) {
  const locks = countingLocks();
  const store = await openStore({
    url: MONGO_URL,
    dbName: `it_${randomUUID().slice(0, 8)}`,
    locks,
    ...(documentLocks ? { documentLocks } : {}),
  });
  opened.push(store);
  await store.ensureIndexes();
  const user = `u-${randomUUID().slice(0, 8)}`;
  await store.users.create({
    _id: user,
    username: user,
    displayName: 'A',
    role: 'USER',
    passwordHash: 'x',
    createdAt: new Date(),
    outbox: [],
  });
  await store.users.rename(user, 'B', newEvent('room.joined', user, user, { room: 'r', user }));
  return { store, taken: locks.taken };
}

describe('document locks', () => {
  it('auto: on FerretDB (buildInfo says so), not on MongoDB', async () => {
    const { store, taken } = await open();
    const db = store.connection.db;
    if (!db) throw new Error('not connected');
    const info: Record<string, unknown> = await db.admin().command({ buildInfo: 1 });
    const ferret = typeof info.ferretdbVersion === 'string';
    expect(store.backend).toBe(ferret ? 'ferretdb' : 'mongodb');
    expect(store.documentLocks).toBe(ferret);
    expect(taken).toBe(ferret ? 1 : 0);
  });

  it('on and off override what the server is', async () => {
    const on = await open('on');
    expect(on.store.documentLocks).toBe(true);
    expect(on.taken).toBe(1);
    const off = await open('off');
    expect(off.store.documentLocks).toBe(false);
    expect(off.taken).toBe(0);
  });
});
