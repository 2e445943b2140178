import { z } from 'zod';
import { Id, MessageView, RoomView, UserView } from './domain.js';

/** Payloads published on a room's Redis channel (see `Names.roomChannel`). */
export const RoomSignal = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message.added'), message: MessageView }),
  z.object({ kind: z.literal('message.updated'), message: MessageView }),
  z.object({ kind: z.literal('presence'), user: UserView, online: z.boolean() }),
  z.object({ kind: z.literal('typing'), user: UserView }),
  /** The room itself changed (name, members, roles, slow mode): room lists show it again. */
  z.object({ kind: z.literal('room.updated'), room: RoomView }),
  /** A member's read position moved (markRead). `private`: their receipts are hidden from others. */
  z.object({ kind: z.literal('read'), user: UserView, lastReadSeq: z.number().int().min(0), at: z.iso.datetime(), private: z.boolean() }),
]);
export type RoomSignal = z.infer<typeof RoomSignal>;

export function parseRoomSignal(raw: unknown): RoomSignal {
  return RoomSignal.parse(raw);
}

/**
 * Payloads on one person's channel (`Names.userChannel`), published by chat: what changes that
 * person's room list without being a room event (their read position, rooms they enter or
 * leave). The gateways' `inbox` streams listen to it.
 */
export const UserSignal = z.discriminatedUnion('kind', [
  /** The person's read position in `room` moved (on any device). */
  z.object({ kind: z.literal('read'), room: Id, lastReadSeq: z.number().int().min(0) }),
  /** The person joined, opened or was added to `room`. */
  z.object({ kind: z.literal('added'), room: Id }),
  /** The person left or was removed from `room`. */
  z.object({ kind: z.literal('removed'), room: Id }),
]);
export type UserSignal = z.infer<typeof UserSignal>;

export function parseUserSignal(raw: unknown): UserSignal {
  return UserSignal.parse(raw);
}

/**
 * Payloads on `Names.accessChannel`: a user's authority shrank, and every gateway ends at once
 * what it no longer covers. Published by whoever changes it (chat, when it applies a mute or a
 * ban; a future "remove member" of a private room); gateways also check mutes at subscribe.
 */
export const AccessSignal = z.object({
  kind: z.literal('access.revoked'),
  user: Id,
  /** The room the user may no longer read live; null = every room. */
  room: Id.nullable(),
  /** muted: that room (or every room); banned: the whole account (sockets close); removed: membership ended. */
  reason: z.enum(['muted', 'banned', 'removed']),
});
export type AccessSignal = z.infer<typeof AccessSignal>;

export function parseAccessSignal(raw: unknown): AccessSignal {
  return AccessSignal.parse(raw);
}
