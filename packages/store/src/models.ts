import { Schema, type Connection, type Model, type SchemaDefinitionProperty } from 'mongoose';
import type { DomainEvent, MemberRole, MessageStatus, ModerationKind, Role, RoomKind } from '@conversa/contracts';
import { blockSchema, type BlockDoc } from './blocks-model.js';

/**
 * Documents that emit events carry their own outbox: the pending events are written in the
 * same single-document write as the change (FerretDB and sharded MongoDB alike give
 * single-document atomicity, no multi-document transactions needed). `outboxPending` is the
 * indexed flag the relay sweeps for.
 */
export interface Outboxed {
  outbox: DomainEvent[];
  outboxPending: boolean;
}

export interface UserDoc extends Outboxed {
  _id: string;
  /** Lower-cased: usernames are unique regardless of case. */
  username: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  createdAt: Date;
  /** Read receipts hidden from others (setReceiptsPrivate); absent = shown. */
  receiptsPrivate?: boolean;
}

export interface RoomDoc extends Outboxed {
  _id: string;
  name: string;
  kind: RoomKind;
  /** DIRECT rooms only: the two members, sorted. Public members live in memberships. */
  pair: string[];
  createdAt: Date;
  /** Slow mode: seconds between one person's messages, set by an admin; absent (rooms from before it) = 0. */
  slowModeSeconds?: number;
  /** GROUP rooms: who created it (a retried create must be theirs). */
  createdBy?: string;
}

export interface MembershipDoc extends Outboxed {
  /** `${room}/${user}` */
  _id: string;
  room: string;
  user: string;
  active: boolean;
  joinedAt: Date;
  /** GROUP rooms only: the member's role (exactly one active OWNER per group); absent elsewhere and once removed. */
  role?: MemberRole;
}

export interface MessageDoc extends Outboxed {
  _id: string;
  room: string;
  seq: number;
  authorId: string;
  body: string;
  status: MessageStatus;
  clientMsgId: string;
  createdAt: Date;
  editedAt: Date | null;
  /**
   * The `message.posted` event, written with the message and published by the relay. Kept
   * out of `outbox`: its pending state lives in an outbox mark (OutboxMarkDoc), so publishing
   * it never updates this document (see MessageRepository.insert). Null on older documents.
   */
  posted?: DomainEvent | null;
  /** Threads: the root this message replies to (null or absent: a top-level message). */
  parentId?: string | null;
  /** For a thread root: its VISIBLE replies and the newest one's time (recomputed from the replies). */
  replyCount?: number;
  lastReplyAt?: Date | null;
  /** Reactions summary, recomputed from the reaction rows (reactions.ts); most used first. */
  reactions?: ReactionSummary[];
  /** Member ids the body mentions with @username, and whether it mentions @room (write path). */
  mentions?: string[];
  mentionsRoom?: boolean;
  /**
   * When the message was pinned in its room, null when it is not (absent on older documents):
   * the truth about a pin. The room's `pins` rows (PinDoc) are its index. See pins.ts.
   */
  pinnedAt?: Date | null;
  /** Who pinned it; null when it is not pinned. */
  pinnedBy?: string | null;
}

/** One emoji on a message: its count and its first reactors (earliest first, LIMITS.reactionUsersKept). */
export interface ReactionSummary {
  emoji: string;
  count: number;
  users: string[];
  /** When its first and its newest reaction were made, ms (not shown; absent in summaries stored before they were kept). */
  first?: number;
  last?: number;
}

/**
 * One person's reaction with one emoji to one message: `_id` = `${message}/${emoji}/${user}`,
 * so a repeat or a concurrent duplicate meets the primary key (idempotent by construction).
 * Taken back, it stays with `active: false`, carrying its `message.unreacted` event.
 */
export interface ReactionDoc extends Outboxed {
  _id: string;
  message: string;
  room: string;
  emoji: string;
  user: string;
  active: boolean;
  /** When it was (last) made: the summary lists reactors in this order. */
  at: Date;
}


/**
 * One pinned message of a room: the room's index of its pins (at most LIMITS.pinsPerRoom rows
 * per room), so that listing them or counting them reads that room's few rows, never its
 * messages. The message's own `pinnedAt` is the truth; a row whose message is not pinned is
 * the trace of an interrupted pin or unpin (see PinRepository) and is never shown.
 */
export interface PinDoc {
  /** The message id. */
  _id: string;
  room: string;
  /** When it was pinned: the same instant as the message's `pinnedAt`. */
  at: Date;
  by: string;
}

/**
 * "Message `_id` has its `message.posted` event to publish": written before the message,
 * deleted once the event is on Kafka. The collection holds only what is pending, so it stays
 * small, and reading or deleting from it stays cheap even where a database scans (FerretDB 1.x
 * pushes no filter down for updates, so per-document outbox updates grow with the collection).
 */
export interface OutboxMarkDoc {
  /** The message id. */
  _id: string;
  at: Date;
}

export interface AuditDoc {
  /** The domain event's id: the unique index makes a redelivery a no-op. */
  _id: string;
  type: string;
  version: number;
  room: string | null;
  actor: string | null;
  key: string;
  at: Date;
  data: Record<string, unknown>;
  recordedAt: Date;
  /**
   * Hash chain (`@conversa/contracts` audit-chain): the chain is the event key (room or user
   * id). Absent on entries written before the log was chained.
   */
  chain?: string;
  /** 1, 2, 3, … within the chain. */
  chainSeq?: number;
  prevHash?: string;
  hash?: string;
}

/** The newest entry of one audit chain: the writer's starting point, the verifier's check on cut-off tails. */
export interface AuditChainDoc {
  /** The chain (event key). */
  _id: string;
  seq: number;
  hash: string;
  updatedAt: Date;
}

/** A moderation action chat applied (by a rule, an admin or a timer), with its audit event in the outbox. */
export interface ModerationActionDoc extends Outboxed {
  /** The action's id: applying it again is a no-op. */
  _id: string;
  kind: ModerationKind;
  target: string;
  room: string | null;
  reason: string;
  rule: string | null;
  by: string | null;
  at: Date;
  until: Date | null;
}

/** A mute in force: one per user and scope; `sendMessage` checks it, a delayed job ends it. */
export interface MuteDoc {
  /** `${user}/${room}`, or `${user}/*` for a mute everywhere. */
  _id: string;
  user: string;
  /** null = everywhere. */
  room: string | null;
  /** null = until an admin lifts it (a ban). */
  until: Date | null;
  /** Id of the mute action: the end-of-mute job only lifts the mute it was scheduled for. */
  action: string;
  reason: string;
  at: Date;
}

// mongoose cannot type an array of a discriminated union; the contracts parse it on the way out.
const outboxFields = {
  outbox: { type: [Schema.Types.Mixed], default: [] } as unknown as SchemaDefinitionProperty<DomainEvent[]>,
  outboxPending: { type: Boolean, default: false, index: true },
};
const opts = { versionKey: false, _id: false, minimize: false } as const;

const userSchema = new Schema<UserDoc>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true, unique: true },
    displayName: { type: String, required: true },
    role: { type: String, required: true, enum: ['USER', 'ADMIN'] },
    passwordHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    receiptsPrivate: { type: Boolean },
    ...outboxFields,
  },
  { ...opts, collection: 'users' },
);

const roomSchema = new Schema<RoomDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    kind: { type: String, required: true, enum: ['PUBLIC', 'DIRECT', 'GROUP'] },
    pair: { type: [String], default: [], index: true },
    createdAt: { type: Date, required: true },
    slowModeSeconds: { type: Number, min: 0 },
    createdBy: { type: String },
    ...outboxFields,
  },
  { ...opts, collection: 'rooms' },
);
roomSchema.index({ kind: 1, createdAt: 1 });

const membershipSchema = new Schema<MembershipDoc>(
  {
    _id: { type: String, required: true },
    room: { type: String, required: true },
    user: { type: String, required: true },
    active: { type: Boolean, required: true },
    joinedAt: { type: Date, required: true },
    role: { type: String, enum: ['OWNER', 'ADMIN', 'MEMBER'] },
    ...outboxFields,
  },
  { ...opts, collection: 'memberships' },
);
membershipSchema.index({ room: 1, active: 1 });
membershipSchema.index({ user: 1, active: 1 });

const messageSchema = new Schema<MessageDoc>(
  {
    _id: { type: String, required: true },
    room: { type: String, required: true },
    seq: { type: Number, required: true },
    authorId: { type: String, required: true },
    body: { type: String, default: '' },
    status: { type: String, required: true, enum: ['VISIBLE', 'HIDDEN', 'DELETED'] },
    clientMsgId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    editedAt: { type: Date, default: null },
    posted: { type: Schema.Types.Mixed, default: null } as unknown as SchemaDefinitionProperty<DomainEvent | null>,
    parentId: { type: String, default: null },
    replyCount: { type: Number, default: 0 },
    lastReplyAt: { type: Date, default: null },
    reactions: { type: [Schema.Types.Mixed], default: [] } as unknown as SchemaDefinitionProperty<ReactionSummary[]>,
    mentions: { type: [String], default: [] },
    mentionsRoom: { type: Boolean, default: false },
    pinnedAt: { type: Date, default: null },
    pinnedBy: { type: String, default: null },
    ...outboxFields,
  },
  { ...opts, collection: 'messages' },
);
/** A thread's replies: equality on parentId (served by the index and its GIN twin on FerretDB). */
messageSchema.index({ parentId: 1 }, { name: 'parentId' });

const reactionSchema = new Schema<ReactionDoc>(
  {
    _id: { type: String, required: true },
    message: { type: String, required: true },
    room: { type: String, required: true },
    emoji: { type: String, required: true },
    user: { type: String, required: true },
    active: { type: Boolean, required: true },
    at: { type: Date, required: true },
    ...outboxFields,
  },
  { ...opts, collection: 'reactions' },
);
/** A message's reactions (the summary's recount). */
reactionSchema.index({ message: 1 });

const pinSchema = new Schema<PinDoc>(
  {
    _id: { type: String, required: true },
    room: { type: String, required: true, index: true },
    at: { type: Date, required: true },
    by: { type: String, required: true },
  },
  { ...opts, collection: 'pins' },
);

const outboxMarkSchema = new Schema<OutboxMarkDoc>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { ...opts, collection: 'outbox_marks' },
);
/** A seq exists only if its message exists: the dense-sequence guarantee rests on this index. */
messageSchema.index({ room: 1, seq: 1 }, { unique: true, name: 'room_seq' });
/** Retry safety: one message per (author, clientMsgId). */
messageSchema.index({ authorId: 1, clientMsgId: 1 }, { unique: true, name: 'author_clientMsgId' });

const auditSchema = new Schema<AuditDoc>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    version: { type: Number, required: true },
    room: { type: String, default: null },
    actor: { type: String, default: null },
    key: { type: String, required: true },
    at: { type: Date, required: true },
    data: { type: Schema.Types.Mixed, required: true },
    recordedAt: { type: Date, required: true },
    chain: { type: String },
    chainSeq: { type: Number },
    prevHash: { type: String },
    hash: { type: String },
  },
  { ...opts, collection: 'audit_log' },
);
auditSchema.index({ at: 1, _id: 1 });
auditSchema.index({ room: 1, at: 1, _id: 1 });
auditSchema.index({ actor: 1, at: 1, _id: 1 });
auditSchema.index({ type: 1, at: 1, _id: 1 });
/**
 * One entry per chain position: a second writer of a chain (a consumer that lost its partition
 * but still finishes a batch) fails here instead of forking the chain. Sparse: entries written
 * before chaining have neither field.
 */
auditSchema.index({ chain: 1, chainSeq: 1 }, { unique: true, sparse: true, name: 'chain_seq' });

const auditChainSchema = new Schema<AuditChainDoc>(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true },
    hash: { type: String, required: true },
    updatedAt: { type: Date, required: true },
  },
  { ...opts, collection: 'audit_chains' },
);

const moderationActionSchema = new Schema<ModerationActionDoc>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true, enum: ['hide', 'unhide', 'mute', 'unmute', 'flag', 'ban'] },
    target: { type: String, required: true },
    room: { type: String, default: null },
    reason: { type: String, required: true },
    rule: { type: String, default: null },
    by: { type: String, default: null },
    at: { type: Date, required: true },
    until: { type: Date, default: null },
    ...outboxFields,
  },
  { ...opts, collection: 'moderation_actions' },
);
moderationActionSchema.index({ at: 1, _id: 1 });
moderationActionSchema.index({ target: 1, at: 1, _id: 1 });

const muteSchema = new Schema<MuteDoc>(
  {
    _id: { type: String, required: true },
    user: { type: String, required: true, index: true },
    room: { type: String, default: null },
    until: { type: Date, default: null },
    action: { type: String, required: true },
    reason: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { ...opts, collection: 'mutes' },
);

/**
 * The last message of a room as room lists show it (`Room.lastMessage`): the message's own
 * fields without its outbox; the author is resolved at read time.
 */
export type LastMessage = Pick<MessageDoc, '_id' | 'room' | 'seq' | 'authorId' | 'body' | 'status' | 'clientMsgId' | 'createdAt' | 'editedAt' | 'pinnedAt'>;

/**
 * What room lists and unread counts need of a room, one document per room, kept by the write
 * path as messages are posted and change (read-state.ts). Unread counts are derived from it and
 * a member's read position at read time: a message costs one update here, not one per member.
 */
export interface RoomActivityDoc {
  /** The room id. */
  _id: string;
  /** The newest message's seq. */
  lastSeq: number;
  /** When the newest message was posted: room lists sort by it. */
  lastAt: Date;
  /** The newest VISIBLE message; null when there is none. */
  last: LastMessage | null;
  /** Seqs of the room's messages that are not VISIBLE (hidden or deleted): never counted. */
  gone: number[];
  /** Seqs of the messages that mention `@room`. */
  roomMentions: number[];
}

/** One member's read position in one room: one row per member per room, never per message. */
export interface ReadStateDoc {
  /** `${room}/${user}` */
  _id: string;
  room: string;
  user: string;
  /** The newest seq read; it never moves back. */
  lastReadSeq: number;
  at: Date;
}

/**
 * "Message seq of room mentions user by @username": written with the send, deleted once the
 * user's read position passes it, so a person's rows are their unread mentions.
 */
export interface MentionDoc {
  /** `${room}/${seq}/${user}` */
  _id: string;
  user: string;
  room: string;
  seq: number;
}

const lastMessageSchema = new Schema<LastMessage>(
  {
    _id: { type: String, required: true },
    room: { type: String, required: true },
    seq: { type: Number, required: true },
    authorId: { type: String, required: true },
    body: { type: String, default: '' },
    status: { type: String, required: true },
    clientMsgId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    editedAt: { type: Date, default: null },
    pinnedAt: { type: Date, default: null },
  },
  { versionKey: false, _id: false, minimize: false },
);

const roomActivitySchema = new Schema<RoomActivityDoc>(
  {
    _id: { type: String, required: true },
    lastSeq: { type: Number, required: true },
    lastAt: { type: Date, required: true },
    last: { type: lastMessageSchema, default: null },
    gone: { type: [Number], default: [] },
    roomMentions: { type: [Number], default: [] },
  },
  { ...opts, collection: 'room_activity' },
);

const readStateSchema = new Schema<ReadStateDoc>(
  {
    _id: { type: String, required: true },
    room: { type: String, required: true },
    user: { type: String, required: true, index: true },
    lastReadSeq: { type: Number, required: true },
    at: { type: Date, required: true },
  },
  { ...opts, collection: 'read_states' },
);
readStateSchema.index({ room: 1 });

const mentionSchema = new Schema<MentionDoc>(
  {
    _id: { type: String, required: true },
    user: { type: String, required: true, index: true },
    room: { type: String, required: true },
    seq: { type: Number, required: true },
  },
  { ...opts, collection: 'mentions' },
);

export interface Models {
  User: Model<UserDoc>;
  Room: Model<RoomDoc>;
  Membership: Model<MembershipDoc>;
  Message: Model<MessageDoc>;
  Audit: Model<AuditDoc>;
  AuditChain: Model<AuditChainDoc>;
  ModerationAction: Model<ModerationActionDoc>;
  Mute: Model<MuteDoc>;
  OutboxMark: Model<OutboxMarkDoc>;
  RoomActivity: Model<RoomActivityDoc>;
  ReadState: Model<ReadStateDoc>;
  Mention: Model<MentionDoc>;
  Block: Model<BlockDoc>;
  Reaction: Model<ReactionDoc>;
  Pin: Model<PinDoc>;
}

export function defineModels(conn: Connection): Models {
  return {
    User: conn.model<UserDoc>('User', userSchema),
    Room: conn.model<RoomDoc>('Room', roomSchema),
    Membership: conn.model<MembershipDoc>('Membership', membershipSchema),
    Message: conn.model<MessageDoc>('Message', messageSchema),
    Audit: conn.model<AuditDoc>('Audit', auditSchema),
    AuditChain: conn.model<AuditChainDoc>('AuditChain', auditChainSchema),
    ModerationAction: conn.model<ModerationActionDoc>('ModerationAction', moderationActionSchema),
    Mute: conn.model<MuteDoc>('Mute', muteSchema),
    OutboxMark: conn.model<OutboxMarkDoc>('OutboxMark', outboxMarkSchema),
    RoomActivity: conn.model<RoomActivityDoc>('RoomActivity', roomActivitySchema),
    ReadState: conn.model<ReadStateDoc>('ReadState', readStateSchema),
    Mention: conn.model<MentionDoc>('Mention', mentionSchema),
    Block: conn.model<BlockDoc>('Block', blockSchema),
    Reaction: conn.model<ReactionDoc>('Reaction', reactionSchema),
    Pin: conn.model<PinDoc>('Pin', pinSchema),
  };
}
