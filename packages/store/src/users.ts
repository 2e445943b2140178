import type { DomainEvent } from '@conversa/contracts';
import type { UserDoc } from './models.js';
import { asDuplicate } from './errors.js';
import type { Insertable, StoreConnection } from './connection.js';

/** Users: registration, renames and the look-ups every service makes. */
export class UserRepository {
  constructor(private readonly db: StoreConnection) {}

  /** Inserts a user with its `user.registered` event; DuplicateKeyError (`username`) when taken. */
  async create(doc: Insertable<UserDoc>): Promise<UserDoc> {
    try {
      const created = await this.db.models.User.create({
        ...doc,
        outboxPending: doc.outbox.length > 0,
      });
      if (doc.outbox.length > 0)
        this.db.eventsStored({ collection: 'users', docId: doc._id, events: doc.outbox });
      return created.toObject();
    } catch (e) {
      throw asDuplicate(e) ?? e;
    }
  }

  /** Hides or shows the user's read receipts; null when the user does not exist. */
  async setReceiptsPrivate(id: string, hidden: boolean): Promise<UserDoc | null> {
    const after = await this.db.locked('users', id, () =>
      this.db.models.User.findOneAndUpdate({ _id: id }, { $set: { receiptsPrivate: hidden } }, { returnDocument: 'after' })
        .lean<UserDoc>()
        .exec(),
    );
    this.db.changed({ kind: 'user', key: id });
    return after;
  }

  /** Sets the display name, storing `event` in the same write; null when the user does not exist. */
  async rename(id: string, displayName: string, event: DomainEvent): Promise<UserDoc | null> {
    const after = await this.db.locked('users', id, () =>
      this.db.models.User.findOneAndUpdate(
        { _id: id },
        { $set: { displayName, outboxPending: true }, $push: { outbox: event } },
        { returnDocument: 'after' },
      )
        .lean<UserDoc>()
        .exec(),
    );
    this.db.changed({ kind: 'user', key: id });
    if (after) this.db.eventsStored({ collection: 'users', docId: id, events: [event] });
    return after;
  }

  findById(id: string): Promise<UserDoc | null> {
    return this.db.models.User.findById(id).lean<UserDoc>().exec();
  }

  findByUsername(username: string): Promise<UserDoc | null> {
    return this.db.models.User.findOne({ username: username.toLowerCase() }).lean<UserDoc>().exec();
  }

  /** Point look-ups for small sets (FerretDB scans for `$in`), one query for large ones. */
  async findByIds(ids: readonly string[]): Promise<UserDoc[]> {
    const unique = [...new Set(ids)];
    if (unique.length > 64)
      return this.db.models.User.find({ _id: { $in: unique } })
        .lean<UserDoc[]>()
        .exec();
    const found = await Promise.all(
      unique.map((id) => this.db.models.User.findById(id).lean<UserDoc>().exec()),
    );
    return found.filter((u): u is UserDoc => u !== null);
  }

  list(limit = 1_000): Promise<UserDoc[]> {
    return this.db.models.User.find().sort({ username: 1 }).limit(limit).lean<UserDoc[]>().exec();
  }
}
