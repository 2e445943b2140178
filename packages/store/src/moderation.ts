import type { ModerationActionDoc, MuteDoc } from './models.js';
import { asDuplicate } from './errors.js';
import type { StoreConnection } from './connection.js';

export interface ModerationActionQuery {
  target?: string;
  /** Exclusive position (at, id) to continue after. */
  after?: { at: Date; id: string };
  limit: number;
}

/** Moderation: the applied actions (`moderation_actions`, with their audit events) and the mutes in force. */
export class ModerationRepository {
  constructor(private readonly db: StoreConnection) {}

  /** Records an applied action with its audit event in the same write; DuplicateKeyError when recorded already. */
  async insertAction(
    doc: Omit<ModerationActionDoc, 'outboxPending'>,
  ): Promise<ModerationActionDoc> {
    try {
      const created = await this.db.models.ModerationAction.create({
        ...doc,
        outboxPending: doc.outbox.length > 0,
      });
      if (doc.outbox.length > 0)
        this.db.eventsStored({
          collection: 'moderation_actions',
          docId: doc._id,
          events: doc.outbox,
        });
      return created.toObject();
    } catch (e) {
      throw asDuplicate(e) ?? e;
    }
  }

  findAction(id: string): Promise<ModerationActionDoc | null> {
    return this.db.models.ModerationAction.findById(id).lean<ModerationActionDoc>().exec();
  }

  /** Actions oldest first by (at, id), optionally of one target, after a position. */
  actionsPage(q: ModerationActionQuery): Promise<ModerationActionDoc[]> {
    const filter: Record<string, unknown> = {};
    if (q.target !== undefined) filter.target = q.target;
    if (q.after)
      filter.$or = [{ at: { $gt: q.after.at } }, { at: q.after.at, _id: { $gt: q.after.id } }];
    return this.db.models.ModerationAction.find(filter)
      .sort({ at: 1, _id: 1 })
      .limit(q.limit)
      .select({ outbox: 0 })
      .lean<ModerationActionDoc[]>()
      .exec();
  }

  /** The mutes that could apply to a user in a room: the room's and the one everywhere. */
  mutesFor(user: string, room: string): Promise<MuteDoc[]> {
    return this.db.byIds([`${user}/${room}`, `${user}/*`], (filter) =>
      this.db.models.Mute.find(filter).lean<MuteDoc[]>().exec(),
    );
  }

  findMute(id: string): Promise<MuteDoc | null> {
    return this.db.models.Mute.findById(id).lean<MuteDoc>().exec();
  }

  /** Stores a mute, replacing the one of the same user and scope. */
  async putMute(doc: MuteDoc): Promise<void> {
    await this.db.models.Mute.replaceOne({ _id: doc._id }, doc, { upsert: true }).exec();
    this.db.changed({ kind: 'mutes', key: doc.user });
  }

  /** Lifts a mute if it is still the one set by `action`; true when it did. */
  async removeMute(id: string, action: string): Promise<boolean> {
    const res = await this.db.models.Mute.deleteOne({ _id: id, action }).exec();
    // The id is `${user}/${room or *}`.
    this.db.changed({ kind: 'mutes', key: id.slice(0, id.lastIndexOf('/')) });
    return res.deletedCount === 1;
  }

  /** Lifts every mute of a user; returns the lifted ones. */
  async removeMutesOf(user: string): Promise<MuteDoc[]> {
    const mutes = await this.db.models.Mute.find({ user }).lean<MuteDoc[]>().exec();
    for (const m of mutes)
      await this.db.models.Mute.deleteOne({ _id: m._id, action: m.action }).exec();
    this.db.changed({ kind: 'mutes', key: user });
    return mutes;
  }

  /** Every stored mute (chat re-schedules their ends at start, in case Redis lost the jobs). */
  listMutes(): Promise<MuteDoc[]> {
    return this.db.models.Mute.find().lean<MuteDoc[]>().exec();
  }
}
