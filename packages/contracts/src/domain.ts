import { z } from 'zod';

/** Limits shared by every boundary that checks user input. */
export const LIMITS = {
  /** Message body, after trimming: 1..4,000 characters. */
  bodyMax: 4_000,
  /** Room slug: 1..64 of a-z 0-9 -. */
  roomSlugMax: 64,
  roomNameMax: 100,
  usernameMin: 3,
  usernameMax: 32,
  displayNameMax: 64,
  passwordMin: 8,
  passwordMax: 256,
  clientMsgIdMax: 128,
  idMax: 128,
  /** Slow mode of a room: 0..3,600 seconds between one person's messages. */
  slowModeMaxSeconds: 3_600,
  /** A group room's name: 1..64 characters after trimming. */
  groupNameMax: 64,
  /** People in one group room, its owner included. */
  groupMembersMax: 1_000,
  /** Distinct emoji on one message. */
  reactionEmojiMax: 20,
  /** A reaction's :shortcode: between the colons: 1..32 of a-z 0-9 _ + -. */
  reactionShortcodeMax: 32,
  /**
   * Reactors kept per emoji on the message (earliest first), so that `reactedByMe` is answered
   * from the message itself; beyond it the reaction rows answer.
   */
  reactionUsersKept: 1_000,
  /** Pinned messages of one room at once (API-product.graphql pins): the next pin is CONFLICT. */
  pinsPerRoom: 50,
} as const;

// Zod-free, so that the mention parser can be imported by the web client without zod.
export { USERNAME_PATTERN } from './username.js';

export const Role = z.enum(['USER', 'ADMIN']);
export type Role = z.infer<typeof Role>;
export const RoomKind = z.enum(['PUBLIC', 'DIRECT', 'GROUP']);
export type RoomKind = z.infer<typeof RoomKind>;
export const MessageStatus = z.enum(['VISIBLE', 'HIDDEN', 'DELETED']);
export type MessageStatus = z.infer<typeof MessageStatus>;
/** A member's role in a group room (public and direct rooms have none). */
export const MemberRole = z.enum(['OWNER', 'ADMIN', 'MEMBER']);
export type MemberRole = z.infer<typeof MemberRole>;

export const Id = z.string().min(1).max(LIMITS.idMax);

/** A user as other people see them: no secrets. */
export const UserView = z.object({
  id: Id,
  username: z.string(),
  displayName: z.string(),
  role: Role,
});
export type UserView = z.infer<typeof UserView>;

export const RoomView = z.object({
  id: Id,
  name: z.string(),
  kind: RoomKind,
  createdAt: z.iso.datetime(),
  /** Seconds between one person's messages in the room (slow mode); 0: none. Absent from older payloads. */
  slowModeSeconds: z.number().int().min(0).max(LIMITS.slowModeMaxSeconds).default(0),
});
export type RoomView = z.infer<typeof RoomView>;

/** One emoji on a message: how many reacted with it, and who (earliest first, at most LIMITS.reactionUsersKept). */
export const ReactionSummaryView = z.object({
  emoji: z.string().min(1).max(64),
  count: z.number().int().min(1),
  users: z.array(Id),
});
export type ReactionSummaryView = z.infer<typeof ReactionSummaryView>;

/**
 * A message as every process and client sees it. The fields after `editedAt` came with threads,
 * reactions and mentions: optional, so that payloads written before them still parse (absent
 * means none: no parent, no replies, no reactions, no mentions).
 */
export const MessageView = z.object({
  id: Id,
  room: Id,
  seq: z.number().int().positive(),
  author: UserView,
  body: z.string(),
  status: MessageStatus,
  clientMsgId: z.string(),
  createdAt: z.iso.datetime(),
  editedAt: z.iso.datetime().nullable(),
  /** The thread root this message replies to; null or absent for a top-level message. */
  parentId: Id.nullable().optional(),
  /** For a thread root: its VISIBLE replies, and when the newest of them was posted. */
  replyCount: z.number().int().min(0).optional(),
  lastReplyAt: z.iso.datetime().nullable().optional(),
  /** One summary per emoji, most used first (ties: the earliest first). */
  reactions: z.array(ReactionSummaryView).optional(),
  /** Ids of the room members the body mentions with @username (parsed on the write path). */
  mentions: z.array(Id).optional(),
  /** The body mentions @room. */
  mentionsRoom: z.boolean().optional(),
  /** Pinned in its room (pinMessage). Absent from older payloads: false. */
  pinned: z.boolean().default(false),
});
export type MessageView = z.infer<typeof MessageView>;

/**
 * The id of a public room: lower-cased, spaces to '-', only a-z 0-9 - kept.
 * Returns '' when nothing is left (callers refuse that).
 */
export function roomSlug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '-')
    .replace(/[^a-z0-9-]/g, '');
}

/**
 * A public room is open to everyone signed in; a direct room is for its two members (`pair`);
 * a group room for its active members (`member`: what the membership store says now).
 */
export function canReadRoom(room: { kind: RoomKind; pair: readonly string[] }, userId: string, member = false): boolean {
  if (room.kind === 'PUBLIC') return true;
  if (room.kind === 'DIRECT') return room.pair.includes(userId);
  return member;
}
