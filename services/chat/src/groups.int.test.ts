/**
 * Group rooms and blocking against a real MongoDB-wire server (FerretDB locally): the
 * CommandExecutor with an in-memory SignalPublisher, a database of its own per test. Two
 * executors on two connections stand for two chat processes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessSignal, CommandOf, CommandResult, CommandType, DomainEvent } from '@conversa/contracts';
import { createLogger } from '@conversa/observability';
import { openStore, type Store } from '@conversa/store';
import { CommandExecutor } from './commands.js';
import { MONGO_URL, REDIS_URL } from './int-fixtures.js';
import { createRedis, redisLocks } from './adapters/redis.js';

const logger = createLogger('chat-groups-it', 'silent');
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

interface Instance {
  store: Store;
  executor: CommandExecutor;
  revoked: AccessSignal[];
  stored: { collection: string; docId: string; events: DomainEvent[] }[];
}

let dbName: string;
let instances: Instance[];
const redis = createRedis(REDIS_URL, 'chat-groups-it');

/** One chat "process": its own connection and executor; document locks in Redis, as the service has them. */
async function instance(): Promise<Instance> {
  const store = await openStore({ url: MONGO_URL, dbName, locks: redisLocks(redis, dbName) });
  const stored: Instance['stored'] = [];
  store.onEventsStored((s) => stored.push(s));
  const executor = new CommandExecutor({ store, publisher: { publish: () => Promise.resolve() }, logger });
  const revoked: AccessSignal[] = [];
  executor.moderation.revokeAccess = (s) => {
    revoked.push(s);
    return Promise.resolve();
  };
  const i = { store, executor, revoked, stored };
  instances.push(i);
  return i;
}

beforeEach(async () => {
  dbName = `it_${randomUUID().slice(0, 8)}`;
  instances = [];
  await (await instance()).store.ensureIndexes();
});

afterEach(async () => {
  await instances[0]?.store.dropDatabase();
  for (const i of instances) await i.store.close();
});

afterAll(async () => {
  await redis.quit();
});

async function run<T extends CommandType>(i: Instance, c: Omit<CommandOf<T>, 'type'> & { type: T }): Promise<CommandResult<T>> {
  return (await i.executor.execute(c)) as CommandResult<T>;
}
async function ok<T extends CommandType>(i: Instance, c: Omit<CommandOf<T>, 'type'> & { type: T }) {
  const r = await run(i, c);
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}
async function refused<T extends CommandType>(i: Instance, c: Omit<CommandOf<T>, 'type'> & { type: T }) {
  const r = await run(i, c);
  if (r.ok) throw new Error(`expected a refusal of ${c.type}, got ok`);
  return r.error;
}
async function register(i: Instance, username: string): Promise<string> {
  return (await ok(i, { type: 'user.register', username, displayName: username, passwordHash: HASH, role: 'USER' })).user.id;
}
async function roles(store: Store, room: string): Promise<Record<string, string>> {
  return Object.fromEntries((await store.groups.members(room)).map((m) => [m.user, m.role]));
}
/** Every event stored for the room (memberships and the room itself), in the order stored. */
const roomEvents = (i: Instance, room: string) =>
  i.stored.flatMap((s) => s.events).filter((e) => e.key === room).map((e) => ({ type: e.type, actor: e.actor, data: e.data }));

describe('group rooms', () => {
  it('creates a group: the caller OWNER, the others MEMBERs, one room.created listing them, stored with the room', async () => {
    const [a] = instances as [Instance];
    const [own, ben, cat] = [await register(a, 'own'), await register(a, 'ben'), await register(a, 'cat')];
    const room = `grp-${randomUUID()}`;
    const r = await ok(a, { type: 'group.create', actor: own, room, name: '  Book club ', members: [ben, cat, ben, own] });
    expect(r.room).toMatchObject({ id: room, name: 'Book club', kind: 'GROUP' });
    expect(await roles(a.store, room)).toEqual({ [own]: 'OWNER', [ben]: 'MEMBER', [cat]: 'MEMBER' });
    expect(roomEvents(a, room)).toEqual([{ type: 'room.created', actor: own, data: { room, name: 'Book club', kind: 'GROUP', members: [own, ben, cat] } }]);
    const doc = await a.store.rooms.findById(room);
    expect(doc?.outbox.map((e) => e.type)).toEqual(['room.created']);
    // A retried job (same id) finishes the same group: no second event, no error.
    expect((await ok(a, { type: 'group.create', actor: own, room, name: 'Book club', members: [ben, cat] })).room.id).toBe(room);
    expect(roomEvents(a, room)).toHaveLength(1);
    // Someone else's create with that id is refused.
    expect((await refused(a, { type: 'group.create', actor: ben, room, name: 'x', members: [] })).code).toBe('CONFLICT');
    expect((await a.store.groups.groupsOf(ben)).map((g) => g._id)).toEqual([room]);
  });

  it('refuses bad input naming the argument, and writes nothing then', async () => {
    const [a] = instances as [Instance];
    const own = await register(a, 'own');
    const room = `grp-${randomUUID()}`;
    const unknown = await refused(a, { type: 'group.create', actor: own, room, name: 'g', members: ['nobody'] });
    expect(unknown).toMatchObject({ code: 'NOT_FOUND', message: 'members: no user "nobody"' });
    const many = Array.from({ length: 1_000 }, (_, k) => `u${k}`);
    const tooMany = await refused(a, { type: 'group.create', actor: own, room, name: 'g', members: many });
    expect(tooMany.code).toBe('BAD_USER_INPUT');
    expect(tooMany.message).toMatch(/^members: a group has at most 1,000 people/);
    expect((await refused(a, { type: 'group.create', actor: own, room, name: '', members: [] })).code).toBe('BAD_USER_INPUT');
    expect((await refused(a, { type: 'group.create', actor: own, room, name: 'x'.repeat(65), members: [] })).code).toBe('BAD_USER_INPUT');
    expect(await a.store.rooms.findById(room)).toBeNull();
    expect(await a.store.models.Membership.countDocuments({ room })).toBe(0);
  });

  it('adds and removes members (OWNER or ADMIN), each with its event in the same write; refuses the rest', async () => {
    const [a] = instances as [Instance];
    const [own, adm, mem, out, pub] = [await register(a, 'own'), await register(a, 'adm'), await register(a, 'mem'), await register(a, 'out'), await register(a, 'pub')];
    const room = `grp-${randomUUID()}`;
    await ok(a, { type: 'group.create', actor: own, room, name: 'g', members: [adm, mem] });
    await ok(a, { type: 'group.setRole', actor: own, room, user: adm, role: 'ADMIN' });

    expect(await refused(a, { type: 'group.addMember', actor: mem, room, user: out })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refused(a, { type: 'group.addMember', actor: out, room, user: out })).toMatchObject({ code: 'FORBIDDEN', message: 'room: you are not a member of this group' });
    expect(await refused(a, { type: 'group.addMember', actor: own, room: 'no-such-room', user: out })).toMatchObject({ code: 'NOT_FOUND' });
    expect(await refused(a, { type: 'group.addMember', actor: own, room, user: 'nobody' })).toMatchObject({ code: 'NOT_FOUND', message: 'userId: no user "nobody"' });
    const general = (await ok(a, { type: 'room.join', actor: own, name: 'general' })).room.id;
    expect(await refused(a, { type: 'group.addMember', actor: own, room: general, user: out })).toMatchObject({ code: 'BAD_USER_INPUT' });
    const dm = (await ok(a, { type: 'room.openDirect', actor: own, peer: pub })).room.id;
    expect(await refused(a, { type: 'group.removeMember', actor: own, room: dm, user: pub })).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await refused(a, { type: 'group.addMember', actor: out, room: dm, user: out })).toMatchObject({ code: 'FORBIDDEN' });

    await ok(a, { type: 'group.addMember', actor: adm, room, user: out });
    await ok(a, { type: 'group.addMember', actor: own, room, user: out }); // twice: a no-op
    expect(await roles(a.store, room)).toMatchObject({ [out]: 'MEMBER' });
    const outDoc = await a.store.models.Membership.findById(`${room}/${out}`).lean().exec();
    expect(outDoc?.outbox.map((e) => e.type)).toEqual(['room.member_added']);

    expect(await refused(a, { type: 'group.removeMember', actor: adm, room, user: own })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refused(a, { type: 'group.removeMember', actor: mem, room, user: out })).toMatchObject({ code: 'FORBIDDEN' });
    await ok(a, { type: 'group.removeMember', actor: adm, room, user: out });
    await ok(a, { type: 'group.removeMember', actor: adm, room, user: out }); // not a member any more: a no-op
    expect(await a.store.rooms.isMember(room, out)).toBe(false);
    expect(a.revoked).toEqual([{ kind: 'access.revoked', user: out, room, reason: 'removed' }]);
    // Removed: they can no longer send.
    expect(await refused(a, { type: 'message.send', actor: out, room, body: 'hi', clientMsgId: randomUUID() })).toMatchObject({ code: 'FORBIDDEN' });

    expect(roomEvents(a, room).filter((e) => e.type !== 'room.created' && e.type !== 'room.role_changed')).toEqual([
      { type: 'room.member_added', actor: adm, data: { room, user: out, role: 'MEMBER' } },
      { type: 'room.member_removed', actor: adm, data: { room, user: out } },
    ]);
  });

  it('keeps exactly one OWNER: only the OWNER changes roles; handing over makes them ADMIN', async () => {
    const [a] = instances as [Instance];
    const [own, ben, cat] = [await register(a, 'own'), await register(a, 'ben'), await register(a, 'cat')];
    const room = `grp-${randomUUID()}`;
    await ok(a, { type: 'group.create', actor: own, room, name: 'g', members: [ben, cat] });
    expect(await refused(a, { type: 'group.setRole', actor: ben, room, user: cat, role: 'ADMIN' })).toMatchObject({ code: 'FORBIDDEN' });
    await ok(a, { type: 'group.setRole', actor: own, room, user: ben, role: 'ADMIN' });
    expect(await refused(a, { type: 'group.setRole', actor: ben, room, user: cat, role: 'ADMIN' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refused(a, { type: 'group.setRole', actor: own, room, user: own, role: 'MEMBER' })).toMatchObject({ code: 'BAD_USER_INPUT' });

    await ok(a, { type: 'group.setRole', actor: own, room, user: cat, role: 'OWNER' });
    expect(await roles(a.store, room)).toEqual({ [own]: 'ADMIN', [ben]: 'ADMIN', [cat]: 'OWNER' });
    expect(roomEvents(a, room).filter((e) => e.type === 'room.role_changed').map((e) => e.data)).toEqual([
      { room, user: ben, role: 'ADMIN', previousRole: 'MEMBER' },
      { room, user: cat, role: 'OWNER', previousRole: 'MEMBER' },
      { room, user: own, role: 'ADMIN', previousRole: 'OWNER' },
    ]);
    // The former owner asking again (a retried job): nothing changes, no error.
    await ok(a, { type: 'group.setRole', actor: own, room, user: cat, role: 'OWNER' });
    expect(roomEvents(a, room).filter((e) => e.type === 'room.role_changed')).toHaveLength(3);
  });

  it('hands ownership over exactly once when two processes race, and never loses the OWNER', async () => {
    const [a] = instances as [Instance];
    const b = await instance();
    const [own, ben, cat] = [await register(a, 'own'), await register(a, 'ben'), await register(a, 'cat')];
    const room = `grp-${randomUUID()}`;
    await ok(a, { type: 'group.create', actor: own, room, name: 'g', members: [ben, cat] });
    // Two hand-overs at once (one per process), each to someone else: exactly one wins.
    // Without a lock across processes both would see the caller as OWNER.
    const results = await Promise.all([
      run(a, { type: 'group.setRole', actor: own, room, user: ben, role: 'OWNER' }),
      run(b, { type: 'group.setRole', actor: own, room, user: cat, role: 'OWNER' }),
    ]);
    const owners = Object.entries(await roles(a.store, room)).filter(([, r]) => r === 'OWNER');
    expect(owners).toHaveLength(1);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it('renames a group (OWNER or ADMIN), with room.renamed; a same name is a no-op; public rooms are refused', async () => {
    const [a] = instances as [Instance];
    const [own, ben] = [await register(a, 'own'), await register(a, 'ben')];
    const room = `grp-${randomUUID()}`;
    await ok(a, { type: 'group.create', actor: own, room, name: 'old', members: [ben] });
    expect(await refused(a, { type: 'room.rename', actor: ben, room, name: 'mine' })).toMatchObject({ code: 'FORBIDDEN' });
    expect((await ok(a, { type: 'room.rename', actor: own, room, name: 'new name' })).room.name).toBe('new name');
    await ok(a, { type: 'room.rename', actor: own, room, name: 'new name' });
    expect(roomEvents(a, room).filter((e) => e.type === 'room.renamed').map((e) => e.data)).toEqual([{ room, name: 'new name', previousName: 'old' }]);
    const general = (await ok(a, { type: 'room.join', actor: own, name: 'general' })).room.id;
    expect(await refused(a, { type: 'room.rename', actor: own, room: general, name: 'x' })).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('lets MEMBERs and ADMINs leave; the OWNER only as the last member', async () => {
    const [a] = instances as [Instance];
    const [own, ben] = [await register(a, 'own'), await register(a, 'ben')];
    const room = `grp-${randomUUID()}`;
    await ok(a, { type: 'group.create', actor: own, room, name: 'g', members: [ben] });
    expect(await refused(a, { type: 'room.leave', actor: own, room })).toMatchObject({ code: 'CONFLICT' });
    expect(await ok(a, { type: 'room.leave', actor: ben, room })).toEqual({ left: true });
    expect(a.revoked).toEqual([{ kind: 'access.revoked', user: ben, room, reason: 'removed' }]);
    expect(await ok(a, { type: 'room.leave', actor: ben, room })).toEqual({ left: false });
    expect(await ok(a, { type: 'room.leave', actor: own, room })).toEqual({ left: true });
    expect(await a.store.groups.count(room)).toBe(0);
  });

  it('lets members send and edit; a removed author can no longer edit; the group stays full at 1,000 (CONFLICT)', async () => {
    const [a] = instances as [Instance];
    const [own, ben] = [await register(a, 'own'), await register(a, 'ben')];
    const room = `grp-${randomUUID()}`;
    await ok(a, { type: 'group.create', actor: own, room, name: 'g', members: [ben] });
    const m = (await ok(a, { type: 'message.send', actor: ben, room, body: 'hello', clientMsgId: randomUUID() })).message;
    expect(m.seq).toBe(1);
    await ok(a, { type: 'message.edit', actor: ben, id: m.id, body: 'hello!' });
    await ok(a, { type: 'group.removeMember', actor: own, room, user: ben });
    expect(await refused(a, { type: 'message.edit', actor: ben, id: m.id, body: 'sneaky' })).toMatchObject({ code: 'FORBIDDEN' });

    // Fill the group to 1,000 directly (registering 998 users through commands would take long).
    const filler = Array.from({ length: 999 }, (_, k) => ({ user: `filler-${k}`, role: 'MEMBER' as const }));
    await a.store.groups.insertInitial(room, filler, new Date());
    expect(await a.store.groups.count(room)).toBe(1_000);
    expect(await refused(a, { type: 'group.addMember', actor: own, room, user: ben })).toMatchObject({ code: 'CONFLICT' });
  });
});

describe('blocking', () => {
  it('refuses the blocked person a direct room, sends into it and adding the blocker; twice is a no-op', async () => {
    const [a] = instances as [Instance];
    const [ann, bob, cat] = [await register(a, 'ann'), await register(a, 'bob'), await register(a, 'cat')];
    const dm = (await ok(a, { type: 'room.openDirect', actor: bob, peer: ann })).room.id;
    const room = `grp-${randomUUID()}`;
    await ok(a, { type: 'group.create', actor: bob, room, name: 'g', members: [cat] });

    expect(await refused(a, { type: 'user.block', actor: ann, user: ann })).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await refused(a, { type: 'user.block', actor: ann, user: 'nobody' })).toMatchObject({ code: 'NOT_FOUND' });
    expect(await ok(a, { type: 'user.block', actor: ann, user: bob })).toEqual({ changed: true });
    expect(await ok(a, { type: 'user.block', actor: ann, user: bob })).toEqual({ changed: false });
    expect(await a.store.blocks.blockedBy(ann)).toEqual([bob]);

    const notAllowed = { code: 'FORBIDDEN', message: expect.stringMatching(/not allowed$/) as unknown };
    expect(await refused(a, { type: 'room.openDirect', actor: bob, peer: ann })).toMatchObject(notAllowed);
    expect(await refused(a, { type: 'message.send', actor: bob, room: dm, body: 'hey', clientMsgId: randomUUID() })).toMatchObject(notAllowed);
    expect(await refused(a, { type: 'group.addMember', actor: bob, room, user: ann })).toMatchObject(notAllowed);
    expect(await refused(a, { type: 'group.create', actor: bob, room: `grp-${randomUUID()}`, name: 'g2', members: [ann] })).toMatchObject(notAllowed);
    // The blocker still may; others are not affected.
    await ok(a, { type: 'message.send', actor: ann, room: dm, body: 'bye', clientMsgId: randomUUID() });
    await ok(a, { type: 'group.addMember', actor: bob, room, user: cat });

    expect(await ok(a, { type: 'user.unblock', actor: ann, user: bob })).toEqual({ changed: true });
    expect(await ok(a, { type: 'user.unblock', actor: ann, user: bob })).toEqual({ changed: false });
    await ok(a, { type: 'message.send', actor: bob, room: dm, body: 'hey again', clientMsgId: randomUUID() });
    await ok(a, { type: 'group.addMember', actor: bob, room, user: ann });
  });
});
