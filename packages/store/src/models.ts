import { Schema, type Connection, type Model, type SchemaDefinitionProperty } from 'mongoose';
import type { DomainEvent, MessageStatus, Role, RoomKind } from '@conversa/contracts';

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
}

export interface RoomDoc extends Outboxed {
  _id: string;
  name: string;
  kind: RoomKind;
  /** DIRECT rooms only: the two members, sorted. Public members live in memberships. */
  pair: string[];
  createdAt: Date;
}

export interface MembershipDoc extends Outboxed {
  /** `${room}/${user}` */
  _id: string;
  room: string;
  user: string;
  active: boolean;
  joinedAt: Date;
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
    ...outboxFields,
  },
  { ...opts, collection: 'users' },
);

const roomSchema = new Schema<RoomDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    kind: { type: String, required: true, enum: ['PUBLIC', 'DIRECT'] },
    pair: { type: [String], default: [], index: true },
    createdAt: { type: Date, required: true },
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
    ...outboxFields,
  },
  { ...opts, collection: 'messages' },
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
  },
  { ...opts, collection: 'audit_log' },
);
auditSchema.index({ at: 1, _id: 1 });
auditSchema.index({ room: 1, at: 1, _id: 1 });
auditSchema.index({ actor: 1, at: 1, _id: 1 });
auditSchema.index({ type: 1, at: 1, _id: 1 });

export interface Models {
  User: Model<UserDoc>;
  Room: Model<RoomDoc>;
  Membership: Model<MembershipDoc>;
  Message: Model<MessageDoc>;
  Audit: Model<AuditDoc>;
}

export function defineModels(conn: Connection): Models {
  return {
    User: conn.model<UserDoc>('User', userSchema),
    Room: conn.model<RoomDoc>('Room', roomSchema),
    Membership: conn.model<MembershipDoc>('Membership', membershipSchema),
    Message: conn.model<MessageDoc>('Message', messageSchema),
    Audit: conn.model<AuditDoc>('Audit', auditSchema),
  };
}
