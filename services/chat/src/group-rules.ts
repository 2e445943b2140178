import { LIMITS, badInput, conflict, forbidden, type MemberRole, type RoomKind } from '@conversa/contracts';

/**
 * Rules of group rooms (API-product.graphql, "group rooms"): pure, unit-tested without a
 * database. A group has exactly one OWNER; OWNER and ADMINs manage members; only the OWNER
 * changes roles, and making someone else OWNER makes the caller ADMIN.
 */

export interface RoleChange {
  user: string;
  role: MemberRole;
  previousRole: MemberRole;
}

export interface GroupMemberState {
  user: string;
  role: MemberRole;
}

/**
 * Whether a command for group members applies to this room. A non-member of a direct room
 * learns nothing of it (FORBIDDEN, as everywhere else); public and direct rooms have no
 * members to manage (BAD_USER_INPUT).
 */
export function assertGroupRoom(room: { _id: string; kind: RoomKind; pair: readonly string[] }, actor: string): void {
  if (room.kind === 'GROUP') return;
  if (room.kind === 'DIRECT') {
    if (!room.pair.includes(actor)) throw forbidden('room: you are not a member of this private room');
    throw badInput('room: a direct room has exactly its two people; members and roles are for group rooms', { field: 'room' });
  }
  throw badInput(`room: "${room._id}" is a public room (anyone may join it); members and roles are for group rooms`, { field: 'room' });
}

/** The caller is a member of the group. */
export function assertMember(actor: GroupMemberState | null): asserts actor is GroupMemberState {
  if (!actor) throw forbidden('room: you are not a member of this group');
}

/** The caller may add, remove and rename: the OWNER or an ADMIN. */
export function assertManager(actor: GroupMemberState | null): asserts actor is GroupMemberState {
  assertMember(actor);
  if (actor.role === 'MEMBER') throw forbidden("room: only the group's OWNER or an ADMIN may do this");
}

/** The OWNER is never removed (they hand over ownership first). */
export function assertRemovable(target: GroupMemberState): void {
  if (target.role === 'OWNER') throw forbidden('userId: the OWNER cannot be removed; they make another member OWNER first');
}

/**
 * What `setMemberRole(target, role)` by `actor` changes, in the order to write it: the
 * target first, then the caller when ownership moves (so that an interrupted hand-over leaves
 * the caller OWNER, and a retry finishes it: the caller's demotion is always part of it).
 * An empty list: nothing to change.
 */
export function roleChanges(actor: GroupMemberState | null, target: GroupMemberState | null, role: MemberRole, targetId: string): RoleChange[] {
  assertMember(actor);
  // Asking again for what is so already (a retried hand-over: the caller is ADMIN by now).
  if (role === 'OWNER' && target?.role === 'OWNER' && actor.user !== target.user && actor.role === 'ADMIN') return [];
  if (actor.role !== 'OWNER') throw forbidden("room: only the group's OWNER may change roles");
  if (!target) throw badInput(`userId: "${targetId}" is not a member of this group`, { field: 'userId' });
  if (target.user === actor.user) {
    if (role === 'OWNER') return [];
    throw badInput('userId: the OWNER cannot step down this way; make another member OWNER (you become ADMIN)', { field: 'userId' });
  }
  if (role === 'OWNER') {
    const changes: RoleChange[] = [];
    if (target.role !== 'OWNER') changes.push({ user: target.user, role: 'OWNER', previousRole: target.role });
    changes.push({ user: actor.user, role: 'ADMIN', previousRole: 'OWNER' });
    return changes;
  }
  if (target.role === role) return [];
  // target.role cannot be OWNER here: the caller is the one OWNER.
  return [{ user: target.user, role, previousRole: target.role }];
}

/** Applies role changes to a member list (what the store ends with): for tests and checks. */
export function applyRoleChanges(members: readonly GroupMemberState[], changes: readonly RoleChange[]): GroupMemberState[] {
  return members.map((m) => {
    const last = changes.filter((c) => c.user === m.user).at(-1);
    return last ? { user: m.user, role: last.role } : m;
  });
}

/** Exactly one OWNER. */
export function hasOneOwner(members: readonly GroupMemberState[]): boolean {
  return members.filter((m) => m.role === 'OWNER').length === 1;
}

/** May this member leave? Anyone but the OWNER; the OWNER only as the last member. */
export function assertCanLeave(member: GroupMemberState, memberCount: number): void {
  if (member.role === 'OWNER' && memberCount > 1) {
    throw conflict('room: the OWNER cannot leave while others remain; make another member OWNER first (setMemberRole)');
  }
}

/** The initial members other than the creator, each once; refuses more than the group can hold. */
export function initialMembers(creator: string, members: readonly string[]): string[] {
  const others = [...new Set(members)].filter((m) => m !== creator);
  if (others.length + 1 > LIMITS.groupMembersMax) {
    throw badInput(
      `members: a group has at most ${LIMITS.groupMembersMax.toLocaleString('en')} people (you and ${LIMITS.groupMembersMax - 1} others), got ${others.length + 1}`,
      { field: 'members' },
    );
  }
  return others;
}

/** One more member must fit: a full group refuses with CONFLICT (the room's state, not the input, is in the way). */
export function assertRoomFor(memberCount: number): void {
  if (memberCount >= LIMITS.groupMembersMax) {
    throw conflict(`room: the group is full (${LIMITS.groupMembersMax.toLocaleString('en')} people); remove someone first`);
  }
}
