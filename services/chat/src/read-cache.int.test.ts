/**
 * Two chat "processes" with read caches against a real MongoDB-wire server and real Redis:
 * a change written through one is evicted in the other by its notice on Redis, long before
 * the cache's TTL (set to a minute here), so a send checks the current user, membership and
 * mutes. Each test has its own database and its own notice channel.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { CommandResult } from '@conversa/contracts';
import { createLogger } from '@conversa/observability';
import { openStore, type Store } from '@conversa/store';
import { CommandExecutor } from './commands.js';
import { ReadCache, storeReads } from './read-cache.js';
import { listenForChanges, noticeChange } from './adapters/cache-notices.js';
import { isolatedDatabase, MONGO_URL, REDIS_URL, userInRoom } from './int-fixtures.js';

const logger = createLogger('chat-cache-it', 'silent');

interface Proc {
  store: Store;
  cache: ReadCache;
  executor: CommandExecutor;
}
let db: ReturnType<typeof isolatedDatabase>;
let channel: string;

async function proc(): Promise<Proc> {
  const publisher = new Redis(REDIS_URL);
  const subscriber = new Redis(REDIS_URL, { lazyConnect: true });
  await subscriber.connect();
  const caches: { current?: ReadCache } = {};
  const store = await openStore({
    url: MONGO_URL,
    dbName: db.dbName,
    onWrite: (change) => {
      caches.current?.evict(change);
      noticeChange(publisher, channel, change, logger);
    },
  });
  const cache = new ReadCache(storeReads(store), { ttlMs: 60_000 });
  caches.current = cache;
  await listenForChanges(subscriber, channel, cache, logger);
  db.closeLater(() => store.close(), () => publisher.quit(), () => subscriber.quit());
  const executor = new CommandExecutor({ store, publisher: { publish: () => Promise.resolve() }, logger, reads: cache });
  return { store, cache, executor };
}

let n = 0;
const send = async (p: Proc, actor: string, room: string) =>
  (await p.executor.execute({ type: 'message.send', actor, room, body: 'hi', clientMsgId: `c${++n}` })) as CommandResult<'message.send'>;

/** Polls until `check` holds (a notice crosses Redis asynchronously); far below the TTL. */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeEach(() => {
  db = isolatedDatabase();
  channel = `${db.dbName}:chat-cache`;
});
afterEach(() => db.cleanup());

describe('read caches across chat processes', () => {
  it('a leave, a rename and a mute written through one process reach the other process\'s sends at once', async () => {
    const a = await proc();
    const b = await proc();
    const { user: ann, room } = await userInRoom(a.executor, 'ann', 'lobby');

    // B caches what the send checks: once the notices of the join have passed, its sends
    // are served from memory.
    await within(2_000, 'B to serve a send from its cache', async () => {
      const misses = b.cache.misses;
      expect((await send(b, ann, room)).ok).toBe(true);
      return b.cache.misses === misses;
    });

    // Renamed through A: B's next message carries the new name.
    expect((await a.executor.execute({ type: 'user.rename', actor: ann, displayName: 'Ann B.' })).ok).toBe(true);
    await within(2_000, 'the rename seen by B', async () => {
      const r = await send(b, ann, room);
      return r.ok && r.value.message.author.displayName === 'Ann B.';
    });

    // Muted (stored through A's store): B refuses her sends.
    await a.store.moderation.putMute({ _id: `${ann}/${room}`, user: ann, room, until: new Date(Date.now() + 60_000), action: 'act-1', reason: 'test', at: new Date() });
    await within(2_000, 'the mute seen by B', async () => {
      const r = await send(b, ann, room);
      return !r.ok && /mute/i.test(r.error.message);
    });
    expect(await a.store.moderation.removeMute(`${ann}/${room}`, 'act-1')).toBe(true);
    await within(2_000, 'the unmute seen by B', async () => (await send(b, ann, room)).ok);

    // Left through A: B refuses her sends to the room.
    expect((await a.executor.execute({ type: 'room.leave', actor: ann, room })).ok).toBe(true);
    await within(2_000, 'the leave seen by B', async () => {
      const r = await send(b, ann, room);
      return !r.ok && r.error.code === 'FORBIDDEN';
    });
  }, 30_000);
});
