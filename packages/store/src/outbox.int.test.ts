import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { newEvent, type DomainEvent } from '@conversa/contracts';
import { DuplicateKeyError } from './errors.js';
import { messageId } from './messages.js';
import { ORPHAN_MARK_MS } from './outbox.js';
import type { Store } from './store.js';
import { draft, dropStore, isolatedStore, messageDoc } from './int-fixtures.js';

const uuid8 = () => randomUUID().slice(0, 8);

let store: Store;

beforeEach(async () => {
  store = await isolatedStore();
});

afterEach(() => dropStore(store));

describe('outbox', () => {
  const joined = (room: string, u: string) => newEvent('room.joined', room, u, { room, user: u });

  it('pendingOutbox returns documents with their events', async () => {
    const m = await store.messages.insert(messageDoc('r1', 1));
    const j = joined('r1', 'ann');
    await store.rooms.setMembership('r1', 'ann', true, j);
    await store.messages.insert({ ...messageDoc('r1', 2), outbox: [] }); // nothing to publish

    const pending = await store.outbox.pending(100);
    expect(pending).toHaveLength(2);
    expect(pending).toEqual(
      expect.arrayContaining([
        { collection: 'messages', docId: m._id, events: m.outbox },
        { collection: 'memberships', docId: 'r1/ann', events: [j] },
      ]),
    );
    expect(await store.outbox.countPending()).toBe(2);
    expect(await store.outbox.pending(1)).toHaveLength(1);
  });

  it('markPublished empties the outbox AND clears outboxPending (FerretDB ignores conditional $pull)', async () => {
    for (let s = 1; s <= 3; s++) await store.messages.insert(messageDoc('r1', s));
    await store.rooms.setMembership('r1', 'ann', true, joined('r1', 'ann'));
    expect(await store.outbox.countPending()).toBe(4);

    const pending = await store.outbox.pending(100);
    expect(pending).toHaveLength(4);
    const writes = vi.spyOn(store.models.Message, 'updateOne');
    for (const p of pending) await store.outbox.markPublished(p.collection, p.docId, p.events);
    // One write per document when nothing raced: the outbox equals what was published.
    expect(writes).toHaveBeenCalledTimes(3);
    writes.mockRestore();

    expect(await store.outbox.countPending()).toBe(0);
    expect(await store.outbox.pending(100)).toEqual([]);
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
    await store.rooms.setMembership('r1', 'ann', true, j);
    const [read] = await store.outbox.pending(100);
    expect(read?.events).toEqual([j]);

    // Meanwhile the user leaves: a new event lands in the same document's outbox.
    const l = newEvent('room.left', 'r1', 'ann', { room: 'r1', user: 'ann' });
    expect(await store.rooms.setMembership('r1', 'ann', false, l)).toBe(true);
    await store.outbox.markPublished('memberships', 'r1/ann', read!.events);

    const doc = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(doc?.outbox).toEqual([l]);
    expect(doc?.outboxPending).toBe(true);
    expect(await store.outbox.countPending()).toBe(1);
    const again = await store.outbox.pending(100);
    expect(again).toEqual([{ collection: 'memberships', docId: 'r1/ann', events: [l] }]);

    await store.outbox.markPublished('memberships', 'r1/ann', again[0]!.events);
    expect(await store.outbox.countPending()).toBe(0);
  });

  it('a late markPublished of events already cleared leaves a newer event of the same count pending', async () => {
    const j = joined('r1', 'ann');
    await store.rooms.setMembership('r1', 'ann', true, j);
    // Another relay published and cleared the join; then the user leaves (one new event).
    await store.outbox.markPublished('memberships', 'r1/ann', [j]);
    const l = newEvent('room.left', 'r1', 'ann', { room: 'r1', user: 'ann' });
    expect(await store.rooms.setMembership('r1', 'ann', false, l)).toBe(true);
    // This relay's hand-over of the join arrives late: same length, other event.
    await store.outbox.markPublished('memberships', 'r1/ann', [j]);
    const doc = await store.models.Membership.findById('r1/ann').lean().exec();
    expect(doc).toMatchObject({ outbox: [l], outboxPending: true });
  });

  it('pendingOutbox clears a flag left on an empty outbox', async () => {
    const m = await store.messages.insert(messageDoc('r1', 1));
    await store.models.Message.updateOne({ _id: m._id }, { $set: { outbox: [] } }).exec();
    expect(await store.outbox.countPending()).toBe(1);
    expect(await store.outbox.pending(100)).toEqual([]);
    expect(await store.outbox.countPending()).toBe(0);
  });
});

describe('outbox marks (posted events without updating the message)', () => {
  const posted = (room: string, seq: number) => {
    const d = messageDoc(room, seq);
    return { ...d, outbox: [], posted: d.outbox[0]! };
  };

  it('a posted message is pending by its mark, and publishing deletes the mark without touching the message', async () => {
    const m = await store.messages.insert(posted('r1', 1));
    expect(await store.models.OutboxMark.countDocuments().exec()).toBe(1);
    expect(await store.outbox.countPending()).toBe(1);
    const pending = await store.outbox.pending(100);
    expect(pending).toEqual([
      { collection: 'messages', docId: m._id, events: [m.posted], marked: true },
    ]);

    const updates = vi.spyOn(store.models.Message, 'updateOne');
    await store.outbox.markAllPublished(pending);
    expect(updates).not.toHaveBeenCalled();
    updates.mockRestore();
    expect(await store.outbox.countPending()).toBe(0);
    expect(await store.outbox.pending(100)).toEqual([]);
    // History reads leave the event out.
    expect((await store.messages.between('r1', 0, 1))[0]).not.toHaveProperty('posted');
  });

  it('drops an orphan mark (its message never written) only once it is old', async () => {
    await store.models.OutboxMark.create({ _id: messageId('r1', 7), at: new Date() });
    expect(await store.outbox.pending(100)).toEqual([]);
    expect(await store.models.OutboxMark.countDocuments().exec()).toBe(1);
    await store.outbox.pending(100, new Date(Date.now() + ORPHAN_MARK_MS + 1_000));
    expect(await store.models.OutboxMark.countDocuments().exec()).toBe(0);
  });

  it('a message that won a race for its id keeps a mark, however the writers interleave', async () => {
    const room = `r-${uuid8()}`;
    for (let seq = 1; seq <= 15; seq++) {
      const results = await Promise.allSettled([
        store.messages.insert(draft(room, seq, 'ann', `a${seq}`)),
        store.messages.insert(draft(room, seq, 'bob', `b${seq}`)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DuplicateKeyError);
    }
    const pending = await store.outbox.pending(100);
    expect(
      pending
        .filter((p) => p.marked)
        .map((p) => p.docId)
        .sort(),
    ).toEqual(Array.from({ length: 15 }, (_, i) => messageId(room, i + 1)).sort());
  });

  it('a writer that loses the seq never removes a mark the winner may rely on', async () => {
    const first = await store.messages.insert(posted('r1', 1));
    // The winner's mark is still pending: the loser's attempt leaves it alone.
    await expect(
      store.messages.insert({ ...posted('r1', 1), authorId: 'u2', clientMsgId: 'other' }),
    ).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await store.outbox.pending(100)).toEqual([
      { collection: 'messages', docId: first._id, events: [first.posted], marked: true },
    ]);
    // Once published, a late loser writes a mark and is refused. It cannot tell whether the
    // winner relies on that mark (the winner's own mark insert may have met it), so the mark
    // stays while a message has the id: the winner's event is published once more (consumers
    // dedupe by event id), never lost.
    await store.outbox.markAllPublished(await store.outbox.pending(100));
    await expect(
      store.messages.insert({ ...posted('r1', 1), authorId: 'u3', clientMsgId: 'late' }),
    ).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await store.outbox.pending(100)).toEqual([
      { collection: 'messages', docId: first._id, events: [first.posted], marked: true },
    ]);
    // A loser whose seq is free after all (refused by its clientMsgId) removes its mark.
    await store.outbox.markAllPublished(await store.outbox.pending(100));
    await expect(
      store.messages.insert({
        ...posted('r1', 2),
        authorId: first.authorId,
        clientMsgId: first.clientMsgId,
      }),
    ).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await store.outbox.countPending()).toBe(0);
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
    new Set((await store.outbox.pending(1_000)).flatMap((p) => p.events.map((e) => e.id)));

  it('markPublished racing a membership change keeps the new event pending', async () => {
    const lost: string[] = [];
    for (let k = 0; k < 30; k++) {
      const user = `u${k}`;
      await store.rooms.setMembership('r1', user, true, joined(user));
      const read = (await store.outbox.pending(1_000)).find((p) =>
        p.events.some((e) => e.type === 'room.joined' && e.data.user === user),
      );
      expect(read).toBeDefined();
      // The relay marks the join published while the user leaves (another job, maybe another process).
      const l = left(user);
      // setMembership reads before it writes: shift the relay by 0-2 round trips to meet its write.
      const [, changed] = await Promise.all([
        roundTrips(k % 3).then(() =>
          store.outbox.markPublished(read!.collection, read!.docId, read!.events),
        ),
        store.rooms.setMembership('r1', user, false, l),
      ]);
      expect(changed).toBe(true);
      if (!(await pendingIds()).has(l.id)) lost.push(`${user}: event lost`);
      if (await store.rooms.isMember('r1', user)) lost.push(`${user}: the leave itself was undone`);
    }
    expect(lost).toEqual([]);
  }, 30_000);

  it('markPublished racing an edit keeps the edit and its event', async () => {
    const lost: string[] = [];
    for (let k = 1; k <= 30; k++) {
      const m = await store.messages.insert(messageDoc('r-edit', k));
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
        roundTrips(k % 2).then(() => store.outbox.markPublished('messages', m._id, m.outbox)),
        store.messages.update(m._id, ['VISIBLE'], { body: 'edited', editedAt: new Date() }, edit),
      ]);
      expect(updated?.body).toBe('edited');
      if ((await store.messages.findById(m._id))?.body !== 'edited')
        lost.push(`seq ${k}: the edit was undone`);
      if (!(await pendingIds()).has(edit.id)) lost.push(`seq ${k}: message.edited lost`);
    }
    expect(lost).toEqual([]);
  }, 30_000);

  it('concurrent re-joins of one user (two chat processes) report exactly one change and store one event', async () => {
    const wrong: string[] = [];
    for (let k = 0; k < 8; k++) {
      const user = `v${k}`;
      await store.rooms.setMembership('r1', user, true, joined(user));
      await store.rooms.setMembership('r1', user, false, left(user));
      const rejoins = [0, 1, 2, 3, 4].map(() => joined(user));
      const changed = await Promise.all(
        rejoins.map((e) => store.rooms.setMembership('r1', user, true, e)),
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
