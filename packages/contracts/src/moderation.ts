import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Id } from './domain.js';

/**
 * Moderation actions: what the moderation consumer (audit service) decides and sends to Kafka
 * topic `names(ns).moderationTopic`, and what the chat service applies and records. Admin
 * actions take the command queue instead, but are recorded in the same shape.
 */
export const ModerationKind = z.enum(['hide', 'unhide', 'mute', 'unmute', 'flag', 'ban']);
export type ModerationKind = z.infer<typeof ModerationKind>;

/** Reasons are shown to moderators and, for mutes, to the muted person: 1..500 characters. */
export const MODERATION_REASON_MAX = 500;

export const ModerationAction = z
  .object({
    /** UUID; the dedupe key: applying an action twice has the effect of applying it once. */
    id: z.string().uuid(),
    kind: ModerationKind,
    /** A message id (hide, unhide, flag) or a user id (mute, unmute, ban). */
    target: Id,
    /** The room of the message, or of a room mute; null = everywhere (a global mute or ban). */
    room: Id.nullable(),
    reason: z.string().min(1).max(MODERATION_REASON_MAX),
    /** Id of the rule that decided it; null for an admin's action or a timer. */
    rule: z.string().min(1).max(64).nullable(),
    /** Id of the admin who acted; null when a rule or a timer did it. */
    by: Id.nullable(),
    at: z.iso.datetime(),
    /** When a timed action (a mute) ends by itself; null when it does not. */
    until: z.iso.datetime().nullable(),
  })
  .refine((a) => a.until === null || Date.parse(a.until) > Date.parse(a.at), { message: 'until must be after at', path: ['until'] });
export type ModerationAction = z.infer<typeof ModerationAction>;

/** The version carried in the `action-version` header of records on the moderation topic. */
export const MODERATION_ACTION_VERSION = 1;

/** Parses an action; throws a ZodError naming the field that was wrong. */
export function parseModerationAction(raw: unknown): ModerationAction {
  return ModerationAction.parse(raw);
}

/**
 * A UUID derived from a name (SHA-256, RFC 4122 layout with version 5 bits). Actions decided
 * for the same cause (an event and a rule, a mute's end) get the same id each time they are
 * decided again (a redelivery, a retried job), so applying them stays idempotent.
 */
export function derivedActionId(name: string): string {
  const b = createHash('sha256').update(name).digest();
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
