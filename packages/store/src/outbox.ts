import type { Model } from 'mongoose';
import type { DomainEvent } from '@conversa/contracts';
import type { OutboxMarkDoc, MessageDoc } from './models.js';
import type { OutboxCollection, PendingOutbox, StoreConnection } from './connection.js';

/**
 * A mark older than this without its message is an orphan: the writer died between the two
 * inserts (which take milliseconds) and its job retried under another seq, or gave up.
 */
export const ORPHAN_MARK_MS = 30_000;

const OUTBOX_COLLECTIONS: readonly OutboxCollection[] = [
  'users',
  'rooms',
  'memberships',
  'messages',
  'moderation_actions',
  'reactions',
];
/** Oldest first within a collection, so a backlog goes out roughly in the order it was written. */
const OUTBOX_TIME_FIELD: Record<OutboxCollection, string> = {
  users: 'createdAt',
  rooms: 'createdAt',
  memberships: 'joinedAt',
  messages: 'createdAt',
  moderation_actions: 'at',
  reactions: 'at',
};

/**
 * The outbox, as the relay reads and clears it: every document's pending `outbox` events and the
 * posted messages' marks. The writes that store events are the other repositories'; each tells
 * the one listener registered on the store (`Store.onEventsStored`), the relay's fast path.
 */
export class OutboxRepository {
  constructor(private readonly db: StoreConnection) {}

  /**
   * Documents with unpublished events, oldest first per collection, at most `limit` in all:
   * marked messages' `message.posted` events first, then outboxes.
   */
  async pending(limit: number, now = new Date()): Promise<PendingOutbox[]> {
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

  /** The marked messages' posted events; drops marks that point at nothing (see MessageRepository.insert). */
  private async pendingMarks(limit: number, now: Date): Promise<PendingOutbox[]> {
    const marks = await this.db.models.OutboxMark.find()
      .sort({ at: 1 })
      .limit(limit)
      .lean<OutboxMarkDoc[]>()
      .exec();
    const docs = await Promise.all(
      marks.map((m) =>
        this.db.models.Message.findById(m._id)
          .select({ posted: 1 })
          .lean<Pick<MessageDoc, '_id' | 'posted'>>()
          .exec(),
      ),
    );
    const out: PendingOutbox[] = [];
    const drop: string[] = [];
    marks.forEach((m, i) => {
      const posted = docs[i]?.posted;
      if (posted)
        out.push({ collection: 'messages', docId: m._id, events: [posted], marked: true });
      else if (docs[i] || now.getTime() - m.at.getTime() > ORPHAN_MARK_MS) drop.push(m._id);
    });
    if (drop.length > 0) await this.db.models.OutboxMark.deleteMany({ _id: { $in: drop } }).exec();
    return out;
  }

  /** Deletes the outbox marks of these message ids (their posted events are on Kafka). */
  async deleteMarks(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.db.models.OutboxMark.deleteMany({ _id: { $in: [...ids] } }).exec();
  }

  /** After a publish: deletes the marks, clears the outboxes (each under its document's lock). */
  async markAllPublished(docs: readonly PendingOutbox[], concurrency = 16): Promise<void> {
    const marked = docs.filter((d) => d.marked).map((d) => d.docId);
    if (marked.length > 0)
      await this.db.models.OutboxMark.deleteMany({ _id: { $in: marked } }).exec();
    const rest = docs.filter((d) => !d.marked);
    for (let i = 0; i < rest.length; i += concurrency) {
      await Promise.all(
        rest
          .slice(i, i + concurrency)
          .map((p) => this.markPublished(p.collection, p.docId, p.events)),
      );
    }
  }

  /**
   * Removes published events from the document's outbox; clears the flag once it is empty.
   * `$pullAll` of the exact stored events, not `$pull` with a condition: FerretDB 1.x silently
   * ignores conditional `$pull` (it only matches whole values).
   */
  markPublished(collection: OutboxCollection, docId: string, events: DomainEvent[]): Promise<void> {
    const model = this.outboxModel(collection);
    return this.db.locked(collection, docId, async () => {
      // The common case in one write: the outbox holds exactly the published events (array
      // equality, in order, as $pullAll compares them).
      const exact = events.length > 0 ? { outbox: events } : { outbox: { $size: 0 } };
      const all = await model
        .updateOne({ _id: docId, ...exact }, { $set: { outbox: [], outboxPending: false } })
        .exec();
      if (all.matchedCount > 0) return;
      if (events.length > 0)
        await model.updateOne({ _id: docId }, { $pullAll: { outbox: events } }).exec();
      // A write that pushed a new event meanwhile keeps the array non-empty, so the flag stays.
      await model
        .updateOne({ _id: docId, outbox: { $size: 0 } }, { $set: { outboxPending: false } })
        .exec();
    });
  }

  async countPending(): Promise<number> {
    let n = await this.db.models.OutboxMark.countDocuments().exec();
    for (const c of OUTBOX_COLLECTIONS)
      n += await this.outboxModel(c).countDocuments({ outboxPending: true }).exec();
    return n;
  }

  private outboxModel(c: OutboxCollection) {
    switch (c) {
      case 'users':
        return this.db.models.User as unknown as Model<Record<string, unknown>>;
      case 'rooms':
        return this.db.models.Room as unknown as Model<Record<string, unknown>>;
      case 'memberships':
        return this.db.models.Membership as unknown as Model<Record<string, unknown>>;
      case 'messages':
        return this.db.models.Message as unknown as Model<Record<string, unknown>>;
      case 'moderation_actions':
        return this.db.models.ModerationAction as unknown as Model<Record<string, unknown>>;
      case 'reactions':
        return this.db.models.Reaction as unknown as Model<Record<string, unknown>>;
    }
  }
}
