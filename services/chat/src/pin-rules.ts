import { badInput, conflict, forbidden, type RoomKind } from '@conversa/contracts';
import type { Actor } from './rules.js';
import type { GroupMemberState } from './group-rules.js';

/**
 * Who may pin and unpin (API-product.graphql, pins): pure, unit-tested without a database.
 * "Group OWNER or ADMIN; public rooms: site ADMIN; direct rooms: either member." Someone who
 * cannot read the room (not a member of the group, not one of the direct room's two) is refused
 * like anywhere else, with FORBIDDEN.
 */
export function assertCanPin(room: { kind: RoomKind; pair: readonly string[] }, actor: Actor, member: GroupMemberState | null): void {
  switch (room.kind) {
    case 'GROUP':
      if (!member) throw forbidden('id: you are not a member of this group');
      if (member.role === 'MEMBER') throw forbidden("id: only the group's OWNER or an ADMIN may pin or unpin its messages");
      return;
    case 'DIRECT':
      if (!room.pair.includes(actor.id)) throw forbidden('id: you are not a member of this private room');
      return;
    case 'PUBLIC':
      if (actor.role !== 'ADMIN') throw forbidden('id: only an admin may pin or unpin messages of a public room');
      return;
  }
}

/** Only a VISIBLE message is pinned: a hidden or deleted one is not something to point people to. */
export function assertPinnable(m: { status: string }): void {
  if (m.status !== 'VISIBLE') throw notPinnable(m.status);
}

/** The refusal of a message that is not VISIBLE (`status`). */
export function notPinnable(status: string) {
  return badInput(`id: only a VISIBLE message can be pinned; this one is ${status}`, { field: 'id' });
}

/** The room holds as many pins as it may: the room's state, not the input, is in the way. */
export function roomFullOfPins(limit: number) {
  return conflict(`id: the room has ${limit} pinned messages, the most it can hold; unpin one first`);
}
