/**
 * Room insert locks across two chat "processes" (two executors, two Store connections) with
 * real Redis and the MongoDB-wire database: concurrent sends to one room get a dense seq
 * 1..N, each once, and the seq handed over through Redis spares the newest-seq searches that
 * lost races would cost. Own database, own key prefix.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import type { CommandResult } from '@conversa/contracts';
import { createLogger } from '@conversa/observability';
import { Store } from '@conversa/store';
import { CommandExecutor } from '../commands.js';
import { isolatedDatabase, MONGO_URL, REDIS_URL, userInRoom } from '../int-fixtures.js';
import { redisSeqLocks } from './redis.js';

const logger = createLogger('chat-seq-it', 'silent');
let db: ReturnType<typeof isolatedDatabase>;
beforeEach(() => {
  db = isolatedDatabase();
});
afterEach(() => db.cleanup());

async function proc() {
  const store = await Store.connect({ url: MONGO_URL, dbName: db.dbName });
  const redis = new Redis(REDIS_URL);
  db.closeLater(() => store.close(), () => redis.quit());
  const executor = new CommandExecutor({ store, publisher: { publish: () => Promise.resolve() }, onEventStored: () => undefined, logger, seqLocks: redisSeqLocks(redis, db.dbName) });
  return { store, executor };
}

describe('room insert locks across chat processes', () => {
  it('gives concurrent sends from two processes a dense seq without searching for the newest', async () => {
    const a = await proc();
    const b = await proc();
    const { user: ann, room } = await userInRoom(a.executor, 'ann', 'hot');
    const searches = [vi.spyOn(a.store, 'lastSeq'), vi.spyOn(b.store, 'lastSeq')];

    const N = 40;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        (i % 2 ? a : b).executor.execute({ type: 'message.send', actor: ann, room, body: `m${i}`, clientMsgId: `c${i}` }) as Promise<CommandResult<'message.send'>>,
      ),
    );
    const seqs = results.map((r) => {
      if (!r.ok) throw new Error(r.error.message);
      return r.value.message.seq;
    });
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect((await a.store.messagesBetween(room, 0, N + 5)).map((m) => m.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // Only the very first insert (nothing known anywhere yet) looks the newest seq up.
    expect(searches[0]!.mock.calls.length + searches[1]!.mock.calls.length).toBe(1);
  }, 30_000);
});
