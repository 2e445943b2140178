/**
 * Outbox marks under racing writers, against the real MongoDB-wire server: whatever the
 * interleaving of two writers of one message id, the message that got in keeps a mark until
 * its event is published (a relay in backlog mode publishes only what marks name).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import { DuplicateKeyError } from './errors.js';
import { messageId, Store } from './store.js';

const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const uuid8 = () => randomUUID().slice(0, 8);

let store: Store;

beforeEach(async () => {
  store = await Store.connect({ url: MONGO_URL, dbName: `it_${uuid8()}` });
  await store.ensureIndexes();
});

afterEach(async () => {
  await store.dropDatabase();
  await store.close();
});

function draft(room: string, seq: number, authorId: string, clientMsgId: string) {
  const author = { id: authorId, username: authorId, displayName: authorId, role: 'USER' as const };
  const createdAt = new Date();
  const message = { id: messageId(room, seq), room, seq, author, body: 'hi', status: 'VISIBLE' as const, clientMsgId, createdAt: createdAt.toISOString(), editedAt: null };
  return { room, seq, authorId, body: 'hi', status: 'VISIBLE' as const, clientMsgId, createdAt, editedAt: null, outbox: [], posted: newEvent('message.posted', room, authorId, { message }) };
}

describe('outbox marks', () => {
  it('a message that won a race for its id keeps a mark, however the writers interleave', async () => {
    const room = `r-${uuid8()}`;
    for (let seq = 1; seq <= 15; seq++) {
      const results = await Promise.allSettled([store.insertMessage(draft(room, seq, 'ann', `a${seq}`)), store.insertMessage(draft(room, seq, 'bob', `b${seq}`))]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DuplicateKeyError);
    }
    const pending = await store.pendingOutbox(100);
    expect(pending.filter((p) => p.marked).map((p) => p.docId).sort()).toEqual(Array.from({ length: 15 }, (_, i) => messageId(room, i + 1)).sort());
  });
});
