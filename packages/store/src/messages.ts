import type { DomainEvent } from '@conversa/contracts';
import type { MessageDoc } from './models.js';
import { asDuplicate, isAllDuplicates, PartialInsertError } from './errors.js';
import type { Insertable, StoreConnection } from './connection.js';
import type { ReadStateRepository } from './read-state.js';

/** A message's _id: its room and seq. Unique by construction, and found without an index. */
export const messageId = (room: string, seq: number): string => `${room}:${seq}`;

export interface MessagePageQuery {
  before?: number;
  after?: number;
  limit: number;
}

/** A message as a sender writes it: `_id` follows from (room, seq). */
export type NewMessage = Omit<Insertable<MessageDoc>, '_id'> & { _id?: string };

/**
 * Messages: the dense per-room sequence, the retry-safe insert (unique `author_clientMsgId`),
 * group commit, edits and status changes, history pages. A posted message's event is made
 * pending by its outbox mark (`outbox_marks`), written here with the message.
 */
export class MessageRepository {
  /**
   * `readState`: the room activity every insert and change keeps (read-state.ts), so that no
   * write of a message can forget it.
   */
  constructor(
    private readonly db: StoreConnection,
    private readonly readState: ReadStateRepository,
  ) {}

  /**
   * Newest seq of the room, 0 when empty. Sequences are dense and messages are never removed,
   * so "seq n exists" is monotone in n: gallop up from `hint` then bisect, with point look-ups
   * by _id — the only look-up FerretDB 1.x serves without scanning the collection.
   */
  async lastSeq(room: string, hint = 0): Promise<number> {
    const exists = async (seq: number) =>
      seq === 0 || (await this.db.models.Message.exists({ _id: messageId(room, seq) })) !== null;
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
        seqs.map((seq) =>
          this.db.models.Message.findById(messageId(room, seq))
            .select({ outbox: 0, posted: 0 })
            .lean<MessageDoc>()
            .exec(),
        ),
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
  async insert(doc: NewMessage): Promise<MessageDoc> {
    // The _id is always (room, seq), whatever the caller passed: see messageId.
    const id = messageId(doc.room, doc.seq);
    let marked = false;
    if (doc.posted) {
      try {
        await this.db.models.OutboxMark.create({ _id: id, at: new Date() });
        marked = true;
      } catch (e) {
        // Already marked: another writer of this seq (its message, or its orphan) owns the mark.
        if (!asDuplicate(e)) throw e;
      }
    }
    try {
      const created = await this.db.models.Message.create({
        ...doc,
        _id: id,
        outboxPending: doc.outbox.length > 0,
      });
      // The mark that was there already belonged to another writer of this id (one that lost
      // the seq, or whose send was a retry), who may delete it or the sweep drop it as an orphan
      // at any moment: this message needs a mark of its own, or a relay in backlog mode (which
      // publishes only what marks name) would never publish it.
      if (doc.posted && !marked) await this.ensureMarks([id]);
      if (doc.posted)
        this.db.eventsStored({
          collection: 'messages',
          docId: id,
          events: [doc.posted],
          marked: true,
        });
      const stored = created.toObject();
      await this.readState.posted(stored);
      return stored;
    } catch (e) {
      const dup = asDuplicate(e);
      // Refused, so nothing of ours was written. The mark may serve another writer's message with
      // this id (its own mark insert met ours): removed only when no message has the id, and
      // that writer then makes sure of a mark of its own (above).
      if (dup && marked && !(await this.db.models.Message.exists({ _id: id }).exec())) {
        await this.db.models.OutboxMark.deleteOne({ _id: id })
          .exec()
          .catch(() => undefined);
      }
      throw dup ?? e;
    }
  }

  /** Outbox marks for these message ids, whether or not some exist already. */
  private async ensureMarks(ids: readonly string[]): Promise<void> {
    const at = new Date();
    await this.db.models.OutboxMark.insertMany(
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
   * Marks of messages that did not get in are orphans the sweep drops (see MessageRepository.insert).
   */
  async insertBatch(docs: (NewMessage & { posted: DomainEvent })[]): Promise<MessageDoc[]> {
    const ids = docs.map((d) => messageId(d.room, d.seq));
    const at = new Date();
    // Marks already there (another writer's, an orphan) are not ours to rely on: see insert.
    let foreignMarks = false;
    await this.db.models.OutboxMark.insertMany(
      ids.map((_id) => ({ _id, at })),
      { ordered: false },
    ).catch((e: unknown) => {
      if (!isAllDuplicates(e)) throw e;
      foreignMarks = true;
    });
    const rows = docs.map((d, i) => ({ ...d, _id: ids[i]!, outboxPending: d.outbox.length > 0 }));
    try {
      await this.db.models.Message.insertMany(rows, { ordered: true });
      if (foreignMarks) await this.ensureMarks(ids);
      for (const r of rows)
        this.db.eventsStored({
          collection: 'messages',
          docId: r._id,
          events: [r.posted],
          marked: true,
        });
      // The newest of the batch is the room's newest: one activity update for the batch.
      await this.readState.posted(rows.reduce((a, b) => (b.seq > a.seq ? b : a)));
      return rows;
    } catch (e) {
      const inserted =
        (e as { insertedDocs?: unknown[] }).insertedDocs?.length ??
        (e as { result?: { insertedCount?: number } }).result?.insertedCount ??
        0;
      if (foreignMarks && inserted > 0) await this.ensureMarks(ids.slice(0, inserted));
      if (inserted > 0) await this.readState.posted(rows[inserted - 1]!);
      for (const r of rows.slice(0, inserted))
        this.db.eventsStored({
          collection: 'messages',
          docId: r._id,
          events: [r.posted],
          marked: true,
        });
      throw new PartialInsertError(
        inserted,
        asDuplicate(e) ?? asDuplicate((e as { writeErrors?: unknown[] }).writeErrors?.[0]) ?? e,
      );
    }
  }

  /**
   * Applies `set` to a message whose status is one of `from`, storing `event` in its outbox in
   * the same write. Returns the message after the change, or null when it was not in `from`.
   */
  async update(
    id: string,
    from: MessageDoc['status'][],
    set: Partial<Pick<MessageDoc, 'body' | 'status' | 'editedAt' | 'mentions' | 'mentionsRoom'>>,
    event: DomainEvent,
  ): Promise<MessageDoc | null> {
    const after = await this.changeWithEvent(id, { _id: id, status: { $in: from } }, set, event);
    if (after) {
      // A reply that became (in)visible changes its root's reply count.
      if (after.parentId && set.status !== undefined) await this.recountThread(after.parentId);
    }
    return after;
  }

  /** A thread's replies, every status, ascending by seq: one equality query on `parentId`. */
  async replies(root: string): Promise<MessageDoc[]> {
    const rows = await this.db.models.Message.find({ parentId: root }).select({ outbox: 0, posted: 0 }).lean<MessageDoc[]>().exec();
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /** One page of a thread's replies, ascending by seq, those after `after` (a room seq). */
  async threadPage(root: string, q: { after?: number; limit: number }): Promise<{ messages: MessageDoc[]; hasMore: boolean }> {
    const all = await this.replies(root);
    const rest = q.after !== undefined ? all.filter((m) => m.seq > q.after!) : all;
    return { messages: rest.slice(0, q.limit), hasMore: rest.length > q.limit };
  }

  /**
   * Recounts a thread root's summary (VISIBLE replies, the newest one's time) from its replies
   * and stores it; resolves with the root after it (null: no such message). Recounted, never
   * incremented, and serialized per root: exact after any mix of concurrent replies, hides,
   * retries and crashes (the next recount repairs a missed one).
   */
  async recountThread(root: string): Promise<MessageDoc | null> {
    return this.db.serialized('messages', root, async () => {
      const visible = (await this.replies(root)).filter((r) => r.status === 'VISIBLE');
      const lastReplyAt = visible.reduce<Date | null>((a, r) => (!a || r.createdAt > a ? r.createdAt : a), null);
      return this.db.models.Message.findOneAndUpdate({ _id: root }, { $set: { replyCount: visible.length, lastReplyAt } }, { returnDocument: 'after' })
        .lean<MessageDoc>()
        .exec();
    });
  }

  /**
   * Pins (`pin` given) a VISIBLE message that is not pinned, or unpins (`pin` null) a pinned one,
   * storing `event` in its outbox in the same write. Returns the message after the change, or
   * null when it was not in that state (nothing written). PinRepository orders this write with
   * the room's pin rows.
   */
  async setPinned(id: string, pin: { at: Date; by: string } | null, event: DomainEvent): Promise<MessageDoc | null> {
    // `pinnedAt: null` also matches documents from before pins (no such field).
    const filter = pin ? { _id: id, status: 'VISIBLE' as const, pinnedAt: null } : { _id: id, pinnedAt: { $ne: null } };
    // Room lists show the last message with its pin (changeWithEvent keeps the activity).
    return this.changeWithEvent(id, filter, { pinnedAt: pin?.at ?? null, pinnedBy: pin?.by ?? null }, event);
  }

  /**
   * Applies `set` to the message if it matches `filter`, storing `event` in its outbox in the
   * same write (under the document's lock), then tells the relay and keeps the room's activity.
   * Returns the message after the change, or null when it did not match (nothing written).
   */
  private async changeWithEvent(id: string, filter: Record<string, unknown>, set: Record<string, unknown>, event: DomainEvent): Promise<MessageDoc | null> {
    const after = await this.db.locked('messages', id, () =>
      this.db.models.Message.findOneAndUpdate(filter, { $set: { ...set, outboxPending: true }, $push: { outbox: event } }, { returnDocument: 'after' })
        .lean<MessageDoc>()
        .exec(),
    );
    if (after) {
      this.db.eventsStored({ collection: 'messages', docId: id, events: [event] });
      await this.readState.changed(after);
    }
    return after;
  }

  findById(id: string): Promise<MessageDoc | null> {
    return this.db.models.Message.findById(id).lean<MessageDoc>().exec();
  }

  /** Messages with these ids, in no particular order (point look-ups on FerretDB); without their outboxes. */
  findByIds(ids: readonly string[]): Promise<MessageDoc[]> {
    return this.db.byIds(ids, (filter) => this.db.models.Message.find(filter).select({ outbox: 0, posted: 0 }).lean<MessageDoc[]>().exec());
  }

  findByClientId(authorId: string, clientMsgId: string): Promise<MessageDoc | null> {
    return this.db.models.Message.findOne({ authorId, clientMsgId }).lean<MessageDoc>().exec();
  }

  /**
   * One page of a room's history, ascending by seq. With `before`: the newest `limit` below it;
   * with `after`: the oldest `limit` above it; with neither: the newest `limit`. Dense
   * sequences turn every page into a known seq range, read by _id.
   */
  async page(
    room: string,
    q: MessagePageQuery,
  ): Promise<{ messages: MessageDoc[]; hasMore: boolean }> {
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
  between(room: string, after: number, upTo: number): Promise<MessageDoc[]> {
    return this.seqRange(room, after + 1, upTo);
  }
}
