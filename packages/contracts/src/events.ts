import { z } from 'zod';
import { Id, MemberRole, MessageView, RoomKind, UserView } from './domain.js';
import { ModerationAction } from './moderation.js';

/**
 * Domain events: what chat hands to Kafka through the outbox and the audit log records.
 * Versioning: a new optional field keeps `version`; any other change is a new version,
 * and consumers keep parsing the versions they knew.
 */
const eventData = {
  'user.registered': z.object({ user: UserView }),
  'user.renamed': z.object({ user: UserView, previousDisplayName: z.string() }),
  'room.created': z.object({ room: Id, name: z.string(), kind: RoomKind, members: z.array(Id) }),
  'room.joined': z.object({ room: Id, user: Id }),
  'room.left': z.object({ room: Id, user: Id }),
  'message.posted': z.object({ message: MessageView }),
  /** The message after the edit, and the body it replaced (the audit trail keeps both). */
  'message.edited': z.object({ message: MessageView, previousBody: z.string() }),
  /** The message after deletion (body emptied); `by` is the author or an admin. */
  'message.deleted': z.object({ message: MessageView, by: Id }),
  /** A moderator or a rule hid the message (body emptied in the view); `action` is its id. */
  'message.hidden': z.object({ message: MessageView, action: Id, reason: z.string(), rule: z.string().nullable() }),
  /** An admin made a hidden message visible again. */
  'message.unhidden': z.object({ message: MessageView, action: Id }),
  /** Every moderation action chat applied (rule, admin or timer): the audit trail of moderation. */
  'moderation.action': z.object({ action: ModerationAction }),
  /** An admin changed the room's slow mode (seconds between one person's messages; 0: off). */
  'room.slowModeSet': z.object({ room: Id, seconds: z.number().int().min(0), previousSeconds: z.number().int().min(0) }),
  // ---- group rooms (API-product.graphql); the envelope's actor is who did it ----
  /** Someone was added to a group (its OWNER or an ADMIN did it), with the role they got. */
  'room.member_added': z.object({ room: Id, user: Id, role: MemberRole }),
  /** Someone was removed from a group by its OWNER or an ADMIN (leaving is `room.left`). */
  'room.member_removed': z.object({ room: Id, user: Id }),
  'room.renamed': z.object({ room: Id, name: z.string(), previousName: z.string() }),
  /** A member's role changed; handing over ownership is two of these (new OWNER, old one ADMIN). */
  'room.role_changed': z.object({ room: Id, user: Id, role: MemberRole, previousRole: MemberRole }),
  // ---- reactions (API-product.graphql); the envelope's actor is the person reacting ----
  /** `user` reacted to message `message` with `emoji` (a repeat of an existing reaction writes none). */
  'message.reacted': z.object({ room: Id, message: Id, emoji: z.string(), user: Id }),
  /** `user` took their `emoji` reaction back (only when there was one). */
  'message.unreacted': z.object({ room: Id, message: Id, emoji: z.string(), user: Id }),
  // ---- pins (API-product.graphql) ----
  /** The message was pinned in its room (`message.pinned` true in the view); `by` is who pinned it. */
  'message.pinned': z.object({ message: MessageView, by: Id }),
  /** The message was unpinned (`message.pinned` false in the view); `by` is who unpinned it. */
  'message.unpinned': z.object({ message: MessageView, by: Id }),
} as const;
export type EventType = keyof typeof eventData;
export const EVENT_TYPES = Object.keys(eventData) as EventType[];

export const TraceContext = z.object({ traceparent: z.string().max(128) }).partial();

const envelope = <T extends EventType>(type: T) =>
  z.object({
    /** Unique; the dedupe key of every consumer. */
    id: z.string().uuid(),
    type: z.literal(type),
    version: z.literal(1),
    occurredAt: z.iso.datetime(),
    /** Room id for room events (Kafka key: per-room order); user id for user events. */
    key: Id,
    /** Id of the user who caused it; null for the system (a rule, a timer). */
    actor: Id.nullable(),
    data: eventData[type],
    trace: TraceContext.optional(),
  });

export const DomainEvent = z.discriminatedUnion('type', [
  envelope('user.registered'),
  envelope('user.renamed'),
  envelope('room.created'),
  envelope('room.joined'),
  envelope('room.left'),
  envelope('message.posted'),
  envelope('message.edited'),
  envelope('message.deleted'),
  envelope('message.hidden'),
  envelope('message.unhidden'),
  envelope('moderation.action'),
  envelope('room.slowModeSet'),
  envelope('room.member_added'),
  envelope('room.member_removed'),
  envelope('room.renamed'),
  envelope('room.role_changed'),
  envelope('message.reacted'),
  envelope('message.unreacted'),
  envelope('message.pinned'),
  envelope('message.unpinned'),
]);
export type DomainEvent = z.infer<typeof DomainEvent>;
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;
export type EventData<T extends EventType> = EventOf<T>['data'];

/** The room an event belongs to, when it belongs to one (user events do not). */
export function eventRoom(e: DomainEvent): string | null {
  switch (e.type) {
    case 'user.registered':
    case 'user.renamed':
      return null;
    case 'room.created':
    case 'room.joined':
    case 'room.left':
    case 'room.slowModeSet':
    case 'room.member_added':
    case 'room.member_removed':
    case 'room.renamed':
    case 'room.role_changed':
    case 'message.reacted':
    case 'message.unreacted':
      return e.data.room;
    case 'message.posted':
    case 'message.edited':
    case 'message.deleted':
    case 'message.hidden':
    case 'message.unhidden':
    case 'message.pinned':
    case 'message.unpinned':
      return e.data.message.room;
    case 'moderation.action':
      return e.data.action.room;
  }
}

/** Parses an event; throws a ZodError that says which field was wrong. */
export function parseDomainEvent(raw: unknown): DomainEvent {
  return DomainEvent.parse(raw);
}

/** Builds an envelope; the id is a random UUID unless given (tests pin it). */
export function newEvent<T extends EventType>(
  type: T,
  key: string,
  actor: string | null,
  data: EventData<T>,
  now: Date = new Date(),
  id: string = globalThis.crypto.randomUUID(),
): EventOf<T> {
  return { id, type, version: 1, occurredAt: now.toISOString(), key, actor, data } as EventOf<T>;
}

/** A domain event as it goes on the events topic: keyed by its `key` (per-room order), JSON value, routing headers. */
export interface EventRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * The one wire form of a domain event on Kafka, for every producer of the events topic (the
 * outbox relay, the audit reconciliation): consumers read `event-type`/`event-id` headers
 * without parsing the value, and `traceparent` continues the producer's trace.
 */
export function eventRecord(e: DomainEvent, traceparent?: string): EventRecord {
  return {
    key: e.key,
    value: JSON.stringify(e),
    headers: { 'event-type': e.type, 'event-id': e.id, 'event-version': String(e.version), ...(traceparent ? { traceparent } : {}) },
  };
}
