export { Store, type StoreOptions, type MessagePageQuery, type AuditQuery, type PendingOutbox, type OutboxCollection } from './store.js';
export { DuplicateKeyError } from './errors.js';
export type { UserDoc, RoomDoc, MembershipDoc, MessageDoc, AuditDoc } from './models.js';
export { toUserView, toMessageView, toRoomView, GHOST_USER } from './views.js';
