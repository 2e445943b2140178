import { z } from 'zod';
import { LIMITS, MODERATION_REASON_MAX, MUTE_MINUTES_MAX, USERNAME_PATTERN, badInput, formatZodError, roomSlug } from '@conversa/contracts';

/**
 * Argument schemas of the public API: every value a client sends is checked here first.
 * GraphQL already guarantees each is a string (an object such as {"$ne": null} never gets
 * here); these add NFC, no control characters, sizes, and no prototype keys.
 */

/** C0 controls other than tab, newline and carriage return, and DEL. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
/** Bidirectional overrides and isolates: they make a name or message display as something else. */
const BIDI_OVERRIDE = /[\u202A-\u202E\u2066-\u2069]/;
/** Values refused wherever one could become an object key: they would reach the prototype. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export const text = (field: string, min: number, max: number) =>
  z
    .string()
    .transform((s) => s.normalize('NFC'))
    .refine((s) => !CONTROL.test(s), `${field} contains control characters`)
    .refine((s) => !BIDI_OVERRIDE.test(s), `${field} contains bidirectional override characters`)
    .pipe(z.string().min(min, `${field} needs at least ${min} characters`).max(max, `${field} has at most ${max} characters`));

export const id = text('id', 1, LIMITS.idMax)
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  .refine((s) => !/[\s\u0000-\u001F]/.test(s), 'id contains white space or control characters')
  .refine((s) => !PROTOTYPE_KEYS.has(s), 'id is not a valid id');

export const RegisterArgs = z.object({
  username: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.string().regex(USERNAME_PATTERN, '3-32 characters of a-z 0-9 _ . -'))
    .refine((s) => !PROTOTYPE_KEYS.has(s), 'username is reserved'),
  password: text('password', LIMITS.passwordMin, LIMITS.passwordMax),
  displayName: text('displayName', 1, LIMITS.displayNameMax)
    .transform((s) => s.trim())
    .pipe(z.string().min(1, 'displayName cannot be blank'))
    .nullish(),
});

export const LoginArgs = z.object({
  // Lower-cased and trimmed like at registration; the lockout counts this form.
  username: text('username', 1, LIMITS.usernameMax * 2).transform((s) => s.trim().toLowerCase()),
  // NFC like at registration, or a password typed in another normal form would never match.
  password: z
    .string()
    .max(LIMITS.passwordMax, `password has at most ${LIMITS.passwordMax} characters`)
    .transform((s) => s.normalize('NFC')),
});

export const JoinRoomArgs = z.object({
  name: text('name', 1, LIMITS.roomNameMax).refine((s) => !PROTOTYPE_KEYS.has(roomSlug(s)), 'name is reserved'),
});
export const UsersArgs = z.object({ online: z.boolean().nullish() });
export const RoomArgs = z.object({ room: id });
export const IdArgs = z.object({ id });

const body = z
  .string()
  .transform((s) => s.normalize('NFC').trim())
  .refine((s) => !CONTROL.test(s), 'body contains control characters')
  .pipe(
    z
      .string()
      .min(1, 'a message cannot be empty')
      .max(LIMITS.bodyMax, `a message has at most ${LIMITS.bodyMax} characters`),
  );

export const SendMessageArgs = z.object({
  room: id,
  body,
  clientMsgId: text('clientMsgId', 1, LIMITS.clientMsgIdMax),
  /** Reply in this thread (the chat worker checks the root). */
  parentId: id.nullish(),
});

/** `emoji` is checked by parseReaction here and again by the worker. */
export const ReactArgs = z.object({ messageId: id, emoji: text('emoji', 1, 64) });

export const ThreadArgs = z.object({
  root: id,
  after: z.number().int().min(0).nullish(),
  limit: z.number().int().min(1, 'limit must be 1..200').max(200, 'limit must be 1..200').default(50),
});

export const UserIdArgs = z.object({ userId: id });
export const EditMessageArgs = z.object({ id, body });
export const DisplayNameArgs = z.object({
  displayName: text('displayName', 1, LIMITS.displayNameMax)
    .transform((s) => s.trim())
    .pipe(z.string().min(1, 'displayName cannot be blank')),
});

export const MessagesArgs = z
  .object({
    room: id,
    before: z.number().int().min(1).nullish(),
    after: z.number().int().min(0).nullish(),
    limit: z.number().int().min(1, 'limit must be 1..200').max(200, 'limit must be 1..200').default(50),
  })
  .refine((a) => a.before == null || a.after == null, { message: 'give before or after, not both', path: ['before'] });

export const AuditLogArgs = z.object({
  room: id.nullish(),
  actor: id.nullish(),
  type: text('type', 1, 64).nullish(),
  since: z.date().nullish(),
  until: z.date().nullish(),
  after: text('after', 1, 512).nullish(),
  limit: z.number().int().min(1, 'limit must be 1..500').max(500, 'limit must be 1..500').default(100),
  order: z.enum(['OLDEST_FIRST', 'NEWEST_FIRST']).default('OLDEST_FIRST'),
});

export const MessageAddedArgs = z.object({ room: id, after: z.number().int().min(0).nullish() });

const reason = text('reason', 1, MODERATION_REASON_MAX)
  .transform((s) => s.trim())
  .pipe(z.string().min(1, 'reason cannot be blank'));

export const HideMessageArgs = z.object({ id, reason });
export const MuteUserArgs = z.object({
  userId: id,
  minutes: z.number().int().min(1, `minutes must be 1..${MUTE_MINUTES_MAX}`).max(MUTE_MINUTES_MAX, `minutes must be 1..${MUTE_MINUTES_MAX}`),
  reason,
});
export const SetSlowModeArgs = z.object({
  room: id,
  seconds: z
    .number()
    .int()
    .min(0, `seconds must be 0..${LIMITS.slowModeMaxSeconds}`)
    .max(LIMITS.slowModeMaxSeconds, `seconds must be 0..${LIMITS.slowModeMaxSeconds}`),
});
export const ModerationActionsArgs = z.object({
  target: id.nullish(),
  /** The id of the last action of the previous page. */
  after: id.nullish(),
  limit: z.number().int().min(1, 'limit must be 1..500').max(500, 'limit must be 1..500').default(100),
});

/** Parses resolver arguments; throws BAD_USER_INPUT naming each bad field. */
export function parseArgs<S extends z.ZodType>(schema: S, args: unknown): z.infer<S> {
  const r = schema.safeParse(args);
  if (!r.success) throw badInput(formatZodError(r.error));
  return r.data;
}

export const InboxArgs = z.object({
  after: z.string().min(1).max(512).nullish(),
  limit: z.number().int().min(1, 'limit must be 1..200').max(200, 'limit must be 1..200').default(50),
});
export const MarkReadArgs = z.object({
  room: id,
  seq: z.number().int().min(0, 'seq must be 0 or more'),
});
export const ReceiptsPrivateArgs = z.object({ private: z.boolean() });
// ---- group rooms and blocking (API-product.graphql) ----

const groupName = text('name', 1, LIMITS.groupNameMax * 4)
  .transform((s) => s.trim())
  .pipe(z.string().min(1, 'name cannot be blank').max(LIMITS.groupNameMax, `name has at most ${LIMITS.groupNameMax} characters`));

export const CreateGroupArgs = z.object({
  name: groupName,
  members: z
    .array(id)
    .max(LIMITS.groupMembersMax, `members: a group has at most ${LIMITS.groupMembersMax} people`)
    .default([]),
});
export const MemberArgs = z.object({ room: id, userId: id });
export const SetMemberRoleArgs = z.object({ room: id, userId: id, role: z.enum(['OWNER', 'ADMIN', 'MEMBER']) });
export const RenameRoomArgs = z.object({ room: id, name: groupName });
