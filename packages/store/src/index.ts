export { Store, type StoreOptions, type MessagePageQuery, type AuditQuery, type PendingOutbox, type OutboxCollection, type ModerationActionQuery, type StoredChainFields } from './store.js';
export { DuplicateKeyError } from './errors.js';
export type { UserDoc, RoomDoc, MembershipDoc, MessageDoc, AuditDoc, AuditChainDoc, ModerationActionDoc, MuteDoc } from './models.js';
export { toUserView, toMessageView, toRoomView, GHOST_USER, auditHashFields, toStoredChainEntry } from './views.js';
