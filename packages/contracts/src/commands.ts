import { z } from 'zod';
import { ErrorCode } from './errors.js';
import { Id, LIMITS, MemberRole, MessageView, RoomView, UserView } from './domain.js';
import { MODERATION_REASON_MAX, ModerationAction } from './moderation.js';

/**
 * Commands: the BullMQ job payloads the gateway enqueues and the chat workers execute.
 * The job name is the command's `type`; the payload is parsed again by the worker.
 */
const actor = Id.describe('id of the authenticated user who issued the command');

export const RegisterUser = z.object({
  type: z.literal('user.register'),
  username: z.string().min(LIMITS.usernameMin).max(LIMITS.usernameMax),
  displayName: z.string().min(1).max(LIMITS.displayNameMax),
  /** argon2id hash computed by the gateway: the password itself never enters the queue. */
  passwordHash: z.string().min(20).max(512),
  role: z.enum(['USER', 'ADMIN']).default('USER'),
});

export const JoinRoom = z.object({
  type: z.literal('room.join'),
  actor,
  name: z.string().min(1).max(LIMITS.roomNameMax),
});

export const LeaveRoom = z.object({
  type: z.literal('room.leave'),
  actor,
  room: Id,
});

export const SendMessage = z.object({
  type: z.literal('message.send'),
  actor,
  room: Id,
  body: z.string().min(1).max(LIMITS.bodyMax),
  clientMsgId: z.string().min(1).max(LIMITS.clientMsgIdMax),
  /** Reply in this thread: a VISIBLE top-level message of the same room (the worker checks). */
  parentId: Id.optional(),
});

export const OpenDirectRoom = z.object({
  type: z.literal('room.openDirect'),
  actor,
  peer: Id,
});

export const EditMessage = z.object({
  type: z.literal('message.edit'),
  actor,
  id: Id,
  body: z.string().min(1).max(LIMITS.bodyMax),
});

export const DeleteMessage = z.object({
  type: z.literal('message.delete'),
  actor,
  id: Id,
});

export const RenameUser = z.object({
  type: z.literal('user.rename'),
  actor,
  displayName: z.string().min(1).max(LIMITS.displayNameMax),
});

/** Admin moderation commands: the chat worker checks the actor's role again. */
const reason = z.string().min(1).max(MODERATION_REASON_MAX);

/** The longest mute an admin can set, minutes (one year). */
export const MUTE_MINUTES_MAX = 525_600;

export const HideMessage = z.object({
  type: z.literal('message.hide'),
  actor,
  id: Id,
  reason,
});

export const UnhideMessage = z.object({
  type: z.literal('message.unhide'),
  actor,
  id: Id,
});

export const MuteUser = z.object({
  type: z.literal('user.mute'),
  actor,
  user: Id,
  /** Fractions allowed (0.5 = 30 s). */
  minutes: z.number().positive().max(MUTE_MINUTES_MAX),
  reason,
  /** The room the mute applies to; null = everywhere. */
  room: Id.nullable().default(null),
});

export const UnmuteUser = z.object({
  type: z.literal('user.unmute'),
  actor,
  user: Id,
});

/** An admin sets a room's slow mode (0 turns it off); the chat worker checks the role again. */
export const SetSlowMode = z.object({
  type: z.literal('room.setSlowMode'),
  actor,
  room: Id,
  seconds: z.number().int().min(0).max(LIMITS.slowModeMaxSeconds),
});

/** Moves the actor's read position in a room up to `seq` (a lower one changes nothing). */
export const MarkRead = z.object({
  type: z.literal('room.markRead'),
  actor,
  room: Id,
  seq: z.number().int().min(0),
});

/** Hides (or shows again) the actor's read positions from other members. */
export const SetReceiptsPrivate = z.object({
  type: z.literal('user.setReceiptsPrivate'),
  actor,
  private: z.boolean(),
});
// ---- group rooms and blocking (API-product.graphql) ----

/** A group's name: trimmed, 1..64 characters. */
const groupName = z.string().trim().min(1).max(LIMITS.groupNameMax);

/**
 * Creates a group room; the actor is its OWNER. `room` is the new room's id, chosen by the
 * gateway, so that a retried job finishes the same group instead of creating a second one.
 */
export const CreateGroup = z.object({
  type: z.literal('group.create'),
  actor,
  room: Id,
  name: groupName,
  /** The other initial members (the actor may be listed; duplicates count once). */
  members: z.array(Id).max(LIMITS.groupMembersMax),
});

export const AddMember = z.object({ type: z.literal('group.addMember'), actor, room: Id, user: Id });
export const RemoveMember = z.object({ type: z.literal('group.removeMember'), actor, room: Id, user: Id });
export const SetMemberRole = z.object({ type: z.literal('group.setRole'), actor, room: Id, user: Id, role: MemberRole });
export const RenameRoom = z.object({ type: z.literal('room.rename'), actor, room: Id, name: groupName });
export const BlockUser = z.object({ type: z.literal('user.block'), actor, user: Id });
/** Pins (API-product.graphql): group OWNER or ADMIN; public rooms: a site ADMIN; direct rooms: either member. */
export const PinMessage = z.object({ type: z.literal('message.pin'), actor, id: Id });
export const UnpinMessage = z.object({ type: z.literal('message.unpin'), actor, id: Id });
export const UnblockUser = z.object({ type: z.literal('user.unblock'), actor, user: Id });
// ---- reactions ----
/** `emoji`: one emoji or a :shortcode: (parseReaction); the worker checks it again. */
export const React = z.object({ type: z.literal('message.react'), actor, id: Id, emoji: z.string().min(1).max(64) });
export const Unreact = z.object({ type: z.literal('message.unreact'), actor, id: Id, emoji: z.string().min(1).max(64) });

export const Command = z.discriminatedUnion('type', [
  RegisterUser,
  RenameUser,
  JoinRoom,
  LeaveRoom,
  OpenDirectRoom,
  SendMessage,
  EditMessage,
  DeleteMessage,
  HideMessage,
  UnhideMessage,
  MuteUser,
  UnmuteUser,
  SetSlowMode,
  MarkRead,
  SetReceiptsPrivate,
  CreateGroup,
  AddMember,
  RemoveMember,
  SetMemberRole,
  RenameRoom,
  BlockUser,
  UnblockUser,
  React,
  Unreact,
  PinMessage,
  UnpinMessage,
]);
export type Command = z.infer<typeof Command>;
export type CommandType = Command['type'];
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;

/**
 * How each command is treated under load. A command type that is missing here does not compile.
 * - `class`: `interactive` commands (what a person waits for) go ahead of `bulk` ones in the
 *   queue, and are refused later when the write path saturates;
 * - `stale`: what a worker does with a job whose caller has given up (older than the command
 *   deadline): `execute` it when running it late is harmless (idempotent: a retry returns the
 *   same result, e.g. a send by its clientMsgId), `drop` it when a late run would surprise a
 *   caller who was told "outcome unknown" and retries (a registration would then answer
 *   "username taken").
 */
export const COMMAND_POLICY: Readonly<Record<CommandType, { class: 'interactive' | 'bulk'; stale: 'execute' | 'drop' }>> = {
  'user.register': { class: 'bulk', stale: 'drop' },
  'user.rename': { class: 'bulk', stale: 'execute' },
  'room.join': { class: 'interactive', stale: 'execute' },
  'room.leave': { class: 'interactive', stale: 'execute' },
  'room.openDirect': { class: 'interactive', stale: 'execute' },
  'message.send': { class: 'interactive', stale: 'execute' },
  'message.edit': { class: 'interactive', stale: 'execute' },
  'message.delete': { class: 'interactive', stale: 'execute' },
  'message.hide': { class: 'bulk', stale: 'execute' },
  'message.unhide': { class: 'bulk', stale: 'execute' },
  'user.mute': { class: 'bulk', stale: 'execute' },
  'user.unmute': { class: 'bulk', stale: 'execute' },
  'room.setSlowMode': { class: 'bulk', stale: 'execute' },
  'room.markRead': { class: 'interactive', stale: 'execute' },
  'user.setReceiptsPrivate': { class: 'interactive', stale: 'execute' },
  // Idempotent: a late group.create finishes the group of that id; adding, removing, setting
  // a role, renaming, blocking twice leaves the same state.
  'group.create': { class: 'interactive', stale: 'execute' },
  'group.addMember': { class: 'interactive', stale: 'execute' },
  'group.removeMember': { class: 'interactive', stale: 'execute' },
  'group.setRole': { class: 'interactive', stale: 'execute' },
  'room.rename': { class: 'interactive', stale: 'execute' },
  'user.block': { class: 'interactive', stale: 'execute' },
  'user.unblock': { class: 'interactive', stale: 'execute' },
  // Idempotent per (person, message, emoji).
  'message.react': { class: 'interactive', stale: 'execute' },
  'message.unreact': { class: 'interactive', stale: 'execute' },
  // Idempotent: pinning a pinned message (unpinning an unpinned one) answers it unchanged.
  'message.pin': { class: 'interactive', stale: 'execute' },
  'message.unpin': { class: 'interactive', stale: 'execute' },
};

/** What each command answers when it succeeds. */
export const CommandValue = {
  'user.register': z.object({ user: UserView }),
  'user.rename': z.object({ user: UserView }),
  'room.join': z.object({ room: RoomView }),
  'room.leave': z.object({ left: z.boolean() }),
  'room.openDirect': z.object({ room: RoomView }),
  'message.send': z.object({ message: MessageView, duplicate: z.boolean() }),
  'message.edit': z.object({ message: MessageView }),
  'message.delete': z.object({ message: MessageView }),
  'message.hide': z.object({ message: MessageView }),
  'message.unhide': z.object({ message: MessageView }),
  'user.mute': z.object({ action: ModerationAction }),
  'user.unmute': z.object({ action: ModerationAction }),
  'room.setSlowMode': z.object({ room: RoomView }),
  'room.markRead': z.object({ room: RoomView, moved: z.boolean() }),
  'user.setReceiptsPrivate': z.object({ user: UserView }),
  'group.create': z.object({ room: RoomView }),
  'group.addMember': z.object({ room: RoomView }),
  'group.removeMember': z.object({ room: RoomView }),
  'group.setRole': z.object({ room: RoomView }),
  'room.rename': z.object({ room: RoomView }),
  /** `changed`: false when it was so already (blocking twice is a no-op). */
  'user.block': z.object({ changed: z.boolean() }),
  'user.unblock': z.object({ changed: z.boolean() }),
  /** The message with its reactions after the change (`changed`: false for a repeat). */
  'message.react': z.object({ message: MessageView, changed: z.boolean() }),
  'message.unreact': z.object({ message: MessageView, changed: z.boolean() }),
  'message.pin': z.object({ message: MessageView }),
  'message.unpin': z.object({ message: MessageView }),
} as const satisfies Record<CommandType, z.ZodType>;
export type CommandValue<T extends CommandType> = z.infer<(typeof CommandValue)[T]>;

export const CommandError = z.object({
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
});
export type CommandError = z.infer<typeof CommandError>;

/**
 * A job's return value. Business refusals are results, not failures: a failed job is
 * retried by BullMQ, a refused command must not be.
 */
export type CommandResult<T extends CommandType> =
  | { ok: true; value: CommandValue<T> }
  | { ok: false; error: CommandError };

export function parseCommandResult<T extends CommandType>(type: T, raw: unknown): CommandResult<T> {
  const schema = z.union([
    z.object({ ok: z.literal(true), value: CommandValue[type] }),
    z.object({ ok: z.literal(false), error: CommandError }),
  ]);
  return schema.parse(raw) as CommandResult<T>;
}
