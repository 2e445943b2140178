/**
 * Pin commands against a real MongoDB-wire server (FerretDB locally): the CommandExecutor with
 * a publisher that records the room signals, document locks in Redis as the service has them,
 * a database of its own per test.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CommandOf, CommandResult, CommandType, DomainEvent, RoomSignal } from '@conversa/contracts';
import { createLogger } from '@conversa/observability';
import { openStore, type Store } from '@conversa/store';
import { CommandExecutor } from './commands.js';
import { MONGO_URL, REDIS_URL } from './int-fixtures.js';
import { createRedis, redisLocks } from './adapters/redis.js';

const logger = createLogger('chat-pins-it', 'silent');
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';
const redis = createRedis(REDIS_URL, 'chat-pins-it');

let store: Store;
let executor: CommandExecutor;
let signals: { room: string; signal: RoomSignal }[];
let events: DomainEvent[];

beforeEach(async () => {
  const dbName = `it_${randomUUID().slice(0, 8)}`;
  store = await openStore({ url: MONGO_URL, dbName, locks: redisLocks(redis, dbName) });
  await store.ensureIndexes();
  signals = [];
  events = [];
  store.onEventsStored((s) => events.push(...s.events));
  executor = new CommandExecutor({
    store,
    publisher: {
      publish: (room, signal) => {
        signals.push({ room, signal });
        return Promise.resolve();
      },
    },
    logger,
  });
});

afterEach(async () => {
  await store.dropDatabase();
  await store.close();
});

afterAll(async () => {
  await redis.quit();
});

const run = async <T extends CommandType>(c: Omit<CommandOf<T>, 'type'> & { type: T }) => (await executor.execute(c)) as CommandResult<T>;
async function ok<T extends CommandType>(c: Omit<CommandOf<T>, 'type'> & { type: T }) {
  const r = await run(c);
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}
const code = async <T extends CommandType>(c: Omit<CommandOf<T>, 'type'> & { type: T }) => {
  const r = await run(c);
  return r.ok ? 'ok' : r.error.code;
};
const register = async (username: string) => (await ok({ type: 'user.register', username, displayName: username, passwordHash: HASH, role: 'USER' })).user.id;
const pinEvents = () => events.filter((e) => e.type === 'message.pinned' || e.type === 'message.unpinned').map((e) => ({ type: e.type, actor: e.actor, by: (e.data as { by: string }).by, pinned: (e.data as { message: { pinned: boolean } }).message.pinned }));
const kinds = () => signals.map((s) => (s.signal.kind === 'message.updated' ? `message.updated:${s.signal.message.pinned}` : s.signal.kind));

/** A group of an OWNER, an ADMIN and a MEMBER, with one message of the MEMBER's. */
async function group() {
  const [own, adm, mem] = [await register('own'), await register('adm'), await register('mem')];
  const room = `grp-${randomUUID()}`;
  await ok({ type: 'group.create', actor: own, room, name: 'Pins', members: [adm, mem] });
  await ok({ type: 'group.setRole', actor: own, room, user: adm, role: 'ADMIN' });
  const { message } = await ok({ type: 'message.send', actor: mem, room, body: 'the plan', clientMsgId: 'c1' });
  signals.length = 0;
  return { own, adm, mem, room, id: message.id };
}

describe('pin commands', () => {
  it("the group's OWNER pins and an ADMIN unpins: one event each, the message and the room published; repeats are no-ops", async () => {
    const { own, adm, mem, room, id } = await group();
    expect(await code({ type: 'message.pin', actor: mem, id })).toBe('FORBIDDEN');
    const pinned = await ok({ type: 'message.pin', actor: own, id });
    expect(pinned.message).toMatchObject({ id, pinned: true, body: 'the plan', author: { id: mem } });
    expect(kinds()).toEqual(['message.updated:true', 'room.updated']);
    expect(signals.every((s) => s.room === room)).toBe(true);

    // Again: the same answer, nothing stored, nothing published.
    expect((await ok({ type: 'message.pin', actor: adm, id })).message.pinned).toBe(true);
    expect(kinds()).toHaveLength(2);

    const unpinned = await ok({ type: 'message.unpin', actor: adm, id });
    expect(unpinned.message.pinned).toBe(false);
    expect((await ok({ type: 'message.unpin', actor: own, id })).message.pinned).toBe(false);
    expect(await code({ type: 'message.unpin', actor: mem, id })).toBe('FORBIDDEN');
    expect(kinds()).toEqual(['message.updated:true', 'room.updated', 'message.updated:false', 'room.updated']);
    expect(pinEvents()).toEqual([
      { type: 'message.pinned', actor: own, by: own, pinned: true },
      { type: 'message.unpinned', actor: adm, by: adm, pinned: false },
    ]);
    expect(await code({ type: 'message.pin', actor: own, id: `${room}:99` })).toBe('NOT_FOUND');
  });

  it('a job that failed between the two writes is finished by its retry, with one event', async () => {
    const { own, id } = await group();
    vi.spyOn(store.messages, 'setPinned').mockRejectedValueOnce(new Error('connection reset'));
    // An infrastructure failure is thrown (BullMQ retries the job), not a refusal.
    await expect(executor.execute({ type: 'message.pin', actor: own, id })).rejects.toThrow('connection reset');
    expect(kinds()).toEqual([]);
    expect((await ok({ type: 'message.pin', actor: own, id })).message.pinned).toBe(true);
    expect(pinEvents()).toHaveLength(1);
    expect(kinds()).toEqual(['message.updated:true', 'room.updated']);
    expect((await store.pins.pinnedMessages((await store.messages.findById(id))!.room)).map((m) => m._id)).toEqual([id]);
  });

  it('refuses a message that is not VISIBLE (BAD_USER_INPUT naming id) and stores nothing', async () => {
    const { own, mem, id } = await group();
    await ok({ type: 'message.delete', actor: mem, id });
    const r = await run({ type: 'message.pin', actor: own, id });
    expect(r.ok ? null : r.error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/^id: only a VISIBLE message can be pinned; this one is DELETED/) });
    expect(pinEvents()).toEqual([]);
  });
});
