export { openStore, type Store } from './store.js';
export {
  type StoreOptions,
  type StoreChange,
  type PendingOutbox,
  type OutboxCollection,
  type EventsStoredListener,
} from './connection.js';
export { UserRepository } from './users.js';
export { RoomRepository, membershipId } from './rooms.js';
export {
  MessageRepository,
  messageId,
  type MessagePageQuery,
  type NewMessage,
} from './messages.js';
export { ReadStateRepository, readStateId, roomCounts, redisActivityCache, type RoomCounts, type ActivityCache, type ActivityRedis } from './read-state.js';
export { OutboxRepository, ORPHAN_MARK_MS } from './outbox.js';
export { AuditRepository, type AuditQuery, type StoredChainFields } from './audit-log.js';
export { ModerationRepository, type ModerationActionQuery } from './moderation.js';
export {
  ReconcileRepository,
  type ReconcileCheckpointDoc,
  type StoredPosted,
} from './reconcile.js';
export { GroupRepository, type GroupMember } from './groups.js';
export { BlockRepository, blockId } from './blocks.js';
export { PinRepository, PIN_TRACE_AGE_MS, type PinOutcome, type UnpinOutcome } from './pins.js';
export type { BlockDoc } from './blocks-model.js';
export { ReactionRepository, reactionId, summarize, withAdded, type ReactionOp, type ReactionOutcome } from './reactions.js';
export { DuplicateKeyError, PartialInsertError } from './errors.js';
export type {
  UserDoc,
  RoomDoc,
  MembershipDoc,
  MessageDoc,
  AuditDoc,
  AuditChainDoc,
  ModerationActionDoc,
  MuteDoc,
  OutboxMarkDoc,
  RoomActivityDoc,
  ReadStateDoc,
  MentionDoc,
  PinDoc,
  LastMessage,
  ReactionDoc,
  ReactionSummary,
} from './models.js';
export {
  toUserView,
  toMessageView,
  toRoomView,
  GHOST_USER,
  auditHashFields,
  toStoredChainEntry,
} from './views.js';
export { KeyedMutex, LocalLocks, NoLocks, type DocLocks } from './keyed-mutex.js';
export {
  backendFromBuildInfo,
  documentLocksWanted,
  type StoreBackend,
  type DocumentLocksMode,
} from './backend.js';
