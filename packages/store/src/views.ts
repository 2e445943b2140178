import type { HashedAuditFields, MessageView, RoomView, StoredChainEntry, UserView } from '@conversa/contracts';
import type { AuditDoc, MessageDoc, RoomDoc, UserDoc } from './models.js';

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
    parentId: m.parentId ?? null,
    replyCount: m.replyCount ?? 0,
    lastReplyAt: m.lastReplyAt ? m.lastReplyAt.toISOString() : null,
    reactions: (m.reactions ?? []).map((r) => ({ emoji: r.emoji, count: r.count, users: r.users })),
    mentions: m.mentions ?? [],
    mentionsRoom: m.mentionsRoom ?? false,
    pinned: m.pinnedAt != null,
  };
}

export function toRoomView(r: RoomDoc): RoomView {
  return { id: r._id, name: r.name, kind: r.kind, createdAt: r.createdAt.toISOString(), slowModeSeconds: r.slowModeSeconds ?? 0 };
}

/** A user that no longer exists, shown instead of failing a whole page. */
export const GHOST_USER: UserView = { id: 'deleted', username: 'deleted', displayName: 'deleted user', role: 'USER' };

/** The fields of an audit entry that its chain hash covers (all but the chain position and hashes). */
export function auditHashFields(e: AuditDoc): Omit<HashedAuditFields, 'chainSeq'> {
  return {
    id: e._id,
    type: e.type,
    version: e.version,
    room: e.room,
    actor: e.actor,
    key: e.key,
    at: e.at.toISOString(),
    data: e.data,
    recordedAt: e.recordedAt.toISOString(),
    chain: e.chain ?? e.key,
  };
}

/** A stored, chained audit entry as a verifier reads it; undefined for an entry written before chaining. */
export function toStoredChainEntry(e: AuditDoc): StoredChainEntry | undefined {
  if (e.chain === undefined || e.chainSeq === undefined || e.prevHash === undefined || e.hash === undefined) return undefined;
  return { ...auditHashFields(e), chain: e.chain, chainSeq: e.chainSeq, prevHash: e.prevHash, hash: e.hash };
}
