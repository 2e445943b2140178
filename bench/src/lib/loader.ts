/**
 * Fills a namespace's database the way use would: users, public rooms, memberships and
 * messages written through the store's own write methods (the same documents, indexes, outbox
 * marks and events a command writes). Not through the gateway: 260,000 writes through GraphQL
 * would take the benchmark an hour and measure the loader.
 *
 * Each write's events are then marked published by the loader itself, as the relay would after
 * publishing them, but without Kafka: left to the relay, the load is a backlog of 260,000
 * events, which the relay's backlog mode drains at ~12/s on FerretDB (its oldest-first page is
 * sorted in FerretDB's process, a scan of the whole backlog per page: docs/performance.md, S9),
 * and the audit consumer's catch-up would be the benchmark. The audit log therefore holds only
 * what the measured commands write.
 */
import { randomUUID } from 'node:crypto';
import { newEvent } from '@conversa/contracts';
import { openStore, toMessageView, toUserView, type UserDoc } from '@conversa/store';

export interface LoadSize {
  users: number;
  rooms: number;
  memberships: number;
  messages: number;
}

export interface Loaded {
  /** Public room ids, each with `messages / rooms` messages (seq 1 … n). */
  rooms: string[];
  /** How long each part took to write, ms. */
  ms: Record<keyof LoadSize, number>;
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at once; says on stderr how far it got. */
async function pool(what: string, n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  const t0 = Date.now();
  const tick = setInterval(() => process.stderr.write(`[load] ${what}: ${done} of ${n} after ${Math.round((Date.now() - t0) / 1000)} s\n`), 15_000);
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, n) }, async () => {
        while (next < n) {
          await task(next++);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(tick);
  }
}

export async function load(mongoUrl: string, dbName: string, size: LoadSize, prefix: string): Promise<Loaded> {
  const store = await openStore({ url: mongoUrl, dbName });
  const ms = { users: 0, rooms: 0, memberships: 0, messages: 0 };
  try {
    let t = Date.now();
    const users: UserDoc[] = [];
    await pool('users', size.users, 16, async (i) => {
      const id = randomUUID();
      const doc = {
        _id: id,
        username: `${prefix}u${i}`,
        displayName: `Loaded ${i}`,
        role: 'USER' as const,
        passwordHash: 'loaded-by-the-benchmark-no-login',
        createdAt: new Date(),
        outbox: [] as never[],
      };
      const event = newEvent('user.registered', id, id, { user: toUserView(doc) });
      users[i] = await store.users.create({ ...doc, outbox: [event] });
      await store.outbox.markPublished('users', id, [event]);
    });
    ms.users = Date.now() - t;

    t = Date.now();
    const rooms = Array.from({ length: size.rooms }, (_, r) => `${prefix}room-${r}`);
    await pool('rooms', rooms.length, 16, async (r) => {
      const id = rooms[r]!;
      const doc = { _id: id, name: id, kind: 'PUBLIC' as const, pair: [], createdAt: new Date(), slowModeSeconds: 0 };
      const event = newEvent('room.created', id, users[r % users.length]!._id, { room: id, name: id, kind: 'PUBLIC', members: [] });
      await store.rooms.ensure({ ...doc, outbox: [event] });
      await store.outbox.markPublished('rooms', id, [event]);
    });
    ms.rooms = Date.now() - t;

    // Memberships: the k-th is user k mod U's j-th room, j = k div U, room (u + j·step) mod R:
    // distinct rooms per user, members spread evenly over the rooms.
    t = Date.now();
    const perUser = Math.ceil(size.memberships / users.length);
    if (perUser > rooms.length) throw new Error(`${size.memberships} memberships need more than ${rooms.length} rooms per user`);
    const step = Math.max(1, Math.floor(rooms.length / perUser));
    await pool('memberships', size.memberships, 16, async (k) => {
      const u = k % users.length;
      const user = users[u]!._id;
      const room = rooms[(u + Math.floor(k / users.length) * step) % rooms.length]!;
      const event = newEvent('room.joined', room, user, { room, user });
      if (await store.rooms.setMembership(room, user, true, event)) await store.outbox.markPublished('memberships', `${room}/${user}`, [event]);
    });
    ms.memberships = Date.now() - t;

    // Messages: every room gets the same number, in batches of consecutive seqs (group commit).
    t = Date.now();
    const perRoom = Math.floor(size.messages / rooms.length);
    const BATCH = 100;
    const batches = rooms.flatMap((room, r) => Array.from({ length: Math.ceil(perRoom / BATCH) }, (_, b) => ({ room, r, from: b * BATCH + 1 })));
    // Batches of one room in seq order; rooms in parallel.
    await pool('rooms filled with messages', rooms.length, 4, async (r) => {
      for (const { room, from } of batches.filter((x) => x.r === r)) {
        const docs = [];
        for (let seq = from; seq < from + BATCH && seq <= perRoom; seq++) {
          const author = users[(r * 13 + seq) % users.length]!;
          const m = {
            room,
            seq,
            authorId: author._id,
            body: `loaded message ${seq} of ${room}: the quick brown fox jumps over the lazy dog`,
            status: 'VISIBLE' as const,
            clientMsgId: randomUUID(),
            createdAt: new Date(),
            editedAt: null,
            outbox: [] as never[],
          };
          const view = toMessageView({ ...m, _id: `${room}:${seq}` }, toUserView(author));
          docs.push({ ...m, posted: newEvent('message.posted', room, author._id, { message: view }) });
        }
        const stored = await store.messages.insertBatch(docs);
        await store.outbox.markAllPublished(stored.map((m) => ({ collection: 'messages', docId: m._id, events: [m.posted!], marked: true })));
      }
    });
    ms.messages = Date.now() - t;
    return { rooms, ms };
  } finally {
    await store.close();
  }
}
