import { forbidden, type Role } from '@conversa/contracts';
import type { MessageDoc, RoomDoc } from '@conversa/store';

/** Who may do what: pure rules, unit-tested without a database. */

export interface Actor {
  id: string;
  role: Role;
}

export { canReadRoom } from '@conversa/contracts';

/** Sending needs membership: the pair of a private room, or having joined a public one. */
export function assertCanSend(room: Pick<RoomDoc, '_id' | 'kind' | 'pair'>, userId: string, joined: boolean): void {
  if (room.kind === 'DIRECT') {
    if (!room.pair.includes(userId)) throw forbidden('room: you are not a member of this private room');
    return;
  }
  if (!joined) throw forbidden(`room: join "${room._id}" before sending to it`);
}

/** Only the author edits, and never a deleted or hidden message. */
export function assertCanEdit(m: Pick<MessageDoc, 'authorId' | 'status'>, actor: Actor): void {
  if (m.authorId !== actor.id) throw forbidden('id: only the author may edit a message');
  if (m.status === 'DELETED') throw forbidden('id: a deleted message cannot be edited');
  if (m.status === 'HIDDEN') throw forbidden('id: a hidden message cannot be edited');
}

/** The author or an admin deletes. */
export function assertCanDelete(m: Pick<MessageDoc, 'authorId'>, actor: Actor): void {
  if (m.authorId !== actor.id && actor.role !== 'ADMIN') {
    throw forbidden('id: only the author or an admin may delete a message');
  }
}
