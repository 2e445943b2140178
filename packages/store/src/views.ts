import type { MessageView, RoomView, UserView } from '@conversa/contracts';
import type { MessageDoc, RoomDoc, UserDoc } from './models.js';

/** Stored documents as the contracts show them to other processes and clients. */
export function toUserView(u: Pick<UserDoc, '_id' | 'username' | 'displayName' | 'role'>): UserView {
  return { id: u._id, username: u.username, displayName: u.displayName, role: u.role };
}

/** A message's body is emptied unless it is VISIBLE; admins read hidden bodies from the store. */
export function toMessageView(m: Omit<MessageDoc, 'outbox' | 'outboxPending'>, author: UserView): MessageView {
  return {
    id: m._id,
    room: m.room,
    seq: m.seq,
    author,
    body: m.status === 'VISIBLE' ? m.body : '',
    status: m.status,
    clientMsgId: m.clientMsgId,
    createdAt: m.createdAt.toISOString(),
    editedAt: m.editedAt ? m.editedAt.toISOString() : null,
  };
}

export function toRoomView(r: RoomDoc): RoomView {
  return { id: r._id, name: r.name, kind: r.kind, createdAt: r.createdAt.toISOString() };
}

/** A user that no longer exists, shown instead of failing a whole page. */
export const GHOST_USER: UserView = { id: 'deleted', username: 'deleted', displayName: 'deleted user', role: 'USER' };
