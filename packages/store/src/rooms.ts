import type { DomainEvent } from '@conversa/contracts';
import type { MembershipDoc, RoomDoc } from './models.js';
import { asDuplicate } from './errors.js';
import type { Insertable, StoreConnection } from './connection.js';

/** A membership's _id: its room and user. */
export const membershipId = (room: string, user: string): string => `${room}/${user}`;

/** Rooms and their memberships (one aggregate: a membership means nothing without its room). */
export class RoomRepository {
  constructor(private readonly db: StoreConnection) {}

  findById(id: string): Promise<RoomDoc | null> {
    return this.db.models.Room.findById(id).lean<RoomDoc>().exec();
  }

  /**
   * Inserts the room unless it exists; `created` says which. Safe when raced. `absent`: the
   * caller has just read that it does not exist, so the insert goes first (a duplicate then
   * reads the room a racing writer created).
   */
  async ensure(doc: Insertable<RoomDoc>, opts: { absent?: boolean } = {}): Promise<{ room: RoomDoc; created: boolean }> {
    if (!opts.absent) {
      const existing = await this.findById(doc._id);
      if (existing) return { room: existing, created: false };
    }
    try {
      const created = await this.db.models.Room.create({
        ...doc,
        outboxPending: doc.outbox.length > 0,
      });
      if (doc.outbox.length > 0)
        this.db.eventsStored({ collection: 'rooms', docId: doc._id, events: doc.outbox });
      return { room: created.toObject(), created: true };
    } catch (e) {
      const dup = asDuplicate(e);
      if (!dup) throw e;
      const raced = await this.findById(doc._id);
      if (!raced) throw e;
      return { room: raced, created: false };
    }
  }

  /** Sets the room's slow mode, storing `event` in the same write; null when the room does not exist. */
  async setSlowMode(id: string, seconds: number, event: DomainEvent): Promise<RoomDoc | null> {
    const after = await this.db.locked('rooms', id, () =>
      this.db.models.Room.findOneAndUpdate(
        { _id: id },
        { $set: { slowModeSeconds: seconds, outboxPending: true }, $push: { outbox: event } },
        { returnDocument: 'after' },
      )
        .lean<RoomDoc>()
        .exec(),
    );
    this.db.changed({ kind: 'room', key: id });
    if (after) this.db.eventsStored({ collection: 'rooms', docId: id, events: [event] });
    return after;
  }

  listPublic(limit = 1_000): Promise<RoomDoc[]> {
    return this.db.models.Room.find({ kind: 'PUBLIC' })
      .sort({ createdAt: 1 })
      .limit(limit)
      .lean<RoomDoc[]>()
      .exec();
  }

  listDirect(userId: string): Promise<RoomDoc[]> {
    return this.db.models.Room.find({ pair: userId })
      .sort({ createdAt: 1 })
      .lean<RoomDoc[]>()
      .exec();
  }

  // ---- memberships -------------------------------------------------------------------

  /**
   * Marks the user a member (or not); the event is stored only when the membership changes.
   * `likelyNew`: the caller believes the user never was a member, so a join is first tried as
   * an insert (one write, no lock, no read); a membership that exists makes it fall back to
   * the locked read and update.
   */
  async setMembership(room: string, user: string, active: boolean, event: DomainEvent, opts: { likelyNew?: boolean } = {}): Promise<boolean> {
    const _id = membershipId(room, user);
    const stored = () => this.db.eventsStored({ collection: 'memberships', docId: _id, events: [event] });
    if (active && opts.likelyNew) {
      try {
        await this.db.models.Membership.create({ _id, room, user, active, joinedAt: new Date(), outbox: [event], outboxPending: true });
        stored();
        return true;
      } catch (e) {
        if (!asDuplicate(e)) throw e;
      }
    }
    // Read, decide and write under the document's lock: concurrent joins store one event.
    try {
      const done = await this.db.locked('memberships', _id, () => this.applyMembership(_id, room, user, active, event));
      if (done) stored();
      return done;
    } finally {
      // Only a membership that ends can leave a stale entry in a read cache (they cache
      // members, never absences): a join tells nobody.
      if (!active) this.db.changed({ kind: 'membership', key: _id });
    }
  }

  private async applyMembership(
    _id: string,
    room: string,
    user: string,
    active: boolean,
    event: DomainEvent,
  ): Promise<boolean> {
    const current = await this.db.models.Membership.findById(_id).lean<MembershipDoc>().exec();
    if ((current?.active ?? false) === active) return false;
    if (!current) {
      try {
        await this.db.models.Membership.create({
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
    const res = await this.db.models.Membership.updateOne(
      { _id, active: !active },
      {
        $set: { active, outboxPending: true, ...(active ? { joinedAt: new Date() } : {}) },
        $push: { outbox: event },
      },
    ).exec();
    return res.modifiedCount === 1;
  }

  async isMember(room: string, user: string): Promise<boolean> {
    const m = await this.db.models.Membership.findById(membershipId(room, user))
      .select({ active: 1 })
      .lean<Pick<MembershipDoc, 'active'>>()
      .exec();
    return m?.active === true;
  }

  /** Rooms by id: one `$in` on MongoDB, bounded point look-ups on FerretDB. */
  findByIds(ids: readonly string[]): Promise<RoomDoc[]> {
    return this.db.byIds(ids, (filter) => this.db.models.Room.find(filter).lean<RoomDoc[]>().exec());
  }

  /** Ids of the rooms a person is an active member of (public and group rooms; direct rooms have no memberships). */
  async roomIdsOf(user: string): Promise<string[]> {
    return (await this.membershipsOf(user)).map((r) => r.room);
  }

  /** A person's active memberships: the room and when they joined it. */
  membershipsOf(user: string): Promise<Pick<MembershipDoc, 'room' | 'joinedAt'>[]> {
    return this.db.models.Membership.find({ user, active: true })
      .select({ room: 1, joinedAt: 1 })
      .lean<Pick<MembershipDoc, 'room' | 'joinedAt'>[]>()
      .exec();
  }

  async memberIds(room: string): Promise<string[]> {
    const rows = await this.db.models.Membership.find({ room, active: true })
      .select({ user: 1 })
      .lean<Pick<MembershipDoc, 'user'>[]>()
      .exec();
    return rows.map((r) => r.user);
  }
}
