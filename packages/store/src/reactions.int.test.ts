import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import { messageId } from './messages.js';
import type { ReactionSummary } from './models.js';
import { summarize, type ReactionOp } from './reactions.js';
import { openStore, type Store } from './store.js';
import { LocalLocks } from './keyed-mutex.js';
import { MONGO_URL, draft, dropStore, isolatedStore } from './int-fixtures.js';

let store: Store;
const room = () => `r-${randomUUID().slice(0, 8)}`;
const reacted = (r: string, m: string, emoji: string, user: string) => newEvent('message.reacted', r, user, { room: r, message: m, emoji, user });

beforeEach(async () => {
  store = await isolatedStore();
});

afterEach(() => dropStore(store));

const unreacted = (r: string, m: string, emoji: string, user: string) => newEvent('message.unreacted', r, user, { room: r, message: m, emoji, user });
const add = (r: string, m: string, emoji: string, user: string): ReactionOp => ({ kind: 'add', emoji, user, room: r, event: reacted(r, m, emoji, user) });
const remove = (r: string, m: string, emoji: string, user: string): ReactionOp => ({ kind: 'remove', emoji, user, event: unreacted(r, m, emoji, user) });
const shown = (reactions: ReactionSummary[] | undefined) => (reactions ?? []).map(({ emoji, count, users }) => ({ emoji, count, users }));
const OPTS = { max: 20, now: () => new Date() };

describe('reactions and thread summaries', () => {
  it('50 people reacting at once through two connections, each twice, count 50; the summary equals a recount', async () => {
    const r = room();
    await store.messages.insert(draft(r, 1, 'u0', 'hot'));
    const m = messageId(r, 1);
    // Two connections to the same database, as two chat processes have, sharing their locks
    // (chat passes Redis locks: services/chat/src/adapters/redis.ts).
    const locks = new LocalLocks();
    const one = await openStore({ url: MONGO_URL, dbName: store.connection.name, locks });
    const other = await openStore({ url: MONGO_URL, dbName: store.connection.name, locks });
    try {
      const stores = [one, other];
      // Single ops and batches of five, interleaved across the two connections.
      const results = await Promise.all([
        ...Array.from({ length: 50 }, (_, i) => stores[i % 2]!.reactions.apply(m, [add(r, m, '👍', `u${i}`)], OPTS).then((x) => x.outcomes)),
        ...Array.from({ length: 10 }, (_, b) => stores[b % 2]!.reactions.apply(m, Array.from({ length: 5 }, (_, i) => add(r, m, '👍', `u${b * 5 + i}`)), OPTS).then((x) => x.outcomes)),
      ]);
      expect(results.flat().filter((o) => o === 'changed')).toHaveLength(50);
      const final = await store.messages.findById(m);
      expect(shown(final?.reactions)).toEqual([{ emoji: '👍', count: 50, users: expect.any(Array) }]);
      expect(new Set(final?.reactions?.[0]?.users)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `u${i}`)));
      // What the batches extended by deltas is exactly what a recount from the rows gives.
      const stored = (await store.models.Message.findById(m).lean().exec())?.reactions;
      expect(stored).toEqual(summarize(await store.reactions.of(m)));
      // One event per reaction made, none for the repeats.
      const rows = await store.models.Reaction.find({ message: m }).lean().exec();
      expect(rows.map((x) => x.outbox.length)).toEqual(Array.from({ length: 50 }, () => 1));
    } finally {
      await Promise.all([one.close(), other.close()]);
    }
  });

  it('takes a reaction back once, makes it again, and refuses a 21st distinct emoji even when raced', async () => {
    const r = room();
    await store.messages.insert(draft(r, 1, 'u0', 'm'));
    const m = messageId(r, 1);
    const outcome = async (op: ReactionOp) => (await store.reactions.apply(m, [op], OPTS)).outcomes[0];
    expect(await outcome(add(r, m, '👍', 'u1'))).toBe('changed');
    expect(await outcome(remove(r, m, '👍', 'u1'))).toBe('changed');
    expect(await outcome(remove(r, m, '👍', 'u1'))).toBe('unchanged');
    expect(await store.reactions.has(m, '👍', 'u1')).toBe(false);
    expect(await outcome(add(r, m, '👍', 'u1'))).toBe('changed');
    expect(await store.reactions.has(m, '👍', 'u1')).toBe(true);
    // The row carries the events of each change: reacted, unreacted, reacted.
    const row = await store.models.Reaction.findById(`${m}/👍/u1`).lean().exec();
    expect(row?.outbox.map((e) => e.type)).toEqual(['message.reacted', 'message.unreacted', 'message.reacted']);

    // 19 more distinct emoji fill the message; then two new ones race for nothing.
    for (let i = 0; i < 19; i++) expect(await outcome(add(r, m, `:e${i}:`, 'u2'))).toBe('changed');
    const raced = await Promise.all([':x:', ':y:'].map((e) => outcome(add(r, m, e, 'u3'))));
    expect(raced).toEqual(['full', 'full']);
    // An emoji already there still goes in; in one batch, a new one after a removal frees a place.
    expect(await outcome(add(r, m, ':e0:', 'u3'))).toBe('changed');
    const batch = await store.reactions.apply(m, [add(r, m, ':z:', 'u4'), remove(r, m, ':e18:', 'u2'), add(r, m, ':z:', 'u4'), add(r, m, ':z:', 'u5')], OPTS);
    expect(batch.outcomes).toEqual(['full', 'changed', 'changed', 'changed']);
    // The same person's add then remove in one batch ends removed.
    expect((await store.reactions.apply(m, [add(r, m, '👍', 'u6'), remove(r, m, '👍', 'u6')], OPTS)).outcomes).toEqual(['changed', 'changed']);
    const after = await store.messages.findById(m);
    expect(after?.reactions).toHaveLength(20); // :e18: went, :z: came
    expect(shown(after?.reactions)[0]).toEqual({ emoji: ':e0:', count: 2, users: ['u2', 'u3'] });
    expect(shown(after?.reactions).find((x) => x.emoji === ':z:')).toEqual({ emoji: ':z:', count: 2, users: ['u4', 'u5'] });
    expect(shown(after?.reactions).find((x) => x.emoji === '👍')).toEqual({ emoji: '👍', count: 1, users: ['u1'] });
    expect((await store.models.Message.findById(m).lean().exec())?.reactions).toEqual(summarize(await store.reactions.of(m)));
  });

  it('repairs a summary left behind its rows (a crash after the rows): the retry, a repeat, recounts', async () => {
    const r = room();
    await store.messages.insert(draft(r, 1, 'u0', 'm'));
    const m = messageId(r, 1);
    await store.reactions.apply(m, [add(r, m, '👍', 'u1')], OPTS);
    // As if a batch wrote u2's row and crashed before the summary.
    await store.models.Reaction.create({ _id: `${m}/👍/u2`, message: m, room: r, emoji: '👍', user: 'u2', active: true, at: new Date(), outbox: [], outboxPending: false });
    expect(shown((await store.messages.findById(m))?.reactions)).toEqual([{ emoji: '👍', count: 1, users: ['u1'] }]);
    const retried = await store.reactions.apply(m, [add(r, m, '👍', 'u2')], OPTS);
    expect(retried.outcomes).toEqual(['unchanged']);
    expect(shown(retried.message?.reactions)).toEqual([{ emoji: '👍', count: 2, users: ['u1', 'u2'] }]);
  });

  it('recounts a summary stored without its times (before they were kept) instead of extending it', async () => {
    const r = room();
    await store.messages.insert(draft(r, 1, 'u0', 'm'));
    const m = messageId(r, 1);
    await store.reactions.apply(m, [add(r, m, '👍', 'u1')], OPTS);
    await store.models.Message.updateOne({ _id: m }, { $set: { reactions: [{ emoji: '👍', count: 7, users: ['u1'] }] } }).exec();
    const after = await store.reactions.apply(m, [add(r, m, '🎉', 'u2')], OPTS);
    expect(shown(after.message?.reactions)).toEqual([
      { emoji: '👍', count: 1, users: ['u1'] },
      { emoji: '🎉', count: 1, users: ['u2'] },
    ]);
  });

  it('recounts a root from its replies: concurrent replies, then a hide', async () => {
    const r = room();
    await store.messages.insert(draft(r, 1, 'u0', 'root'));
    const root = messageId(r, 1);
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.messages.insert({ ...draft(r, i + 2, `u${i}`, `reply ${i}`), parentId: root }).then(() => store.messages.recountThread(root))));
    expect(await store.messages.findById(root)).toMatchObject({ replyCount: 10 });
    const page = await store.messages.threadPage(root, { after: 5, limit: 3 });
    expect(page.messages.map((x) => x.seq)).toEqual([6, 7, 8]);
    expect(page.hasMore).toBe(true);
    // A hidden reply stops counting: the update recounts the root by itself.
    await store.messages.update(messageId(r, 4), ['VISIBLE'], { status: 'HIDDEN' }, newEvent('room.joined', r, 'u1', { room: r, user: 'u1' }));
    const after = await store.messages.findById(root);
    expect(after?.replyCount).toBe(9);
    expect(after?.lastReplyAt?.getTime()).toBe((await store.messages.findById(messageId(r, 11)))?.createdAt.getTime());
  });
});
