import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DuplicateKeyError, PartialInsertError } from './errors.js';
import type { MessageDoc } from './models.js';
import { messageId } from './messages.js';
import type { Store } from './store.js';
import { dropStore, isolatedStore, messageDoc, seqs } from './int-fixtures.js';

let store: Store;

beforeEach(async () => {
  store = await isolatedStore();
});

afterEach(() => dropStore(store));

describe('indexes', () => {
  it('ensureIndexes is idempotent and creates the unique message indexes', async () => {
    await store.ensureIndexes(); // second run: no NamespaceExists, no IndexOptionsConflict
    const indexes = (await store.models.Message.listIndexes()) as {
      name: string;
      key: Record<string, number>;
      unique?: boolean;
    }[];
    const byName = new Map(indexes.map((i) => [i.name, i]));
    expect(byName.get('room_seq')).toMatchObject({ key: { room: 1, seq: 1 }, unique: true });
    expect(byName.get('author_clientMsgId')).toMatchObject({
      key: { authorId: 1, clientMsgId: 1 },
      unique: true,
    });

    const users = (await store.models.User.listIndexes()) as {
      key: Record<string, number>;
      unique?: boolean;
    }[];
    expect(users.find((i) => i.key.username === 1)).toMatchObject({ unique: true });
    const audit = (await store.models.Audit.listIndexes()) as { key: Record<string, number> }[];
    expect(audit.map((i) => Object.keys(i.key).join(','))).toEqual(
      expect.arrayContaining(['at,_id', 'room,at,_id', 'actor,at,_id', 'type,at,_id']),
    );
  });

  it('explains a messagePage-style query (index exists; FerretDB 1.x scans anyway)', async () => {
    await store.messages.insert(messageDoc('r-explain', 1));
    const plan: unknown = await store.models.Message.find({ room: 'r-explain', seq: { $lt: 10 } })
      .sort({ seq: -1 })
      .limit(4)
      .explain();
    // Printed once for people comparing servers: real MongoDB shows IXSCAN on room_seq.
    console.log('messagePage explain():', JSON.stringify(plan, null, 2));
    expect(plan).toBeTruthy();
    const names = ((await store.models.Message.listIndexes()) as { name: string }[]).map(
      (i) => i.name,
    );
    expect(names).toContain('room_seq');
  });
});

describe('insertMessage', () => {
  it('refuses a second message with the same (room, seq)', async () => {
    await store.messages.insert(messageDoc('r1', 1));
    const err: unknown = await store.messages
      .insert(messageDoc('r1', 1, { clientMsgId: 'other' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect(await store.messages.lastSeq('r1')).toBe(1);
  });

  it('refuses a second message with the same (authorId, clientMsgId)', async () => {
    await store.messages.insert(messageDoc('r1', 1, { authorId: 'ann', clientMsgId: 'same' }));
    const err: unknown = await store.messages
      .insert(messageDoc('r1', 2, { authorId: 'ann', clientMsgId: 'same' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    // Another author may reuse the client id.
    await store.messages.insert(messageDoc('r1', 2, { authorId: 'bob', clientMsgId: 'same' }));
    expect(await store.messages.lastSeq('r1')).toBe(2);
  });

  it('lets different rooms share a seq', async () => {
    await store.messages.insert(messageDoc('ra', 1));
    await store.messages.insert(messageDoc('rb', 1));
    expect(await store.messages.lastSeq('ra')).toBe(1);
    expect(await store.messages.lastSeq('rb')).toBe(1);
  });
});

describe('history', () => {
  beforeEach(async () => {
    for (let s = 1; s <= 7; s++) await store.messages.insert(messageDoc('h', s));
    await store.messages.insert(messageDoc('other', 1));
  });

  it('lastSeq is 0 for an empty room and the newest seq otherwise', async () => {
    expect(await store.messages.lastSeq('empty')).toBe(0);
    expect(await store.messages.lastSeq('h')).toBe(7);
  });

  it('messagePage without a cursor returns the newest page, ascending', async () => {
    const p = await store.messages.page('h', { limit: 3 });
    expect(seqs(p.messages)).toEqual([5, 6, 7]);
    expect(p.hasMore).toBe(true);
    // Pages leave the outbox out.
    expect(p.messages[0]).not.toHaveProperty('outbox');
    const all = await store.messages.page('h', { limit: 7 });
    expect(seqs(all.messages)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(all.hasMore).toBe(false);
  });

  it('messagePage pages backwards with before, hasMore false at the oldest end', async () => {
    const a = await store.messages.page('h', { before: 5, limit: 3 });
    expect(seqs(a.messages)).toEqual([2, 3, 4]);
    expect(a.hasMore).toBe(true);
    const b = await store.messages.page('h', { before: 2, limit: 3 });
    expect(seqs(b.messages)).toEqual([1]);
    expect(b.hasMore).toBe(false);
    const c = await store.messages.page('h', { before: 4, limit: 3 });
    expect(seqs(c.messages)).toEqual([1, 2, 3]);
    expect(c.hasMore).toBe(false);
  });

  it('messagePage pages forwards with after, hasMore false at the newest end', async () => {
    const a = await store.messages.page('h', { after: 0, limit: 3 });
    expect(seqs(a.messages)).toEqual([1, 2, 3]);
    expect(a.hasMore).toBe(true);
    const b = await store.messages.page('h', { after: 3, limit: 3 });
    expect(seqs(b.messages)).toEqual([4, 5, 6]);
    expect(b.hasMore).toBe(true);
    const c = await store.messages.page('h', { after: 4, limit: 3 });
    expect(seqs(c.messages)).toEqual([5, 6, 7]);
    expect(c.hasMore).toBe(false);
    const d = await store.messages.page('h', { after: 7, limit: 3 });
    expect(d).toEqual({ messages: [], hasMore: false });
  });

  it('messagePage with both bounds returns the oldest page between them', async () => {
    const p = await store.messages.page('h', { after: 1, before: 7, limit: 3 });
    expect(seqs(p.messages)).toEqual([2, 3, 4]);
    expect(p.hasMore).toBe(true);
  });

  it('messagesBetween returns after < seq <= upTo ascending, of that room only', async () => {
    expect(seqs(await store.messages.between('h', 2, 5))).toEqual([3, 4, 5]);
    expect(seqs(await store.messages.between('h', 6, 100))).toEqual([7]);
    expect(await store.messages.between('h', 7, 7)).toEqual([]);
    expect(seqs(await store.messages.between('other', 0, 10))).toEqual([1]);
  });
});

describe('insertMessages (group commit)', () => {
  const posted = (room: string, seq: number, over: Partial<MessageDoc> = {}) => {
    const d = messageDoc(room, seq, over);
    return { ...d, outbox: [], posted: d.outbox[0]! };
  };

  it('stores consecutive messages and their marks in two writes', async () => {
    const creates = vi.spyOn(store.models.Message, 'insertMany');
    const stored = await store.messages.insertBatch([1, 2, 3].map((s) => posted('r1', s)));
    expect(creates).toHaveBeenCalledTimes(1);
    creates.mockRestore();
    expect(stored.map((m) => m._id)).toEqual([1, 2, 3].map((s) => messageId('r1', s)));
    expect(seqs(await store.messages.between('r1', 0, 10))).toEqual([1, 2, 3]);
    expect((await store.outbox.pending(100)).filter((p) => p.marked)).toHaveLength(3);
  });

  it('says how many got in before a taken seq, and stores none after it', async () => {
    await store.messages.insert(posted('r1', 2, { authorId: 'other', clientMsgId: 'taken' }));
    const err = await store.messages
      .insertBatch([1, 2, 3].map((s) => posted('r1', s)))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialInsertError);
    expect((err as PartialInsertError).inserted).toBe(1);
    expect((err as PartialInsertError).cause).toBeInstanceOf(DuplicateKeyError);
    expect((await store.messages.between('r1', 0, 10)).map((m) => [m.seq, m.clientMsgId])).toEqual([
      [1, 'r1-c1'],
      [2, 'taken'],
    ]);
  });
});
