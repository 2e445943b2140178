import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import { messageId } from './messages.js';
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

describe('reactions and thread summaries', () => {
  it('50 people reacting at once through two connections, each twice, count 50; the recounts agree', async () => {
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
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const s = stores[i % 2]!;
          const user = `u${i % 50}`;
          return s.reactions.add({ message: m, room: r, emoji: '👍', user, at: new Date() }, reacted(r, m, '👍', user)).then(async (added) => ({ added, after: await s.reactions.recount(m) }));
        }),
      );
      expect(results.filter((x) => x.added)).toHaveLength(50);
      const final = await store.messages.findById(m);
      expect(final?.reactions).toEqual([{ emoji: '👍', count: 50, users: expect.any(Array) }]);
      expect(new Set(final?.reactions?.[0]?.users)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `u${i}`)));
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
    const at = new Date();
    expect(await store.reactions.add({ message: m, room: r, emoji: '👍', user: 'u1', at }, reacted(r, m, '👍', 'u1'))).toBe(true);
    expect(await store.reactions.remove({ message: m, emoji: '👍', user: 'u1' }, reacted(r, m, '👍', 'u1'))).toBe(true);
    expect(await store.reactions.remove({ message: m, emoji: '👍', user: 'u1' }, reacted(r, m, '👍', 'u1'))).toBe(false);
    expect(await store.reactions.has(m, '👍', 'u1')).toBe(false);
    expect(await store.reactions.add({ message: m, room: r, emoji: '👍', user: 'u1', at }, reacted(r, m, '👍', 'u1'))).toBe(true);
    expect(await store.reactions.has(m, '👍', 'u1')).toBe(true);

    // 19 more distinct emoji fill the message; then two new ones race for nothing.
    for (let i = 0; i < 19; i++) await store.reactions.addLimited({ message: m, room: r, emoji: `:e${i}:`, user: 'u2', at }, reacted(r, m, `:e${i}:`, 'u2'), { max: 20, shown: [] });
    const raced = await Promise.all([':x:', ':y:'].map((e) => store.reactions.addLimited({ message: m, room: r, emoji: e, user: 'u3', at }, reacted(r, m, e, 'u3'), { max: 20, shown: [] })));
    expect(raced).toEqual(['full', 'full']);
    // An emoji already there still goes in.
    expect(await store.reactions.addLimited({ message: m, room: r, emoji: ':e0:', user: 'u3', at }, reacted(r, m, ':e0:', 'u3'), { max: 20, shown: [':e0:'] })).toBe(true);
    const after = await store.reactions.recount(m);
    expect(after?.reactions).toHaveLength(20);
    expect(after?.reactions?.[0]).toEqual({ emoji: ':e0:', count: 2, users: ['u2', 'u3'] });
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
