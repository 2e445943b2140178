/**
 * Pins against the real server (FerretDB locally): the message's flag with its event in one
 * write, the room's rows as its index, the order of the two writes under interruptions, and the
 * room's limit under concurrent pins from two "processes" (two connections).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEvent, type DomainEvent } from '@conversa/contracts';
import { LocalLocks, type DocLocks } from './keyed-mutex.js';
import { messageId } from './messages.js';
import type { PendingOutbox } from './connection.js';
import { PIN_TRACE_AGE_MS, type PinOutcome } from './pins.js';
import { openStore, type Store } from './store.js';
import { author, dropStore, isolatedStore, messageDoc, MONGO_URL } from './int-fixtures.js';
import { toMessageView } from './views.js';

const LIMIT = 50;

let store: Store;
let stored: PendingOutbox[];
const others: Store[] = [];

beforeEach(async () => {
  store = await isolatedStore();
  stored = [];
  store.onEventsStored((s) => stored.push(s));
});

afterEach(async () => {
  for (const s of others.splice(0)) await s.close();
  await dropStore(store);
});

/** A room of `n` VISIBLE messages (seq 1..n); returns the room id. */
async function roomWith(n: number): Promise<string> {
  const room = `r-${randomUUID().slice(0, 8)}`;
  await store.messages.insertBatch(
    Array.from({ length: n }, (_, i) => {
      const { outbox, ...doc } = messageDoc(room, i + 1);
      return { ...doc, outbox: [], posted: outbox[0]! };
    }),
  );
  return room;
}

const pinnedEvent = (room: string, seq: number, by: string): DomainEvent =>
  newEvent('message.pinned', room, by, { message: { ...toMessageView({ ...messageDoc(room, seq), _id: messageId(room, seq) }, author('u1')), pinned: true }, by });
const unpinnedEvent = (room: string, seq: number, by: string): DomainEvent =>
  newEvent('message.unpinned', room, by, { message: toMessageView({ ...messageDoc(room, seq), _id: messageId(room, seq) }, author('u1')), by });

const pin = (s: Store, room: string, seq: number, at = new Date(), by = 'admin'): Promise<PinOutcome> =>
  s.pins.pin({ id: messageId(room, seq), room, by, at, limit: LIMIT }, pinnedEvent(room, seq, by));
const unpin = (s: Store, room: string, seq: number, by = 'admin') => s.pins.unpin({ id: messageId(room, seq), room }, unpinnedEvent(room, seq, by));

const rowIds = async (room: string) => (await store.pins.rowsOf(room)).map((r) => r._id).sort();
const pinnedSeqs = async (room: string) => (await store.pins.pinnedMessages(room)).map((m) => m.seq);
const outboxTypes = async (room: string, seq: number) => (await store.models.Message.findById(messageId(room, seq)).lean().exec())?.outbox.map((e) => e.type);

describe('pin and unpin', () => {
  it('pin: the flag and its event in one write, and the row; again: nothing changes, no second event', async () => {
    const room = await roomWith(3);
    const at = new Date(Date.UTC(2026, 1, 1, 12));
    const first = await pin(store, room, 2, at, 'ann');
    expect(first.kind).toBe('pinned');
    const m = first.kind === 'pinned' ? first.message : null;
    expect(m).toMatchObject({ pinnedAt: at, pinnedBy: 'ann', outboxPending: true });
    expect(toMessageView(m!, author('u1')).pinned).toBe(true);
    expect(await outboxTypes(room, 2)).toEqual(['message.pinned']);
    expect(stored.filter((s) => s.events.some((e) => e.type === 'message.pinned')).map((s) => s.docId)).toEqual([messageId(room, 2)]);
    expect(await store.pins.rowsOf(room)).toEqual([{ _id: messageId(room, 2), room, at, by: 'ann' }]);

    const again = await pin(store, room, 2, new Date(), 'bob');
    expect(again).toMatchObject({ kind: 'unchanged', message: { pinnedAt: at, pinnedBy: 'ann' } });
    expect(await outboxTypes(room, 2)).toEqual(['message.pinned']);
    expect(await rowIds(room)).toEqual([messageId(room, 2)]);
  });

  it('unpin: the flag and its event, then the row; again: nothing changes, no second event', async () => {
    const room = await roomWith(2);
    await pin(store, room, 1);
    const out = await unpin(store, room, 1);
    expect(out.changed).toBe(true);
    expect(out.message).toMatchObject({ pinnedAt: null, pinnedBy: null });
    expect(toMessageView(out.message!, author('u1')).pinned).toBe(false);
    expect(await outboxTypes(room, 1)).toEqual(['message.pinned', 'message.unpinned']);
    expect(await rowIds(room)).toEqual([]);

    const again = await unpin(store, room, 1);
    expect(again.changed).toBe(false);
    expect(await outboxTypes(room, 1)).toEqual(['message.pinned', 'message.unpinned']);
    // Never pinned: nothing to unpin either.
    expect((await unpin(store, room, 2)).changed).toBe(false);
    expect(await outboxTypes(room, 2)).toEqual([]);
  });

  it('lists the pinned messages newest pin first, the room\'s only; the room list\'s last message shows its pin', async () => {
    const room = await roomWith(4);
    const other = await roomWith(1);
    const t = (s: number) => new Date(Date.UTC(2026, 1, 1, 12, 0, s));
    await pin(store, room, 3, t(1));
    await pin(store, room, 1, t(3));
    await pin(store, room, 4, t(2));
    await pin(store, other, 1, t(4));
    expect(await pinnedSeqs(room)).toEqual([1, 4, 3]);
    expect((await store.readState.activity(room))?.last).toMatchObject({ seq: 4, pinnedAt: t(2) });
    await unpin(store, room, 4);
    expect(await pinnedSeqs(room)).toEqual([1, 3]);
    expect((await store.readState.activity(room))?.last).toMatchObject({ seq: 4, pinnedAt: null });
  });

  it('pins only a VISIBLE message of that room, also when it changes between the read and the write', async () => {
    const room = await roomWith(3);
    await store.models.Message.updateOne({ _id: messageId(room, 1) }, { $set: { status: 'HIDDEN' } }).exec();
    expect((await pin(store, room, 1)).kind).toBe('refused');
    expect((await store.pins.pin({ id: messageId(room, 2), room: 'elsewhere', by: 'x', at: new Date(), limit: LIMIT }, pinnedEvent(room, 2, 'x'))).kind).toBe('refused');
    expect((await store.pins.pin({ id: messageId(room, 9), room, by: 'x', at: new Date(), limit: LIMIT }, pinnedEvent(room, 9, 'x')))).toEqual({ kind: 'refused', message: null });

    // Deleted after the pin read it, before its flag: refused, and no row left behind.
    const setPinned = store.messages.setPinned.bind(store.messages);
    vi.spyOn(store.messages, 'setPinned').mockImplementationOnce(async (...args) => {
      await store.models.Message.updateOne({ _id: messageId(room, 3) }, { $set: { status: 'DELETED', body: '' } }).exec();
      return setPinned(...args);
    });
    expect((await pin(store, room, 3)).kind).toBe('refused');
    expect(await rowIds(room)).toEqual([]);
    expect(await outboxTypes(room, 3)).toEqual([]);
  });

  it('a pin interrupted between its row and its flag is finished by its retry, dated from the first attempt', async () => {
    const room = await roomWith(1);
    const first = new Date(Date.UTC(2026, 1, 1, 12));
    vi.spyOn(store.messages, 'setPinned').mockRejectedValueOnce(new Error('the process died'));
    await expect(pin(store, room, 1, first)).rejects.toThrow('the process died');
    // The row is there, the message is not pinned: readers do not show it.
    expect(await rowIds(room)).toEqual([messageId(room, 1)]);
    expect(await pinnedSeqs(room)).toEqual([]);

    const retried = await pin(store, room, 1, new Date(first.getTime() + 5_000));
    expect(retried).toMatchObject({ kind: 'pinned', message: { pinnedAt: first } });
    expect(await rowIds(room)).toEqual([messageId(room, 1)]);
    expect(await pinnedSeqs(room)).toEqual([1]);
    expect(await outboxTypes(room, 1)).toEqual(['message.pinned']);
  });

  it('an unpin interrupted between its flag and its row is finished by its retry', async () => {
    const room = await roomWith(1);
    await pin(store, room, 1);
    vi.spyOn(store.models.Pin, 'deleteOne').mockImplementationOnce(() => {
      throw new Error('the process died');
    });
    await expect(unpin(store, room, 1)).rejects.toThrow('the process died');
    expect(await rowIds(room)).toEqual([messageId(room, 1)]);
    expect(await pinnedSeqs(room)).toEqual([]);

    expect((await unpin(store, room, 1)).changed).toBe(false);
    expect(await rowIds(room)).toEqual([]);
    expect(await outboxTypes(room, 1)).toEqual(['message.pinned', 'message.unpinned']);
  });
});

describe('the room limit', () => {
  /** Another "chat process": its own connection to the same database. */
  async function process2(locks: DocLocks): Promise<Store> {
    const s = await openStore({ url: MONGO_URL, dbName: store.connection.name, locks, documentLocks: 'on' });
    others.push(s);
    return s;
  }

  const pinAll = async (s: Store, room: string, seqs: number[]) => {
    for (const seq of seqs) expect((await pin(s, room, seq)).kind).toBe('pinned');
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const pinnedCount = (room: string) => store.models.Message.countDocuments({ room, pinnedAt: { $ne: null } }).exec();

  it(`holds ${LIMIT} pins: the next is refused; two processes pinning at once never get past it`, async () => {
    const room = await roomWith(LIMIT + 6);
    // Both processes take the same locks, as the chat processes do with Redis.
    const shared = new LocalLocks();
    const [a, b] = [await process2(shared), await process2(shared)];
    await pinAll(a, room, range(1, LIMIT - 2));
    // Six at once for the last two places, three from each process.
    const results = await Promise.all(range(LIMIT - 1, LIMIT + 4).map((seq) => pin(seq % 2 ? a : b, room, seq)));
    expect(results.filter((r) => r.kind === 'pinned')).toHaveLength(2);
    expect(results.filter((r) => r.kind === 'full')).toEqual(Array.from({ length: 4 }, () => ({ kind: 'full', limit: LIMIT })));
    expect(await pinnedCount(room)).toBe(LIMIT);
    expect((await store.pins.rowsOf(room)).length).toBe(LIMIT);
    expect((await pin(a, room, LIMIT + 5)).kind).toBe('full');

    // A place freed is a place taken.
    const [oldest] = (await store.pins.pinnedMessages(room)).slice(-1);
    expect((await unpin(b, room, oldest!.seq)).changed).toBe(true);
    expect((await pin(a, room, LIMIT + 5)).kind).toBe('pinned');
    expect(await pinnedCount(room)).toBe(LIMIT);
  });

  it('without a lock across processes (each locks only its own), racing pins still never pass the limit', async () => {
    const room = await roomWith(LIMIT + 6);
    const [a, b] = [await process2(new LocalLocks()), await process2(new LocalLocks())];
    await pinAll(a, room, range(1, LIMIT - 2));
    const results = await Promise.all(range(LIMIT - 1, LIMIT + 4).map((seq) => pin(seq % 2 ? a : b, room, seq)));
    const won = results.filter((r) => r.kind === 'pinned').length;
    expect(won).toBeLessThanOrEqual(2);
    expect(results.filter((r) => r.kind !== 'pinned').every((r) => r.kind === 'full')).toBe(true);
    expect(await pinnedCount(room)).toBe(LIMIT - 2 + won);
    // Every refused pin took its row away again.
    expect((await store.pins.rowsOf(room)).length).toBe(LIMIT - 2 + won);
  });

  it('an old trace of an interrupted pin does not take a place; a young one (maybe in progress) does', async () => {
    const room = await roomWith(LIMIT + 2);
    await pinAll(store, room, range(1, LIMIT - 1));
    const now = Date.now();
    // A row whose message is not pinned: the trace of a pin that never finished.
    await store.models.Pin.create({ _id: messageId(room, LIMIT), room, at: new Date(now - 1_000), by: 'gone' });
    expect((await pin(store, room, LIMIT + 1, new Date(now))).kind).toBe('full');
    expect((await pin(store, room, LIMIT + 1, new Date(now + PIN_TRACE_AGE_MS))).kind).toBe('pinned');
    expect(await rowIds(room)).not.toContain(messageId(room, LIMIT));
    expect(await pinnedCount(room)).toBe(LIMIT);
  });
});
