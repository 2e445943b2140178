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
import { openStore } from '@conversa/store';
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
  const store = await openStore({ url: MONGO_URL, dbName: db.dbName });
  // The unique indexes (room, seq) and (author, clientMsgId) are what the inserts rely on.
  await store.ensureIndexes();
  const redis = new Redis(REDIS_URL);
  db.closeLater(() => store.close(), () => redis.quit());
  const executor = new CommandExecutor({ store, publisher: { publish: () => Promise.resolve() }, logger, seqLocks: redisSeqLocks(redis, db.dbName) });
  return { store, executor };
}

describe('room insert locks across chat processes', () => {
  it('gives concurrent sends from two processes a dense seq without searching for the newest', async () => {
    const a = await proc();
    const b = await proc();
    const { user: ann, room } = await userInRoom(a.executor, 'ann', 'hot');
    const searches = [vi.spyOn(a.store.messages, 'lastSeq'), vi.spyOn(b.store.messages, 'lastSeq')];

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
    expect((await a.store.messages.between(room, 0, N + 5)).map((m) => m.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // Only the very first insert (nothing known anywhere yet) looks the newest seq up.
    expect(searches[0]!.mock.calls.length + searches[1]!.mock.calls.length).toBe(1);
  }, 30_000);

  it('inserts a room\'s queued sends together (group commit), densely, a retried one once', async () => {
    const a = await proc();
    const { user: ann, room } = await userInRoom(a.executor, 'ann', 'busy');
    const batches = vi.spyOn(a.store.messages, 'insertBatch');
    const N = 30;
    const send = (i: number, c = `c${i}`) =>
      a.executor.execute({ type: 'message.send', actor: ann, room, body: `m${i}`, clientMsgId: c }) as Promise<CommandResult<'message.send'>>;
    // 30 sends at once, one of them twice (a client retry while the first is still queued).
    const results = await Promise.all([...Array.from({ length: N }, (_, i) => send(i)), send(99, 'c7')]);
    const values = results.map((r) => {
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    });
    expect(batches).toHaveBeenCalled();
    expect(batches.mock.calls.reduce((n, [docs]) => n + docs.length, 0)).toBeGreaterThan(batches.mock.calls.length);
    const stored = await a.store.messages.between(room, 0, N + 5);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(new Set(stored.map((m) => m.clientMsgId)).size).toBe(N);
    // The retry answers with the message its first attempt stored.
    expect(values[N]!.duplicate).toBe(true);
    expect(values[N]!.message.id).toBe(values[7]!.message.id);
    // Every stored message's posted event is pending by its mark.
    expect((await a.store.outbox.pending(1_000)).filter((p) => p.marked)).toHaveLength(N);
  }, 30_000);

  it('finishes a batch one by one after another process took a seq in it', async () => {
    const a = await proc();
    const { user: ann, room } = await userInRoom(a.executor, 'ann', 'raced');
    expect((await a.executor.execute({ type: 'message.send', actor: ann, room, body: 'first', clientMsgId: 'c0' })).ok).toBe(true);
    // Another writer (no lock: e.g. Redis lost it) stores seq 3 behind this process's back.
    const { _id: _taken, outboxPending: _flag, ...other } = (await a.store.messages.between(room, 0, 1))[0]!;
    await a.store.messages.insert({ ...other, seq: 3, clientMsgId: 'elsewhere', outbox: [] });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => a.executor.execute({ type: 'message.send', actor: ann, room, body: `m${i}`, clientMsgId: `b${i}` }) as Promise<CommandResult<'message.send'>>),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const stored = await a.store.messages.between(room, 0, 20);
    expect(stored.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(stored.filter((m) => m.clientMsgId.startsWith('b'))).toHaveLength(6);
  }, 30_000);
});
