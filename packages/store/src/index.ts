export { Store, messageId, ORPHAN_MARK_MS, type StoreOptions, type MessagePageQuery, type AuditQuery, type PendingOutbox, type OutboxCollection, type ModerationActionQuery, type StoredChainFields, type StoreChange } from './store.js';
export { DuplicateKeyError, PartialInsertError } from './errors.js';
export type { UserDoc, RoomDoc, MembershipDoc, MessageDoc, AuditDoc, AuditChainDoc, ModerationActionDoc, MuteDoc, OutboxMarkDoc } from './models.js';
export { toUserView, toMessageView, toRoomView, GHOST_USER, auditHashFields, toStoredChainEntry } from './views.js';
export { KeyedMutex, LocalLocks, NoLocks, type DocLocks } from './keyed-mutex.js';
export { backendFromBuildInfo, documentLocksWanted, type StoreBackend, type DocumentLocksMode } from './backend.js';
export { ReconcileRepository, type ReconcileCheckpointDoc, type StoredPosted } from './reconcile.js';
