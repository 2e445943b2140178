/**
 * The Store against a real MongoDB-wire server (FerretDB 1.24 on PostgreSQL in local runs).
 * Each test gets a database of its own (`it_<uuid8>`), dropped afterwards, so files and
 * tests can run side by side.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEvent, type DomainEvent, type MessageView } from '@conversa/contracts';
import { DuplicateKeyError, PartialInsertError } from './errors.js';
import type { AuditDoc, MessageDoc } from './models.js';
import { messageId, ORPHAN_MARK_MS, Store } from './store.js';

const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const uuid8 = () => randomUUID().slice(0, 8);

let store: Store;
let dbName: string;

beforeEach(async () => {
  dbName = `it_${uuid8()}`;
  store = await Store.connect({ url: MONGO_URL, dbName });
  await store.ensureIndexes();
});

afterEach(async () => {
  await store.dropDatabase();
  await store.close();
});

const author = (id: string) => ({
  id,
  username: id,
  displayName: id.toUpperCase(),
  role: 'USER' as const,
});

function messageDoc(
  room: string,
  seq: number,
  over: Partial<MessageDoc> = {},
): Omit<MessageDoc, 'outboxPending'> {
  const authorId = over.authorId ?? 'u1';
  const clientMsgId = over.clientMsgId ?? `${room}-c${seq}`;
  const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, seq));
  const id = over._id ?? randomUUID();
  const view: MessageView = {
    id,
    room,
    seq,
    author: author(authorId),
    body: `m${seq}`,
    status: 'VISIBLE',
    clientMsgId,
    createdAt: createdAt.toISOString(),
    editedAt: null,
  };
  return {
    _id: id,
    room,
    seq,
    authorId,
    body: `m${seq}`,
    status: 'VISIBLE',
    clientMsgId,
    createdAt,
    editedAt: null,
    outbox: [newEvent('message.posted', room, authorId, { message: view }, createdAt)],
    ...over,
  };
}

const seqs = (ms: { seq: number }[]) => ms.map((m) => m.seq);

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
    await store.insertMessage(messageDoc('r-explain', 1));
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
    await store.insertMessage(messageDoc('r1', 1));
    const err: unknown = await store
      .insertMessage(messageDoc('r1', 1, { clientMsgId: 'other' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect(await store.lastSeq('r1')).toBe(1);
  });

  it('refuses a second message with the same (authorId, clientMsgId)', async () => {
    await store.insertMessage(messageDoc('r1', 1, { authorId: 'ann', clientMsgId: 'same' }));
    const err: unknown = await store
      .insertMessage(messageDoc('r1', 2, { authorId: 'ann', clientMsgId: 'same' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    // Another author may reuse the client id.
    await store.insertMessage(messageDoc('r1', 2, { authorId: 'bob', clientMsgId: 'same' }));
    expect(await store.lastSeq('r1')).toBe(2);
  });

  it('lets different rooms share a seq', async () => {
    await store.insertMessage(messageDoc('ra', 1));
    await store.insertMessage(messageDoc('rb', 1));
    expect(await store.lastSeq('ra')).toBe(1);
    expect(await store.lastSeq('rb')).toBe(1);
  });
});

describe('history', () => {
  beforeEach(async () => {
    for (let s = 1; s <= 7; s++) await store.insertMessage(messageDoc('h', s));
    await store.insertMessage(messageDoc('other', 1));
  });

  it('lastSeq is 0 for an empty room and the newest seq otherwise', async () => {
    expect(await store.lastSeq('empty')).toBe(0);
    expect(await store.lastSeq('h')).toBe(7);
  });

  it('messagePage without a cursor returns the newest page, ascending', async () => {
    const p = await store.messagePage('h', { limit: 3 });
    expect(seqs(p.messages)).toEqual([5, 6, 7]);
    expect(p.hasMore).toBe(true);
    // Pages leave the outbox out.
    expect(p.messages[0]).not.toHaveProperty('outbox');
    const all = await store.messagePage('h', { limit: 7 });
    expect(seqs(all.messages)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(all.hasMore).toBe(false);
  });

  it('messagePage pages backwards with before, hasMore false at the oldest end', async () => {
    const a = await store.messagePage('h', { before: 5, limit: 3 });
    expect(seqs(a.messages)).toEqual([2, 3, 4]);
    expect(a.hasMore).toBe(true);
    const b = await store.messagePage('h', { before: 2, limit: 3 });
    expect(seqs(b.messages)).toEqual([1]);
    expect(b.hasMore).toBe(false);
    const c = await store.messagePage('h', { before: 4, limit: 3 });
    expect(seqs(c.messages)).toEqual([1, 2, 3]);
    expect(c.hasMore).toBe(false);
  });

  it('messagePage pages forwards with after, hasMore false at the newest end', async () => {
    const a = await store.messagePage('h', { after: 0, limit: 3 });
    expect(seqs(a.messages)).toEqual([1, 2, 3]);
    expect(a.hasMore).toBe(true);
    const b = await store.messagePage('h', { after: 3, limit: 3 });
    expect(seqs(b.messages)).toEqual([4, 5, 6]);
    expect(b.hasMore).toBe(true);
    const c = await store.messagePage('h', { after: 4, limit: 3 });
    expect(seqs(c.messages)).toEqual([5, 6, 7]);
    expect(c.hasMore).toBe(false);
    const d = await store.messagePage('h', { after: 7, limit: 3 });
    expect(d).toEqual({ messages: [], hasMore: false });
  });

  it('messagePage with both bounds returns the oldest page between them', async () => {
    const p = await store.messagePage('h', { after: 1, before: 7, limit: 3 });
    expect(seqs(p.messages)).toEqual([2, 3, 4]);
    expect(p.hasMore).toBe(true);
  });

  it('messagesBetween returns after < seq <= upTo ascending, of that room only', async () => {
    expect(seqs(await store.messagesBetween('h', 2, 5))).toEqual([3, 4, 5]);
    expect(seqs(await store.messagesBetween('h', 6, 100))).toEqual([7]);
    expect(await store.messagesBetween('h', 7, 7)).toEqual([]);
    expect(seqs(await store.messagesBetween('other', 0, 10))).toEqual([1]);
  });
});

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
    await store.createUser(user('u1', 'ann'));
    const err: unknown = await store.createUser(user('u2', 'ann')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect(await store.findUserById('u2')).toBeNull();
  });

  it('finds a user by username whatever its case (stored lower-case)', async () => {
    await store.createUser(user('u1', 'ann.lee'));
    expect((await store.findUserByUsername('Ann.LEE'))?._id).toBe('u1');
    expect((await store.findUserByUsername('ann.lee'))?._id).toBe('u1');
    expect(await store.findUserByUsername('bob')).toBeNull();
  });
});

describe('rooms and memberships', () => {
  it('ensureRoom raced five times creates the room exactly once', async () => {
    const attempt = (i: number) =>
      store.ensureRoom({
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
    expect((await store.findRoom('lobby'))?.outbox).toHaveLength(1);
  });

  it('setMembership reports changes only and stores each change event in the outbox', async () => {
    const joined = (u: string) => newEvent('room.joined', 'r1', u, { room: 'r1', user: u });
    const left = (u: string) => newEvent('room.left', 'r1', u, { room: 'r1', user: u });

    expect(await store.setMembership('r1', 'ann', false, left('ann'))).toBe(false); // never joined
    const j1 = joined('ann');
    expect(await store.setMembership('r1', 'ann', true, j1)).toBe(true);
    expect(await store.setMembership('r1', 'ann', true, joined('ann'))).toBe(false);
    expect(await store.setMembership('r1', 'bob', true, joined('bob'))).toBe(true);
    expect(await store.isMember('r1', 'ann')).toBe(true);
    expect((await store.memberIds('r1')).sort()).toEqual(['ann', 'bob']);

    const l1 = left('ann');
    expect(await store.setMembership('r1', 'ann', false, l1)).toBe(true);
    expect(await store.setMembership('r1', 'ann', false, left('ann'))).toBe(false);
    expect(await store.isMember('r1', 'ann')).toBe(false);
    expect(await store.isMember('r1', 'nobody')).toBe(false);
    expect(await store.memberIds('r1')).toEqual(['bob']);

    const doc = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(doc?.outbox.map((e) => e.id)).toEqual([j1.id, l1.id]);
    expect(doc?.outboxPending).toBe(true);
  });

  it('setMembership raced: concurrent joins of one user change it once', async () => {
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map(() =>
        store.setMembership(
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

describe('outbox', () => {
  const joined = (room: string, u: string) => newEvent('room.joined', room, u, { room, user: u });

  it('pendingOutbox returns documents with their events', async () => {
    const m = await store.insertMessage(messageDoc('r1', 1));
    const j = joined('r1', 'ann');
    await store.setMembership('r1', 'ann', true, j);
    await store.insertMessage({ ...messageDoc('r1', 2), outbox: [] }); // nothing to publish

    const pending = await store.pendingOutbox(100);
    expect(pending).toHaveLength(2);
    expect(pending).toEqual(
      expect.arrayContaining([
        { collection: 'messages', docId: m._id, events: m.outbox },
        { collection: 'memberships', docId: 'r1/ann', events: [j] },
      ]),
    );
    expect(await store.countPendingOutbox()).toBe(2);
    expect(await store.pendingOutbox(1)).toHaveLength(1);
  });

  it('markPublished empties the outbox AND clears outboxPending (FerretDB ignores conditional $pull)', async () => {
    for (let s = 1; s <= 3; s++) await store.insertMessage(messageDoc('r1', s));
    await store.setMembership('r1', 'ann', true, joined('r1', 'ann'));
    expect(await store.countPendingOutbox()).toBe(4);

    const pending = await store.pendingOutbox(100);
    expect(pending).toHaveLength(4);
    const writes = vi.spyOn(store.models.Message, 'updateOne');
    for (const p of pending) await store.markPublished(p.collection, p.docId, p.events);
    // One write per document when nothing raced: the outbox equals what was published.
    expect(writes).toHaveBeenCalledTimes(3);
    writes.mockRestore();

    expect(await store.countPendingOutbox()).toBe(0);
    expect(await store.pendingOutbox(100)).toEqual([]);
    for (const p of pending.filter((x) => x.collection === 'messages')) {
      const doc = await store.models.Message.findById(p.docId).lean().exec();
      expect(doc?.outbox).toEqual([]);
      expect(doc?.outboxPending).toBe(false);
    }
    const membership = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(membership).toMatchObject({ outbox: [], outboxPending: false });
  });

  it('an event stored between read and markPublished keeps the flag and stays pending', async () => {
    const j = joined('r1', 'ann');
    await store.setMembership('r1', 'ann', true, j);
    const [read] = await store.pendingOutbox(100);
    expect(read?.events).toEqual([j]);

    // Meanwhile the user leaves: a new event lands in the same document's outbox.
    const l = newEvent('room.left', 'r1', 'ann', { room: 'r1', user: 'ann' });
    expect(await store.setMembership('r1', 'ann', false, l)).toBe(true);
    await store.markPublished('memberships', 'r1/ann', read!.events);

    const doc = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(doc?.outbox).toEqual([l]);
    expect(doc?.outboxPending).toBe(true);
    expect(await store.countPendingOutbox()).toBe(1);
    const again = await store.pendingOutbox(100);
    expect(again).toEqual([{ collection: 'memberships', docId: 'r1/ann', events: [l] }]);

    await store.markPublished('memberships', 'r1/ann', again[0]!.events);
    expect(await store.countPendingOutbox()).toBe(0);
  });

  it('a late markPublished of events already cleared leaves a newer event of the same count pending', async () => {
    const j = joined('r1', 'ann');
    await store.setMembership('r1', 'ann', true, j);
    // Another relay published and cleared the join; then the user leaves (one new event).
    await store.markPublished('memberships', 'r1/ann', [j]);
    const l = newEvent('room.left', 'r1', 'ann', { room: 'r1', user: 'ann' });
    expect(await store.setMembership('r1', 'ann', false, l)).toBe(true);
    // This relay's hand-over of the join arrives late: same length, other event.
    await store.markPublished('memberships', 'r1/ann', [j]);
    const doc = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(doc).toMatchObject({ outbox: [l], outboxPending: true });
  });

  it('pendingOutbox clears a flag left on an empty outbox', async () => {
    const m = await store.insertMessage(messageDoc('r1', 1));
    await store.models.Message.updateOne({ _id: m._id }, { $set: { outbox: [] } }).exec();
    expect(await store.countPendingOutbox()).toBe(1);
    expect(await store.pendingOutbox(100)).toEqual([]);
    expect(await store.countPendingOutbox()).toBe(0);
  });
});

describe('outbox marks (posted events without updating the message)', () => {
  const posted = (room: string, seq: number) => {
    const d = messageDoc(room, seq);
    return { ...d, outbox: [], posted: d.outbox[0]! };
  };

  it('a posted message is pending by its mark, and publishing deletes the mark without touching the message', async () => {
    const m = await store.insertMessage(posted('r1', 1));
    expect(await store.models.OutboxMark.countDocuments().exec()).toBe(1);
    expect(await store.countPendingOutbox()).toBe(1);
    const pending = await store.pendingOutbox(100);
    expect(pending).toEqual([{ collection: 'messages', docId: m._id, events: [m.posted], marked: true }]);

    const updates = vi.spyOn(store.models.Message, 'updateOne');
    await store.markAllPublished(pending);
    expect(updates).not.toHaveBeenCalled();
    updates.mockRestore();
    expect(await store.countPendingOutbox()).toBe(0);
    expect(await store.pendingOutbox(100)).toEqual([]);
    // History reads leave the event out.
    expect((await store.messagesBetween('r1', 0, 1))[0]).not.toHaveProperty('posted');
  });

  it('drops an orphan mark (its message never written) only once it is old', async () => {
    await store.models.OutboxMark.create({ _id: messageId('r1', 7), at: new Date() });
    expect(await store.pendingOutbox(100)).toEqual([]);
    expect(await store.models.OutboxMark.countDocuments().exec()).toBe(1);
    await store.pendingOutbox(100, new Date(Date.now() + ORPHAN_MARK_MS + 1_000));
    expect(await store.models.OutboxMark.countDocuments().exec()).toBe(0);
  });

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

  it('a writer that loses the seq never removes a mark the winner may rely on', async () => {
    const first = await store.insertMessage(posted('r1', 1));
    // The winner's mark is still pending: the loser's attempt leaves it alone.
    await expect(store.insertMessage({ ...posted('r1', 1), authorId: 'u2', clientMsgId: 'other' })).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await store.pendingOutbox(100)).toEqual([{ collection: 'messages', docId: first._id, events: [first.posted], marked: true }]);
    // Once published, a late loser writes a mark and is refused. It cannot tell whether the
    // winner relies on that mark (the winner's own mark insert may have met it), so the mark
    // stays while a message has the id: the winner's event is published once more (consumers
    // dedupe by event id), never lost.
    await store.markAllPublished(await store.pendingOutbox(100));
    await expect(store.insertMessage({ ...posted('r1', 1), authorId: 'u3', clientMsgId: 'late' })).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await store.pendingOutbox(100)).toEqual([{ collection: 'messages', docId: first._id, events: [first.posted], marked: true }]);
    // A loser whose seq is free after all (refused by its clientMsgId) removes its mark.
    await store.markAllPublished(await store.pendingOutbox(100));
    await expect(store.insertMessage({ ...posted('r1', 2), authorId: first.authorId, clientMsgId: first.clientMsgId })).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await store.countPendingOutbox()).toBe(0);
  });
});

describe('insertMessages (group commit)', () => {
  const posted = (room: string, seq: number, over: Partial<MessageDoc> = {}) => {
    const d = messageDoc(room, seq, over);
    return { ...d, outbox: [], posted: d.outbox[0]! };
  };

  it('stores consecutive messages and their marks in two writes', async () => {
    const creates = vi.spyOn(store.models.Message, 'insertMany');
    const stored = await store.insertMessages([1, 2, 3].map((s) => posted('r1', s)));
    expect(creates).toHaveBeenCalledTimes(1);
    creates.mockRestore();
    expect(stored.map((m) => m._id)).toEqual([1, 2, 3].map((s) => messageId('r1', s)));
    expect(seqs(await store.messagesBetween('r1', 0, 10))).toEqual([1, 2, 3]);
    expect((await store.pendingOutbox(100)).filter((p) => p.marked)).toHaveLength(3);
  });

  it('says how many got in before a taken seq, and stores none after it', async () => {
    await store.insertMessage(posted('r1', 2, { authorId: 'other', clientMsgId: 'taken' }));
    const err = await store.insertMessages([1, 2, 3].map((s) => posted('r1', s))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialInsertError);
    expect((err as PartialInsertError).inserted).toBe(1);
    expect((err as PartialInsertError).cause).toBeInstanceOf(DuplicateKeyError);
    expect((await store.messagesBetween('r1', 0, 10)).map((m) => [m.seq, m.clientMsgId])).toEqual([
      [1, 'r1-c1'],
      [2, 'taken'],
    ]);
  });
});

describe('audit log', () => {
  const base = Date.UTC(2026, 0, 1);
  const entry = (id: string, minute: number, over: Partial<AuditDoc> = {}): AuditDoc => ({
    _id: id,
    type: 'message.posted',
    version: 1,
    room: 'r1',
    actor: 'ann',
    key: 'r1',
    at: new Date(base + minute * 60_000),
    data: { n: id },
    recordedAt: new Date(),
    ...over,
  });

  it('appendAudit counts only new ids and stores each id once', async () => {
    expect(await store.appendAudit([])).toBe(0);
    expect(await store.appendAudit([entry('a', 1), entry('b', 2), entry('c', 3)])).toBe(3);
    expect(
      await store.appendAudit([entry('b', 2), entry('d', 4), entry('a', 1), entry('e', 5)]),
    ).toBe(2);
    expect(await store.appendAudit([entry('a', 1), entry('e', 5)])).toBe(0);
    expect(await store.countAudit()).toBe(5);
    const ids = (await store.auditPage({ limit: 100 })).map((e) => e._id);
    expect(ids).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('auditPage filters by room, actor, type and time range', async () => {
    const entries: AuditDoc[] = [
      entry('e1', 1, { room: 'r1', actor: 'ann', type: 'message.posted' }),
      entry('e2', 2, { room: 'r2', actor: 'ann', type: 'room.joined' }),
      entry('e3', 3, { room: 'r1', actor: 'bob', type: 'room.joined' }),
      entry('e4', 4, { room: null, actor: 'bob', type: 'user.registered', key: 'bob' }),
      entry('e5', 5, { room: 'r1', actor: null, type: 'message.posted' }),
    ];
    expect(await store.appendAudit(entries)).toBe(5);
    const ids = async (q: Parameters<Store['auditPage']>[0]) =>
      (await store.auditPage(q)).map((e) => e._id);

    expect(await ids({ room: 'r1', limit: 10 })).toEqual(['e1', 'e3', 'e5']);
    expect(await ids({ actor: 'bob', limit: 10 })).toEqual(['e3', 'e4']);
    expect(await ids({ type: 'room.joined', limit: 10 })).toEqual(['e2', 'e3']);
    expect(await ids({ room: 'r1', type: 'message.posted', limit: 10 })).toEqual(['e1', 'e5']);
    const t = (minute: number) => new Date(base + minute * 60_000);
    expect(await ids({ since: t(2), limit: 10 })).toEqual(['e2', 'e3', 'e4', 'e5']);
    expect(await ids({ until: t(3), limit: 10 })).toEqual(['e1', 'e2']); // until is exclusive
    expect(await ids({ since: t(2), until: t(5), limit: 10 })).toEqual(['e2', 'e3', 'e4']);
    expect(await ids({ room: 'r1', since: t(2), limit: 10 })).toEqual(['e3', 'e5']);
    expect(await ids({ limit: 2 })).toEqual(['e1', 'e2']);
    expect(await store.countAudit({ room: 'r1' })).toBe(3);
    expect(await store.countAudit({ type: 'room.joined' })).toBe(2);
  });

  it('the (at, id) cursor returns every entry exactly once across pages, ties included', async () => {
    // 23 entries on 6 distinct instants: several share `at`, so the id breaks ties.
    const entries = Array.from({ length: 23 }, (_, i) =>
      entry(`id-${String((i * 7) % 23).padStart(2, '0')}`, i % 6, {
        room: i % 2 === 0 ? 'even' : 'odd',
      }),
    );
    expect(await store.appendAudit(entries)).toBe(23);
    const expected = [...entries]
      .sort((a, b) => a.at.getTime() - b.at.getTime() || (a._id < b._id ? -1 : 1))
      .map((e) => e._id);

    const collect = async (q: { room?: string }) => {
      const seen: string[] = [];
      let after: { at: Date; id: string } | undefined;
      for (let pages = 0; pages < 50; pages++) {
        const page = await store.auditPage({ ...q, limit: 4, ...(after ? { after } : {}) });
        if (page.length === 0) return seen;
        seen.push(...page.map((e) => e._id));
        const last = page.at(-1)!;
        after = { at: last.at, id: last._id };
      }
      throw new Error('paging did not end');
    };

    expect(await collect({})).toEqual(expected);
    expect(await collect({ room: 'even' })).toEqual(
      expected.filter((id) => entries.find((e) => e._id === id)!.room === 'even'),
    );
  });
});

/**
 * Regression: FerretDB's SQLite handler reads the document, applies the update in memory and
 * writes it back without checking that it is unchanged (FerretDB/FerretDB#3040), so two
 * concurrent updates of one document could lose one of them — filters included. The Store now
 * runs every update of a document under its lock (StoreOptions.locks).
 */
describe('concurrent updates of one outbox document (FerretDB read-modify-write)', () => {
  const joined = (u: string) => newEvent('room.joined', 'r1', u, { room: 'r1', user: u });
  const left = (u: string) => newEvent('room.left', 'r1', u, { room: 'r1', user: u });
  /** Waits for `n` server round trips: shifts one side of a race without a timer. */
  const roundTrips = async (n: number) => {
    for (let i = 0; i < n; i++) await store.ping();
  };
  const pendingIds = async () =>
    new Set((await store.pendingOutbox(1_000)).flatMap((p) => p.events.map((e) => e.id)));

  it('markPublished racing a membership change keeps the new event pending', async () => {
    const lost: string[] = [];
    for (let k = 0; k < 30; k++) {
      const user = `u${k}`;
      await store.setMembership('r1', user, true, joined(user));
      const read = (await store.pendingOutbox(1_000)).find((p) =>
        p.events.some((e) => e.type === 'room.joined' && e.data.user === user),
      );
      expect(read).toBeDefined();
      // The relay marks the join published while the user leaves (another job, maybe another process).
      const l = left(user);
      // setMembership reads before it writes: shift the relay by 0-2 round trips to meet its write.
      const [, changed] = await Promise.all([
        roundTrips(k % 3).then(() =>
          store.markPublished(read!.collection, read!.docId, read!.events),
        ),
        store.setMembership('r1', user, false, l),
      ]);
      expect(changed).toBe(true);
      if (!(await pendingIds()).has(l.id)) lost.push(`${user}: event lost`);
      if (await store.isMember('r1', user)) lost.push(`${user}: the leave itself was undone`);
    }
    expect(lost).toEqual([]);
  }, 30_000);

  it('markPublished racing an edit keeps the edit and its event', async () => {
    const lost: string[] = [];
    for (let k = 1; k <= 30; k++) {
      const m = await store.insertMessage(messageDoc('r-edit', k));
      const view = {
        ...(m.outbox[0] as Extract<DomainEvent, { type: 'message.posted' }>).data.message,
        body: 'edited',
      };
      const edit = newEvent('message.edited', 'r-edit', m.authorId, {
        message: view,
        previousBody: m.body,
      });
      // The relay marks message.posted published while the author fixes a typo.
      const [, updated] = await Promise.all([
        roundTrips(k % 2).then(() => store.markPublished('messages', m._id, m.outbox)),
        store.updateMessage(m._id, ['VISIBLE'], { body: 'edited', editedAt: new Date() }, edit),
      ]);
      expect(updated?.body).toBe('edited');
      if ((await store.findMessage(m._id))?.body !== 'edited')
        lost.push(`seq ${k}: the edit was undone`);
      if (!(await pendingIds()).has(edit.id)) lost.push(`seq ${k}: message.edited lost`);
    }
    expect(lost).toEqual([]);
  }, 30_000);

  it('concurrent re-joins of one user (two chat processes) report exactly one change and store one event', async () => {
    const wrong: string[] = [];
    for (let k = 0; k < 8; k++) {
      const user = `v${k}`;
      await store.setMembership('r1', user, true, joined(user));
      await store.setMembership('r1', user, false, left(user));
      const rejoins = [0, 1, 2, 3, 4].map(() => joined(user));
      const changed = await Promise.all(
        rejoins.map((e) => store.setMembership('r1', user, true, e)),
      );
      const ids = await pendingIds();
      const storedRejoins = rejoins.filter((e) => ids.has(e.id)).length;
      if (changed.filter(Boolean).length !== 1 || storedRejoins !== 1) {
        wrong.push(`${user}: ${changed.filter(Boolean).length} reported, ${storedRejoins} stored`);
      }
    }
    expect(wrong).toEqual([]);
  }, 30_000);
});

describe('auditPage newest first', () => {
  it('pages the log newest first with the same cursor, each entry once', async () => {
    const store = await Store.connect({ url: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017', dbName: `it_${randomUUID().slice(0, 8)}` });
    try {
      await store.ensureIndexes();
      const base = Date.parse('2026-01-01T00:00:00Z');
      const entries = Array.from({ length: 7 }, (_, i) => ({
        _id: `e${i}`,
        type: 'room.joined',
        version: 1,
        room: 'r',
        actor: 'u',
        key: 'r',
        at: new Date(base + Math.floor(i / 2) * 1000),
        data: {},
        recordedAt: new Date(),
      }));
      await store.appendAudit(entries);
      const seen: string[] = [];
      let after: { at: Date; id: string } | undefined;
      for (;;) {
        const page = await store.auditPage({ limit: 3, newestFirst: true, ...(after ? { after } : {}) });
        if (page.length === 0) break;
        seen.push(...page.map((e) => e._id));
        const last = page.at(-1)!;
        after = { at: last.at, id: last._id };
      }
      expect(seen).toEqual(['e6', 'e5', 'e4', 'e3', 'e2', 'e1', 'e0']);
    } finally {
      await store.dropDatabase();
      await store.close();
    }
  });
});

/** A message.posted draft of `authorId` for (room, seq), as the chat worker writes it. */
function draft(room: string, seq: number, authorId: string, clientMsgId: string) {
  const author = { id: authorId, username: authorId, displayName: authorId, role: 'USER' as const };
  const createdAt = new Date();
  const message = { id: messageId(room, seq), room, seq, author, body: 'hi', status: 'VISIBLE' as const, clientMsgId, createdAt: createdAt.toISOString(), editedAt: null };
  return { room, seq, authorId, body: 'hi', status: 'VISIBLE' as const, clientMsgId, createdAt, editedAt: null, outbox: [], posted: newEvent('message.posted', room, authorId, { message }) };
}
