import type { DomainEvent, MemberRole } from '@conversa/contracts';
import type { MembershipDoc, RoomDoc } from './models.js';
import { asDuplicate, isAllDuplicates } from './errors.js';
import type { Insertable, StoreConnection } from './connection.js';
import { membershipId } from './rooms.js';

/** An active member of a group and their role. */
export interface GroupMember {
  user: string;
  role: MemberRole;
}

/**
 * Group rooms (kind GROUP) and their memberships with roles. Memberships live in the same
 * `memberships` collection as public rooms' (same `_id`s, same indexes, same outbox); only
 * group memberships carry a `role`.
 *
 * Concurrency: a handler that reads, decides and writes a group's memberships (the member
 * count, the one OWNER) runs under `locked(room)`, the group's lock across chat processes
 * (the store's document locks: Redis in the chat service). Each write below also takes its
 * document's lock, so it never loses an update on FerretDB. On real MongoDB document locks are
 * off (its single-document updates are atomic), and `locked` then serializes within one
 * process only.
 */
export class GroupRepository {
  constructor(private readonly db: StoreConnection) {}

  /** Runs `task` holding the group's lock (not a document's: the writes inside take those). */
  locked<T>(room: string, task: () => Promise<T>): Promise<T> {
    return this.db.locked('groups', room, task);
  }

  /**
   * Inserts the initial memberships of a new group, without events (its `room.created` lists
   * them). Idempotent: memberships already there (a retried create) are left as they are.
   */
  async insertInitial(room: string, members: readonly GroupMember[], at: Date): Promise<void> {
    if (members.length === 0) return;
    const docs = members.map((m) => ({ _id: membershipId(room, m.user), room, user: m.user, active: true, role: m.role, joinedAt: at, outbox: [], outboxPending: false }));
    try {
      await this.db.models.Membership.insertMany(docs, { ordered: false });
    } catch (e) {
      if (!isAllDuplicates(e)) throw e;
    }
  }

  /** Inserts the group room with its `room.created` event; an existing room of that id is returned as it is. */
  async createRoom(doc: Insertable<RoomDoc>): Promise<{ room: RoomDoc; created: boolean }> {
    try {
      const created = await this.db.models.Room.create({ ...doc, outboxPending: doc.outbox.length > 0 });
      if (doc.outbox.length > 0) this.db.eventsStored({ collection: 'rooms', docId: doc._id, events: doc.outbox });
      return { room: created.toObject(), created: true };
    } catch (e) {
      if (!asDuplicate(e)) throw e;
      const existing = await this.db.models.Room.findById(doc._id).lean<RoomDoc>().exec();
      if (!existing) throw e;
      return { room: existing, created: false };
    }
  }

  /** The active membership of `user` in the group, or null. */
  async member(room: string, user: string): Promise<GroupMember | null> {
    const m = await this.db.models.Membership.findById(membershipId(room, user))
      .select({ user: 1, active: 1, role: 1 })
      .lean<Pick<MembershipDoc, 'user' | 'active' | 'role'>>()
      .exec();
    return m?.active ? { user: m.user, role: m.role ?? 'MEMBER' } : null;
  }

  /** Active members of the group. */
  count(room: string): Promise<number> {
    return this.db.models.Membership.countDocuments({ room, active: true }).exec();
  }

  /** Active members with their roles. */
  async members(room: string): Promise<GroupMember[]> {
    const rows = await this.db.models.Membership.find({ room, active: true })
      .select({ user: 1, role: 1 })
      .lean<Pick<MembershipDoc, 'user' | 'role'>[]>()
      .exec();
    return rows.map((r) => ({ user: r.user, role: r.role ?? 'MEMBER' }));
  }

  /** Makes `user` an active member with `role`, storing `event` in the same write; false when they already were one. */
  async add(room: string, user: string, role: MemberRole, event: DomainEvent, at: Date): Promise<boolean> {
    const _id = membershipId(room, user);
    const done = await this.db.locked('memberships', _id, async () => {
      const current = await this.db.models.Membership.findById(_id).select({ active: 1 }).lean<Pick<MembershipDoc, 'active'>>().exec();
      if (current?.active) return false;
      if (!current) {
        try {
          await this.db.models.Membership.create({ _id, room, user, active: true, role, joinedAt: at, outbox: [event], outboxPending: true });
          return true;
        } catch (e) {
          if (asDuplicate(e)) return false;
          throw e;
        }
      }
      const res = await this.db.models.Membership.updateOne(
        { _id, active: false },
        { $set: { active: true, role, joinedAt: at, outboxPending: true }, $push: { outbox: event } },
      ).exec();
      return res.modifiedCount === 1;
    });
    if (done) this.db.eventsStored({ collection: 'memberships', docId: _id, events: [event] });
    return done;
  }

  /** Ends `user`'s membership (removed, or left), storing `event` in the same write; false when they were no member. */
  async remove(room: string, user: string, event: DomainEvent): Promise<boolean> {
    const _id = membershipId(room, user);
    try {
      const res = await this.db.locked('memberships', _id, () =>
        this.db.models.Membership.updateOne(
          { _id, active: true },
          { $set: { active: false, outboxPending: true }, $unset: { role: 1 }, $push: { outbox: event } },
        ).exec(),
      );
      const done = res.modifiedCount === 1;
      if (done) this.db.eventsStored({ collection: 'memberships', docId: _id, events: [event] });
      return done;
    } finally {
      this.db.changed({ kind: 'membership', key: _id });
    }
  }

  /** Sets an active member's role, storing `event` in the same write; false when they are no member or had that role. */
  async setRole(room: string, user: string, role: MemberRole, event: DomainEvent): Promise<boolean> {
    const _id = membershipId(room, user);
    const res = await this.db.locked('memberships', _id, () =>
      this.db.models.Membership.updateOne(
        { _id, active: true, role: { $ne: role } },
        { $set: { role, outboxPending: true }, $push: { outbox: event } },
      ).exec(),
    );
    const done = res.modifiedCount === 1;
    if (done) this.db.eventsStored({ collection: 'memberships', docId: _id, events: [event] });
    return done;
  }

  /** Renames a group room, storing `event` in the same write; null when there is no such group. */
  async rename(room: string, name: string, event: DomainEvent): Promise<RoomDoc | null> {
    const after = await this.db.locked('rooms', room, () =>
      this.db.models.Room.findOneAndUpdate(
        { _id: room, kind: 'GROUP' },
        { $set: { name, outboxPending: true }, $push: { outbox: event } },
        { returnDocument: 'after' },
      )
        .lean<RoomDoc>()
        .exec(),
    );
    this.db.changed({ kind: 'room', key: room });
    if (after) this.db.eventsStored({ collection: 'rooms', docId: room, events: [event] });
    return after;
  }

  /** The group rooms `user` is an active member of, oldest first. */
  async groupsOf(user: string): Promise<RoomDoc[]> {
    const rows = await this.db.models.Membership.find({ user, active: true })
      .select({ room: 1, role: 1 })
      .lean<Pick<MembershipDoc, 'room' | 'role'>[]>()
      .exec();
    // Only group memberships carry a role: public rooms joined are not looked up.
    const ids = rows.filter((r) => r.role !== undefined).map((r) => r.room);
    const rooms = await this.db.byIds(ids, (filter) => this.db.models.Room.find(filter).lean<RoomDoc[]>().exec());
    return rooms.filter((r) => r.kind === 'GROUP').sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }
}
