import mongoose, { type Connection } from 'mongoose';
import type { DomainEvent } from '@conversa/contracts';
import {
  defineModels,
  type AuditChainDoc,
  type AuditDoc,
  type MembershipDoc,
  type ModerationActionDoc,
  type MuteDoc,
  type MessageDoc,
  type Models,
  type OutboxMarkDoc,
  type RoomDoc,
  type UserDoc,
} from './models.js';
import { asDuplicate, isAllDuplicates, PartialInsertError } from './errors.js';
import { LocalLocks, NoLocks, type DocLocks } from './keyed-mutex.js';
import { backendFromBuildInfo, documentLocksWanted, pointLookupsForIn, type DocumentLocksMode, type StoreBackend } from './backend.js';

/** A message's _id: its room and seq. Unique by construction, and found without an index. */
export const messageId = (room: string, seq: number): string => `${room}:${seq}`;

export interface StoreOptions {
  url: string;
  dbName: string;
  /**
   * Serializes updates of one document. FerretDB 1.x applies an update as read-modify-write
   * without a version check (FerretDB#3040), so two concurrent updates of one document can
   * lose one. Inserts are safe (unique indexes). Default: within this process only; the chat
   * service passes Redis locks so that its several processes are covered too. Used only when
   * `documentLocks` says so.
   */
  locks?: DocLocks;
  /**
   * Whether updates take `locks` at all: `auto` (default) on FerretDB, not on real MongoDB
   * (its single-document updates are atomic), as `buildInfo` tells at connect; `on`/`off`
   * force it. Config: STORE_DOCUMENT_LOCKS.
   */
  documentLocks?: DocumentLocksMode;
  /**
   * Called after each write that changes what a send checks (a user, a membership, a user's
   * mutes): the chat service drops it from its read caches, here and in its other processes.
   */
  onWrite?: (change: StoreChange) => void;
  /** Server selection timeout, ms (5 s). */
  timeoutMs?: number;
  /**
   * Called on each error path (for metrics): `command` for a command the server refused or
   * that failed on the wire (duplicate-key write errors inside an acknowledged insert are
   * not errors), `connection` for a connection error.
   */
  onError?: (op: 'command' | 'connection', err: unknown) => void;
}

export interface MessagePageQuery {
  before?: number;
  after?: number;
  limit: number;
}

export interface AuditQuery {
  room?: string;
  actor?: string;
  type?: string;
  since?: Date;
  until?: Date;
  /** Exclusive position (at, id) to continue after. */
  after?: { at: Date; id: string };
  limit: number;
  /** Newest first instead of oldest first (the default). */
  newestFirst?: boolean;
}

/** A pending event batch of one document, as the outbox relay sees it. */
/** What a write changed: a user (id), a membership (`room/user`), a user's mutes (user id). */
export interface StoreChange {
  kind: 'user' | 'membership' | 'mutes';
  key: string;
}

export interface PendingOutbox {
  collection: OutboxCollection;
  docId: string;
  events: DomainEvent[];
  /** A message's posted event, pending by its outbox mark (not by its outbox). */
  marked?: boolean;
}

/**
 * A mark older than this without its message is an orphan: the writer died between the two
 * inserts (which take milliseconds) and its job retried under another seq, or gave up.
 */
export const ORPHAN_MARK_MS = 30_000;
export type OutboxCollection = 'users' | 'rooms' | 'memberships' | 'messages' | 'moderation_actions';

export interface ModerationActionQuery {
  target?: string;
  /** Exclusive position (at, id) to continue after. */
  after?: { at: Date; id: string };
  limit: number;
}

/** The chain fields of an audit entry that is already stored. */
export type StoredChainFields = Pick<AuditDoc, '_id' | 'chain' | 'chainSeq' | 'hash'>;

type Insertable<T> = Omit<T, 'outboxPending'>;

/** MongoDB access for every conversa service: all reads and writes go through these repositories. */
export class Store {
  readonly models: Models;
  /** Whether updates run under document locks (StoreOptions.documentLocks). */
  readonly documentLocks: boolean;
  private readonly locks: DocLocks;

  private constructor(
    readonly connection: Connection,
    /** The server behind the connection, from its `buildInfo`. */
    readonly backend: StoreBackend,
    opts: Pick<StoreOptions, 'locks' | 'documentLocks'>,
    private readonly onWrite: (change: StoreChange) => void = () => undefined,
  ) {
    this.models = defineModels(connection);
    this.documentLocks = documentLocksWanted(opts.documentLocks ?? 'auto', backend);
    this.locks = this.documentLocks ? (opts.locks ?? new LocalLocks()) : new NoLocks();
  }

  /** Every update of a document runs under its lock (see StoreOptions.locks). */
  private locked<T>(collection: string, id: string, task: () => Promise<T>): Promise<T> {
    return this.locks.run(`${collection}:${id}`, task);
  }

  /**
   * Connects with a journaled majority write concern: an acknowledged write survives a
   * primary failover on a replica set (FerretDB accepts and ignores it; its PostgreSQL commits
   * synchronously). Asks the server's `buildInfo` which backend it is.
   */
  static async connect(opts: StoreOptions): Promise<Store> {
    const conn = mongoose.createConnection(opts.url, {
      dbName: opts.dbName,
      serverSelectionTimeoutMS: opts.timeoutMs ?? 5_000,
      writeConcern: { w: 'majority', j: true },
      autoIndex: false,
      autoCreate: false,
      // Command events are only emitted with monitoring on; needed for the error count.
      ...(opts.onError ? { monitorCommands: true } : {}),
    });
    const onError = opts.onError;
    if (onError) {
      conn.on('error', (e: unknown) => onError('connection', e));
      conn.getClient().on('commandFailed', (e) => {
        // ensureIndexes racing another process: the collection exists, which is what it wanted.
        if (e.commandName === 'create' && (e.failure as { code?: unknown }).code === 48) return;
        onError('command', e.failure);
      });
    }
    await conn.asPromise();
    const db = conn.db;
    if (!db) throw new Error('not connected');
    const info: Record<string, unknown> = await db.admin().command({ buildInfo: 1 });
    return new Store(conn, backendFromBuildInfo(info), opts, opts.onWrite);
  }

  /** Creates the indexes every query relies on (idempotent). */
  async ensureIndexes(): Promise<void> {
    for (const model of Object.values(this.models) as Models[keyof Models][]) {
      await model.createCollection().catch((e: unknown) => {
        if ((e as { code?: number }).code !== 48) throw e; // 48: NamespaceExists
      });
      await model.createIndexes();
    }
  }

  async ping(): Promise<void> {
    const db = this.connection.db;
    if (!db) throw new Error('not connected');
    await db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Drops the whole database: for tests only. */
  async dropDatabase(): Promise<void> {
    await this.connection.dropDatabase();
  }

  // ---- users -------------------------------------------------------------------------

  async createUser(doc: Insertable<UserDoc>): Promise<UserDoc> {
    try {
      const created = await this.models.User.create({ ...doc, outboxPending: doc.outbox.length > 0 });
      return created.toObject();
    } catch (e) {
      throw asDuplicate(e) ?? e;
    }
  }

  /** Sets the display name, storing `event` in the same write; null when the user does not exist. */
  async renameUser(id: string, displayName: string, event: DomainEvent): Promise<UserDoc | null> {
    const after = await this.locked('users', id, () =>
      this.models.User.findOneAndUpdate(
        { _id: id },
        { $set: { displayName, outboxPending: true }, $push: { outbox: event } },
        { returnDocument: 'after' },
      )
        .lean<UserDoc>()
        .exec(),
    );
    this.onWrite({ kind: 'user', key: id });
    return after;
  }

  findUserById(id: string): Promise<UserDoc | null> {
    return this.models.User.findById(id).lean<UserDoc>().exec();
  }

  findUserByUsername(username: string): Promise<UserDoc | null> {
    return this.models.User.findOne({ username: username.toLowerCase() }).lean<UserDoc>().exec();
  }

  /** Point look-ups for small sets (FerretDB scans for `$in`), one query for large ones. */
  async findUsersByIds(ids: readonly string[]): Promise<UserDoc[]> {
    const unique = [...new Set(ids)];
    if (unique.length > 64) return this.models.User.find({ _id: { $in: unique } }).lean<UserDoc[]>().exec();
    const found = await Promise.all(unique.map((id) => this.models.User.findById(id).lean<UserDoc>().exec()));
    return found.filter((u): u is UserDoc => u !== null);
  }

  listUsers(limit = 1_000): Promise<UserDoc[]> {
    return this.models.User.find().sort({ username: 1 }).limit(limit).lean<UserDoc[]>().exec();
  }

  // ---- rooms -------------------------------------------------------------------------

  findRoom(id: string): Promise<RoomDoc | null> {
    return this.models.Room.findById(id).lean<RoomDoc>().exec();
  }

  /** Inserts the room unless it exists; `created` says which. Safe when raced. */
  async ensureRoom(doc: Insertable<RoomDoc>): Promise<{ room: RoomDoc; created: boolean }> {
    const existing = await this.findRoom(doc._id);
    if (existing) return { room: existing, created: false };
    try {
      const created = await this.models.Room.create({ ...doc, outboxPending: doc.outbox.length > 0 });
      return { room: created.toObject(), created: true };
    } catch (e) {
      const dup = asDuplicate(e);
      if (!dup) throw e;
      const raced = await this.findRoom(doc._id);
      if (!raced) throw e;
      return { room: raced, created: false };
    }
  }

  /** Sets the room's slow mode, storing `event` in the same write; null when the room does not exist. */
  setRoomSlowMode(id: string, seconds: number, event: DomainEvent): Promise<RoomDoc | null> {
    return this.locked('rooms', id, () =>
      this.models.Room.findOneAndUpdate(
        { _id: id },
        { $set: { slowModeSeconds: seconds, outboxPending: true }, $push: { outbox: event } },
        { returnDocument: 'after' },
      )
        .lean<RoomDoc>()
        .exec(),
    );
  }

  listPublicRooms(limit = 1_000): Promise<RoomDoc[]> {
    return this.models.Room.find({ kind: 'PUBLIC' }).sort({ createdAt: 1 }).limit(limit).lean<RoomDoc[]>().exec();
  }

  listDirectRooms(userId: string): Promise<RoomDoc[]> {
    return this.models.Room.find({ pair: userId }).sort({ createdAt: 1 }).lean<RoomDoc[]>().exec();
  }

  // ---- memberships -------------------------------------------------------------------

  /** Marks the user a member; the event is stored only when the membership changes. */
  setMembership(room: string, user: string, active: boolean, event: DomainEvent): Promise<boolean> {
    const _id = `${room}/${user}`;
    // Read, decide and write under the document's lock: concurrent joins store one event.
    return this.locked('memberships', _id, () => this.applyMembership(_id, room, user, active, event)).finally(() =>
      this.onWrite({ kind: 'membership', key: _id }),
    );
  }

  private async applyMembership(_id: string, room: string, user: string, active: boolean, event: DomainEvent): Promise<boolean> {
    const current = await this.models.Membership.findById(_id).lean<MembershipDoc>().exec();
    if ((current?.active ?? false) === active) return false;
    if (!current) {
      try {
        await this.models.Membership.create({
          _id,
          room,
          user,
          active,
          joinedAt: new Date(),
          outbox: [event],
          outboxPending: true,
        });
        return true;
      } catch (e) {
        if (asDuplicate(e)) return false;
        throw e;
      }
    }
    const res = await this.models.Membership.updateOne(
      { _id, active: !active },
      {
        $set: { active, outboxPending: true, ...(active ? { joinedAt: new Date() } : {}) },
        $push: { outbox: event },
      },
    ).exec();
    return res.modifiedCount === 1;
  }

  async isMember(room: string, user: string): Promise<boolean> {
    const m = await this.models.Membership.findById(`${room}/${user}`).select({ active: 1 }).lean<Pick<MembershipDoc, 'active'>>().exec();
    return m?.active === true;
  }

  async memberIds(room: string): Promise<string[]> {
    const rows = await this.models.Membership.find({ room, active: true })
      .select({ user: 1 })
      .lean<Pick<MembershipDoc, 'user'>[]>()
      .exec();
    return rows.map((r) => r.user);
  }

  // ---- messages ----------------------------------------------------------------------

  /**
   * Newest seq of the room, 0 when empty. Sequences are dense and messages are never removed,
   * so "seq n exists" is monotone in n: gallop up from `hint` then bisect, with point look-ups
   * by _id — the only look-up FerretDB 1.x serves without scanning the collection.
   */
  async lastSeq(room: string, hint = 0): Promise<number> {
    const exists = async (seq: number) => seq === 0 || (await this.models.Message.exists({ _id: messageId(room, seq) })) !== null;
    let lo = hint > 0 && (await exists(hint)) ? hint : 0;
    let step = 1;
    let hi = lo + step;
    while (await exists(hi)) {
      lo = hi;
      step *= 2;
      hi = lo + step;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await exists(mid)) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Messages of the room with seq in [from, to], ascending, stopping at the first missing one. */
  private async seqRange(room: string, from: number, to: number): Promise<MessageDoc[]> {
    const out: MessageDoc[] = [];
    const BATCH = 32;
    for (let start = Math.max(1, from); start <= to; start += BATCH) {
      const seqs = Array.from({ length: Math.min(BATCH, to - start + 1) }, (_, i) => start + i);
      const docs = await Promise.all(
        seqs.map((seq) => this.models.Message.findById(messageId(room, seq)).select({ outbox: 0, posted: 0 }).lean<MessageDoc>().exec()),
      );
      for (const d of docs) {
        if (!d) return out;
        out.push(d);
      }
    }
    return out;
  }

  /**
   * Inserts a message; a DuplicateKeyError names `room_seq` or `author_clientMsgId`.
   *
   * With `posted` (its `message.posted` event), an outbox mark is written first, then the
   * message with the event in it: two inserts, no update, whatever the size of the collection.
   * A mark whose message never got written (the process died in between) is an orphan the
   * sweep drops once it is older than ORPHAN_MARK_MS; a mark this call wrote for a message it
   * then lost to another writer (duplicate key) is deleted at once.
   */
  async insertMessage(doc: Omit<Insertable<MessageDoc>, '_id'> & { _id?: string }): Promise<MessageDoc> {
    // The _id is always (room, seq), whatever the caller passed: see messageId.
    const id = messageId(doc.room, doc.seq);
    let marked = false;
    if (doc.posted) {
      try {
        await this.models.OutboxMark.create({ _id: id, at: new Date() });
        marked = true;
      } catch (e) {
        // Already marked: another writer of this seq (its message, or its orphan) owns the mark.
        if (!asDuplicate(e)) throw e;
      }
    }
    try {
      const created = await this.models.Message.create({ ...doc, _id: id, outboxPending: doc.outbox.length > 0 });
      // The mark that was there already belonged to another writer of this id (one that lost
      // the seq, or whose send was a retry), who may delete it or the sweep drop it as an orphan
      // at any moment: this message needs a mark of its own, or a relay in backlog mode (which
      // publishes only what marks name) would never publish it.
      if (doc.posted && !marked) await this.ensureMarks([id]);
      return created.toObject();
    } catch (e) {
      const dup = asDuplicate(e);
      // Refused, so nothing of ours was written. The mark may serve another writer's message with
      // this id (its own mark insert met ours): removed only when no message has the id, and
      // that writer then makes sure of a mark of its own (above).
      if (dup && marked && !(await this.models.Message.exists({ _id: id }).exec())) {
        await this.models.OutboxMark.deleteOne({ _id: id }).exec().catch(() => undefined);
      }
      throw dup ?? e;
    }
  }

  /** Outbox marks for these message ids, whether or not some exist already. */
  private async ensureMarks(ids: readonly string[]): Promise<void> {
    const at = new Date();
    await this.models.OutboxMark.insertMany(
      ids.map((_id) => ({ _id, at })),
      { ordered: false },
    ).catch((e: unknown) => {
      if (!isAllDuplicates(e)) throw e;
    });
  }

  /**
   * Inserts consecutive messages of one room at once (group commit): one `insertMany` of their
   * outbox marks, then one ordered `insertMany` of the messages, each with its `posted` event.
   * Resolves with all of them stored; otherwise rejects with a PartialInsertError saying how
   * many of the first ones were stored before the refused one (the caller goes on one by one).
   * Marks of messages that did not get in are orphans the sweep drops (see insertMessage).
   */
  async insertMessages(docs: (Omit<Insertable<MessageDoc>, '_id'> & { posted: DomainEvent })[]): Promise<MessageDoc[]> {
    const ids = docs.map((d) => messageId(d.room, d.seq));
    const at = new Date();
    // Marks already there (another writer's, an orphan) are not ours to rely on: see insertMessage.
    let foreignMarks = false;
    await this.models.OutboxMark.insertMany(
      ids.map((_id) => ({ _id, at })),
      { ordered: false },
    ).catch((e: unknown) => {
      if (!isAllDuplicates(e)) throw e;
      foreignMarks = true;
    });
    const rows = docs.map((d, i) => ({ ...d, _id: ids[i]!, outboxPending: d.outbox.length > 0 }));
    try {
      await this.models.Message.insertMany(rows, { ordered: true });
      if (foreignMarks) await this.ensureMarks(ids);
      return rows;
    } catch (e) {
      const inserted = (e as { insertedDocs?: unknown[] }).insertedDocs?.length ?? (e as { result?: { insertedCount?: number } }).result?.insertedCount ?? 0;
      if (foreignMarks && inserted > 0) await this.ensureMarks(ids.slice(0, inserted));
      throw new PartialInsertError(inserted, asDuplicate(e) ?? asDuplicate((e as { writeErrors?: unknown[] }).writeErrors?.[0]) ?? e);
    }
  }

  /**
   * Applies `set` to a message whose status is one of `from`, storing `event` in its outbox in
   * the same write. Returns the message after the change, or null when it was not in `from`.
   */
  updateMessage(
    id: string,
    from: MessageDoc['status'][],
    set: Partial<Pick<MessageDoc, 'body' | 'status' | 'editedAt'>>,
    event: DomainEvent,
  ): Promise<MessageDoc | null> {
    return this.locked('messages', id, () =>
      this.models.Message.findOneAndUpdate(
        { _id: id, status: { $in: from } },
        { $set: { ...set, outboxPending: true }, $push: { outbox: event } },
        { returnDocument: 'after' },
      )
        .lean<MessageDoc>()
        .exec(),
    );
  }

  findMessage(id: string): Promise<MessageDoc | null> {
    return this.models.Message.findById(id).lean<MessageDoc>().exec();
  }

  findMessageByClientId(authorId: string, clientMsgId: string): Promise<MessageDoc | null> {
    return this.models.Message.findOne({ authorId, clientMsgId }).lean<MessageDoc>().exec();
  }

  /**
   * One page of a room's history, ascending by seq. With `before`: the newest `limit` below it;
   * with `after`: the oldest `limit` above it; with neither: the newest `limit`. Dense
   * sequences turn every page into a known seq range, read by _id.
   */
  async messagePage(room: string, q: MessagePageQuery): Promise<{ messages: MessageDoc[]; hasMore: boolean }> {
    if (q.after !== undefined) {
      const rows = await this.seqRange(room, q.after + 1, q.after + q.limit + 1);
      return { messages: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
    }
    const top = q.before !== undefined ? q.before - 1 : await this.lastSeq(room);
    const from = Math.max(1, top - q.limit + 1);
    const rows = top >= 1 ? await this.seqRange(room, from, top) : [];
    return { messages: rows, hasMore: from > 1 && rows.length > 0 };
  }

  /** Messages with after < seq ≤ upTo, ascending: fills gaps in a live stream. */
  messagesBetween(room: string, after: number, upTo: number): Promise<MessageDoc[]> {
    return this.seqRange(room, after + 1, upTo);
  }

  // ---- outbox ------------------------------------------------------------------------

  /**
   * Documents with unpublished events, oldest first per collection, at most `limit` in all:
   * marked messages' `message.posted` events first, then outboxes.
   */
  async pendingOutbox(limit: number, now = new Date()): Promise<PendingOutbox[]> {
    const out = await this.pendingMarks(limit, now);
    for (const collection of OUTBOX_COLLECTIONS) {
      if (out.length >= limit) break;
      const model = this.outboxModel(collection);
      const rows = (await model
        .find({ outboxPending: true })
        .sort({ [OUTBOX_TIME_FIELD[collection]]: 1 })
        .select({ outbox: 1 })
        .limit(limit - out.length)
        .lean()
        .exec()) as unknown as { _id: string; outbox: DomainEvent[] }[];
      for (const r of rows) {
        if (r.outbox.length > 0) out.push({ collection, docId: r._id, events: r.outbox });
        else await this.markPublished(collection, r._id, []);
      }
    }
    return out;
  }

  /** The marked messages' posted events; drops marks that point at nothing (see insertMessage). */
  private async pendingMarks(limit: number, now: Date): Promise<PendingOutbox[]> {
    const marks = await this.models.OutboxMark.find().sort({ at: 1 }).limit(limit).lean<OutboxMarkDoc[]>().exec();
    const docs = await Promise.all(
      marks.map((m) => this.models.Message.findById(m._id).select({ posted: 1 }).lean<Pick<MessageDoc, '_id' | 'posted'>>().exec()),
    );
    const out: PendingOutbox[] = [];
    const drop: string[] = [];
    marks.forEach((m, i) => {
      const posted = docs[i]?.posted;
      if (posted) out.push({ collection: 'messages', docId: m._id, events: [posted], marked: true });
      else if (docs[i] || now.getTime() - m.at.getTime() > ORPHAN_MARK_MS) drop.push(m._id);
    });
    if (drop.length > 0) await this.models.OutboxMark.deleteMany({ _id: { $in: drop } }).exec();
    return out;
  }

  /** After a publish: deletes the marks, clears the outboxes (each under its document's lock). */
  async markAllPublished(docs: readonly PendingOutbox[], concurrency = 16): Promise<void> {
    const marked = docs.filter((d) => d.marked).map((d) => d.docId);
    if (marked.length > 0) await this.models.OutboxMark.deleteMany({ _id: { $in: marked } }).exec();
    const rest = docs.filter((d) => !d.marked);
    for (let i = 0; i < rest.length; i += concurrency) {
      await Promise.all(rest.slice(i, i + concurrency).map((p) => this.markPublished(p.collection, p.docId, p.events)));
    }
  }

  /**
   * Removes published events from the document's outbox; clears the flag once it is empty.
   * `$pullAll` of the exact stored events, not `$pull` with a condition: FerretDB 1.x silently
   * ignores conditional `$pull` (it only matches whole values).
   */
  markPublished(collection: OutboxCollection, docId: string, events: DomainEvent[]): Promise<void> {
    const model = this.outboxModel(collection);
    return this.locked(collection, docId, async () => {
      // The common case in one write: the outbox holds exactly the published events (array
      // equality, in order, as $pullAll compares them).
      const exact = events.length > 0 ? { outbox: events } : { outbox: { $size: 0 } };
      const all = await model.updateOne({ _id: docId, ...exact }, { $set: { outbox: [], outboxPending: false } }).exec();
      if (all.matchedCount > 0) return;
      if (events.length > 0) await model.updateOne({ _id: docId }, { $pullAll: { outbox: events } }).exec();
      // A write that pushed a new event meanwhile keeps the array non-empty, so the flag stays.
      await model.updateOne({ _id: docId, outbox: { $size: 0 } }, { $set: { outboxPending: false } }).exec();
    });
  }

  async countPendingOutbox(): Promise<number> {
    let n = await this.models.OutboxMark.countDocuments().exec();
    for (const c of OUTBOX_COLLECTIONS) n += await this.outboxModel(c).countDocuments({ outboxPending: true }).exec();
    return n;
  }

  private outboxModel(c: OutboxCollection) {
    switch (c) {
      case 'users':
        return this.models.User as unknown as mongoose.Model<Record<string, unknown>>;
      case 'rooms':
        return this.models.Room as unknown as mongoose.Model<Record<string, unknown>>;
      case 'memberships':
        return this.models.Membership as unknown as mongoose.Model<Record<string, unknown>>;
      case 'messages':
        return this.models.Message as unknown as mongoose.Model<Record<string, unknown>>;
      case 'moderation_actions':
        return this.models.ModerationAction as unknown as mongoose.Model<Record<string, unknown>>;
    }
  }

  // ---- audit log ---------------------------------------------------------------------

  /** Appends entries; ones already present (same event id) are skipped. Returns how many were new. */
  async appendAudit(entries: AuditDoc[]): Promise<number> {
    if (entries.length === 0) return 0;
    try {
      const res = await this.models.Audit.insertMany(entries, { ordered: false, rawResult: true });
      return res.insertedCount;
    } catch (e) {
      const err = e as { code?: number; writeErrors?: { code?: number; err?: { code?: number } }[]; insertedDocs?: unknown[]; result?: { insertedCount?: number } };
      const writeErrors = err.writeErrors ?? [];
      const allDup =
        (err.code === 11000 || writeErrors.length > 0) &&
        writeErrors.every((w) => (w.code ?? w.err?.code) === 11000);
      if (!allDup) throw e;
      return err.result?.insertedCount ?? entries.length - writeErrors.length;
    }
  }

  async auditPage(q: AuditQuery): Promise<AuditDoc[]> {
    const filter: Record<string, unknown> = {};
    if (q.room !== undefined) filter.room = q.room;
    if (q.actor !== undefined) filter.actor = q.actor;
    if (q.type !== undefined) filter.type = q.type;
    const at: Record<string, Date> = {};
    if (q.since) at.$gte = q.since;
    if (q.until) at.$lt = q.until;
    if (Object.keys(at).length > 0) filter.at = at;
    // The cursor is the last (at, id) returned; the next page continues past it in the same order.
    const past = q.newestFirst ? '$lt' : '$gt';
    if (q.after) {
      filter.$or = [{ at: { [past]: q.after.at } }, { at: q.after.at, _id: { [past]: q.after.id } }];
    }
    const dir = q.newestFirst ? -1 : 1;
    return this.models.Audit.find(filter).sort({ at: dir, _id: dir }).limit(q.limit).lean<AuditDoc[]>().exec();
  }

  countAudit(filter: { room?: string; type?: string } = {}): Promise<number> {
    return this.models.Audit.countDocuments(filter).exec();
  }

  // ---- audit chains ------------------------------------------------------------------

  /** Which of these event ids are in the log already, with their chain position. */
  auditEntriesByIds(ids: readonly string[]): Promise<StoredChainFields[]> {
    return this.byIds(ids, (filter) =>
      this.models.Audit.find(filter).select({ _id: 1, chain: 1, chainSeq: 1, hash: 1 }).lean<StoredChainFields[]>().exec(),
    );
  }

  /** The head records of these chains (by `_id`). */
  async chainHeads(chains: readonly string[]): Promise<Map<string, { seq: number; hash: string }>> {
    const rows = await this.byIds(chains, (filter) => this.models.AuditChain.find(filter).lean<AuditChainDoc[]>().exec());
    return new Map(rows.map((r) => [r._id, { seq: r.seq, hash: r.hash }]));
  }

  /**
   * Documents with these `_id`s: one `$in` on MongoDB; on FerretDB, which pushes `$in` down to
   * nothing and reads the whole collection, point look-ups (indexed), a bounded number at once.
   */
  private async byIds<T>(ids: readonly string[], find: (filter: Record<string, unknown>) => Promise<T[]>): Promise<T[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    if (!pointLookupsForIn(this.backend)) return find({ _id: { $in: unique } });
    const out: T[] = [];
    for (let i = 0; i < unique.length; i += POINT_LOOKUP_CONCURRENCY) {
      const found = await Promise.all(unique.slice(i, i + POINT_LOOKUP_CONCURRENCY).map((_id) => find({ _id })));
      out.push(...found.flat());
    }
    return out;
  }

  /** Every chain head record, for the verifier. */
  async allChainHeads(): Promise<Map<string, { seq: number; hash: string }>> {
    const rows = await this.models.AuditChain.find().lean<AuditChainDoc[]>().exec();
    return new Map(rows.map((r) => [r._id, { seq: r.seq, hash: r.hash }]));
  }

  /** The stored entry with the highest chainSeq of a chain: repairs a head left behind by a crash. */
  chainTail(chain: string): Promise<StoredChainFields | null> {
    return this.models.Audit.findOne({ chain })
      .sort({ chainSeq: -1 })
      .select({ _id: 1, chain: 1, chainSeq: 1, hash: 1 })
      .lean<StoredChainFields>()
      .exec();
  }

  /**
   * Inserts linked entries of one chain in order, stopping at the first refused one. A
   * DuplicateKeyError means a chain position (or an event id) was taken meanwhile.
   */
  async insertChained(entries: AuditDoc[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.models.Audit.insertMany(entries, { ordered: true });
    } catch (e) {
      const dup = asDuplicate(e) ?? asDuplicate((e as { writeErrors?: unknown[] }).writeErrors?.[0]);
      throw dup ?? e;
    }
  }

  /** Moves a chain's head record forward (never back: a stale writer cannot rewind it). */
  async setChainHead(chain: string, head: { seq: number; hash: string }): Promise<void> {
    const res = await this.models.AuditChain.updateOne(
      { _id: chain, seq: { $lt: head.seq } },
      { $set: { seq: head.seq, hash: head.hash, updatedAt: new Date() } },
    ).exec();
    if (res.matchedCount === 1) return;
    // No head yet: create it; a concurrent creator wins and the update above applies next time.
    const exists = await this.models.AuditChain.exists({ _id: chain }).exec();
    if (!exists) {
      await this.models.AuditChain.create({ _id: chain, seq: head.seq, hash: head.hash, updatedAt: new Date() }).catch((e: unknown) => {
        if (!asDuplicate(e)) throw e;
      });
    }
  }

  /** Every chained entry in (chain, chainSeq) order, streamed: what `audit verify` reads. */
  chainedAuditCursor(): AsyncIterable<AuditDoc> {
    return this.models.Audit.find({ chain: { $exists: true } })
      .sort({ chain: 1, chainSeq: 1 })
      .lean<AuditDoc>()
      .cursor({ batchSize: 1_000 });
  }

  /** Entries written before the log was chained. */
  countUnchainedAudit(): Promise<number> {
    return this.models.Audit.countDocuments({ chain: { $exists: false } }).exec();
  }

  // ---- moderation --------------------------------------------------------------------

  /** Records an applied action with its audit event in the same write; DuplicateKeyError when recorded already. */
  async insertModerationAction(doc: Omit<ModerationActionDoc, 'outboxPending'>): Promise<ModerationActionDoc> {
    try {
      const created = await this.models.ModerationAction.create({ ...doc, outboxPending: doc.outbox.length > 0 });
      return created.toObject();
    } catch (e) {
      throw asDuplicate(e) ?? e;
    }
  }

  findModerationAction(id: string): Promise<ModerationActionDoc | null> {
    return this.models.ModerationAction.findById(id).lean<ModerationActionDoc>().exec();
  }

  /** Actions oldest first by (at, id), optionally of one target, after a position. */
  moderationActionsPage(q: ModerationActionQuery): Promise<ModerationActionDoc[]> {
    const filter: Record<string, unknown> = {};
    if (q.target !== undefined) filter.target = q.target;
    if (q.after) filter.$or = [{ at: { $gt: q.after.at } }, { at: q.after.at, _id: { $gt: q.after.id } }];
    return this.models.ModerationAction.find(filter)
      .sort({ at: 1, _id: 1 })
      .limit(q.limit)
      .select({ outbox: 0 })
      .lean<ModerationActionDoc[]>()
      .exec();
  }

  /** The mutes that could apply to a user in a room: the room's and the one everywhere. */
  mutesFor(user: string, room: string): Promise<MuteDoc[]> {
    return this.byIds([`${user}/${room}`, `${user}/*`], (filter) => this.models.Mute.find(filter).lean<MuteDoc[]>().exec());
  }

  findMute(id: string): Promise<MuteDoc | null> {
    return this.models.Mute.findById(id).lean<MuteDoc>().exec();
  }

  /** Stores a mute, replacing the one of the same user and scope. */
  async putMute(doc: MuteDoc): Promise<void> {
    await this.models.Mute.replaceOne({ _id: doc._id }, doc, { upsert: true }).exec();
    this.onWrite({ kind: 'mutes', key: doc.user });
  }

  /** Lifts a mute if it is still the one set by `action`; true when it did. */
  async removeMute(id: string, action: string): Promise<boolean> {
    const res = await this.models.Mute.deleteOne({ _id: id, action }).exec();
    // The id is `${user}/${room or *}`.
    this.onWrite({ kind: 'mutes', key: id.slice(0, id.lastIndexOf('/')) });
    return res.deletedCount === 1;
  }

  /** Lifts every mute of a user; returns the lifted ones. */
  async removeMutesOf(user: string): Promise<MuteDoc[]> {
    const mutes = await this.models.Mute.find({ user }).lean<MuteDoc[]>().exec();
    for (const m of mutes) await this.models.Mute.deleteOne({ _id: m._id, action: m.action }).exec();
    this.onWrite({ kind: 'mutes', key: user });
    return mutes;
  }

  /** Every stored mute (chat re-schedules their ends at start, in case Redis lost the jobs). */
  listMutes(): Promise<MuteDoc[]> {
    return this.models.Mute.find().lean<MuteDoc[]>().exec();
  }
}

/** Point look-ups one `byIds` runs at once on FerretDB (its PostgreSQL pool holds 50 connections). */
const POINT_LOOKUP_CONCURRENCY = 32;
const OUTBOX_COLLECTIONS: readonly OutboxCollection[] = ['users', 'rooms', 'memberships', 'messages', 'moderation_actions'];
/** Oldest first within a collection, so a backlog goes out roughly in the order it was written. */
const OUTBOX_TIME_FIELD: Record<OutboxCollection, string> = {
  users: 'createdAt',
  rooms: 'createdAt',
  memberships: 'joinedAt',
  messages: 'createdAt',
  moderation_actions: 'at',
};
