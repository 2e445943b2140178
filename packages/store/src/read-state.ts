import type { LastMessage, MentionDoc, MessageDoc, ReadStateDoc, RoomActivityDoc } from './models.js';
import { asDuplicate } from './errors.js';
import type { StoreConnection } from './connection.js';
import { messageId } from './messages.js';

/** A read position's _id: its room and user. */
export const readStateId = (room: string, user: string): string => `${room}/${user}`;

/** What a person's room list shows of one room: derived, never stored per member. */
export interface RoomCounts {
  lastReadSeq: number;
  unread: number;
  mentions: number;
}

/**
 * Unread and mention counts of one room for one reader, from the room's activity, the reader's
 * read position and the reader's unread @username mentions there.
 *
 * unread = the seqs in (lastReadSeq, lastSeq] that are VISIBLE. The reader's own messages are
 * never among them: a send moves its author's read position to it (and it never moves back),
 * so every own message has seq ≤ lastReadSeq. Seqs are dense, so the count is an interval
 * minus the non-VISIBLE seqs in it: no message is read.
 */
export function roomCounts(
  activity: Pick<RoomActivityDoc, 'lastSeq' | 'gone' | 'roomMentions'> | null,
  lastReadSeq: number,
  mentionSeqs: readonly number[],
): RoomCounts {
  if (!activity) return { lastReadSeq, unread: 0, mentions: 0 };
  const after = (s: number) => s > lastReadSeq && s <= activity.lastSeq;
  const gone = new Set(activity.gone.filter(after));
  const unread = Math.max(0, activity.lastSeq - lastReadSeq - gone.size);
  const mentioned = new Set<number>();
  for (const s of mentionSeqs) if (after(s) && !gone.has(s)) mentioned.add(s);
  for (const s of activity.roomMentions) if (after(s) && !gone.has(s)) mentioned.add(s);
  return { lastReadSeq, unread, mentions: mentioned.size };
}

const lastOf = (m: LastMessage): LastMessage => ({
  _id: m._id,
  room: m.room,
  seq: m.seq,
  authorId: m.authorId,
  body: m.body,
  status: m.status,
  clientMsgId: m.clientMsgId,
  createdAt: m.createdAt,
  editedAt: m.editedAt,
  pinnedAt: m.pinnedAt ?? null,
});

/**
 * Where room lists read room activity first when the database cannot read many documents by id
 * in one trip (FerretDB 1.x pushes no `$in` down: 1,000 rooms would be 1,000 point look-ups).
 * Written by the activity's writer under the room's activity lock, so entries follow the
 * database in order; a reader that finds none reads the database and fills the entry only if
 * it is still absent. Entries expire (a failed write of the cache is stale for at most that long).
 */
export interface ActivityCache {
  get(rooms: readonly string[]): Promise<Map<string, RoomActivityDoc>>;
  put(doc: RoomActivityDoc): Promise<void>;
  /** Stores it unless an entry exists: a reader's fill never overwrites a writer's newer entry. */
  fill(doc: RoomActivityDoc): Promise<void>;
}

/** The part of an ioredis client the activity cache uses. */
export interface ActivityRedis {
  mget(...keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<unknown>;
}

/** How long a cached activity lives without a write. */
const ACTIVITY_CACHE_TTL_MS = 6 * 3_600_000;
/** Keys one MGET asks for. */
const ACTIVITY_MGET_CHUNK = 500;

const reviveActivity = (raw: string): RoomActivityDoc => {
  const a = JSON.parse(raw) as RoomActivityDoc & { lastAt: string; last: (LastMessage & { createdAt: string; editedAt: string | null; pinnedAt?: string | null }) | null };
  return {
    ...a,
    lastAt: new Date(a.lastAt),
    last: a.last
      ? {
          ...a.last,
          createdAt: new Date(a.last.createdAt),
          editedAt: a.last.editedAt ? new Date(a.last.editedAt) : null,
          pinnedAt: a.last.pinnedAt ? new Date(a.last.pinnedAt) : null,
        }
      : null,
  };
};

/** The activity cache in Redis: one JSON string per room under `keyOf(room)`. */
export function redisActivityCache(redis: ActivityRedis, keyOf: (room: string) => string, ttlMs = ACTIVITY_CACHE_TTL_MS): ActivityCache {
  return {
    async get(rooms) {
      const out = new Map<string, RoomActivityDoc>();
      for (let i = 0; i < rooms.length; i += ACTIVITY_MGET_CHUNK) {
        const chunk = rooms.slice(i, i + ACTIVITY_MGET_CHUNK);
        const values = await redis.mget(...chunk.map(keyOf));
        values.forEach((v, j) => {
          if (v !== null) out.set(chunk[j]!, reviveActivity(v));
        });
      }
      return out;
    },
    async put(doc) {
      await redis.set(keyOf(doc._id), JSON.stringify(doc), 'PX', ttlMs);
    },
    async fill(doc) {
      await redis.set(keyOf(doc._id), JSON.stringify(doc), 'PX', ttlMs, 'NX');
    },
  };
}

/** How far back a room's last VISIBLE message is looked for when the newest one goes away. */
const LAST_VISIBLE_LOOKBACK = 200;

/**
 * Read state: each room's activity (newest seq, newest VISIBLE message, which seqs are not
 * VISIBLE, which mention @room), each member's read position, and unread @username mentions.
 * The write path keeps the activity (the message repository after every insert and status or
 * body change, the send after its mentions); readers derive counts with `roomCounts`.
 */
export class ReadStateRepository {
  /** Used only where updates run under document locks (FerretDB): there the writes are ordered. */
  private readonly cache: ActivityCache | undefined;

  constructor(
    private readonly db: StoreConnection,
    cache?: ActivityCache,
  ) {
    this.cache = db.documentLocks ? cache : undefined;
  }

  /** A cache write that fails leaves the entry to expire; the database write stands. */
  private async cachePut(doc: RoomActivityDoc | null): Promise<void> {
    if (!doc || !this.cache) return;
    await this.cache.put(doc).catch(() => undefined);
  }

  // ---- room activity ------------------------------------------------------------------

  /**
   * The room's newest message is `m` (inserted just now, or found again by a retried send):
   * moves lastSeq and the last message forward, never back. Idempotent.
   */
  async posted(m: LastMessage): Promise<void> {
    const Activity = this.db.models.RoomActivity;
    await this.db.locked('room_activity', m.room, async () => {
      const after = await Activity.findOneAndUpdate(
        { _id: m.room, lastSeq: { $lt: m.seq } },
        { $set: { lastSeq: m.seq, lastAt: m.createdAt, ...(m.status === 'VISIBLE' ? { last: lastOf(m) } : {}) } },
        { returnDocument: 'after' },
      )
        .lean<RoomActivityDoc>()
        .exec();
      if (after) return this.cachePut(after);
      const doc: RoomActivityDoc = { _id: m.room, lastSeq: m.seq, lastAt: m.createdAt, last: m.status === 'VISIBLE' ? lastOf(m) : null, gone: [], roomMentions: [] };
      try {
        await Activity.create(doc);
        await this.cachePut(doc);
      } catch (e) {
        if (!asDuplicate(e)) throw e; // there, and as new or newer: nothing to move
      }
    });
  }

  /** Message `seq` of `room` mentions @room (after `posted`). Idempotent. */
  async mentionedRoom(room: string, seq: number): Promise<void> {
    await this.db.locked('room_activity', room, async () =>
      this.cachePut(
        await this.db.models.RoomActivity.findOneAndUpdate({ _id: room }, { $addToSet: { roomMentions: seq } }, { returnDocument: 'after' })
          .lean<RoomActivityDoc>()
          .exec(),
      ),
    );
  }

  /**
   * A message changed (edited, hidden, unhidden, deleted): a non-VISIBLE one stops counting,
   * a VISIBLE one counts again, and the last message follows (a hidden newest message hands
   * over to the newest VISIBLE one before it).
   */
  async changed(m: LastMessage): Promise<void> {
    const Activity = this.db.models.RoomActivity;
    await this.db.locked('room_activity', m.room, async () => {
      const a = await Activity.findById(m.room).lean<RoomActivityDoc>().exec();
      if (!a) return; // posted before read state existed: nothing counted to correct
      const visible = m.status === 'VISIBLE';
      const gone = new Set(a.gone);
      if (visible) gone.delete(m.seq);
      else gone.add(m.seq);
      let last = a.last;
      if (visible && (!last || last.seq <= m.seq)) last = lastOf(m);
      else if (!visible && last?._id === m._id) last = await this.newestVisible(m.room, m.seq - 1, gone);
      const goneSorted = [...gone].sort((x, y) => x - y);
      await Activity.updateOne({ _id: m.room }, { $set: { gone: goneSorted, last } }).exec();
      await this.cachePut({ ...a, gone: goneSorted, last });
    });
  }

  /** The newest VISIBLE message at or below `from`, skipping the known non-VISIBLE seqs. */
  private async newestVisible(room: string, from: number, gone: Set<number>): Promise<LastMessage | null> {
    for (let s = from, looked = 0; s >= 1 && looked < LAST_VISIBLE_LOOKBACK; s--) {
      if (gone.has(s)) continue;
      looked++;
      const doc = await this.db.models.Message.findById(messageId(room, s)).lean<MessageDoc>().exec();
      if (doc?.status === 'VISIBLE') return lastOf(doc);
      if (doc) gone.add(s);
    }
    return null;
  }

  activity(room: string): Promise<RoomActivityDoc | null> {
    return this.db.models.RoomActivity.findById(room).lean<RoomActivityDoc>().exec();
  }

  /**
   * The activity of many rooms: one `$in` on MongoDB; on FerretDB the cache first (one trip for
   * all of them) and point look-ups only for what it misses, which then fill it.
   */
  async activities(rooms: readonly string[]): Promise<RoomActivityDoc[]> {
    const fromDb = (ids: readonly string[]) => this.db.byIds(ids, (filter) => this.db.models.RoomActivity.find(filter).lean<RoomActivityDoc[]>().exec());
    if (!this.cache) return fromDb(rooms);
    const cached = await this.cache.get(rooms).catch(() => new Map<string, RoomActivityDoc>());
    const missing = rooms.filter((r) => !cached.has(r));
    const read = missing.length > 0 ? await fromDb(missing) : [];
    await Promise.all(read.map((a) => this.cache!.fill(a).catch(() => undefined)));
    return [...cached.values(), ...read];
  }

  // ---- read positions -----------------------------------------------------------------

  /**
   * Moves `user`'s read position in `room` up to `seq`; a lower or equal seq changes nothing.
   * True when it moved. Safe when raced (never moves back): the update is conditional and, on
   * FerretDB, under the document's lock.
   */
  async advance(room: string, user: string, seq: number, at: Date = new Date()): Promise<boolean> {
    const _id = readStateId(room, user);
    const ReadState = this.db.models.ReadState;
    return this.db.locked('read_states', _id, async () => {
      const res = await ReadState.updateOne({ _id, lastReadSeq: { $lt: seq } }, { $set: { lastReadSeq: seq, at } }).exec();
      if (res.matchedCount === 1) return true;
      try {
        await ReadState.create({ _id, room, user, lastReadSeq: seq, at });
        return true;
      } catch (e) {
        if (asDuplicate(e)) return false; // there already, at seq or beyond
        throw e;
      }
    });
  }

  /** Every read position of a person (their room list reads them at once). */
  positionsOf(user: string): Promise<ReadStateDoc[]> {
    return this.db.models.ReadState.find({ user }).lean<ReadStateDoc[]>().exec();
  }

  position(room: string, user: string): Promise<ReadStateDoc | null> {
    return this.db.models.ReadState.findById(readStateId(room, user)).lean<ReadStateDoc>().exec();
  }

  /** The read positions of a room's members (receipts). */
  positionsIn(room: string): Promise<ReadStateDoc[]> {
    return this.db.models.ReadState.find({ room }).lean<ReadStateDoc[]>().exec();
  }

  // ---- mentions -----------------------------------------------------------------------

  /** Message `seq` of `room` mentions these users by @username. Idempotent. */
  async mentioned(room: string, seq: number, users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    const docs: MentionDoc[] = users.map((user) => ({ _id: `${room}/${seq}/${user}`, user, room, seq }));
    try {
      await this.db.models.Mention.insertMany(docs, { ordered: false });
    } catch (e) {
      if (!asDuplicate(e)) throw e; // a retried send: the rows are there
    }
  }

  /** A person's unread @username mentions (their rows are deleted as they read). */
  mentionsOf(user: string): Promise<MentionDoc[]> {
    return this.db.models.Mention.find({ user }).lean<MentionDoc[]>().exec();
  }

  /** Forgets `user`'s mentions in `room` up to `seq`: they are read. */
  async readMentions(room: string, user: string, seq: number): Promise<void> {
    const rows = await this.db.models.Mention.find({ user, room }).select({ seq: 1 }).lean<Pick<MentionDoc, '_id' | 'seq'>[]>().exec();
    const read = rows.filter((r) => r.seq <= seq).map((r) => r._id);
    for (const _id of read) await this.db.models.Mention.deleteOne({ _id }).exec();
  }
}
