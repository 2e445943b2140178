/**
 * The CommandExecutor against a real MongoDB-wire server (FerretDB locally). Redis pub/sub is
 * replaced by an in-memory SignalPublisher; the database is real. Every test has a database
 * of its own (`it_<uuid8>`), dropped afterwards. Two executors on two Store connections stand
 * for two chat processes.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RoomSignal,
  type CommandResult,
  type CommandType,
  type DomainEvent,
  type MessageView,
} from '@conversa/contracts';
import { createLogger } from '@conversa/observability';
import { openStore, type Store, type OutboxCollection } from '@conversa/store';
import { CommandExecutor, type SignalPublisher } from './commands.js';

const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const logger = createLogger('chat-it', 'silent');
const uuid8 = () => randomUUID().slice(0, 8);
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

interface Instance {
  store: Store;
  executor: CommandExecutor;
  signals: { room: string; signal: RoomSignal }[];
  stored: { collection: OutboxCollection; docId: string; events: DomainEvent[] }[];
}

let dbName: string;
let instances: Instance[];

/** One "process": its own connection, executor, published signals and outbox hand-overs. */
async function instance(): Promise<Instance> {
  const store = await openStore({ url: MONGO_URL, dbName });
  const signals: Instance['signals'] = [];
  const stored: Instance['stored'] = [];
  // What the store tells the outbox relay it stored (Store.onEventsStored).
  store.onEventsStored(({ collection, docId, events }) => stored.push({ collection, docId, events }));
  const publisher: SignalPublisher = {
    publish(room, signal) {
      signals.push({ room, signal: RoomSignal.parse(signal) });
      return Promise.resolve();
    },
  };
  const executor = new CommandExecutor({
    store,
    publisher,
    logger,
  });
  const i = { store, executor, signals, stored };
  instances.push(i);
  return i;
}

beforeEach(async () => {
  dbName = `it_${uuid8()}`;
  instances = [];
  const first = await instance();
  await first.store.ensureIndexes();
});

afterEach(async () => {
  await instances[0]?.store.dropDatabase();
  for (const i of instances) await i.store.close();
});

function ok<T extends CommandType>(
  r: CommandResult<T>,
): Extract<CommandResult<T>, { ok: true }>['value'] {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function register(i: Instance, username: string): Promise<string> {
  const r = await i.executor.execute({
    type: 'user.register',
    username,
    displayName: username.toUpperCase(),
    passwordHash: HASH,
  });
  return ok(r as CommandResult<'user.register'>).user.id;
}

async function join(i: Instance, actor: string, name: string) {
  return ok(
    (await i.executor.execute({ type: 'room.join', actor, name })) as CommandResult<'room.join'>,
  );
}

async function send(
  i: Instance,
  actor: string,
  room: string,
  body: string,
  clientMsgId: string = randomUUID(),
) {
  return (await i.executor.execute({
    type: 'message.send',
    actor,
    room,
    body,
    clientMsgId,
  })) as CommandResult<'message.send'>;
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => from + k);

async function storedSeqs(store: Store, room: string): Promise<number[]> {
  const rows = await store.models.Message.find({ room }).select({ seq: 1 }).lean().exec();
  return rows.map((r) => r.seq).sort((a, b) => a - b);
}

describe('CommandExecutor: users and rooms', () => {
  it('registers a user (lower-cased) and refuses a taken username with CONFLICT', async () => {
    const [a] = instances as [Instance];
    const r = ok(
      (await a.executor.execute({
        type: 'user.register',
        username: 'Ann.Lee',
        displayName: 'Ann',
        passwordHash: HASH,
      })) as CommandResult<'user.register'>,
    );
    expect(r.user).toMatchObject({ username: 'ann.lee', displayName: 'Ann', role: 'USER' });
    expect((await a.store.users.findByUsername('ANN.LEE'))?._id).toBe(r.user.id);
    expect(a.stored).toEqual([
      {
        collection: 'users',
        docId: r.user.id,
        events: [expect.objectContaining({ type: 'user.registered', key: r.user.id })],
      },
    ]);

    // Someone else (another password hash) taking the name is refused.
    const dup = await a.executor.execute({
      type: 'user.register',
      username: 'ann.LEE',
      displayName: 'Other',
      passwordHash: `${HASH}-other`,
    });
    expect(dup).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(await a.store.models.User.countDocuments()).toBe(1);
  });

  it('a retried registration (same hash: the first run stored the user) answers the same user', async () => {
    const [a] = instances as [Instance];
    const b = await instance();
    const cmd = {
      type: 'user.register',
      username: 'ann',
      displayName: 'Ann',
      passwordHash: HASH,
    } as const;
    const first = ok((await a.executor.execute(cmd)) as CommandResult<'user.register'>);
    const retry = ok((await b.executor.execute(cmd)) as CommandResult<'user.register'>);
    expect(retry.user).toEqual(first.user);
    expect(await a.store.models.User.countDocuments()).toBe(1);
    expect(b.stored).toEqual([]); // no second user.registered event
  });

  it('join creates the room once; a second join is a no-op', async () => {
    const [a] = instances as [Instance];
    const ann = await register(a, 'ann');
    const first = await join(a, ann, 'Lobby');
    expect(first.room).toMatchObject({ id: 'lobby', name: 'Lobby', kind: 'PUBLIC' });
    const again = await join(a, ann, '  lobby ');
    expect(again.room.id).toBe('lobby');
    expect(await a.store.rooms.memberIds('lobby')).toEqual([ann]);
    const events = a.stored.flatMap((s) => s.events.map((e) => e.type));
    expect(events.filter((t) => t === 'room.created')).toHaveLength(1);
    expect(events.filter((t) => t === 'room.joined')).toHaveLength(1);
  });

  it('5 users joining concurrently through two processes create the room exactly once', async () => {
    const [a] = instances as [Instance];
    const b = await instance();
    const users = await Promise.all(
      ['u0', 'u1', 'u2', 'u3', 'u4'].map((u) => register(a, `user-${u}`)),
    );
    const results = await Promise.all(
      users.map((u, k) => join(k % 2 === 0 ? a : b, u, 'Town Square')),
    );
    expect(new Set(results.map((r) => r.room.id))).toEqual(new Set(['town-square']));

    const handed = [...a.stored, ...b.stored].flatMap((s) => s.events);
    expect(handed.filter((e) => e.type === 'room.created')).toHaveLength(1);
    expect(handed.filter((e) => e.type === 'room.joined')).toHaveLength(5);
    const room = await a.store.rooms.findById('town-square');
    expect(room?.outbox.map((e) => e.type)).toEqual(['room.created']);
    expect((await a.store.rooms.memberIds('town-square')).sort()).toEqual([...users].sort());
  });

  it('leave reports a change once, and a user who left can no longer send', async () => {
    const [a] = instances as [Instance];
    const ann = await register(a, 'ann');
    await join(a, ann, 'lobby');
    expect(await a.executor.execute({ type: 'room.leave', actor: ann, room: 'lobby' })).toEqual({
      ok: true,
      value: { left: true },
    });
    expect(await a.executor.execute({ type: 'room.leave', actor: ann, room: 'lobby' })).toEqual({
      ok: true,
      value: { left: false },
    });
    expect(
      await a.executor.execute({ type: 'room.leave', actor: ann, room: 'nope' }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await send(a, ann, 'lobby', 'hello?')).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });
});

describe('CommandExecutor: private rooms', () => {
  it('both people opening their private room at once get one room; only they may send to it', async () => {
    const [a] = instances as [Instance];
    const b = await instance();
    const [ann, bob, cat] = (await Promise.all(
      ['ann', 'bob', 'cat'].map((u) => register(a, u)),
    )) as [string, string, string];
    const [r1, r2] = await Promise.all([
      a.executor.execute({ type: 'room.openDirect', actor: ann, peer: bob }),
      b.executor.execute({ type: 'room.openDirect', actor: bob, peer: ann }),
    ]);
    const room1 = ok(r1 as CommandResult<'room.openDirect'>).room;
    const room2 = ok(r2 as CommandResult<'room.openDirect'>).room;
    expect(room1).toEqual(room2);
    expect(room1.kind).toBe('DIRECT');
    const created = [...a.stored, ...b.stored]
      .flatMap((x) => x.events)
      .filter((e) => e.type === 'room.created');
    expect(created).toHaveLength(1);

    expect(ok(await send(a, ann, room1.id, 'hi bob')).message.seq).toBe(1);
    expect(ok(await send(b, bob, room1.id, 'hi ann')).message.seq).toBe(2);
    expect(await send(a, cat, room1.id, 'let me in')).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(
      await a.executor.execute({ type: 'room.openDirect', actor: ann, peer: ann }),
    ).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    expect(
      await a.executor.execute({ type: 'room.openDirect', actor: ann, peer: 'nobody' }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});

describe('CommandExecutor: edit and delete', () => {
  it('the author edits; a deleted message can be neither edited nor deleted twice into a second event', async () => {
    const [a] = instances as [Instance];
    const [ann, bob] = (await Promise.all(['ann', 'bob'].map((u) => register(a, u)))) as [
      string,
      string,
    ];
    await join(a, ann, 'lobby');
    const m = ok(await send(a, ann, 'lobby', 'helo')).message;

    const edited = ok(
      (await a.executor.execute({
        type: 'message.edit',
        actor: ann,
        id: m.id,
        body: ' hello ',
      })) as CommandResult<'message.edit'>,
    );
    expect(edited.message).toMatchObject({ id: m.id, seq: 1, body: 'hello', status: 'VISIBLE' });
    expect(edited.message.editedAt).not.toBeNull();
    expect(
      await a.executor.execute({ type: 'message.edit', actor: bob, id: m.id, body: 'mine now' }),
    ).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(
      await a.executor.execute({ type: 'message.delete', actor: bob, id: m.id }),
    ).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(
      await a.executor.execute({ type: 'message.edit', actor: ann, id: 'nope', body: 'x' }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    const deleted = ok(
      (await a.executor.execute({
        type: 'message.delete',
        actor: ann,
        id: m.id,
      })) as CommandResult<'message.delete'>,
    );
    expect(deleted.message).toMatchObject({ id: m.id, status: 'DELETED', body: '' });
    const again = ok(
      (await a.executor.execute({
        type: 'message.delete',
        actor: ann,
        id: m.id,
      })) as CommandResult<'message.delete'>,
    );
    expect(again.message.status).toBe('DELETED');
    expect(
      await a.executor.execute({ type: 'message.edit', actor: ann, id: m.id, body: 'back' }),
    ).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    const doc = await a.store.messages.findById(m.id);
    expect(doc).toMatchObject({ status: 'DELETED', body: '', seq: 1 });
    // The posted event rides beside the outbox (pending by its mark), the later ones in it.
    expect(doc?.posted?.type).toBe('message.posted');
    expect(doc?.outbox.map((e) => e.type)).toEqual(['message.edited', 'message.deleted']);
    expect(a.signals.map((s) => s.signal.kind)).toEqual([
      'message.added',
      'message.updated',
      'message.updated',
    ]);
  });

  it('renaming stores the new display name with its event', async () => {
    const [a] = instances as [Instance];
    const ann = await register(a, 'ann');
    const r = ok(
      (await a.executor.execute({
        type: 'user.rename',
        actor: ann,
        displayName: '  Ann Lee ',
      })) as CommandResult<'user.rename'>,
    );
    expect(r.user).toMatchObject({ id: ann, displayName: 'Ann Lee' });
    const doc = await a.store.users.findById(ann);
    expect(doc?.displayName).toBe('Ann Lee');
    expect(doc?.outbox.map((e) => e.type)).toEqual(['user.registered', 'user.renamed']);
    expect(
      await a.executor.execute({ type: 'user.rename', actor: ann, displayName: '   ' }),
    ).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
  });
});

describe('CommandExecutor: slow mode', () => {
  it('an admin sets a public room\'s slow mode, stored with its event; others and private rooms are refused', async () => {
    const [a] = instances as [Instance];
    const ann = await register(a, 'ann');
    const r = await a.executor.execute({
      type: 'user.register',
      username: 'root',
      displayName: 'Root',
      passwordHash: HASH,
      role: 'ADMIN',
    });
    const root = ok(r as CommandResult<'user.register'>).user.id;
    const room = (await join(a, ann, 'General')).room.id;
    expect((await a.store.rooms.findById(room))?.slowModeSeconds).toBeUndefined(); // older rooms: none
    const slow = (actor: string, seconds: number, target = room) =>
      a.executor.execute({ type: 'room.setSlowMode', actor, room: target, seconds });

    expect(await slow(ann, 30)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const set = ok((await slow(root, 30)) as CommandResult<'room.setSlowMode'>);
    expect(set.room).toMatchObject({ id: room, slowModeSeconds: 30 });
    expect((await a.store.rooms.findById(room))?.slowModeSeconds).toBe(30);
    // The same value again changes nothing and stores no second event.
    ok((await slow(root, 30)) as CommandResult<'room.setSlowMode'>);
    ok((await slow(root, 0)) as CommandResult<'room.setSlowMode'>);
    const doc = await a.store.rooms.findById(room);
    const events = (doc?.outbox ?? []).filter((e) => e.type === 'room.slowModeSet');
    expect(events.map((e) => [e.actor, e.data])).toEqual([
      [root, { room, seconds: 30, previousSeconds: 0 }],
      [root, { room, seconds: 0, previousSeconds: 30 }],
    ]);
    expect(a.stored.filter((x) => x.collection === 'rooms' && x.docId === room).flatMap((x) => x.events.map((e) => e.type))).toEqual(['room.created', 'room.slowModeSet', 'room.slowModeSet']);

    expect(await slow(root, 5, 'nowhere')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await slow(root, 3_601)).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    const direct = ok((await a.executor.execute({ type: 'room.openDirect', actor: root, peer: ann })) as CommandResult<'room.openDirect'>);
    expect(await slow(root, 5, direct.room.id)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });
});

describe('CommandExecutor: sending', () => {
  it('numbers the messages of a room 1..N, densely, and publishes each', async () => {
    const [a] = instances as [Instance];
    const ann = await register(a, 'ann');
    await join(a, ann, 'lobby');
    await join(a, ann, 'other');
    const views: MessageView[] = [];
    for (let k = 0; k < 6; k++)
      views.push(ok(await send(a, ann, 'lobby', `  hello ${k}  `)).message);
    ok(await send(a, ann, 'other', 'elsewhere'));

    expect(views.map((v) => v.seq)).toEqual(range(1, 6));
    expect(views[0]).toMatchObject({
      room: 'lobby',
      body: 'hello 0',
      status: 'VISIBLE',
      author: { id: ann, username: 'ann' },
    });
    expect(await storedSeqs(a.store, 'lobby')).toEqual(range(1, 6));
    expect(await storedSeqs(a.store, 'other')).toEqual([1]);
    const published = a.signals.filter((s) => s.room === 'lobby').map((s) => s.signal);
    expect(published).toEqual(views.map((message) => ({ kind: 'message.added', message })));
    const posted = a.stored.filter((s) => s.collection === 'messages');
    expect(posted).toHaveLength(7);
    expect(
      posted.every((s) => s.events.length === 1 && s.events[0]!.type === 'message.posted'),
    ).toBe(true);
  });

  it('20 concurrent sends from 4 authors through one executor get seqs exactly 1..20', async () => {
    const [a] = instances as [Instance];
    const authors = await Promise.all(['ann', 'bob', 'cat', 'dan'].map((u) => register(a, u)));
    for (const u of authors) await join(a, u, 'busy');
    const results = await Promise.all(
      range(1, 20).map((k) => send(a, authors[k % 4]!, 'busy', `m${k}`)),
    );
    const seqs = results.map((r) => ok(r).message.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(range(1, 20));
    expect(results.every((r) => !ok(r).duplicate)).toBe(true);
    expect(await storedSeqs(a.store, 'busy')).toEqual(range(1, 20));
  }, 30_000);

  it('two processes sending 30 messages concurrently into one room get seqs exactly 1..30', async () => {
    const [a] = instances as [Instance];
    const b = await instance();
    const authors = await Promise.all(['ann', 'bob', 'cat'].map((u) => register(a, u)));
    for (const u of authors) await join(a, u, 'race');
    const results = await Promise.all(
      range(1, 30).map((k) =>
        send(k % 2 === 0 ? a : b, authors[k % 3]!, 'race', `m${k}`, `c-${k}`),
      ),
    );
    const views = results.map((r) => ok(r).message);
    expect(views.map((v) => v.seq).sort((x, y) => x - y)).toEqual(range(1, 30));
    expect(await storedSeqs(a.store, 'race')).toEqual(range(1, 30));
    // Each message once, under its own clientMsgId, with the seq its result reported.
    const rows = await a.store.models.Message.find({ room: 'race' }).lean().exec();
    expect(new Set(rows.map((r) => r.clientMsgId)).size).toBe(30);
    for (const v of views) expect(rows.find((r) => r._id === v.id)?.seq).toBe(v.seq);
    expect(a.signals.length + b.signals.length).toBe(30);
  }, 30_000);

  it('the same (author, clientMsgId) twice stores one message; the second result is a duplicate', async () => {
    const [a] = instances as [Instance];
    const ann = await register(a, 'ann');
    await join(a, ann, 'lobby');
    const first = ok(await send(a, ann, 'lobby', 'once', 'c-1'));
    const second = ok(await send(a, ann, 'lobby', 'once', 'c-1'));
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ message: first.message, duplicate: true });
    expect(await storedSeqs(a.store, 'lobby')).toEqual([1]);
    expect(a.signals).toHaveLength(1);

    // The same client id to another room is a conflict, not a duplicate.
    await join(a, ann, 'other');
    expect(await send(a, ann, 'other', 'once', 'c-1')).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });
  });

  it('the same (author, clientMsgId) sent concurrently through one executor stores one message', async () => {
    const [a] = instances as [Instance];
    const ann = await register(a, 'ann');
    await join(a, ann, 'lobby');
    const results = (
      await Promise.all(range(1, 4).map(() => send(a, ann, 'lobby', 'retry me', 'c-same')))
    ).map(ok);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
    expect(results.every((r) => r.message.seq === 1)).toBe(true);
    expect(await storedSeqs(a.store, 'lobby')).toEqual([1]);
    expect(a.signals).toHaveLength(1);
    // A hole-free sequence continues after the lost duplicates.
    expect(ok(await send(a, ann, 'lobby', 'next')).message.seq).toBe(2);
  });

  it('the same (author, clientMsgId) sent concurrently through two processes stores one message', async () => {
    const [a] = instances as [Instance];
    const b = await instance();
    const ann = await register(a, 'ann');
    await join(a, ann, 'lobby');
    // Warm both processes' seq hints so that each takes a different path to the conflict.
    ok(await send(a, ann, 'lobby', 'warm a'));
    ok(await send(b, ann, 'lobby', 'warm b'));
    const results = (
      await Promise.all([a, b, a, b].map((i) => send(i, ann, 'lobby', 'retry me', 'c-same')))
    ).map(ok);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
    expect(await storedSeqs(a.store, 'lobby')).toEqual([1, 2, 3]);
    expect(ok(await send(b, ann, 'lobby', 'next')).message.seq).toBe(4);
    expect(ok(await send(a, ann, 'lobby', 'next')).message.seq).toBe(5);
  });
});

describe('CommandExecutor: refusals are results, not throws', () => {
  let ann: string;
  beforeEach(async () => {
    ann = await register(instances[0]!, 'ann');
  });

  it('sending to a missing room is NOT_FOUND', async () => {
    expect(await send(instances[0]!, ann, 'no-such-room', 'hi')).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });

  it('sending to a public room without joining it is FORBIDDEN', async () => {
    const [a] = instances as [Instance];
    const bob = await register(a, 'bob');
    await join(a, bob, 'lobby');
    expect(await send(a, ann, 'lobby', 'hi')).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await storedSeqs(a.store, 'lobby')).toEqual([]);
  });

  it('an empty or blank body is BAD_USER_INPUT', async () => {
    const [a] = instances as [Instance];
    await join(a, ann, 'lobby');
    expect(await send(a, ann, 'lobby', '')).toMatchObject({
      ok: false,
      error: { code: 'BAD_USER_INPUT' },
    });
    expect(await send(a, ann, 'lobby', ' \n\t ')).toMatchObject({
      ok: false,
      error: { code: 'BAD_USER_INPUT' },
    });
    expect(await storedSeqs(a.store, 'lobby')).toEqual([]);
  });

  it('a malformed command is a BAD_USER_INPUT result naming the field', async () => {
    const [a] = instances as [Instance];
    for (const raw of [
      null,
      'message.send',
      { type: 'no.such.command' },
      { type: 'message.send', actor: ann, room: 'lobby', clientMsgId: 'c' },
      { type: 'room.join', actor: ann, name: 42 },
    ]) {
      const r = await a.executor.execute(raw);
      expect(r).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    }
    const missingBody = await a.executor.execute({
      type: 'message.send',
      actor: ann,
      room: 'lobby',
      clientMsgId: 'c',
    });
    expect(!missingBody.ok && missingBody.error.message).toMatch(/body/);
  });

  it('a command from an unknown actor is UNAUTHENTICATED', async () => {
    expect(
      await instances[0]!.executor.execute({ type: 'room.join', actor: 'ghost', name: 'lobby' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHENTICATED' },
    });
  });
});
